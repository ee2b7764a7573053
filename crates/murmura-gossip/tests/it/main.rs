//! Integration tests of murmura-gossip: many cores in one simulated network,
//! the tokio runtime on loopback, and processes in network namespaces.

mod cluster;
mod faults;
mod harness;
#[cfg(feature = "tokio")]
mod netns;
#[cfg(feature = "tokio")]
mod runtime;
