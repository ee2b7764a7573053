//! Weights give proportional shares.

use crate::util::keys;
use murmura_hash::{Maglev, MaglevConfig, NodeSpec, Placement, Rendezvous, Ring, RingConfig};

fn weighted() -> Vec<NodeSpec<u32>> {
    vec![
        NodeSpec::new(0).with_weight(1.0),
        NodeSpec::new(1).with_weight(2.0),
        NodeSpec::new(2).with_weight(4.0),
        NodeSpec::new(3).with_weight(0.5),
    ]
}

fn assert_proportional<P: Placement<Node = u32>>(p: &P, tolerance: f64) {
    let ks = keys(40_000, 77);
    let mut counts = [0f64; 4];
    for &k in &ks {
        counts[*p.owner(k).unwrap() as usize] += 1.0;
    }
    let total: f64 = 7.5;
    for (i, spec) in weighted().iter().enumerate() {
        let expected = spec.weight / total;
        let got = counts[i] / ks.len() as f64;
        assert!(
            (got - expected).abs() <= expected * tolerance,
            "node {i}: share {got:.4}, expected {expected:.4}"
        );
    }
}

#[test]
fn ring_weights_are_proportional() {
    assert_proportional(
        &Ring::new(weighted(), RingConfig { vnodes: 400 }).unwrap(),
        0.15,
    );
}

#[test]
fn rendezvous_weights_are_proportional() {
    assert_proportional(&Rendezvous::new(weighted()).unwrap(), 0.06);
}

#[test]
fn maglev_weights_are_proportional() {
    let m = Maglev::new(weighted(), MaglevConfig::default()).unwrap();
    assert_proportional(&m, 0.06);
    let slots = m.slot_counts();
    let size = f64::from(m.table_size());
    assert!(
        (f64::from(slots[2]) / size - 4.0 / 7.5).abs() < 0.01,
        "{slots:?}"
    );
}
