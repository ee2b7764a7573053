//! Small shared pieces that several murmura primitives need, and nothing else.
//!
//! - [`NodeId`]: the bound every node, actor or member identifier satisfies.
//! - [`time`]: an injectable [`Clock`](time::Clock) with a monotonic
//!   [`SystemClock`](time::SystemClock), a [`WallClock`](time::WallClock) and a
//!   hand-driven [`ManualClock`](time::ManualClock) for tests and simulation.
//! - [`rng`]: the seedable random generator protocol cores are handed.
//! - [`frame`]: the framed wire format — version byte, length, payload, crc32 —
//!   with a hard size limit and a typed [`FrameError`](frame::FrameError).
//! - [`codec`]: bounded readers and writers (varints, length prefixes) that turn
//!   hostile bytes into a typed [`DecodeError`](codec::DecodeError), never a panic
//!   and never an allocation larger than the input.
//! - [`sync`]: a shim that swaps `std` atomics for `loom`'s under `cfg(loom)`.
//!
//! ```
//! use murmura_core::frame::{self, FrameLimits};
//!
//! let mut wire = Vec::new();
//! frame::encode(1, b"hello", &FrameLimits::default(), &mut wire).unwrap();
//! let (decoded, used) = frame::decode(&wire, &FrameLimits::default()).unwrap();
//! assert_eq!(decoded.payload, b"hello");
//! assert_eq!(used, wire.len());
//!
//! // A flipped bit is caught by the checksum.
//! wire[6] ^= 0x01;
//! assert!(matches!(
//!     frame::decode(&wire, &FrameLimits::default()),
//!     Err(frame::FrameError::ChecksumMismatch { .. })
//! ));
//! ```
#![deny(missing_docs, unreachable_pub)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod codec;
pub mod frame;
pub mod rng;
pub mod sync;
pub mod time;

use std::fmt::Debug;
use std::hash::Hash;

/// The bound on node, member and actor identifiers used across murmura.
///
/// It is implemented for every type that is cheap to compare, hash, order and
/// share between threads: `u64`, `String`, `SocketAddr`, your own newtypes.
/// Ordering is required so that structures keyed by identifiers (sorted
/// version vectors, placement tie-breaks) are deterministic.
pub trait NodeId: Clone + Eq + Ord + Hash + Debug + Send + Sync + 'static {}

impl<T> NodeId for T where T: Clone + Eq + Ord + Hash + Debug + Send + Sync + 'static {}
