//! The one error type of this crate.

/// Why a placement could not be built, changed or asked.
///
/// Every operation that fails leaves the structure it was called on exactly as
/// it was: placements are immutable values, and changes produce new ones.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A node weight was zero, negative, NaN or infinite. Nothing was built or
    /// changed.
    #[error("node {node} has weight {weight}; weights must be finite and greater than zero")]
    InvalidWeight {
        /// The node, as `Debug` prints it.
        node: String,
        /// The rejected weight.
        weight: f64,
    },
    /// The same node appeared twice, or an added node is already a member.
    /// Nothing was built or changed.
    #[error("node {node} appears more than once")]
    DuplicateNode {
        /// The node, as `Debug` prints it.
        node: String,
    },
    /// A removed node is not a member. Nothing was changed.
    #[error("node {node} is not a member")]
    UnknownNode {
        /// The node, as `Debug` prints it.
        node: String,
    },
    /// More distinct replicas were asked for than there are nodes. No iterator
    /// was made.
    #[error("asked for {requested} replicas but only {nodes} nodes are members")]
    TooManyReplicas {
        /// How many replicas were asked for.
        requested: usize,
        /// How many nodes there are.
        nodes: usize,
    },
    /// The placement has no nodes, so no key has an owner. A lookup on an empty
    /// placement returns this; nothing changes.
    #[error("the placement has no nodes")]
    EmptyRing,
    /// This algorithm cannot honour per-node weights (jump-class hashing gives
    /// every bucket the same share). Nothing was built or changed.
    #[error("{algorithm} does not support unequal weights (node {node} has weight {weight})")]
    WeightsUnsupported {
        /// The algorithm's name.
        algorithm: &'static str,
        /// The node, as `Debug` prints it.
        node: String,
        /// Its weight.
        weight: f64,
    },
    /// A configuration value is out of range (say, zero virtual nodes or a
    /// Maglev table no larger than the node count). Nothing was built.
    #[error("invalid configuration: {0}")]
    InvalidConfig(&'static str),
    /// The key is not assigned (bounded-load placement only). Nothing changed.
    #[error("key {0:#018x} is not assigned")]
    UnknownKey(u64),
}

/// This crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) fn name<N: std::fmt::Debug>(node: &N) -> String {
    format!("{node:?}")
}
