//! Tiny weights: every member stays reachable by replica iteration, however
//! small its weight (issue 13, point 6).

use crate::util::keys;
use murmura_hash::{
    BoundedLoad, BoundedLoadConfig, Maglev, MaglevConfig, NodeSpec, Placement, Rendezvous, Ring,
    RingConfig,
};
use proptest::prelude::*;
use std::collections::HashSet;

/// The reproduction: weights 1, 1 and 0.001 left the light node without a
/// slot, so `replicas(key, 3)` stopped after two nodes.
#[test]
fn maglev_light_node_gets_a_slot_and_replicas_reach_it() {
    let m = Maglev::new(
        [
            NodeSpec::new(0u32),
            NodeSpec::new(1u32),
            NodeSpec::new(2u32).with_weight(0.001),
        ],
        MaglevConfig::default(),
    )
    .unwrap();
    let slots = m.slot_counts();
    assert!(slots.iter().all(|&s| s >= 1), "{slots:?}");
    assert_eq!(slots.iter().sum::<u32>(), m.table_size());
    for k in keys(500, 1) {
        assert_eq!(m.replicas(k, 3).unwrap().count(), 3);
        assert_eq!(m.zoned_replicas(k, 3).unwrap().count(), 3);
    }
}

/// Each algorithm's probe, on its own, visits every member (the rule in
/// `Placement`), so replica sets never come up short.
fn probe_covers_everyone<P: Placement<Node = u32>>(p: &P, ks: &[u64]) {
    for &k in ks {
        let seen: HashSet<u32> = p.probe(k).collect();
        assert_eq!(seen.len(), p.len(), "probe of {k:#x} missed members");
        let all: HashSet<u32> = p.replicas(k, p.len()).unwrap().copied().collect();
        assert_eq!(all.len(), p.len());
        let spread: HashSet<u32> = p.zoned_replicas(k, p.len()).unwrap().copied().collect();
        assert_eq!(spread.len(), p.len());
    }
}

fn weight() -> impl Strategy<Value = f64> {
    prop_oneof![
        3 => 0.5f64..4.0,
        1 => 1e-9f64..1e-2,
        1 => Just(f64::MIN_POSITIVE),
        1 => Just(5e-324), // the smallest subnormal
        1 => 1e3f64..1e6,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn replica_iteration_reaches_every_member_whatever_its_weight(
        weights in proptest::collection::vec(weight(), 1..12),
        zones in 1u32..4,
        seed: u64,
    ) {
        let specs: Vec<NodeSpec<u32>> = weights
            .iter()
            .enumerate()
            .map(|(i, &w)| NodeSpec::new(i as u32).with_weight(w).in_zone(format!("z{}", i as u32 % zones)))
            .collect();
        let ks = keys(40, seed);
        let maglev = Maglev::new(specs.clone(), MaglevConfig::default()).unwrap();
        prop_assert!(maglev.slot_counts().iter().all(|&s| s >= 1), "{:?}", maglev.slot_counts());
        probe_covers_everyone(&maglev, &ks);
        let small = Maglev::new(specs.clone(), MaglevConfig { table_size: Some(13) }).unwrap();
        prop_assert!(small.slot_counts().iter().all(|&s| s >= 1));
        probe_covers_everyone(&small, &ks);
        // Rings cap points, so keep huge weights away from them.
        if weights.iter().all(|&w| w < 1e4) {
            let ring = Ring::new(specs.clone(), RingConfig { vnodes: 8 }).unwrap();
            probe_covers_everyone(&ring, &ks);
            let mut b = BoundedLoad::new(specs.clone(), BoundedLoadConfig {
                epsilon: 0.25, ring: RingConfig { vnodes: 8 },
            }).unwrap();
            for &k in &ks[..20] {
                b.insert(k).unwrap();
            }
            probe_covers_everyone(&b, &ks);
        }
        probe_covers_everyone(&Rendezvous::new(specs).unwrap(), &ks);
    }
}
