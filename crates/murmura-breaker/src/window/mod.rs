//! Failure accounting while closed: count, time and consecutive windows.
//!
//! Every window answers two questions: record this outcome (cheaply), and
//! "what are the totals now?" (only asked when a failure or slow call makes a
//! decision necessary, or for metrics).

mod count;
mod time;

pub(crate) use count::CountWindow;
pub(crate) use time::TimeWindow;

use crate::config::{Config, WindowKind};
use murmura_core::sync::atomic::{AtomicU64, Ordering};

/// What the window holds right now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Totals {
    pub(crate) calls: u64,
    pub(crate) failures: u64,
    pub(crate) slow: u64,
}

/// A recorded (not ignored) outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Mark {
    pub(crate) failure: bool,
    pub(crate) slow: bool,
}

impl Mark {
    pub(crate) fn is_clean(self) -> bool {
        !self.failure && !self.slow
    }
}

/// What a clean success recorded without the reset fence asks of its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unfenced {
    /// Recorded (or rightly skipped); nothing more to do.
    Done,
    /// Recorded, and the window's counts may have crossed a threshold:
    /// evaluate it.
    Evaluate,
    /// Not recorded: go through the fence.
    Fence,
}

/// The trip rule, precomputed from the configuration in exact integers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Thresholds {
    /// Calls the window must hold (clamped to what it can hold).
    pub(crate) minimum: u64,
    /// Failure-rate threshold in millionths of a percent.
    pub(crate) failure: u64,
    /// Slow-call-rate threshold in millionths of a percent, if slow calls are tracked.
    pub(crate) slow: Option<u64>,
}

impl Thresholds {
    pub(crate) fn new(config: &Config) -> Self {
        Thresholds {
            minimum: config.effective_minimum_calls(),
            failure: exact_percent(config.failure_rate_threshold),
            slow: config
                .slow_call_duration
                .map(|_| exact_percent(config.slow_call_rate_threshold)),
        }
    }

    /// Whether `t` opens a rate-based window.
    pub(crate) fn trips(&self, t: Totals) -> bool {
        t.calls > 0
            && t.calls >= self.minimum
            && (at_or_above(t.failures, t.calls, self.failure)
                || self.slow.is_some_and(|s| at_or_above(t.slow, t.calls, s)))
    }
}

/// A percentage as the user wrote it, in millionths of a percent: the
/// shortest decimal that reads back as the same `f32` (so `57.7` is
/// 57.7, not 57.700000762…), rounded to six decimals.
pub(crate) fn exact_percent(percent: f32) -> u64 {
    let decimal: f64 = percent.to_string().parse().unwrap_or(f64::from(percent));
    (decimal * 1e6).round().clamp(0.0, 1e8) as u64
}

/// Whether `count / total` is at least `threshold` millionths of a percent,
/// in exact integer arithmetic.
pub(crate) fn at_or_above(count: u64, total: u64, threshold: u64) -> bool {
    u128::from(count) * 100_000_000 >= u128::from(threshold) * u128::from(total)
}

// The count window is big only by its cache-line padding; one per breaker.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(crate) enum Window {
    Count(CountWindow),
    Time(TimeWindow),
    /// Failures in a row; a success resets the run.
    Consecutive {
        run: AtomicU64,
        threshold: u64,
    },
}

impl Window {
    pub(crate) fn new(config: &Config, stripes: usize, now_nanos: u64) -> Window {
        let minimum = config.effective_minimum_calls();
        match config.window {
            WindowKind::Count { size } => Window::Count(CountWindow::new(size, minimum)),
            WindowKind::Time { seconds } => Window::Time(TimeWindow::new(
                seconds,
                stripes,
                config.clock_sample_every,
                now_nanos,
                0,
            )),
            WindowKind::Consecutive { threshold } => Window::Consecutive {
                run: AtomicU64::new(0),
                threshold: u64::from(threshold),
            },
        }
    }

    /// Handles a clean (successful, fast) outcome of `generation` without
    /// the reset fence when that is safe: skipping it (count window, clean
    /// ring; consecutive window, no run to end: either way the success
    /// changes nothing, so it cannot be wrong even if late) or adding it
    /// to generation-stamped counters (time window, once `live` confirms
    /// the breaker is still in the call's generation; a reset landing
    /// after that check leaves the count under the old stamp). Anything
    /// else goes through the fence, which drops late outcomes.
    #[inline]
    pub(crate) fn record_clean_unfenced(
        &self,
        generation: u64,
        live: impl Fn() -> bool,
        now: impl Fn() -> u64,
    ) -> Unfenced {
        match self {
            Window::Count(w) if w.is_clean() => Unfenced::Done,
            Window::Time(w) => {
                if !live() {
                    return Unfenced::Done; // late
                }
                let clean = Mark {
                    failure: false,
                    slow: false,
                };
                if w.record(clean, generation, now) {
                    Unfenced::Evaluate
                } else {
                    Unfenced::Done
                }
            }
            Window::Consecutive { run, .. } if run.load(Ordering::Relaxed) == 0 => Unfenced::Done,
            _ => Unfenced::Fence,
        }
    }

    /// Records `mark` of `generation`; `now` gives nanoseconds when the
    /// window needs them. Returns whether the thresholds must be evaluated:
    /// always after a failure or slow call; after a success only when it
    /// can have made the window trip (it brought the calls up to the
    /// minimum, or, in a time window, older calls may have expired).
    #[inline]
    pub(crate) fn record(&self, mark: Mark, generation: u64, now: impl Fn() -> u64) -> bool {
        match self {
            Window::Count(w) => w.record(mark) || !mark.is_clean(),
            Window::Time(w) => w.record(mark, generation, now) || !mark.is_clean(),
            Window::Consecutive { run, .. } => {
                if mark.failure {
                    run.fetch_add(1, Ordering::AcqRel);
                } else if run.load(Ordering::Relaxed) != 0 {
                    run.store(0, Ordering::Release);
                }
                mark.failure
            }
        }
    }

    /// The O(1) totals; `now` gives nanoseconds if the window needs them.
    pub(crate) fn totals(&self, now: impl Fn() -> u64) -> Totals {
        match self {
            Window::Count(w) => w.totals(),
            Window::Time(w) => w.totals(now()),
            Window::Consecutive { run, .. } => {
                let r = run.load(Ordering::Acquire);
                Totals {
                    calls: r,
                    failures: r,
                    slow: 0,
                }
            }
        }
    }

    /// Whether these totals open the breaker.
    pub(crate) fn trips(&self, t: Totals, thresholds: &Thresholds) -> bool {
        match self {
            Window::Consecutive { threshold, .. } => t.failures >= *threshold,
            _ => thresholds.trips(t),
        }
    }

    /// Evaluates the thresholds on the window as it is now: whether it
    /// trips (cheap totals first, confirmed with exact ones). A time
    /// window also learns whether its successes must keep evaluating:
    /// while it holds fewer calls than the minimum and its marks would
    /// trip it once successes bring it up to exactly the minimum (the
    /// highest rate successes can leave; if that one is below the
    /// thresholds, no success can open it).
    pub(crate) fn decide(&self, thresholds: &Thresholds, now: impl Fn() -> u64) -> bool {
        let cheap = self.totals(&now);
        if let Window::Time(w) = self {
            let m = thresholds.minimum;
            w.set_recheck(
                cheap.calls < m
                    && (at_or_above(cheap.failures, m, thresholds.failure)
                        || thresholds
                            .slow
                            .is_some_and(|s| at_or_above(cheap.slow, m, s))),
            );
        }
        self.trips(cheap, thresholds) && self.trips(self.exact_totals(now), thresholds)
    }

    /// The totals a trip decision should be confirmed with (exact where the
    /// cheap totals are only a hint).
    pub(crate) fn exact_totals(&self, now: impl Fn() -> u64) -> Totals {
        match self {
            Window::Count(w) => w.exact_totals(),
            _ => self.totals(now),
        }
    }

    /// Empties the window for a breaker now at `generation`.
    pub(crate) fn reset(&self, now_nanos: u64, generation: u64) {
        match self {
            Window::Count(w) => w.reset(),
            Window::Time(w) => w.reset(now_nanos, generation),
            Window::Consecutive { run, .. } => run.store(0, Ordering::Release),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_compare_as_written() {
        assert_eq!(exact_percent(57.7), 57_700_000);
        assert_eq!(exact_percent(0.7), 700_000);
        assert_eq!(exact_percent(100.0), 100_000_000);
        // 577 of 1000 is 57.7 %: at the threshold, not below it (as f32
        // arithmetic would have it, 57.7f32 being 57.700000763).
        assert!(at_or_above(577, 1000, exact_percent(57.7)));
        assert!(!at_or_above(576, 1000, exact_percent(57.7)));
        assert!(at_or_above(1, 3, exact_percent(33.3333)));
        assert!(!at_or_above(1, 3, exact_percent(33.3334)));
        assert!(at_or_above(u64::MAX, u64::MAX, exact_percent(100.0)));
    }
}
