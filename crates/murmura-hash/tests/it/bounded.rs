//! Bounded loads: no node ever holds more than its capacity, through inserts,
//! releases, joins and leaves.

use crate::util::keys;
use murmura_hash::{
    BoundedLoad, BoundedLoadConfig, Error, NodeSpec, Placement, Relocation, Ring, RingConfig,
};
use proptest::prelude::*;
use std::collections::HashMap;

#[derive(Debug, Clone)]
enum Op {
    Insert(u64),
    Release(usize),
    Join(u32),
    Leave(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => any::<u64>().prop_map(Op::Insert),
        3 => any::<usize>().prop_map(Op::Release),
        1 => (100u32..200).prop_map(Op::Join),
        1 => any::<usize>().prop_map(Op::Leave),
    ]
}

fn assert_within_caps(b: &BoundedLoad<u32>, eps: f64) {
    let m = b.key_count() as f64;
    let n = b.len() as f64;
    let cap = ((1.0 + eps) * m / n).ceil() as u32;
    let peak = b.loads().iter().copied().max().unwrap_or(0);
    assert!(peak <= cap, "peak {peak} > cap {cap} (m={m}, n={n})");
    assert_eq!(
        b.loads().iter().map(|&l| l as usize).sum::<usize>(),
        b.key_count()
    );
}

fn holders(b: &BoundedLoad<u32>, keys: &[u64]) -> Vec<u32> {
    keys.iter().map(|&k| *b.holder(k).unwrap()).collect()
}

/// The relocations name exactly the keys whose holder changed, once each,
/// from the old holder to the new one.
fn check_exact(b: &BoundedLoad<u32>, keys: &[u64], before: &[u32], moves: &[Relocation<u32>]) {
    let planned: HashMap<u64, (u32, u32)> =
        moves.iter().map(|r| (r.key_hash, (r.from, r.to))).collect();
    assert_eq!(planned.len(), moves.len(), "a key is listed twice");
    for (&k, &o) in keys.iter().zip(before) {
        let now = *b.holder(k).unwrap();
        match planned.get(&k) {
            Some(&(from, to)) => assert_eq!((from, to), (o, now), "key {k:#x}"),
            None => assert_eq!(o, now, "key {k:#x} moved unlisted"),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn peak_never_exceeds_the_cap(
        n in 1u32..12,
        eps in 0.05f64..1.0,
        ops in proptest::collection::vec(op(), 1..300),
    ) {
        let cfg = BoundedLoadConfig { epsilon: eps, ring: RingConfig { vnodes: 20 } };
        let mut b = BoundedLoad::new((0..n).map(NodeSpec::new), cfg).unwrap();
        let mut placed: Vec<u64> = Vec::new();
        let mut members: Vec<u32> = (0..n).collect();
        for op in ops {
            match op {
                Op::Insert(k) => {
                    let owner = *b.insert(k).unwrap();
                    prop_assert_eq!(*b.holder(k).unwrap(), owner);
                    if !placed.contains(&k) { placed.push(k); }
                }
                Op::Release(i) if !placed.is_empty() => {
                    let k = placed.swap_remove(i % placed.len());
                    let before = holders(&b, &placed);
                    let moves = b.release(k).unwrap();
                    prop_assert!(matches!(b.holder(k), Err(Error::UnknownKey(_))));
                    check_exact(&b, &placed, &before, &moves);
                }
                Op::Join(id) if !members.contains(&id) => {
                    let before = holders(&b, &placed);
                    let moves = b.add_node(NodeSpec::new(id)).unwrap();
                    members.push(id);
                    check_exact(&b, &placed, &before, &moves);
                }
                Op::Leave(i) if members.len() > 1 => {
                    let gone = members.swap_remove(i % members.len());
                    let before = holders(&b, &placed);
                    let moves = b.remove_node(&gone).unwrap();
                    for r in &moves {
                        prop_assert_ne!(r.to, gone);
                    }
                    check_exact(&b, &placed, &before, &moves);
                }
                _ => {}
            }
            assert_within_caps(&b, eps);
            for &k in &placed {
                prop_assert!(members.contains(b.holder(k).unwrap()));
            }
        }
    }
}

#[test]
fn bounded_load_rejects_bad_epsilon_and_unknown_keys() {
    for eps in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        let cfg = BoundedLoadConfig {
            epsilon: eps,
            ..Default::default()
        };
        assert!(matches!(
            BoundedLoad::new([NodeSpec::new(1u32)], cfg),
            Err(Error::InvalidConfig(_))
        ));
    }
    let mut b = BoundedLoad::new([NodeSpec::new(1u32)], BoundedLoadConfig::default()).unwrap();
    assert_eq!(b.release(5), Err(Error::UnknownKey(5)));
    let mut empty = BoundedLoad::<u32>::new([], BoundedLoadConfig::default()).unwrap();
    assert_eq!(empty.insert(1).unwrap_err(), Error::EmptyRing);
}

/// Places `keys` on `n` nodes (100 vnodes, epsilon 0.25), joins node `n`,
/// and checks the relocation list against the holders before and after.
/// Returns (relocations, keys now on the new node, keys whose first choice
/// on the new ring is the new node).
fn join_and_check(n: u32, keys: &[u64]) -> (Vec<Relocation<u32>>, usize, usize) {
    let cfg = BoundedLoadConfig {
        epsilon: 0.25,
        ring: RingConfig { vnodes: 100 },
    };
    let mut b = BoundedLoad::new((0..n).map(NodeSpec::new), cfg).unwrap();
    for &k in keys {
        b.insert(k).unwrap();
    }
    let before: Vec<u32> = keys.iter().map(|&k| *b.holder(k).unwrap()).collect();
    let moves = b.add_node(NodeSpec::new(n)).unwrap();
    assert_within_caps(&b, 0.25);
    let after: Vec<u32> = keys.iter().map(|&k| *b.holder(k).unwrap()).collect();
    // The plan says exactly what moved: each moved key once, old holder to
    // new holder, and nothing else.
    let planned: HashMap<u64, (u32, u32)> =
        moves.iter().map(|r| (r.key_hash, (r.from, r.to))).collect();
    assert_eq!(planned.len(), moves.len(), "a key is listed twice");
    for ((&k, &o), &a) in keys.iter().zip(&before).zip(&after) {
        match planned.get(&k) {
            Some(&(from, to)) => assert_eq!((from, to), (o, a), "key {k:#x}"),
            None => assert_eq!(o, a, "key {k:#x} moved unlisted"),
        }
    }
    let ring = Ring::new((0..=n).map(NodeSpec::new), RingConfig { vnodes: 100 }).unwrap();
    let first_choice = keys
        .iter()
        .filter(|&&k| *ring.owner(k).unwrap() == n)
        .count();
    let on_new = after.iter().filter(|&&a| a == n).count();
    (moves, on_new, first_choice)
}

/// The reproduction (issue 13, point 7): with 10 nodes a join moved 1.1 % of
/// keys, most of them onto old nodes; with 100 nodes the new node got none.
/// A join must give the new node the keys whose first choice it now is, and
/// move keys between old nodes only as the shrunken capacities require.
#[test]
fn a_join_moves_the_new_nodes_first_choice_keys_onto_it() {
    for (n, per_node) in [(10u32, 3_000usize), (100, 300)] {
        let keys = keys(n as usize * per_node, u64::from(n));
        let (moves, on_new, first_choice) = join_and_check(n, &keys);
        let m = keys.len() as f64;
        let fair = m / f64::from(n + 1);
        // Its first-choice keys fit under its capacity, so all of them come.
        assert!(
            on_new >= first_choice,
            "n={n}: {on_new} of {first_choice} first-choice keys"
        );
        assert!(
            on_new as f64 >= 0.6 * fair,
            "n={n}: new node got {on_new}, fair {fair:.0}"
        );
        assert!(
            on_new as f64 <= (1.25 * fair).ceil(),
            "n={n}: new node over its cap"
        );
        let onto_old = moves.iter().filter(|r| r.to != n).count();
        assert!(
            (onto_old as f64) < 0.25 * on_new as f64,
            "n={n}: {onto_old} keys moved between old nodes, {on_new} onto the new one"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Joins at any size and epsilon: the plan is exact, the bound holds,
    /// and the new node receives keys whenever it is some key's first choice.
    #[test]
    fn joins_move_keys_onto_the_new_node_and_plans_are_exact(
        n in 1u32..30,
        eps in 0.05f64..1.0,
        count in 1usize..2_000,
        seed: u64,
    ) {
        let cfg = BoundedLoadConfig { epsilon: eps, ring: RingConfig { vnodes: 20 } };
        let mut b = BoundedLoad::new((0..n).map(NodeSpec::new), cfg).unwrap();
        let ks = keys(count, seed);
        for &k in &ks {
            b.insert(k).unwrap();
        }
        let before: Vec<u32> = ks.iter().map(|&k| *b.holder(k).unwrap()).collect();
        let moves = b.add_node(NodeSpec::new(1_000)).unwrap();
        assert_within_caps(&b, eps);
        let planned: HashMap<u64, (u32, u32)> =
            moves.iter().map(|r| (r.key_hash, (r.from, r.to))).collect();
        prop_assert_eq!(planned.len(), moves.len());
        let ring = Ring::new((0..n).chain([1_000]).map(NodeSpec::new), cfg.ring).unwrap();
        let mut first_choice = 0usize;
        for (&k, &o) in ks.iter().zip(&before) {
            let a = *b.holder(k).unwrap();
            match planned.get(&k) {
                Some(&(from, to)) => prop_assert_eq!((from, to), (o, a)),
                None => prop_assert_eq!(o, a),
            }
            first_choice += usize::from(*ring.owner(k).unwrap() == 1_000);
        }
        let on_new = b.loads()[b.roster().index_of(&1_000).unwrap() as usize] as usize;
        let cap = ((1.0 + eps) * count as f64 / f64::from(n + 1)).ceil() as usize;
        prop_assert!(on_new >= first_choice.min(cap), "{} < min({}, {})", on_new, first_choice, cap);
    }
}

/// `BoundedLoad` is a `Membership` (issue 13, point 11): `add`/`remove` leave
/// `self` alone and return a plan that lists exactly the moved keys.
#[test]
fn bounded_load_is_a_membership_with_exact_plans() {
    use murmura_hash::{Keys, Membership, SharedPlacement};
    let mut b =
        BoundedLoad::new((0u32..6).map(NodeSpec::new), BoundedLoadConfig::default()).unwrap();
    let ks = keys(3_000, 5);
    for &k in &ks {
        b.insert(k).unwrap();
    }
    let (joined, plan) = b.add(NodeSpec::new(6)).unwrap();
    assert_eq!(b.len(), 6);
    assert_eq!(joined.len(), 7);
    let mut in_place = b.clone();
    let moves = in_place.add_node(NodeSpec::new(6)).unwrap();
    let listed: usize = plan
        .transfers
        .iter()
        .map(|t| match &t.keys {
            Keys::Listed(keys) => keys.len(),
            other => panic!("{other:?}"),
        })
        .sum();
    assert_eq!(listed, moves.len());
    assert!(!moves.is_empty());
    for &k in &ks {
        let (old, new) = (*b.holder(k).unwrap(), *joined.holder(k).unwrap());
        match plan.transfer_of(k) {
            Some(t) => assert_eq!((t.from, t.to), (old, new)),
            None => assert_eq!(old, new),
        }
        assert_eq!(
            plan.destination(k, &old, &joined).copied(),
            (old != new).then_some(new)
        );
    }
    let (left, plan) = joined.remove(&2).unwrap();
    for &k in &ks {
        let (old, new) = (*joined.holder(k).unwrap(), *left.holder(k).unwrap());
        assert_ne!(new, 2);
        assert_eq!(
            plan.transfer_of(k).map(|t| (t.from, t.to)),
            (old != new).then_some((old, new))
        );
    }
    let shared = SharedPlacement::new(left);
    let (plan, published) = shared.add_published(NodeSpec::new(2)).unwrap();
    assert_eq!(published.len(), 7);
    assert!(plan.transfers.iter().any(|t| t.to == 2));
}
