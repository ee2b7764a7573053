//! murmura: distributed-systems primitives for Rust, composable behind small traits.
//!
//! Each primitive lives in its own crate and is re-exported here behind a
//! cargo feature of the same name (all on by default):
//!
//! | feature   | module               | what it gives you |
//! |-----------|----------------------|-------------------|
//! | `hash`    | [`hash`]       | which node owns a key: rings, jump, rendezvous, Maglev, bounded load |
//! | `clock`   | [`clock`]     | causality: version vectors, causal contexts, DVV, HLC, ITC |
//! | `crdt`    | [`crdt`]       | replicas that converge without coordination |
//! | `breaker` | [`breaker`] | keep a sick dependency from dragging callers down |
//! | `gossip`  | [`gossip`]   | who is in the cluster and who is alive (SWIM + Lifeguard) |
//! | `cluster` | [`cluster`] | a replicated key → CRDT store composed from all of the above |
//!
//! Features of the primitives pass through: `gossip-tokio` (the UDP/TCP
//! runtime), `encryption`, `compression` (all on by default, so they can be
//! turned off), `breaker-tower` and `breaker-tokio` (off by default).
//! The `serde` feature turns on serde support in every enabled primitive.
//! [`core`] holds the pieces they share: time sources, framing, codecs.
#![deny(missing_docs, unreachable_pub)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use murmura_core as core;

#[cfg(feature = "hash")]
#[cfg_attr(docsrs, doc(cfg(feature = "hash")))]
pub use murmura_hash as hash;

#[cfg(feature = "clock")]
#[cfg_attr(docsrs, doc(cfg(feature = "clock")))]
pub use murmura_clock as clock;

#[cfg(feature = "crdt")]
#[cfg_attr(docsrs, doc(cfg(feature = "crdt")))]
pub use murmura_crdt as crdt;

#[cfg(feature = "breaker")]
#[cfg_attr(docsrs, doc(cfg(feature = "breaker")))]
pub use murmura_breaker as breaker;

#[cfg(feature = "gossip")]
#[cfg_attr(docsrs, doc(cfg(feature = "gossip")))]
pub use murmura_gossip as gossip;

// The README's code blocks run as doctests, so the quick start always compiles.
#[cfg(feature = "cluster")]
#[cfg_attr(docsrs, doc(cfg(feature = "cluster")))]
pub use murmura_cluster as cluster;

#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
