//! Lattice laws of the ready-made value, by proptest.

use murmura_clock::hlc::Hlc;
use murmura_cluster::{Op, OpContext, StoreValue, Value};
use murmura_core::time::ManualClock;
use murmura_crdt::{AntiEntropy, Lattice};
use proptest::prelude::*;
use std::time::Duration;

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (-5i64..5).prop_map(Op::Add),
        (0u8..4).prop_map(|e| Op::Insert(format!("e{e}"))),
        (0u8..4).prop_map(|e| Op::Remove(format!("e{e}"))),
        proptest::collection::vec(any::<u8>(), 0..3).prop_map(Op::Write),
    ]
}

fn apply_all(mut v: Value, ops: Vec<(u64, Op)>) -> Value {
    let clock = ManualClock::new(Duration::from_secs(1));
    let hlc = Hlc::with_clock(clock.clone());
    for (actor, op) in ops {
        clock.advance(Duration::from_millis(1));
        let _ = v.apply(&OpContext { actor, hlc: &hlc }, &op);
    }
    v
}

/// A value built by up to three actors applying ops (wrong-type ops are refused).
fn value() -> impl Strategy<Value = Value> {
    proptest::collection::vec((1u64..4, op()), 0..8)
        .prop_map(|ops| apply_all(Value::default(), ops))
}

/// Two replicas that share a history and then diverge, each written by
/// its own actors (as in the store: an actor writes at one replica only).
fn diverged() -> impl Strategy<Value = (Value, Value)> {
    (
        proptest::collection::vec((1u64..3, op()), 0..6),
        proptest::collection::vec((3u64..5, op()), 0..6),
        proptest::collection::vec((5u64..7, op()), 0..6),
    )
        .prop_map(|(base, a, b)| {
            let base = apply_all(Value::default(), base);
            (apply_all(base.clone(), a), apply_all(base, b))
        })
}

proptest! {
    #[test]
    fn merge_is_commutative(a in value(), b in value()) {
        prop_assert_eq!(a.merged(&b), b.merged(&a));
    }

    #[test]
    fn merge_is_associative(a in value(), b in value(), c in value()) {
        prop_assert_eq!(a.merged(&b).merged(&c), a.merged(&b.merged(&c)));
    }

    #[test]
    fn merge_is_idempotent(a in value()) {
        prop_assert_eq!(a.merged(&a), a.clone());
    }

    #[test]
    fn missing_brings_a_peer_up_to_date((a, b) in diverged()) {
        let mut peer = b.clone();
        peer.merge(&a.missing(&b.digest()));
        prop_assert_eq!(peer, b.merged(&a));
    }

    #[test]
    fn an_applied_delta_has_the_effect_of_the_op(base in value(), op in op(), actor in 1u64..4) {
        let clock = ManualClock::new(Duration::from_secs(5));
        let hlc = Hlc::with_clock(clock);
        let mut replica = base.clone();
        let mut other = base.clone();
        if let Ok(delta) = replica.apply(&OpContext { actor, hlc: &hlc }, &op) {
            other.merge(&delta);
            prop_assert_eq!(other, replica);
        } else {
            prop_assert_eq!(replica, base);
        }
    }
}
