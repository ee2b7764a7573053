//! The crate's one error type.

use murmura_core::codec::DecodeError;

/// What can go wrong in `murmura-crdt`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Bytes could not be decoded. Nothing already held was modified; the
    /// partially decoded value was discarded.
    #[error("could not decode a CRDT: {0}")]
    Decode(#[from] DecodeError),
    /// A bounded counter's replica holds fewer rights than the decrement or
    /// transfer needs. The counter is unchanged.
    #[error("insufficient rights: needed {needed}, this replica holds {available}")]
    InsufficientRights {
        /// Rights the operation needed.
        needed: u64,
        /// Rights the acting replica holds locally.
        available: u64,
    },
    /// A counter would overflow `u64`/`i64`. The counter is unchanged.
    #[error("counter overflow")]
    Overflow,
    /// A list position is past the end of the visible sequence. The list is unchanged.
    #[error("index {index} is out of bounds for a list of length {len}")]
    IndexOutOfBounds {
        /// The requested position.
        index: usize,
        /// The list's visible length.
        len: usize,
    },
    /// An actor cannot be pruned yet: its history is not causally stable, or
    /// live entries still carry its dots. The replica is unchanged.
    #[error("actor cannot be pruned yet: {0}")]
    NotStable(&'static str),
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
