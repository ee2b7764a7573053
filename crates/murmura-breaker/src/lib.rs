//! Circuit breaker, retry and bulkhead for murmura: a resilience4j-grade state machine that is nearly free on the hot path.
//!
//! (Work in progress: see the project's issues.)
#![deny(missing_docs, unreachable_pub)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
