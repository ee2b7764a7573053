//! SWIM gossip membership with Lifeguard refinements: a sans-IO core and a
//! tokio runtime.
//!
//! [`Swim`] is the protocol: it takes datagrams, stream messages, timer
//! expiries and commands, each with the current time, and hands back
//! [`Transmit`]s to send, the next deadline and [`Event`]s. It owns no socket,
//! reads no clock and draws randomness only from the generator it is given,
//! so a test or a simulator drives it exactly; the `tokio` feature adds
//! [`runtime`], a thin driver over UDP and TCP.
//!
//! Two members meeting, driven by hand:
//!
//! ```
//! use std::time::Duration;
//! use murmura_gossip::{Config, Event, Swim, TransmitKind};
//! use murmura_core::rng::seeded;
//!
//! let now = Duration::ZERO;
//! let mut a = Swim::new("a", 1u64, Config::local(), seeded(1), now).unwrap();
//! let mut b = Swim::new("b", 2u64, Config::local(), seeded(2), now).unwrap();
//! b.set_metadata(now, b"zone=eu".to_vec()).unwrap();
//! b.join(now, [1u64]);
//! // Deliver b's push-pull to a, and a's answer back.
//! let t = b.poll_transmit().unwrap();
//! assert_eq!(t.kind, TransmitKind::Stream);
//! let answer = a.handle_stream(now, 2, &t.bytes).unwrap().unwrap();
//! b.handle_stream(now, 1, &answer).unwrap();
//! match a.poll_event() {
//!     Some(Event::Joined(m)) => assert_eq!((m.name.as_str(), m.meta.as_slice()), ("b", &b"zone=eu"[..])),
//!     other => panic!("{other:?}"),
//! }
//! // From now on a probes b on its timer: deliver the datagrams both ways.
//! let t1 = Duration::from_secs(1); // one probe interval of the local preset
//! assert!(a.poll_timeout().unwrap() <= t1);
//! a.handle_timer(t1);
//! for _ in 0..4 {
//!     while let Some(t) = a.poll_transmit() {
//!         b.handle_datagram(t1, 1, &t.bytes).unwrap();
//!     }
//!     while let Some(t) = b.poll_transmit() {
//!         a.handle_datagram(t1, 2, &t.bytes).unwrap();
//!     }
//! }
//! assert_eq!(a.stats().probes, 1);
//! assert_eq!(a.local_health(), 0); // the ack came back
//! ```
//!
//! Where to look next:
//!
//! - [`Config`]: timers and limits, with memberlist's LAN/WAN/local presets;
//!   [`Stability`] for Rapid-style stable removal and flap damping.
//! - [`BroadcastHandler`]: receive application broadcasts (and exchange
//!   application state during push-pull).
//! - [`wire`]: the versioned binary format, the cluster label, encryption
//!   with a rotating [`wire::Keyring`] (feature `encryption`) and LZ4
//!   compression (feature `compression`).
//! - [`supersedes`]: the membership merge rule; [`suspicion_timeout`]:
//!   Lifeguard's shrinking timeout.
//! - `runtime` (feature `tokio`, on by default): UDP + TCP driver with a
//!   `Gossip` handle.
#![deny(missing_docs, unreachable_pub)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod address;
mod broadcast;
mod config;
mod core;
mod error;
mod health;
mod member;
mod queue;
pub mod wire;

#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub mod runtime;

pub use address::Address;
pub use broadcast::{BroadcastHandler, SeenBroadcasts};
pub use config::{Config, Stability};
pub use core::{Event, Stats, SuspicionInfo, Swim, Transmit, TransmitKind};
pub use error::{Error, Result};
pub use health::{Awareness, suspicion_timeout};
pub use member::{Member, State, refutation_incarnation, supersedes};
