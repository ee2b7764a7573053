//! The calls of the last N seconds: per thread stripe, a ring of one-second
//! buckets, each bucket three tagged counters (calls, failed, slow).
//!
//! A counter word holds, from the top, the low 8 bits of the breaker
//! generation that last reset the window, the bucket's epoch (seconds, low
//! 24 bits) and a 32-bit count. Every write is one compare-and-swap on the
//! word: a writer that finds an older epoch restarts the bucket (so expiry
//! needs no sweeper and readers skip words whose epoch fell out of the
//! window), and a writer whose generation is older than the word's reset
//! generation drops its outcome. So an outcome from before a reset is never
//! counted after it, even a success recorded without the reset fence: either
//! its write lands before the reset rewrites that word (and is wiped), or it
//! sees the new stamp. (Generations are compared modulo 256: a permit held
//! across more than 127 transitions may be miscounted.) Each stripe is
//! written by the threads that hash to it, so one thread's calls never touch
//! another's cache lines.

use super::{Mark, Totals};
use crate::stripe::thread_index;
use murmura_core::sync::atomic::{AtomicU64, Ordering};

const COUNT_BITS: u32 = 32;
const COUNT_MASK: u64 = (1 << COUNT_BITS) - 1;
const TAG_MASK: u64 = (1 << 24) - 1;
const GEN_SHIFT: u32 = 56;
const GEN_MASK: u64 = 0xFF;
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
    pub(crate) fn new(
        seconds: u32,
        stripes: usize,
        sample_every: u32,
        now_nanos: u64,
        generation: u64,
    ) -> Self {
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
        w.reset(now_nanos, generation);
        w
    }

    fn counter(&self, stripe: usize, epoch: u64, which: usize) -> &AtomicU64 {
        let slot = (epoch & (self.buckets - 1)) as usize;
        &self.words[stripe * self.stride + slot * 3 + which]
    }

    fn cached_epoch(&self, stripe: usize) -> &AtomicU64 {
        &self.words[stripe * self.stride + 3 * self.buckets as usize]
    }

    /// Counts `mark` in the current bucket unless the window was reset
    /// after `generation` (then the outcome is late and dropped).
    #[inline]
    pub(crate) fn record(&self, mark: Mark, generation: u64, now: impl Fn() -> u64) {
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
        let g = generation & GEN_MASK;
        let Some(calls) = bump(self.counter(stripe, e, 0), e, g) else {
            return; // late
        };
        if mark.failure {
            bump(self.counter(stripe, e, 1), e, g);
        }
        if mark.slow {
            bump(self.counter(stripe, e, 2), e, g);
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
                    if age(e, (w >> COUNT_BITS) & TAG_MASK) < self.seconds {
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

    /// Empties the window and stamps it with `generation`: outcomes of
    /// older generations are dropped from now on.
    pub(crate) fn reset(&self, now_nanos: u64, generation: u64) {
        let e = epoch(now_nanos);
        // Tagged one ring-length ago: expired from the start.
        let expired = ((generation & GEN_MASK) << GEN_SHIFT)
            | (tag_of(e.wrapping_sub(self.buckets)) << COUNT_BITS);
        for stripe in 0..self.stripes {
            for i in 0..3 * self.buckets as usize {
                // A read-modify-write, so a writer's compare-and-swap on the
                // same word is ordered before or after it, never across it.
                self.words[stripe * self.stride + i].swap(expired, Ordering::AcqRel);
            }
            self.cached_epoch(stripe).store(e, Ordering::Relaxed);
        }
    }
}

/// Adds one to the counter for epoch `e`, restarting it if it holds an
/// older epoch; returns the new count, or `None` if the word was stamped by
/// a reset newer than generation `g` (the outcome is late).
#[inline]
fn bump(word: &AtomicU64, e: u64, g: u64) -> Option<u64> {
    let tag = tag_of(e);
    let mut cur = word.load(Ordering::Relaxed);
    loop {
        let stamp = cur >> GEN_SHIFT;
        if g.wrapping_sub(stamp) & GEN_MASK >= 128 {
            return None;
        }
        let held = (cur >> COUNT_BITS) & TAG_MASK;
        // Same epoch, or a newer one (a stale cached epoch): count it there
        // (saturating; 2^32 calls a second on one stripe is not reachable).
        let next = if held == tag || (held.wrapping_sub(tag) & TAG_MASK) < (1 << 23) {
            cur + u64::from(cur & COUNT_MASK != COUNT_MASK)
        } else {
            (stamp << GEN_SHIFT) | (tag << COUNT_BITS) | 1
        };
        match word.compare_exchange_weak(cur, next, Ordering::AcqRel, Ordering::Relaxed) {
            Ok(_) => return Some(next & COUNT_MASK),
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
        let w = TimeWindow::new(3, 2, 1, start, 0);
        w.record(FAIL, 0, || start);
        w.record(OK, 0, || start + SEC);
        w.record(OK, 0, || start + 2 * SEC);
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
        w.record(OK, 0, || start + 3 * SEC);
        assert_eq!(w.totals(start + 3 * SEC).calls, 3);
        assert_eq!(w.totals(start + 10 * SEC), Totals::default());
    }

    #[test]
    fn sampled_clock_counts_successes_in_the_cached_second() {
        let start = 50 * SEC;
        let w = TimeWindow::new(5, 1, 4, start, 0);
        for _ in 0..3 {
            w.record(OK, 0, || start + 2 * SEC);
        }
        // Not yet sampled: counted in the creation second, still in the window.
        assert_eq!(w.totals(start + 2 * SEC).calls, 3);
        w.record(OK, 0, || start + 2 * SEC); // 4th call samples the clock
        w.record(OK, 0, || start + 2 * SEC);
        assert_eq!(
            w.totals(start + 5 * SEC).calls,
            1,
            "only the post-sample call remains"
        );
        w.reset(start + 5 * SEC, 1);
        assert_eq!(w.totals(start + 5 * SEC), Totals::default());
        // An outcome of generation 0 arriving after the reset is late.
        w.record(OK, 0, || start + 5 * SEC);
        w.record(FAIL, 0, || start + 5 * SEC);
        assert_eq!(w.totals(start + 5 * SEC), Totals::default());
        w.record(OK, 1, || start + 5 * SEC);
        w.record(OK, 2, || start + 5 * SEC); // a later, non-resetting generation
        assert_eq!(w.totals(start + 5 * SEC).calls, 2);
    }
}
