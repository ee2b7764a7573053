//! Per-thread striping: each thread writes its own cache line, so counters
//! that every call touches do not bounce between cores.

use murmura_core::sync::atomic::{AtomicU64, Ordering};
use std::cell::Cell;

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

static NEXT_THREAD: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

thread_local! {
    static THREAD_INDEX: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// A small number that differs between threads created one after another.
#[inline]
pub(crate) fn thread_index() -> usize {
    THREAD_INDEX.with(|c| {
        let v = c.get();
        if v != usize::MAX {
            return v;
        }
        let v = NEXT_THREAD.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        c.set(v);
        v
    })
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
        assert_ne!(
            thread_index(),
            std::thread::spawn(thread_index).join().expect("thread")
        );
    }
}
