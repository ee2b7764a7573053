//! Interval tree clocks against an exact causal-history model: every event
//! gets a unique number, each stamp's model is the set of events it has
//! seen, and `leq` must be set inclusion.

use murmura_clock::itc::{Id, Stamp};
use murmura_clock::{Causality, ClockError};
use proptest::prelude::*;
use std::collections::BTreeSet;

type History = BTreeSet<u64>;

#[derive(Debug, Clone)]
enum Op {
    Fork(usize),
    Event(usize),
    Join(usize, usize),
    Message(usize, usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => any::<usize>().prop_map(Op::Fork),
        4 => any::<usize>().prop_map(Op::Event),
        1 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Op::Join(a, b)),
        3 => (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Op::Message(a, b)),
    ]
}

const MAX_LIVE: usize = 6;

fn run(ops: &[Op]) -> Result<Vec<(Stamp, History)>, TestCaseError> {
    let mut live = vec![(Stamp::seed(), History::new())];
    let mut next_event = 0u64;
    let mut fresh = || {
        next_event += 1;
        next_event
    };
    for op in ops {
        let n = live.len();
        match *op {
            Op::Fork(k) => {
                if n >= MAX_LIVE {
                    continue;
                }
                let (stamp, history) = &live[k % n];
                let (a, b) = stamp.fork();
                // Forking then joining the halves gives the stamp back.
                prop_assert_eq!(&a.join(&b).expect("disjoint halves"), stamp);
                let history = history.clone();
                live[k % n] = (a, history.clone());
                live.push((b, history));
            }
            Op::Event(k) => {
                let (stamp, history) = &mut live[k % n];
                let before = stamp.clone();
                stamp.event().expect("live stamps own an identity");
                history.insert(fresh());
                prop_assert_eq!(before.causality(stamp), Causality::Before);
            }
            Op::Join(a, b) => {
                let (a, b) = (a % n, b % n);
                if a == b {
                    continue;
                }
                let (sb, hb) = live[b].clone();
                let (sa, ha) = &mut live[a];
                *sa = sa.join(&sb).expect("live identities are disjoint");
                ha.extend(hb);
                live.remove(b);
            }
            Op::Message(from, to) => {
                let (from, to) = (from % n, to % n);
                if from == to {
                    continue;
                }
                let msg = live[from].0.send().expect("live stamps own an identity");
                live[from].1.insert(fresh());
                let sent: History = live[from].1.clone();
                prop_assert!(msg.is_anonymous());
                prop_assert_eq!(msg.clone().event(), Err(ClockError::AnonymousEvent));
                let (stamp, history) = &mut live[to];
                stamp.receive(&msg).expect("a message has no identity");
                history.extend(sent);
                history.insert(fresh());
            }
        }
        check(&live)?;
    }
    Ok(live)
}

fn check(live: &[(Stamp, History)]) -> Result<(), TestCaseError> {
    for (a, ha) in live {
        for (b, hb) in live {
            prop_assert_eq!(a.leq(b), ha.is_subset(hb), "{} vs {}", a, b);
        }
    }
    // Identities stay disjoint and together still own the whole interval.
    let mut all = Stamp::seed().peek();
    for (i, (a, _)) in live.iter().enumerate() {
        for (b, _) in &live[i + 1..] {
            prop_assert!(!a.overlaps(b));
        }
        all = all.join(a).expect("disjoint");
    }
    prop_assert_eq!(all.id(), &Id::One);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn leq_is_exactly_causal_history_inclusion(ops in prop::collection::vec(op(), 0..60)) {
        run(&ops)?;
    }

    #[test]
    fn join_is_a_semilattice_on_histories(ops in prop::collection::vec(op(), 0..50)) {
        let live = run(&ops)?;
        let peeks: Vec<Stamp> = live.iter().map(|(s, _)| s.peek()).collect();
        for a in &peeks {
            prop_assert_eq!(&a.join(a).expect("anonymous"), a);
            for b in &peeks {
                let ab = a.join(b).expect("anonymous");
                prop_assert_eq!(&ab, &b.join(a).expect("anonymous"));
                prop_assert!(a.leq(&ab) && b.leq(&ab));
                for c in &peeks {
                    let left = ab.join(c).expect("anonymous");
                    let right = a.join(&b.join(c).expect("anonymous")).expect("anonymous");
                    prop_assert_eq!(left, right);
                }
            }
        }
    }

    #[test]
    fn encoding_round_trips(ops in prop::collection::vec(op(), 0..60)) {
        for (stamp, _) in run(&ops)? {
            let bytes = stamp.to_bytes();
            prop_assert_eq!(Stamp::decode(&bytes), Ok(stamp.clone()));
            let mut framed = vec![7];
            stamp.encode(&mut framed);
            let mut r = murmura_core::codec::Reader::new(&framed[1..]);
            prop_assert_eq!(Stamp::decode_from(&mut r), Ok(stamp));
            prop_assert!(r.is_empty());
        }
    }

    #[test]
    fn decode_never_panics_on_garbage(bytes in prop::collection::vec(any::<u8>(), 0..48)) {
        if let Ok(stamp) = Stamp::decode(&bytes) {
            // Only canonical encodings are accepted.
            prop_assert_eq!(stamp.to_bytes(), bytes);
        }
    }
}
