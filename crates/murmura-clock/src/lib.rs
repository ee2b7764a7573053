//! Logical clocks for murmura: version vectors, dots and causal contexts, dotted version vectors, hybrid logical clocks and interval tree clocks.
//!
//! (Work in progress: see the project's issues.)
#![deny(missing_docs, unreachable_pub)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
