//! History independence where claimed: ring, rendezvous and Maglev (same
//! table size) place keys by the member set alone.

use crate::util::{keys, owners, specs};
use murmura_hash::{Maglev, MaglevConfig, Membership, NodeSpec, Rendezvous, Ring, RingConfig};
use proptest::prelude::*;

/// Reaches `final_set` from `start` by joins and leaves in a shuffled order.
fn evolve<P: Membership<Node = u32>>(mut p: P, ops: &[(bool, u32)]) -> P {
    for &(join, id) in ops {
        p = if join {
            p.add(NodeSpec::new(id)).unwrap().0
        } else {
            p.remove(&id).unwrap().0
        };
    }
    p
}

/// Ops that take 0..n to {0..n} - removed + {n..n+extra}, in a seed-driven order.
fn ops(n: u32, extra: u32, removed: &[u32], order: &[usize]) -> Vec<(bool, u32)> {
    let mut ops: Vec<(bool, u32)> = removed.iter().map(|&r| (false, r)).collect();
    ops.extend((n..n + extra).map(|id| (true, id)));
    // Shuffle deterministically, keeping it valid (each id once).
    for (i, &o) in order.iter().enumerate() {
        let len = ops.len();
        if len > 1 {
            ops.swap(i % len, o % len);
        }
    }
    ops
}

fn final_set(n: u32, extra: u32, removed: &[u32]) -> Vec<NodeSpec<u32>> {
    (0..n + extra)
        .filter(|id| !removed.contains(id))
        .map(NodeSpec::new)
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10))]

    #[test]
    fn same_members_same_placement(
        n in 4u32..20,
        extra in 0u32..4,
        removed in proptest::collection::btree_set(0u32..3, 0..3),
        order in proptest::collection::vec(any::<usize>(), 0..8),
        seed: u64,
    ) {
        let removed: Vec<u32> = removed.into_iter().collect();
        let ops = ops(n, extra, &removed, &order);
        let ks = keys(1500, seed);
        let cfg = RingConfig { vnodes: 50 };

        let evolved = evolve(Ring::new(specs(n), cfg).unwrap(), &ops);
        let fresh = Ring::new(final_set(n, extra, &removed), cfg).unwrap();
        prop_assert_eq!(owners(&evolved, &ks), owners(&fresh, &ks));

        let evolved = evolve(Rendezvous::new(specs(n)).unwrap(), &ops);
        let fresh = Rendezvous::new(final_set(n, extra, &removed)).unwrap();
        prop_assert_eq!(owners(&evolved, &ks), owners(&fresh, &ks));

        let mcfg = MaglevConfig { table_size: Some(2053) };
        let evolved = evolve(Maglev::new(specs(n), mcfg).unwrap(), &ops);
        let fresh = Maglev::new(final_set(n, extra, &removed), mcfg).unwrap();
        prop_assert_eq!(owners(&evolved, &ks), owners(&fresh, &ks));
    }
}

#[test]
fn jump_is_not_history_independent_and_says_so() {
    // Documented limitation: removal order decides bucket reuse. Remove 1
    // then 2 versus 2 then 1, then add 9: the member sets agree, placements
    // need not. A fresh build from the same set is always canonical.
    let base = crate::util::jump(6);
    let a = evolve(base.clone(), &[(false, 1), (false, 2), (true, 9)]);
    let b = evolve(base, &[(false, 2), (false, 1), (true, 9)]);
    assert_eq!(a.bucket_of(&9), Some(2));
    assert_eq!(b.bucket_of(&9), Some(1));
    let f1 = murmura_hash::Jump::new(
        final_set(6, 0, &[1, 2])
            .into_iter()
            .chain([NodeSpec::new(9)]),
    )
    .unwrap();
    let f2 = murmura_hash::Jump::new([0, 9, 3, 4, 5].map(NodeSpec::new)).unwrap();
    let ks = keys(500, 3);
    assert_eq!(owners(&f1, &ks), owners(&f2, &ks));
}
