use crate::harness::{
    Record, converge, converge_observed, garbage, irredundant, laws, states, steps,
};
use murmura_crdt::{
    CausalCounter, CounterDots, DeltaCrdt, ElemDots, Lattice, List, ListOp, LwwMap, MapOp, ORMap,
    SetOp,
};
use proptest::prelude::*;
use std::collections::BTreeMap;

type SetMap = ORMap<u64, ElemDots<u64, u64>, u64>;
type CounterMap = ORMap<u64, CounterDots<u64>, u64>;
type Lwwm = LwwMap<u64, u64, u64, u64>;

fn setmap_op(_: &SetMap, raw: u64) -> MapOp<u64, SetOp<u64>> {
    let k = raw % 3;
    let e = (raw >> 4) % 4;
    match (raw >> 8) % 5 {
        0 => MapOp::Remove(k),
        1 => MapOp::Update(k, SetOp::Remove(e)),
        _ => MapOp::Update(k, SetOp::Add(e)),
    }
}

fn counter_op(_: &CounterMap, raw: u64) -> MapOp<u64, i64> {
    let k = raw % 3;
    if (raw >> 8).is_multiple_of(4) {
        MapOp::Remove(k)
    } else {
        MapOp::Update(k, (raw >> 12) as i64 % 7 - 3)
    }
}

fn lwwm_op(_: &Lwwm, raw: u64) -> (u64, u64, Option<u64>) {
    let v = (raw >> 8) % 4;
    (raw % 5, (raw >> 4) % 3, (v != 0).then_some(v))
}

fn list_op(list: &List<u64, u64>, raw: u64) -> ListOp<u64> {
    let len = list.len();
    if len > 0 && raw.is_multiple_of(3) {
        ListOp::Remove((raw >> 8) as usize % len)
    } else {
        // Values are unique per op so the spec can follow each one.
        ListOp::Insert((raw >> 8) as usize % (len + 1), raw >> 16)
    }
}

/// Element `e` of key `k` is present iff some add of it is followed by no
/// add/remove of `e` under `k` and no remove of `k`.
fn setmap_spec(h: &[Record<SetMap>]) -> BTreeMap<u64, Vec<u64>> {
    let mut out = BTreeMap::new();
    for k in 0..3 {
        let mut present = Vec::new();
        for e in 0..4 {
            let touches = |r: &Record<SetMap>| match &r.op {
                MapOp::Remove(k2) => *k2 == k,
                MapOp::Update(k2, SetOp::Add(e2) | SetOp::Remove(e2)) => *k2 == k && *e2 == e,
            };
            let alive = h.iter().any(|a| {
                a.op == MapOp::Update(k, SetOp::Add(e))
                    && !h.iter().any(|o| touches(o) && a.before_op(o))
            });
            if alive {
                present.push(e);
            }
        }
        if !present.is_empty() {
            out.insert(k, present);
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn setmap_laws(s in steps(30)) {
        let (reps, deltas) = states(3, &s, |i| i as u64, setmap_op);
        laws(&reps, &deltas)?;
        irredundant(&reps)?;
    }

    #[test]
    fn setmap_converges(s in steps(80), n in 3..6usize) {
        converge(n, &s, |i| i as u64, setmap_op, setmap_spec)?;
    }

    /// A map's size and content agree at every moment of a lossy delivery.
    #[test]
    fn map_reads_agree_through_lossy_delivery(s in steps(80), n in 3..6usize) {
        converge_observed(n, &s, |i| i as u64, setmap_op, |m: &SetMap| {
            let value = DeltaCrdt::value(m);
            prop_assert_eq!(m.len(), value.len());
            prop_assert_eq!(m.is_empty(), value.is_empty());
            for (k, v) in &value {
                prop_assert!(m.contains_key(k));
                prop_assert!(!v.is_empty(), "a present key with no content");
            }
            Ok(())
        }, |_, _| Ok(()))?;
    }

    #[test]
    fn countermap_laws(s in steps(30)) {
        let (reps, deltas) = states(3, &s, |i| i as u64, counter_op);
        laws(&reps, &deltas)?;
        irredundant(&reps)?;
    }

    /// Without removes, each key's value is the sum of its updates.
    #[test]
    fn countermap_converges(s in steps(80), n in 3..6usize) {
        let no_remove = |m: &CounterMap, raw: u64| match counter_op(m, raw) {
            MapOp::Remove(k) => MapOp::Update(k, 1),
            op => op,
        };
        converge(n, &s, |i| i as u64, no_remove, |h: &[Record<CounterMap>]| {
            let mut out = BTreeMap::new();
            for r in h {
                if let MapOp::Update(k, by) = r.op {
                    *out.entry(k).or_insert(0i128) += i128::from(by);
                }
            }
            out
        })?;
    }

    #[test]
    fn causal_counter_laws(s in steps(30)) {
        let (reps, deltas) = states(3, &s, |i| i as u64, |_: &CausalCounter<u64>, raw| raw as i64 % 9 - 4);
        laws(&reps, &deltas)?;
        irredundant(&reps)?;
    }

    #[test]
    fn causal_counter_converges(s in steps(60), n in 3..6usize) {
        converge(n, &s, |i| i as u64, |_: &CausalCounter<u64>, raw| raw as i64 % 9 - 4,
            |h: &[Record<CausalCounter<u64>>]| h.iter().map(|r| i128::from(r.op)).sum())?;
    }

    #[test]
    fn lwwmap_laws(s in steps(30)) {
        let (reps, deltas) = states(3, &s, |i| i as u64, lwwm_op);
        laws(&reps, &deltas)?;
    }

    /// Each key holds the greatest (timestamp, actor, value) write.
    #[test]
    fn lwwmap_converges(s in steps(60), n in 3..6usize) {
        converge(n, &s, |i| i as u64, lwwm_op, |h: &[Record<Lwwm>]| {
            let mut best: BTreeMap<u64, (u64, u64, Option<u64>)> = BTreeMap::new();
            for r in h {
                let (t, k, v) = r.op;
                let w = (t, r.replica as u64, v);
                let slot = best.entry(k).or_insert(w);
                if w > *slot { *slot = w; }
            }
            best.into_iter().filter_map(|(k, (_, _, v))| v.map(|v| (k, v))).collect()
        })?;
    }

    #[test]
    fn list_laws(s in steps(30)) {
        let (reps, deltas) = states(3, &s, |i| i as u64, list_op);
        laws(&reps, &deltas)?;
    }

    /// List digests travel: encoded, decoded, and answered exactly.
    #[test]
    fn list_digest_round_trips(s in steps(30)) {
        use murmura_crdt::{AntiEntropy, Codec, ListDigest};
        let (reps, _) = states(3, &s, |i| i as u64, list_op);
        for a in &reps {
            for b in &reps {
                let d = ListDigest::from_bytes(&b.digest().to_bytes()).expect("round trip");
                prop_assert_eq!(&d, &b.digest());
                prop_assert_eq!(b.merged(&a.missing(&d)), b.merged(a));
            }
        }
    }

    /// The visible values are exactly the inserted ones not deleted.
    #[test]
    fn list_converges(s in steps(80), n in 3..6usize) {
        let expected = |h: &[Record<List<u64, u64>>]| {
            let mut alive: Vec<u64> = Vec::new();
            let mut removed: Vec<u64> = Vec::new();
            for r in h {
                match &r.op {
                    ListOp::Insert(_, v) => alive.push(*v),
                    ListOp::Remove(i) => removed.push(r.before[*i]),
                }
            }
            alive.retain(|v| !removed.contains(v));
            alive.sort();
            alive
        };
        converge_observed(n, &s, |i| i as u64, list_op, crate::lists::reads_agree, |h, list: &List<u64, u64>| {
            let mut got = list.to_vec();
            got.sort();
            prop_assert_eq!(got, expected(h));
            Ok(())
        })?;
    }

    #[test]
    fn maps_survive_garbage(bytes in proptest::collection::vec(any::<u8>(), 0..96)) {
        garbage::<SetMap>(&bytes)?;
        garbage::<CounterMap>(&bytes)?;
        garbage::<Lwwm>(&bytes)?;
        garbage::<List<u64, u64>>(&bytes)?;
        if let Ok(d) = <murmura_crdt::ListDigest<u64> as murmura_crdt::Codec>::from_bytes(&bytes) {
            prop_assert_eq!(murmura_crdt::Codec::from_bytes(&murmura_crdt::Codec::to_bytes(&d)).ok(), Some(d));
        }
        garbage::<ORMap<u64, ORMapInner, u64>>(&bytes)?;
    }
}

type ORMapInner = murmura_crdt::DotMap<u64, CounterDots<u64>>;

/// Maps nest to any depth: a map of maps of counters.
#[test]
fn nested_maps_reset_and_merge() {
    let mut a: ORMap<u64, ORMapInner, u64> = ORMap::new();
    a.update(1, |inner| inner.update(10, |c| c.inc(1, 5)));
    let mut b = a.clone();
    b.remove(&1);
    let delta = a.update(1, |inner| inner.update(11, |c| c.inc(1, 2)));
    let mut merged = a.merged(&b);
    assert_eq!(merged, b.merged(&a));
    // The concurrent update survived the reset; the observed entry did not.
    let inner = merged.get(&1).expect("key survives");
    assert!(inner.get(&10).is_none());
    assert_eq!(inner.get(&11).map(CounterDots::value), Some(2));
    merged.merge(&delta);
    assert_eq!(DeltaCrdt::value(&merged).len(), 1);
}
