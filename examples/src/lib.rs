//! Runnable examples for murmura live in `examples/examples/`; run one with
//! `cargo run --release -p murmura-examples --example <name>`.
