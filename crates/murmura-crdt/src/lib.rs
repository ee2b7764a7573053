//! State and delta-state CRDTs for murmura, with join-decomposition anti-entropy.
//!
//! Replicas accept writes independently and always converge: every type
//! here is a join-semilattice ([`Lattice`]), so states merge in any order,
//! any number of times.
//!
//! # Deltas
//!
//! Mutators update the replica and return a *delta* — a small state of the
//! same type ([`DeltaCrdt`]). Ship deltas instead of whole states; several
//! can be merged into one group first.
//!
//! ```
//! use murmura_crdt::{Lattice, ORSet};
//!
//! let mut alice: ORSet<String, u64> = ORSet::new();
//! let mut bob: ORSet<String, u64> = ORSet::new();
//! let d1 = alice.add(1, "apples".to_string());
//! let d2 = alice.add(1, "pears".to_string());
//! bob.merge(&d1.merged(&d2)); // a delta group
//! assert_eq!(bob.iter().count(), 2);
//! ```
//!
//! # Anti-entropy by join decomposition
//!
//! To catch up after lost messages, a peer sends its digest ([`AntiEntropy`])
//! and gets back exactly what it lacks: nothing it already has, never a
//! copy of what it sent.
//!
//! ```
//! use murmura_crdt::{AntiEntropy, Codec, Lattice, ORSet};
//!
//! let mut a: ORSet<u64, u64> = ORSet::new();
//! a.add_all(1, 0..1000);
//! let mut b = a.clone();
//! a.add(1, 5000); // b missed this
//! let reply = a.missing(&b.digest());
//! assert!(reply.to_bytes().len() < a.to_bytes().len() / 100);
//! b.merge(&reply);
//! assert_eq!(a, b);
//! ```
//!
//! # The types
//!
//! | kind | types |
//! |---|---|
//! | counters | [`GCounter`], [`PNCounter`], [`BoundedCounter`] (never below zero), [`CausalCounter`] (nests in maps) |
//! | sets | [`GSet`], [`TwoPSet`], [`ORSet`] (add-wins, packed), [`RemoveWinsSet`] |
//! | registers | [`LwwRegister`] (deterministic tie-break), [`MvRegister`] (siblings) |
//! | flags | [`EnableWinsFlag`], [`DisableWinsFlag`] |
//! | maps | [`ORMap`] (nested CRDTs, reset-remove), [`LwwMap`] |
//! | sequence | [`List`] (RGA) |
//!
//! The causal types are all [`Causal`]: a [`DotStore`] with a causal
//! context from `murmura-clock`, so an [`ORMap`] can nest any of them —
//! maps of sets, maps of maps of counters. Departed actors are dropped from
//! contexts once causally stable ([`Causal::forget_actor`]).
//!
//! Every state has a compact binary encoding ([`Codec`]); decoding treats
//! its input as hostile and returns a typed [`Error`]. With the `serde`
//! feature every state also implements `Serialize`/`Deserialize`.
#![deny(missing_docs, unreachable_pub)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod bounded;
mod causal;
mod clock;
pub mod codec;
mod context;
mod counter;
pub mod dotstore;
mod error;
mod flag;
mod gset;
mod list;
mod map;
mod maxmap;
mod orset;
mod register;
mod rwset;
#[cfg(feature = "serde")]
mod serde_util;
mod sorted;
mod traits;

pub use bounded::{BoundedCounter, BoundedOp};
pub use causal::Causal;
pub use clock::{CausalContext, Dot};
pub use codec::Codec;
pub use context::{ActorTable, Digest, DotRanges};
pub use counter::{GCounter, PNCounter};
pub use dotstore::{DotFun, DotMap, DotSet, DotStore};
pub use error::{Error, Result};
pub use flag::{DisableWinsFlag, EnableWinsFlag, FlagDots};
pub use gset::{GSet, TwoPSet};
pub use list::{List, ListDigest, ListOp};
pub use map::{CausalCounter, CounterDots, LwwMap, MapOp, ORMap};
pub use orset::{ElemDots, ORSet, SetOp};
pub use register::{LwwRegister, MvRegister};
pub use rwset::{AddRemoveDots, RemoveWinsSet};
pub use traits::{AntiEntropy, DeltaCrdt, Lattice};
