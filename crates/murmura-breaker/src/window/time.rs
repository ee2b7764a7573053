//! The calls of the last N seconds: per thread stripe, a ring of one-second
//! buckets, each bucket three tagged counters (calls, failed, slow).
//!
//! A counter word holds, from the top, the low 8 bits of the generation of
//! the reset that emptied the window when the word was written (its stamp),
//! the bucket's epoch (seconds, low 24 bits) and a 32-bit count. Readers
//! count a word only if its stamp is the current reset's and its epoch is
//! inside the window, so neither expiry nor a reset writes the counters: a
//! writer that finds an older epoch or stamp restarts the word at one.
//!
//! Each stripe is claimed by the first thread that writes to it and from
//! then on written by that thread only, with a plain load and store (no
//! locked instruction: the common call costs less than one atomic
//! increment). Threads that find their stripe claimed by another thread
//! share one extra stripe written with compare-and-swap. A claim is by
//! thread index, and an ended thread's index (with its claims) passes to a
//! thread started later, so a program that keeps starting threads keeps
//! reusing the same stripes.
//!
//! Late outcomes: a writer first loads the reset generation and drops an
//! outcome admitted before it; if a reset lands after that check, the word
//! it writes carries the old stamp and readers ignore it. So an outcome from
//! before a reset is never counted after it, even a success recorded without
//! the reset fence. (Stamps compare modulo 256: a word left unwritten across
//! exactly a multiple of 256 resets and still inside the window's seconds
//! could be revived; the generation check proper uses the full generation.)

use super::{Mark, Totals};
use crate::stripe::thread_index;
use murmura_core::sync::atomic::{AtomicU64, Ordering};

const COUNT_BITS: u32 = 32;
const COUNT_MASK: u64 = (1 << COUNT_BITS) - 1;
const TAG_MASK: u64 = (1 << 24) - 1;
const STAMP_SHIFT: u32 = 56;
const STAMP_MASK: u64 = 0xFF;
/// Words per cache-line pair: stripes are this far apart at least.
const LINE_WORDS: usize = 16;

#[derive(Debug)]
pub(crate) struct TimeWindow {
    /// Window length in seconds: buckets younger than this count.
    seconds: u64,
    /// Ring length: a power of two ≥ `seconds`, so a slot is a mask, not a division.
    buckets: u64,
    /// Clock sampling period for successes, rounded up to a power of two, minus one.
    sample_mask: u64,
    /// Owned stripes; stripe number `stripes` is the shared one.
    stripes: usize,
    /// Words of one stripe: 3 per bucket, the stripe's cached epoch, its owner.
    stride: usize,
    /// Generation of the breaker when the window was last emptied.
    reset_generation: AtomicU64,
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

/// The word after counting one call of epoch tag `tag` under stamp `stamp`
/// into `cur`, or `None` if `cur` belongs to a newer reset than `stamp`.
#[inline]
fn counted(cur: u64, tag: u64, stamp: u64) -> Option<u64> {
    let held_stamp = cur >> STAMP_SHIFT;
    if held_stamp != stamp {
        // Newer stamp (by at most 127 resets): our reset is gone; drop.
        let ahead = held_stamp.wrapping_sub(stamp) & STAMP_MASK;
        if ahead != 0 && ahead < 128 {
            return None;
        }
        return Some((stamp << STAMP_SHIFT) | (tag << COUNT_BITS) | 1);
    }
    let held = (cur >> COUNT_BITS) & TAG_MASK;
    // Same epoch, or a newer one (a stale cached epoch): count it there
    // (saturating; 2^32 calls a second on one stripe is not reachable).
    Some(
        if held == tag || (held.wrapping_sub(tag) & TAG_MASK) < (1 << 23) {
            cur + u64::from(cur & COUNT_MASK != COUNT_MASK)
        } else {
            (stamp << STAMP_SHIFT) | (tag << COUNT_BITS) | 1
        },
    )
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
        let stride = (3 * buckets + 2).next_multiple_of(LINE_WORDS) + LINE_WORDS;
        let w = Self {
            seconds: u64::from(seconds),
            buckets: buckets as u64,
            sample_mask: u64::from(sample_every.max(1).next_power_of_two()) - 1,
            stripes,
            stride,
            reset_generation: AtomicU64::new(generation),
            words: (0..stride * (stripes + 1))
                .map(|_| AtomicU64::new(0))
                .collect(),
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

    fn owner(&self, stripe: usize) -> &AtomicU64 {
        &self.words[stripe * self.stride + 3 * self.buckets as usize + 1]
    }

    /// The calling thread's stripe and whether it owns it. Under loom every
    /// writer takes the shared stripe: a thread index passes from an ended
    /// thread to a new one through a std mutex (a static, which loom cannot
    /// model), so loom would see the new owner's plain load race the old
    /// owner's store. The models check the compare-and-swap protocol and the
    /// stamps; the owned path rests on one writer per stripe at a time.
    #[inline]
    fn stripe(&self) -> (usize, bool) {
        if cfg!(loom) {
            return (self.stripes, false);
        }
        let index = thread_index();
        if index == crate::stripe::NO_INDEX {
            return (self.stripes, false);
        }
        let me = index as u64 + 1;
        let stripe = index & (self.stripes - 1);
        let owner = self.owner(stripe);
        let held = owner.load(Ordering::Relaxed);
        if held == me {
            return (stripe, true);
        }
        if held == 0
            && owner
                .compare_exchange(0, me, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        {
            return (stripe, true);
        }
        (self.stripes, false)
    }

    /// Counts `mark` in the current bucket unless the window was emptied
    /// after `generation` (then the outcome is late and dropped).
    #[inline]
    pub(crate) fn record(&self, mark: Mark, generation: u64, now: impl Fn() -> u64) {
        let reset = self.reset_generation.load(Ordering::Acquire);
        if generation < reset {
            return; // late
        }
        let stamp = reset & STAMP_MASK;
        let (stripe, owned) = self.stripe();
        let sampled = self.sample_mask != 0 && mark.is_clean();
        let e = if sampled {
            self.cached_epoch(stripe).load(Ordering::Relaxed)
        } else {
            let e = epoch(now());
            if self.sample_mask != 0 {
                self.remember(stripe, e);
            }
            e
        };
        let tag = tag_of(e);
        let bump = |which: usize| {
            let word = self.counter(stripe, e, which);
            if owned {
                let next = counted(word.load(Ordering::Relaxed), tag, stamp)?;
                word.store(next, Ordering::Release);
                Some(next & COUNT_MASK)
            } else {
                bump_shared(word, tag, stamp)
            }
        };
        let Some(calls) = bump(0) else {
            return; // a newer reset already wrote here
        };
        if mark.failure {
            bump(1);
        }
        if mark.slow {
            bump(2);
        }
        if sampled && calls & self.sample_mask == 0 {
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
        let stamp = self.reset_generation.load(Ordering::Acquire) & STAMP_MASK;
        let mut sums = [0u64; 3];
        for stripe in 0..=self.stripes {
            for slot in 0..self.buckets as usize {
                for (which, sum) in sums.iter_mut().enumerate() {
                    let w =
                        self.words[stripe * self.stride + slot * 3 + which].load(Ordering::Acquire);
                    if w >> STAMP_SHIFT == stamp
                        && age(e, (w >> COUNT_BITS) & TAG_MASK) < self.seconds
                    {
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

    /// Empties the window for a breaker now at `generation`: outcomes of
    /// older generations are dropped, words stamped before are ignored.
    pub(crate) fn reset(&self, now_nanos: u64, generation: u64) {
        self.reset_generation.swap(generation, Ordering::AcqRel);
        let e = epoch(now_nanos);
        for stripe in 0..=self.stripes {
            self.cached_epoch(stripe).store(e, Ordering::Relaxed);
        }
    }
}

/// Counts one call on a word other threads may write too; returns the new
/// count, or `None` if a newer reset's stamp is there.
#[inline]
fn bump_shared(word: &AtomicU64, tag: u64, stamp: u64) -> Option<u64> {
    let mut cur = word.load(Ordering::Relaxed);
    loop {
        let next = counted(cur, tag, stamp)?;
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

#[cfg(test)]
mod stripe_tests {
    use super::*;

    #[test]
    fn owned_and_shared_stripes_count_every_call_of_many_threads() {
        const SEC: u64 = 1_000_000_000;
        let ok = Mark {
            failure: false,
            slow: false,
        };
        // Two owned stripes for four threads: at least two share the CAS stripe.
        let w = std::sync::Arc::new(TimeWindow::new(10, 2, 1, 100 * SEC, 0));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let w = w.clone();
                std::thread::spawn(move || (0..10_000).for_each(|_| w.record(ok, 0, || 100 * SEC)))
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().expect("thread"));
        assert_eq!(w.totals(100 * SEC).calls, 40_000);
        w.reset(100 * SEC, 1);
        assert_eq!(w.totals(100 * SEC), Totals::default());
    }
}
