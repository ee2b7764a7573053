//! Deterministic simulation of murmura's sans-IO protocol cores.
//!
//! A [`Sim`] runs many cores in one process on virtual time: one binary
//! heap holds every datagram in flight, every member's next timer and
//! every wake-up of a stalled member, so a step costs `O(log events)` and
//! nothing scans all members. The network ([`Network`]) has per-link
//! latency, jitter, loss and duplication, one-way loss at a member, and
//! partitions of any grouping; members crash, restart under the same name
//! at a new address, pause or starve for CPU ([`Stall`]), and run on
//! drifting clocks ([`Clock`]). Everything random derives from one seed: the
//! same seed replays the same run bit for bit ([`Sim::trace_hash`]), and a
//! failing run prints its seed.
//!
//! Any core plugs in through the four-method [`Core`] trait; murmura-gossip's
//! [`Swim`](murmura_gossip::Swim) implements it here, and [`swim`] builds
//! clusters of it and watches their events against the ground truth.
//! [`scenarios`] are issue 12's experiments, usable at any size.
//!
//! Three members, one crash, detected:
//!
//! ```
//! use std::time::Duration;
//! use murmura_gossip::{Config, State};
//! use murmura_sim::{Link, swim};
//!
//! let config = Config::local();
//! let mut sim = swim::cluster(42, 3, 1, &config, Link::LAN);
//! assert!(sim.drive_until(Duration::from_secs(10), Duration::from_millis(100), swim::converged));
//! swim::crash(&mut sim, 2);
//! sim.drive(Duration::from_secs(30));
//! assert_eq!(sim.core(0).unwrap().member("n2").unwrap().state, State::Dead);
//! assert!(sim.observer().track(2).unwrap().all_know().is_some());
//! ```
#![deny(missing_docs, unreachable_pub)]
#![forbid(unsafe_code)]

mod core;
mod net;
pub mod scenarios;
mod sim;
mod stats;
pub mod swim;

pub use crate::core::{Addr, Core, Delivery, Input, NodeId, Output};
pub use crate::net::{Link, Network};
pub use crate::sim::{Clock, INBOX_LIMIT, Observer, Sim, SimStats, Spawn, Stall};
pub use crate::stats::{Summary, Traffic, TrafficSummary};
