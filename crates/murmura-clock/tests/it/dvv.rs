//! DVVSets against the plain dot semantics they compress: each sibling is a
//! (dot, value) pair, each replica a set of siblings plus a set of seen dots.

use murmura_clock::{Dot, DvvSet, VersionVector};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

const REPLICAS: usize = 3;

#[derive(Debug, Clone, Default, PartialEq)]
struct Model {
    siblings: BTreeMap<(u64, u64), u64>,
    history: BTreeSet<(u64, u64)>,
}

impl Model {
    fn update(&mut self, context: &BTreeSet<(u64, u64)>, actor: u64, value: u64) {
        self.history.extend(context.iter().copied());
        self.siblings.retain(|dot, _| !context.contains(dot));
        let next = self
            .history
            .iter()
            .filter(|(a, _)| *a == actor)
            .map(|(_, n)| *n)
            .max()
            .unwrap_or(0)
            + 1;
        self.history.insert((actor, next));
        self.siblings.insert((actor, next), value);
    }

    fn sync(&mut self, other: &Model) {
        let mut siblings = BTreeMap::new();
        for (dot, v) in &self.siblings {
            if !other.history.contains(dot) || other.siblings.contains_key(dot) {
                siblings.insert(*dot, *v);
            }
        }
        for (dot, v) in &other.siblings {
            if !self.history.contains(dot) || self.siblings.contains_key(dot) {
                siblings.insert(*dot, *v);
            }
        }
        self.siblings = siblings;
        self.history.extend(other.history.iter().copied());
    }
}

fn all_dots(vv: &VersionVector<u64>) -> BTreeSet<(u64, u64)> {
    vv.all_dots().map(|d| (d.actor, d.counter)).collect()
}

fn siblings(set: &DvvSet<u64, u64>) -> BTreeMap<(u64, u64), u64> {
    set.dotted_values()
        .map(|(d, v)| ((d.actor, d.counter), *v))
        .collect()
}

#[derive(Debug, Clone)]
enum Op {
    /// Replica `at` stores a value from a client that read replica `read_from`.
    Put { at: usize, read_from: usize },
    /// Replica `at` stores a value from a client that read nothing.
    BlindPut { at: usize },
    /// Replica `into` pulls replica `from`'s state.
    Sync { into: usize, from: usize },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..REPLICAS, 0..REPLICAS).prop_map(|(at, read_from)| Op::Put { at, read_from }),
        (0..REPLICAS).prop_map(|at| Op::BlindPut { at }),
        (0..REPLICAS, 0..REPLICAS).prop_map(|(into, from)| Op::Sync { into, from }),
    ]
}

fn run(ops: &[Op]) -> Result<Vec<DvvSet<u64, u64>>, TestCaseError> {
    let mut sets = vec![DvvSet::<u64, u64>::new(); REPLICAS];
    let mut models = vec![Model::default(); REPLICAS];
    for (value, op) in ops.iter().enumerate() {
        let value = value as u64;
        match *op {
            Op::Put { at, read_from } => {
                let ctx = sets[read_from].join();
                prop_assert_eq!(all_dots(&ctx), models[read_from].history.clone());
                let dot = sets[at].update(&ctx, at as u64, value);
                let model_ctx = models[read_from].history.clone();
                models[at].update(&model_ctx, at as u64, value);
                prop_assert!(models[at].siblings.get(&(dot.actor, dot.counter)) == Some(&value));
            }
            Op::BlindPut { at } => {
                sets[at].update(&VersionVector::new(), at as u64, value);
                models[at].update(&BTreeSet::new(), at as u64, value);
            }
            Op::Sync { into, from } => {
                let other = sets[from].clone();
                sets[into].sync(&other);
                let other = models[from].clone();
                models[into].sync(&other);
            }
        }
        for (set, model) in sets.iter().zip(&models) {
            prop_assert_eq!(siblings(set), model.siblings.clone());
            prop_assert_eq!(all_dots(&set.join()), model.history.clone());
            prop_assert_eq!(set.len(), model.siblings.len());
        }
    }
    Ok(sets)
}

#[test]
fn concurrent_writes_become_siblings_and_a_read_write_resolves_them() {
    let mut r1: DvvSet<u64, &str> = DvvSet::new();
    let mut r2 = r1.clone();
    r1.update(&VersionVector::new(), 1, "a");
    r2.update(&VersionVector::new(), 2, "b");
    r1.sync(&r2);
    assert_eq!(r1.len(), 2);
    let ctx = r1.join();
    let dot = r2.update(&ctx, 2, "a+b");
    assert_eq!(dot, Dot::new(2, 2));
    r1.sync(&r2);
    assert_eq!(r1.values().collect::<Vec<_>>(), [&"a+b"]);
    assert_eq!(r1, r2);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn dvvset_matches_the_dot_model(ops in prop::collection::vec(op(), 0..60)) {
        run(&ops)?;
    }

    #[test]
    fn sync_is_commutative_associative_idempotent(ops in prop::collection::vec(op(), 0..40)) {
        let sets = run(&ops)?;
        let (a, b, c) = (&sets[0], &sets[1], &sets[2]);
        let mut ab = a.clone();
        ab.sync(b);
        let mut ba = b.clone();
        ba.sync(a);
        prop_assert_eq!(siblings(&ab), siblings(&ba));
        prop_assert_eq!(ab.join(), ba.join());
        let mut ab_c = ab.clone();
        ab_c.sync(c);
        let mut bc = b.clone();
        bc.sync(c);
        let mut a_bc = a.clone();
        a_bc.sync(&bc);
        prop_assert_eq!(siblings(&ab_c), siblings(&a_bc));
        let mut aa = a.clone();
        aa.sync(a);
        prop_assert_eq!(&aa, a);
    }

    #[test]
    fn encoding_round_trips(ops in prop::collection::vec(op(), 0..40)) {
        for set in run(&ops)? {
            prop_assert_eq!(DvvSet::<u64, u64>::decode(&set.to_bytes()), Ok(set.clone()));
            // The same history with string replicas and byte values.
            let mut named = DvvSet::<String, Vec<u8>>::new();
            for (dot, v) in set.dotted_values() {
                named.update(&VersionVector::new(), format!("r{}", dot.actor), v.to_le_bytes().to_vec());
            }
            let decoded = DvvSet::<String, Vec<u8>>::decode(&named.to_bytes());
            prop_assert_eq!(decoded.as_ref().map(DvvSet::len), Ok(set.len()));
            prop_assert_eq!(decoded, Ok(named));
        }
    }

    #[test]
    fn decode_never_panics_on_garbage(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        if let Ok(set) = DvvSet::<u64, u64>::decode(&bytes) {
            prop_assert_eq!(set.to_bytes(), bytes.clone());
        }
        let _ = DvvSet::<String, Vec<u8>>::decode(&bytes);
    }
}
