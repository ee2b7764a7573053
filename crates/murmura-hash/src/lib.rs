//! Consistent hashing: which node owns a key, which nodes hold its replicas,
//! and what moves when membership changes.
//!
//! Applications program against the [`Placement`] trait and pick an
//! algorithm behind it:
//!
//! | type | lookup | weights | minimal moves | history independent |
//! |---|---|---|---|---|
//! | [`Ring`] — virtual nodes, bucketed index | O(1) expected | yes | yes | yes |
//! | [`Jump`] — jump-back hash + Memento removals | O(1) expected | no | yes | no (removal order matters) |
//! | [`Rendezvous`] — highest random weight | O(n) | yes (log method) | yes | yes |
//! | [`Maglev`] — prime-sized lookup table | O(1) | yes | nearly | yes (same table size) |
//! | [`BoundedLoad`] — ring with load caps | O(1) amortised | yes | no | no (key order matters) |
//!
//! # Keys
//!
//! Keys are hashed once, with a stable function ([`key_hash`]: XXH3-64 under
//! a fixed seed), so every process on every platform places them alike:
//!
//! ```
//! use murmura_hash::{key_hash, NodeSpec, Placement, Ring, RingConfig};
//!
//! let ring = Ring::new(
//!     [
//!         NodeSpec::new("cache-a").in_zone("az1"),
//!         NodeSpec::new("cache-b").in_zone("az1"),
//!         NodeSpec::new("cache-c").in_zone("az2").with_weight(2.0),
//!     ],
//!     RingConfig::default(),
//! )?;
//! let key = key_hash(b"user:42");
//! let owner = ring.owner(key)?;
//!
//! // Two replicas in distinct zones, owner first, without allocating.
//! let replicas: Vec<_> = ring.zoned_replicas(key, 2)?.collect();
//! assert_eq!(replicas[0], owner);
//! assert_ne!(replicas[0], replicas[1]);
//! # Ok::<(), murmura_hash::Error>(())
//! ```
//!
//! # Membership changes
//!
//! Placements are immutable. [`Membership::add`] and [`Membership::remove`]
//! return the next placement and a [`MovePlan`] saying which keys move from
//! whom to whom, so data can be handed over before the new placement is
//! published. [`SharedPlacement`] publishes it atomically; readers never
//! block:
//!
//! ```
//! use murmura_hash::{key_hash, Keys, NodeSpec, Placement, Ring, RingConfig, SharedPlacement};
//!
//! let shared = SharedPlacement::new(Ring::new(
//!     ["a", "b", "c"].map(NodeSpec::new),
//!     RingConfig::default(),
//! )?);
//! let key = key_hash(b"order:7");
//! let before = *shared.load().owner(key)?;
//!
//! let plan = shared.add(NodeSpec::new("d"))?;
//! let after = *shared.load().owner(key)?;
//! match plan.transfer_of(key) {
//!     // The key is in a moved range: it went from `before` to "d".
//!     Some(t) => assert_eq!((t.from, t.to, after), (before, "d", "d")),
//!     None => assert_eq!(after, before),
//! }
//! # Ok::<(), murmura_hash::Error>(())
//! ```
//!
//! # Errors
//!
//! Bad input is a typed [`Error`], never a panic: zero or non-finite weights,
//! duplicate nodes, more replicas than nodes, lookups on an empty placement.
#![deny(missing_docs, unreachable_pub)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod bounded;
mod error;
mod jump;
mod key;
mod maglev;
mod node;
mod placement;
mod plan;
mod rendezvous;
mod ring;
mod shared;

pub use bounded::{BoundedLoad, BoundedLoadConfig, Relocation};
pub use error::{Error, Result};
pub use jump::{Jump, JumpProbe, jump_bucket};
pub use key::{KEY_SEED, StableHash, key_hash, key_hash_u64};
pub use maglev::{MAX_MAGLEV_NODES, MAX_TABLE_SIZE, Maglev, MaglevConfig, MaglevProbe};
pub use node::{NodeSpec, Roster};
pub use placement::{Membership, Placement, Replicas};
pub use plan::{Keys, MovePlan, Transfer};
pub use rendezvous::{Rendezvous, RendezvousProbe};
pub use ring::{MAX_RING_POINTS, Ring, RingConfig, RingProbe};
pub use shared::{SharedPlacement, Snapshot};
