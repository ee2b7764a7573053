//! Logical clocks: how murmura tracks causality.
//!
//! - [`Dot`]: one event, `(actor, counter)`.
//! - [`VersionVector`]: a counter per actor, compared in the happened-before
//!   order ([`Causality`]), merged as a least upper bound.
//! - [`CausalContext`]: a version vector plus a compacted *dot cloud* of
//!   events seen out of order — what delta-state CRDTs need to know.
//! - [`DvvSet`]: dotted version vector sets, the sibling values of one key
//!   tracked per replica (as in Riak), so clients never bloat the clock.
//! - [`Hlc`]: a hybrid logical clock issuing 64-bit [`Timestamp`]s close to
//!   wall-clock time that still respect happened-before; lock-free and shared.
//! - [`itc::Stamp`]: interval tree clocks, for systems whose participants
//!   come and go (fork, event, join, peek), with the paper's bit encoding.
//! - [`ActorCodec`]: how actor identifiers are written in the compact binary
//!   encodings every clock here offers (`encode` / `decode`).
//!
//! # Tutorial
//!
//! Two replicas update independently, then exchange clocks:
//!
//! ```
//! use murmura_clock::{Causality, VersionVector};
//!
//! let mut alice = VersionVector::new();
//! let mut bob = VersionVector::new();
//! alice.increment("alice");
//! bob.increment("bob");
//! assert_eq!(alice.causality(&bob), Causality::Concurrent);
//!
//! // Bob learns what Alice saw, then writes again: now he is strictly ahead.
//! bob.merge(&alice);
//! bob.increment("bob");
//! assert_eq!(alice.causality(&bob), Causality::Before);
//! assert!(bob.dominates(&alice));
//! ```
//!
//! A causal context remembers events that arrive with gaps, and tells
//! anti-entropy exactly which events the other side lacks:
//!
//! ```
//! use murmura_clock::{CausalContext, Dot, DotRange};
//!
//! let mut mine = CausalContext::new();
//! for _ in 0..5 {
//!     mine.next_dot(7u64);
//! }
//! let mut theirs = CausalContext::new();
//! theirs.insert(Dot::new(7u64, 1));
//! theirs.insert(Dot::new(7u64, 4)); // out of order
//!
//! assert_eq!(
//!     mine.missing_from(&theirs),
//!     vec![
//!         DotRange { actor: 7, first: 2, last: 3 },
//!         DotRange { actor: 7, first: 5, last: 5 },
//!     ]
//! );
//!
//! // Clocks travel as compact bytes; hostile bytes are a typed error.
//! let bytes = mine.to_bytes();
//! assert_eq!(CausalContext::<u64>::decode(&bytes).unwrap(), mine);
//! assert!(CausalContext::<u64>::decode(&[0xff]).is_err());
//! ```
//!
//! A hybrid logical clock stamps events with 64-bit timestamps that stay
//! close to wall-clock time yet order every message after its cause, and an
//! interval tree clock does the same for participants that come and go:
//!
//! ```
//! use murmura_clock::hlc::Hlc;
//! use murmura_clock::itc::Stamp;
//!
//! let (sender, receiver) = (Hlc::new(), Hlc::new());
//! let sent = sender.now();
//! let received = receiver.update(sent).unwrap();
//! assert!(received > sent);
//!
//! let (mut x, mut y) = Stamp::seed().fork();
//! let message = x.send().unwrap();
//! y.receive(&message).unwrap();
//! assert!(x.leq(&y) && !y.leq(&x));
//! ```
#![deny(missing_docs, unreachable_pub)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod actor;
mod context;
mod dot;
mod dvv;
mod error;
pub mod hlc;
pub mod itc;
mod vv;

pub use actor::ActorCodec;
pub use context::{CausalContext, DotRange};
pub use dot::Dot;
pub use dvv::DvvSet;
pub use error::{ClockError, Result};
pub use hlc::{Hlc, Timestamp};
pub use vv::{Causality, VersionVector};
