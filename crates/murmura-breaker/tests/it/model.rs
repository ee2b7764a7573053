//! The breaker against a plain sequential reference model: same random call
//! outcomes, durations and clock moves; identical decisions and states.

use murmura_breaker::{Backoff, CircuitBreaker, Config, Error, Outcome, State, WindowKind};
use murmura_core::rng::{DefaultRng, SeedableRng};
use murmura_core::time::ManualClock;
use proptest::prelude::*;
use std::collections::VecDeque;
use std::time::Duration;

#[derive(Debug, Clone)]
enum Op {
    Wait(u64),
    Call {
        millis: u64,
        outcome: Outcome,
        closure: bool,
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
        b.build().expect("valid")
    }
}

/// The reference: the textbook state machine, with a plain list as window.
struct Model {
    s: Setup,
    state: State,
    calls: VecDeque<(u64, bool, bool)>,
    run: u64,
    open_until: u64,
    rounds: u32,
    trial_ok: u64,
    trial_failed: u64,
    trial_slow: u64,
    rng: DefaultRng,
}

const SEC: u64 = 1_000_000_000;

impl Model {
    fn new(s: Setup) -> Self {
        Model {
            s,
            state: State::Closed,
            calls: VecDeque::new(),
            run: 0,
            open_until: 0,
            rounds: 0,
            trial_ok: 0,
            trial_failed: 0,
            trial_slow: 0,
            rng: DefaultRng::seed_from_u64(99),
        }
    }

    fn open(&mut self, now: u64, round: u32) {
        self.state = State::Open;
        self.rounds = round;
        self.open_until = now + self.s.backoff.delay(round, &mut self.rng).as_nanos() as u64;
    }

    /// Returns `Err(retry_after)` on rejection.
    fn admit(&mut self, now: u64) -> Result<(), Option<Duration>> {
        if self.state == State::Open {
            if now < self.open_until {
                return Err(Some(Duration::from_nanos(self.open_until - now)));
            }
            self.state = State::HalfOpen;
            (self.trial_ok, self.trial_failed, self.trial_slow) = (0, 0, 0);
        }
        Ok(())
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

    fn finish(&mut self, end: u64, millis: u64, outcome: Outcome) {
        let slow = self
            .s
            .slow
            .is_some_and(|d| Duration::from_millis(millis) >= d)
            && outcome != Outcome::Ignored;
        let failure = outcome == Outcome::Failure
            || (slow && outcome == Outcome::Success && self.s.slow_is_failure);
        if outcome == Outcome::Ignored {
            return;
        }
        let rate = |x: u64, n: u64| x as f64 * 100.0 / n as f64;
        match self.state {
            State::HalfOpen => {
                if failure {
                    self.trial_failed += 1;
                } else {
                    self.trial_ok += 1;
                }
                self.trial_slow += u64::from(slow);
                let k = u64::from(self.s.trials);
                if self.trial_ok + self.trial_failed == k {
                    let reopen = rate(self.trial_failed, k) >= f64::from(self.s.failure_threshold)
                        || (self.s.slow.is_some()
                            && rate(self.trial_slow, k) >= f64::from(self.s.slow_threshold));
                    if reopen {
                        let r = self.rounds + 1;
                        self.open(end, r);
                    } else {
                        self.state = State::Closed;
                        self.rounds = 0;
                        self.calls.clear();
                        self.run = 0;
                    }
                }
            }
            State::Closed => {
                match self.s.window {
                    WindowKind::Consecutive { threshold } => {
                        self.run = if failure { self.run + 1 } else { 0 };
                        if self.run >= u64::from(threshold) {
                            self.open(end, 0);
                        }
                        return;
                    }
                    WindowKind::Count { size } => {
                        self.calls.push_back((end, failure, slow));
                        if self.calls.len() > size as usize {
                            self.calls.pop_front();
                        }
                    }
                    WindowKind::Time { .. } => self.calls.push_back((end, failure, slow)),
                }
                if failure || slow {
                    let (n, f, s) = self.in_window(end);
                    let trips = n >= u64::from(self.s.minimum_calls)
                        && (rate(f, n) >= f64::from(self.s.failure_threshold)
                            || (self.s.slow.is_some()
                                && rate(s, n) >= f64::from(self.s.slow_threshold)));
                    if trips {
                        self.open(end, 0);
                    }
                }
            }
            _ => unreachable!("model has only three states"),
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
    (
        window,
        1u32..6,
        prop_oneof![Just(25.0f32), Just(50.0), Just(100.0)],
        prop_oneof![Just(50.0f32), Just(100.0)],
        prop::option::of(Just(Duration::from_millis(50))),
        any::<bool>(),
        1u32..4,
        backoff,
    )
        .prop_map(
            |(
                window,
                minimum_calls,
                failure_threshold,
                slow_threshold,
                slow,
                slow_is_failure,
                trials,
                backoff,
            )| Setup {
                window,
                minimum_calls,
                failure_threshold,
                slow_threshold,
                slow,
                slow_is_failure,
                trials,
                backoff,
            },
        )
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => (0u64..2_500).prop_map(Op::Wait),
        4 => (0u64..100, prop_oneof![3 => Just(Outcome::Success), 2 => Just(Outcome::Failure), 1 => Just(Outcome::Ignored)], any::<bool>())
            .prop_map(|(millis, outcome, closure)| Op::Call { millis, outcome, closure }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn breaker_matches_reference_model(s in setup(), ops in prop::collection::vec(op(), 1..200)) {
        let clock = ManualClock::new(Duration::from_secs(100));
        let breaker = CircuitBreaker::with_clock("model", s.config(), clock.clone());
        let mut model = Model::new(s);
        for (i, op) in ops.into_iter().enumerate() {
            match op {
                Op::Wait(ms) => clock.advance(Duration::from_millis(ms)),
                Op::Call { millis, outcome, closure: true } => {
                    // The closure API (which takes a permit-free lane when closed).
                    let now = clock.now_nanos_for_test();
                    let expected = model.admit(now);
                    let classify = |_: &Result<(), ()>| outcome;
                    match breaker.call_with(&classify, || {
                        clock.advance(Duration::from_millis(millis));
                        Ok(())
                    }) {
                        Err(Error::Rejected { retry_after, .. }) => {
                            prop_assert_eq!(expected, Err(retry_after), "op {}", i);
                        }
                        Ok(()) => {
                            prop_assert!(expected.is_ok(), "op {}: breaker admitted, model rejected", i);
                            model.finish(now + millis * 1_000_000, millis, outcome);
                        }
                        Err(e) => prop_assert!(false, "unexpected error {e:?}"),
                    }
                }
                Op::Call { millis, outcome, closure: false } => {
                    let now = clock.now_nanos_for_test();
                    let expected = model.admit(now);
                    match breaker.try_acquire() {
                        Ok(permit) => {
                            prop_assert!(expected.is_ok(), "op {}: breaker admitted, model rejected", i);
                            clock.advance(Duration::from_millis(millis));
                            permit.record(outcome);
                            model.finish(now + millis * 1_000_000, millis, outcome);
                        }
                        Err(Error::Rejected { retry_after, .. }) => {
                            prop_assert_eq!(expected, Err(retry_after), "op {}", i);
                        }
                        Err(e) => prop_assert!(false, "unexpected error {e:?}"),
                    }
                }
            }
            prop_assert_eq!(breaker.state(), model.state, "op {}", i);
        }
    }
}

trait NowNanos {
    fn now_nanos_for_test(&self) -> u64;
}

impl NowNanos for ManualClock {
    fn now_nanos_for_test(&self) -> u64 {
        murmura_core::time::Clock::now_nanos(self)
    }
}
