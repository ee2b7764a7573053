//! The breaker against a plain sequential reference model: same random call
//! outcomes, durations, held permits and clock moves; identical decisions
//! (admitted or rejected, with the same time until the trial) and states.
//!
//! The model covers count, time and consecutive windows, slow calls, fixed
//! and jittered exponential backoff, half-open trials (held, finished,
//! dropped, late), the half-open time limit, ramp-up, and manual transitions
//! into every state (disabled, metrics-only and forced-open included). After
//! every step the window's contents (calls, failures, slow calls in the
//! metrics) must match too, so an outcome counted where it does not belong
//! is caught even when it changes no decision yet.

use murmura_breaker::{
    Backoff, CircuitBreaker, Config, Error, Outcome, Permit, RampUp, State, WindowKind,
};
use murmura_core::rng::{DefaultRng, SeedableRng};
use murmura_core::time::ManualClock;
use proptest::prelude::*;
use std::collections::VecDeque;
use std::time::Duration;

#[derive(Debug, Clone)]
enum Op {
    Wait(u64),
    /// A call that completes at once (after `millis`).
    Call {
        millis: u64,
        outcome: Outcome,
        closure: bool,
    },
    /// Acquire a permit and keep it.
    Hold,
    /// Finish the oldest held permit now: record `outcome`, or drop it.
    Finish {
        outcome: Outcome,
        drop: bool,
    },
    /// A manual transition (`State::Closed` twice over: `reset` or
    /// `transition_to_closed`, chosen by `reset`).
    Force {
        to: State,
        reset: bool,
    },
}

#[derive(Debug, Clone)]
struct Setup {
    window: WindowKind,
    minimum_calls: u32,
    failure_threshold: f32,
    slow_threshold: f32,
    slow: Option<Duration>,
    slow_is_failure: bool,
    trials: u32,
    backoff: Backoff,
    max_half_open: Option<Duration>,
    ramp: Option<RampUp>,
}

impl Setup {
    fn config(&self) -> Config {
        let mut b = Config::builder()
            .window(self.window)
            .minimum_calls(self.minimum_calls)
            .failure_rate_threshold(self.failure_threshold)
            .slow_call_rate_threshold(self.slow_threshold)
            .slow_success_is_failure(self.slow_is_failure)
            .half_open_calls(self.trials)
            .backoff(self.backoff)
            .jitter_seed(99);
        if let Some(s) = self.slow {
            b = b.slow_call_duration(s);
        }
        if let Some(m) = self.max_half_open {
            b = b.max_wait_in_half_open(m);
        }
        if let Some(r) = self.ramp {
            b = b.ramp_up(r);
        }
        b.build().expect("valid")
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Lane {
    Window,
    Trial,
    /// Disabled: admitted, recorded nowhere.
    Free,
}

/// The reference: the textbook state machine, with a plain list as window,
/// evaluating the thresholds after every recorded outcome.
struct Model {
    s: Setup,
    state: State,
    /// Bumped by every transition; a permit from another epoch is late.
    epoch: u64,
    calls: VecDeque<(u64, bool, bool)>,
    /// The epoch that last emptied the window.
    window_epoch: u64,
    run: u64,
    open_until: u64,
    rounds: u32,
    trial_ok: u64,
    trial_failed: u64,
    trial_slow: u64,
    in_flight: u64,
    half_open_since: u64,
    ramp_start: u64,
    ramp_calls: u64,
    rng: DefaultRng,
}

const SEC: u64 = 1_000_000_000;

fn nanos(d: Duration) -> u64 {
    d.as_nanos() as u64
}

impl Model {
    fn new(s: Setup) -> Self {
        Model {
            s,
            state: State::Closed,
            epoch: 0,
            calls: VecDeque::new(),
            window_epoch: 0,
            run: 0,
            open_until: 0,
            rounds: 0,
            trial_ok: 0,
            trial_failed: 0,
            trial_slow: 0,
            in_flight: 0,
            half_open_since: 0,
            ramp_start: 0,
            ramp_calls: 0,
            rng: DefaultRng::seed_from_u64(99),
        }
    }

    fn transition(&mut self, to: State, now: u64) {
        let from = self.state;
        self.epoch += 1;
        self.state = to;
        match to {
            State::Open => {
                self.rounds = if from == State::Closed {
                    0
                } else {
                    self.rounds + 1
                };
                self.open_until = now + nanos(self.s.backoff.delay(self.rounds, &mut self.rng));
            }
            State::HalfOpen => {
                (
                    self.trial_ok,
                    self.trial_failed,
                    self.trial_slow,
                    self.in_flight,
                ) = (0, 0, 0, 0);
                self.half_open_since = now;
            }
            State::Closed => {
                self.rounds = 0;
                if from != State::RampingUp {
                    self.reset_window();
                }
            }
            State::RampingUp => {
                self.reset_window();
                self.ramp_start = now;
                self.ramp_calls = 0;
            }
            State::MetricsOnly => self.reset_window(),
            State::Disabled | State::ForcedOpen => {}
        }
    }

    fn reset_window(&mut self) {
        self.window_epoch = self.epoch;
        self.calls.clear();
        self.run = 0;
    }

    /// The lane and epoch of an admitted call, or the rejection's retry-after.
    fn admit(&mut self, now: u64) -> Result<(Lane, u64), Option<Duration>> {
        loop {
            match self.state {
                State::Closed | State::MetricsOnly => return Ok((Lane::Window, self.epoch)),
                State::Disabled => return Ok((Lane::Free, self.epoch)),
                State::ForcedOpen => return Err(None),
                State::Open => {
                    if now < self.open_until {
                        return Err(Some(Duration::from_nanos(self.open_until - now)));
                    }
                    self.transition(State::HalfOpen, now);
                }
                State::HalfOpen => {
                    if self.in_flight + self.trial_ok + self.trial_failed < u64::from(self.s.trials)
                    {
                        self.in_flight += 1;
                        return Ok((Lane::Trial, self.epoch));
                    }
                    if self
                        .s
                        .max_half_open
                        .is_some_and(|m| now - self.half_open_since >= nanos(m))
                    {
                        self.transition(State::Open, now);
                        continue;
                    }
                    return Err(None);
                }
                State::RampingUp => {
                    let ramp = self.s.ramp.expect("ramping needs a ramp");
                    let elapsed = now - self.ramp_start;
                    let total = nanos(ramp.duration);
                    if elapsed >= total {
                        self.transition(State::Closed, now);
                        continue;
                    }
                    // Share in millionths of a percent, exact.
                    let initial = (f64::from(ramp.initial_percent) * 1e6).round() as u128;
                    let share =
                        initial + (100_000_000 - initial) * u128::from(elapsed) / u128::from(total);
                    let n = u128::from(self.ramp_calls);
                    self.ramp_calls += 1;
                    if (n + 1) * share / 100_000_000 == n * share / 100_000_000 {
                        return Err(None);
                    }
                    return Ok((Lane::Window, self.epoch));
                }
            }
        }
    }

    fn in_window(&self, now: u64) -> (u64, u64, u64) {
        let live: Vec<_> = match self.s.window {
            WindowKind::Time { seconds } => self
                .calls
                .iter()
                .filter(|(t, _, _)| now / SEC - t / SEC < u64::from(seconds))
                .collect(),
            _ => self.calls.iter().collect(),
        };
        let n = live.len() as u64;
        let f = live.iter().filter(|c| c.1).count() as u64;
        let s = live.iter().filter(|c| c.2).count() as u64;
        (n, f, s)
    }

    fn push(&mut self, end: u64, failure: bool, slow: bool) {
        match self.s.window {
            WindowKind::Consecutive { .. } => self.run = if failure { self.run + 1 } else { 0 },
            WindowKind::Count { size } => {
                self.calls.push_back((end, failure, slow));
                if self.calls.len() > size as usize {
                    self.calls.pop_front();
                }
            }
            WindowKind::Time { .. } => self.calls.push_back((end, failure, slow)),
        }
    }

    /// (calls, failed, slow) as the breaker's metrics report them.
    fn window_metrics(&self, now: u64) -> (u64, u64, u64) {
        match self.s.window {
            WindowKind::Consecutive { .. } => (self.run, self.run, 0),
            _ => self.in_window(now),
        }
    }

    fn release(&mut self, lane: Lane, epoch: u64) {
        if lane == Lane::Trial && epoch == self.epoch && self.in_flight > 0 {
            self.in_flight -= 1;
        }
    }

    fn finish(&mut self, lane: Lane, epoch: u64, end: u64, elapsed: u64, outcome: Outcome) {
        let slow = self.s.slow.is_some_and(|d| elapsed >= nanos(d)) && outcome != Outcome::Ignored;
        let failure = outcome == Outcome::Failure
            || (slow && outcome == Outcome::Success && self.s.slow_is_failure);
        let rate = |x: u64, n: u64| x as f64 * 100.0 / n as f64;
        match lane {
            Lane::Free => {}
            Lane::Trial => {
                if epoch != self.epoch || self.in_flight == 0 {
                    return; // late
                }
                self.in_flight -= 1;
                if outcome == Outcome::Ignored {
                    return;
                }
                if failure {
                    self.trial_failed += 1;
                } else {
                    self.trial_ok += 1;
                }
                self.trial_slow += u64::from(slow);
                let k = u64::from(self.s.trials);
                if self.trial_ok + self.trial_failed == k && self.state == State::HalfOpen {
                    let reopen = rate(self.trial_failed, k) >= f64::from(self.s.failure_threshold)
                        || (self.s.slow.is_some()
                            && rate(self.trial_slow, k) >= f64::from(self.s.slow_threshold));
                    let to = if reopen {
                        State::Open
                    } else if self.s.ramp.is_some() {
                        State::RampingUp
                    } else {
                        State::Closed
                    };
                    self.transition(to, end);
                }
            }
            Lane::Window => {
                if outcome == Outcome::Ignored {
                    return;
                }
                let live = epoch == self.epoch
                    && matches!(
                        self.state,
                        State::Closed | State::RampingUp | State::MetricsOnly
                    );
                if !live {
                    // Late, whatever the outcome and the window: never
                    // counted against a newer generation.
                    return;
                }
                self.push(end, failure, slow);
                if self.state == State::MetricsOnly {
                    return; // records, never opens
                }
                // As resilience4j: the thresholds are evaluated on every
                // recorded outcome, successes included (one that brings the
                // window up to the minimum, or lands after older calls of a
                // time window expired, can open it).
                let trips = match self.s.window {
                    WindowKind::Consecutive { threshold } => self.run >= u64::from(threshold),
                    _ => {
                        let (n, f, s) = self.in_window(end);
                        n >= u64::from(self.s.minimum_calls)
                            && (rate(f, n) >= f64::from(self.s.failure_threshold)
                                || (self.s.slow.is_some()
                                    && rate(s, n) >= f64::from(self.s.slow_threshold)))
                    }
                };
                if trips {
                    self.transition(State::Open, end);
                }
            }
        }
    }
}

fn setup() -> impl Strategy<Value = Setup> {
    let window = prop_oneof![
        (1u32..8).prop_map(|size| WindowKind::Count { size }),
        (1u32..5).prop_map(|seconds| WindowKind::Time { seconds }),
        (1u32..4).prop_map(|threshold| WindowKind::Consecutive { threshold }),
    ];
    let backoff = prop_oneof![
        (1u64..3).prop_map(|s| Backoff::Fixed(Duration::from_secs(s))),
        Just(Backoff::Exponential {
            initial: Duration::from_secs(1),
            multiplier: 2.0,
            max: Duration::from_secs(8),
            jitter: 0.5,
        }),
    ];
    let ramp = prop::option::of((1u64..4, prop_oneof![Just(25.0f32), Just(50.0)]).prop_map(
        |(s, p)| RampUp {
            duration: Duration::from_secs(s),
            initial_percent: p,
        },
    ));
    (
        (
            window,
            1u32..6,
            prop_oneof![Just(25.0f32), Just(50.0), Just(100.0)],
            prop_oneof![Just(50.0f32), Just(100.0)],
        ),
        (
            prop::option::of(Just(Duration::from_millis(50))),
            any::<bool>(),
            1u32..4,
            backoff,
        ),
        (
            prop::option::of((1u64..4).prop_map(Duration::from_secs)),
            ramp,
        ),
    )
        .prop_map(
            |(
                (window, minimum_calls, failure_threshold, slow_threshold),
                (slow, slow_is_failure, trials, backoff),
                (max_half_open, ramp),
            )| Setup {
                window,
                // A count window never holds more than its size (a larger
                // minimum is a configuration error).
                minimum_calls: match window {
                    WindowKind::Count { size } => minimum_calls.min(size),
                    _ => minimum_calls,
                },
                failure_threshold,
                slow_threshold,
                slow,
                slow_is_failure,
                trials,
                backoff,
                max_half_open,
                ramp,
            },
        )
}

fn outcome() -> impl Strategy<Value = Outcome> {
    prop_oneof![3 => Just(Outcome::Success), 2 => Just(Outcome::Failure), 1 => Just(Outcome::Ignored)]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => (0u64..2_500).prop_map(Op::Wait),
        6 => (0u64..100, outcome(), any::<bool>())
            .prop_map(|(millis, outcome, closure)| Op::Call { millis, outcome, closure }),
        1 => Just(Op::Hold),
        1 => (outcome(), prop::bool::weighted(0.3)).prop_map(|(outcome, drop)| Op::Finish { outcome, drop }),
        1 => (
            prop_oneof![
                Just(State::Closed),
                Just(State::Open),
                Just(State::HalfOpen),
                Just(State::Disabled),
                Just(State::MetricsOnly),
                Just(State::ForcedOpen),
            ],
            any::<bool>(),
        )
            .prop_map(|(to, reset)| Op::Force { to, reset }),
    ]
}

type Held<'a> = (
    Permit<&'a CircuitBreaker<ManualClock>, ManualClock>,
    Lane,
    u64,
    u64,
);

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn breaker_matches_reference_model(s in setup(), ops in prop::collection::vec(op(), 1..200)) {
        let clock = ManualClock::new(Duration::from_secs(100));
        let breaker = CircuitBreaker::with_clock("model", s.config(), clock.clone());
        let mut model = Model::new(s);
        let mut held: VecDeque<Held<'_>> = VecDeque::new();
        for (i, op) in ops.into_iter().enumerate() {
            let now = clock.now_nanos();
            match op {
                Op::Wait(ms) => clock.advance(Duration::from_millis(ms)),
                Op::Call { millis, outcome, closure: true } => {
                    // The closure API (which takes a permit-free lane when closed).
                    let expected = model.admit(now);
                    let classify = |_: &Result<(), ()>| outcome;
                    match breaker.call_with(&classify, || {
                        clock.advance(Duration::from_millis(millis));
                        Ok(())
                    }) {
                        Err(Error::Rejected { retry_after, .. }) => {
                            prop_assert_eq!(expected.map(|_| ()), Err(retry_after), "op {}", i);
                        }
                        Ok(()) => {
                            let (lane, epoch) = expected.map_err(|_| TestCaseError::fail(format!("op {i}: breaker admitted, model rejected")))?;
                            model.finish(lane, epoch, now + millis * 1_000_000, millis * 1_000_000, outcome);
                        }
                        Err(e) => prop_assert!(false, "unexpected error {e:?}"),
                    }
                }
                Op::Call { millis, outcome, closure: false } => {
                    let expected = model.admit(now);
                    match breaker.try_acquire() {
                        Ok(permit) => {
                            let (lane, epoch) = expected.map_err(|_| TestCaseError::fail(format!("op {i}: breaker admitted, model rejected")))?;
                            clock.advance(Duration::from_millis(millis));
                            permit.record(outcome);
                            model.finish(lane, epoch, now + millis * 1_000_000, millis * 1_000_000, outcome);
                        }
                        Err(Error::Rejected { retry_after, .. }) => {
                            prop_assert_eq!(expected.map(|_| ()), Err(retry_after), "op {}", i);
                        }
                        Err(e) => prop_assert!(false, "unexpected error {e:?}"),
                    }
                }
                Op::Hold => {
                    let expected = model.admit(now);
                    match breaker.try_acquire() {
                        Ok(permit) => {
                            let (lane, epoch) = expected.map_err(|_| TestCaseError::fail(format!("op {i}: breaker admitted, model rejected")))?;
                            held.push_back((permit, lane, epoch, now));
                        }
                        Err(Error::Rejected { retry_after, .. }) => {
                            prop_assert_eq!(expected.map(|_| ()), Err(retry_after), "op {}", i);
                        }
                        Err(e) => prop_assert!(false, "unexpected error {e:?}"),
                    }
                }
                Op::Force { to, reset } => {
                    match to {
                        State::Closed if reset => breaker.reset(),
                        State::Closed => breaker.transition_to_closed(),
                        State::Open => breaker.transition_to_open(),
                        State::HalfOpen => breaker.transition_to_half_open(),
                        State::Disabled => breaker.transition_to_disabled(),
                        State::MetricsOnly => breaker.transition_to_metrics_only(),
                        State::ForcedOpen => breaker.transition_to_forced_open(),
                        other => unreachable!("not generated: {other:?}"),
                    }
                    model.transition(to, now);
                }
                Op::Finish { outcome, drop } => {
                    if let Some((permit, lane, epoch, start)) = held.pop_front() {
                        if drop {
                            std::mem::drop(permit);
                            model.release(lane, epoch);
                        } else {
                            permit.record(outcome);
                            model.finish(lane, epoch, now, now - start, outcome);
                        }
                    }
                }
            }
            prop_assert_eq!(breaker.state(), model.state, "op {}", i);
            let m = breaker.metrics();
            prop_assert_eq!(
                (m.buffered_calls, m.failed_calls, m.slow_calls),
                model.window_metrics(clock.now_nanos()),
                "op {}: window contents (calls, failed, slow)", i
            );
        }
    }
}
