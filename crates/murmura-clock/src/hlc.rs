//! Hybrid logical clocks (Kulkarni, Demirbas et al., 2014).
//!
//! A hybrid timestamp is close to physical time — so it can stand in for a
//! wall-clock time in logs and snapshot reads — yet respects happened-before
//! like a Lamport clock: an event's timestamp is greater than that of every
//! event it could have seen.

use crate::{ClockError, Result};
use murmura_core::codec::Reader;
use murmura_core::sync::atomic::{AtomicU64, Ordering};
use murmura_core::time::{Clock, FastWallClock};
use std::fmt;
use std::time::Duration;

/// Bits of a [`Timestamp`] that hold the logical counter.
pub const LOGICAL_BITS: u32 = 16;
const LOGICAL_MASK: u64 = (1 << LOGICAL_BITS) - 1;
/// The largest physical time a [`Timestamp`] can hold, in milliseconds since
/// the Unix epoch (2^48 - 1 ms, in the year 10889).
pub const MAX_PHYSICAL_MS: u64 = u64::MAX >> LOGICAL_BITS;

/// A 64-bit hybrid logical timestamp.
///
/// Layout: the high 48 bits are physical time in milliseconds since the Unix
/// epoch, the low 16 bits a logical counter. Ordering timestamps as plain
/// integers is the HLC order, a clock advances by taking
/// `max(physical << 16, last + 1)`, and a logical counter that passes
/// 65,535 within one millisecond carries into the physical part instead of
/// wrapping — the clock then runs at most a few milliseconds ahead under an
/// extreme burst and catches up as soon as the burst ends. Milliseconds
/// match the precision clock synchronisation actually achieves between
/// machines and leave room to the year 10889.
///
/// The wire form ([`to_bytes`](Self::to_bytes)) is 8 big-endian bytes, so
/// encoded timestamps also sort bytewise.
///
/// ```
/// use murmura_clock::hlc::Timestamp;
///
/// let t = Timestamp::from_parts(1_700_000_000_000, 3);
/// assert_eq!(t.physical_ms(), 1_700_000_000_000);
/// assert_eq!(t.logical(), 3);
/// assert!(t < Timestamp::from_parts(1_700_000_000_000, 4));
/// assert_eq!(Timestamp::decode(&t.to_bytes()).unwrap(), t);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(transparent))]
pub struct Timestamp(u64);

impl Timestamp {
    /// The earliest timestamp.
    pub const ZERO: Self = Self(0);
    /// The latest representable timestamp.
    pub const MAX: Self = Self(u64::MAX);
    /// Size of the wire form.
    pub const ENCODED_LEN: usize = 8;

    /// A timestamp from its physical milliseconds (saturating at
    /// [`MAX_PHYSICAL_MS`]) and logical counter.
    #[inline]
    pub const fn from_parts(physical_ms: u64, logical: u16) -> Self {
        let ms = if physical_ms > MAX_PHYSICAL_MS {
            MAX_PHYSICAL_MS
        } else {
            physical_ms
        };
        Self((ms << LOGICAL_BITS) | logical as u64)
    }

    /// The packed 64-bit value.
    #[inline]
    pub const fn as_u64(self) -> u64 {
        self.0
    }

    /// A timestamp from its packed 64-bit value.
    #[inline]
    pub const fn from_u64(raw: u64) -> Self {
        Self(raw)
    }

    /// Physical part: milliseconds since the Unix epoch.
    #[inline]
    pub const fn physical_ms(self) -> u64 {
        self.0 >> LOGICAL_BITS
    }

    /// Logical counter within the millisecond.
    #[inline]
    pub const fn logical(self) -> u16 {
        (self.0 & LOGICAL_MASK) as u16
    }

    /// Physical part as a duration since the Unix epoch.
    #[inline]
    pub const fn physical(self) -> Duration {
        Duration::from_millis(self.physical_ms())
    }

    /// The 8-byte big-endian wire form.
    #[inline]
    pub const fn to_bytes(self) -> [u8; 8] {
        self.0.to_be_bytes()
    }

    /// Reads a timestamp from `reader` (for use inside larger encodings).
    pub fn decode_from(reader: &mut Reader<'_>) -> Result<Self> {
        Ok(Self(u64::from_be_bytes(reader.array()?)))
    }

    /// Decodes exactly 8 bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut reader = Reader::new(bytes);
        let t = Self::decode_from(&mut reader)?;
        reader.finish().map_err(ClockError::from)?;
        Ok(t)
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({}.{})", self.physical_ms(), self.logical())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:05}", self.physical_ms(), self.logical())
    }
}

impl From<Timestamp> for u64 {
    fn from(t: Timestamp) -> u64 {
        t.0
    }
}

/// The largest timestamp an [`Hlc`] issues, 2^32 below the top of the
/// 64-bit range (in the year 10889). The headroom lets the clock's
/// wait-free fast path increment without any risk of wrapping.
pub const LAST_TIMESTAMP: Timestamp = Timestamp(u64::MAX - (1 << 32));

/// Default tolerance for remote timestamps ahead of local time.
pub const DEFAULT_MAX_DRIFT: Duration = Duration::from_millis(500);

/// A hybrid logical clock, safe to share between threads.
///
/// The state is one `AtomicU64` on a cache line of its own, advanced by one
/// `fetch_add` in the common case and a compare-and-swap when physical time
/// has moved on: no lock, no allocation, and every call on any thread
/// returns a timestamp greater than every timestamp returned before it on
/// any thread. Physical time comes from an injectable [`Clock`]; the
/// default, [`FastWallClock`], is the system wall clock read from the CPU's
/// cycle counter (re-anchored every 100 ms), and [`Hlc::with_clock`] takes
/// any other, such as `WallClock` or a `ManualClock` in tests. If physical
/// time steps backwards the logical counter keeps timestamps increasing.
///
/// ```
/// use murmura_clock::hlc::Hlc;
/// use murmura_clock::ClockError;
/// use murmura_core::time::ManualClock;
/// use std::time::Duration;
///
/// let time = ManualClock::new(Duration::from_secs(1_000));
/// let clock = Hlc::with_clock(time.clone());
/// let a = clock.now();
/// let b = clock.now();
/// assert!(b > a);
/// assert_eq!(a.physical_ms(), 1_000_000);
///
/// // The wall clock steps back a second: timestamps still increase.
/// time.set(Duration::from_secs(999));
/// assert!(clock.now() > b);
///
/// // A message from a peer pulls us past its timestamp...
/// let remote = murmura_clock::hlc::Timestamp::from_parts(999_400, 7);
/// let c = clock.update(remote).unwrap();
/// assert!(c > remote);
/// // ...but one from far in the future is refused, leaving us untouched.
/// let bogus = murmura_clock::hlc::Timestamp::from_parts(9_000_000, 0);
/// assert!(matches!(clock.update(bogus), Err(ClockError::ClockDrift { .. })));
/// assert!(clock.last() == c);
/// ```
pub struct Hlc<C: Clock = FastWallClock> {
    last: LastIssued,
    clock: C,
    max_drift_ms: u64,
}

impl<C: Clock + fmt::Debug> fmt::Debug for Hlc<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hlc")
            .field("last", &self.last())
            .field("clock", &self.clock)
            .field("max_drift_ms", &self.max_drift_ms)
            .finish()
    }
}

/// The last timestamp issued, alone on its cache lines (two, since x86
/// prefetches lines in pairs): every call writes it, and sharing a line with
/// the read-mostly fields beside it would make every other core's reads of
/// those miss.
#[repr(align(128))]
struct LastIssued(AtomicU64);

impl std::ops::Deref for LastIssued {
    type Target = AtomicU64;
    #[inline]
    fn deref(&self) -> &AtomicU64 {
        &self.0
    }
}

impl Default for Hlc<FastWallClock> {
    fn default() -> Self {
        Self::new()
    }
}

impl Hlc<FastWallClock> {
    /// A clock on the system wall clock (read through [`FastWallClock`])
    /// with the default drift tolerance.
    pub fn new() -> Self {
        Self::with_clock(FastWallClock::new())
    }
}

fn millis(d: Duration) -> u64 {
    d.as_secs()
        .saturating_mul(1_000)
        .saturating_add(u64::from(d.subsec_millis()))
}

impl<C: Clock> Hlc<C> {
    /// A clock reading physical time from `clock` (time since the Unix
    /// epoch is expected, as `WallClock` and [`FastWallClock`] give), with the default
    /// drift tolerance [`DEFAULT_MAX_DRIFT`].
    pub fn with_clock(clock: C) -> Self {
        Self {
            last: LastIssued(AtomicU64::new(0)),
            clock,
            max_drift_ms: millis(DEFAULT_MAX_DRIFT),
        }
    }

    /// Sets how far ahead of local physical time a remote timestamp may be
    /// before [`update`](Self::update) refuses it.
    pub fn with_max_drift(mut self, max_drift: Duration) -> Self {
        self.max_drift_ms = millis(max_drift);
        self
    }

    /// Starts the clock at `last` (for example the highest timestamp
    /// persisted before a restart), so it never reissues an older one.
    /// Values past [`LAST_TIMESTAMP`] are clamped to it.
    pub fn starting_after(self, last: Timestamp) -> Self {
        self.last
            .store(last.min(LAST_TIMESTAMP).0, Ordering::Relaxed);
        self
    }

    /// The configured drift tolerance.
    pub fn max_drift(&self) -> Duration {
        Duration::from_millis(self.max_drift_ms)
    }

    /// The physical time source.
    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// The most recent timestamp issued (or received), without advancing.
    #[inline]
    pub fn last(&self) -> Timestamp {
        Timestamp(self.last.load(Ordering::Acquire))
    }

    /// A timestamp for a local or send event, greater than every timestamp
    /// this clock has issued or received. Should the clock ever reach
    /// [`LAST_TIMESTAMP`] it stays there.
    #[inline]
    pub fn now(&self) -> Timestamp {
        let pt = millis(self.clock.now());
        self.tick(Timestamp::from_parts(pt, 0))
    }

    /// A timestamp for receiving a message stamped `received`: greater than
    /// both `received` and every timestamp issued before.
    ///
    /// # Errors
    /// [`ClockError::ClockDrift`] if `received` is more than the configured
    /// drift ahead of local physical time, and [`ClockError::Exhausted`] if
    /// `received` is at or past [`LAST_TIMESTAMP`]; either way the clock is
    /// unchanged. Like [`now`](Self::now), a clock that has itself reached
    /// [`LAST_TIMESTAMP`] stays there.
    pub fn update(&self, received: Timestamp) -> Result<Timestamp> {
        let pt = millis(self.clock.now());
        let remote = received.physical_ms();
        if remote > pt.saturating_add(self.max_drift_ms) {
            return Err(ClockError::ClockDrift {
                ahead_ms: remote - pt,
                max_drift_ms: self.max_drift_ms,
            });
        }
        if received >= LAST_TIMESTAMP {
            return Err(ClockError::Exhausted);
        }
        let floor = Timestamp::from_parts(pt, 0).max(Timestamp(received.0 + 1));
        Ok(self.tick(floor))
    }

    /// Issues `max(floor, last + 1)` (capped at [`LAST_TIMESTAMP`]).
    #[inline]
    fn tick(&self, floor: Timestamp) -> Timestamp {
        let floor = floor.min(LAST_TIMESTAMP);
        // Common case: physical time has not moved past the last timestamp
        // (many events per millisecond, or a received timestamp that is
        // older), so the answer is simply one more. A single `fetch_add`:
        // wait-free, one cache-line transfer under contention, no retries.
        let previous = self.last.fetch_add(1, Ordering::AcqRel);
        if previous < LAST_TIMESTAMP.0 && previous + 1 >= floor.0 {
            return Timestamp(previous + 1);
        }
        // Physical time moved on (the increment above is simply skipped),
        // or the clock is exhausted: compare-and-swap to the exact value.
        // Capping at LAST_TIMESTAMP keeps the value far enough below
        // u64::MAX that the increments above can never wrap it.
        let mut current = self.last.load(Ordering::Acquire);
        loop {
            let next = current.saturating_add(1).max(floor.0).min(LAST_TIMESTAMP.0);
            match self.last.compare_exchange_weak(
                current,
                next,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Timestamp(next),
                Err(seen) => {
                    current = seen;
                    murmura_core::sync::spin_hint();
                }
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use murmura_core::codec::DecodeError;
    use murmura_core::time::ManualClock;

    fn manual(ms: u64) -> (ManualClock, Hlc<ManualClock>) {
        let time = ManualClock::new(Duration::from_millis(ms));
        (time.clone(), Hlc::with_clock(time))
    }

    #[test]
    fn default_clock_follows_the_system_wall_clock() {
        use murmura_core::time::WallClock;
        let clock = Hlc::new();
        for _ in 0..1_000 {
            let before = millis(WallClock.now());
            let t = clock.now();
            let after = millis(WallClock.now());
            // Within a millisecond of the wall clock (the logical counter
            // never carries at this rate).
            assert!(t.physical_ms() + 1 >= before, "{t:?} before {before}");
            assert!(t.physical_ms() <= after + 1, "{t:?} after {after}");
        }
    }

    #[test]
    fn follows_physical_time_and_counts_within_a_millisecond() {
        let (time, clock) = manual(5_000);
        assert_eq!(clock.now(), Timestamp::from_parts(5_000, 0));
        assert_eq!(clock.now(), Timestamp::from_parts(5_000, 1));
        time.advance(Duration::from_millis(3));
        assert_eq!(clock.now(), Timestamp::from_parts(5_003, 0));
    }

    #[test]
    fn logical_overflow_carries_into_physical() {
        let (_, clock) = manual(10);
        let clock = clock.starting_after(Timestamp::from_parts(10, u16::MAX));
        assert_eq!(clock.now(), Timestamp::from_parts(11, 0));
    }

    #[test]
    fn update_takes_the_maximum_plus_one() {
        let (_, clock) = manual(1_000);
        let t = clock.update(Timestamp::from_parts(1_100, 4)).unwrap();
        assert_eq!(t, Timestamp::from_parts(1_100, 5));
        // An old message still advances the counter.
        let t2 = clock.update(Timestamp::from_parts(10, 0)).unwrap();
        assert_eq!(t2, Timestamp::from_parts(1_100, 6));
    }

    #[test]
    fn drift_beyond_the_limit_is_refused_and_changes_nothing() {
        let (_, clock) = manual(1_000);
        let clock = clock.with_max_drift(Duration::from_millis(50));
        let before = clock.now();
        assert_eq!(
            clock.update(Timestamp::from_parts(1_051, 0)),
            Err(ClockError::ClockDrift {
                ahead_ms: 51,
                max_drift_ms: 50
            })
        );
        assert_eq!(clock.last(), before);
        assert!(clock.update(Timestamp::from_parts(1_050, 0)).is_ok());
    }

    #[test]
    fn end_of_range_saturates_or_errors() {
        let (_, clock) = manual(0);
        let clock = clock.with_max_drift(Duration::MAX);
        assert_eq!(clock.update(Timestamp::MAX), Err(ClockError::Exhausted));
        assert_eq!(clock.update(LAST_TIMESTAMP), Err(ClockError::Exhausted));
        assert_eq!(clock.last(), Timestamp::ZERO);
        let just_before = Timestamp::from_u64(LAST_TIMESTAMP.as_u64() - 1);
        assert_eq!(clock.update(just_before), Ok(LAST_TIMESTAMP));
        // Exhausted: stays at the last timestamp and never wraps.
        for _ in 0..3 {
            assert_eq!(clock.now(), LAST_TIMESTAMP);
        }
        let clock = clock.starting_after(Timestamp::MAX);
        assert_eq!(clock.last(), LAST_TIMESTAMP);
        assert_eq!(clock.now(), LAST_TIMESTAMP);
    }

    #[test]
    fn wire_form_is_big_endian_and_exact() {
        let t = Timestamp::from_parts(1, 2);
        assert_eq!(t.to_bytes(), [0, 0, 0, 0, 0, 1, 0, 2]);
        assert!(Timestamp::decode(&[0; 7]).is_err());
        assert!(Timestamp::decode(&[0; 9]).is_err());
        assert_eq!(format!("{t}"), "1.00002");
        assert_eq!(
            Timestamp::from_parts(u64::MAX, 0).physical_ms(),
            MAX_PHYSICAL_MS
        );
    }

    #[test]
    fn threads_never_see_the_same_timestamp() {
        let clock = Hlc::new();
        let mut all: Vec<Timestamp> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..2)
                .map(|_| {
                    s.spawn(|| {
                        let mut seen = Vec::with_capacity(5_000);
                        for _ in 0..5_000 {
                            seen.push(clock.now());
                        }
                        seen
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| {
                    let seen = h.join().expect("thread panicked");
                    assert!(seen.windows(2).all(|w| w[0] < w[1]));
                    seen
                })
                .collect()
        });
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 10_000);
    }

    #[test]
    fn decode_error_type_is_typed() {
        assert!(matches!(
            Timestamp::decode(&[1, 2]),
            Err(ClockError::Decode(DecodeError::UnexpectedEof { .. }))
        ));
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::Arc;
    use murmura_core::time::ManualClock;

    #[test]
    fn loom_now_is_unique_and_monotonic_across_threads() {
        loom::model(|| {
            let clock = Arc::new(Hlc::with_clock(ManualClock::new(Duration::from_millis(7))));
            let handles: Vec<_> = (0..2)
                .map(|_| {
                    let clock = clock.clone();
                    loom::thread::spawn(move || {
                        let a = clock.now();
                        let b = clock.now();
                        assert!(b > a);
                        vec![a, b]
                    })
                })
                .collect();
            let mut all: Vec<Timestamp> = handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect();
            let last = clock.last();
            assert!(all.iter().all(|t| *t <= last));
            all.sort_unstable();
            all.dedup();
            assert_eq!(all.len(), 4);
        });
    }

    #[test]
    fn loom_physical_time_moving_on_mixes_fast_and_slow_paths() {
        loom::model(|| {
            let time = ManualClock::new(Duration::from_millis(7));
            let clock = Arc::new(Hlc::with_clock(time.clone()));
            let first = clock.now();
            let other = {
                let clock = clock.clone();
                loom::thread::spawn(move || {
                    let a = clock.now();
                    let b = clock.now();
                    assert!(a < b);
                    [a, b]
                })
            };
            // Physical time moves on while the other thread issues timestamps:
            // our next call takes the compare-and-swap path, theirs may not.
            time.advance(Duration::from_millis(1));
            let mine = clock.now();
            assert!(mine >= Timestamp::from_parts(8, 0));
            let [a, b] = other.join().unwrap();
            let mut all = vec![first, a, b, mine];
            assert!(all[1..].iter().all(|t| *t > first));
            all.sort_unstable();
            all.dedup();
            assert_eq!(all.len(), 4);
        });
    }

    #[test]
    fn loom_update_and_now_race_without_losing_order() {
        loom::model(|| {
            let clock = Arc::new(Hlc::with_clock(ManualClock::new(Duration::from_millis(7))));
            let remote = Timestamp::from_parts(7, 100);
            let receiver = {
                let clock = clock.clone();
                loom::thread::spawn(move || clock.update(remote).unwrap())
            };
            let local = clock.now();
            let received = receiver.join().unwrap();
            assert!(received > remote);
            assert_ne!(local, received);
            // Whatever came last is what the clock holds.
            assert_eq!(clock.last(), local.max(received));
            assert!(clock.now() > local.max(received));
        });
    }
}
