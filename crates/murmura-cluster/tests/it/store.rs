use crate::net::{Net, ring};
use murmura_cluster::{Config, Consistency, Error, Op, Value, ValueError};
use std::time::Duration;

const MS: Duration = Duration::from_millis(1);

fn counter(v: i128) -> impl Fn(&Value) -> bool {
    move |x| x.as_counter() == Some(v)
}

/// A member that is one of `key`'s replicas.
fn replica_of(net: &Net, key: &str, k: usize) -> usize {
    let names = net.store(0).replicas_of(key.as_bytes()).unwrap();
    net.index(&names[k])
}

/// A member that is not one of `key`'s replicas.
fn non_replica_of(net: &Net, key: &str) -> usize {
    let names = net.store(0).replicas_of(key.as_bytes()).unwrap();
    (0..net.names.len())
        .find(|i| !names.contains(&net.names[*i]))
        .expect("a member outside the replica set")
}

#[test]
fn a_write_reaches_all_three_replicas_and_only_them() {
    let mut net = Net::new(5, Config::default());
    let at = replica_of(&net, "k", 0);
    let id = net.update(at, "k", Op::Add(7));
    net.settle();
    assert_eq!(net.written(at, id), Some(Ok(())));
    assert_eq!(net.holders("k", counter(7)), 3);
    let replicas = net.store(0).replicas_of(b"k").unwrap();
    for (i, name) in net.names.iter().enumerate() {
        let holds = net.store(i).local(b"k").is_some();
        assert_eq!(holds, replicas.contains(name), "{name}");
    }
}

#[test]
fn a_write_at_a_non_replica_is_forwarded_and_acknowledged() {
    let mut net = Net::new(5, Config::default());
    let at = non_replica_of(&net, "k");
    let id = net.update(at, "k", Op::Insert("x".into()));
    net.settle();
    assert_eq!(net.written(at, id), Some(Ok(())));
    assert_eq!(net.holders("k", |v| v.as_set() == Some(vec!["x"])), 3);
    assert!(
        net.store(at).local(b"k").is_none(),
        "the forwarder keeps no copy"
    );
}

#[test]
fn one_crash_right_after_an_acknowledgement_loses_nothing() {
    // N = 3, W = 2: the write is acknowledged once two replicas hold it;
    // crash one of them at once, and a read still finds the write.
    let mut net = Net::new(5, Config::default());
    let coord = replica_of(&net, "k", 0);
    let third = replica_of(&net, "k", 2);
    // The third replica hears nothing: the ack comes from the first two.
    net.cut.insert((coord, third));
    let id = net.update(coord, "k", Op::Add(1));
    net.settle();
    assert_eq!(net.written(coord, id), Some(Ok(())));
    net.crash(coord);
    net.cut.clear();
    let reader = non_replica_of(&net, "k");
    let id = net.get(reader, "k", Consistency::Quorum);
    net.settle();
    let value = net
        .read(reader, id)
        .expect("read finished")
        .expect("read ok");
    assert_eq!(value.as_counter(), Some(1));
}

#[test]
fn a_wrong_type_is_refused_and_changes_nothing() {
    let mut net = Net::new(3, Config::default());
    let id = net.update(0, "k", Op::Add(2));
    net.settle();
    assert_eq!(net.written(0, id), Some(Ok(())));
    let now = net.now;
    let err = net
        .store_mut(0)
        .update(
            now,
            b"k".to_vec(),
            Op::Insert("x".into()),
            Consistency::Default,
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Value(ValueError::WrongType {
                held: "counter",
                wanted: "set"
            })
        ),
        "{err:?}"
    );
    net.settle();
    assert_eq!(net.holders("k", counter(2)), 3);
}

#[test]
fn an_unreachable_replica_gets_its_writes_as_hints_when_it_returns() {
    let mut net = Net::new(5, Config::default());
    let coord = replica_of(&net, "k", 0);
    let absent = replica_of(&net, "k", 1);
    let now = net.now;
    let absent_name = net.names[absent].clone();
    for s in net.stores.iter_mut().flatten() {
        s.peer_down(now, &absent_name);
    }
    let ids: Vec<_> = (0..10)
        .map(|_| net.update(coord, "k", Op::Add(1)))
        .collect();
    net.settle();
    for id in ids {
        assert_eq!(net.written(coord, id), Some(Ok(())));
    }
    // Three copies: two replicas and one stand-in holding a hint.
    let hints: usize = net.stores.iter().flatten().map(|s| s.hints_held()).sum();
    assert_eq!(
        hints, 1,
        "one stand-in holds the key for the absent replica"
    );
    assert!(net.store(absent).local(b"k").is_none());
    for s in net.stores.iter_mut().flatten() {
        s.peer_up(now, &absent_name);
    }
    net.settle();
    assert_eq!(
        net.store(absent).local(b"k").and_then(|v| v.as_counter()),
        Some(10)
    );
    let hints: usize = net.stores.iter().flatten().map(|s| s.hints_held()).sum();
    assert_eq!(hints, 0, "the hint was dropped once handed over");
    let delivered: u64 = net
        .stores
        .iter()
        .flatten()
        .map(|s| s.stats().hints_delivered)
        .sum();
    assert_eq!(delivered, 1);
}

#[test]
fn a_silent_replica_times_out_and_the_write_goes_to_a_stand_in() {
    let config = Config {
        write_quorum: 3,
        ..Config::default()
    };
    let mut net = Net::new(5, config);
    let coord = replica_of(&net, "k", 0);
    let silent = replica_of(&net, "k", 2);
    // Nobody told the coordinator: the replica just does not answer.
    net.cut.insert((coord, silent));
    let id = net.update(coord, "k", Op::Add(1));
    net.settle();
    assert_eq!(net.written(coord, id), None, "W = 3 waits for the third");
    net.run(Duration::from_millis(600), 10 * MS);
    assert_eq!(
        net.written(coord, id),
        Some(Ok(())),
        "a stand-in acknowledged"
    );
    let hints: usize = net.stores.iter().flatten().map(|s| s.hints_held()).sum();
    assert_eq!(hints, 1);
}

#[test]
fn without_hinted_handoff_too_few_replicas_fail_the_write() {
    let config = Config {
        write_quorum: 3,
        hinted_handoff: false,
        ..Config::default()
    };
    let mut net = Net::new(5, config);
    let coord = replica_of(&net, "k", 0);
    let silent = replica_of(&net, "k", 2);
    net.cut.insert((coord, silent));
    let id = net.update(coord, "k", Op::Add(1));
    net.run(Duration::from_millis(600), 10 * MS);
    assert_eq!(
        net.written(coord, id),
        Some(Err(Error::Unavailable { acks: 2, needed: 3 }))
    );
}

#[test]
fn a_lagging_peer_makes_writes_overloaded_not_buffered() {
    let config = Config {
        max_in_flight_per_peer: 4,
        write_quorum: 3,
        hinted_handoff: false,
        ..Config::default()
    };
    let mut net = Net::new(3, config);
    // Member 2 never answers member 0 (its link is cut one way).
    net.cut.insert((0, 2));
    let mut overloaded = 0;
    for _ in 0..10 {
        let now = net.now;
        match net
            .store_mut(0)
            .update(now, b"k".to_vec(), Op::Add(1), Consistency::Default)
        {
            Ok(_) => {}
            Err(Error::Overloaded) => overloaded += 1,
            Err(e) => panic!("unexpected {e:?}"),
        }
        net.settle();
    }
    assert_eq!(
        overloaded, 6,
        "four in flight to the silent peer, then refused"
    );
}

#[test]
fn a_replica_that_missed_writes_catches_up_by_anti_entropy_shipping_little() {
    let mut net = Net::new(3, Config::default());
    // Member 2 misses everything written through member 0.
    net.cut.insert((0, 2));
    for i in 0..200 {
        net.update(0, &format!("key{i}"), Op::Add(1));
    }
    net.settle();
    assert_eq!(net.store(2).len(), 0);
    net.cut.clear();
    // A full-state copy of everything, for comparison.
    let full: usize = net
        .store(0)
        .keys()
        .map(|k| murmura_crdt::Codec::to_bytes(net.store(0).local(k).unwrap()).len() + k.len())
        .sum();
    net.run(Duration::from_secs(20), 100 * MS);
    assert_eq!(net.store(2).len(), 200);
    for i in 0..200 {
        assert_eq!(
            net.store(2)
                .local(format!("key{i}").as_bytes())
                .and_then(|v| v.as_counter()),
            Some(1)
        );
    }
    // Now in sync: further rounds ship only summaries.
    let before: u64 = net
        .stores
        .iter()
        .flatten()
        .map(|s| s.stats().keys_repaired)
        .sum();
    net.run(Duration::from_secs(10), 100 * MS);
    let after: u64 = net
        .stores
        .iter()
        .flatten()
        .map(|s| s.stats().keys_repaired)
        .sum();
    assert_eq!(before, after, "nothing to repair once in sync");
    assert!(full > 0);
}

#[test]
fn a_quorum_read_merges_and_repairs_a_stale_replica() {
    let config = Config {
        anti_entropy_interval: Duration::from_secs(3600),
        ..Config::default()
    };
    let mut net = Net::new(3, config);
    net.cut.insert((0, 2));
    net.update(0, "k", Op::Write(b"v1".to_vec()));
    net.settle();
    net.cut.clear();
    assert!(net.store(2).local(b"k").is_none());
    let id = net.get(2, "k", Consistency::All);
    net.settle();
    let v = net.read(2, id).unwrap().unwrap();
    assert_eq!(v.as_register(), Some(&b"v1"[..]));
    assert_eq!(
        net.store(2).local(b"k").and_then(|v| v.as_register()),
        Some(&b"v1"[..])
    );
}

#[test]
fn a_join_moves_keys_and_no_key_ever_has_fewer_than_n_copies() {
    let mut net = Net::new(4, Config::default());
    for i in 0..300 {
        net.update(i % 4, &format!("key{i}"), Op::Add(1));
    }
    net.settle();
    let copies = |net: &Net, i: usize| net.holders(&format!("key{i}"), counter(1));
    for i in 0..300 {
        assert_eq!(copies(&net, i), 3);
    }
    // A fifth member joins; everyone switches to the new placement.
    net.names.push("m4".into());
    let placement = ring(&net.names);
    let config = net.config.clone();
    net.stores.push(Some(
        murmura_cluster::Store::new("m4".into(), 99, config, placement.clone(), 99).unwrap(),
    ));
    let now = net.now;
    for s in net.stores.iter_mut().flatten() {
        s.set_placement(now, placement.clone());
    }
    // Step the handoff one delivery round at a time, checking copies.
    for _ in 0..50 {
        net.run(Duration::from_millis(100), 100 * MS);
        for i in 0..300 {
            assert!(
                copies(&net, i) >= 3,
                "key{i} fell below N during the rebalance"
            );
        }
    }
    let moved: usize = net.store(4).len();
    assert!(moved > 100, "the new member received its share: {moved}");
    for i in 0..300 {
        let key = format!("key{i}");
        let owners = net.store(0).replicas_of(key.as_bytes()).unwrap();
        for (m, name) in net.names.iter().enumerate() {
            let holds = net.store(m).local(key.as_bytes()).is_some();
            assert_eq!(holds, owners.contains(name), "{key} on {name}");
        }
    }
    let leaving: usize = net.stores.iter().flatten().map(|s| s.keys_leaving()).sum();
    assert_eq!(leaving, 0);
}

#[test]
fn crash_and_restart_empty_then_catch_up() {
    let mut net = Net::new(5, Config::default());
    for i in 0..100 {
        net.update(i % 5, &format!("key{i}"), Op::Add(2));
    }
    net.settle();
    net.crash(3);
    for i in 0..100 {
        net.update(i % 3, &format!("key{i}"), Op::Add(1));
    }
    net.run(Duration::from_secs(1), 10 * MS);
    net.restart(3);
    net.run(Duration::from_secs(60), 100 * MS);
    for i in 0..100 {
        let key = format!("key{i}");
        let owners = net.store(0).replicas_of(key.as_bytes()).unwrap();
        for o in owners {
            let v = net
                .store(net.index(&o))
                .local(key.as_bytes())
                .and_then(|v| v.as_counter());
            assert_eq!(v, Some(3), "{key} on {o}");
        }
    }
    let hints: usize = net.stores.iter().flatten().map(|s| s.hints_held()).sum();
    assert_eq!(hints, 0);
}

#[test]
fn bad_requests_are_refused_before_anything_happens() {
    let mut net = Net::new(3, Config::default());
    let now = net.now;
    let s = net.store_mut(0);
    assert!(matches!(
        s.update(now, Vec::new(), Op::Add(1), Consistency::Default),
        Err(Error::BadKey { len: 0, .. })
    ));
    assert!(matches!(
        s.update(now, vec![b'x'; 2000], Op::Add(1), Consistency::Default),
        Err(Error::BadKey { len: 2000, .. })
    ));
    assert!(matches!(
        s.get(now, b"k".to_vec(), Consistency::Exactly(4)),
        Err(Error::BadConsistency {
            asked: 4,
            replicas: 3
        })
    ));
    assert!(matches!(
        s.handle_message(now, "m1", &[9, 9, 9]),
        Err(Error::Version(9))
    ));
    assert!(s.is_empty());
}

#[test]
fn anti_entropy_at_one_percent_divergence_ships_a_small_fraction_of_the_state() {
    let config = Config {
        anti_entropy_interval: Duration::from_millis(500),
        ..Config::default()
    };
    let mut net = Net::new(3, config);
    for i in 0..2_000 {
        net.update(i % 3, &format!("key{i}"), Op::Add(1));
    }
    net.settle();
    // Member 2 misses 20 writes (1 %) made through member 0.
    net.cut.insert((0, 2));
    net.cut.insert((1, 2));
    for i in 0..20 {
        net.update(0, &format!("key{}", i * 100), Op::Add(5));
    }
    net.settle();
    net.cut.clear();
    let full: usize = net
        .store(0)
        .keys()
        .map(|k| murmura_crdt::Codec::to_bytes(net.store(0).local(k).unwrap()).len() + k.len())
        .sum();
    let before: u64 = net
        .stores
        .iter()
        .flatten()
        .map(|s| s.stats().anti_entropy_bytes)
        .sum();
    // Run until member 2 holds every write again (bounded).
    let caught_up = |net: &Net| {
        (0..20).all(|i| {
            net.store(2)
                .local(format!("key{}", i * 100).as_bytes())
                .and_then(|v| v.as_counter())
                == Some(6)
        })
    };
    for _ in 0..600 {
        if caught_up(&net) {
            break;
        }
        net.run(100 * MS, 100 * MS);
    }
    assert!(caught_up(&net), "member 2 caught up within a minute");
    let shipped = net
        .stores
        .iter()
        .flatten()
        .map(|s| s.stats().anti_entropy_bytes)
        .sum::<u64>()
        - before;
    let ratio = shipped as f64 / full as f64;
    eprintln!(
        "full state {full} B; anti-entropy shipped {shipped} B until caught up ({ratio:.3} of the full state)"
    );
    // Measured 0.38 here (2,000 keys: the tree is shallow); the ratio falls
    // as the key count grows (fewer bytes per differing key per level).
    assert!(
        ratio < 0.5,
        "anti-entropy shipped {ratio:.3} of the full state"
    );
}
