//! Causal context behaviour through the public API.

use murmura_clock::{CausalContext, Dot};

#[test]
fn shuffled_delivery_ends_compact() {
    // Deliver 1..=50 of two actors in a scrambled but fixed order.
    let mut cc = CausalContext::new();
    for i in 0..50u64 {
        let n = (i * 37) % 50 + 1;
        cc.insert(Dot::new("x", n));
        cc.insert(Dot::new("y", 51 - n));
        assert!(cc.contains(&Dot::new("x", n)));
    }
    assert!(cc.is_compact());
    assert_eq!(cc.version_vector().get(&"x"), 50);
    assert_eq!(cc.version_vector().get(&"y"), 50);
    assert_eq!(cc.dots().count(), 100);
}
