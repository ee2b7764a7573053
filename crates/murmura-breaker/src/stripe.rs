//! Per-thread striping: each thread writes its own cache line, so counters
//! that every call touches do not bounce between cores.

use murmura_core::sync::atomic::{AtomicU64, Ordering};

/// Aligns its content to two cache lines (adjacent-line prefetch on x86 pairs them).
#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct Padded<T>(pub(crate) T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

#[cfg(not(loom))]
static NEXT_THREAD: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Indices of threads that have ended, handed to new threads first, so a
/// program that keeps starting threads reuses a small set of indices (and
/// the time window's stripes claimed under them).
#[cfg(not(loom))]
static FREE_INDICES: std::sync::Mutex<Vec<usize>> = std::sync::Mutex::new(Vec::new());

/// A thread's index, given back when the thread ends. Two live threads
/// never hold the same index: it is returned only by the thread-local's
/// destructor, after the thread's last call, and the lock orders that
/// return before the next thread's first use (so a stripe's next owner
/// sees every plain store of the one before).
struct Index(usize);

#[cfg(not(loom))]
impl Index {
    fn take() -> Index {
        let reused = FREE_INDICES.lock().ok().and_then(|mut free| free.pop());
        let index = reused
            .unwrap_or_else(|| NEXT_THREAD.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        CACHED_INDEX.with(|c| c.set(index));
        Index(index)
    }
}

#[cfg(not(loom))]
impl Drop for Index {
    fn drop(&mut self) {
        // Calls made while the remaining thread-locals are destroyed use
        // the shared stripes.
        CACHED_INDEX.with(|c| c.set(NO_INDEX));
        if let Ok(mut free) = FREE_INDICES.lock() {
            free.push(self.0);
        }
    }
}

/// Not yet taken (the thread's first call takes it).
#[cfg(not(loom))]
const UNSET: usize = usize::MAX - 1;

#[cfg(not(loom))]
thread_local! {
    /// The owner of the index: its destructor gives the index back.
    static THREAD_INDEX: Index = Index::take();
    /// A copy read on every call: a constant-initialised thread-local
    /// without destructor is one load, with no lazy-state check.
    static CACHED_INDEX: std::cell::Cell<usize> = const { std::cell::Cell::new(UNSET) };
}

/// A small number that differs between threads running at the same time
/// (indices of ended threads are reused), or [`NO_INDEX`] while a thread's
/// thread-locals are being destroyed.
#[cfg(not(loom))]
#[inline]
pub(crate) fn thread_index() -> usize {
    let index = CACHED_INDEX.with(std::cell::Cell::get);
    if index < UNSET {
        return index;
    }
    first_thread_index(index)
}

#[cfg(not(loom))]
#[cold]
#[inline(never)]
fn first_thread_index(cached: usize) -> usize {
    if cached == NO_INDEX {
        return NO_INDEX;
    }
    THREAD_INDEX.try_with(|i| i.0).unwrap_or(NO_INDEX)
}

// loom runs its threads on one OS thread: with std's thread-locals they
// would all share one index. Under loom each execution numbers its threads
// afresh (a loom static is rebuilt per execution, so the numbers are the
// same whenever loom replays a schedule) and never reuses a number, so a
// model's threads own distinct stripes and loom checks the single-writer
// plain stores against every reader and reset. (Passing an index on,
// outside loom, is ordered by the std mutex above.)
#[cfg(loom)]
loom::lazy_static! {
    static ref NEXT_THREAD: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
}

#[cfg(loom)]
impl Index {
    fn take() -> Index {
        Index(NEXT_THREAD.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
    }
}

#[cfg(loom)]
loom::thread_local! {
    static THREAD_INDEX: Index = Index::take();
}

/// No index: the thread is ending and its index was already given back.
pub(crate) const NO_INDEX: usize = usize::MAX;

/// Under loom: the thread's number in this execution.
#[cfg(loom)]
#[inline]
pub(crate) fn thread_index() -> usize {
    THREAD_INDEX.try_with(|i| i.0).unwrap_or(NO_INDEX)
}

/// How many stripes a striped structure gets: a power of two, about twice
/// the parallelism, between 2 and 32.
pub(crate) fn stripe_count() -> usize {
    let cores = std::thread::available_parallelism().map_or(4, |n| n.get());
    (cores * 2).next_power_of_two().clamp(2, 32)
}

/// A counter that threads increment on their own stripe and that readers sum.
#[derive(Debug)]
pub(crate) struct StripedCounter {
    stripes: Box<[Padded<AtomicU64>]>,
}

impl StripedCounter {
    pub(crate) fn new(stripes: usize) -> Self {
        Self {
            stripes: (0..stripes.max(1))
                .map(|_| Padded(AtomicU64::new(0)))
                .collect(),
        }
    }

    #[inline]
    pub(crate) fn add(&self, n: u64) {
        let i = thread_index() & (self.stripes.len() - 1);
        self.stripes[i].fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn sum(&self) -> u64 {
        self.stripes
            .iter()
            .fold(0u64, |a, s| a.wrapping_add(s.load(Ordering::Relaxed)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn striped_counter_sums_every_thread() {
        let c = std::sync::Arc::new(StripedCounter::new(4));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let c = c.clone();
                std::thread::spawn(move || (0..1000).for_each(|_| c.add(1)))
            })
            .collect();
        handles.into_iter().for_each(|h| h.join().expect("thread"));
        assert_eq!(c.sum(), 4000);
        assert!(stripe_count().is_power_of_two());
        // Concurrent threads differ; an ended thread's index is reused.
        let (tx, rx) = std::sync::mpsc::channel();
        let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
        let live = std::thread::spawn(move || {
            tx.send(thread_index()).expect("send");
            go_rx.recv().expect("recv");
        });
        let other = rx.recv().expect("recv");
        assert_ne!(thread_index(), other);
        go_tx.send(()).expect("send");
        live.join().expect("thread");
        // Threads started one after another reuse ended threads' indices
        // (other tests' threads may take some of them meanwhile).
        let indices: std::collections::BTreeSet<usize> = (0..200)
            .map(|_| std::thread::spawn(thread_index).join().expect("thread"))
            .collect();
        assert!(indices.len() < 50, "{} distinct indices", indices.len());
    }
}
