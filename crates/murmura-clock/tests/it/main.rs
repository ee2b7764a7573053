//! Integration tests for murmura-clock: laws checked by proptest against
//! simple reference models, and codec round trips on hostile input.

mod context;
mod dvv;
mod hlc;
mod itc;
#[cfg(feature = "serde")]
mod serde;
mod vv;
