//! Step-by-step interleavings of the breaker's internals.

use super::*;
use crate::WindowKind;
use murmura_core::time::ManualClock;

/// A call admitted while a reset empties the window (its retiring word
/// is up) records its failure after the window was emptied: the
/// outcome is dropped, not carried into the new window. This is the
/// interleaving in which the reset's fence scan has already passed the
/// recorder's fence, played step by step.
#[test]
fn outcome_admitted_during_a_reset_is_dropped() {
    let config = Config::builder()
        .window(WindowKind::Count { size: 4 })
        .minimum_calls(4)
        .failure_rate_threshold(100.0)
        .build()
        .expect("valid");
    let b = CircuitBreaker::with_clock("reset-race", config, ManualClock::default());
    // Three failures in a full window of four: 75 % < 100 %, still closed.
    b.try_acquire().expect("closed").success();
    for _ in 0..3 {
        b.try_acquire().expect("closed").failure();
    }
    assert_eq!(b.state(), State::Closed);
    let lock = b.transitions.lock().expect("lock");
    let from = b.load();
    let retiring = from.retiring();
    b.word.swap(retiring.pack(), Ordering::AcqRel);
    // Callers still see a closed breaker and are admitted.
    assert_eq!(b.state(), State::Closed);
    let late = b.try_acquire().expect("admitted while retiring");
    let next = retiring.next(State::Closed);
    b.reset_window_fenced(0, next.generation);
    late.failure();
    b.word.store(next.pack(), Ordering::Release);
    drop(lock);
    assert_eq!(b.metrics().failed_calls, 0, "the late failure was dropped");
    assert_eq!(b.metrics().buffered_calls, 0);
    assert!(b.window_consistent());
    // The new generation records normally.
    b.try_acquire().expect("closed").failure();
    assert_eq!(b.metrics().failed_calls, 1);
}
