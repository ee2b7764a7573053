//! loom models of the state word, the half-open trial count, late permits,
//! the bulkhead limit, retry-budget accounting and the registry open cap.
//!
//! Thread indices come from a `loom::thread_local!` under loom and ended
//! threads' indices are reused, so loom threads get distinct stripes (fences,
//! counters, time-window stripes) and the same ones in every execution loom
//! explores (indices that grew from one execution to the next made loom's
//! replay nondeterministic and its checks fail spuriously). Each loom
//! execution numbers its threads afresh, so the time window's owned stripes
//! (one writer, plain loads and stores) are modelled too, against readers,
//! bucket moves, resets and the shared compare-and-swap stripe.

use crate::{CircuitBreaker, Config, Outcome, State, WindowKind};
use loom::sync::Arc;
use loom::sync::atomic::{AtomicUsize, Ordering};
use murmura_core::time::ManualClock;
use std::time::Duration;

fn breaker(k: u32, threshold: u32) -> CircuitBreaker<ManualClock> {
    let config = Config::builder()
        .window(WindowKind::Consecutive { threshold })
        .half_open_calls(k)
        .wait_in_open(Duration::from_secs(1))
        .jitter_seed(1)
        .build()
        .expect("valid");
    CircuitBreaker::with_clock("loom", config, ManualClock::default())
}

#[test]
fn loom_half_open_admits_exactly_k_trials() {
    loom::model(|| {
        let b = Arc::new(breaker(1, 1));
        b.transition_to_half_open();
        let admitted = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let (b, admitted) = (b.clone(), admitted.clone());
                loom::thread::spawn(move || {
                    if let Ok(p) = b.try_acquire() {
                        admitted.fetch_add(1, Ordering::SeqCst);
                        std::mem::forget(p); // keep the slot taken
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("thread");
        }
        assert_eq!(admitted.load(Ordering::SeqCst), 1);
        assert_eq!(b.state(), State::HalfOpen);
    });
}

#[test]
fn loom_dropped_trial_is_given_back_and_trials_close() {
    loom::model(|| {
        let b = Arc::new(breaker(2, 1));
        b.transition_to_half_open();
        let dropper = {
            let b = b.clone();
            loom::thread::spawn(move || {
                if let Ok(p) = b.try_acquire() {
                    drop(p);
                }
            })
        };
        let succeeder = {
            let b = b.clone();
            loom::thread::spawn(move || b.try_acquire().map(|p| p.success()).is_ok())
        };
        dropper.join().expect("thread");
        let first_ok = succeeder.join().expect("thread");
        assert!(first_ok, "a dropped permit never blocks the second slot");
        assert_eq!(b.metrics().trials_in_flight, 0);
        // One more trial completes the round of two and closes.
        b.try_acquire().expect("slot free").success();
        assert_eq!(b.state(), State::Closed);
    });
}

#[test]
fn loom_concurrent_failures_open_once() {
    loom::model(|| {
        let transitions = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = transitions.clone();
        let b = Arc::new(breaker(1, 2).with_listener(move |e: &crate::Event| {
            if matches!(
                e,
                crate::Event::StateTransition {
                    to: State::Open,
                    ..
                }
            ) {
                seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        }));
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let b = b.clone();
                loom::thread::spawn(move || {
                    if let Ok(p) = b.try_acquire() {
                        p.failure();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("thread");
        }
        assert_eq!(b.state(), State::Open);
        assert_eq!(transitions.load(std::sync::atomic::Ordering::SeqCst), 1);
    });
}

#[test]
fn loom_late_outcome_after_transition_is_ignored() {
    loom::model(|| {
        let b = Arc::new(breaker(1, 1));
        let permit = b.try_acquire().expect("closed");
        let opener = {
            let b = b.clone();
            loom::thread::spawn(move || {
                b.transition_to_open();
                b.transition_to_closed();
            })
        };
        permit.record(Outcome::Failure);
        opener.join().expect("thread");
        // Whether the failure landed before the reopen or after the close,
        // the breaker ends closed with an empty window, or open by that failure
        // only if it came first and was then closed again: always closed here.
        assert_eq!(b.state(), State::Closed);
        assert_eq!(b.metrics().failed_calls, 0);
    });
}

/// A success of the old generation on a consecutive window racing a reset
/// and a failure of the new one: whatever the order, the late success never
/// ends the new generation's run.
#[test]
fn loom_consecutive_late_success_racing_a_reset_keeps_the_new_run() {
    loom::model(|| {
        let b = Arc::new(breaker(1, 3));
        b.try_acquire().expect("closed").failure();
        let old = b.try_acquire().expect("closed");
        let resetter = {
            let b = b.clone();
            loom::thread::spawn(move || {
                b.reset();
                b.try_acquire().expect("closed").failure();
            })
        };
        old.success();
        resetter.join().expect("thread");
        assert_eq!(b.metrics().failed_calls, 1, "the new run holds its failure");
    });
}

/// A trial of an old half-open round finishing while a new round starts
/// and its own trial runs: the stale trial never takes the live one's
/// place, and the round closes.
#[test]
fn loom_stale_trial_racing_a_new_round_is_ignored() {
    loom::model(|| {
        let b = Arc::new(breaker(1, 1));
        b.transition_to_half_open();
        let stale = b.try_acquire().expect("the trial");
        let other = {
            let b = b.clone();
            loom::thread::spawn(move || {
                b.transition_to_half_open();
                b.try_acquire().expect("the new round's trial").success();
            })
        };
        stale.success();
        other.join().expect("thread");
        assert_eq!(b.state(), State::Closed);
        assert_eq!(b.metrics().trials_in_flight, 0);
    });
}

/// A count-window breaker of `size` (opening at 100 % failures after
/// `minimum_calls`), after `prefill` calls (true = failure); then `reset()` on a second
/// thread races one more call of the given outcome. Whatever the order, the
/// hint counters must equal the marks the window holds, and the breaker
/// ends closed.
fn count_window_call_racing_a_reset(
    size: u32,
    minimum_calls: u32,
    prefill: &'static [bool],
    failing_call: bool,
) {
    loom::model(move || {
        let config = Config::builder()
            .window(WindowKind::Count { size })
            .minimum_calls(minimum_calls)
            .failure_rate_threshold(100.0)
            .build()
            .expect("valid");
        let b = Arc::new(CircuitBreaker::with_clock(
            "loom",
            config,
            ManualClock::default(),
        ));
        for &fails in prefill {
            let permit = b.try_acquire().expect("closed");
            if fails {
                permit.failure()
            } else {
                permit.success()
            }
        }
        let resetter = {
            let b = b.clone();
            loom::thread::spawn(move || b.reset())
        };
        if let Ok(p) = b.try_acquire() {
            if failing_call {
                p.failure()
            } else {
                p.success()
            }
        }
        resetter.join().expect("thread");
        assert!(b.window_consistent(), "hint counters equal the marks held");
        assert_eq!(b.state(), State::Closed);
    });
}

#[test]
fn loom_count_window_hints_survive_a_concurrent_reset() {
    count_window_call_racing_a_reset(2, 2, &[true], false);
}

/// A failure at a position past the window's size (so it evicts) racing a
/// reset: whether it lands before the reset, is dropped as late, or lands
/// after. (The step-by-step case of a call admitted under the reset's
/// retiring word is `breaker::tests::outcome_admitted_during_a_reset_is_dropped`.)
#[test]
fn loom_count_window_evicting_failure_racing_a_reset() {
    count_window_call_racing_a_reset(2, 2, &[false, false, true], true);
}

// ---- companions: bulkhead, retry budget, registry open cap ----

fn consecutive_one() -> Config {
    Config::builder()
        .window(WindowKind::Consecutive { threshold: 1 })
        .wait_in_open(Duration::from_secs(1))
        .stripes(1)
        .jitter_seed(1)
        .build()
        .expect("valid")
}

#[test]
fn loom_bulkhead_never_exceeds_its_limit() {
    loom::model(|| {
        let bulkhead = Arc::new(crate::Bulkhead::new("loom", 1).expect("valid"));
        let inside = Arc::new(AtomicUsize::new(0));
        let admitted = Arc::new(AtomicUsize::new(0));
        let caller = |bulkhead: Arc<crate::Bulkhead>,
                      inside: Arc<AtomicUsize>,
                      admitted: Arc<AtomicUsize>| {
            move || {
                if let Ok(permit) = bulkhead.try_acquire() {
                    admitted.fetch_add(1, Ordering::SeqCst);
                    let now_inside = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    assert!(now_inside <= 1, "two calls inside a bulkhead of one");
                    inside.fetch_sub(1, Ordering::SeqCst);
                    drop(permit);
                }
            }
        };
        let t = loom::thread::spawn(caller(bulkhead.clone(), inside.clone(), admitted.clone()));
        caller(bulkhead.clone(), inside.clone(), admitted.clone())();
        t.join().expect("thread");
        let m = bulkhead.metrics();
        assert_eq!(m.in_flight, 0, "every place given back");
        assert!(
            admitted.load(Ordering::SeqCst) >= 1,
            "a free place is never refused to both"
        );
        assert_eq!(
            admitted.load(Ordering::SeqCst) as u64 + m.rejected,
            2,
            "each call either ran or was counted as refused"
        );
    });
}

/// Two retrying callers that always fail, each allowed two attempts.
fn two_failing_retriers(
    budget: std::sync::Arc<crate::RetryBudget>,
) -> (usize, crate::RetryMetrics) {
    let retry = Arc::new(
        crate::Retry::new("loom", 2)
            .expect("valid")
            .backoff(crate::Backoff::Fixed(Duration::ZERO))
            .jitter_seed(1)
            .budget(budget),
    );
    let attempt = |retry: Arc<crate::Retry>| {
        move || {
            let r = retry.call_with(|| Err::<(), _>("down"), |_| true, |_| {});
            usize::from(matches!(r, Err(crate::Error::RetriesExhausted { .. })))
        }
    };
    let t = loom::thread::spawn(attempt(retry.clone()));
    let retried = attempt(retry.clone())() + t.join().expect("thread");
    (retried, retry.metrics())
}

#[test]
fn loom_retry_budget_grants_one_token_once() {
    loom::model(|| {
        // One token, no deposits: exactly one of two racing callers retries.
        let budget = std::sync::Arc::new(crate::RetryBudget::new(0.0, 1, 1).expect("valid"));
        let (retried, m) = two_failing_retriers(budget.clone());
        assert_eq!(retried, 1);
        assert_eq!(m.failed_with_retry, 1);
        assert_eq!(m.failed_without_retry, 1, "the other gave up on the budget");
        assert_eq!(budget.available(), 0);
    });
}

#[test]
fn loom_retry_budget_deposits_race_withdrawals() {
    loom::model(|| {
        // Each first attempt deposits one token into a budget capped at one:
        // at least one caller retries, the balance never goes negative and
        // every retry was paid for.
        let budget = std::sync::Arc::new(crate::RetryBudget::new(1.0, 0, 1).expect("valid"));
        let (retried, m) = two_failing_retriers(budget.clone());
        assert!(retried >= 1);
        assert_eq!(m.failed_with_retry as usize, retried);
        assert_eq!(m.failed_with_retry + m.failed_without_retry, 2);
        assert_eq!(
            budget.available(),
            0,
            "both tokens spent or the cap ate one"
        );
        assert!(!budget.withdraw(), "no token left to spend");
    });
}

fn capped_registry() -> crate::Registry<ManualClock> {
    // Three breakers, 34 %: one may be ejected at a time.
    crate::Registry::with_clock(consecutive_one(), ManualClock::default()).max_open_percent(34.0)
}

fn ejected(b: &CircuitBreaker<ManualClock>) -> usize {
    usize::from(matches!(b.state(), State::Open | State::HalfOpen))
}

#[test]
fn loom_registry_cap_holds_under_concurrent_openings() {
    loom::model(|| {
        let registry = capped_registry();
        let (a, b, c) = (registry.get("a"), registry.get("b"), registry.get("c"));
        let fail = |b: std::sync::Arc<CircuitBreaker<ManualClock>>| {
            move || {
                if let Ok(p) = b.try_acquire() {
                    p.failure();
                }
            }
        };
        let t = loom::thread::spawn(fail(a.clone()));
        fail(b.clone())();
        t.join().expect("thread");
        assert_eq!(
            ejected(&a) + ejected(&b),
            1,
            "exactly one of the two opened"
        );
        assert_eq!(ejected(&c), 0);
        assert_eq!(registry.open_count(), 1);
    });
}

#[test]
fn loom_registry_cap_counts_a_close_racing_an_opening() {
    loom::model(|| {
        let registry = capped_registry();
        let (a, b, _c) = (registry.get("a"), registry.get("b"), registry.get("c"));
        a.try_acquire().expect("closed").failure();
        assert_eq!(a.state(), State::Open);
        let closer = {
            let a = a.clone();
            loom::thread::spawn(move || a.transition_to_closed())
        };
        if let Ok(p) = b.try_acquire() {
            p.failure();
        }
        closer.join().expect("thread");
        assert_eq!(a.state(), State::Closed);
        // b opened only if a's place was given back first; the count
        // always equals the breakers actually ejected.
        assert_eq!(registry.open_count(), ejected(&a) + ejected(&b));
        assert!(registry.open_count() <= 1);
    });
}

#[test]
fn loom_time_window_success_racing_a_reset_is_not_counted_after_it() {
    loom::model(|| {
        let config = Config::builder()
            .window(WindowKind::Time { seconds: 10 })
            .stripes(1)
            .build()
            .expect("valid");
        let b = std::sync::Arc::new(CircuitBreaker::with_clock(
            "loom",
            config,
            ManualClock::new(Duration::from_secs(100)),
        ));
        // Admitted before the reset, recorded (unfenced) while it runs.
        let permit = b.try_acquire_owned().expect("closed");
        let resetter = {
            let b = b.clone();
            loom::thread::spawn(move || b.reset())
        };
        permit.success();
        resetter.join().expect("thread");
        assert_eq!(
            b.metrics().buffered_calls,
            0,
            "the success was wiped by the reset or dropped as late"
        );
        // A call of the new generation counts.
        b.try_acquire().expect("closed").success();
        assert_eq!(b.metrics().buffered_calls, 1);
    });
}

#[test]
fn loom_time_window_concurrent_writers_lose_no_call() {
    loom::model(|| {
        // Three writers on the compare-and-swap stripe (under loom every
        // writer takes it; see `TimeWindow::stripe`): each call counted once.
        let config = Config::builder()
            .window(WindowKind::Time { seconds: 10 })
            .stripes(1)
            .build()
            .expect("valid");
        let b = Arc::new(CircuitBreaker::with_clock(
            "loom",
            config,
            ManualClock::new(Duration::from_secs(100)),
        ));
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let b = b.clone();
                loom::thread::spawn(move || b.try_acquire().expect("closed").success())
            })
            .collect();
        b.try_acquire().expect("closed").failure();
        for t in threads {
            t.join().expect("thread");
        }
        let m = b.metrics();
        assert_eq!((m.buffered_calls, m.failed_calls), (3, 1));
    });
}

#[test]
fn loom_threads_get_distinct_deterministic_indices() {
    // The models above rely on it: loom threads use separate fence and
    // counter stripes, the same ones in every explored execution.
    loom::model(|| {
        let a = crate::stripe::thread_index();
        let b = loom::thread::spawn(crate::stripe::thread_index)
            .join()
            .expect("thread");
        assert_ne!(a, b);
        assert!(a < 2 && b < 2, "each execution numbers its threads afresh");
    });
}

// ---- windows, driven directly ----

use crate::window::{CountWindow, Mark, TimeWindow, Totals};

const OK: Mark = Mark {
    failure: false,
    slow: false,
};
const FAIL: Mark = Mark {
    failure: true,
    slow: false,
};
const SEC: u64 = 1_000_000_000;

#[test]
fn loom_count_window_mixed_outcomes_keep_hints_exact() {
    loom::model(|| {
        // A failure at position 0; then one thread fails once while
        // another succeeds twice. Whichever positions they get, the window
        // is positions 2 and 3, and every evicted failure left the hints
        // exactly once (by its evictor, or by itself if its evictor came
        // before it was written).
        let w = Arc::new(CountWindow::new(2, 2));
        w.record(FAIL);
        let failing = {
            let w = w.clone();
            loom::thread::spawn(move || w.record(FAIL))
        };
        w.record(OK);
        w.record(OK);
        failing.join().expect("thread");
        let exact = w.exact_totals();
        assert_eq!(w.totals(), exact, "hints equal the ring");
        assert_eq!(exact.calls, 2);
        assert!(exact.failures <= 1, "position 0 was evicted");
    });
}

#[test]
fn loom_count_window_two_failures_over_one_slot() {
    loom::model(|| {
        // Ring of 2 slots for a window of 2: positions 1 and 3 share a
        // slot, so a late writer can find a newer mark in it or write over
        // one whose evictor has not looked yet.
        let w = Arc::new(CountWindow::new(2, 2));
        w.record(OK);
        let other = {
            let w = w.clone();
            loom::thread::spawn(move || {
                w.record(FAIL);
                w.record(OK);
            })
        };
        w.record(FAIL);
        other.join().expect("thread");
        let exact = w.exact_totals();
        assert_eq!(w.totals(), exact, "hints equal the ring");
        assert_eq!(exact.calls, 2);
        // Positions 2 and 3 hold exactly one failure: either the main
        // thread's, or the other thread's followed by its success.
        assert_eq!(exact.failures, 1);
    });
}

#[test]
fn loom_time_window_reader_sees_an_owner_move_buckets_once() {
    loom::model(|| {
        // The owner's live word moves from second 100 to 101 while another
        // thread sums the window: each call is counted once, never twice.
        let w = Arc::new(TimeWindow::new(10, 2, 1, 100 * SEC, 0));
        w.record(OK, 0, || 100 * SEC);
        w.record(OK, 0, || 100 * SEC);
        let reader = {
            let w = w.clone();
            loom::thread::spawn(move || w.totals(101 * SEC).calls)
        };
        w.record(OK, 0, || 101 * SEC);
        let seen = reader.join().expect("thread");
        // Before the call, or after it: 2 or 3 (the old second's 2 calls
        // both live and back in their slot would read as 4 or 5).
        assert!((2..=3).contains(&seen), "saw {seen}");
        assert_eq!(w.totals(101 * SEC).calls, 3);
    });
}

#[test]
fn loom_time_window_owned_stripes_count_every_call() {
    loom::model(|| {
        // Two threads, each on a stripe it owns (plain stores), one of
        // them failing; the main thread reads meanwhile.
        let w = Arc::new(TimeWindow::new(10, 2, 1, 100 * SEC, 0));
        let threads: Vec<_> = [OK, FAIL]
            .into_iter()
            .map(|m| {
                let w = w.clone();
                loom::thread::spawn(move || w.record(m, 0, || 100 * SEC))
            })
            .collect();
        let t = w.totals(100 * SEC);
        assert!(t.calls <= 2 && t.failures <= 1);
        for t in threads {
            t.join().expect("thread");
        }
        assert_eq!(
            w.totals(100 * SEC),
            Totals {
                calls: 2,
                failures: 1,
                slow: 0
            }
        );
    });
}

#[test]
fn loom_time_window_owner_racing_a_reset() {
    loom::model(|| {
        // An owner's head was filled under reset 0; a reset to generation 2
        // races its next two calls (generation 0, then 2). The late one is
        // never counted after the reset; the new one is, once the owner's
        // head has caught up with the reset.
        let w = Arc::new(TimeWindow::new(10, 2, 1, 100 * SEC, 0));
        w.record(OK, 0, || 100 * SEC);
        let resetter = {
            let w = w.clone();
            loom::thread::spawn(move || w.reset(100 * SEC, 2))
        };
        w.record(OK, 0, || 100 * SEC);
        resetter.join().expect("thread");
        assert_eq!(
            w.totals(100 * SEC),
            Totals::default(),
            "generation 0 is gone"
        );
        w.record(OK, 2, || 100 * SEC);
        assert_eq!(w.totals(100 * SEC).calls, 1);
    });
}
