//! Deterministic tests on the manual clock: every transition and backoff step.

use crate::{fail, ok, rig};
use murmura_breaker::{
    Backoff, Config, Error, Event, Outcome, Predicates, RampUp, State, WindowKind,
};
use std::time::Duration;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[test]
fn count_window_opens_only_after_minimum_calls_at_threshold() {
    let (b, _, _) = rig(Config::builder()
        .window(WindowKind::Count { size: 10 })
        .minimum_calls(4)
        .failure_rate_threshold(50.0));
    assert!(fail(&b) && fail(&b) && fail(&b));
    assert_eq!(b.state(), State::Closed, "3 calls < minimum 4");
    assert!(ok(&b));
    assert_eq!(
        b.state(),
        State::Open,
        "the success that makes 4 calls leaves 3 of 4 failed: 75 % >= 50 %"
    );
    let m = b.metrics();
    assert_eq!(
        (m.buffered_calls, m.failed_calls, m.successful_calls),
        (4, 3, 1)
    );
    assert_eq!(m.failure_rate, Some(75.0));
    assert!(m.would_trip);
}

#[test]
fn count_window_evicts_old_failures() {
    let (b, _, _) = rig(Config::builder()
        .window(WindowKind::Count { size: 4 })
        .minimum_calls(4)
        .failure_rate_threshold(75.0));
    fail(&b);
    fail(&b);
    for _ in 0..4 {
        ok(&b);
    }
    // Window now [ok ok ok ok]; two failures would be 2/4 = 50 % < 75 %
    // if the old ones had been evicted, 4/8 if they were not (no eviction).
    fail(&b);
    fail(&b);
    assert_eq!(b.state(), State::Closed);
    fail(&b);
    assert_eq!(b.state(), State::Open, "3 of the last 4");
}

#[test]
fn time_window_forgets_calls_older_than_its_length() {
    let (b, clock, _) = rig(Config::builder()
        .window(WindowKind::Time { seconds: 5 })
        .minimum_calls(3)
        .failure_rate_threshold(60.0));
    fail(&b);
    fail(&b);
    clock.advance(secs(5));
    fail(&b);
    assert_eq!(b.state(), State::Closed, "the first two failures expired");
    assert_eq!(b.metrics().buffered_calls, 1);
    ok(&b);
    fail(&b);
    assert_eq!(b.state(), State::Open, "2 of 3 within the last 5 s");
}

#[test]
fn consecutive_failures_reset_by_a_success() {
    let (b, _, _) = rig(Config::builder().window(WindowKind::Consecutive { threshold: 3 }));
    fail(&b);
    fail(&b);
    ok(&b);
    fail(&b);
    fail(&b);
    assert_eq!(b.state(), State::Closed);
    fail(&b);
    assert_eq!(b.state(), State::Open);
}

#[test]
fn slow_calls_open_on_slow_rate_and_can_count_as_failures() {
    let (b, clock, log) = rig(Config::builder()
        .window(WindowKind::Count { size: 4 })
        .minimum_calls(2)
        .slow_call_duration(Duration::from_millis(100))
        .slow_call_rate_threshold(100.0));
    let slow_ok = || {
        b.call(|| {
            clock.advance(Duration::from_millis(150));
            Ok::<_, ()>(())
        })
    };
    slow_ok().expect("admitted");
    assert_eq!(b.state(), State::Closed);
    slow_ok().expect("admitted");
    assert_eq!(b.state(), State::Open, "2 of 2 slow");
    assert_eq!(
        b.metrics().failed_calls,
        0,
        "slow successes are not failures by default"
    );
    assert!(log.lock().expect("log").iter().any(
        |e| matches!(e, Event::SlowCall { elapsed, .. } if *elapsed == Duration::from_millis(150))
    ));

    let (b, clock, _) = rig(Config::builder()
        .window(WindowKind::Count { size: 4 })
        .minimum_calls(2)
        .failure_rate_threshold(100.0)
        .slow_call_duration(Duration::from_millis(100))
        .slow_success_is_failure(true));
    for _ in 0..2 {
        b.call(|| {
            clock.advance(Duration::from_millis(100));
            Ok::<_, ()>(())
        })
        .expect("admitted");
    }
    assert_eq!(b.metrics().failed_calls, 2);
    assert_eq!(b.state(), State::Open);
}

#[test]
fn rejection_carries_time_until_trial_and_half_open_closes_after_k_successes() {
    let (b, clock, log) = rig(Config::builder()
        .window(WindowKind::Consecutive { threshold: 1 })
        .wait_in_open(secs(10))
        .half_open_calls(3));
    fail(&b);
    clock.advance(secs(4));
    match b.call(|| Ok::<_, ()>(())) {
        Err(Error::Rejected {
            state: State::Open,
            retry_after,
            ..
        }) => assert_eq!(retry_after, Some(secs(6))),
        other => panic!("expected rejection, got {other:?}"),
    }
    clock.advance(secs(6));
    let p1 = b.try_acquire().expect("trial 1");
    assert_eq!(b.state(), State::HalfOpen);
    let p2 = b.try_acquire().expect("trial 2");
    let p3 = b.try_acquire().expect("trial 3");
    let fourth = b.try_acquire().expect_err("only 3 trials");
    assert!(matches!(
        fourth,
        Error::Rejected {
            state: State::HalfOpen,
            retry_after: None,
            ..
        }
    ));
    p1.success();
    p2.success();
    assert_eq!(b.state(), State::HalfOpen);
    p3.success();
    assert_eq!(b.state(), State::Closed);
    let states: Vec<(State, State)> = log
        .lock()
        .expect("log")
        .iter()
        .filter_map(|e| match e {
            Event::StateTransition { from, to, .. } => Some((*from, *to)),
            _ => None,
        })
        .collect();
    assert_eq!(
        states,
        vec![
            (State::Closed, State::Open),
            (State::Open, State::HalfOpen),
            (State::HalfOpen, State::Closed)
        ]
    );
    assert_eq!(b.metrics().not_permitted_calls, 2);
}

#[test]
fn failed_trials_reopen_with_growing_capped_backoff_that_resets_when_closed() {
    let (b, clock, _) = rig(Config::builder()
        .window(WindowKind::Consecutive { threshold: 1 })
        .half_open_calls(2)
        .failure_rate_threshold(50.0)
        .backoff(Backoff::Exponential {
            initial: secs(1),
            multiplier: 2.0,
            max: secs(5),
            jitter: 0.0,
        }));
    fail(&b);
    let mut waits = vec![b.remaining_open().expect("open")];
    for _ in 0..4 {
        clock.advance(*waits.last().expect("a wait"));
        ok(&b);
        fail(&b); // 1 of 2 trials failed = 50 %: re-open
        assert_eq!(b.state(), State::Open);
        waits.push(b.remaining_open().expect("open"));
    }
    assert_eq!(waits, vec![secs(1), secs(2), secs(4), secs(5), secs(5)]);
    clock.advance(secs(5));
    ok(&b);
    ok(&b);
    assert_eq!(b.state(), State::Closed);
    fail(&b);
    assert_eq!(
        b.remaining_open(),
        Some(secs(1)),
        "backoff restarts after closing"
    );
}

#[test]
fn jitter_comes_from_the_seeded_generator() {
    let backoff = Backoff::Exponential {
        initial: secs(8),
        multiplier: 2.0,
        max: secs(60),
        jitter: 0.5,
    };
    let waits = |seed: u64| {
        let config = Config::builder()
            .window(WindowKind::Consecutive { threshold: 1 })
            .backoff(backoff)
            .half_open_calls(1)
            .jitter_seed(seed)
            .build()
            .expect("valid");
        let clock = murmura_core::time::ManualClock::default();
        let b = murmura_breaker::CircuitBreaker::with_clock("j", config, clock.clone());
        let _ = b.call(|| Err::<(), _>(()));
        let mut out = vec![];
        for _ in 0..3 {
            let w = b.remaining_open().expect("open");
            out.push(w);
            clock.advance(w);
            let _ = b.call(|| Err::<(), _>(()));
        }
        out
    };
    let a = waits(3);
    assert_eq!(a, waits(3), "same seed, same waits");
    assert_ne!(a, waits(4));
    for (round, w) in a.iter().enumerate() {
        let base = 8.0 * 2f64.powi(round as i32);
        assert!(
            w.as_secs_f64() >= base * 0.5 && w.as_secs_f64() <= base * 1.5,
            "{w:?} round {round}"
        );
    }
}

#[test]
fn half_open_times_out_into_open_when_trials_never_finish() {
    let (b, clock, _) = rig(Config::builder()
        .window(WindowKind::Consecutive { threshold: 1 })
        .wait_in_open(secs(1))
        .half_open_calls(1)
        .max_wait_in_half_open(secs(3)));
    fail(&b);
    clock.advance(secs(1));
    let stuck = b.try_acquire().expect("trial");
    clock.advance(secs(2));
    assert!(b.try_acquire().is_err());
    assert_eq!(b.state(), State::HalfOpen);
    clock.advance(secs(1));
    assert!(b.try_acquire().is_err());
    assert_eq!(b.state(), State::Open, "max wait in half-open elapsed");
    stuck.success(); // late: ignored
    assert_eq!(b.state(), State::Open);
}

#[test]
fn dropped_and_ignored_trials_give_their_slot_back() {
    let (b, clock, _) = rig(Config::builder()
        .window(WindowKind::Consecutive { threshold: 1 })
        .wait_in_open(secs(1))
        .half_open_calls(1));
    fail(&b);
    clock.advance(secs(1));
    drop(b.try_acquire().expect("trial"));
    b.try_acquire().expect("slot given back").ignore();
    assert_eq!(b.state(), State::HalfOpen);
    let ignoring = Predicates::new().ignore_error(|_: &()| true);
    let _ = b.call_with(&ignoring, || Err::<(), ()>(()));
    assert_eq!(b.state(), State::HalfOpen, "ignored error decides nothing");
    b.try_acquire()
        .expect("still free")
        .record(Outcome::Success);
    assert_eq!(b.state(), State::Closed);
}

#[test]
fn late_outcome_of_an_old_generation_is_ignored() {
    let (b, _, _) = rig(Config::builder().window(WindowKind::Consecutive { threshold: 1 }));
    let old = b.try_acquire().expect("closed");
    b.transition_to_open();
    b.transition_to_closed();
    old.failure();
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.metrics().failed_calls, 0);
}

#[test]
fn ramp_up_admits_a_growing_share_then_closes() {
    let (b, clock, _) = rig(Config::builder()
        .window(WindowKind::Consecutive { threshold: 1 })
        .wait_in_open(secs(1))
        .half_open_calls(1)
        .ramp_up(RampUp {
            duration: secs(10),
            initial_percent: 10.0,
        }));
    fail(&b);
    clock.advance(secs(1));
    ok(&b);
    assert_eq!(b.state(), State::RampingUp);
    let admitted = |n: usize| (0..n).filter(|_| ok(&b)).count();
    assert_eq!(admitted(100), 10, "10 % at the start");
    clock.advance(secs(5));
    assert_eq!(admitted(100), 55, "55 % half way");
    clock.advance(secs(5));
    assert_eq!(admitted(100), 100);
    assert_eq!(b.state(), State::Closed);
}

#[test]
fn a_failure_during_ramp_up_reopens_with_a_longer_wait() {
    let (b, clock, _) = rig(Config::builder()
        .window(WindowKind::Consecutive { threshold: 1 })
        .backoff(Backoff::Exponential {
            initial: secs(1),
            multiplier: 3.0,
            max: secs(60),
            jitter: 0.0,
        })
        .half_open_calls(1)
        .ramp_up(RampUp {
            duration: secs(10),
            initial_percent: 100.0,
        }));
    fail(&b);
    clock.advance(secs(1));
    ok(&b);
    assert_eq!(b.state(), State::RampingUp);
    fail(&b);
    assert_eq!(b.state(), State::Open);
    assert_eq!(b.remaining_open(), Some(secs(3)));
}

#[test]
fn manual_states_disabled_metrics_only_forced_open_and_reset() {
    let (b, _, _) = rig(Config::builder().window(WindowKind::Consecutive { threshold: 1 }));
    b.transition_to_disabled();
    for _ in 0..5 {
        assert!(fail(&b));
    }
    assert_eq!(b.state(), State::Disabled);
    b.transition_to_metrics_only();
    for _ in 0..5 {
        assert!(fail(&b));
    }
    assert_eq!(b.state(), State::MetricsOnly);
    assert_eq!(b.metrics().failed_calls, 5, "recorded, never tripped");
    b.transition_to_forced_open();
    assert!(matches!(
        b.call(|| Ok::<_, ()>(())),
        Err(Error::Rejected {
            state: State::ForcedOpen,
            retry_after: None,
            ..
        })
    ));
    b.reset();
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.metrics().failed_calls, 0);
    b.transition_to_half_open();
    assert_eq!(b.state(), State::HalfOpen);
}

#[test]
fn predicates_classify_errors_and_results() {
    let (b, _, log) = rig(Config::builder().window(WindowKind::Consecutive { threshold: 2 }));
    let classifier = Predicates::new()
        .ignore_error(|e: &&str| *e == "cancelled")
        .fail_result(|code: &u16| *code >= 500);
    for _ in 0..3 {
        let _ = b.call_with(&classifier, || Err::<u16, _>("cancelled"));
    }
    assert_eq!(b.state(), State::Closed);
    assert_eq!(
        log.lock()
            .expect("log")
            .iter()
            .filter(|e| matches!(e, Event::IgnoredError { .. }))
            .count(),
        3
    );
    let r = b.call_with(&classifier, || Ok::<u16, &str>(503));
    assert_eq!(r.expect("admitted"), 503);
    let _ = b.call_with(&classifier, || Ok::<u16, &str>(500));
    assert_eq!(b.state(), State::Open);
    let custom = |r: &Result<u8, u8>| {
        if r.is_ok() {
            Outcome::Failure
        } else {
            Outcome::Success
        }
    };
    b.transition_to_closed();
    let _ = b.call_with(&custom, || Ok(1));
    let _ = b.call_with(&custom, || Ok(1));
    assert_eq!(b.state(), State::Open);
}

#[test]
fn real_threads_take_exactly_k_trials_and_leave_a_consistent_window() {
    use murmura_breaker::CircuitBreaker;
    use std::sync::Barrier;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let config = Config::builder()
        .window(WindowKind::Count { size: 64 })
        .minimum_calls(64)
        .failure_rate_threshold(100.0) // never met by the mixed outcomes below
        .half_open_calls(5)
        .build()
        .expect("valid");
    let b = CircuitBreaker::new("stress", config);
    for round in 0..20 {
        b.transition_to_half_open();
        let admitted = AtomicUsize::new(0);
        let start = Barrier::new(4);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    start.wait();
                    let mut held = Vec::new();
                    for _ in 0..50 {
                        if let Ok(p) = b.try_acquire() {
                            admitted.fetch_add(1, Ordering::SeqCst);
                            held.push(p);
                        }
                    }
                    std::mem::forget(held); // keep every slot taken
                });
            }
        });
        assert_eq!(admitted.load(Ordering::SeqCst), 5, "round {round}");
    }
    // Mixed outcomes from four threads: the window holds exactly its last 64.
    b.transition_to_closed();
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let b = &b;
            s.spawn(move || {
                for i in 0..5_000u64 {
                    let _ = b.call(|| if (i + t) % 7 == 0 { Err(()) } else { Ok(()) });
                }
            });
        }
    });
    let m = b.metrics();
    assert_eq!(m.buffered_calls, 64);
    assert!(m.failed_calls <= 64);
    assert_eq!(b.state(), State::Closed, "minimum calls never reached");
}

#[test]
fn one_stripe_time_window_still_counts_every_thread() {
    use murmura_breaker::CircuitBreaker;
    let clock = murmura_core::time::ManualClock::new(secs(50));
    let config = Config::builder()
        .window(WindowKind::Time { seconds: 2 })
        .minimum_calls(10_000)
        .stripes(1)
        .build()
        .expect("valid");
    let b = CircuitBreaker::with_clock("one-stripe", config, clock);
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| {
                for _ in 0..1_000 {
                    let _ = b.call(|| Ok::<_, ()>(()));
                }
            });
        }
    });
    assert_eq!(b.metrics().buffered_calls, 3_000);
}
