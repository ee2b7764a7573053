//! Time read from the CPU's cycle counter: monotonic ([`FastClock`]) and
//! wall-clock ([`FastWallClock`]).

use super::{Clock, WallClock};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Monotonic time like [`SystemClock`](super::SystemClock), read from the
/// CPU's invariant cycle counter through [`quanta`] (calibrated against the
/// kernel's monotonic clock): about 12 ns a read against about 30 ns for
/// `Instant::now()` on a typical x86 VM. Its epoch is its own creation, and
/// clones share it. Where the CPU has no usable cycle counter, quanta falls
/// back to the kernel's monotonic clock.
///
/// Monotonic as far as the counter is: quanta trusts the CPU's
/// invariant-counter flag, so on a (rare) machine whose kernel has found
/// the counters of different cores out of step, readings taken on
/// different cores can differ by that skew; readings never go below the
/// epoch. Consumers in murmura tolerate small steps back.
///
/// ```
/// use murmura_core::time::{Clock, FastClock};
/// use std::time::Duration;
///
/// let clock = FastClock::new();
/// let start = clock.now();
/// std::thread::sleep(Duration::from_millis(5));
/// assert!(clock.now() - start >= Duration::from_millis(4));
/// ```
#[derive(Debug, Clone)]
pub struct FastClock {
    counter: quanta::Clock,
    origin: u64,
}

impl FastClock {
    /// A clock whose epoch is now. The first cycle-counter clock in a
    /// process calibrates the counter against the kernel's clock (about a
    /// millisecond, up to 200 ms on a busy machine); later ones are cheap.
    pub fn new() -> Self {
        let counter = quanta::Clock::new();
        let origin = counter.raw();
        Self { counter, origin }
    }
}

impl Default for FastClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for FastClock {
    #[inline]
    fn now(&self) -> Duration {
        Duration::from_nanos(self.now_nanos())
    }

    #[inline]
    fn now_nanos(&self) -> u64 {
        self.counter.delta_as_nanos(self.origin, self.counter.raw())
    }
}

super::inherent_reads!(FastClock);

/// A wall-clock read taken between two cycle-counter reads at most this far
/// apart (20 µs) anchors [`FastWallClock`] to within half of it.
const TIGHT_BRACKET_NANOS: u64 = 20_000;

/// How often [`FastWallClock`] re-anchors itself to the system wall clock
/// unless told otherwise.
pub const DEFAULT_RESYNC_INTERVAL: Duration = Duration::from_millis(100);

/// Wall-clock time since the Unix epoch, like [`WallClock`], at a fraction
/// of the cost: the time elapsed since the last anchor is read from the
/// CPU's invariant cycle counter through [`quanta`] (about 12 ns against
/// about 30 ns for `SystemTime::now()` on a typical x86 VM), and the offset
/// to the system wall clock is re-taken every resync interval by whichever
/// call finds it due — no background thread.
///
/// Readings stay within tens of microseconds of [`WallClock`]: each anchor
/// is taken from a wall-clock read bracketed by counter reads less than
/// 20 µs apart (an anchoring preempted in the middle is retried, not
/// used), the cycle counter is calibrated against the kernel's monotonic
/// clock, and re-anchoring every 100 ms (by default) bounds what
/// calibration error and NTP slewing can add up. A step of the system clock (an NTP step, `date -s`) shows up at
/// the next re-anchoring, and a re-anchoring may move readings back by a
/// few microseconds, so — like the wall clock itself — this clock is not
/// monotonic; hybrid logical clocks absorb that. Where the CPU has no
/// usable cycle counter, quanta falls back to the kernel's monotonic clock
/// and this clock simply costs what the wall clock does.
///
/// ```
/// use murmura_core::time::{Clock, FastWallClock, WallClock};
///
/// let fast = FastWallClock::new();
/// let before = WallClock.now();
/// let reading = fast.now();
/// let after = WallClock.now();
/// // Within a millisecond of the system wall clock.
/// assert!(reading.as_nanos() + 1_000_000 >= before.as_nanos());
/// assert!(reading.as_nanos() <= after.as_nanos() + 1_000_000);
/// ```
pub struct FastWallClock {
    /// Time since this clock's creation; the offset turns it into wall time.
    counter: FastClock,
    /// Wall-clock nanoseconds minus counter nanoseconds since `origin`.
    offset: AtomicU64,
    /// Counter nanoseconds since `origin` at which the next call re-anchors.
    next_resync: AtomicU64,
    resync_interval: u64,
}

impl FastWallClock {
    /// A clock that re-anchors every [`DEFAULT_RESYNC_INTERVAL`]. The first
    /// cycle-counter clock in a process calibrates the counter (see
    /// [`FastClock::new`]); later ones are cheap.
    pub fn new() -> Self {
        Self::with_resync_interval(DEFAULT_RESYNC_INTERVAL)
    }

    /// A clock that re-anchors to the system wall clock every `interval`
    /// (shorter follows clock steps sooner, at one wall-clock read per
    /// interval).
    pub fn with_resync_interval(interval: Duration) -> Self {
        let clock = Self {
            counter: FastClock::new(),
            offset: AtomicU64::new(0),
            next_resync: AtomicU64::new(0),
            resync_interval: u64::try_from(interval.as_nanos()).unwrap_or(u64::MAX),
        };
        clock.resync(true);
        clock
    }

    /// The re-anchoring interval.
    pub fn resync_interval(&self) -> Duration {
        Duration::from_nanos(self.resync_interval)
    }

    /// Takes the offset to the wall clock afresh and returns the time.
    /// Threads that race here each store a valid offset; any one will do.
    ///
    /// The wall clock is read between two counter reads, and the offset is
    /// taken at their midpoint, so it is off by at most half the gap
    /// between them. A thread preempted in between would leave a gap of
    /// milliseconds, so up to four tries are made for a gap under
    /// [`TIGHT_BRACKET_NANOS`]; failing that, the old offset stays and the
    /// next call after a millisecond tries again (the first anchoring, with
    /// no old offset, takes the tightest try).
    #[cold]
    fn resync(&self, first: bool) -> u64 {
        let attempt = || {
            let before = self.counter.now_nanos();
            let wall = WallClock.now_nanos();
            let after = self.counter.now_nanos();
            let gap = after.saturating_sub(before);
            (gap, wall.saturating_sub(before + gap / 2), after)
        };
        let mut best = attempt();
        for _ in 1..4 {
            if best.0 <= TIGHT_BRACKET_NANOS {
                break;
            }
            let next = attempt();
            if next.0 < best.0 {
                best = next;
            }
        }
        let (gap, offset, after) = best;
        if gap <= TIGHT_BRACKET_NANOS || first {
            self.offset.store(offset, Ordering::Relaxed);
            self.next_resync.store(
                after.saturating_add(self.resync_interval),
                Ordering::Relaxed,
            );
        } else {
            self.next_resync
                .store(after.saturating_add(1_000_000), Ordering::Relaxed);
        }
        after.saturating_add(self.offset.load(Ordering::Relaxed))
    }
}

impl Default for FastWallClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clone for FastWallClock {
    fn clone(&self) -> Self {
        Self::with_resync_interval(self.resync_interval())
    }
}

impl fmt::Debug for FastWallClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FastWallClock")
            .field("resync_interval", &self.resync_interval())
            .finish_non_exhaustive()
    }
}

impl Clock for FastWallClock {
    #[inline]
    fn now(&self) -> Duration {
        Duration::from_nanos(self.now_nanos())
    }

    #[inline]
    fn now_nanos(&self) -> u64 {
        let elapsed = self.counter.now_nanos();
        if elapsed >= self.next_resync.load(Ordering::Relaxed) {
            return self.resync(false);
        }
        elapsed.saturating_add(self.offset.load(Ordering::Relaxed))
    }
}

super::inherent_reads!(FastWallClock);

const _: () = {
    const fn shared<T: Send + Sync>() {}
    shared::<FastClock>();
    shared::<FastWallClock>();
};

#[cfg(test)]
mod tests {
    use super::*;

    /// Every reading lies between wall-clock reads taken just before and
    /// just after it, give or take `tolerance`.
    fn assert_tracks_wall_clock(clock: &FastWallClock, samples: usize, tolerance: u64) {
        for _ in 0..samples {
            let before = WallClock.now_nanos();
            let reading = clock.now_nanos();
            let after = WallClock.now_nanos();
            assert!(
                reading + tolerance >= before && reading <= after + tolerance,
                "{reading} outside [{before}, {after}] ± {tolerance}"
            );
        }
    }

    #[test]
    fn tracks_the_wall_clock_within_a_millisecond() {
        let clock = FastWallClock::new();
        assert_eq!(clock.resync_interval(), DEFAULT_RESYNC_INTERVAL);
        assert_tracks_wall_clock(&clock, 100_000, 1_000_000);
        // Across several re-anchorings too.
        let eager = FastWallClock::with_resync_interval(Duration::from_micros(200));
        for _ in 0..20 {
            assert_tracks_wall_clock(&eager, 1_000, 1_000_000);
            std::thread::sleep(Duration::from_micros(300));
        }
        let clone = eager.clone();
        assert_eq!(clone.resync_interval(), Duration::from_micros(200));
        assert_tracks_wall_clock(&clone, 1_000, 1_000_000);
    }

    #[test]
    fn fast_clock_is_monotonic_and_keeps_pace_with_the_system_clock() {
        use super::super::SystemClock;
        let fast = FastClock::new();
        // Each fast reading is bracketed by system readings, so preemption
        // between the reads widens the bracket instead of failing the test.
        let bracketed = || {
            let before = SystemClock.now_nanos();
            let reading = fast.now_nanos();
            (before, reading, SystemClock.now_nanos())
        };
        let (b0, f0, a0) = bracketed();
        let mut last = f0;
        for _ in 0..100_000 {
            let t = fast.now_nanos();
            assert!(t >= last, "{t} < {last}");
            last = t;
        }
        std::thread::sleep(Duration::from_millis(20));
        let (b1, f1, a1) = bracketed();
        let elapsed = f1 - f0;
        // Calibration error is far below 1 %; allow that plus 100 µs.
        let slack = elapsed / 100 + 100_000;
        assert!(
            elapsed + slack >= b1 - a0 && elapsed <= a1 - b0 + slack,
            "fast {elapsed} ns, system between {} and {} ns",
            b1 - a0,
            a1 - b0
        );
        let clone = fast.clone();
        assert!(clone.now_nanos() >= f1, "clones share the epoch");
    }

    #[test]
    fn re_anchors_when_the_interval_has_passed() {
        let clock = FastWallClock::with_resync_interval(Duration::from_millis(1));
        let first = clock.next_resync.load(Ordering::Relaxed);
        std::thread::sleep(Duration::from_millis(3));
        let _ = clock.now_nanos();
        let second = clock.next_resync.load(Ordering::Relaxed);
        assert!(second >= first + 2_000_000, "{first} -> {second}");
    }
}
