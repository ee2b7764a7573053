//! Events: transitions, rejections, errors and slow calls, pushed to
//! listeners (and, with the `tokio` feature, to a broadcast stream).

use crate::state::State;
use std::sync::Arc;
use std::time::Duration;

/// Something a breaker, retry or bulkhead reports.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// The breaker changed state.
    StateTransition {
        /// Breaker name.
        name: Arc<str>,
        /// Old state.
        from: State,
        /// New state.
        to: State,
    },
    /// The breaker rejected a call.
    Rejected {
        /// Breaker name.
        name: Arc<str>,
        /// State that rejected it.
        state: State,
    },
    /// A guarded call failed (was classified as a failure).
    Error {
        /// Breaker name.
        name: Arc<str>,
        /// How long it ran, when the call was timed.
        elapsed: Option<Duration>,
    },
    /// A failure was ignored by the classifier.
    IgnoredError {
        /// Breaker name.
        name: Arc<str>,
    },
    /// A call was at least as slow as the slow-call threshold.
    SlowCall {
        /// Breaker name.
        name: Arc<str>,
        /// How long it ran.
        elapsed: Duration,
    },
    /// Opening was held back because too many breakers of the registry are open.
    OpenSuppressed {
        /// Breaker name.
        name: Arc<str>,
    },
    /// A retry will run after `delay`.
    Retry {
        /// Retry policy name.
        name: Arc<str>,
        /// Which attempt failed (1 = the first).
        attempt: u32,
        /// Wait before the next attempt.
        delay: Duration,
    },
    /// A bulkhead refused a call.
    BulkheadFull {
        /// Bulkhead name.
        name: Arc<str>,
    },
}

/// Receives events. Called on the thread that caused the event, never on the
/// closed-state happy path; keep it quick.
pub trait Listener: Send + Sync {
    /// Handles one event.
    fn on_event(&self, event: &Event);
}

impl<F: Fn(&Event) + Send + Sync> Listener for F {
    fn on_event(&self, event: &Event) {
        self(event)
    }
}

/// A list of listeners.
#[derive(Clone, Default)]
pub(crate) struct Listeners(Vec<Arc<dyn Listener>>);

impl std::fmt::Debug for Listeners {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} listeners", self.0.len())
    }
}

impl Listeners {
    pub(crate) fn push(&mut self, l: Arc<dyn Listener>) {
        self.0.push(l);
    }
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Arc<dyn Listener>> {
        self.0.iter()
    }
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub(crate) fn emit(&self, make: impl FnOnce() -> Event) {
        if self.0.is_empty() {
            return;
        }
        let e = make();
        for l in &self.0 {
            l.on_event(&e);
        }
    }
}

/// A listener that forwards every event into a tokio broadcast channel, so
/// any number of tasks can `subscribe()` to a stream of events. Slow
/// subscribers miss events (they see `Lagged`), the breaker never waits.
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
#[derive(Debug, Clone)]
pub struct EventStream {
    sender: tokio::sync::broadcast::Sender<Event>,
}

#[cfg(feature = "tokio")]
impl EventStream {
    /// A channel buffering up to `capacity` events per subscriber.
    pub fn new(capacity: usize) -> Self {
        Self {
            sender: tokio::sync::broadcast::channel(capacity.max(1)).0,
        }
    }
    /// A new receiver of every later event.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Event> {
        self.sender.subscribe()
    }
}

#[cfg(feature = "tokio")]
impl Listener for EventStream {
    fn on_event(&self, event: &Event) {
        // No subscriber is not an error: nobody is listening right now.
        let _ = self.sender.send(event.clone());
    }
}
