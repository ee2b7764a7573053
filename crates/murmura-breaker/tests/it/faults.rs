//! Reproductions of the faults an outside check found (issue 13), one test
//! each, plus the other members of each fault's class.

use crate::{fail, ok, rig};
use murmura_breaker::{Config, Error, Registry, Retry, RetryBudget, State, WindowKind};
use murmura_core::time::ManualClock;
use std::sync::Arc;
use std::time::Duration;

// 1. The open decision is taken whenever an outcome is recorded.

#[test]
fn a_success_that_reaches_minimum_calls_at_the_threshold_opens() {
    let (b, _, _) = rig(Config::builder()
        .window(WindowKind::Count { size: 10 })
        .minimum_calls(5)
        .failure_rate_threshold(50.0));
    for _ in 0..3 {
        fail(&b);
    }
    ok(&b);
    assert_eq!(b.state(), State::Closed, "4 calls < minimum 5");
    ok(&b);
    assert_eq!(
        b.state(),
        State::Open,
        "3 of 5 failed (60 % >= 50 %) once the fifth call is in"
    );
}

#[test]
fn a_success_through_a_permit_that_reaches_minimum_calls_opens() {
    let (b, _, _) = rig(Config::builder()
        .window(WindowKind::Count { size: 10 })
        .minimum_calls(5)
        .failure_rate_threshold(50.0));
    for _ in 0..3 {
        b.try_acquire().expect("closed").failure();
    }
    b.try_acquire().expect("closed").success();
    b.try_acquire().expect("closed").success();
    assert_eq!(b.state(), State::Open);
}

#[test]
fn a_time_window_success_that_reaches_minimum_calls_opens() {
    let (b, _, _) = rig(Config::builder()
        .window(WindowKind::Time { seconds: 10 })
        .minimum_calls(5)
        .failure_rate_threshold(50.0));
    for _ in 0..3 {
        fail(&b);
    }
    ok(&b);
    assert_eq!(b.state(), State::Closed);
    ok(&b);
    assert_eq!(b.state(), State::Open);
}

#[test]
fn a_time_window_opens_when_successes_expire_under_the_failures() {
    let (b, clock, _) = rig(Config::builder()
        .window(WindowKind::Time { seconds: 2 })
        .minimum_calls(3)
        .failure_rate_threshold(60.0));
    for _ in 0..3 {
        ok(&b);
    }
    clock.advance(Duration::from_secs(1));
    fail(&b);
    fail(&b);
    assert_eq!(b.state(), State::Closed, "2 of 5 failed: 40 %");
    // The three successes leave the window: the next call (a success)
    // finds two failures and itself, 67 % >= 60 %.
    clock.advance(Duration::from_secs(1));
    ok(&b);
    assert_eq!(b.state(), State::Open);
}

#[test]
fn metrics_tell_whether_the_breaker_would_trip_now() {
    let (b, clock, _) = rig(Config::builder()
        .window(WindowKind::Time { seconds: 2 })
        .minimum_calls(3)
        .failure_rate_threshold(60.0));
    for _ in 0..4 {
        ok(&b);
    }
    clock.advance(Duration::from_secs(1));
    for _ in 0..3 {
        fail(&b);
    }
    assert!(!b.metrics().would_trip, "3 of 7 failed: 43 %");
    clock.advance(Duration::from_secs(1));
    // No call yet: the breaker is still closed, but its window trips.
    let m = b.metrics();
    assert_eq!(m.state, State::Closed);
    assert_eq!(m.failure_rate, Some(100.0));
    assert!(m.would_trip);
}

// 2. A late outcome never counts against a newer generation.

#[test]
fn a_late_success_does_not_wipe_the_new_generations_failure_run() {
    let (b, _, _) = rig(Config::builder().window(WindowKind::Consecutive { threshold: 3 }));
    let old = b.try_acquire().expect("closed");
    b.reset();
    fail(&b);
    fail(&b);
    old.success();
    assert_eq!(
        b.metrics().failed_calls,
        2,
        "the run survives the late success"
    );
    fail(&b);
    assert_eq!(b.state(), State::Open);
}

#[test]
fn a_call_running_across_a_reset_does_not_wipe_the_new_run() {
    let (b, _, _) = rig(Config::builder().window(WindowKind::Consecutive { threshold: 3 }));
    let r = b.call(|| {
        b.reset();
        fail(&b);
        fail(&b);
        Ok::<_, ()>(())
    });
    assert!(r.is_ok());
    assert_eq!(b.metrics().failed_calls, 2);
    fail(&b);
    assert_eq!(b.state(), State::Open);
}

#[test]
fn late_outcomes_are_ignored_by_every_window_kind() {
    let windows = [
        WindowKind::Count { size: 4 },
        WindowKind::Time { seconds: 4 },
        WindowKind::Consecutive { threshold: 4 },
    ];
    for window in windows {
        for success in [true, false] {
            let (b, _, _) = rig(Config::builder()
                .window(window)
                .minimum_calls(4)
                .failure_rate_threshold(100.0));
            fail(&b);
            let old = b.try_acquire().expect("closed");
            // A transition that keeps the window (closed to open) and one
            // that empties it, each after the permit was issued.
            b.transition_to_open();
            let before = b.metrics();
            if success {
                old.success();
            } else {
                old.failure();
            }
            assert_eq!(b.metrics(), before, "{window:?} success={success}: open");
            b.reset();
            fail(&b);
            let old = b.try_acquire().expect("closed");
            b.reset();
            fail(&b);
            let before = b.metrics();
            if success {
                old.success();
            } else {
                old.failure();
            }
            assert_eq!(b.metrics(), before, "{window:?} success={success}: reset");
        }
    }
}

// 3. A stale half-open trial is never taken for a live one.

#[test]
fn a_trial_held_across_65536_half_open_rounds_is_stale() {
    let (b, _, _) = rig(Config::builder()
        .window(WindowKind::Consecutive { threshold: 1 })
        .half_open_calls(1));
    b.transition_to_half_open();
    let stale = b.try_acquire().expect("the one trial");
    for _ in 0..65_536 {
        b.transition_to_half_open();
    }
    let live = b.try_acquire().expect("the new round's trial");
    stale.success();
    assert_eq!(
        b.state(),
        State::HalfOpen,
        "the stale trial decided nothing"
    );
    assert_eq!(b.metrics().trials_in_flight, 1, "the live trial still runs");
    live.success();
    assert_eq!(b.state(), State::Closed, "the live trial closed it");
}

// 4. A configuration that can never open is not built.

#[test]
fn minimum_calls_follows_a_small_count_window() {
    let (b, _, _) = rig(Config::builder().window(WindowKind::Count { size: 10 }));
    assert_eq!(b.config().minimum_calls(), 10);
    for _ in 0..10 {
        fail(&b);
    }
    assert_eq!(b.state(), State::Open);
}

#[test]
fn minimum_calls_above_the_count_window_is_an_error() {
    let built = Config::builder()
        .window(WindowKind::Count { size: 10 })
        .minimum_calls(100)
        .build();
    assert!(matches!(
        built,
        Err(Error::InvalidConfig {
            field: "minimum_calls",
            ..
        })
    ));
    // Whatever the order of the builder calls.
    let built = Config::builder()
        .minimum_calls(11)
        .window(WindowKind::Count { size: 10 })
        .build();
    assert!(built.is_err());
    assert!(
        Config::builder()
            .minimum_calls(10)
            .window(WindowKind::Count { size: 10 })
            .build()
            .is_ok()
    );
}

// 5. Manual openings and the registry cap; exact retry budgets.

#[test]
fn a_manual_opening_passes_the_cap_and_counts_against_it() {
    let clock = ManualClock::new(Duration::from_secs(1));
    let one = Config::builder()
        .window(WindowKind::Consecutive { threshold: 1 })
        .build()
        .expect("valid");
    let registry = Registry::with_clock(one, clock).max_open_percent(50.0);
    let a = registry.get("a");
    let b = registry.get("b");
    let c = registry.get("c");
    a.transition_to_open();
    b.transition_to_open();
    assert_eq!(
        b.state(),
        State::Open,
        "an operator's opening is not capped"
    );
    assert_eq!(registry.open_count(), 2);
    assert!(c.call(|| Err::<(), _>(())).is_err());
    assert_eq!(
        c.state(),
        State::Closed,
        "2 of 3 open already: an automatic opening is suppressed"
    );
}

#[test]
fn a_retry_budget_of_ratio_0_7_admits_700_per_1000() {
    for (ratio, first, expected) in [
        (0.7f32, 1000, 700),
        (0.1, 1000, 100),
        (0.3, 10, 3),
        (0.07, 100, 7),
        (1.1, 10, 11),
    ] {
        let budget = Arc::new(RetryBudget::new(ratio, 0, 10_000).expect("valid"));
        let retry = Retry::new("r", 1).expect("valid").budget(budget.clone());
        for _ in 0..first {
            retry.call(|| Ok::<_, ()>(())).expect("succeeds");
        }
        assert_eq!(budget.available(), expected, "ratio {ratio} over {first}");
    }
}

#[test]
fn a_ramp_from_0_7_percent_admits_70_calls_in_10000() {
    let (b, clock, _) = rig(Config::builder()
        .window(WindowKind::Consecutive { threshold: 1 })
        .wait_in_open(Duration::from_secs(1))
        .half_open_calls(1)
        .ramp_up(murmura_breaker::RampUp {
            duration: Duration::from_secs(3_600),
            initial_percent: 0.7,
        }));
    fail(&b);
    clock.advance(Duration::from_secs(1));
    assert!(ok(&b), "the trial");
    assert_eq!(b.state(), State::RampingUp);
    let admitted = (0..10_000).filter(|_| ok(&b)).count();
    assert_eq!(
        admitted, 70,
        "0.7 % of 10,000 with the clock standing still"
    );
}

#[test]
fn an_open_cap_of_33_3_percent_lets_333_of_1000_open() {
    let one = Config::builder()
        .window(WindowKind::Consecutive { threshold: 1 })
        .build()
        .expect("valid");
    let registry =
        Registry::with_clock(one, ManualClock::new(Duration::from_secs(1))).max_open_percent(33.3);
    let breakers: Vec<_> = (0..1000).map(|i| registry.get(&format!("b{i}"))).collect();
    for b in &breakers {
        let _ = b.call(|| Err::<(), _>(()));
    }
    assert_eq!(registry.open_count(), 333);
}

#[test]
fn a_threshold_of_57_7_percent_opens_at_577_of_1000() {
    let (b, _, _) = rig(Config::builder()
        .window(WindowKind::Count { size: 1000 })
        .minimum_calls(1000)
        .failure_rate_threshold(57.7));
    for _ in 0..423 {
        ok(&b);
    }
    for _ in 0..576 {
        fail(&b);
    }
    assert_eq!(b.state(), State::Closed, "999 calls < minimum 1000");
    fail(&b);
    assert_eq!(
        b.state(),
        State::Open,
        "577 of 1000 is 57.7 %, at the threshold (57.7f32 is 57.700000763)"
    );
}
