//! Atomics and locks that become `loom`'s model-checked versions under
//! `RUSTFLAGS="--cfg loom"`, so concurrent code is written once and checked.
//!
//! Crates import from here instead of `std::sync` for every shared state that
//! a loom model should explore.

#[cfg(not(loom))]
pub use std::sync::{Arc, Mutex, MutexGuard, RwLock};

#[cfg(loom)]
pub use loom::sync::{Arc, Mutex, MutexGuard, RwLock};

/// Atomic integer and flag types (std or loom).
pub mod atomic {
    #[cfg(not(loom))]
    pub use std::sync::atomic::{
        AtomicBool, AtomicI64, AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering, fence,
    };

    #[cfg(loom)]
    pub use loom::sync::atomic::{
        AtomicBool, AtomicI64, AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering, fence,
    };
}

/// Yield hint for spin loops: loom needs to be told, std just spins.
#[inline]
pub fn spin_hint() {
    #[cfg(loom)]
    loom::thread::yield_now();
    #[cfg(not(loom))]
    std::hint::spin_loop();
}
