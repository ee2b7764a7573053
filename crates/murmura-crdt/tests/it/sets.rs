use crate::harness::{
    Record, converge, converge_observed, garbage, irredundant, laws, maximal, states, steps,
};
use murmura_crdt::{GSet, ORSet, RemoveWinsSet, SetOp, TwoPSet};
use proptest::prelude::*;

fn setop<T>(_: &T, raw: u64) -> SetOp<u64> {
    let e = raw % 6;
    if (raw >> 8).is_multiple_of(3) {
        SetOp::Remove(e)
    } else {
        SetOp::Add(e)
    }
}

fn elem(op: &SetOp<u64>) -> Option<u64> {
    Some(match op {
        SetOp::Add(e) | SetOp::Remove(e) => *e,
    })
}

/// Present iff some add of the element is not followed by another
/// operation on it.
fn add_wins<T: murmura_crdt::DeltaCrdt<Op = SetOp<u64>>>(h: &[Record<T>]) -> Vec<u64> {
    (0..6)
        .filter(|e| {
            maximal(h, elem, e)
                .iter()
                .any(|r| matches!(r.op, SetOp::Add(_)))
        })
        .collect()
}

/// Present iff the unfollowed operations on it are all adds (and exist).
fn remove_wins<T: murmura_crdt::DeltaCrdt<Op = SetOp<u64>>>(h: &[Record<T>]) -> Vec<u64> {
    (0..6)
        .filter(|e| {
            let m = maximal(h, elem, e);
            !m.is_empty() && m.iter().all(|r| matches!(r.op, SetOp::Add(_)))
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn gset_laws(s in steps(30)) {
        let (reps, deltas) = states(3, &s, |_| (), |_: &GSet<u64>, raw| raw % 8);
        laws(&reps, &deltas)?;
    }

    #[test]
    fn gset_converges(s in steps(60), n in 3..6usize) {
        converge(n, &s, |_| (), |_: &GSet<u64>, raw| raw % 8, |h: &[Record<GSet<u64>>]| {
            let mut v: Vec<u64> = h.iter().map(|r| r.op).collect();
            v.sort();
            v.dedup();
            v
        })?;
    }

    #[test]
    fn twopset_laws(s in steps(30)) {
        let (reps, deltas) = states(3, &s, |_| (), setop::<TwoPSet<u64>>);
        laws(&reps, &deltas)?;
    }

    #[test]
    fn twopset_converges(s in steps(60), n in 3..6usize) {
        converge(n, &s, |_| (), setop::<TwoPSet<u64>>, |h: &[Record<TwoPSet<u64>>]| {
            (0..6).filter(|e| {
                h.iter().any(|r| r.op == SetOp::Add(*e)) && !h.iter().any(|r| r.op == SetOp::Remove(*e))
            }).collect()
        })?;
    }

    #[test]
    fn orset_laws(s in steps(30)) {
        let (reps, deltas) = states(3, &s, |i| i as u64, setop::<ORSet<u64, u64>>);
        laws(&reps, &deltas)?;
        irredundant(&reps)?;
    }

    #[test]
    fn orset_converges_add_wins(s in steps(80), n in 3..6usize) {
        converge(n, &s, |i| i as u64, setop::<ORSet<u64, u64>>, add_wins)?;
    }

    /// Size, emptiness, membership and iteration agree at every moment of
    /// a lossy delivery.
    #[test]
    fn orset_reads_agree_through_lossy_delivery(s in steps(80), n in 3..6usize) {
        converge_observed(n, &s, |i| i as u64, setop::<ORSet<u64, u64>>, |set: &ORSet<u64, u64>| {
            let items: Vec<u64> = set.iter().copied().collect();
            prop_assert_eq!(set.len(), items.len());
            prop_assert_eq!(set.is_empty(), items.is_empty());
            prop_assert!(items.windows(2).all(|w| w[0] < w[1]), "iteration not ascending");
            for e in 0..8u64 {
                prop_assert_eq!(set.contains(&e), items.contains(&e));
            }
            Ok(())
        }, |_, _| Ok(()))?;
    }

    #[test]
    fn rwset_laws(s in steps(30)) {
        let (reps, deltas) = states(3, &s, |i| i as u64, setop::<RemoveWinsSet<u64, u64>>);
        laws(&reps, &deltas)?;
        irredundant(&reps)?;
    }

    #[test]
    fn rwset_converges_remove_wins(s in steps(80), n in 3..6usize) {
        converge(n, &s, |i| i as u64, setop::<RemoveWinsSet<u64, u64>>, remove_wins)?;
    }

    #[test]
    fn sets_survive_garbage(bytes in proptest::collection::vec(any::<u8>(), 0..96)) {
        garbage::<GSet<u64>>(&bytes)?;
        garbage::<TwoPSet<u64>>(&bytes)?;
        garbage::<ORSet<u64, u64>>(&bytes)?;
        garbage::<ORSet<String, u64>>(&bytes)?;
        garbage::<RemoveWinsSet<u64, u64>>(&bytes)?;
    }

    /// Batch adds equal one-by-one adds, and the batch's delta rebuilds it.
    #[test]
    fn orset_batch_equals_single(elems in proptest::collection::vec(0..50u64, 0..40)) {
        let mut one = ORSet::<u64, u64>::new();
        let mut distinct = elems.clone();
        distinct.sort();
        distinct.dedup();
        for e in &distinct { one.add(1, *e); }
        let mut batch = ORSet::<u64, u64>::new();
        let delta = batch.add_all(1, elems.clone());
        prop_assert_eq!(batch.iter().collect::<Vec<_>>(), one.iter().collect::<Vec<_>>());
        prop_assert_eq!(&murmura_crdt::Lattice::merged(&ORSet::<u64, u64>::new(), &delta), &batch);
    }
}

#[test]
fn orset_concurrent_add_beats_remove() {
    use murmura_crdt::Lattice;
    let mut a = ORSet::<u64, u64>::new();
    a.add(1, 5);
    let mut b = a.clone();
    b.remove(&5);
    a.add(1, 5);
    assert!(a.merged(&b).contains(&5));
    // A remove that saw every add wins.
    let mut c = a.merged(&b);
    c.remove(&5);
    assert!(!c.merged(&a).contains(&5));
}
