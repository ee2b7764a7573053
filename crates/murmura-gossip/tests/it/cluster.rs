//! Many sans-IO members in one simulated network.

use std::time::Duration;

use murmura_gossip::{Config, Event, State};

use crate::harness::Net;

const SEC: Duration = Duration::from_secs(1);

fn config() -> Config {
    Config::local()
}

/// Waits until every member sees `n` live members; gossip usually does it
/// in a second or two, the periodic push-pull (15 s) closes any gap.
fn converge(net: &mut Net, n: usize) {
    let ids = net.ids();
    assert!(
        net.drive_until(40 * SEC, |net| net.all_live(ids.clone(), n)),
        "seed {}: not everyone sees {n} live members",
        net.seed
    );
}

#[test]
fn members_join_through_a_seed() {
    let mut net = Net::cluster(1, 12, config());
    converge(&mut net, 12);
    // Joined events for every other member at every member.
    for (id, node) in &net.nodes {
        let joined = node
            .events
            .iter()
            .filter(|e| matches!(e, Event::Joined(_)))
            .count();
        assert_eq!(joined, 11, "member {id} saw {joined} joins");
    }
}

#[test]
fn a_stopped_member_is_detected_as_failed() {
    let mut net = Net::cluster(2, 8, config());
    let ids = net.ids();
    converge(&mut net, 8);
    net.down.insert(5);
    assert!(
        net.drive_until(60 * SEC, |n| n.all_see(ids.clone(), "n5", State::Dead)),
        "seed {}: n5 not declared dead everywhere",
        net.seed
    );
    // Suspected first, then failed; nobody else was harmed.
    let events = &net.nodes[&0].events;
    let suspected = events
        .iter()
        .position(|e| matches!(e, Event::Suspected(m) if m.name == "n5"));
    let failed = events
        .iter()
        .position(|e| matches!(e, Event::Failed(m) if m.name == "n5"));
    assert!(suspected.is_some() && failed.is_some() && suspected < failed);
    assert!(net.all_live(ids.iter().copied().filter(|i| *i != 5), 7));
}

#[test]
fn a_false_suspicion_is_refuted() {
    let mut net = Net::cluster(3, 6, config());
    let ids = net.ids();
    converge(&mut net, 6);
    let before = net.view(0, "n3").unwrap().incarnation;
    // n3 is cut off from everyone for a moment: long enough to be suspected,
    // not long enough to be declared dead.
    let others: Vec<u64> = ids.iter().copied().filter(|i| *i != 3).collect();
    net.partition(&[3], &others);
    assert!(net.drive_until(10 * SEC, |n| {
        others
            .iter()
            .any(|o| n.view(*o, "n3").is_some_and(|m| m.state == State::Suspect))
    }));
    net.heal();
    assert!(
        net.drive_until(20 * SEC, |n| n.all_see(ids.clone(), "n3", State::Alive)),
        "seed {}: n3 did not refute",
        net.seed
    );
    let after = net.view(0, "n3").unwrap().incarnation;
    assert!(after > before, "refuted with a higher incarnation");
    assert!(net.nodes[&3].core.stats().refutations >= 1);
    assert!(net.nodes.iter().filter(|(id, _)| **id != 3).any(|(_, n)| {
        n.events
            .iter()
            .any(|e| matches!(e, Event::Recovered(m) if m.name == "n3"))
    }));
}

#[test]
fn a_graceful_leave_is_seen_as_left() {
    let mut net = Net::cluster(4, 6, config());
    let ids = net.ids();
    converge(&mut net, 6);
    let now = net.now;
    net.core(2).leave(now);
    net.drive(2 * SEC);
    net.down.insert(2);
    assert!(
        net.drive_until(10 * SEC, |n| n.all_see(ids.clone(), "n2", State::Left)),
        "seed {}",
        net.seed
    );
    assert!(
        net.nodes[&1]
            .events
            .iter()
            .any(|e| matches!(e, Event::Left(m) if m.name == "n2"))
    );
    // Left members are never reported failed.
    assert!(
        !net.nodes[&1]
            .events
            .iter()
            .any(|e| matches!(e, Event::Failed(m) if m.name == "n2"))
    );
}

#[test]
fn broadcasts_reach_everyone_once_even_with_loss() {
    let mut net = Net::cluster(5, 16, config());
    let ids = net.ids();
    converge(&mut net, 16);
    net.loss = 0.1;
    net.core(7)
        .broadcast("greeting", b"hello".to_vec())
        .unwrap();
    net.core(7).broadcast("counter", b"1".to_vec()).unwrap();
    let got = |n: &Net, id: u64, key: &[u8]| {
        n.nodes[&id]
            .events
            .iter()
            .filter(|e| matches!(e, Event::Broadcast { key: k, .. } if k == key))
            .count()
    };
    assert!(
        net.drive_until(10 * SEC, |n| ids.iter().filter(|i| **i != 7).all(|i| got(
            n,
            *i,
            b"greeting"
        )
            == 1
            && got(n, *i, b"counter") == 1)),
        "seed {}: a broadcast did not reach everyone",
        net.seed
    );
    net.drive(5 * SEC);
    for i in ids.iter().filter(|i| **i != 7) {
        assert_eq!(got(&net, *i, b"greeting"), 1, "delivered exactly once");
    }
    assert_eq!(got(&net, 7, b"greeting"), 0, "not echoed to the sender");
}

#[test]
fn metadata_updates_spread() {
    let mut net = Net::cluster(6, 10, config());
    let ids = net.ids();
    converge(&mut net, 10);
    let now = net.now;
    net.core(4).set_metadata(now, b"role=db".to_vec()).unwrap();
    assert!(
        net.drive_until(10 * SEC, |n| ids
            .iter()
            .all(|o| n.view(*o, "n4").is_some_and(|m| m.meta == b"role=db"))),
        "seed {}",
        net.seed
    );
    assert!(
        net.nodes[&9]
            .events
            .iter()
            .any(|e| matches!(e, Event::Updated(m) if m.name == "n4" && m.meta == b"role=db"))
    );
}

#[test]
fn a_partition_heals_by_itself() {
    let mut net = Net::cluster(7, 8, config());
    let ids = net.ids();
    converge(&mut net, 8);
    let (left, right): (Vec<u64>, Vec<u64>) = ids.iter().partition(|i| **i < 4);
    net.partition(&left, &right);
    assert!(
        net.drive_until(90 * SEC, |n| n.all_live(ids.clone(), 4)),
        "seed {}: the halves did not give each other up",
        net.seed
    );
    net.heal();
    assert!(
        net.drive_until(90 * SEC, |n| n.all_live(ids.clone(), 8)),
        "seed {}: the partition did not heal",
        net.seed
    );
}

#[test]
fn a_restarted_member_rejoins_with_a_higher_incarnation_and_new_address() {
    let mut net = Net::cluster(8, 5, config());
    let ids = net.ids();
    converge(&mut net, 5);
    net.down.insert(4);
    assert!(net.drive_until(60 * SEC, |n| n.all_see(ids.clone(), "n4", State::Dead)));
    let dead_inc = net.view(0, "n4").unwrap().incarnation;
    // The same name comes back at a new address with incarnation 0.
    net.nodes.remove(&4);
    net.down.remove(&4);
    let now = net.now;
    let core = murmura_gossip::Swim::new("n4", 40u64, config(), murmura_core::rng::seeded(40), now)
        .unwrap();
    net.nodes.insert(
        40,
        crate::harness::Node {
            core,
            events: Vec::new(),
        },
    );
    net.core(40).join(now, [0]);
    assert!(
        net.drive_until(20 * SEC, |n| [0u64, 1, 2, 3, 40].iter().all(|o| n
            .view(*o, "n4")
            .is_some_and(|m| m.state == State::Alive && m.addr == 40))),
        "seed {}",
        net.seed
    );
    assert!(net.view(1, "n4").unwrap().incarnation > dead_inc);
}

#[test]
fn tombstones_stay_bounded_under_churn() {
    let mut cfg = config();
    cfg.max_tombstones = 8;
    cfg.dead_retention = 20 * SEC;
    let mut net = Net::cluster(9, 3, cfg.clone());
    let core_ids = net.ids();
    converge(&mut net, 3);
    // 40 short-lived identities come and go. Detection is slow here on
    // purpose: Lifeguard stretches the probe interval while so many probes
    // fail, so the whole wave takes a few minutes of virtual time to clear.
    for k in 0..40u64 {
        let id = 100 + k;
        net.add(id, cfg.clone());
        let now = net.now;
        net.core(id).join(now, [0]);
        net.drive(SEC);
        net.down.insert(id);
        net.nodes.remove(&id);
        net.down.remove(&id);
    }
    let mut peak = 0;
    for _ in 0..400 {
        net.drive(SEC);
        for id in &core_ids {
            let n = &net.nodes[id].core;
            let gone = n.members().filter(|m| m.state.is_gone()).count();
            assert!(gone <= 8 + 1, "member {id} keeps {gone} tombstones");
            peak = peak.max(n.members().count());
        }
    }
    for id in &core_ids {
        let known = net.nodes[id].core.members().count();
        assert!(
            known <= 3 + 8,
            "member {id} remembers {known} members (peak {peak})"
        );
    }
    assert!(net.all_live(core_ids.clone(), 3));
}

#[test]
fn local_health_rises_when_our_own_messages_are_lost() {
    let mut net = Net::cluster(10, 6, config());
    let ids = net.ids();
    converge(&mut net, 6);
    assert_eq!(net.nodes[&0].core.local_health(), 0);
    // n0 can send nothing that arrives: acks and nacks both go missing.
    let others: Vec<u64> = ids.iter().copied().filter(|i| *i != 0).collect();
    net.partition(&[0], &others);
    net.drive(3 * SEC);
    let health = net.nodes[&0].core.local_health();
    assert!(health > 0, "seed {}: local health stayed 0", net.seed);
}

#[test]
fn a_run_replays_exactly_from_its_seed() {
    let run = |seed| {
        let mut net = Net::cluster(seed, 10, config());
        net.loss = 0.05;
        net.drive(5 * SEC);
        net.down.insert(3);
        net.drive(20 * SEC);
        net.nodes
            .values()
            .map(|n| (*n.core.stats(), n.events.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(run(11), run(11));
    assert_ne!(run(11), run(12));
}

#[test]
fn hundreds_of_members_converge_and_detect_a_failure() {
    let n = 200u64;
    let mut cfg = config();
    cfg.push_pull_interval = 30 * SEC;
    let mut net = Net::cluster(13, n, cfg);
    converge(&mut net, n as usize);
    net.down.insert(77);
    let ids = net.ids();
    assert!(
        net.drive_until(60 * SEC, |net| net.all_see(ids.clone(), "n77", State::Dead)),
        "seed {}: n77 not declared dead everywhere",
        net.seed
    );
    // Nobody else was declared dead on the way.
    for (id, node) in &net.nodes {
        let failed: Vec<&str> = node
            .events
            .iter()
            .filter_map(|e| match e {
                Event::Failed(m) => Some(m.name.as_str()),
                _ => None,
            })
            .collect();
        assert!(
            failed.iter().all(|f| *f == "n77"),
            "member {id} saw {failed:?} fail"
        );
    }
}

#[test]
fn stable_removal_needs_independent_accusers() {
    let stable = |min| {
        let mut c = config();
        c.stability.min_accusations = Some(min);
        c
    };
    // Several members probe the stopped one, so two accusers gather: removed.
    let mut net = Net::cluster(14, 6, stable(2));
    converge(&mut net, 6);
    net.down.insert(2);
    let ids = net.ids();
    assert!(
        net.drive_until(60 * SEC, |n| n.all_see(ids.clone(), "n2", State::Dead)),
        "seed {}",
        net.seed
    );
    // More accusers than there are members: suspected, never removed.
    let mut net = Net::cluster(15, 4, stable(10));
    converge(&mut net, 4);
    net.down.insert(2);
    net.drive(60 * SEC);
    assert!(
        net.all_see([0, 1, 3], "n2", State::Suspect),
        "seed {}",
        net.seed
    );
}

#[test]
fn flap_damping_holds_back_a_member_that_keeps_coming_back() {
    let mut damped = config();
    damped.stability.flap_threshold = Some(1);
    damped.stability.flap_window = 600 * SEC;
    damped.stability.flap_hold = 60 * SEC;
    let mut net = Net::cluster(16, 5, damped);
    converge(&mut net, 5);
    let others = [0, 1, 2, 3];
    let flap = |net: &mut Net| {
        net.down.insert(4);
        assert!(
            net.drive_until(90 * SEC, |n| n.all_see(others, "n4", State::Dead)),
            "seed {}: n4 not declared dead",
            net.seed
        );
        net.down.remove(&4);
        let back = net.now;
        assert!(
            net.drive_until(300 * SEC, |n| n.all_see(others, "n4", State::Alive)),
            "seed {}: n4 never readmitted",
            net.seed
        );
        net.now - back
    };
    // The first comeback in the window is admitted as soon as it is heard.
    let first = flap(&mut net);
    assert!(first < 30 * SEC, "seed {}: {first:?}", net.seed);
    // The second is held back for the hold-down everywhere.
    let second = flap(&mut net);
    assert!(second >= 60 * SEC, "seed {}: {second:?}", net.seed);
    for o in others {
        let node = &net.nodes[&o];
        assert!(node.core.stats().damped_flaps >= 1, "observer {o}");
        // Joined once, then each comeback reported once (as Joined if the
        // tombstone was forgotten during the hold).
        let arrivals = node
            .events
            .iter()
            .filter(|e| matches!(e, Event::Recovered(m) | Event::Joined(m) if m.name == "n4"))
            .count();
        assert_eq!(arrivals, 3, "observer {o}");
    }
}

mod chaos {
    use proptest::prelude::*;

    use super::*;

    #[derive(Debug, Clone)]
    enum Fault {
        Loss(u8),
        Cut(u64, u64),
        Heal,
        Pause(u64),
        Resume(u64),
    }

    fn fault() -> impl Strategy<Value = Fault> {
        prop_oneof![
            (0u8..30).prop_map(Fault::Loss),
            (0u64..6, 0u64..6).prop_map(|(a, b)| Fault::Cut(a, b)),
            Just(Fault::Heal),
            (1u64..6).prop_map(Fault::Pause),
            (1u64..6).prop_map(Fault::Resume),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]

        /// Whatever faults come and go, once the network is whole again every
        /// running member sees every running member alive (liveness), and
        /// members that stayed stopped are not taken for alive (safety).
        #[test]
        fn the_cluster_recovers_from_any_fault_sequence(
            seed in any::<u64>(),
            faults in proptest::collection::vec(fault(), 1..12),
            crashed in proptest::option::of(1u64..6),
        ) {
            let mut net = Net::cluster(seed, 6, config());
            converge(&mut net, 6);
            for f in faults {
                match f {
                    Fault::Loss(p) => net.loss = f64::from(p) / 100.0,
                    Fault::Cut(a, b) if a != b => net.partition(&[a], &[b]),
                    Fault::Cut(..) => {}
                    Fault::Heal => net.heal(),
                    Fault::Pause(i) => { net.down.insert(i); }
                    Fault::Resume(i) => { net.down.remove(&i); }
                }
                net.drive(3 * SEC);
            }
            net.heal();
            net.loss = 0.0;
            net.down.clear();
            if let Some(c) = crashed {
                net.down.insert(c);
            }
            let running: Vec<u64> = net.ids().into_iter().filter(|i| Some(*i) != crashed).collect();
            let ok = net.drive_until(120 * SEC, |n| {
                running.iter().all(|o| running.iter().all(|m| {
                    n.view(*o, &format!("n{m}")).is_some_and(|v| v.state == State::Alive)
                }))
            });
            prop_assert!(ok, "seed {}: running members did not all see each other alive", seed);
            if let Some(c) = crashed {
                let gone = net.drive_until(60 * SEC, |n| running.iter().all(|o| {
                    n.view(*o, &format!("n{c}")).is_none_or(|v| v.state.is_gone())
                }));
                prop_assert!(gone, "seed {}: crashed n{} still taken for alive", seed, c);
            }
        }
    }
}
