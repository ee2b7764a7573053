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
//! An owner keeps the calls counter of the bucket it writes now (its head
//! bucket) in the stripe's header line, next to the bucket's start and the
//! reset generation it was filled under: while the reset is the same and
//! the clock is inside that bucket, a call is two compares, a load and a
//! store on that one line. Moving to another bucket first stores the live
//! counter back into its slot, then starts the new one; readers read the
//! live counter first (acquire) and skip a slot holding the same bucket, so
//! a move seen halfway neither loses nor double-counts the calls.
//!
//! Late outcomes: a writer first loads the reset generation and drops an
//! outcome admitted before it; if a reset lands after that check, the word
//! it writes carries the old stamp and readers ignore it. So an outcome from
//! before a reset is never counted after it, even a success recorded without
//! the reset fence. (Stamps compare modulo 256, so no old word may outlive
//! 256 resets: each reset clears every slot word of an older stamp, a read
//! clears words of the current stamp that left the window (before their
//! 24-bit epoch tag, 194 days, could wrap round), and an owner's live word
//! counts only while its head names the current reset's full generation.
//! A word a late writer rewrites during a reset's clearing is cleared by
//! the next reset. On the shared stripe a word whose stamp reads as up to
//! 127 resets newer is left alone, as another writer's.)
//!
//! Deciding: the rates rise only when a mark (failure or slow call) is
//! recorded, which always evaluates the thresholds, or when older calls
//! expire, which happens at second boundaries: the first call of each
//! second (any stripe; `checked_epoch` picks one) evaluates them. A success
//! can also make the window trip by bringing it up to the minimum calls;
//! while the window holds fewer calls than the minimum and enough marks to
//! trip it at the minimum, a flag in the low bit of the reset generation (loaded by every call
//! anyway) makes successes evaluate too. A success racing the mark that
//! raises the flag may miss it; the next call then evaluates.

use super::{Mark, Totals};
use crate::stripe::{Padded, thread_index};
use murmura_core::sync::atomic::{AtomicU64, Ordering};

const COUNT_BITS: u32 = 32;
const COUNT_MASK: u64 = (1 << COUNT_BITS) - 1;
const TAG_MASK: u64 = (1 << 24) - 1;
const STAMP_SHIFT: u32 = 56;
const STAMP_MASK: u64 = 0xFF;
/// Words per cache-line pair: stripes are this far apart at least.
const LINE_WORDS: usize = 16;

/// In `reset_generation`: the window holds fewer calls than the minimum
/// but some marks, so a success may bring it up to a tripping minimum.
const RECHECK: u64 = 1;

/// A head that matches no reset generation (set before the first write).
const NO_HEAD: u64 = u64::MAX;
/// In a head's reset generation: the clock has left the head's bucket (the
/// next call moves), but the live word still holds that generation's calls.
const STALE: u64 = 1 << 63;
const SEC: u64 = 1_000_000_000;

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
    /// Words of one stripe: 3 per bucket, padded to whole cache-line pairs.
    stride: usize,
    /// Per stripe (the shared one last): its owner and the owner's head.
    heads: Box<[Padded<Head>]>,
    /// Generation of the breaker when the window was last emptied, shifted
    /// left by one; the low bit ([`RECHECK`]) asks successes to evaluate
    /// the thresholds (read with the generation, so it costs them nothing).
    reset_generation: AtomicU64,
    /// The newest second whose first call has evaluated the thresholds:
    /// calls expire at second boundaries, so one evaluation a second sees
    /// every rise of the rates that expiry causes.
    checked_epoch: AtomicU64,
    words: Box<[AtomicU64]>,
}

/// A stripe's owner (thread index + 1, or 0) and the bucket its owner
/// writes now: the reset generation it was filled under, the bucket's start
/// (nanos) and its live calls word (0 before the first call). The shared
/// stripe keeps its cached epoch instead.
#[derive(Debug)]
struct Head {
    owner: AtomicU64,
    reset: AtomicU64,
    start: AtomicU64,
    live: AtomicU64,
    cached_epoch: AtomicU64,
}

fn epoch(nanos: u64) -> u64 {
    nanos / SEC
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
            plus_one(cur)
        } else {
            (stamp << STAMP_SHIFT) | (tag << COUNT_BITS) | 1
        },
    )
}

/// [`counted`] for a word only its owner writes: the owner's loads of the
/// reset generation never go backwards, so a different stamp is always an
/// older reset's (however many resets ago, even 128 or more) and restarts.
#[inline]
fn counted_by_owner(cur: u64, tag: u64, stamp: u64) -> u64 {
    match counted(cur, tag, stamp) {
        Some(next) if cur >> STAMP_SHIFT == stamp => next,
        _ => (stamp << STAMP_SHIFT) | (tag << COUNT_BITS) | 1,
    }
}

/// One more call in a word that already holds the right stamp and epoch.
#[inline]
fn plus_one(cur: u64) -> u64 {
    cur + u64::from(cur & COUNT_MASK != COUNT_MASK)
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
        let stride = (3 * buckets).next_multiple_of(LINE_WORDS) + LINE_WORDS;
        let w = Self {
            seconds: u64::from(seconds),
            buckets: buckets as u64,
            sample_mask: u64::from(sample_every.max(1).next_power_of_two()) - 1,
            stripes,
            stride,
            heads: (0..=stripes)
                .map(|_| {
                    Padded(Head {
                        owner: AtomicU64::new(0),
                        reset: AtomicU64::new(NO_HEAD),
                        start: AtomicU64::new(0),
                        live: AtomicU64::new(0),
                        cached_epoch: AtomicU64::new(0),
                    })
                })
                .collect(),
            reset_generation: AtomicU64::new(generation << 1),
            // Nothing can expire in the second the window starts in.
            checked_epoch: AtomicU64::new(epoch(now_nanos)),
            words: (0..stride * (stripes + 1))
                .map(|_| AtomicU64::new(0))
                .collect(),
        };
        // Every word is zero: nothing to clear.
        w.start_generation(now_nanos, generation);
        w
    }

    /// Index of counter `which` (0 calls, 1 failed, 2 slow) of `epoch`'s
    /// bucket in stripe `stripe`.
    #[inline]
    fn counter_index(&self, stripe: usize, epoch: u64, which: usize) -> usize {
        let slot = (epoch & (self.buckets - 1)) as usize;
        stripe * self.stride + slot * 3 + which
    }

    /// The calling thread's own stripe (its number and head), or `None`
    /// if it must use the shared one. Under loom too (see `crate::stripe`):
    /// a thread index passes from an ended thread to a new one only
    /// through a mutex, so the new owner's plain loads see the old owner's
    /// stores.
    #[inline]
    fn own_stripe(&self) -> Option<(usize, &Head)> {
        let index = thread_index();
        if index == crate::stripe::NO_INDEX {
            return None;
        }
        let me = index as u64 + 1;
        let stripe = index & (self.stripes - 1);
        let head = &self.heads[stripe];
        let held = head.owner.load(Ordering::Relaxed);
        if held == me
            || (held == 0
                && head
                    .owner
                    .compare_exchange(0, me, Ordering::AcqRel, Ordering::Relaxed)
                    .is_ok())
        {
            return Some((stripe, head));
        }
        None
    }

    /// Counts `mark` in the current bucket unless the window was emptied
    /// after `generation` (then the outcome is late and dropped). Returns
    /// whether a success must evaluate the thresholds: it is the first call
    /// of a new second (older calls may have expired), or the window asked
    /// for it (see [`set_recheck`](Self::set_recheck)).
    #[inline]
    pub(crate) fn record(&self, mark: Mark, generation: u64, now: impl Fn() -> u64) -> bool {
        let raw = self.reset_generation.load(Ordering::Acquire);
        let reset = raw >> 1;
        if generation < reset {
            return false; // late
        }
        let moved = match self.own_stripe() {
            Some((stripe, head)) => self.record_owned(stripe, head, mark, reset, now),
            None => self.record_shared(mark, reset, now),
        };
        moved || raw & RECHECK != 0
    }

    /// Whether `e` is a second no call has evaluated the thresholds in yet
    /// (and claims it).
    #[cold]
    fn first_in(&self, e: u64) -> bool {
        self.checked_epoch.load(Ordering::Relaxed) < e
            && self.checked_epoch.fetch_max(e, Ordering::AcqRel) < e
    }

    /// Makes successes evaluate the thresholds (or stop): set while the
    /// window holds fewer calls than the minimum and marks enough to trip
    /// it at the minimum. Only a
    /// success in that state can make the window trip without a second
    /// passing: any other success lowers the rates. (A race with a reset
    /// can leave the flag on for the new generation: a few successes then
    /// evaluate needlessly, and the first one clears it.)
    pub(crate) fn set_recheck(&self, on: bool) {
        let raw = self.reset_generation.load(Ordering::Relaxed);
        if (raw & RECHECK != 0) != on {
            if on {
                self.reset_generation.fetch_or(RECHECK, Ordering::AcqRel);
            } else {
                self.reset_generation.fetch_and(!RECHECK, Ordering::AcqRel);
            }
        }
    }

    /// The owner's path: while the stripe's head still names the current
    /// reset and the clock is inside the head's bucket, the live word
    /// already carries the right stamp and epoch (nobody else writes it),
    /// so counting is one compare, a load and a store. Returns whether the
    /// call moved the stripe into a second no call has evaluated yet.
    #[inline]
    fn record_owned(
        &self,
        stripe: usize,
        head: &Head,
        mark: Mark,
        reset: u64,
        now: impl Fn() -> u64,
    ) -> bool {
        let sampled = self.sample_mask != 0 && mark.is_clean();
        let head_ok = head.reset.load(Ordering::Relaxed) == reset;
        let start = head.start.load(Ordering::Relaxed);
        let t = if sampled { start } else { now() };
        if !(head_ok && t.wrapping_sub(start) < SEC) {
            return self.record_owned_new_bucket(stripe, mark, reset, now());
        }
        let calls = plus_one(head.live.load(Ordering::Relaxed));
        head.live.store(calls, Ordering::Release);
        if !mark.is_clean() {
            let e = epoch(start);
            self.count_marks(
                self.counter_index(stripe, e, 0),
                mark,
                e,
                reset & STAMP_MASK,
            );
        }
        if sampled && calls & self.sample_mask == 0 && now().wrapping_sub(start) >= SEC {
            // Every 2^k-th call of a bucket looks at the clock: once it has
            // left the bucket, the next call starts the new one.
            head.reset.store(reset | STALE, Ordering::Relaxed);
        }
        false
    }

    /// The owner's path when the head is stale: put the live word back in
    /// its slot, then count the call in the current bucket's and make that
    /// the head.
    #[cold]
    #[inline(never)]
    fn record_owned_new_bucket(&self, stripe: usize, mark: Mark, reset: u64, now: u64) -> bool {
        let head = &self.heads[stripe];
        let live = head.live.load(Ordering::Relaxed);
        // Back to its slot, unless it holds an older reset's calls (which
        // no reader counts, and which must not outlive the reset's scrub).
        if live & COUNT_MASK != 0 && head.reset.load(Ordering::Relaxed) & !STALE == reset {
            let at = self.counter_index(stripe, (live >> COUNT_BITS) & TAG_MASK, 0);
            self.words[at].store(live, Ordering::Release);
        }
        let e = epoch(now);
        let stamp = reset & STAMP_MASK;
        let calls_at = self.counter_index(stripe, e, 0);
        let calls = counted_by_owner(
            self.words[calls_at].load(Ordering::Relaxed),
            tag_of(e),
            stamp,
        );
        head.start.store(e * SEC, Ordering::Relaxed);
        head.reset.store(reset, Ordering::Relaxed);
        // Published after the slot it came from and the head's generation:
        // a reader that sees the new live word sees the old one in its slot
        // and the generation it belongs to.
        head.live.store(calls, Ordering::Release);
        if !mark.is_clean() {
            self.count_marks(calls_at, mark, e, stamp);
        }
        self.first_in(e)
    }

    /// Counts a failure and/or a slow call next to the (owned) calls word
    /// at `calls_at`, of epoch `e`.
    #[cold]
    fn count_marks(&self, calls_at: usize, mark: Mark, e: u64, stamp: u64) {
        for (which, set) in [(1, mark.failure), (2, mark.slow)] {
            if set {
                let word = &self.words[calls_at + which];
                let next = counted_by_owner(word.load(Ordering::Relaxed), tag_of(e), stamp);
                word.store(next, Ordering::Release);
            }
        }
    }

    /// Threads without a stripe of their own share one, written with
    /// compare-and-swap; successes there count in its cached epoch when
    /// the clock is sampled.
    #[inline(never)]
    fn record_shared(&self, mark: Mark, reset: u64, now: impl Fn() -> u64) -> bool {
        let stripe = self.stripes;
        let stamp = reset & STAMP_MASK;
        let sampled = self.sample_mask != 0 && mark.is_clean();
        let cached = &self.heads[stripe].cached_epoch;
        let e = if sampled {
            cached.load(Ordering::Relaxed)
        } else {
            let e = epoch(now());
            if self.sample_mask != 0 {
                remember(cached, e);
            }
            e
        };
        let tag = tag_of(e);
        let bump = |which| {
            bump_shared(
                &self.words[self.counter_index(stripe, e, which)],
                tag,
                stamp,
            )
        };
        let Some(calls) = bump(0) else {
            return false; // a newer reset already wrote here
        };
        if mark.failure {
            bump(1);
        }
        if mark.slow {
            bump(2);
        }
        if sampled && calls & self.sample_mask == 0 {
            remember(cached, epoch(now()));
        }
        self.checked_epoch.load(Ordering::Relaxed) < e && self.first_in(e)
    }

    pub(crate) fn totals(&self, now_nanos: u64) -> Totals {
        let e = epoch(now_nanos);
        let generation = self.reset_generation.load(Ordering::Acquire) >> 1;
        let stamp = generation & STAMP_MASK;
        let counts = |w: u64| {
            if w >> STAMP_SHIFT == stamp && age(e, (w >> COUNT_BITS) & TAG_MASK) < self.seconds {
                w & COUNT_MASK
            } else {
                0
            }
        };
        // Words of this reset that left the window are cleared as they are
        // read (a compare-and-swap from the value read, so a word its
        // writer has just rewritten is left alone): no word lies unread
        // until its 24-bit epoch tag wraps and reads as recent again.
        let read = |at: usize| {
            let w = self.words[at].load(Ordering::Acquire);
            if w != 0
                && w >> STAMP_SHIFT == stamp
                && age(e, (w >> COUNT_BITS) & TAG_MASK) >= self.seconds
            {
                let _ = self.words[at].compare_exchange(w, 0, Ordering::AcqRel, Ordering::Relaxed);
            }
            w
        };
        let mut sums = [0u64; 3];
        for stripe in 0..=self.stripes {
            // The live word first: its bucket's slot may hold an older copy.
            // It counts only under the current reset's full generation (its
            // owner may not have called since an older one, 256 resets ago).
            let live = if stripe < self.stripes {
                let head = &self.heads[stripe];
                let live = head.live.load(Ordering::Acquire);
                if head.reset.load(Ordering::Acquire) & !STALE == generation {
                    live
                } else {
                    0
                }
            } else {
                0
            };
            sums[0] += counts(live);
            for slot in 0..self.buckets {
                let at = self.counter_index(stripe, slot, 0);
                let calls = read(at);
                if live & COUNT_MASK == 0 || calls >> COUNT_BITS != live >> COUNT_BITS {
                    sums[0] += counts(calls);
                }
                sums[1] += counts(read(at + 1));
                sums[2] += counts(read(at + 2));
            }
        }
        Totals {
            calls: sums[0],
            failures: sums[1],
            slow: sums[2],
        }
    }

    /// Empties the window for a breaker now at `generation`: outcomes of
    /// older generations are dropped, words stamped before are ignored
    /// (and owners' heads, filled under an older generation, go stale).
    ///
    /// Then every slot word of an older reset is cleared (compare-and-swap
    /// from the value read: a word a late writer rewrites meanwhile is left
    /// to the next reset or read), so that no old word survives the 256
    /// resets after which its 8-bit stamp would read as current again.
    /// (An owner's live word is only ever written by its owner, who
    /// replaces it on its next call after a reset.)
    pub(crate) fn reset(&self, now_nanos: u64, generation: u64) {
        self.start_generation(now_nanos, generation);
        let stamp = generation & STAMP_MASK;
        for stripe in 0..=self.stripes {
            // A stripe never claimed was never written (the shared one may be).
            if stripe < self.stripes && self.heads[stripe].owner.load(Ordering::Acquire) == 0 {
                continue;
            }
            for at in (0..3 * self.buckets as usize).map(|i| stripe * self.stride + i) {
                let word = &self.words[at];
                let w = word.load(Ordering::Acquire);
                if w != 0 && w >> STAMP_SHIFT != stamp {
                    let _ = word.compare_exchange(w, 0, Ordering::AcqRel, Ordering::Relaxed);
                }
            }
        }
    }

    /// The generation part of [`reset`](Self::reset): from now on, outcomes
    /// of older generations are dropped and older stamps ignored.
    fn start_generation(&self, now_nanos: u64, generation: u64) {
        self.reset_generation
            .swap(generation << 1, Ordering::AcqRel);
        self.heads[self.stripes]
            .cached_epoch
            .store(epoch(now_nanos), Ordering::Relaxed);
    }
}

fn remember(cached: &AtomicU64, e: u64) {
    if cached.load(Ordering::Relaxed) < e {
        cached.store(e, Ordering::Relaxed);
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
    fn sampled_clock_counts_successes_in_the_head_bucket_until_a_sample() {
        let start = 50 * SEC;
        let w = TimeWindow::new(5, 1, 4, start, 0);
        // A stripe's first call reads the clock and makes its bucket the head.
        w.record(OK, 0, || start + 2 * SEC);
        // The clock moves on unread: successes 2..=4 count in the head's
        // second; the 4th samples the clock and retires the head.
        for _ in 0..3 {
            w.record(OK, 0, || start + 3 * SEC + SEC / 2);
        }
        w.record(OK, 0, || start + 3 * SEC + SEC / 2); // counted in second 53
        assert_eq!(w.totals(start + 6 * SEC + SEC / 2).calls, 5);
        assert_eq!(
            w.totals(start + 7 * SEC).calls,
            1,
            "second 52 left the 5 s window; the post-sample call remains"
        );
        // A failure always reads the clock.
        w.record(FAIL, 0, || start + 9 * SEC);
        assert_eq!(
            w.totals(start + 9 * SEC),
            Totals {
                calls: 1,
                failures: 1,
                slow: 0
            }
        );
        w.reset(start + 9 * SEC, 1);
        assert_eq!(w.totals(start + 9 * SEC), Totals::default());
        // An outcome of generation 0 arriving after the reset is late.
        w.record(OK, 0, || start + 9 * SEC);
        w.record(FAIL, 0, || start + 9 * SEC);
        assert_eq!(w.totals(start + 9 * SEC), Totals::default());
        w.record(OK, 1, || start + 9 * SEC);
        w.record(OK, 2, || start + 9 * SEC); // a later, non-resetting generation
        assert_eq!(w.totals(start + 9 * SEC).calls, 2);
    }

    #[test]
    fn a_word_left_256_resets_ago_is_not_revived() {
        // Written by the shared stripe's path... and by an owner: both kinds
        // of slot word are cleared by the reset that retires their stamp.
        let start = 10 * SEC;
        let w = TimeWindow::new(4, 1, 1, start, 0);
        w.record(FAIL, 0, || start);
        w.record(FAIL, 0, || start + SEC); // moves the head: second 10 is in its slot
        for g in 1..=256 {
            w.reset(start + SEC, g);
        }
        assert_eq!(
            w.reset_generation.load(Ordering::Relaxed) >> 1 & STAMP_MASK,
            0
        );
        let t = w.totals(start + SEC);
        assert_eq!(
            (t.failures, t.calls),
            (0, 0),
            "stamp 0 again, old words gone"
        );
    }

    #[test]
    fn a_word_read_after_it_expired_is_cleared_before_its_epoch_tag_wraps() {
        let start = 10 * SEC;
        let w = TimeWindow::new(4, 1, 1, start, 0);
        w.record(FAIL, 0, || start);
        w.record(OK, 0, || start + SEC); // second 10 goes to its slot
        assert_eq!(w.totals(start + 5 * SEC), Totals::default());
        // 2^24 seconds later the slot's tag would read as second 10 again.
        let wrapped = start + (1 << 24) * SEC;
        assert_eq!(w.totals(wrapped).failures, 0);
    }

    #[test]
    fn an_owned_word_left_many_resets_ago_restarts() {
        // 200 resets (stamps 200 apart, i.e. -56 mod 256): the stripe's
        // old word must not be taken for a newer reset's and drop calls.
        let start = 10 * SEC;
        let w = TimeWindow::new(4, 1, 1, start, 0);
        w.record(FAIL, 0, || start);
        w.reset(start, 200);
        w.record(FAIL, 200, || start);
        assert_eq!(
            w.totals(start),
            Totals {
                calls: 1,
                failures: 1,
                slow: 0
            }
        );
    }

    #[test]
    fn head_follows_the_clock_across_buckets_and_backwards() {
        let start = 10 * SEC;
        let w = TimeWindow::new(4, 1, 1, start, 0);
        w.record(OK, 0, || start);
        w.record(FAIL, 0, || start + SEC - 1); // same bucket, via the head
        w.record(OK, 0, || start + SEC); // next bucket
        w.record(OK, 0, || start + SEC / 2); // the clock stepped back a bucket
        assert_eq!(
            w.totals(start + SEC),
            Totals {
                calls: 4,
                failures: 1,
                slow: 0
            }
        );
        // Four buckets later the first second (with the failure) is gone.
        w.record(OK, 0, || start + 4 * SEC);
        assert_eq!(
            w.totals(start + 4 * SEC),
            Totals {
                calls: 2,
                failures: 0,
                slow: 0
            }
        );
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
                std::thread::spawn(move || {
                    (0..10_000).for_each(|_| {
                        w.record(ok, 0, || 100 * SEC);
                    })
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().expect("thread"));
        assert_eq!(w.totals(100 * SEC).calls, 40_000);
        w.reset(100 * SEC, 1);
        assert_eq!(w.totals(100 * SEC), Totals::default());
    }
}
