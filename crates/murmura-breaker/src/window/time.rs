//! The calls of the last N seconds: per thread stripe, a ring of one-second
//! buckets, each bucket three tagged counters (calls, failed, slow).
//!
//! A counter word holds the bucket's epoch (seconds, low 24 bits) above a
//! 40-bit count; a writer that finds an older epoch restarts the bucket with
//! one compare-and-swap, so expiry needs no sweeper and readers skip words
//! whose epoch fell out of the window. Each stripe is written by the threads
//! that hash to it, so one thread's calls never touch another's cache lines.

use super::{Mark, Totals};
use crate::stripe::thread_index;
use murmura_core::sync::atomic::{AtomicU64, Ordering};

const COUNT_BITS: u32 = 40;
const COUNT_MASK: u64 = (1 << COUNT_BITS) - 1;
const TAG_MASK: u64 = (1 << 24) - 1;
/// Words per cache-line pair: stripes are this far apart at least.
const LINE_WORDS: usize = 16;

#[derive(Debug)]
pub(crate) struct TimeWindow {
    /// Window length in seconds: buckets younger than this count.
    seconds: u64,
    /// Ring length: a power of two ≥ `seconds`, so a slot is a mask, not a division.
    buckets: u64,
    sample_every: u64,
    stripes: usize,
    /// Words of one stripe: 3 per bucket, then the stripe's cached epoch.
    stride: usize,
    words: Box<[AtomicU64]>,
}

fn epoch(nanos: u64) -> u64 {
    nanos / 1_000_000_000
}

fn tag_of(epoch: u64) -> u64 {
    epoch & TAG_MASK
}

/// How many epochs `tag` lies behind `now` (mod 2^24); "ahead" reads as huge.
fn age(now: u64, tag: u64) -> u64 {
    tag_of(now).wrapping_sub(tag) & TAG_MASK
}

impl TimeWindow {
    pub(crate) fn new(seconds: u32, stripes: usize, sample_every: u32, now_nanos: u64) -> Self {
        let buckets = (seconds as usize).next_power_of_two();
        let stride = (3 * buckets + 1).next_multiple_of(LINE_WORDS) + LINE_WORDS;
        let w = Self {
            seconds: u64::from(seconds),
            buckets: buckets as u64,
            sample_every: u64::from(sample_every),
            stripes,
            stride,
            words: (0..stride * stripes).map(|_| AtomicU64::new(0)).collect(),
        };
        w.reset(now_nanos);
        w
    }

    fn counter(&self, stripe: usize, epoch: u64, which: usize) -> &AtomicU64 {
        let slot = (epoch & (self.buckets - 1)) as usize;
        &self.words[stripe * self.stride + slot * 3 + which]
    }

    fn cached_epoch(&self, stripe: usize) -> &AtomicU64 {
        &self.words[stripe * self.stride + 3 * self.buckets as usize]
    }

    #[inline]
    pub(crate) fn record(&self, mark: Mark, now: impl Fn() -> u64) {
        let stripe = thread_index() & (self.stripes - 1);
        let sampled = self.sample_every > 1 && mark.is_clean();
        let e = if sampled {
            self.cached_epoch(stripe).load(Ordering::Relaxed)
        } else {
            let e = epoch(now());
            if self.sample_every > 1 {
                self.remember(stripe, e);
            }
            e
        };
        let calls = bump(self.counter(stripe, e, 0), e);
        if mark.failure {
            bump(self.counter(stripe, e, 1), e);
        }
        if mark.slow {
            bump(self.counter(stripe, e, 2), e);
        }
        if sampled && calls.is_multiple_of(self.sample_every) {
            self.remember(stripe, epoch(now()));
        }
    }

    fn remember(&self, stripe: usize, e: u64) {
        let cached = self.cached_epoch(stripe);
        if cached.load(Ordering::Relaxed) < e {
            cached.store(e, Ordering::Relaxed);
        }
    }

    pub(crate) fn totals(&self, now_nanos: u64) -> Totals {
        let e = epoch(now_nanos);
        let mut sums = [0u64; 3];
        for stripe in 0..self.stripes {
            for slot in 0..self.buckets as usize {
                for (which, sum) in sums.iter_mut().enumerate() {
                    let w =
                        self.words[stripe * self.stride + slot * 3 + which].load(Ordering::Acquire);
                    if age(e, w >> COUNT_BITS) < self.seconds {
                        *sum += w & COUNT_MASK;
                    }
                }
            }
        }
        Totals {
            calls: sums[0],
            failures: sums[1],
            slow: sums[2],
        }
    }

    pub(crate) fn reset(&self, now_nanos: u64) {
        let e = epoch(now_nanos);
        // Tagged one ring-length ago: expired from the start.
        let expired = tag_of(e.wrapping_sub(self.buckets)) << COUNT_BITS;
        for stripe in 0..self.stripes {
            for i in 0..3 * self.buckets as usize {
                self.words[stripe * self.stride + i].store(expired, Ordering::Release);
            }
            self.cached_epoch(stripe).store(e, Ordering::Relaxed);
        }
    }
}

/// Adds one to the counter for epoch `e`, restarting it if it holds an older
/// epoch; returns the new count.
#[inline]
fn bump(word: &AtomicU64, e: u64) -> u64 {
    let tag = tag_of(e);
    let mut cur = word.load(Ordering::Relaxed);
    loop {
        let held = cur >> COUNT_BITS;
        // Same epoch, or a newer one (a stale cached epoch): count it there.
        if held == tag || (held.wrapping_sub(tag) & TAG_MASK) < (1 << 23) {
            return (word.fetch_add(1, Ordering::AcqRel) & COUNT_MASK) + 1;
        }
        match word.compare_exchange_weak(
            cur,
            (tag << COUNT_BITS) | 1,
            Ordering::AcqRel,
            Ordering::Relaxed,
        ) {
            Ok(_) => return 1,
            Err(seen) => cur = seen,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: u64 = 1_000_000_000;
    const OK: Mark = Mark {
        failure: false,
        slow: false,
    };
    const FAIL: Mark = Mark {
        failure: true,
        slow: false,
    };

    #[test]
    fn buckets_expire_after_the_window() {
        let start = 1_000 * SEC;
        let w = TimeWindow::new(3, 2, 1, start);
        w.record(FAIL, || start);
        w.record(OK, || start + SEC);
        w.record(OK, || start + 2 * SEC);
        assert_eq!(
            w.totals(start + 2 * SEC),
            Totals {
                calls: 3,
                failures: 1,
                slow: 0
            }
        );
        assert_eq!(
            w.totals(start + 3 * SEC),
            Totals {
                calls: 2,
                failures: 0,
                slow: 0
            }
        );
        // The failure's slot is reused three seconds later and restarts.
        w.record(OK, || start + 3 * SEC);
        assert_eq!(w.totals(start + 3 * SEC).calls, 3);
        assert_eq!(w.totals(start + 10 * SEC), Totals::default());
    }

    #[test]
    fn sampled_clock_counts_successes_in_the_cached_second() {
        let start = 50 * SEC;
        let w = TimeWindow::new(5, 1, 4, start);
        for _ in 0..3 {
            w.record(OK, || start + 2 * SEC);
        }
        // Not yet sampled: counted in the creation second, still in the window.
        assert_eq!(w.totals(start + 2 * SEC).calls, 3);
        w.record(OK, || start + 2 * SEC); // 4th call samples the clock
        w.record(OK, || start + 2 * SEC);
        assert_eq!(
            w.totals(start + 5 * SEC).calls,
            1,
            "only the post-sample call remains"
        );
        w.reset(start + 5 * SEC);
        assert_eq!(w.totals(start + 5 * SEC), Totals::default());
    }
}
