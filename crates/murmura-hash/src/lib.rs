//! Consistent hashing for murmura: hash rings with virtual nodes, jump, rendezvous, Maglev and bounded-load placement, with replica sets and move plans.
//!
//! (Work in progress: see the project's issues.)
#![deny(missing_docs, unreachable_pub)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
