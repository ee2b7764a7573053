//! State and delta-state CRDTs for murmura, with join-decomposition anti-entropy.
//!
//! (Work in progress: see the project's issues.)
#![deny(missing_docs, unreachable_pub)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
