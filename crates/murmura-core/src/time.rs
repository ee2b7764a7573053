//! Injectable time.
//!
//! Everything in murmura that needs "now" either takes it as an argument
//! (protocol cores) or asks a [`Clock`] it was built with (breakers, hybrid
//! logical clocks). Tests and the simulator use [`ManualClock`] and move time
//! by hand; production uses [`SystemClock`], [`WallClock`], or (with the
//! `fast-clock` feature) `FastClock` and `FastWallClock`, the same two read
//! from the CPU's cycle counter.

use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[cfg(feature = "fast-clock")]
mod fast;
#[cfg(feature = "fast-clock")]
#[cfg_attr(docsrs, doc(cfg(feature = "fast-clock")))]
pub use fast::{DEFAULT_RESYNC_INTERVAL, FastClock, FastWallClock};

/// Gives each clock type inherent `now` / `now_nanos` that forward to its
/// [`Clock`] impl, so reading a concrete clock needs no trait import.
macro_rules! inherent_reads {
    ($($clock:ty),+) => {$(
        impl $clock {
            /// The current time since this clock's epoch ([`Clock::now`],
            /// callable without the trait in scope).
            #[inline]
            pub fn now(&self) -> Duration {
                <Self as Clock>::now(self)
            }

            /// The current time in whole nanoseconds ([`Clock::now_nanos`],
            /// callable without the trait in scope).
            #[inline]
            pub fn now_nanos(&self) -> u64 {
                <Self as Clock>::now_nanos(self)
            }
        }
    )+};
}
#[cfg(feature = "fast-clock")]
use inherent_reads;

/// A source of the current time, as a [`Duration`] since the clock's own epoch.
///
/// Which epoch depends on the clock: [`SystemClock`] counts from an arbitrary
/// point early in the process and never goes backwards; [`WallClock`] counts
/// from the Unix epoch and may step backwards when the system clock is reset.
pub trait Clock: Send + Sync {
    /// The current time since this clock's epoch.
    fn now(&self) -> Duration;

    /// The current time in whole nanoseconds since this clock's epoch,
    /// saturating at `u64::MAX` (about 584 years).
    #[inline]
    fn now_nanos(&self) -> u64 {
        u64::try_from(self.now().as_nanos()).unwrap_or(u64::MAX)
    }
}

impl<C: Clock + ?Sized> Clock for &C {
    #[inline]
    fn now(&self) -> Duration {
        (**self).now()
    }

    #[inline]
    fn now_nanos(&self) -> u64 {
        (**self).now_nanos()
    }
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    #[inline]
    fn now(&self) -> Duration {
        (**self).now()
    }

    #[inline]
    fn now_nanos(&self) -> u64 {
        (**self).now_nanos()
    }
}

impl<C: Clock + ?Sized> Clock for Box<C> {
    #[inline]
    fn now(&self) -> Duration {
        (**self).now()
    }

    #[inline]
    fn now_nanos(&self) -> u64 {
        (**self).now_nanos()
    }
}

/// Monotonic time from [`Instant`], measured from a process-wide origin fixed
/// the first time any `SystemClock` is read.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

fn process_origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

impl Clock for SystemClock {
    #[inline]
    fn now(&self) -> Duration {
        process_origin().elapsed()
    }
}

/// Wall-clock time since the Unix epoch, from [`SystemTime`].
///
/// It can step backwards when the host's clock is adjusted; consumers that
/// need monotonicity (hybrid logical clocks) must tolerate that. A clock set
/// before 1970 reads as zero.
#[derive(Debug, Clone, Copy, Default)]
pub struct WallClock;

impl Clock for WallClock {
    #[inline]
    fn now(&self) -> Duration {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
    }
}

/// A clock that moves only when told to. Clones share the same time, so a
/// test keeps one handle and gives another to the code under test.
///
/// Reading it (as any clock here) needs no trait import: `now` and
/// `now_nanos` are inherent as well as [`Clock`] methods.
///
/// ```
/// use murmura_core::time::ManualClock;
/// use std::time::Duration;
///
/// let clock = ManualClock::new(Duration::from_secs(10));
/// let seen_by_code = clock.clone();
/// clock.advance(Duration::from_millis(250));
/// assert_eq!(seen_by_code.now(), Duration::from_millis(10_250));
/// ```
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    nanos: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock reading `start`.
    pub fn new(start: Duration) -> Self {
        let clock = Self::default();
        clock.set(start);
        clock
    }

    /// Moves the clock forward by `by` (saturating).
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        let mut current = self.nanos.load(Ordering::Acquire);
        loop {
            let next = current.saturating_add(by);
            match self.nanos.compare_exchange_weak(
                current,
                next,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return,
                Err(seen) => current = seen,
            }
        }
    }

    /// Sets the clock to `to`, which may be earlier than now (to test clocks
    /// that step backwards).
    pub fn set(&self, to: Duration) {
        let to = u64::try_from(to.as_nanos()).unwrap_or(u64::MAX);
        self.nanos.store(to, Ordering::Release);
    }
}

impl Clock for ManualClock {
    #[inline]
    fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::Acquire))
    }

    #[inline]
    fn now_nanos(&self) -> u64 {
        self.nanos.load(Ordering::Acquire)
    }
}

inherent_reads!(SystemClock, WallClock, ManualClock);

// Clocks are handed to breakers and HLCs shared across threads.
const _: () = {
    const fn shared<T: Send + Sync>() {}
    shared::<SystemClock>();
    shared::<WallClock>();
    shared::<ManualClock>();
    shared::<Arc<dyn Clock>>();
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_clock_never_goes_backwards() {
        let clock = SystemClock;
        let mut last = clock.now();
        for _ in 0..1_000 {
            let now = clock.now();
            assert!(now >= last);
            last = now;
        }
    }

    #[test]
    fn wall_clock_is_after_2020() {
        // 2020-01-01T00:00:00Z
        assert!(WallClock.now() > Duration::from_secs(1_577_836_800));
    }

    #[test]
    fn manual_clock_moves_only_when_told_and_can_step_back() {
        let clock = ManualClock::new(Duration::from_secs(5));
        assert_eq!(clock.now(), Duration::from_secs(5));
        clock.advance(Duration::from_secs(1));
        assert_eq!(clock.now_nanos(), 6_000_000_000);
        clock.set(Duration::from_secs(2));
        assert_eq!(clock.now(), Duration::from_secs(2));
        clock.advance(Duration::MAX);
        assert_eq!(clock.now_nanos(), u64::MAX);
    }

    /// A clock whose fast path answers differently from `now`, to see
    /// which one a pointer calls.
    struct FastPath;
    impl Clock for FastPath {
        fn now(&self) -> Duration {
            Duration::from_nanos(1)
        }
        fn now_nanos(&self) -> u64 {
            42
        }
    }

    #[test]
    fn pointers_forward_the_fast_path_too() {
        fn nanos(c: impl Clock) -> u64 {
            c.now_nanos()
        }
        assert_eq!(nanos(&FastPath), 42);
        assert_eq!(nanos(Arc::new(FastPath)), 42);
        assert_eq!(nanos(Box::new(FastPath)), 42);
        let shared: Arc<dyn Clock> = Arc::new(FastPath);
        assert_eq!(nanos(&shared), 42);
    }

    #[test]
    fn manual_clock_reads_without_the_trait() {
        // Only inherent methods in this scope: a fresh module without `Clock`.
        mod inherent {
            use crate::time::{ManualClock, SystemClock, WallClock};
            use std::time::Duration;
            pub(super) fn read(c: &ManualClock) -> (Duration, u64) {
                (c.now(), c.now_nanos())
            }
            pub(super) fn system_and_wall() -> (Duration, Duration) {
                (SystemClock.now(), WallClock.now())
            }
            #[cfg(feature = "fast-clock")]
            pub(super) fn fast() -> (u64, u64) {
                let (c, w) = (
                    crate::time::FastClock::new(),
                    crate::time::FastWallClock::new(),
                );
                (c.now_nanos(), w.now_nanos())
            }
        }
        let clock = ManualClock::new(Duration::from_millis(7));
        assert_eq!(
            inherent::read(&clock),
            (Duration::from_millis(7), 7_000_000)
        );
        let (system, wall) = inherent::system_and_wall();
        assert!(wall > Duration::from_secs(1_577_836_800) && system < wall);
        #[cfg(feature = "fast-clock")]
        {
            let (_, wall_nanos) = inherent::fast();
            assert!(wall_nanos > 1_577_836_800_000_000_000);
        }
    }

    #[test]
    fn clocks_work_behind_pointers() {
        let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(Duration::from_secs(3)));
        fn read(c: impl Clock) -> Duration {
            c.now()
        }
        assert_eq!(read(&clock), Duration::from_secs(3));
        assert_eq!(read(clock), Duration::from_secs(3));
    }
}
