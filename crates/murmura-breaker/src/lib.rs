//! Circuit breaker, retry and bulkhead: keep a failing dependency from
//! dragging its callers down.
//!
//! A [`CircuitBreaker`] watches the outcomes of the calls it guards. While
//! **closed** it lets calls through and records them in a sliding window
//! (the last N calls, the last N seconds, or failures in a row). When the
//! failure rate or the slow-call rate reaches its threshold it **opens** and
//! rejects calls at once, with the time until the next trial. After a wait
//! (fixed, or exponential with jitter growing with each failed trial round)
//! it goes **half-open** and admits exactly K trial calls, which close it
//! again — optionally ramping traffic up — or re-open it.
//!
//! ```
//! use murmura_breaker::{CircuitBreaker, Config, Error, State, WindowKind};
//! use murmura_core::time::ManualClock;
//! use std::time::Duration;
//!
//! let clock = ManualClock::new(Duration::ZERO);
//! let config = Config::builder()
//!     .window(WindowKind::Count { size: 10 })
//!     .minimum_calls(5)
//!     .failure_rate_threshold(50.0)
//!     .wait_in_open(Duration::from_secs(30))
//!     .half_open_calls(2)
//!     .build()
//!     .expect("valid config");
//! let breaker = CircuitBreaker::with_clock("inventory", config, clock.clone());
//!
//! // Five failures in five calls: 100 % ≥ 50 %, the breaker opens.
//! for _ in 0..5 {
//!     let result = breaker.call(|| Err::<(), _>("connection refused"));
//!     assert!(matches!(result, Err(Error::Inner("connection refused"))));
//! }
//! assert_eq!(breaker.state(), State::Open);
//!
//! // Rejected without running the closure, with the time until the trial.
//! let err = breaker.call(|| Ok::<_, &str>("never runs")).unwrap_err();
//! assert_eq!(err.retry_after(), Some(Duration::from_secs(30)));
//!
//! // After the wait, two trial calls succeed and the breaker closes.
//! clock.advance(Duration::from_secs(30));
//! breaker.call(|| Ok::<_, &str>(()))?;
//! assert_eq!(breaker.state(), State::HalfOpen);
//! breaker.call(|| Ok::<_, &str>(()))?;
//! assert_eq!(breaker.state(), State::Closed);
//! # Ok::<(), Error<&str>>(())
//! ```
//!
//! As in resilience4j, the thresholds are evaluated whenever a recorded
//! outcome can have changed the answer: after every failure and slow call,
//! after the success that brings the window up to `minimum_calls`, and (time
//! window) on the first call of each second, when older calls expire. Any
//! other success can only lower the rates, so it is not evaluated; that is
//! what keeps the happy path free. ([`Metrics::would_trip`] tells whether
//! the window meets a threshold now.)
//!
//! The closed-state happy path takes no lock, allocates nothing and writes
//! no shared cache line: one load of the state word, then (count window with
//! no failure in it, or consecutive window with no failure run) a few loads
//! of one read-mostly line, or (time window) a second load of the state word,
//! a plain load and store on a stripe that only the calling thread writes
//! (no locked instruction) plus a clock read (every call, or one in
//! [`ConfigBuilder::clock_sample_every`]; the default clock,
//! `murmura_core::time::FastClock`, reads the CPU's cycle counter, and a
//! [`CoarseClock`] makes that read one atomic load). A count window that holds failures
//! moves one shared cursor per call, and a success writes nothing else.
//! Failures, slow calls and transitions take slower paths; a transition that
//! empties the window fences out outcomes of the old generation, and every
//! outcome of an older generation is dropped, so that a late outcome is
//! never counted against the new state. Half-open trials are counted under
//! the transition lock (half-open is never the hot path), checked against
//! the full generation.
//!
//! Beside the breaker: [`Retry`] (exponential backoff with jitter and a retry
//! budget), [`Bulkhead`] (a concurrency limit), a [`Registry`] of named
//! breakers, [`Listener`]s for events and, behind features, a tower layer
//! (`tower`) and a broadcast event stream (`tokio`).
#![deny(missing_docs, unreachable_pub)]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod breaker;
mod bulkhead;
mod classify;
mod coarse;
mod config;
mod error;
mod event;
mod permit;
mod registry;
mod retry;
mod state;
mod stripe;
#[cfg(feature = "tower")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower")))]
pub mod tower;
mod window;

pub use breaker::{CircuitBreaker, Metrics};
pub use bulkhead::{Bulkhead, BulkheadMetrics, BulkheadPermit};
pub use classify::{ByDefault, Classifier, Outcome, Predicates};
pub use coarse::CoarseClock;
pub use config::{Backoff, Config, ConfigBuilder, RampUp, WindowKind};
pub use error::{Error, Result};
#[cfg(feature = "tokio")]
pub use event::EventStream;
pub use event::{Event, Listener};
pub use permit::Permit;
pub use registry::Registry;
pub use retry::{Retry, RetryBudget, RetryMetrics};
pub use state::State;

#[cfg(all(test, loom))]
mod loom_tests;
