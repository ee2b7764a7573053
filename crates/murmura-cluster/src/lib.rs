//! A replicated key → CRDT store composed from murmura's primitives.
//!
//! Keys are placed on N members by consistent hashing
//! ([`murmura_hash::Placement`]); a write is applied by a replica that
//! coordinates it and acknowledged once W replicas hold it; a read merges
//! R replicas. Values are CRDTs ([`StoreValue`]; [`Value`] gives counters,
//! sets and registers), so replicas never conflict: concurrent writes merge.
//!
//! - **Sloppy quorum, hinted handoff.** A replica that cannot be reached
//!   (marked down by membership, its breaker open, or silent past the
//!   timeout) is replaced by the next member in the key's probe order,
//!   which holds the write as a hint and hands it over when the replica
//!   is back.
//! - **Anti-entropy.** Replicas compare per-bucket hashes of the keys they
//!   share, then CRDT digests of the keys in buckets that differ, and ship
//!   only what the other lacks.
//! - **Rebalancing.** On a new placement, keys move to their new owners
//!   and are dropped by an old owner only after every new owner confirmed
//!   holding them.
//! - **Persistence** (optional, [`persist`]): an append-only log of
//!   crc32-framed records and snapshots; a torn tail is reported and cut.
//! - **Breakers per peer** (`murmura-breaker`), **bounded queues**
//!   ([`Error::Overloaded`] instead of unbounded buffering).
//!
//! [`Store`] is sans-IO, like the gossip core: inputs carry `now`,
//! transmissions and events are pulled.
#![deny(missing_docs, unreachable_pub)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod config;
mod error;
pub mod message;
pub mod persist;
mod store;
mod value;

#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub mod runtime;

pub use config::{Config, Consistency};
pub use error::{Error, Result};
pub use message::{MAX_KEY_LEN, RequestId};
pub use store::{Event, Stats, Store, Transmit};
pub use value::{Op, OpContext, StoreValue, Value, ValueDigest, ValueError};
