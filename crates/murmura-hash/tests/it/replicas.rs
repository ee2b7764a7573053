//! Replica sets: distinct, owner first, zone-spread when zones allow.

use crate::util::keys;
use murmura_hash::{
    BoundedLoad, BoundedLoadConfig, Jump, Maglev, MaglevConfig, NodeSpec, Placement, Rendezvous,
    Ring, RingConfig,
};
use proptest::prelude::*;
use std::collections::HashSet;

fn zoned(n: u32, zones: u32) -> Vec<NodeSpec<u32>> {
    (0..n)
        .map(|i| NodeSpec::new(i).in_zone(format!("z{}", i % zones)))
        .collect()
}

fn check<P: Placement<Node = u32>>(p: &P, ks: &[u64], r: usize, zones: u32) {
    for &k in ks {
        let plain: Vec<u32> = p.replicas(k, r).unwrap().copied().collect();
        assert_eq!(plain.len(), r);
        assert_eq!(plain[0], *p.owner(k).unwrap());
        assert_eq!(plain.iter().collect::<HashSet<_>>().len(), r, "{plain:?}");

        let spread: Vec<u32> = p.zoned_replicas(k, r).unwrap().copied().collect();
        assert_eq!(spread.len(), r);
        assert_eq!(spread[0], plain[0]);
        assert_eq!(spread.iter().collect::<HashSet<_>>().len(), r);
        let distinct_zones = spread
            .iter()
            .map(|i| i % zones)
            .collect::<HashSet<_>>()
            .len();
        assert_eq!(distinct_zones, r.min(zones as usize), "{spread:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10))]

    #[test]
    fn every_algorithm_gives_distinct_zone_spread_replicas(
        n in 1u32..30, zones in 1u32..6, r in 1usize..6, seed: u64,
    ) {
        let r = r.min(n as usize);
        let ks = keys(100, seed);
        let specs = zoned(n, zones);
        let zones = zones.min(n);
        check(&Ring::new(specs.clone(), RingConfig { vnodes: 20 }).unwrap(), &ks, r, zones);
        check(&Jump::new(specs.clone()).unwrap(), &ks, r, zones);
        check(&Rendezvous::new(specs.clone()).unwrap(), &ks, r, zones);
        check(&Maglev::new(specs.clone(), MaglevConfig::default()).unwrap(), &ks, r, zones);
        let mut b = BoundedLoad::new(specs, BoundedLoadConfig::default()).unwrap();
        for &k in &ks[..50] {
            b.insert(k).unwrap();
        }
        check(&b, &ks, r, zones);
    }
}

#[test]
fn zoneless_nodes_count_as_their_own_zone() {
    let ring = Ring::new(
        [
            NodeSpec::new(0u32).in_zone("a"),
            NodeSpec::new(1).in_zone("a"),
            NodeSpec::new(2),
        ],
        RingConfig::default(),
    )
    .unwrap();
    for k in keys(200, 9) {
        let spread: HashSet<u32> = ring.zoned_replicas(k, 2).unwrap().copied().collect();
        assert!(spread.contains(&2), "{spread:?}");
    }
}

#[test]
fn replica_iterator_reports_its_length() {
    let hrw = Rendezvous::new((0u32..5).map(NodeSpec::new)).unwrap();
    let mut it = hrw.replicas(7, 3).unwrap();
    assert_eq!(it.len(), 3);
    it.next();
    assert_eq!(it.len(), 2);
    assert_eq!(it.by_ref().count(), 2);
    assert_eq!(it.next(), None);
}

#[test]
fn more_than_eight_replicas_spill_and_stay_distinct() {
    let ring = Ring::new(zoned(30, 4), RingConfig { vnodes: 10 }).unwrap();
    for k in keys(50, 4) {
        let all: Vec<u32> = ring.replicas(k, 30).unwrap().copied().collect();
        assert_eq!(all.iter().collect::<HashSet<_>>().len(), 30);
        let spread: Vec<u32> = ring.zoned_replicas(k, 20).unwrap().copied().collect();
        assert_eq!(spread.iter().collect::<HashSet<_>>().len(), 20);
        assert_eq!(
            spread[..4]
                .iter()
                .map(|i| i % 4)
                .collect::<HashSet<_>>()
                .len(),
            4
        );
    }
}

/// A placement whose probe breaks the rule (it stops after the owner) still
/// gets full replica sets: the iterator falls back to the unseen members.
#[test]
fn a_short_probe_still_gives_full_replica_sets() {
    use murmura_hash::Roster;
    struct OwnerOnly(Roster<u32>);
    impl Placement for OwnerOnly {
        type Node = u32;
        type Probe<'a> = std::iter::Once<u32>;
        fn roster(&self) -> &Roster<u32> {
            &self.0
        }
        fn owner_index(&self, _: u64) -> Option<u32> {
            Some(2)
        }
        fn probe(&self, _: u64) -> Self::Probe<'_> {
            std::iter::once(2)
        }
    }
    let p = OwnerOnly(Roster::new((0u32..4).map(NodeSpec::new)).unwrap());
    let all: Vec<u32> = p.replicas(1, 4).unwrap().copied().collect();
    assert_eq!(all, [2, 0, 1, 3]);
    let spread: Vec<u32> = p.zoned_replicas(1, 3).unwrap().copied().collect();
    assert_eq!(spread, [2, 0, 1]);
}
