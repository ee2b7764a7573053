//! The last N calls: a shared cursor numbers the calls that take a slot
//! (a call's position), and a ring of slots remembers the marked ones
//! (failed or slow) by position.
//!
//! After C calls have taken a slot, the window is positions C−N .. C−1:
//! exactly the last N calls, and a marked call at position p is evicted by
//! the call that takes position p+N. A clean call writes only the cursor
//! (one shared read-modify-write); nothing is cleared, because a slot's
//! entry counts only while its position is inside the window. So two
//! threads recording mixed outcomes share one hot cache line, the cursor,
//! instead of the cursor plus bit rings that every call rewrote.
//!
//! The steady happy path writes nothing: once the ring is full and holds no
//! failure and no slow call, a success would evict a success and leave the
//! window unchanged, so it is skipped after two loads. Successes are
//! indistinguishable, so skipping them keeps "the last N calls" exact: the
//! next failure still needs N later calls to be evicted, and from then on
//! (the ring is dirty) every call takes a slot.
//!
//! Hint counters track how many marked entries are inside the window, so no
//! call scans the ring; a trip is confirmed by a scan. Each entry leaves the
//! hints exactly once, whoever sees it go first: the call that evicts it,
//! its own writer (if that call came first), or a later mark written over it.

use super::{Mark, Totals};
use crate::stripe::Padded;
use murmura_core::sync::atomic::{AtomicI64, AtomicU64, Ordering};

const FAILED: u64 = 1;
const SLOW: u64 = 2;
/// The entry has left the hints.
const EVICTED: u64 = 4;
const POS_SHIFT: u32 = 3;

/// A slot entry: (position + 1), and the flags. 0 is an empty slot.
fn entry(position: u64, mark: Mark) -> u64 {
    ((position + 1) << POS_SHIFT)
        | (u64::from(mark.failure) * FAILED)
        | (u64::from(mark.slow) * SLOW)
}

/// The position of a non-empty entry.
fn position(entry: u64) -> u64 {
    (entry >> POS_SHIFT) - 1
}

#[derive(Debug)]
pub(crate) struct CountWindow {
    size: u64,
    /// Calls the window must hold before its rates count (≤ `size`).
    minimum: u64,
    /// Calls given a slot so far (the next call's position).
    cursor: Padded<AtomicU64>,
    /// Read by every clean check, written by marks only.
    marks: Padded<Marks>,
    /// Ring length minus one: a power of two ≥ size, so a slot is a mask.
    mask: u64,
    /// Per slot (position & mask): the newest marked call there, or 0.
    slots: Box<[AtomicU64]>,
}

#[derive(Debug)]
struct Marks {
    /// The window holds no mark once the cursor reaches this: one past the
    /// position that evicts the newest mark.
    clean_from: AtomicU64,
    failed: AtomicI64,
    slow: AtomicI64,
}

impl CountWindow {
    pub(crate) fn new(size: u32, minimum: u64) -> Self {
        let len = u64::from(size).next_power_of_two();
        Self {
            size: u64::from(size),
            minimum,
            cursor: Padded(AtomicU64::new(0)),
            marks: Padded(Marks {
                clean_from: AtomicU64::new(0),
                failed: AtomicI64::new(0),
                slow: AtomicI64::new(0),
            }),
            mask: len - 1,
            slots: (0..len).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// Full, with no failure and no slow call: a success would change nothing.
    #[inline]
    pub(crate) fn is_clean(&self) -> bool {
        let cursor = self.cursor.load(Ordering::Relaxed);
        cursor >= self.size && cursor >= self.marks.clean_from.load(Ordering::Relaxed)
    }

    /// Gives `mark` a slot. (A success may skip this when the window
    /// [is clean](Self::is_clean); taking a slot is never wrong, and
    /// callers that already found the window dirty do not check again.)
    ///
    /// Returns whether this call brought the window up to its minimum
    /// calls. That is the only success that can make the window trip:
    /// any other adds a call without a mark (the rates fall) or, once the
    /// window is full, evicts a call (they fall or stay), and the mark
    /// that raised them was evaluated when it was recorded.
    #[inline]
    pub(crate) fn record(&self, mark: Mark) -> bool {
        let p = self.cursor.fetch_add(1, Ordering::AcqRel);
        if p >= self.size {
            self.evict(p - self.size);
        }
        if !mark.is_clean() {
            self.put(p, mark);
        }
        p + 1 == self.minimum
    }

    fn slot(&self, position: u64) -> &AtomicU64 {
        &self.slots[(position & self.mask) as usize]
    }

    /// The call at `q + size` has taken its slot: the entry of `q`, if it
    /// is there and still hinted, leaves the hints.
    #[inline]
    fn evict(&self, q: u64) {
        let slot = self.slot(q);
        let e = slot.load(Ordering::Acquire);
        if e != 0 && e & EVICTED == 0 && position(e) == q {
            self.unhint_once(slot, e);
        }
    }

    /// Flags `e` evicted and takes it out of the hints, unless someone
    /// else did first (or wrote over it, taking it out themselves).
    fn unhint_once(&self, slot: &AtomicU64, e: u64) {
        if slot
            .compare_exchange(e, e | EVICTED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            self.add_hints(e, -1);
        }
    }

    fn add_hints(&self, e: u64, by: i64) {
        if e & FAILED != 0 {
            self.marks.failed.fetch_add(by, Ordering::AcqRel);
        }
        if e & SLOW != 0 {
            self.marks.slow.fetch_add(by, Ordering::AcqRel);
        }
    }

    /// Writes the mark of position `p` into its slot.
    #[cold]
    fn put(&self, p: u64, mark: Mark) {
        let e = entry(p, mark);
        // Dirty before the entry is visible, so no success skips past it.
        self.marks
            .clean_from
            .fetch_max(p + self.size + 1, Ordering::AcqRel);
        self.add_hints(e, 1);
        let slot = self.slot(p);
        let mut prev = slot.load(Ordering::Acquire);
        loop {
            if prev != 0 && position(prev) > p {
                // A newer lap's mark is already here: this call stalled
                // for a whole ring and is long out of the window.
                self.add_hints(e, -1);
                return;
            }
            match slot.compare_exchange_weak(prev, e, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => break,
                Err(seen) => prev = seen,
            }
        }
        if prev != 0 && prev & EVICTED == 0 {
            // Written over before the call that evicted it looked.
            self.add_hints(prev, -1);
        }
        // If the call at p + size took its slot before this entry was
        // there, it could not evict it: do it here. (Read-modify-writes on
        // the cursor on both sides: one of the two sees the other.)
        if self.cursor.fetch_add(0, Ordering::AcqRel) > p + self.size {
            self.unhint_once(slot, e);
        }
    }

    pub(crate) fn totals(&self) -> Totals {
        Totals {
            calls: self.cursor.load(Ordering::Acquire).min(self.size),
            failures: self.marks.failed.load(Ordering::Acquire).max(0) as u64,
            slow: self.marks.slow.load(Ordering::Acquire).max(0) as u64,
        }
    }

    /// Counts the marked entries inside the window (a scan of the ring).
    pub(crate) fn exact_totals(&self) -> Totals {
        let cursor = self.cursor.load(Ordering::Acquire);
        let mut t = Totals {
            calls: cursor.min(self.size),
            failures: 0,
            slow: 0,
        };
        for slot in self.slots.iter() {
            let e = slot.load(Ordering::Acquire);
            if e != 0 && position(e) < cursor && position(e) + self.size >= cursor {
                t.failures += u64::from(e & FAILED != 0);
                t.slow += u64::from(e & SLOW != 0);
            }
        }
        t
    }

    pub(crate) fn reset(&self) {
        for slot in self.slots.iter() {
            slot.store(0, Ordering::Release);
        }
        self.marks.failed.store(0, Ordering::Release);
        self.marks.slow.store(0, Ordering::Release);
        self.marks.clean_from.store(0, Ordering::Release);
        self.cursor.store(0, Ordering::Release);
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

    /// Records as the breaker does: a success skips a clean window.
    fn rec(w: &CountWindow, m: Mark) {
        if !(m.is_clean() && w.is_clean()) {
            w.record(m);
        }
    }

    #[test]
    fn only_the_call_reaching_the_minimum_asks_for_a_decision() {
        let w = CountWindow::new(4, 3);
        let asks: Vec<bool> = (0..8).map(|_| w.record(OK)).collect();
        assert_eq!(
            asks,
            [false, false, true, false, false, false, false, false]
        );
        w.reset();
        assert!(!w.record(FAIL) && !w.record(OK) && w.record(OK));
    }

    #[test]
    fn old_outcomes_are_really_evicted() {
        let w = CountWindow::new(4, 4);
        for m in [FAIL, FAIL, OK, OK] {
            rec(&w, m);
        }
        assert_eq!(
            w.totals(),
            Totals {
                calls: 4,
                failures: 2,
                slow: 0
            }
        );
        rec(&w, OK);
        rec(&w, OK);
        assert_eq!(
            w.totals().failures,
            0,
            "both failures evicted after 4 later calls"
        );
        assert_eq!(w.totals(), w.exact_totals());
    }

    #[test]
    fn skipped_successes_keep_last_n_exact() {
        let w = CountWindow::new(3, 3);
        for _ in 0..10 {
            rec(&w, OK);
        }
        rec(&w, FAIL);
        rec(&w, OK);
        assert_eq!(w.totals().failures, 1);
        rec(&w, OK);
        assert_eq!(w.totals().failures, 1, "still one of the last three");
        rec(&w, OK);
        assert_eq!(w.totals().failures, 0, "evicted by the third later call");
        rec(
            &w,
            Mark {
                failure: false,
                slow: true,
            },
        );
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
        let w = CountWindow::new(130, 130);
        for i in 0..260u32 {
            rec(&w, if i % 13 == 0 { FAIL } else { OK });
        }
        // Slots of calls 130..260: multiples of 13 in that range.
        let expected = (130..260).filter(|i| i % 13 == 0).count() as u64;
        assert_eq!(w.totals().failures, expected);
        assert_eq!(w.exact_totals().failures, expected);
    }

    /// Interleavings a stalled thread can cause, played in order on one
    /// thread: a mark written after its evictor passed, a mark written
    /// over before its evictor looked, and a mark a whole ring late.
    #[test]
    fn hints_stay_exact_when_a_recorder_stalls() {
        // Marker of position 1 stalls past its evictor (position 3).
        // (Successes skipped while the window looks clean take no slot, so
        // other failures keep it dirty here.)
        let w = CountWindow::new(2, 2);
        rec(&w, FAIL);
        let p = w.cursor.fetch_add(1, Ordering::AcqRel);
        for m in [FAIL, OK, OK] {
            rec(&w, m);
        }
        w.put(p, FAIL);
        assert_eq!(w.totals(), w.exact_totals());
        assert_eq!(
            w.exact_totals().failures,
            0,
            "positions 3 and 4 are successes"
        );
        assert!(w.is_clean());

        // Evictor of position 0 (position 3) stalls; position 4 (same
        // slot of a ring of 4) writes a failure over it.
        let w = CountWindow::new(3, 3);
        rec(&w, FAIL);
        rec(&w, OK);
        rec(&w, OK);
        let stalled = w.cursor.fetch_add(1, Ordering::AcqRel);
        rec(&w, FAIL);
        w.evict(stalled - 3);
        assert_eq!(w.totals(), w.exact_totals());
        assert_eq!(w.exact_totals().failures, 1, "only position 4's");

        // Marker of position 1 stalls for a whole ring: a newer mark
        // (position 5, same slot) is already there and it is dropped.
        let w = CountWindow::new(3, 3);
        rec(&w, FAIL);
        let p = w.cursor.fetch_add(1, Ordering::AcqRel);
        for _ in 0..4 {
            rec(&w, FAIL);
        }
        w.put(p, FAIL);
        assert_eq!(w.totals(), w.exact_totals());
        assert_eq!(w.exact_totals().failures, 3);
        assert!(!w.is_clean());
    }

    #[test]
    fn threads_recording_mixed_outcomes_leave_exact_hints() {
        // Real threads racing on a small ring (many laps, overwrites and
        // self-evictions): once they are done, the hint counters equal a
        // scan of the window and the window holds exactly `size` calls.
        let w = std::sync::Arc::new(CountWindow::new(10, 10));
        let threads: Vec<_> = (0..4u64)
            .map(|t| {
                let w = w.clone();
                std::thread::spawn(move || {
                    for i in 0..20_000u64 {
                        let m = Mark {
                            failure: (i + t) % 3 == 0,
                            slow: (i * 7 + t) % 5 == 0,
                        };
                        rec(&w, m);
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().expect("thread"));
        let exact = w.exact_totals();
        assert_eq!(w.totals(), exact);
        assert_eq!(exact.calls, 10);
        assert!(exact.failures + exact.slow > 0);
    }
}
