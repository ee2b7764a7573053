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
        match config.window {
            WindowKind::Count { size } => Window::Count(CountWindow::new(size)),
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
    /// ring), adding it to generation-stamped counters (time window: a
    /// success from before a reset is dropped) or clearing the run
    /// (consecutive, where a success racing a reset clears an already empty
    /// or fresh run). Returns `false` when it must go through the fence.
    #[inline]
    pub(crate) fn record_clean_unfenced(&self, generation: u64, now: impl Fn() -> u64) -> bool {
        let clean = Mark {
            failure: false,
            slow: false,
        };
        match self {
            Window::Count(w) => w.is_clean(),
            Window::Time(w) => {
                w.record(clean, generation, now);
                true
            }
            Window::Consecutive { .. } => {
                self.record(clean, generation, now);
                true
            }
        }
    }

    /// Records `mark` of `generation`; `now` gives nanoseconds when the
    /// window needs them.
    #[inline]
    pub(crate) fn record(&self, mark: Mark, generation: u64, now: impl Fn() -> u64) {
        match self {
            Window::Count(w) => w.record(mark),
            Window::Time(w) => w.record(mark, generation, now),
            Window::Consecutive { run, .. } => {
                if mark.failure {
                    run.fetch_add(1, Ordering::AcqRel);
                } else if run.load(Ordering::Relaxed) != 0 {
                    run.store(0, Ordering::Release);
                }
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
    pub(crate) fn trips(&self, t: Totals, config: &Config) -> bool {
        match self {
            Window::Consecutive { threshold, .. } => t.failures >= *threshold,
            _ => {
                if t.calls == 0 || t.calls < u64::from(config.minimum_calls) {
                    return false;
                }
                let rate = |n: u64| n as f64 * 100.0 / t.calls as f64;
                rate(t.failures) >= f64::from(config.failure_rate_threshold)
                    || (config.slow_call_duration.is_some()
                        && rate(t.slow) >= f64::from(config.slow_call_rate_threshold))
            }
        }
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
