//! The last N calls, as two bit rings (failed, slow) and a shared cursor.
//!
//! The steady happy path writes nothing: once the ring is full and holds no
//! failure and no slow call, a success would evict a success and leave the
//! ring unchanged, so it is skipped after two loads. Successes are
//! indistinguishable, so skipping them keeps "the last N calls" exact: the
//! next failure still needs N later calls to be evicted, and from then on
//! (the ring is dirty) every call takes a slot. Hint counters track how many
//! bits are set so no call scans the ring; a trip is confirmed by a popcount.

use super::{Mark, Totals};
use crate::stripe::Padded;
use murmura_core::sync::atomic::{AtomicI64, AtomicU64, Ordering};

#[derive(Debug)]
pub(crate) struct CountWindow {
    size: u64,
    /// Read-mostly: the clean check loads only this line.
    hints: Padded<Hints>,
    failed: Box<[AtomicU64]>,
    slow: Box<[AtomicU64]>,
}

#[derive(Debug)]
struct Hints {
    /// Calls given a slot so far (ring position = cursor mod size).
    cursor: AtomicU64,
    failed: AtomicI64,
    slow: AtomicI64,
}

impl CountWindow {
    pub(crate) fn new(size: u32) -> Self {
        let words = (size as usize).div_ceil(64);
        let ring = || (0..words).map(|_| AtomicU64::new(0)).collect();
        Self {
            size: u64::from(size),
            hints: Padded(Hints {
                cursor: AtomicU64::new(0),
                failed: AtomicI64::new(0),
                slow: AtomicI64::new(0),
            }),
            failed: ring(),
            slow: ring(),
        }
    }

    /// Full, with no failure and no slow call: a success would change nothing.
    #[inline]
    pub(crate) fn is_clean(&self) -> bool {
        self.hints.failed.load(Ordering::Relaxed) == 0
            && self.hints.slow.load(Ordering::Relaxed) == 0
            && self.hints.cursor.load(Ordering::Relaxed) >= self.size
    }

    #[inline]
    pub(crate) fn record(&self, mark: Mark) {
        if mark.is_clean() && self.is_clean() {
            return;
        }
        let p = self.hints.cursor.fetch_add(1, Ordering::AcqRel) % self.size;
        let word = (p / 64) as usize;
        let bit = 1u64 << (p % 64);
        put(&self.failed[word], bit, mark.failure, &self.hints.failed);
        put(&self.slow[word], bit, mark.slow, &self.hints.slow);
    }

    pub(crate) fn totals(&self) -> Totals {
        Totals {
            calls: self.hints.cursor.load(Ordering::Acquire).min(self.size),
            failures: self.hints.failed.load(Ordering::Acquire).max(0) as u64,
            slow: self.hints.slow.load(Ordering::Acquire).max(0) as u64,
        }
    }

    pub(crate) fn exact_totals(&self) -> Totals {
        let count = |ring: &[AtomicU64]| {
            ring.iter()
                .map(|w| u64::from(w.load(Ordering::Acquire).count_ones()))
                .sum()
        };
        Totals {
            calls: self.hints.cursor.load(Ordering::Acquire).min(self.size),
            failures: count(&self.failed),
            slow: count(&self.slow),
        }
    }

    pub(crate) fn reset(&self) {
        for w in self.failed.iter().chain(self.slow.iter()) {
            w.store(0, Ordering::Release);
        }
        self.hints.failed.store(0, Ordering::Release);
        self.hints.slow.store(0, Ordering::Release);
        self.hints.cursor.store(0, Ordering::Release);
    }
}

/// Sets or clears one outcome bit and keeps the hint equal to the bits set.
#[inline]
fn put(word: &AtomicU64, bit: u64, set: bool, hint: &AtomicI64) {
    if set {
        if word.fetch_or(bit, Ordering::AcqRel) & bit == 0 {
            hint.fetch_add(1, Ordering::AcqRel);
        }
    } else if word.load(Ordering::Acquire) & bit != 0
        && word.fetch_and(!bit, Ordering::AcqRel) & bit != 0
    {
        hint.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: Mark = Mark {
        failure: false,
        slow: false,
    };
    const FAIL: Mark = Mark {
        failure: true,
        slow: false,
    };

    #[test]
    fn old_outcomes_are_really_evicted() {
        let w = CountWindow::new(4);
        for m in [FAIL, FAIL, OK, OK] {
            w.record(m);
        }
        assert_eq!(
            w.totals(),
            Totals {
                calls: 4,
                failures: 2,
                slow: 0
            }
        );
        w.record(OK);
        w.record(OK);
        assert_eq!(
            w.totals().failures,
            0,
            "both failures evicted after 4 later calls"
        );
        assert_eq!(w.totals(), w.exact_totals());
    }

    #[test]
    fn skipped_successes_keep_last_n_exact() {
        let w = CountWindow::new(3);
        for _ in 0..10 {
            w.record(OK);
        }
        w.record(FAIL);
        w.record(OK);
        assert_eq!(w.totals().failures, 1);
        w.record(OK);
        assert_eq!(w.totals().failures, 1, "still one of the last three");
        w.record(OK);
        assert_eq!(w.totals().failures, 0, "evicted by the third later call");
        w.record(Mark {
            failure: false,
            slow: true,
        });
        assert_eq!(
            w.exact_totals(),
            Totals {
                calls: 3,
                failures: 0,
                slow: 1
            }
        );
        w.reset();
        assert_eq!(w.totals(), Totals::default());
    }

    #[test]
    fn large_ring_spans_words() {
        let w = CountWindow::new(130);
        for i in 0..260u32 {
            w.record(if i % 13 == 0 { FAIL } else { OK });
        }
        // Slots of calls 130..260: multiples of 13 in that range.
        let expected = (130..260).filter(|i| i % 13 == 0).count() as u64;
        assert_eq!(w.totals().failures, expected);
        assert_eq!(w.exact_totals().failures, expected);
    }
}
