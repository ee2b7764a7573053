//! The crate's one error type.

use crate::value::ValueError;

/// What can go wrong in `murmura-cluster`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Bytes from a peer could not be decoded. Nothing was applied.
    #[error("could not decode a store message")]
    Decode(#[from] murmura_crdt::Error),
    /// A peer speaks another wire version. Nothing was applied.
    #[error("unsupported store wire version {0}")]
    Version(u8),
    /// The operation does not fit the value the key holds. Nothing changed.
    #[error("the operation was refused")]
    Value(#[from] ValueError),
    /// Fewer replicas acknowledged than the consistency asked for, within
    /// the request timeout. Replicas that did apply the write keep it (as
    /// in Dynamo, a failed write may still surface later): retrying is
    /// safe for CRDTs whose operations are idempotent per delta, and a
    /// counter increment retried may count twice.
    #[error("{acks} of the {needed} acknowledgements needed arrived in time")]
    Unavailable {
        /// Acknowledgements received.
        acks: usize,
        /// Acknowledgements needed.
        needed: usize,
    },
    /// The queues to the replicas are full (a lagging peer): the write was
    /// not applied anywhere. Retry later.
    #[error("overloaded: the queues to this key's replicas are full")]
    Overloaded,
    /// The consistency asked for more replicas than the store keeps.
    #[error("asked for {asked} replicas, the store keeps {replicas}")]
    BadConsistency {
        /// What was asked.
        asked: usize,
        /// Replicas per key.
        replicas: usize,
    },
    /// A key is empty or longer than [`crate::MAX_KEY_LEN`]. Nothing changed.
    #[error("a key must be 1 to {max} bytes, not {len}")]
    BadKey {
        /// The key's length.
        len: usize,
        /// The longest key accepted.
        max: usize,
    },
    /// No member is placed yet (the placement is empty).
    #[error("no members to place the key on")]
    NoMembers,
    /// The replica that coordinated a forwarded write could not decode or
    /// apply it. Nothing was applied.
    #[error("the coordinating replica refused the request")]
    Refused,
    /// The journal could not be opened or read (message of the I/O error).
    #[error("storage: {0}")]
    Storage(String),
    /// The store member's driver has stopped.
    #[error("the store member has stopped")]
    Stopped,
    /// A configuration value is out of range.
    #[error("invalid store configuration: {0}")]
    Config(&'static str),
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
