//! Version vector behaviour through the public API.

use murmura_clock::{Causality, Dot, VersionVector};

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
