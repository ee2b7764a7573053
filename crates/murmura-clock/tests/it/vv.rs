//! Version vectors: partial-order and lattice laws against a map model.

use murmura_clock::{ActorCodec, Causality, Dot, VersionVector};
use proptest::prelude::*;
use std::collections::BTreeMap;

type Model = BTreeMap<u64, u64>;

fn model(v: &VersionVector<u64>) -> Model {
    v.iter().map(|(a, c)| (*a, c)).collect()
}

fn model_leq(a: &Model, b: &Model) -> bool {
    a.iter().all(|(k, v)| b.get(k).copied().unwrap_or(0) >= *v)
}

fn model_max(a: &Model, b: &Model) -> Model {
    let mut out = a.clone();
    for (k, v) in b {
        let e = out.entry(*k).or_insert(0);
        *e = (*e).max(*v);
    }
    out
}

/// Few actors and small counters so equal, ordered and concurrent pairs are all common.
fn vv_small() -> impl Strategy<Value = VersionVector<u64>> {
    prop::collection::vec((0u64..6, 0u64..4), 0..8).prop_map(|p| p.into_iter().collect())
}

/// Wide vectors that exercise the lockstep and mismatch paths.
fn vv_wide() -> impl Strategy<Value = VersionVector<u64>> {
    prop::collection::vec((0u64..200, 1u64..1_000_000), 0..120)
        .prop_map(|p| p.into_iter().collect())
}

fn any_vv() -> impl Strategy<Value = VersionVector<u64>> {
    prop_oneof![vv_small(), vv_wide()]
}

#[test]
fn replicas_exchanging_clocks_order_their_events() {
    let mut a = VersionVector::new();
    let mut b = VersionVector::new();
    let first = a.increment(1u64);
    b.apply(&first);
    let second = b.increment(2u64);
    assert_eq!(a.causality(&b), Causality::Before);
    assert!(b.contains(&first) && b.contains(&second));
    assert!(!a.contains(&second));
    a.increment(1);
    assert_eq!(a.causality(&b), Causality::Concurrent);
    let mut joined = a.clone();
    joined.merge(&b);
    assert!(joined.dominates(&a) && joined.dominates(&b));
    assert_eq!(
        joined.dots().collect::<Vec<_>>(),
        [Dot::new(1, 2), Dot::new(2, 1)]
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn causality_matches_pointwise_model(a in any_vv(), b in any_vv()) {
        let (ma, mb) = (model(&a), model(&b));
        let expected = match (model_leq(&ma, &mb), model_leq(&mb, &ma)) {
            (true, true) => Causality::Equal,
            (true, false) => Causality::Before,
            (false, true) => Causality::After,
            (false, false) => Causality::Concurrent,
        };
        prop_assert_eq!(a.causality(&b), expected);
        prop_assert_eq!(b.causality(&a), expected.reverse());
        prop_assert_eq!(a.dominates(&b), model_leq(&mb, &ma));
        prop_assert_eq!(a.partial_cmp(&b), expected.to_ordering());
        prop_assert_eq!(a == b, expected == Causality::Equal);
    }

    #[test]
    fn order_is_reflexive_and_antisymmetric(a in any_vv(), b in any_vv()) {
        prop_assert_eq!(a.causality(&a), Causality::Equal);
        prop_assert!(a <= a && a.dominates(&a));
        if a <= b && b <= a {
            prop_assert_eq!(&a, &b);
        }
    }

    #[test]
    fn order_is_transitive(a in any_vv(), x in any_vv(), y in any_vv(), c in any_vv()) {
        // Build a guaranteed chain a <= b <= d, plus a random third for the general case.
        let mut b = a.clone();
        b.merge(&x);
        let mut d = b.clone();
        d.merge(&y);
        prop_assert!(a <= b && b <= d && a <= d);
        if a <= x && x <= c {
            prop_assert!(a <= c);
        }
    }

    #[test]
    fn merge_is_the_least_upper_bound(a in any_vv(), b in any_vv(), c in any_vv()) {
        let mut ab = a.clone();
        ab.merge(&b);
        prop_assert_eq!(model(&ab), model_max(&model(&a), &model(&b)));
        prop_assert!(ab.dominates(&a) && ab.dominates(&b));
        let mut ba = b.clone();
        ba.merge(&a);
        prop_assert_eq!(&ab, &ba);
        let mut ab_c = ab.clone();
        ab_c.merge(&c);
        let mut bc = b.clone();
        bc.merge(&c);
        let mut a_bc = a.clone();
        a_bc.merge(&bc);
        prop_assert_eq!(&ab_c, &a_bc);
        let mut aa = a.clone();
        aa.merge(&a);
        prop_assert_eq!(&aa, &a);
        // Least: any upper bound of both is above the merge.
        if c.dominates(&a) && c.dominates(&b) {
            prop_assert!(c.dominates(&ab));
        }
        // Invariant: sorted, no zero entries.
        prop_assert!(ab.as_slice().windows(2).all(|w| w[0].0 < w[1].0));
        prop_assert!(ab.iter().all(|(_, c)| c > 0));
    }

    #[test]
    fn meet_is_the_greatest_lower_bound(a in any_vv(), b in any_vv()) {
        let mut m = a.clone();
        m.meet(&b);
        prop_assert!(a.dominates(&m) && b.dominates(&m));
        for (actor, c) in m.iter() {
            prop_assert_eq!(c, a.get(actor).min(b.get(actor)));
        }
        for (actor, _) in a.iter() {
            prop_assert_eq!(m.get(actor), a.get(actor).min(b.get(actor)));
        }
    }

    #[test]
    fn increment_apply_remove_follow_the_model(ops in prop::collection::vec((0u8..3, 0u64..8, 1u64..20), 0..60)) {
        let mut v = VersionVector::new();
        let mut m = Model::new();
        for (op, actor, n) in ops {
            match op {
                0 => {
                    let dot = v.increment(actor);
                    let e = m.entry(actor).or_insert(0);
                    *e += 1;
                    prop_assert_eq!(dot, Dot::new(actor, *e));
                }
                1 => {
                    v.apply(&Dot::new(actor, n));
                    let e = m.entry(actor).or_insert(0);
                    *e = (*e).max(n);
                }
                _ => {
                    prop_assert_eq!(v.remove(&actor), m.remove(&actor).unwrap_or(0));
                }
            }
            prop_assert_eq!(model(&v), m.clone());
            prop_assert_eq!(v.len(), m.len());
        }
    }

    #[test]
    fn encoding_round_trips(a in any_vv(), names in prop::collection::vec(("[a-z]{0,6}", 1u64..u64::MAX), 0..10),
                            uuids in prop::collection::vec((any::<[u8; 16]>(), any::<u64>()), 0..6)) {
        let bytes = a.to_bytes();
        prop_assert_eq!(VersionVector::<u64>::decode(&bytes), Ok(a.clone()));
        let s: VersionVector<String> = names.into_iter().collect();
        prop_assert_eq!(VersionVector::<String>::decode(&s.to_bytes()), Ok(s));
        let u: VersionVector<[u8; 16]> = uuids.into_iter().collect();
        prop_assert_eq!(VersionVector::<[u8; 16]>::decode(&u.to_bytes()), Ok(u));
        let w: VersionVector<u32> = a.iter().map(|(k, c)| (*k as u32, c)).collect();
        prop_assert_eq!(VersionVector::<u32>::decode(&w.to_bytes()), Ok(w));
    }

    #[test]
    fn decode_never_panics_on_garbage(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        if let Ok(v) = VersionVector::<u64>::decode(&bytes) {
            // Whatever decodes is canonical: it re-encodes to the same bytes.
            prop_assert_eq!(v.to_bytes(), bytes.clone());
        }
        let _ = VersionVector::<String>::decode(&bytes);
        let _ = VersionVector::<Vec<u8>>::decode(&bytes);
        let _ = VersionVector::<[u8; 16]>::decode(&bytes);
        let _ = VersionVector::<u32>::decode(&bytes);
    }

    #[test]
    fn mutated_encodings_never_panic(a in vv_wide(), at in any::<prop::sample::Index>(), bit in 0u8..8) {
        let mut bytes = a.to_bytes();
        let i = at.index(bytes.len());
        bytes[i] ^= 1 << bit;
        if let Ok(v) = VersionVector::<u64>::decode(&bytes) {
            prop_assert_eq!(v.to_bytes(), bytes);
        }
    }
}

#[test]
fn u64_actor_codec_is_public_for_reuse() {
    let mut out = Vec::new();
    42u64.encode_actor(&mut out);
    assert_eq!(out, [42]);
}
