//! Shared helpers for murmura's benchmarks: pre-generated inputs and a
//! counting allocator for heap-bytes measurements.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

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
}
