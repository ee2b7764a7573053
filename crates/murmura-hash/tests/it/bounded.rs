//! Bounded loads: no node ever holds more than its capacity, through inserts,
//! releases, joins and leaves.

use murmura_hash::{BoundedLoad, BoundedLoadConfig, Error, NodeSpec, Placement, RingConfig};
use proptest::prelude::*;

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
                    b.release(k).unwrap();
                    prop_assert!(matches!(b.holder(k), Err(Error::UnknownKey(_))));
                }
                Op::Join(id) if !members.contains(&id) => {
                    b.add_node(NodeSpec::new(id)).unwrap();
                    members.push(id);
                }
                Op::Leave(i) if members.len() > 1 => {
                    let gone = members.swap_remove(i % members.len());
                    for r in b.remove_node(&gone).unwrap() {
                        prop_assert_ne!(r.to, gone);
                    }
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
