//! Hybrid logical clocks: monotonicity and happened-before across random
//! message exchanges, with clocks that drift and step backwards.

use murmura_clock::hlc::{Hlc, Timestamp};
use murmura_clock::{ClockError, VersionVector};
use murmura_core::time::ManualClock;
use proptest::prelude::*;
use std::time::Duration;

#[derive(Debug, Clone)]
enum Op {
    Advance(u64),
    StepBack(u64),
    Now,
    Update(i64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u64..50).prop_map(Op::Advance),
        (0u64..2_000).prop_map(Op::StepBack),
        Just(Op::Now),
        (-1_000i64..1_000).prop_map(Op::Update),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn timestamps_strictly_increase_whatever_the_wall_clock_does(ops in prop::collection::vec(op(), 1..200)) {
        let time = ManualClock::new(Duration::from_secs(1_000_000));
        let clock = Hlc::with_clock(time.clone()).with_max_drift(Duration::from_millis(300));
        let mut last = Timestamp::ZERO;
        for op in ops {
            match op {
                Op::Advance(ms) => time.advance(Duration::from_millis(ms)),
                Op::StepBack(ms) => time.set(time.now().saturating_sub(Duration::from_millis(ms))),
                Op::Now => {
                    let t = clock.now();
                    prop_assert!(t > last);
                    // Never behind physical time.
                    prop_assert!(t.physical() >= Duration::from_millis(time.now().as_millis() as u64));
                    last = t;
                }
                Op::Update(offset) => {
                    let pt = time.now().as_millis() as i64;
                    let remote = Timestamp::from_parts((pt + offset) as u64, 3);
                    match clock.update(remote) {
                        Ok(t) => {
                            prop_assert!(offset <= 300);
                            prop_assert!(t > last && t > remote);
                            last = t;
                        }
                        Err(ClockError::ClockDrift { ahead_ms, max_drift_ms }) => {
                            prop_assert!(offset > 300);
                            prop_assert_eq!((ahead_ms, max_drift_ms), (offset as u64, 300));
                            prop_assert_eq!(clock.last(), last);
                        }
                        Err(e) => prop_assert!(false, "unexpected error {e}"),
                    }
                }
            }
        }
    }

    #[test]
    fn happened_before_implies_smaller_timestamp(
        skews in prop::collection::vec(0u64..200, 3),
        steps in prop::collection::vec((0u8..4, 0usize..3, 0usize..3, 0u64..30), 1..150),
    ) {
        const NODES: usize = 3;
        let times: Vec<ManualClock> = skews
            .iter()
            .map(|s| ManualClock::new(Duration::from_millis(1_000_000 + s)))
            .collect();
        let clocks: Vec<_> = times
            .iter()
            .map(|t| Hlc::with_clock(t.clone()).with_max_drift(Duration::from_secs(3_600)))
            .collect();
        // Each node's causal history as a vector clock: the ground truth.
        let mut history: Vec<VersionVector<usize>> = vec![VersionVector::new(); NODES];
        let mut events: Vec<(VersionVector<usize>, Timestamp)> = Vec::new();
        let mut in_flight: Vec<(usize, VersionVector<usize>, Timestamp)> = Vec::new();
        for (kind, from, to, ms) in steps {
            match kind {
                0 => times[from].advance(Duration::from_millis(ms)),
                1 => times[from].set(times[from].now().saturating_sub(Duration::from_millis(ms))),
                2 => {
                    history[from].increment(from);
                    let t = clocks[from].now();
                    events.push((history[from].clone(), t));
                    in_flight.push((to, history[from].clone(), t));
                }
                _ => {
                    if in_flight.is_empty() {
                        continue;
                    }
                    let (dest, vv, sent) = in_flight.remove(ms as usize % in_flight.len());
                    history[dest].merge(&vv);
                    history[dest].increment(dest);
                    let t = clocks[dest].update(sent).expect("drift tolerance is an hour");
                    prop_assert!(t > sent);
                    events.push((history[dest].clone(), t));
                }
            }
        }
        for (va, ta) in &events {
            for (vb, tb) in &events {
                if va < vb {
                    prop_assert!(ta < tb, "{va:?}@{ta:?} happened before {vb:?}@{tb:?}");
                }
            }
        }
    }

    #[test]
    fn timestamp_wire_form_round_trips_and_sorts(a in any::<u64>(), b in any::<u64>()) {
        let (ta, tb) = (Timestamp::from_u64(a), Timestamp::from_u64(b));
        prop_assert_eq!(Timestamp::decode(&ta.to_bytes()), Ok(ta));
        prop_assert_eq!(ta.to_bytes().cmp(&tb.to_bytes()), ta.cmp(&tb));
        prop_assert_eq!(Timestamp::from_parts(ta.physical_ms(), ta.logical()), ta);
    }

    #[test]
    fn timestamp_decode_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..16)) {
        prop_assert_eq!(Timestamp::decode(&bytes).is_ok(), bytes.len() == 8);
    }
}
