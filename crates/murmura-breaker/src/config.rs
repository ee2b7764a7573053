//! Breaker configuration: a validated, cloneable value built by [`ConfigBuilder`].

use crate::error::{Error, Result};
use murmura_core::rng::Rng;
use std::time::Duration;

/// How outcomes are accounted for while closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum WindowKind {
    /// The last `size` calls; older outcomes are evicted.
    ///
    /// Calls are numbered in the order they take a slot (one shared
    /// counter), and the window is exactly the last `size` numbers: with
    /// several threads, the last `size` calls in that order. While the
    /// window is full of successes a success takes no slot (it would evict
    /// a success and change nothing). Memory: one 8-byte slot per call,
    /// the ring rounded up to a power of two.
    Count {
        /// Number of calls kept.
        size: u32,
    },
    /// The calls of the last `seconds` seconds, as a ring of one-second buckets.
    Time {
        /// Window length in seconds.
        seconds: u32,
    },
    /// Open after `threshold` failures in a row (a success resets the run).
    Consecutive {
        /// Failures in a row that open the breaker.
        threshold: u32,
    },
}

/// How long the breaker stays open before admitting trial calls.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Backoff {
    /// Always the same wait.
    Fixed(Duration),
    /// `initial × multiplier^n` after the n-th consecutive failed trial round,
    /// capped at `max`, then scaled by a random factor in `[1 − jitter, 1 + jitter]`
    /// and capped at `max` again.
    Exponential {
        /// Wait after the first opening.
        initial: Duration,
        /// Growth per failed trial round (≥ 1).
        multiplier: f64,
        /// Upper bound of the wait.
        max: Duration,
        /// Relative jitter in `[0, 1]`.
        jitter: f64,
    },
}

impl Backoff {
    /// The wait before attempt `round` (0 for the first opening), drawing
    /// jitter from `rng`.
    pub fn delay(&self, round: u32, rng: &mut impl Rng) -> Duration {
        match *self {
            Backoff::Fixed(d) => d,
            Backoff::Exponential {
                initial,
                multiplier,
                max,
                jitter,
            } => {
                let base = initial.as_secs_f64() * multiplier.powi(round.min(1_000) as i32);
                let base = base.min(max.as_secs_f64());
                let factor = if jitter > 0.0 {
                    1.0 + jitter * (rng.random::<f64>() * 2.0 - 1.0)
                } else {
                    1.0
                };
                Duration::from_secs_f64((base * factor).clamp(0.0, max.as_secs_f64()))
            }
        }
    }

    fn validate(&self, field: &'static str) -> Result<()> {
        if let Backoff::Exponential {
            initial,
            multiplier,
            max,
            jitter,
        } = *self
        {
            if !(multiplier.is_finite() && multiplier >= 1.0) {
                return Err(invalid(field, "multiplier must be finite and >= 1"));
            }
            if !(0.0..=1.0).contains(&jitter) {
                return Err(invalid(field, "jitter must be within 0..=1"));
            }
            if max < initial {
                return Err(invalid(field, "max must be >= initial"));
            }
        }
        Ok(())
    }
}

/// Gradual recovery after half-open closes: the admitted fraction of calls
/// grows linearly from `initial_percent` to 100 % over `duration`.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RampUp {
    /// How long the ramp lasts.
    pub duration: Duration,
    /// Share of calls admitted when the ramp starts, in percent (0–100].
    pub initial_percent: f32,
}

/// A validated breaker configuration. Cheap to clone and share between
/// breakers (see [`Registry`](crate::Registry)).
///
/// ```
/// use murmura_breaker::{Config, WindowKind};
/// use std::time::Duration;
///
/// let config = Config::builder()
///     .window(WindowKind::Count { size: 50 })
///     .failure_rate_threshold(25.0)
///     .minimum_calls(10)
///     .wait_in_open(Duration::from_secs(5))
///     .build()
///     .unwrap();
/// assert_eq!(config.minimum_calls(), 10);
/// assert!(Config::builder().failure_rate_threshold(120.0).build().is_err());
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Config {
    pub(crate) window: WindowKind,
    pub(crate) failure_rate_threshold: f32,
    pub(crate) slow_call_rate_threshold: f32,
    pub(crate) slow_call_duration: Option<Duration>,
    pub(crate) slow_success_is_failure: bool,
    pub(crate) minimum_calls: u32,
    pub(crate) backoff: Backoff,
    pub(crate) half_open_calls: u32,
    pub(crate) max_wait_in_half_open: Option<Duration>,
    pub(crate) ramp_up: Option<RampUp>,
    pub(crate) clock_sample_every: u32,
    pub(crate) jitter_seed: Option<u64>,
    pub(crate) stripes: Option<u32>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            window: WindowKind::Count { size: 100 },
            failure_rate_threshold: 50.0,
            slow_call_rate_threshold: 100.0,
            slow_call_duration: None,
            slow_success_is_failure: false,
            minimum_calls: 100,
            backoff: Backoff::Fixed(Duration::from_secs(60)),
            half_open_calls: 10,
            max_wait_in_half_open: None,
            ramp_up: None,
            clock_sample_every: 1,
            jitter_seed: None,
            stripes: None,
        }
    }
}

impl Config {
    /// A builder starting from resilience4j's defaults: a count window of
    /// 100 calls, 50 % failure rate, 100 minimum calls, 60 s open, 10 trials.
    /// Unless set, the minimum calls follow the window: a count window of
    /// fewer than 100 calls needs the whole window.
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder {
            config: Config::default(),
            minimum_set: false,
        }
    }

    /// The window kind.
    pub fn window(&self) -> WindowKind {
        self.window
    }
    /// Calls needed in the window before rates are evaluated.
    pub fn minimum_calls(&self) -> u32 {
        self.minimum_calls
    }
    /// The minimum calls the window can actually reach: for a count window
    /// never more than its size. (A [`build`](ConfigBuilder::build)-made
    /// configuration already satisfies this; a deserialised one is clamped
    /// here, as resilience4j clamps.)
    pub(crate) fn effective_minimum_calls(&self) -> u64 {
        let min = u64::from(self.minimum_calls.max(1));
        match self.window {
            WindowKind::Count { size } => min.min(u64::from(size.max(1))),
            _ => min,
        }
    }
    /// Trial calls admitted in half-open.
    pub fn half_open_calls(&self) -> u32 {
        self.half_open_calls
    }
    /// The open-state backoff.
    pub fn backoff(&self) -> Backoff {
        self.backoff
    }
    /// Failure-rate threshold in percent.
    pub fn failure_rate_threshold(&self) -> f32 {
        self.failure_rate_threshold
    }
    /// Slow-call duration, if slow calls are tracked.
    pub fn slow_call_duration(&self) -> Option<Duration> {
        self.slow_call_duration
    }

    pub(crate) fn with_seed(mut self, seed: u64) -> Config {
        self.jitter_seed = Some(seed);
        self
    }
}

/// Builds a [`Config`]; [`build`](ConfigBuilder::build) validates every field.
#[derive(Debug, Clone)]
pub struct ConfigBuilder {
    config: Config,
    /// Whether [`minimum_calls`](ConfigBuilder::minimum_calls) was called
    /// (otherwise the minimum follows the window).
    minimum_set: bool,
}

fn invalid(field: &'static str, reason: &'static str) -> Error {
    Error::InvalidConfig { field, reason }
}

impl ConfigBuilder {
    /// Count, time or consecutive-failures accounting.
    pub fn window(mut self, window: WindowKind) -> Self {
        self.config.window = window;
        self
    }
    /// Failure rate (percent, in `(0, 100]`) at or above which the breaker opens.
    pub fn failure_rate_threshold(mut self, percent: f32) -> Self {
        self.config.failure_rate_threshold = percent;
        self
    }
    /// Slow-call rate (percent, in `(0, 100]`) at or above which the breaker opens.
    pub fn slow_call_rate_threshold(mut self, percent: f32) -> Self {
        self.config.slow_call_rate_threshold = percent;
        self
    }
    /// Calls lasting at least this long are slow. Turning this on makes every
    /// guarded call read the clock twice.
    pub fn slow_call_duration(mut self, threshold: Duration) -> Self {
        self.config.slow_call_duration = Some(threshold);
        self
    }
    /// Count slow successes as failures too (they always count as slow).
    pub fn slow_success_is_failure(mut self, yes: bool) -> Self {
        self.config.slow_success_is_failure = yes;
        self
    }
    /// Calls the window must hold before rates are evaluated (≥ 1; for a
    /// count window at most its size, or [`build`](Self::build) fails).
    /// Unset, it is 100, or the size of a smaller count window.
    pub fn minimum_calls(mut self, calls: u32) -> Self {
        self.config.minimum_calls = calls;
        self.minimum_set = true;
        self
    }
    /// A fixed wait in open.
    pub fn wait_in_open(mut self, wait: Duration) -> Self {
        self.config.backoff = Backoff::Fixed(wait);
        self
    }
    /// Any open-state backoff.
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.config.backoff = backoff;
        self
    }
    /// Exactly this many trial calls are admitted in half-open (1..=4095).
    pub fn half_open_calls(mut self, calls: u32) -> Self {
        self.config.half_open_calls = calls;
        self
    }
    /// Re-open if the trials have not all completed within this time.
    pub fn max_wait_in_half_open(mut self, wait: Duration) -> Self {
        self.config.max_wait_in_half_open = Some(wait);
        self
    }
    /// Ramp traffic up after closing instead of snapping fully closed.
    pub fn ramp_up(mut self, ramp: RampUp) -> Self {
        self.config.ramp_up = Some(ramp);
        self
    }
    /// Time window only: read the clock on one in `n` successful calls per
    /// stripe (`n` rounded up to a power of two; 1 = every call, exact). A
    /// larger `n` counts a success in the second of the stripe's last clock
    /// read, which may be up to `n − 1` of its calls old (so the success
    /// expires that much early). Failures and slow calls always read the clock.
    /// At most 2^31.
    pub fn clock_sample_every(mut self, n: u32) -> Self {
        self.config.clock_sample_every = n;
        self
    }
    /// Seed for the backoff jitter (the default draws one from the OS).
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.config.jitter_seed = Some(seed);
        self
    }

    /// How many per-thread stripes the breaker's counters (and time-window
    /// buckets) are spread over: a power of two in `1..=64`. The default,
    /// about twice the cores, keeps threads off each other's cache lines;
    /// fewer stripes save memory when a registry holds thousands of
    /// breakers (each stripe costs a few cache lines, a time window's
    /// stripe three words per second of window).
    pub fn stripes(mut self, n: u32) -> Self {
        self.config.stripes = Some(n);
        self
    }

    /// Validates and returns the configuration.
    ///
    /// A configuration that could never open is an error, not clamped: a
    /// count window smaller than an explicitly set `minimum_calls` never
    /// holds that many calls. (Left unset, the minimum is the smaller of 100
    /// and the count window's size.)
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the first field out of range.
    pub fn build(self) -> Result<Config> {
        let mut c = self.config;
        if let WindowKind::Count { size } = c.window {
            if !self.minimum_set {
                c.minimum_calls = c.minimum_calls.min(size.max(1));
            } else if c.minimum_calls > size && size > 0 {
                return Err(invalid(
                    "minimum_calls",
                    "must be <= the count window's size (the window never holds more calls)",
                ));
            }
        }
        let percent = |p: f32| p.is_finite() && p > 0.0 && p <= 100.0;
        if !percent(c.failure_rate_threshold) {
            return Err(invalid("failure_rate_threshold", "must be within (0, 100]"));
        }
        if !percent(c.slow_call_rate_threshold) {
            return Err(invalid(
                "slow_call_rate_threshold",
                "must be within (0, 100]",
            ));
        }
        match c.window {
            WindowKind::Count { size: 0 } => return Err(invalid("window", "size must be > 0")),
            WindowKind::Time { seconds: 0 } => {
                return Err(invalid("window", "seconds must be > 0"));
            }
            WindowKind::Time { seconds } if seconds > 3_600 => {
                return Err(invalid("window", "seconds must be <= 3600"));
            }
            WindowKind::Consecutive { threshold: 0 } => {
                return Err(invalid("window", "threshold must be > 0"));
            }
            WindowKind::Count { size } if size > 1 << 20 => {
                return Err(invalid("window", "size must be <= 2^20"));
            }
            _ => {}
        }
        if c.minimum_calls == 0 {
            return Err(invalid("minimum_calls", "must be > 0"));
        }
        if !(1..=4095).contains(&c.half_open_calls) {
            return Err(invalid("half_open_calls", "must be within 1..=4095"));
        }
        if c.slow_call_duration == Some(Duration::ZERO) {
            return Err(invalid("slow_call_duration", "must be > 0"));
        }
        if !(1..=1 << 31).contains(&c.clock_sample_every) {
            return Err(invalid("clock_sample_every", "must be within 1..=2^31"));
        }
        if c.stripes.is_some_and(|n| !(n.is_power_of_two() && n <= 64)) {
            return Err(invalid("stripes", "must be a power of two within 1..=64"));
        }
        c.backoff.validate("backoff")?;
        if let Some(r) = c.ramp_up {
            if r.duration.is_zero() {
                return Err(invalid("ramp_up", "duration must be > 0"));
            }
            if !percent(r.initial_percent) {
                return Err(invalid(
                    "ramp_up",
                    "initial_percent must be within (0, 100]",
                ));
            }
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use murmura_core::rng::seeded;

    #[test]
    fn builder_rejects_each_bad_field() {
        let cases: Vec<(ConfigBuilder, &str)> = vec![
            (
                Config::builder().failure_rate_threshold(0.0),
                "failure_rate_threshold",
            ),
            (
                Config::builder().failure_rate_threshold(100.5),
                "failure_rate_threshold",
            ),
            (
                Config::builder().slow_call_rate_threshold(f32::NAN),
                "slow_call_rate_threshold",
            ),
            (
                Config::builder().window(WindowKind::Count { size: 0 }),
                "window",
            ),
            (
                Config::builder().window(WindowKind::Time { seconds: 0 }),
                "window",
            ),
            (
                Config::builder().window(WindowKind::Consecutive { threshold: 0 }),
                "window",
            ),
            (Config::builder().minimum_calls(0), "minimum_calls"),
            (
                Config::builder()
                    .window(WindowKind::Count { size: 10 })
                    .minimum_calls(11),
                "minimum_calls",
            ),
            (Config::builder().half_open_calls(0), "half_open_calls"),
            (Config::builder().half_open_calls(5000), "half_open_calls"),
            (
                Config::builder().slow_call_duration(Duration::ZERO),
                "slow_call_duration",
            ),
            (
                Config::builder().clock_sample_every(0),
                "clock_sample_every",
            ),
            (
                Config::builder().clock_sample_every((1 << 31) + 1),
                "clock_sample_every",
            ),
            (
                Config::builder().backoff(Backoff::Exponential {
                    initial: Duration::from_secs(2),
                    multiplier: 2.0,
                    max: Duration::from_secs(1),
                    jitter: 0.0,
                }),
                "backoff",
            ),
            (
                Config::builder().backoff(Backoff::Exponential {
                    initial: Duration::from_secs(1),
                    multiplier: 0.5,
                    max: Duration::from_secs(10),
                    jitter: 0.0,
                }),
                "backoff",
            ),
            (
                Config::builder().ramp_up(RampUp {
                    duration: Duration::ZERO,
                    initial_percent: 10.0,
                }),
                "ramp_up",
            ),
        ];
        for (builder, field) in cases {
            match builder.build() {
                Err(Error::InvalidConfig { field: f, .. }) => assert_eq!(f, field),
                other => panic!("expected invalid {field}, got {other:?}"),
            }
        }
        assert!(Config::builder().build().is_ok());
    }

    #[test]
    fn a_minimum_the_count_window_cannot_hold_is_clamped_where_build_was_bypassed() {
        // As a deserialised configuration could hold it.
        let c = Config {
            window: WindowKind::Count { size: 10 },
            minimum_calls: 100,
            ..Config::default()
        };
        assert_eq!(c.effective_minimum_calls(), 10);
        let t = Config {
            window: WindowKind::Time { seconds: 10 },
            minimum_calls: 100,
            ..Config::default()
        };
        assert_eq!(t.effective_minimum_calls(), 100);
        let built = Config::builder()
            .window(WindowKind::Count { size: 250 })
            .build()
            .expect("valid");
        assert_eq!(built.minimum_calls(), 100, "the default, below the size");
    }

    #[test]
    fn exponential_backoff_grows_caps_and_jitters_within_bounds() {
        let b = Backoff::Exponential {
            initial: Duration::from_secs(1),
            multiplier: 2.0,
            max: Duration::from_secs(10),
            jitter: 0.0,
        };
        let mut rng = seeded(1);
        let waits: Vec<u64> = (0..6).map(|n| b.delay(n, &mut rng).as_secs()).collect();
        assert_eq!(waits, vec![1, 2, 4, 8, 10, 10]);
        let j = Backoff::Exponential {
            initial: Duration::from_secs(4),
            multiplier: 2.0,
            max: Duration::from_secs(100),
            jitter: 0.5,
        };
        let draws: Vec<Duration> = (0..200).map(|_| j.delay(0, &mut rng)).collect();
        assert!(
            draws
                .iter()
                .all(|d| *d >= Duration::from_secs(2) && *d <= Duration::from_secs(6))
        );
        assert!(draws.iter().any(|d| *d < Duration::from_secs(3)));
        assert!(draws.iter().any(|d| *d > Duration::from_secs(5)));
    }
}
