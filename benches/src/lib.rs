//! Shared helpers for murmura's benchmarks: pre-generated inputs, a
//! counting allocator for heap-bytes measurements, and a two-thread
//! harness that keeps its second thread alive between rounds, and
//! interleaved A/B rounds ([`paired`]) for the ratios the README quotes.

pub mod paired;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// `n` pseudo-random `u64` keys from a fixed seed (SplitMix64), identical in
/// every run so ours and the peers see the same inputs.
pub fn random_keys(n: usize, seed: u64) -> Vec<u64> {
    let mut state = seed;
    (0..n)
        .map(|_| {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        })
        .collect()
}

/// A global allocator that counts live heap bytes while switched on.
///
/// Install it in a bench binary with
/// `#[global_allocator] static A: CountingAlloc = CountingAlloc::new();`
/// and wrap the measured construction in [`CountingAlloc::measure`].
#[derive(Debug)]
pub struct CountingAlloc {
    on: AtomicBool,
    live: AtomicUsize,
}

impl CountingAlloc {
    /// A switched-off counter.
    pub const fn new() -> Self {
        Self {
            on: AtomicBool::new(false),
            live: AtomicUsize::new(0),
        }
    }

    /// Runs `f` with counting on and returns its value with the net heap
    /// bytes still allocated when it returned (what the value holds).
    pub fn measure<T>(&self, f: impl FnOnce() -> T) -> (T, usize) {
        self.live.store(0, Ordering::SeqCst);
        self.on.store(true, Ordering::SeqCst);
        let value = f();
        self.on.store(false, Ordering::SeqCst);
        (value, self.live.load(Ordering::SeqCst))
    }
}

impl Default for CountingAlloc {
    fn default() -> Self {
        Self::new()
    }
}

// SAFETY: delegates every call to the system allocator unchanged; the counters
// are plain atomics and never affect the returned memory.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if self.on.load(Ordering::Relaxed) {
            self.live.fetch_add(layout.size(), Ordering::Relaxed);
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if self.on.load(Ordering::Relaxed) {
            // Saturating: memory allocated before counting started may be freed now.
            let _ = self
                .live
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
                    Some(v.saturating_sub(layout.size()))
                });
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if self.on.load(Ordering::Relaxed) {
            self.live.fetch_add(new_size, Ordering::Relaxed);
            let _ = self
                .live
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
                    Some(v.saturating_sub(layout.size()))
                });
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// A loop that one benchmark row runs: called with an iteration count, it
/// performs the measured operation that many times.
pub type Loop<'a> = &'a (dyn Fn(u64) + Sync);

#[repr(align(128))]
struct Padded<T>(T);

/// Signals between the measuring thread and the second thread of
/// [`with_two_threads`], each on its own cache lines so that waiting on
/// them does not disturb what is measured.
struct PairSignals {
    /// Bumped by the measuring thread to start a round.
    go: Padded<AtomicUsize>,
    /// Which loop and how many iterations the round runs.
    task: Padded<(AtomicUsize, AtomicU64)>,
    /// Bumped by the second thread when its share is done.
    done: Padded<AtomicUsize>,
    stop: Padded<AtomicBool>,
    /// The second thread's last round: start and end, in nanoseconds since
    /// the harness's base instant.
    span: Padded<(AtomicU64, AtomicU64)>,
    /// Set if the second thread's loop panicked.
    panicked: Padded<AtomicBool>,
}

/// Raised when dropped, that is when the loop it guards unwinds.
struct PanicFlag<'a>(&'a AtomicBool);

impl Drop for PanicFlag<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Runs two-thread rounds of the loops given to [`with_two_threads`].
pub struct TwoThreads<'a> {
    loops: &'a [Loop<'a>],
    signals: &'a PairSignals,
    base: Instant,
    rounds: std::cell::Cell<u64>,
    poor_overlap: std::cell::Cell<u64>,
}

impl TwoThreads<'_> {
    /// Runs loop `k` for `iters` iterations split between this thread and
    /// the second one, started together, and returns the time from the
    /// first thread's start to the last one's end: time per operation at
    /// two-thread throughput is the result divided by `iters`. Rounds in
    /// which the threads overlapped for less than 90 % of that span are
    /// counted and reported when the harness ends.
    pub fn run(&self, k: usize, iters: u64) -> Duration {
        let share = iters.div_ceil(2);
        let s = self.signals;
        s.task.0.0.store(k, Ordering::Relaxed);
        s.task.0.1.store(share, Ordering::Relaxed);
        let done_before = s.done.0.load(Ordering::Acquire);
        s.go.0.fetch_add(1, Ordering::Release);
        let start = since(self.base);
        (self.loops[k])(share);
        let end = since(self.base);
        while s.done.0.load(Ordering::Acquire) == done_before {
            assert!(
                !s.panicked.0.load(Ordering::Acquire),
                "the second benchmark thread panicked"
            );
            std::hint::spin_loop();
        }
        let their_start = s.span.0.0.load(Ordering::Relaxed);
        let their_end = s.span.0.1.load(Ordering::Relaxed);
        // From the first start to the last end, so a late start of either
        // thread counts against the row instead of hiding.
        let span = end.max(their_end) - start.min(their_start);
        let overlap = end.min(their_end).saturating_sub(start.max(their_start));
        self.rounds.set(self.rounds.get() + 1);
        if overlap * 10 < span * 9 {
            self.poor_overlap.set(self.poor_overlap.get() + 1);
        }
        // Each thread ran `share`: scale to the `iters` asked for.
        let scaled = u128::from(span) * u128::from(iters) / u128::from((2 * share).max(1));
        Duration::from_nanos(u64::try_from(scaled).unwrap_or(u64::MAX))
    }
}

/// Nanoseconds since `base`.
fn since(base: Instant) -> u64 {
    u64::try_from(base.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// Keeps a second thread alive for the whole of `body`, so that two-thread
/// rows measure the operation rather than thread start-up: the threads are
/// released by a spinning flag (a `Barrier` parks and wakes them, which
/// costs microseconds and staggers their starts), and every signal sits on
/// cache lines of its own. The second thread spins between rounds, so run
/// one-thread rows outside `body`.
pub fn with_two_threads<'a, R>(
    loops: &'a [Loop<'a>],
    body: impl FnOnce(&TwoThreads<'_>) -> R,
) -> R {
    let signals = PairSignals {
        go: Padded(AtomicUsize::new(0)),
        task: Padded((AtomicUsize::new(0), AtomicU64::new(0))),
        done: Padded(AtomicUsize::new(0)),
        stop: Padded(AtomicBool::new(false)),
        span: Padded((AtomicU64::new(0), AtomicU64::new(0))),
        panicked: Padded(AtomicBool::new(false)),
    };
    let base = Instant::now();
    std::thread::scope(|scope| {
        let s = &signals;
        scope.spawn(move || {
            let mut seen = 0;
            loop {
                let go = loop {
                    if s.stop.0.load(Ordering::Relaxed) {
                        return;
                    }
                    let go = s.go.0.load(Ordering::Acquire);
                    if go != seen {
                        break go;
                    }
                    std::hint::spin_loop();
                };
                seen = go;
                let (k, share) = (
                    s.task.0.0.load(Ordering::Relaxed),
                    s.task.0.1.load(Ordering::Relaxed),
                );
                let start = since(base);
                let flag = PanicFlag(&s.panicked.0);
                (loops[k])(share);
                std::mem::forget(flag);
                s.span.0.0.store(start, Ordering::Relaxed);
                s.span.0.1.store(since(base), Ordering::Relaxed);
                s.done.0.fetch_add(1, Ordering::Release);
            }
        });
        // Released even if `body` panics, or the scope would wait forever.
        let _stop = StopOnDrop(&s.stop.0);
        let pair = TwoThreads {
            loops,
            signals: s,
            base,
            rounds: std::cell::Cell::new(0),
            poor_overlap: std::cell::Cell::new(0),
        };
        let result = body(&pair);
        if pair.poor_overlap.get() > 0 {
            eprintln!(
                "with_two_threads: {} of {} rounds overlapped for less than 90 % of their span",
                pair.poor_overlap.get(),
                pair.rounds.get()
            );
        }
        result
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_deterministic_and_distinct() {
        let a = random_keys(1000, 1);
        assert_eq!(a, random_keys(1000, 1));
        let mut sorted = a.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), 1000);
        assert_ne!(a, random_keys(1000, 2));
    }

    #[test]
    fn two_threads_split_the_iterations_and_both_run() {
        let counts = [AtomicU64::new(0), AtomicU64::new(0)];
        let threads = std::sync::Mutex::new(std::collections::HashSet::new());
        let first = |n: u64| {
            counts[0].fetch_add(n, Ordering::Relaxed);
            threads.lock().unwrap().insert(std::thread::current().id());
        };
        let second = |n: u64| {
            counts[1].fetch_add(n, Ordering::Relaxed);
        };
        let loops: [Loop<'_>; 2] = [&first, &second];
        with_two_threads(&loops, |pair| {
            pair.run(0, 11);
            pair.run(1, 4);
            pair.run(0, 4);
        });
        assert_eq!(counts[0].load(Ordering::Relaxed), 12 + 4);
        assert_eq!(counts[1].load(Ordering::Relaxed), 4);
        assert_eq!(
            threads.lock().unwrap().len(),
            2,
            "both threads ran the loop"
        );
    }

    #[test]
    fn a_panic_on_the_second_thread_is_reported_not_a_hang() {
        let measuring = std::thread::current().id();
        let outcome = std::panic::catch_unwind(|| {
            let boom = |_: u64| {
                if std::thread::current().id() != measuring {
                    panic!("boom");
                }
            };
            let loops: [Loop<'_>; 1] = [&boom];
            with_two_threads(&loops, |pair| pair.run(0, 2));
        });
        assert!(outcome.is_err(), "the panic reached the caller");
    }
}
