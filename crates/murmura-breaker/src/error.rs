//! The crate's one error type.

use crate::state::State;
use std::convert::Infallible;
use std::time::Duration;

/// Everything that can go wrong in this crate. `E` is the error type of the
/// guarded operation (`Infallible` where no user error is involved).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error<E = Infallible> {
    /// A configuration value is out of range. Nothing was built.
    #[error("invalid configuration: {field} {reason}")]
    InvalidConfig {
        /// The offending field.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The breaker did not let the call through; the operation never ran and
    /// the breaker's state and window are unchanged (only the rejection
    /// counter moved).
    #[error("call rejected by circuit breaker `{name}` in state {state:?}")]
    Rejected {
        /// The breaker's name.
        name: std::sync::Arc<str>,
        /// The state that rejected the call.
        state: State,
        /// Time until the breaker will admit a trial call, when known
        /// (`None` in forced-open, or in half-open while trials are running).
        retry_after: Option<Duration>,
    },
    /// The operation ran and failed; its outcome has been recorded.
    #[error("guarded call failed: {0}")]
    Inner(#[source] E),
    /// The bulkhead was full; the operation never ran.
    #[error("bulkhead `{name}` is full ({max_concurrent} calls in flight)")]
    BulkheadFull {
        /// The bulkhead's name.
        name: std::sync::Arc<str>,
        /// Its concurrency limit.
        max_concurrent: usize,
    },
    /// Every attempt the retry policy allowed failed; `last` is the final
    /// attempt's error. The retry budget has been charged for the retries.
    #[error("gave up after {attempts} attempts: {last}")]
    RetriesExhausted {
        /// How many attempts ran.
        attempts: u32,
        /// The last attempt's error.
        #[source]
        last: E,
    },
    /// The retry budget had no token left for another attempt; `last` is the
    /// error of the attempt that would have been retried.
    #[error("retry budget exhausted after {attempts} attempts: {last}")]
    RetryBudgetExhausted {
        /// How many attempts ran.
        attempts: u32,
        /// The last attempt's error.
        #[source]
        last: E,
    },
}

impl<E> Error<E> {
    /// The operation's own error, if this is one (inner, or the last attempt of a retry).
    pub fn into_inner(self) -> Option<E> {
        match self {
            Error::Inner(e)
            | Error::RetriesExhausted { last: e, .. }
            | Error::RetryBudgetExhausted { last: e, .. } => Some(e),
            _ => None,
        }
    }

    /// Whether the breaker or bulkhead refused the call without running it.
    pub fn is_rejected(&self) -> bool {
        matches!(self, Error::Rejected { .. } | Error::BulkheadFull { .. })
    }

    /// Time until the next trial, for a breaker rejection that knows it.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Rejected { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

impl Error<Infallible> {
    /// Re-types an error that carries no operation error (a configuration
    /// error or a rejection) for any operation error type.
    pub fn widen<E>(self) -> Error<E> {
        match self {
            Error::InvalidConfig { field, reason } => Error::InvalidConfig { field, reason },
            Error::Rejected {
                name,
                state,
                retry_after,
            } => Error::Rejected {
                name,
                state,
                retry_after,
            },
            Error::BulkheadFull {
                name,
                max_concurrent,
            } => Error::BulkheadFull {
                name,
                max_concurrent,
            },
            Error::Inner(e)
            | Error::RetriesExhausted { last: e, .. }
            | Error::RetryBudgetExhausted { last: e, .. } => match e {},
        }
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Infallible> = std::result::Result<T, Error<E>>;
