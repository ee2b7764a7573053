//! Causal contexts against a naive set-of-dots model.

use murmura_clock::{CausalContext, Dot, DotRange};
use proptest::prelude::*;
use std::collections::BTreeSet;

type Model = BTreeSet<(u64, u64)>;

const ACTORS: u64 = 3;
const MAX_COUNTER: u64 = 40;

fn dots_of(cc: &CausalContext<u64>) -> Model {
    cc.dots().map(|d| (d.actor, d.counter)).collect()
}

fn check_against(cc: &CausalContext<u64>, model: &Model) -> Result<(), TestCaseError> {
    prop_assert_eq!(&dots_of(cc), model);
    for actor in 0..ACTORS {
        for n in 1..=MAX_COUNTER + 2 {
            prop_assert_eq!(
                cc.contains(&Dot::new(actor, n)),
                model.contains(&(actor, n))
            );
        }
        // The vector holds exactly the contiguous prefix from 1.
        let prefix = (1..).take_while(|n| model.contains(&(actor, *n))).count() as u64;
        prop_assert_eq!(cc.version_vector().get(&actor), prefix);
    }
    // Compact iff every actor's dots form a prefix.
    let compact = model.iter().all(|&(a, n)| n <= cc.version_vector().get(&a));
    prop_assert_eq!(cc.is_compact(), compact);
    prop_assert_eq!(cc.dot_count(), model.len() as u64);
    // Runs are maximal: consecutive runs of one actor never touch.
    let runs: Vec<DotRange<u64>> = cc.ranges().collect();
    for w in runs.windows(2) {
        if w[0].actor == w[1].actor {
            prop_assert!(w[1].first > w[0].last + 1);
        }
    }
    Ok(())
}

fn dot() -> impl Strategy<Value = (u64, u64)> {
    (0..ACTORS, 1..=MAX_COUNTER)
}

/// Ranges too, so merges and inserts of runs are covered.
fn context() -> impl Strategy<Value = (CausalContext<u64>, Model)> {
    prop::collection::vec((dot(), 0u64..4), 0..40).prop_map(|items| {
        let mut cc = CausalContext::new();
        let mut m = Model::new();
        for ((a, n), len) in items {
            let last = (n + len).min(MAX_COUNTER);
            cc.insert_range(a, n, last);
            m.extend((n..=last).map(|k| (a, k)));
        }
        (cc, m)
    })
}

#[test]
fn shuffled_delivery_ends_compact() {
    let mut cc = CausalContext::new();
    for i in 0..50u64 {
        let n = (i * 37) % 50 + 1;
        cc.insert(Dot::new("x", n));
        cc.insert(Dot::new("y", 51 - n));
        assert!(cc.contains(&Dot::new("x", n)));
    }
    assert!(cc.is_compact());
    assert_eq!(cc.version_vector().get(&"x"), 50);
    assert_eq!(cc.version_vector().get(&"y"), 50);
    assert_eq!(cc.dots().count(), 100);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(384))]

    #[test]
    fn compaction_equals_the_naive_set(ops in prop::collection::vec((0u8..6, dot()), 0..80)) {
        let mut cc = CausalContext::new();
        let mut m = Model::new();
        for (op, (a, n)) in ops {
            match op {
                0 => {
                    let d = cc.next_dot(a);
                    let next = m.iter().filter(|(x, _)| *x == a).map(|(_, k)| *k).max().unwrap_or(0) + 1;
                    prop_assert_eq!(d, Dot::new(a, next));
                    m.insert((a, next));
                }
                1 => {
                    cc.remove_actor(&a);
                    m.retain(|(x, _)| *x != a);
                }
                _ => {
                    cc.insert(Dot::new(a, n));
                    m.insert((a, n));
                }
            }
            check_against(&cc, &m)?;
        }
    }

    #[test]
    fn merge_is_union_and_a_semilattice((a, ma) in context(), (b, mb) in context(), (c, _) in context()) {
        let mut ab = a.clone();
        ab.merge(&b);
        let union: Model = ma.union(&mb).copied().collect();
        check_against(&ab, &union)?;
        let mut ba = b.clone();
        ba.merge(&a);
        prop_assert_eq!(&ab, &ba);
        let mut aa = a.clone();
        aa.merge(&a);
        prop_assert_eq!(&aa, &a);
        let mut ab_c = ab.clone();
        ab_c.merge(&c);
        let mut bc = b.clone();
        bc.merge(&c);
        let mut a_bc = a.clone();
        a_bc.merge(&bc);
        prop_assert_eq!(&ab_c, &a_bc);
    }

    #[test]
    fn missing_from_is_set_difference((a, ma) in context(), (b, mb) in context()) {
        let missing: Model = a
            .missing_from(&b)
            .iter()
            .flat_map(|r| r.dots().map(|d| (d.actor, d.counter)).collect::<Vec<_>>())
            .collect();
        let expected: Model = ma.difference(&mb).copied().collect();
        prop_assert_eq!(missing, expected);
        // Shipping the missing runs makes b see everything a saw.
        let mut b2 = b.clone();
        for r in a.missing_from(&b) {
            b2.insert_range(r.actor, r.first, r.last);
        }
        let mut ab = a.clone();
        ab.merge(&b);
        prop_assert_eq!(b2, ab);
    }

    #[test]
    fn encoding_round_trips((a, _) in context()) {
        let bytes = a.to_bytes();
        prop_assert_eq!(CausalContext::<u64>::decode(&bytes), Ok(a.clone()));
        let named: CausalContext<String> = a.dots().map(|d| Dot::new(format!("n{}", d.actor), d.counter)).collect();
        prop_assert_eq!(CausalContext::<String>::decode(&named.to_bytes()), Ok(named));
    }

    #[test]
    fn decode_never_panics_on_garbage(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        if let Ok(cc) = CausalContext::<u64>::decode(&bytes) {
            prop_assert_eq!(cc.to_bytes(), bytes.clone());
        }
        let _ = CausalContext::<String>::decode(&bytes);
        let _ = CausalContext::<[u8; 16]>::decode(&bytes);
    }

    #[test]
    fn mutated_encodings_never_panic((a, _) in context(), at in any::<prop::sample::Index>(), bit in 0u8..8) {
        let mut bytes = a.to_bytes();
        let i = at.index(bytes.len());
        bytes[i] ^= 1 << bit;
        if let Ok(cc) = CausalContext::<u64>::decode(&bytes) {
            prop_assert_eq!(cc.to_bytes(), bytes);
        }
    }
}
