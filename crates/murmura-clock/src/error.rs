//! The crate's one error type.

use murmura_core::codec::DecodeError;

/// Everything that can go wrong in `murmura-clock`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClockError {
    /// Bytes could not be decoded into a clock. The partially decoded value is
    /// discarded; nothing the caller already held was modified.
    #[error("cannot decode clock: {0}")]
    Decode(#[from] DecodeError),

    /// A remote hybrid logical timestamp is further ahead of the local
    /// physical clock than the configured tolerance. The local clock is left
    /// exactly as it was, so one bad peer cannot drag it into the future.
    #[error(
        "remote timestamp is {ahead_ms} ms ahead of local physical time (max drift {max_drift_ms} ms)"
    )]
    ClockDrift {
        /// How far ahead of local physical time the remote physical time was.
        ahead_ms: u64,
        /// The tolerance that was exceeded.
        max_drift_ms: u64,
    },

    /// A hybrid logical clock reached the largest representable timestamp.
    /// The clock keeps its last value and issues no new timestamps.
    #[error("hybrid logical clock exhausted its 64-bit range")]
    Exhausted,

    /// An encoded interval tree clock nests deeper than the decoder allows.
    /// Decoding stops; nothing already held is modified.
    #[error("interval tree clock nests deeper than {limit} levels")]
    TooDeep {
        /// The depth limit that was exceeded.
        limit: usize,
    },

    /// An anonymous interval tree clock stamp (one that owns no identity,
    /// such as a peek) was asked to record an event. It is unchanged.
    #[error("an anonymous interval tree clock stamp cannot record events")]
    AnonymousEvent,

    /// Two interval tree clock stamps whose identities overlap were joined;
    /// their identities must come from forks of one seed and be disjoint.
    /// Neither stamp was modified.
    #[error("interval tree clock identities overlap")]
    OverlappingIds,
}

/// Result alias for this crate.
pub type Result<T, E = ClockError> = std::result::Result<T, E>;
