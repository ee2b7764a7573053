//! A deployable murmura store member: a gossip member, the replicated
//! CRDT store on it, an HTTP API and Prometheus metrics.
//!
//! The binary `murmura-node` is configured by flags, environment
//! variables (`MURMURA_*`) or a TOML file (`--config`); this library holds
//! its pieces so they are tested without a process: [`Settings`] and the
//! HTTP [`router`].
//!
//! HTTP API (JSON; bound to loopback unless told otherwise):
//!
//! | method and path | what |
//! |---|---|
//! | `GET /health` | `200` with the member's name and live member count |
//! | `GET /v1/members` | the gossip members and their states |
//! | `GET /v1/keys/{key}?consistency=one\|quorum\|all` | the key's value, `404` if none |
//! | `POST /v1/keys/{key}` | an operation: `{"op":"add","by":5}`, `{"op":"insert","element":"x"}`, `{"op":"remove","element":"x"}`, `{"op":"write","value":"text"}`, optional `"consistency"` |
//! | `GET /metrics` | Prometheus text exposition |
//!
//! Bad requests get a `4xx` with `{"error": "..."}` and change nothing:
//! malformed JSON or an unknown operation `400`, a key or value too large
//! `413`, an operation for another type than the key holds `409`. A write
//! that too few replicas acknowledged is `503`; a full queue `429`.
#![deny(missing_docs, unreachable_pub)]
#![forbid(unsafe_code)]

mod api;
mod settings;

pub use api::{AppState, router};
pub use settings::{Settings, load_keyring};
