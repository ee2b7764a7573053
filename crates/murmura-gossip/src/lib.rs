//! SWIM gossip membership with Lifeguard refinements for murmura: a sans-IO core and a tokio runtime.
//!
//! (Work in progress: see the project's issues.)
#![deny(missing_docs, unreachable_pub)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
