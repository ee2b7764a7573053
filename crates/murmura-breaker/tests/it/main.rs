//! Integration tests of murmura-breaker.

mod asyncs;
mod faults;
mod model;
mod registry;
mod resilience;
mod transitions;

use murmura_breaker::{CircuitBreaker, Config, ConfigBuilder, Event};
use murmura_core::time::ManualClock;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A breaker on a manual clock starting at 1000 s, with an event log.
pub(crate) fn rig(
    builder: ConfigBuilder,
) -> (
    CircuitBreaker<ManualClock>,
    ManualClock,
    Arc<Mutex<Vec<Event>>>,
) {
    let clock = ManualClock::new(Duration::from_secs(1000));
    let log = Arc::new(Mutex::new(Vec::new()));
    let sink = log.clone();
    let config: Config = builder.jitter_seed(7).build().expect("valid config");
    let breaker = CircuitBreaker::with_clock("test", config, clock.clone())
        .with_listener(move |e: &Event| sink.lock().expect("log").push(e.clone()));
    (breaker, clock, log)
}

pub(crate) fn ok(b: &CircuitBreaker<ManualClock>) -> bool {
    b.call(|| Ok::<_, ()>(())).is_ok()
}

pub(crate) fn fail(b: &CircuitBreaker<ManualClock>) -> bool {
    !b.call(|| Err::<(), _>(())).is_err_and(|e| e.is_rejected())
}
