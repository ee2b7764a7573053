use crate::harness::{Record, converge, garbage, laws, states, steps};
use murmura_crdt::{BoundedCounter, BoundedOp, DeltaCrdt, GCounter, PNCounter};
use proptest::prelude::*;

fn gop(_: &GCounter<u64>, raw: u64) -> u64 {
    raw % 5
}
fn pnop(_: &PNCounter<u64>, raw: u64) -> i64 {
    (raw % 11) as i64 - 5
}
fn bop(_: &BoundedCounter<u64>, raw: u64) -> BoundedOp<u64> {
    match raw % 4 {
        0 => BoundedOp::Inc(raw % 7),
        1 | 2 => BoundedOp::Dec(raw % 5),
        _ => BoundedOp::Transfer((raw >> 8) % 4, raw % 6),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn gcounter_laws(s in steps(30)) {
        let (reps, deltas) = states(3, &s, |i| i as u64, gop);
        laws(&reps, &deltas)?;
    }

    #[test]
    fn gcounter_converges(s in steps(60), n in 3..6usize) {
        converge(n, &s, |i| i as u64, gop, |h: &[Record<GCounter<u64>>]| {
            h.iter().map(|r| u128::from(r.op)).sum()
        })?;
    }

    #[test]
    fn pncounter_laws(s in steps(30)) {
        let (reps, deltas) = states(3, &s, |i| i as u64, pnop);
        laws(&reps, &deltas)?;
    }

    #[test]
    fn pncounter_converges(s in steps(60), n in 3..6usize) {
        converge(n, &s, |i| i as u64, pnop, |h: &[Record<PNCounter<u64>>]| {
            h.iter().map(|r| i128::from(r.op)).sum()
        })?;
    }

    #[test]
    fn bounded_laws(s in steps(30)) {
        let (reps, deltas) = states(3, &s, |i| i as u64, bop);
        laws(&reps, &deltas)?;
    }

    /// The value is the successful increments minus decrements, and no
    /// interleaving drives it (or any replica's rights) below zero.
    #[test]
    fn bounded_converges_never_negative(s in steps(60), n in 3..6usize) {
        converge(n, &s, |i| i as u64, bop, |h: &[Record<BoundedCounter<u64>>]| {
            let v: i128 = h.iter().map(|r| match r.op {
                BoundedOp::Inc(k) => i128::from(k),
                BoundedOp::Dec(k) => -i128::from(k),
                BoundedOp::Transfer(..) => 0,
            }).sum();
            assert!(v >= 0, "the spec went negative: {v}");
            v as u64
        })?;
    }

    #[test]
    fn counters_survive_garbage(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        garbage::<GCounter<u64>>(&bytes)?;
        garbage::<PNCounter<u64>>(&bytes)?;
        garbage::<BoundedCounter<u64>>(&bytes)?;
    }
}

#[test]
fn bounded_counter_refuses_overdraft() {
    let mut a = BoundedCounter::new();
    a.inc(1u64, 3);
    let before = a.clone();
    assert!(a.dec(1, 4).is_err());
    assert!(a.transfer(1, 2, 4).is_err());
    assert_eq!(a, before);
    a.transfer(1, 2, 2).unwrap();
    assert_eq!(a.rights(&1), 1);
    assert_eq!(a.rights(&2), 2);
    assert_eq!(DeltaCrdt::value(&a), 3);
}
