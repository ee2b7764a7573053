//! Minimal disruption: adding a node moves keys only onto it (about
//! 1/(n+1) of them); removing a node moves only its keys; move plans say
//! exactly which keys move, from whom to whom.

use crate::util::{hrw, jump, keys, maglev, owners, ring};
use murmura_hash::{Keys, Membership, MovePlan, NodeSpec, Placement};
use proptest::prelude::*;

/// Checks a join of node `new` into `before`; returns the fraction moved.
fn check_join<P: Membership<Node = u32>>(before: &P, new: u32, keys: &[u64]) -> f64 {
    let (after, plan) = before.add(NodeSpec::new(new)).unwrap();
    let (old, now) = (owners(before, keys), owners(&after, keys));
    let mut moved = 0;
    for ((&k, &o), &n) in keys.iter().zip(&old).zip(&now) {
        if o != n {
            assert_eq!(n, new, "key {k:#x} moved between old nodes {o} -> {n}");
            moved += 1;
        }
        check_plan_covers(&plan, k, o, n);
    }
    moved as f64 / keys.len() as f64
}

/// Checks that removing `gone` moves only its keys; returns the fraction moved.
fn check_leave<P: Membership<Node = u32>>(before: &P, gone: u32, keys: &[u64]) -> f64 {
    let (after, plan) = before.remove(&gone).unwrap();
    let (old, now) = (owners(before, keys), owners(&after, keys));
    let mut moved = 0;
    for ((&k, &o), &n) in keys.iter().zip(&old).zip(&now) {
        assert_ne!(n, gone);
        if o != n {
            assert_eq!(o, gone, "key {k:#x} of surviving node {o} moved to {n}");
            moved += 1;
        }
        check_plan_covers(&plan, k, o, n);
    }
    moved as f64 / keys.len() as f64
}

/// The plan covers exactly the keys that changed owner, with the right ends.
fn check_plan_covers(plan: &MovePlan<u32>, key: u64, old: u32, new: u32) {
    let exact = plan
        .transfers
        .iter()
        .all(|t| !matches!(t.keys, Keys::Reassigned));
    if exact {
        match plan.transfer_of(key) {
            Some(t) => assert_eq!((t.from, t.to), (old, new), "key {key:#x}"),
            None => assert_eq!(old, new, "key {key:#x} moved but no transfer covers it"),
        }
    } else if old != new {
        assert!(
            plan.transfers.iter().any(|t| t.from == old && t.to == new),
            "no transfer {old} -> {new}"
        );
    }
}

/// Binomial noise plus the algorithm's own spread.
fn near(fraction: f64, ideal: f64, keys: usize, slack: f64) -> bool {
    let noise = 4.0 * (ideal * (1.0 - ideal) / keys as f64).sqrt();
    (fraction - ideal).abs() <= ideal * slack + noise
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn ring_join_and_leave_are_minimal(n in 2u32..40, seed: u64, pick: u32) {
        let ks = keys(3000, seed);
        let r = ring(n);
        let frac = check_join(&r, n, &ks);
        // 100 vnodes give a node's share a relative spread of about 10%.
        prop_assert!(near(frac, 1.0 / f64::from(n + 1), ks.len(), 0.5), "{frac}");
        check_leave(&r, pick % n, &ks);
    }

    #[test]
    fn jump_join_and_leave_are_minimal(n in 2u32..40, seed: u64, picks in proptest::collection::vec(any::<u32>(), 1..5)) {
        let ks = keys(3000, seed);
        let mut j = jump(n);
        let frac = check_join(&j, n, &ks);
        prop_assert!(near(frac, 1.0 / f64::from(n + 1), ks.len(), 0.0), "{frac}");
        // Remove several nodes in arbitrary order, then join new ones.
        let mut members: Vec<u32> = (0..n).collect();
        for p in picks {
            if members.len() < 2 { break; }
            let gone = members.remove(p as usize % members.len());
            let frac = check_leave(&j, gone, &ks);
            let ideal = 1.0 / (members.len() + 1) as f64;
            prop_assert!(near(frac, ideal, ks.len(), 0.0), "leave {frac} vs {ideal}");
            j = j.remove(&gone).unwrap().0;
        }
        check_join(&j, 1000, &ks);
    }

    #[test]
    fn rendezvous_join_and_leave_are_minimal(n in 2u32..30, seed: u64, pick: u32) {
        let ks = keys(2000, seed);
        let h = hrw(n);
        let frac = check_join(&h, n, &ks);
        prop_assert!(near(frac, 1.0 / f64::from(n + 1), ks.len(), 0.0), "{frac}");
        check_leave(&h, pick % n, &ks);
    }

    #[test]
    fn maglev_plans_are_exact_and_churn_is_small(n in 2u32..40, seed: u64, pick: u32) {
        let ks = keys(3000, seed);
        let m = maglev(n);
        for (after, plan) in [m.add(NodeSpec::new(n)).unwrap(), m.remove(&(pick % n)).unwrap()] {
            let (old, now) = (owners(&m, &ks), owners(&after, &ks));
            let mut moved = 0usize;
            for ((&k, &o), &w) in ks.iter().zip(&old).zip(&now) {
                check_plan_covers(&plan, k, o, w);
                moved += usize::from(o != w);
            }
            // Maglev is not minimal, but its churn stays a small multiple of
            // the ideal 1/(n+1).
            let frac = moved as f64 / ks.len() as f64;
            prop_assert!(frac <= 3.0 / f64::from(n) + 0.02, "moved {frac}");
        }
    }
}

#[test]
fn removing_the_last_member_leaves_an_empty_placement() {
    let r = ring(1);
    let (empty, plan) = r.remove(&0).unwrap();
    assert!(plan.is_empty());
    assert!(empty.is_empty());
    assert!(empty.owner(1).is_err());
    let (back, _) = empty.add(NodeSpec::new(5)).unwrap();
    assert_eq!(*back.owner(1).unwrap(), 5);
    let (j, _) = jump(1).remove(&0).unwrap();
    assert!(j.owner(1).is_err());
    let (j, _) = j.add(NodeSpec::new(9)).unwrap();
    assert_eq!(*j.owner(1).unwrap(), 9);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Growing the bucket count by one moves a key only onto the new bucket,
    /// at any size (including across powers of two).
    #[test]
    fn jump_bucket_is_monotone_at_any_size(key: u64, n in 1u32..5_000_000) {
        let before = murmura_hash::jump_bucket(key, n);
        prop_assert!(before < n);
        let after = murmura_hash::jump_bucket(key, n + 1);
        prop_assert!(after == before || after == n, "{before} -> {after} at n={n}");
    }
}
