//! State transitions: moving the state word on, emptying the window behind
//! its writers, and the half-open trial bookkeeping that decides them.

use super::{CircuitBreaker, Trials};
use crate::classify::Outcome;
use crate::event::Event;
use crate::permit::Ticket;
use crate::state::{State, Word};
use crate::window::at_or_above;
use murmura_core::sync::atomic::Ordering;
use murmura_core::time::Clock;

impl<C: Clock> CircuitBreaker<C> {
    /// Resets the window once no fenced recorder of an older generation can
    /// still write to it; the caller holds the transition lock and has
    /// already published a newer generation.
    pub(super) fn reset_window_fenced(&self, now: u64, generation: u64) {
        // Read-modify-writes on both sides: if this read precedes a
        // recorder's increment in the fence's order, the recorder's
        // increment synchronises with it and its word load sees the new
        // generation (no store-buffer reordering to rely on SeqCst for).
        for fence in self.fences.iter() {
            while fence.fetch_add(0, Ordering::AcqRel) != 0 {
                murmura_core::sync::spin_hint();
            }
        }
        self.window.reset(now, generation);
    }

    /// Counts a trial's outcome in its round (under the transition lock,
    /// so "its round" is the full generation: a trial of an older round is
    /// late however many rounds ago it started) and, for the K-th
    /// completed trial, decides the round.
    pub(super) fn finish_trial(&self, ticket: Ticket, outcome: Outcome, slow: bool) {
        let failure = outcome == Outcome::Failure
            || (slow && outcome == Outcome::Success && self.config.slow_success_is_failure);
        let k = u64::from(self.config.half_open_calls);
        let (w, done) = {
            let _round = self
                .transitions
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let w = self.load();
            if w.state != State::HalfOpen || w.generation != ticket.generation {
                return; // late
            }
            let t = Trials::unpack(self.aux.half_open.load(Ordering::Acquire));
            if t.in_flight == 0 {
                return;
            }
            let mut next = Trials {
                in_flight: t.in_flight - 1,
                ..t
            };
            if outcome != Outcome::Ignored {
                if failure {
                    next.failed += 1;
                } else {
                    next.ok += 1;
                }
                next.slow += u64::from(slow);
            }
            self.aux.half_open.store(next.pack(), Ordering::Release);
            (w, next)
        };
        if outcome == Outcome::Ignored || done.done() < k {
            return;
        }
        // Exactly one trial completes the round; the transition checks
        // that the breaker is still in it.
        let reopen = at_or_above(done.failed, k, self.thresholds.failure)
            || self
                .thresholds
                .slow
                .is_some_and(|s| at_or_above(done.slow, k, s));
        let now = self.clock.now_nanos();
        let to = if reopen {
            State::Open
        } else if self.config.ramp_up.is_some() {
            State::RampingUp
        } else {
            State::Closed
        };
        self.transition(w, to, now, false);
    }

    /// Moves from `from` to `to` if the breaker is still exactly at `from`;
    /// returns whether it did.
    pub(super) fn transition(&self, from: Word, to: State, now: u64, manual: bool) -> bool {
        let mut next = from.next(to);
        {
            let mut t = self
                .transitions
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if self.word.load(Ordering::Acquire) != from.pack() {
                return false;
            }
            let ejected = |s: State| matches!(s, State::Open | State::HalfOpen);
            if let Some(b) = &self.budget {
                if !ejected(from.state) && ejected(to) {
                    if manual {
                        b.force_eject();
                    } else if !b.try_eject() {
                        drop(t);
                        self.listeners.emit(|| Event::OpenSuppressed {
                            name: self.name.clone(),
                        });
                        return false;
                    }
                } else if ejected(from.state) && !ejected(to) {
                    b.restore();
                }
            }
            match to {
                State::Open => {
                    let round = if from.state == State::Closed {
                        t.rounds = 0;
                        0
                    } else {
                        t.rounds = t.rounds.saturating_add(1);
                        t.rounds
                    };
                    let wait = self.config.backoff.delay(round, &mut t.rng);
                    let wait = u64::try_from(wait.as_nanos()).unwrap_or(u64::MAX);
                    self.aux
                        .open_until
                        .store(now.saturating_add(wait), Ordering::Release);
                }
                State::HalfOpen => {
                    self.aux.half_open.store(Trials::FRESH, Ordering::Release);
                    self.aux.half_open_since.store(now, Ordering::Release);
                }
                State::Closed => t.rounds = 0,
                State::RampingUp => {
                    self.aux.ramp_start.store(now, Ordering::Release);
                    self.aux.ramp_calls.store(0, Ordering::Release);
                }
                State::MetricsOnly | State::Disabled | State::ForcedOpen => {}
            }
            let resets = match to {
                State::Closed => from.state != State::RampingUp,
                State::RampingUp | State::MetricsOnly => true,
                _ => false,
            };
            if resets {
                // Retire the old generation first (same state, so callers
                // see no change, but flagged so that outcomes of calls
                // admitted meanwhile are dropped), then empty the window
                // behind its writers.
                let retired = from.retiring();
                self.word.swap(retired.pack(), Ordering::AcqRel);
                next = retired.next(to);
                self.reset_window_fenced(now, next.generation);
            }
            self.word.store(next.pack(), Ordering::Release);
        }
        self.listeners.emit(|| Event::StateTransition {
            name: self.name.clone(),
            from: from.state,
            to,
        });
        true
    }

    fn force(&self, to: State) {
        loop {
            let w = self.load();
            if self.transition(w, to, self.clock.now_nanos(), true) || self.load().state == to {
                return;
            }
        }
    }

    /// Closes the breaker now, with an empty window.
    pub fn transition_to_closed(&self) {
        self.force(State::Closed)
    }
    /// Opens the breaker now, for the backoff's wait.
    pub fn transition_to_open(&self) {
        self.force(State::Open)
    }
    /// Starts a half-open trial round now.
    pub fn transition_to_half_open(&self) {
        self.force(State::HalfOpen)
    }
    /// Admits everything and records nothing until another transition.
    pub fn transition_to_disabled(&self) {
        self.force(State::Disabled)
    }
    /// Admits everything and records outcomes without ever opening.
    pub fn transition_to_metrics_only(&self) {
        self.force(State::MetricsOnly)
    }
    /// Rejects everything until another transition.
    pub fn transition_to_forced_open(&self) {
        self.force(State::ForcedOpen)
    }
    /// Closes the breaker, empties the window and forgets the backoff rounds.
    pub fn reset(&self) {
        self.force(State::Closed);
    }
}
