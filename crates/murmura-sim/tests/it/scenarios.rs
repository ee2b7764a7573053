//! Issue 12's scenarios at small scale (memberlist's LAN preset, a clean
//! 1 ms LAN unless said), with assertions from the protocol's own bounds.
//! Each runs a few seeds; a failure prints the seed.

use std::time::Duration;

use murmura_sim::scenarios::{self, Setup, Split, crash_bound, longest_suspicion};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

const SEEDS: [u64; 2] = [1, 2];

/// Scenario 1: Bootstrap through one seed and through three: every member knows
/// all within the protocol's backstop — news of a joiner spreads by gossip,
/// and whatever gossip missed is repaired by the next push-pull round
/// (twice the scaled push-pull interval, to be sure one round happened).
#[test]
fn bootstrap_from_one_seed_and_from_three() {
    for seed in SEEDS {
        for seeds in [1, 3] {
            let s = Setup::lan(60, seed);
            let b = scenarios::bootstrap(&s, seeds);
            let t = b.all_see_all.expect("converges");
            assert!(
                t <= s.config.push_pull_interval * 2,
                "seed {seed}, {seeds} seeds: {t:?}"
            );
            assert_eq!(b.per_member.n, 60);
            assert_eq!(b.curve.last().map(|c| c.1), Some(1.0));
        }
    }
}

/// Issue 12's target: every member knows all within 10 s of bootstrap.
/// Fails on today's gossip core for seed 1 (30.1 s: one member misses
/// one joiner until push-pull repairs it) — a joiner does not announce
/// itself, so its news spreads only from the seed's queue, and during
/// bootstrap the retransmit limit is computed from a small live count.
#[test]
#[ignore = "fails on today's gossip core (join news can miss a member until push-pull); see murmura-sim's report"]
fn bootstrap_reaches_everyone_within_ten_seconds() {
    for seed in 1..=4 {
        let b = scenarios::bootstrap(&Setup::lan(60, seed), 1);
        let t = b.all_see_all.expect("converges");
        assert!(t <= secs(10), "seed {seed}: {t:?}");
    }
}

/// Scenario 2: One crash, then ten at once: suspected, declared dead and known to
/// every member within detection + the longest suspicion timeout +
/// dissemination; nobody healthy is declared dead.
#[test]
fn one_crash_then_ten_are_known_to_all_within_the_bound() {
    for seed in SEEDS {
        for k in [1, 10] {
            let s = Setup::lan(50, seed);
            let bound = crash_bound(&s.config, 50);
            let c = scenarios::crashes(&s, k);
            assert_eq!(c.unfinished, 0, "seed {seed}, {k} crashes");
            assert_eq!(c.all_know.n, k);
            assert!(
                c.all_know.max <= bound.as_secs_f64(),
                "seed {seed}: {} > {bound:?}",
                c.all_know
            );
            assert!(c.first_suspected.max <= c.first_failed.max);
            assert!(c.first_failed.max <= c.all_know.max);
            // Never before the shortest suspicion timeout after a probe.
            assert!(c.first_failed.p50 >= s.config.probe_interval.as_secs_f64());
            assert_eq!(c.false_deaths, 0, "seed {seed}");
            assert_eq!(c.curve.last().map(|p| p.1), Some(1.0));
        }
    }
}

/// Scenario 3: Uniform loss of 5 % and 10 %: suspicions may happen, but no live
/// member is declared dead or forced out.
#[test]
fn uniform_loss_raises_suspicions_but_kills_nobody() {
    for seed in SEEDS {
        for p in [0.05, 0.10] {
            let f = scenarios::uniform_loss(&Setup::lan(30, seed), p, secs(120));
            assert_eq!(f.deaths.total(), 0, "seed {seed}, loss {p}: {:?}", f.deaths);
            assert_eq!(f.missing_at_end, 0, "seed {seed}, loss {p}");
            assert!(f.traffic.sent_bytes.mean > 0.0);
        }
    }
}

/// Scenario 4: Four CPU-starved members (a turn every 2 s): with Lifeguard, at least
/// 10× fewer false accusations raised by the slow members than without,
/// and no healthy member declared dead.
#[test]
fn lifeguard_cuts_false_positives_from_slow_members_tenfold() {
    for seed in SEEDS {
        let on = Setup::lan(30, seed);
        let mut off = on.clone();
        off.config = scenarios::without_lifeguard(off.config);
        let with = scenarios::slow_members(&on, 4, secs(2), secs(120));
        let without = scenarios::slow_members(&off, 4, secs(2), secs(120));
        assert!(
            without.suspicions.by_slow() >= 20,
            "seed {seed}: {:?}",
            without.suspicions
        );
        assert!(
            with.suspicions.by_slow() * 10 <= without.suspicions.by_slow(),
            "seed {seed}: on {:?} off {:?}",
            with.suspicions,
            without.suspicions
        );
        assert_eq!(with.deaths.of_healthy, [0, 0], "seed {seed}");
        assert_eq!(with.missing_at_end, 0, "seed {seed}");
    }
}

/// Scenario 5: Rapid's hard cases, small: a member losing 80 % of its traffic, and
/// one whose ingress flips between all lost and none every 20 s. The
/// healthy members end up agreeing on one view (whether the faulty member
/// is removed is measured, not asserted: plain SWIM keeps it, flapping).
#[test]
fn rapid_hard_cases_end_in_one_healthy_view() {
    for seed in SEEDS {
        let s = Setup::lan(40, seed);
        let lossy = scenarios::lossy_members(&s, 0.01, 0.8, secs(120));
        assert_eq!(lossy.faulty.len(), 1);
        assert_eq!(lossy.views, 1, "seed {seed}: {lossy:?}");
        assert!(lossy.flaps > 0, "the faulty member flaps");
        let flip = scenarios::flipping_ingress(&s, secs(20), secs(120));
        assert_eq!(flip.healthy_deaths, 0, "seed {seed}: {flip:?}");
        assert!(flip.views <= 2, "seed {seed}: {flip:?}");
    }
}

/// No healthy member should see another healthy member dead because one
/// member loses 80 % of its traffic. Fails on today's gossip core for
/// seed 2: the faulty member's accusations spread, and two healthy members
/// are declared dead by healthy observers before they refute.
#[test]
#[ignore = "fails on today's gossip core (a lossy member's accusations kill healthy members); see murmura-sim's report"]
fn a_lossy_member_kills_no_healthy_member() {
    for seed in 1..=4 {
        let lossy = scenarios::lossy_members(&Setup::lan(40, seed), 0.01, 0.8, secs(120));
        assert_eq!(lossy.healthy_deaths, 0, "seed {seed}: {lossy:?}");
    }
}

/// Scenario 6: A 50/50 partition and one member against the rest, held for twice
/// the longest suspicion timeout, then healed: the larger side settles on
/// itself, and after the heal everyone sees everyone again within two
/// reconnect intervals, with no manual rejoin.
#[test]
fn partitions_heal_without_a_manual_rejoin() {
    for seed in SEEDS {
        for split in [Split::Halves, Split::OneAgainstRest] {
            let s = Setup::lan(30, seed);
            let p = scenarios::partition(&s, split);
            assert!(p.held >= longest_suspicion(&s.config, 30) * 2);
            assert!(p.majority_settled, "seed {seed} {split:?}");
            let heal = p.heal.expect("heals");
            assert!(
                heal <= s.config.reconnect_interval * 2,
                "seed {seed} {split:?}: {heal:?}"
            );
        }
    }
}

/// Scenario 7: A restart under the same name at a new address, and a 10 % rolling
/// restart: accepted everywhere faster than a crash is detected, no ghosts.
#[test]
fn restarts_under_the_same_name_are_accepted_without_ghosts() {
    for seed in SEEDS {
        let s = Setup::lan(30, seed);
        let bound = crash_bound(&s.config, 30).as_secs_f64();
        for (k, gap) in [(1, secs(1)), (3, secs(5))] {
            let r = scenarios::restarts(&s, k, secs(1), gap);
            assert_eq!(r.unaccepted, 0, "seed {seed}, {k} restarts");
            assert_eq!(r.ghosts, 0, "seed {seed}, {k} restarts");
            assert!(r.accepted.max <= bound, "seed {seed}: {}", r.accepted);
        }
    }
}

/// Scenario 8: A 1 KB broadcast and a metadata update while 10 % of the members
/// crash: both reach every running member within the dissemination bound,
/// each delivered once.
#[test]
fn a_broadcast_and_a_metadata_update_spread_during_churn() {
    for seed in SEEDS {
        let s = Setup::lan(40, seed);
        let bound = crash_bound(&s.config, 40);
        let c = scenarios::broadcast_in_churn(&s, 0.1, 1024);
        assert_eq!(c.crashed, 4);
        assert!(
            c.broadcast.is_some_and(|t| t <= bound),
            "seed {seed}: {c:?}"
        );
        assert!(c.metadata.is_some_and(|t| t <= bound), "seed {seed}: {c:?}");
        assert_eq!(c.duplicates, 0);
    }
}

/// A scenario replays exactly from its seed.
#[test]
fn a_scenario_replays_from_its_seed() {
    let a = scenarios::bootstrap(&Setup::lan(20, 9), 1);
    let b = scenarios::bootstrap(&Setup::lan(20, 9), 1);
    assert_eq!(a.trace, b.trace);
    assert_eq!(a.all_see_all, b.all_see_all);
}
