//! The tokio runtime (in progress).
