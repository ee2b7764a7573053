//! Integration tests for murmura-crdt: every type's laws, convergence over a
//! chaotic channel against a sequential specification, encodings, pruning.

mod counters;
mod harness;
mod lists;
mod maps;
mod pruning;
mod registers;
mod serde;
mod sets;
