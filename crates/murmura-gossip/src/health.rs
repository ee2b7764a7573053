//! Lifeguard: local health awareness and shrinking suspicion timeouts.

use std::collections::BTreeSet;
use std::time::Duration;

/// This member's view of its own health (Lifeguard's "local health
/// multiplier"): 0 is healthy; each missed ack or nack, and each refutation,
/// raises it; each successful probe lowers it. Probe intervals and timeouts
/// are stretched by `score + 1`, so a member that is itself slow stops
/// accusing healthy peers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Awareness {
    score: u32,
    max: u32,
}

impl Awareness {
    /// Healthy, with scores capped at `max - 1`.
    pub fn new(max: u32) -> Self {
        Self {
            score: 0,
            max: max.max(1),
        }
    }

    /// Raises (positive) or lowers (negative) the score within `0..max`.
    pub fn apply(&mut self, delta: i64) {
        let s = (i64::from(self.score) + delta).clamp(0, i64::from(self.max) - 1);
        self.score = s as u32;
    }

    /// Current score.
    pub fn score(&self) -> u32 {
        self.score
    }

    /// `base` stretched by the score.
    pub fn scale(&self, base: Duration) -> Duration {
        base.saturating_mul(self.score + 1)
    }
}

/// Suspicion timeout bounds for a cluster of `members` (Lifeguard):
/// `min = mult · max(1, log10 n) · interval`, `max = max_mult · min`.
pub(crate) fn suspicion_bounds(
    mult: u32,
    max_mult: u32,
    members: usize,
    interval: Duration,
) -> (Duration, Duration) {
    let scale = (members.max(1) as f64).log10().max(1.0);
    let min = interval.mul_f64(f64::from(mult) * scale);
    (min, min.saturating_mul(max_mult.max(1)))
}

/// The timeout after `confirmations` independent accusations when `k` are
/// expected (the paper's formula): it starts at `max` and falls
/// logarithmically to `min` as confirmations arrive.
///
/// ```
/// use std::time::Duration;
/// use murmura_gossip::suspicion_timeout;
/// let (min, max) = (Duration::from_secs(2), Duration::from_secs(12));
/// assert_eq!(suspicion_timeout(0, 3, min, max), max);
/// assert_eq!(suspicion_timeout(3, 3, min, max), min);
/// assert!(suspicion_timeout(1, 3, min, max) < max);
/// ```
pub fn suspicion_timeout(confirmations: u32, k: u32, min: Duration, max: Duration) -> Duration {
    if k == 0 {
        return min;
    }
    let frac = (f64::from(confirmations) + 1.0).ln() / (f64::from(k) + 1.0).ln();
    let span = max.saturating_sub(min).as_secs_f64();
    let t = max.as_secs_f64() - frac * span;
    Duration::from_secs_f64(t.max(min.as_secs_f64()))
}

/// An open suspicion of one member.
#[derive(Debug, Clone)]
pub(crate) struct Suspicion {
    pub(crate) incarnation: u64,
    pub(crate) start: Duration,
    pub(crate) min: Duration,
    pub(crate) max: Duration,
    pub(crate) k: u32,
    /// Most accusers recorded.
    pub(crate) cap: u32,
    /// Distinct accusers, the first included; bounded by `cap`.
    pub(crate) accusers: BTreeSet<String>,
}

impl Suspicion {
    pub(crate) fn confirmations(&self) -> u32 {
        (self.accusers.len() as u32).saturating_sub(1)
    }

    pub(crate) fn deadline(&self) -> Duration {
        self.start + suspicion_timeout(self.confirmations(), self.k, self.min, self.max)
    }

    /// Records an accuser; true if it is new (and so worth passing on).
    pub(crate) fn confirm(&mut self, from: &str) -> bool {
        if self.accusers.len() as u32 >= self.cap || self.accusers.contains(from) {
            return false;
        }
        self.accusers.insert(from.to_owned());
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn awareness_is_clamped_and_scales() {
        let mut a = Awareness::new(8);
        a.apply(-3);
        assert_eq!(a.score(), 0);
        a.apply(20);
        assert_eq!(a.score(), 7);
        assert_eq!(a.scale(Duration::from_secs(1)), Duration::from_secs(8));
    }

    #[test]
    fn bounds_follow_log_of_size() {
        let i = Duration::from_secs(1);
        assert_eq!(
            suspicion_bounds(4, 6, 5, i),
            (Duration::from_secs(4), Duration::from_secs(24))
        );
        let (min, _) = suspicion_bounds(4, 6, 1000, i);
        assert_eq!(min, Duration::from_secs(12));
    }

    proptest! {
        #[test]
        fn timeout_shrinks_monotonically(k in 1u32..10, c in 0u32..12) {
            let (min, max) = (Duration::from_secs(3), Duration::from_secs(18));
            let t0 = suspicion_timeout(c, k, min, max);
            let t1 = suspicion_timeout(c + 1, k, min, max);
            prop_assert!(t1 <= t0);
            prop_assert!(t0 >= min && t0 <= max);
        }
    }
}
