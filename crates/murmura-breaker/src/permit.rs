//! Permits: the right to make one call, returned with its outcome.

use crate::breaker::CircuitBreaker;
use crate::classify::Outcome;
use murmura_core::time::Clock;
use std::ops::Deref;

/// Which accounting an admitted call feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lane {
    /// Closed, ramping up or metrics-only: the sliding window.
    Window,
    /// One of the K half-open trial slots.
    Trial,
    /// Disabled: nothing is recorded.
    Free,
}

/// What a permit remembers: the generation it was issued in, its lane, and
/// when the call started (0 unless slow calls are tracked).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ticket {
    pub(crate) generation: u64,
    pub(crate) lane: Lane,
    pub(crate) started: u64,
}

/// The right to make one call through a breaker. Record how it went with
/// [`success`](Permit::success), [`failure`](Permit::failure),
/// [`ignore`](Permit::ignore) or [`record`](Permit::record); a permit dropped
/// unrecorded gives back its half-open trial slot and counts as nothing.
/// An outcome recorded after the breaker changed state (any transition,
/// `reset` included) is ignored, whatever the window kind and whatever the
/// outcome: a late success ends no failure run, a late failure counts in no
/// window, and a trial of an earlier half-open round decides nothing in a
/// later one however many rounds have passed. (An outcome recorded at the
/// very moment of a transition that keeps the window, such as closed to
/// open, may land in that window; it never lands in one emptied after it
/// was admitted.)
///
/// `B` is `&CircuitBreaker` (from [`CircuitBreaker::try_acquire`]) or
/// `Arc<CircuitBreaker>` (from [`CircuitBreaker::try_acquire_owned`]).
///
/// ```
/// use murmura_breaker::{CircuitBreaker, Config, State, WindowKind};
///
/// let config = Config::builder()
///     .window(WindowKind::Consecutive { threshold: 1 })
///     .build()
///     .unwrap();
/// let breaker = CircuitBreaker::new("db", config);
/// let permit = breaker.try_acquire().unwrap();
/// // ... the call that could not be wrapped in a closure ...
/// permit.failure();
/// assert_eq!(breaker.state(), State::Open);
/// assert!(breaker.try_acquire().is_err());
/// ```
#[must_use = "a permit should be recorded; dropping it counts the call as nothing"]
#[derive(Debug)]
pub struct Permit<B, C = murmura_core::time::FastClock>
where
    B: Deref<Target = CircuitBreaker<C>>,
    C: Clock,
{
    breaker: B,
    ticket: Ticket,
    done: bool,
}

impl<B, C> Permit<B, C>
where
    B: Deref<Target = CircuitBreaker<C>>,
    C: Clock,
{
    #[inline]
    pub(crate) fn new(breaker: B, ticket: Ticket) -> Self {
        Self {
            breaker,
            ticket,
            done: false,
        }
    }

    /// The breaker generation this permit was issued in.
    pub fn generation(&self) -> u64 {
        self.ticket.generation
    }

    /// Records `outcome`.
    #[inline]
    pub fn record(mut self, outcome: Outcome) {
        self.done = true;
        self.breaker.finish(self.ticket, outcome);
    }

    /// Records a success.
    #[inline]
    pub fn success(self) {
        self.record(Outcome::Success)
    }

    /// Records a failure.
    pub fn failure(self) {
        self.record(Outcome::Failure)
    }

    /// Records nothing but gives the trial slot back, like a drop.
    pub fn ignore(self) {
        self.record(Outcome::Ignored)
    }
}

impl<B, C> Drop for Permit<B, C>
where
    B: Deref<Target = CircuitBreaker<C>>,
    C: Clock,
{
    #[inline]
    fn drop(&mut self) {
        if !self.done && self.ticket.lane == Lane::Trial {
            self.breaker.release(self.ticket);
        }
    }
}
