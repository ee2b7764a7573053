//! The dots and causal contexts of `murmura-clock`, re-exported.

pub use murmura_clock::{CausalContext, Dot};
