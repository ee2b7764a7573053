//! A clock that is read with one atomic load: a background thread stores the
//! time every tick, so the many callers of a hot breaker share one clock read
//! per tick instead of making one each.

use murmura_core::time::{Clock, SystemClock};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// Time from [`SystemClock`], refreshed every `resolution` by a background
/// thread and read with one relaxed load. Readings lag the real time by at
/// most about one resolution (more if the machine is overloaded); the thread
/// ends when the last clone is dropped.
///
/// Give it to a time-window breaker whose calls are too frequent for a clock
/// read each (tens of nanoseconds) and that can live with buckets decided to
/// within a millisecond:
///
/// ```
/// use murmura_breaker::{CircuitBreaker, CoarseClock, Config, WindowKind};
/// use murmura_core::time::Clock;
/// use std::time::Duration;
///
/// let clock = CoarseClock::new(Duration::from_millis(1));
/// let config = Config::builder().window(WindowKind::Time { seconds: 10 }).build().unwrap();
/// let breaker = CircuitBreaker::with_clock("hot", config, clock.clone());
/// assert!(breaker.call(|| Ok::<_, ()>(1)).is_ok());
/// let before = clock.now();
/// std::thread::sleep(Duration::from_millis(20));
/// assert!(clock.now() > before);
/// ```
#[derive(Debug, Clone)]
pub struct CoarseClock {
    nanos: Arc<AtomicU64>,
}

impl CoarseClock {
    /// Starts the refreshing thread.
    pub fn new(resolution: Duration) -> Self {
        let nanos = Arc::new(AtomicU64::new(SystemClock.now_nanos()));
        let weak: Weak<AtomicU64> = Arc::downgrade(&nanos);
        let tick = resolution.max(Duration::from_micros(50));
        // If no thread can be started the reading stays at its start: a
        // valid (frozen) clock rather than a panic.
        let _ = std::thread::Builder::new()
            .name("murmura-coarse-clock".into())
            .spawn(move || {
                while let Some(cell) = weak.upgrade() {
                    cell.store(SystemClock.now_nanos(), Ordering::Relaxed);
                    drop(cell);
                    std::thread::sleep(tick);
                }
            });
        Self { nanos }
    }
}

impl Clock for CoarseClock {
    #[inline]
    fn now(&self) -> Duration {
        Duration::from_nanos(self.now_nanos())
    }

    #[inline]
    fn now_nanos(&self) -> u64 {
        self.nanos.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coarse_clock_follows_the_system_clock_within_its_resolution() {
        let clock = CoarseClock::new(Duration::from_millis(1));
        let start = clock.now_nanos();
        std::thread::sleep(Duration::from_millis(30));
        let later = clock.now_nanos();
        assert!(later > start, "the background thread refreshed it");
        // Never ahead of the real clock.
        assert!(later <= SystemClock.now_nanos());
        let weak = Arc::downgrade(&clock.nanos);
        drop(clock);
        std::thread::sleep(Duration::from_millis(10));
        assert!(weak.upgrade().is_none(), "the thread let go of it");
    }
}
