use crate::harness::{Record, converge, garbage, irredundant, laws, maximal, states, steps};
use murmura_crdt::{DisableWinsFlag, EnableWinsFlag, LwwRegister, MvRegister};
use proptest::prelude::*;

type Lww = LwwRegister<u64, u64, u64>;

fn lwwop(_: &Lww, raw: u64) -> (u64, u64) {
    // Few timestamps, so equal timestamps from different actors are common.
    (raw % 4, (raw >> 8) % 3)
}

fn always<O>(_: &O) -> Option<()> {
    Some(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn lww_laws(s in steps(30)) {
        let (reps, deltas) = states(3, &s, |i| i as u64, lwwop);
        laws(&reps, &deltas)?;
    }

    /// The value is the write with the greatest (timestamp, actor, value).
    #[test]
    fn lww_converges(s in steps(60), n in 3..6usize) {
        converge(n, &s, |i| i as u64, lwwop, |h: &[Record<Lww>]| {
            h.iter().map(|r| (r.op.0, r.replica as u64, r.op.1)).max().map(|w| w.2)
        })?;
    }

    #[test]
    fn mv_laws(s in steps(30)) {
        let (reps, deltas) = states(3, &s, |i| i as u64, |_: &MvRegister<u64, u64>, raw| raw % 5);
        laws(&reps, &deltas)?;
        irredundant(&reps)?;
    }

    /// The siblings are the writes no other write followed.
    #[test]
    fn mv_converges(s in steps(60), n in 3..6usize) {
        converge(n, &s, |i| i as u64, |_: &MvRegister<u64, u64>, raw| raw % 5,
            |h: &[Record<MvRegister<u64, u64>>]| {
                let mut v: Vec<u64> = maximal(h, always, &()).iter().map(|r| r.op).collect();
                v.sort();
                v
            })?;
    }

    #[test]
    fn ew_flag_laws(s in steps(30)) {
        let (reps, deltas) = states(3, &s, |i| i as u64, |_: &EnableWinsFlag<u64>, raw| raw.is_multiple_of(2));
        laws(&reps, &deltas)?;
        irredundant(&reps)?;
    }

    /// Enabled iff some unfollowed operation is an enable.
    #[test]
    fn ew_flag_converges(s in steps(60), n in 3..6usize) {
        converge(n, &s, |i| i as u64, |_: &EnableWinsFlag<u64>, raw| raw.is_multiple_of(2),
            |h: &[Record<EnableWinsFlag<u64>>]| maximal(h, always, &()).iter().any(|r| r.op))?;
    }

    #[test]
    fn dw_flag_laws(s in steps(30)) {
        let (reps, deltas) = states(3, &s, |i| i as u64, |_: &DisableWinsFlag<u64>, raw| raw.is_multiple_of(2));
        laws(&reps, &deltas)?;
        irredundant(&reps)?;
    }

    /// Enabled iff the unfollowed operations are all enables (and exist).
    #[test]
    fn dw_flag_converges(s in steps(60), n in 3..6usize) {
        converge(n, &s, |i| i as u64, |_: &DisableWinsFlag<u64>, raw| raw.is_multiple_of(2),
            |h: &[Record<DisableWinsFlag<u64>>]| {
                let m = maximal(h, always, &());
                !m.is_empty() && m.iter().all(|r| r.op)
            })?;
    }

    #[test]
    fn registers_survive_garbage(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        garbage::<Lww>(&bytes)?;
        garbage::<LwwRegister<String, u64, String>>(&bytes)?;
        garbage::<MvRegister<u64, u64>>(&bytes)?;
        garbage::<EnableWinsFlag<u64>>(&bytes)?;
        garbage::<DisableWinsFlag<u64>>(&bytes)?;
    }
}

/// Equal timestamps and actors with different values still merge the same
/// both ways (the tie-break bug several libraries have).
#[test]
fn lww_equal_stamps_commute() {
    use murmura_crdt::Lattice;
    let mut a = Lww::new();
    let mut b = Lww::new();
    a.write(5, 1, 10);
    b.write(5, 1, 20);
    assert_eq!(a.merged(&b), b.merged(&a));
    assert_eq!(a.merged(&b).get(), Some(&20));
}
