//! Integration tests for murmura-hash: one binary, a module per concern.

mod bounded;
mod errors;
mod golden;
mod history;
mod movement;
mod replicas;
#[cfg(feature = "serde")]
mod serde;
mod shared;
mod tiny_weights;
mod util;
mod weights;
