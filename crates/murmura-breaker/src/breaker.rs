//! The circuit breaker: a packed state word read on every call, a window fed
//! by outcomes, and transitions serialised by a mutex that the hot path never
//! touches.

use crate::classify::{ByDefault, Classifier, Outcome};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::event::{Event, Listener, Listeners};
use crate::permit::{Lane, Permit, Ticket};
use crate::registry::OpenBudget;
use crate::state::{State, Word};
use crate::stripe::{Padded, StripedCounter, stripe_count, thread_index};
use crate::window::{Mark, Thresholds, Unfenced, Window};
use murmura_core::rng::{DefaultRng, SeedableRng};
use murmura_core::sync::Mutex;
use murmura_core::sync::atomic::{AtomicU64, Ordering};
use murmura_core::time::{Clock, FastClock};
use std::future::Future;
use std::time::Duration;

/// A circuit breaker. Share it by reference or in an `Arc`.
///
/// ```
/// use murmura_breaker::{CircuitBreaker, Config, Error, State, WindowKind};
/// use murmura_core::time::ManualClock;
/// use std::time::Duration;
///
/// let clock = ManualClock::new(Duration::ZERO);
/// let config = Config::builder()
///     .window(WindowKind::Count { size: 4 })
///     .minimum_calls(4)
///     .failure_rate_threshold(50.0)
///     .wait_in_open(Duration::from_secs(10))
///     .half_open_calls(1)
///     .build()
///     .expect("valid config");
/// let breaker = CircuitBreaker::with_clock("payments", config, clock.clone());
///
/// for ok in [true, true, false, false] {
///     let _ = breaker.call(|| if ok { Ok(()) } else { Err("boom") });
/// }
/// assert_eq!(breaker.state(), State::Open);
/// let rejected = breaker.call(|| Ok::<_, &str>(())).unwrap_err();
/// assert_eq!(rejected.retry_after(), Some(Duration::from_secs(10)));
///
/// clock.advance(Duration::from_secs(10));
/// assert_eq!(breaker.call(|| Ok::<_, &str>(7))?, 7); // the one trial call
/// assert_eq!(breaker.state(), State::Closed);
/// # Ok::<(), Error<&str>>(())
/// ```
pub struct CircuitBreaker<C = FastClock> {
    word: Padded<AtomicU64>,
    window: Window,
    aux: Padded<Aux>,
    rejected: StripedCounter,
    /// Per-stripe count of fenced recorders in progress.
    fences: Box<[Padded<AtomicU64>]>,
    config: Config,
    thresholds: Thresholds,
    name: std::sync::Arc<str>,
    clock: C,
    timed: bool,
    transitions: Mutex<Transitions>,
    listeners: Listeners,
    budget: Option<std::sync::Arc<OpenBudget>>,
}

/// A rejection on its way to becoming an [`Error::Rejected`]: two whole
/// words (the state as its code), so that handing it back through memory
/// reads each word as it was written.
#[derive(Debug, Clone, Copy)]
struct Rejection {
    state: u64,
    /// Nanoseconds until the next trial, or [`NO_RETRY_AFTER`].
    retry_after_nanos: u64,
}

/// The time until the next trial is not known.
const NO_RETRY_AFTER: u64 = u64::MAX;

/// 100 % in millionths of a percent.
const ALL: u128 = 100_000_000;

/// The share of calls a ramp admits `elapsed` nanoseconds into `total`, in
/// millionths of a percent.
fn ramp_share(initial_percent: f32, elapsed: u64, total: u64) -> u128 {
    let initial = u128::from(crate::window::exact_percent(initial_percent));
    initial + (ALL - initial) * u128::from(elapsed) / u128::from(total.max(1))
}

/// Per-state values written only by transitions (and half-open trials).
#[derive(Debug, Default)]
struct Aux {
    open_until: AtomicU64,
    half_open: AtomicU64,
    half_open_since: AtomicU64,
    ramp_start: AtomicU64,
    ramp_calls: AtomicU64,
}

#[derive(Debug)]
struct Transitions {
    rng: DefaultRng,
    /// Failed trial rounds since the breaker was last fully closed.
    rounds: u32,
}

impl<C: Clock> std::fmt::Debug for CircuitBreaker<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CircuitBreaker")
            .field("name", &self.name)
            .field("state", &self.state())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Half-open trial accounting in one word: trials in flight, and completed
/// successes, failures and slow calls. The word is emptied by the
/// transition into half-open and changed only under the transition lock,
/// after checking that the state word still names the trial's round (its
/// full generation), so no trial of an older round is ever counted in a
/// newer one. Lock-free readers use it only to reject early and for metrics.
mod trials {
    const F: u32 = 12;
    const M: u64 = (1 << F) - 1;
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(super) struct Trials {
        pub(super) in_flight: u64,
        pub(super) ok: u64,
        pub(super) failed: u64,
        pub(super) slow: u64,
    }
    impl Trials {
        pub(super) const FRESH: u64 = 0;
        pub(super) fn unpack(w: u64) -> Trials {
            Trials {
                in_flight: (w >> (3 * F)) & M,
                ok: (w >> (2 * F)) & M,
                failed: (w >> F) & M,
                slow: w & M,
            }
        }
        pub(super) fn pack(self) -> u64 {
            (self.in_flight << (3 * F)) | (self.ok << (2 * F)) | (self.failed << F) | self.slow
        }
        pub(super) fn done(self) -> u64 {
            self.ok + self.failed
        }
    }
}
use trials::Trials;

/// A snapshot of a breaker's state and window. For a consecutive-failures
/// window the "window" is the current run of failures, so `buffered_calls`
/// and `failed_calls` both count that run.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[non_exhaustive]
pub struct Metrics {
    /// Current state.
    pub state: State,
    /// Failure rate in percent, once the window holds the minimum calls.
    pub failure_rate: Option<f32>,
    /// Slow-call rate in percent, once the window holds the minimum calls.
    pub slow_call_rate: Option<f32>,
    /// Calls in the window.
    pub buffered_calls: u64,
    /// Failed calls in the window.
    pub failed_calls: u64,
    /// Slow calls in the window.
    pub slow_calls: u64,
    /// Successful calls in the window.
    pub successful_calls: u64,
    /// Calls rejected since the breaker was built.
    pub not_permitted_calls: u64,
    /// Half-open trials running now.
    pub trials_in_flight: u64,
    /// Whether the window, as it stands now, meets a threshold (with the
    /// minimum calls in it): a closed breaker opens on the next outcome
    /// it records — or would have opened, if it is metrics-only, or was
    /// held closed by a registry's cap. Whatever the state.
    pub would_trip: bool,
}

impl CircuitBreaker<FastClock> {
    /// A breaker on the monotonic clock read from the CPU's cycle counter
    /// ([`FastClock`], about 12 ns a read against about 30 ns for
    /// `Instant::now()`); [`with_clock`](Self::with_clock) takes any other.
    pub fn new(name: impl Into<std::sync::Arc<str>>, config: Config) -> Self {
        Self::with_clock(name, config, FastClock::new())
    }
}

impl<C: Clock> CircuitBreaker<C> {
    /// A breaker reading time from `clock`.
    pub fn with_clock(name: impl Into<std::sync::Arc<str>>, config: Config, clock: C) -> Self {
        let now = clock.now_nanos();
        let rng = match config.jitter_seed {
            Some(seed) => DefaultRng::seed_from_u64(seed),
            None => murmura_core::rng::from_entropy(),
        };
        let stripes = config.stripes.map_or_else(stripe_count, |n| n as usize);
        Self {
            word: Padded(AtomicU64::new(
                Word {
                    state: State::Closed,
                    generation: 0,
                    retiring: false,
                }
                .pack(),
            )),
            window: Window::new(&config, stripes, now),
            aux: Padded(Aux::default()),
            rejected: StripedCounter::new(stripes),
            fences: (0..stripes).map(|_| Padded(AtomicU64::new(0))).collect(),
            timed: config.slow_call_duration.is_some(),
            thresholds: Thresholds::new(&config),
            config,
            name: name.into(),
            clock,
            transitions: Mutex::new(Transitions { rng, rounds: 0 }),
            listeners: Listeners::default(),
            budget: None,
        }
    }

    /// Adds a listener for this breaker's events (before sharing the breaker).
    pub fn with_listener(mut self, listener: impl Listener + 'static) -> Self {
        self.listeners.push(std::sync::Arc::new(listener));
        self
    }

    pub(crate) fn with_shared_listener(mut self, listener: std::sync::Arc<dyn Listener>) -> Self {
        self.listeners.push(listener);
        self
    }

    pub(crate) fn with_budget(mut self, budget: std::sync::Arc<OpenBudget>) -> Self {
        self.budget = Some(budget);
        self
    }

    /// The breaker's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The current state (open stays open until a call arrives after the wait).
    pub fn state(&self) -> State {
        self.load().state
    }

    #[inline]
    fn load(&self) -> Word {
        Word::unpack(self.word.load(Ordering::Acquire))
    }

    /// Runs `f` if the breaker admits it; `Ok` counts as success, `Err` as failure.
    ///
    /// # Errors
    /// [`Error::Rejected`] without running `f`, or [`Error::Inner`] with `f`'s error.
    #[inline]
    pub fn call<T, E>(&self, f: impl FnOnce() -> std::result::Result<T, E>) -> Result<T, E> {
        self.call_with(&ByDefault, f)
    }

    /// Like [`call`](Self::call), classifying the result with `classifier`.
    ///
    /// # Errors
    /// As [`call`](Self::call).
    #[inline]
    pub fn call_with<T, E, K: Classifier<T, E>>(
        &self,
        classifier: &K,
        f: impl FnOnce() -> std::result::Result<T, E>,
    ) -> Result<T, E> {
        // Closed and untimed: no permit to hand back, so none is built.
        if let Some(admitted) = self.fast_lane() {
            let result = f();
            self.finish_window(admitted, classifier.classify(&result));
            return result.map_err(Error::Inner);
        }
        self.call_with_permit(classifier, f)
    }

    /// The rest of [`call_with`](Self::call_with), out of line so that the
    /// fast lane stays small.
    #[inline(never)]
    fn call_with_permit<T, E, K: Classifier<T, E>>(
        &self,
        classifier: &K,
        f: impl FnOnce() -> std::result::Result<T, E>,
    ) -> Result<T, E> {
        let ticket = match self.admit() {
            Ok(ticket) => ticket,
            Err(r) => return self.rejected_result(r),
        };
        let permit = Permit::new(self, ticket);
        let result = f();
        permit.record(classifier.classify(&result));
        result.map_err(Error::Inner)
    }

    /// The packed state word, if a call may go straight through: closed
    /// (or metrics-only) and no call timing needed.
    #[inline]
    fn fast_lane(&self) -> Option<u64> {
        let raw = self.word.load(Ordering::Acquire);
        (Word::admits_freely(raw) && !self.timed).then_some(raw)
    }

    /// Records the outcome of a fast-lane call: a success that changes
    /// nothing costs a couple of loads; anything else takes the full path.
    /// (Kept tiny so that it inlines into every call site: the count and
    /// consecutive windows' clean checks are a load or two here.)
    /// `admitted` is the state word the call was admitted under.
    #[inline(always)]
    fn finish_window(&self, admitted: u64, outcome: Outcome) {
        if outcome == Outcome::Success {
            match &self.window {
                Window::Count(w) if w.is_clean() => return,
                Window::Consecutive { run, .. } if run.load(Ordering::Relaxed) == 0 => return,
                Window::Time(_) => return self.finish_time_success(admitted),
                _ => {}
            }
        }
        self.finish_slow(Word::generation_of(admitted), outcome);
    }

    /// A fast-lane success on a time window: counted if the state word is
    /// still the one the call was admitted under (any transition since
    /// makes it late), which is one compare.
    #[inline]
    fn finish_time_success(&self, admitted: u64) {
        let generation = Word::generation_of(admitted);
        match self.window.record_clean_unfenced(
            generation,
            || self.word.load(Ordering::Acquire) == admitted,
            || self.clock.now_nanos(),
        ) {
            Unfenced::Done => {}
            Unfenced::Evaluate => self.evaluate(generation),
            Unfenced::Fence => self.finish_slow(generation, Outcome::Success),
        }
    }

    /// Whether the breaker still records outcomes of `generation`.
    #[inline]
    fn live(&self, generation: u64) -> bool {
        Word::records_in(self.word.load(Ordering::Acquire), generation)
    }

    /// Evaluates the thresholds after a success recorded without the fence
    /// (a transition to open empties nothing, so no fence is needed).
    #[cold]
    #[inline(never)]
    fn evaluate(&self, generation: u64) {
        let w = self.load();
        if w.generation != generation
            || w.retiring
            || !matches!(w.state, State::Closed | State::RampingUp)
        {
            return;
        }
        let now = self.clock.now_nanos();
        if self.window.decide(&self.thresholds, || now) {
            self.transition(w, State::Open, now, false);
        }
    }

    #[inline(never)]
    fn finish_slow(&self, generation: u64, outcome: Outcome) {
        // `finish` for an untimed window call whose success (if it is one)
        // the window has already declined to take unfenced.
        let ticket = Ticket {
            generation,
            lane: Lane::Window,
            started: 0,
        };
        if !self.listeners.is_empty() {
            self.emit_outcome(outcome, ticket, 0);
        }
        if outcome != Outcome::Ignored {
            let mark = Mark {
                failure: outcome == Outcome::Failure,
                slow: false,
            };
            self.record_fenced(ticket, mark, || self.clock.now_nanos());
        }
    }

    /// Awaits `fut` if the breaker admits it. If the returned future is
    /// dropped before `fut` completes, the permit is given back and nothing
    /// is recorded.
    ///
    /// # Errors
    /// As [`call`](Self::call).
    pub async fn call_async<T, E, F>(&self, fut: F) -> Result<T, E>
    where
        F: Future<Output = std::result::Result<T, E>>,
    {
        self.call_async_with(&ByDefault, fut).await
    }

    /// Like [`call_async`](Self::call_async), classifying with `classifier`.
    ///
    /// # Errors
    /// As [`call`](Self::call).
    pub async fn call_async_with<T, E, F, K>(&self, classifier: &K, fut: F) -> Result<T, E>
    where
        F: Future<Output = std::result::Result<T, E>>,
        K: Classifier<T, E>,
    {
        if let Some(admitted) = self.fast_lane() {
            // Dropped before completion: nothing recorded, nothing to return.
            let result = fut.await;
            self.finish_window(admitted, classifier.classify(&result));
            return result.map_err(Error::Inner);
        }
        let ticket = self.admit().map_err(|r| self.rejected(r))?;
        let permit = Permit::new(self, ticket);
        let result = fut.await;
        permit.record(classifier.classify(&result));
        result.map_err(Error::Inner)
    }

    /// A permit for one call, or the rejection.
    ///
    /// # Errors
    /// [`Error::Rejected`], with the time until the next trial when known.
    #[inline]
    pub fn try_acquire(&self) -> Result<Permit<&Self, C>> {
        match self.admit() {
            Ok(t) => Ok(Permit::new(self, t)),
            Err(r) => Err(self.rejected(r)),
        }
    }

    /// Like [`try_acquire`](Self::try_acquire), for a permit that outlives a borrow.
    ///
    /// # Errors
    /// As [`try_acquire`](Self::try_acquire).
    pub fn try_acquire_owned(
        self: &std::sync::Arc<Self>,
    ) -> Result<Permit<std::sync::Arc<Self>, C>> {
        match self.admit() {
            Ok(t) => Ok(Permit::new(self.clone(), t)),
            Err(r) => Err(self.rejected(r)),
        }
    }

    #[inline]
    fn started(&self) -> u64 {
        if self.timed {
            self.clock.now_nanos()
        } else {
            0
        }
    }

    #[inline]
    fn admit(&self) -> std::result::Result<Ticket, Rejection> {
        let w = self.load();
        if matches!(w.state, State::Closed | State::MetricsOnly) {
            return Ok(Ticket {
                generation: w.generation,
                lane: Lane::Window,
                started: self.started(),
            });
        }
        self.admit_slow(w)
    }

    #[cold]
    fn admit_slow(&self, mut w: Word) -> std::result::Result<Ticket, Rejection> {
        // Each pass either decides or follows a transition; transitions are
        // finite between two calls, but bound the loop anyway.
        for _ in 0..8 {
            let now = self.clock.now_nanos();
            let lane = match w.state {
                State::Closed | State::MetricsOnly => Lane::Window,
                State::Disabled => Lane::Free,
                State::ForcedOpen => return Err(self.reject(w.state, NO_RETRY_AFTER)),
                State::Open => {
                    let until = self.aux.open_until.load(Ordering::Acquire);
                    if now < until {
                        // (A wait of u64::MAX nanoseconds reads one short.)
                        let retry_after = (until - now).min(NO_RETRY_AFTER - 1);
                        return Err(self.reject(w.state, retry_after));
                    }
                    self.transition(w, State::HalfOpen, now, false);
                    w = self.load();
                    continue;
                }
                State::HalfOpen => match self.take_trial(w) {
                    Some(()) => Lane::Trial,
                    None => {
                        if self.half_open_expired(now) {
                            self.transition(w, State::Open, now, false);
                        }
                        let now_w = self.load();
                        if now_w != w {
                            w = now_w;
                            continue;
                        }
                        return Err(self.reject(w.state, NO_RETRY_AFTER));
                    }
                },
                State::RampingUp => {
                    let Some(ramp) = self.config.ramp_up else {
                        return Err(self.reject(w.state, NO_RETRY_AFTER));
                    };
                    let start = self.aux.ramp_start.load(Ordering::Acquire);
                    let elapsed = now.saturating_sub(start);
                    let total = u64::try_from(ramp.duration.as_nanos()).unwrap_or(u64::MAX);
                    if elapsed >= total {
                        self.transition(w, State::Closed, now, false);
                        w = self.load();
                        continue;
                    }
                    // Admitted share in millionths of a percent, growing
                    // linearly from the percentage as written (exact
                    // integers: 10 % admits exactly one call in ten).
                    let share = ramp_share(ramp.initial_percent, elapsed, total);
                    let n = u128::from(self.aux.ramp_calls.fetch_add(1, Ordering::AcqRel));
                    if (n + 1) * share / ALL == n * share / ALL {
                        return Err(self.reject(w.state, NO_RETRY_AFTER));
                    }
                    Lane::Window
                }
            };
            return Ok(Ticket {
                generation: w.generation,
                lane,
                started: if self.timed { now } else { 0 },
            });
        }
        Err(self.reject(w.state, NO_RETRY_AFTER))
    }

    fn half_open_expired(&self, now: u64) -> bool {
        self.config.max_wait_in_half_open.is_some_and(|max| {
            let since = self.aux.half_open_since.load(Ordering::Acquire);
            now.saturating_sub(since) >= u64::try_from(max.as_nanos()).unwrap_or(u64::MAX)
        })
    }

    /// Takes one of the K trial slots of the round `w` names. A full round
    /// (or a newer one, since `w` was loaded before the trial word) is
    /// rejected without the lock; a slot is taken under it, in exactly
    /// `w`'s round.
    fn take_trial(&self, w: Word) -> Option<()> {
        let limit = u64::from(self.config.half_open_calls);
        let full = |raw: u64| {
            let t = Trials::unpack(raw);
            t.in_flight + t.done() >= limit
        };
        if full(self.aux.half_open.load(Ordering::Acquire)) {
            return None;
        }
        let _round = self
            .transitions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let raw = self.aux.half_open.load(Ordering::Acquire);
        if self.word.load(Ordering::Acquire) != w.pack() || full(raw) {
            return None;
        }
        let t = Trials::unpack(raw);
        let next = Trials {
            in_flight: t.in_flight + 1,
            ..t
        };
        self.aux.half_open.store(next.pack(), Ordering::Release);
        Some(())
    }

    /// Counts a rejection and tells the listeners; the error itself is
    /// built later by [`rejected`](Self::rejected), in the caller.
    #[inline]
    fn reject(&self, state: State, retry_after_nanos: u64) -> Rejection {
        self.rejected.add(1);
        if !self.listeners.is_empty() {
            self.emit_rejected(state);
        }
        Rejection {
            state: state.code(),
            retry_after_nanos,
        }
    }

    #[cold]
    fn emit_rejected(&self, state: State) {
        self.listeners.emit(|| Event::Rejected {
            name: self.name.clone(),
            state,
        });
    }

    /// The result of a rejected call, built where the caller returns it.
    #[inline(never)]
    fn rejected_result<T, E>(&self, r: Rejection) -> Result<T, E> {
        Err(self.rejected(r))
    }

    /// The error for a rejection (for any operation error type).
    #[inline]
    fn rejected<E>(&self, r: Rejection) -> Error<E> {
        Error::Rejected {
            name: self.name.clone(),
            state: State::from_code(r.state),
            retry_after: (r.retry_after_nanos != NO_RETRY_AFTER)
                .then(|| Duration::from_nanos(r.retry_after_nanos)),
        }
    }

    /// Gives back a trial slot of a permit dropped unrecorded.
    pub(crate) fn release(&self, ticket: Ticket) {
        self.finish_trial(ticket, Outcome::Ignored, false);
    }

    /// Records a permit's outcome.
    #[inline]
    pub(crate) fn finish(&self, ticket: Ticket, outcome: Outcome) {
        let mut now = 0;
        let mut slow = false;
        if self.timed {
            now = self.clock.now_nanos();
            let elapsed = Duration::from_nanos(now.saturating_sub(ticket.started));
            slow = outcome != Outcome::Ignored
                && self.config.slow_call_duration.is_some_and(|t| elapsed >= t);
            if slow {
                self.listeners.emit(|| Event::SlowCall {
                    name: self.name.clone(),
                    elapsed,
                });
            }
        }
        let failure = outcome == Outcome::Failure
            || (slow && outcome == Outcome::Success && self.config.slow_success_is_failure);
        if !self.listeners.is_empty() {
            self.emit_outcome(outcome, ticket, now);
        }
        match ticket.lane {
            Lane::Free => {}
            Lane::Trial => self.finish_trial(ticket, outcome, slow),
            Lane::Window if outcome == Outcome::Ignored => {}
            Lane::Window => {
                let mark = Mark { failure, slow };
                let clock = || {
                    if self.timed {
                        now
                    } else {
                        self.clock.now_nanos()
                    }
                };
                if mark.is_clean() {
                    match self.window.record_clean_unfenced(
                        ticket.generation,
                        || self.live(ticket.generation),
                        clock,
                    ) {
                        Unfenced::Done => return,
                        Unfenced::Evaluate => return self.evaluate(ticket.generation),
                        Unfenced::Fence => {}
                    }
                }
                self.record_fenced(ticket, mark, clock);
            }
        }
    }

    #[cold]
    fn emit_outcome(&self, outcome: Outcome, ticket: Ticket, now: u64) {
        match outcome {
            Outcome::Failure => self.listeners.emit(|| Event::Error {
                name: self.name.clone(),
                elapsed: self
                    .timed
                    .then(|| Duration::from_nanos(now.saturating_sub(ticket.started))),
            }),
            Outcome::Ignored => self.listeners.emit(|| Event::IgnoredError {
                name: self.name.clone(),
            }),
            Outcome::Success => {}
        }
    }

    /// Records an outcome that must not leak into a later generation's
    /// window: inside the calling thread's fence, after checking the
    /// generation. A transition that resets the window first moves the
    /// generation on, then waits for every fence to be empty, so an outcome
    /// is either recorded before the reset (and wiped) or sees the new
    /// generation and is dropped as late. (Clean successes on a time window
    /// skip the fence: its counters carry the reset's generation instead.)
    /// The clock is read at most once, and only if the window or a
    /// decision needs it (a count window recording a success does not).
    #[cold]
    fn record_fenced(&self, ticket: Ticket, mark: Mark, clock: impl Fn() -> u64) {
        let read = std::cell::Cell::new(None);
        let now = || {
            let t = read.get().unwrap_or_else(&clock);
            read.set(Some(t));
            t
        };
        let fence = &self.fences[thread_index() & (self.fences.len() - 1)];
        fence.fetch_add(1, Ordering::AcqRel);
        let w = Word::unpack(self.word.load(Ordering::Acquire));
        let trips = if w.generation != ticket.generation || w.retiring || !w.state.records_window()
        {
            // Late: the window it belonged to is gone, or is being emptied
            // right now (a reset's fence scan may already have passed us).
            false
        } else {
            // Evaluated whenever the outcome can have made the window trip
            // (every mark; a success only where the window says so).
            self.window.record(mark, w.generation, now)
                && w.state != State::MetricsOnly
                && self.window.decide(&self.thresholds, now)
        };
        fence.fetch_sub(1, Ordering::AcqRel);
        if trips {
            self.transition(w, State::Open, now(), false);
        }
    }

    /// A snapshot of the state and the window.
    pub fn metrics(&self) -> Metrics {
        let now = self.clock.now_nanos();
        let w = self.load();
        let t = self.window.exact_totals(|| now);
        let enough = t.calls > 0 && t.calls >= self.thresholds.minimum;
        let rate = |n: u64| enough.then(|| (n as f64 * 100.0 / t.calls as f64) as f32);
        let trials = Trials::unpack(self.aux.half_open.load(Ordering::Acquire));
        Metrics {
            state: w.state,
            failure_rate: rate(t.failures),
            slow_call_rate: rate(t.slow),
            buffered_calls: t.calls,
            failed_calls: t.failures,
            slow_calls: t.slow,
            successful_calls: t.calls.saturating_sub(t.failures),
            not_permitted_calls: self.rejected.sum(),
            trials_in_flight: if w.state == State::HalfOpen {
                trials.in_flight
            } else {
                0
            },
            would_trip: self.window.trips(t, &self.thresholds),
        }
    }

    /// Whether the window's O(1) totals agree with a full recount.
    #[cfg(test)]
    pub(crate) fn window_consistent(&self) -> bool {
        let now = self.clock.now_nanos();
        self.window.totals(|| now) == self.window.exact_totals(|| now)
    }

    /// Time until an open breaker admits its first trial (zero if it would now).
    pub fn remaining_open(&self) -> Option<Duration> {
        (self.state() == State::Open).then(|| {
            let until = self.aux.open_until.load(Ordering::Acquire);
            Duration::from_nanos(until.saturating_sub(self.clock.now_nanos()))
        })
    }
}

mod transitions;

#[cfg(all(test, not(loom)))]
mod tests;
