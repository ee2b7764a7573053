//! Retry with exponential backoff, jitter and a retry budget.

use crate::config::Backoff;
use crate::error::{Error, Result};
use crate::event::{Event, Listener, Listeners};
use murmura_core::rng::{DefaultRng, SeedableRng};
use murmura_core::sync::Mutex;
use murmura_core::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// Caps retries at a fraction of first attempts, so a struggling dependency
/// is not hit with a storm of retries: each first attempt deposits `ratio`
/// of a token, each retry takes a whole one; `reserve` tokens are there at
/// the start and the balance is capped at `max_tokens`.
///
/// The arithmetic is exact for the ratios users write: the ratio is taken
/// as the shortest decimal that reads back as the same `f32` (`0.7` is
/// seven tenths, not 0.699999988…) and kept in billionths of a token, so a
/// ratio of up to nine decimal places admits exactly `ratio × n` retries
/// (rounded down) per `n` first attempts; finer ratios are rounded to the
/// nearest billionth.
///
/// ```
/// use murmura_breaker::{Retry, RetryBudget};
/// use std::sync::Arc;
///
/// let budget = Arc::new(RetryBudget::new(0.7, 0, 1_000).unwrap());
/// let retry = Retry::new("fetch", 1).unwrap().budget(budget.clone());
/// for _ in 0..1_000 {
///     retry.call(|| Ok::<_, ()>(())).unwrap();
/// }
/// assert_eq!(budget.available(), 700);
/// ```
#[derive(Debug)]
pub struct RetryBudget {
    /// Balance in billionths of a token.
    units: AtomicI64,
    deposit: i64,
    max: i64,
}

impl RetryBudget {
    /// `ratio` retries allowed per first attempt (e.g. 0.1), starting with
    /// `reserve` tokens and holding at most `max_tokens`.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] if `ratio` is not within `0..=10` or `max_tokens < reserve`.
    pub fn new(ratio: f32, reserve: u32, max_tokens: u32) -> Result<Self> {
        if !(0.0..=10.0).contains(&ratio) {
            return Err(Error::InvalidConfig {
                field: "ratio",
                reason: "must be within 0..=10",
            });
        }
        if max_tokens < reserve {
            return Err(Error::InvalidConfig {
                field: "max_tokens",
                reason: "must be >= reserve",
            });
        }
        // The decimal the user wrote, then billionths: at most 10 tokens
        // a deposit and u32::MAX tokens a balance fit an i64 with room.
        let decimal: f64 = ratio.to_string().parse().unwrap_or(f64::from(ratio));
        Ok(Self {
            units: AtomicI64::new(i64::from(reserve) * TOKEN),
            deposit: (decimal * TOKEN as f64).round() as i64,
            max: i64::from(max_tokens) * TOKEN,
        })
    }

    pub(crate) fn deposit(&self) {
        let _ = self
            .units
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |m| {
                Some((m + self.deposit).min(self.max))
            });
    }

    pub(crate) fn withdraw(&self) -> bool {
        self.units
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |m| {
                (m >= TOKEN).then_some(m - TOKEN)
            })
            .is_ok()
    }

    /// Whole tokens available now.
    pub fn available(&self) -> u64 {
        (self.units.load(Ordering::Acquire).max(0) / TOKEN) as u64
    }
}

/// One retry token in budget units (billionths).
const TOKEN: i64 = 1_000_000_000;

/// Counts of how retried calls ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct RetryMetrics {
    /// Succeeded on the first attempt.
    pub succeeded_without_retry: u64,
    /// Succeeded after at least one retry.
    pub succeeded_with_retry: u64,
    /// Failed on the first attempt with an error not worth retrying.
    pub failed_without_retry: u64,
    /// Failed after retrying (attempts or budget exhausted).
    pub failed_with_retry: u64,
}

/// Retries a failing operation with backoff between attempts.
///
/// The sleeping is the caller's: the synchronous methods take a sleep
/// function (use `std::thread::sleep`), the asynchronous ones a function
/// making a sleep future (e.g. `tokio::time::sleep`), so tests need no real time.
///
/// ```
/// use murmura_breaker::{Backoff, Retry};
/// use std::time::Duration;
///
/// let retry = Retry::new("fetch", 3).expect("valid").backoff(Backoff::Fixed(Duration::from_millis(10)));
/// let mut attempts = 0;
/// let mut slept = Vec::new();
/// let value = retry.call_with(
///     || { attempts += 1; if attempts < 3 { Err("flaky") } else { Ok(attempts) } },
///     |_e: &&str| true,
///     |d| slept.push(d),
/// )?;
/// assert_eq!(value, 3);
/// assert_eq!(slept, vec![Duration::from_millis(10); 2]);
/// # Ok::<(), murmura_breaker::Error<&str>>(())
/// ```
#[derive(Debug)]
pub struct Retry {
    name: Arc<str>,
    max_attempts: u32,
    backoff: Backoff,
    budget: Option<Arc<RetryBudget>>,
    rng: Mutex<DefaultRng>,
    listeners: Listeners,
    counts: [AtomicU64; 4],
}

impl Retry {
    /// At most `max_attempts` attempts (first included), 100 ms exponential
    /// backoff doubling up to 10 s with 50 % jitter.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] if `max_attempts` is zero.
    pub fn new(name: impl Into<Arc<str>>, max_attempts: u32) -> Result<Self> {
        if max_attempts == 0 {
            return Err(Error::InvalidConfig {
                field: "max_attempts",
                reason: "must be > 0",
            });
        }
        Ok(Self {
            name: name.into(),
            max_attempts,
            backoff: Backoff::Exponential {
                initial: Duration::from_millis(100),
                multiplier: 2.0,
                max: Duration::from_secs(10),
                jitter: 0.5,
            },
            budget: None,
            rng: Mutex::new(murmura_core::rng::from_entropy()),
            listeners: Listeners::default(),
            counts: Default::default(),
        })
    }

    /// The wait between attempts.
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Seeds the jitter.
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.rng = Mutex::new(DefaultRng::seed_from_u64(seed));
        self
    }

    /// Shares a retry budget (with other `Retry`s too).
    pub fn budget(mut self, budget: Arc<RetryBudget>) -> Self {
        self.budget = Some(budget);
        self
    }

    /// Adds a listener for [`Event::Retry`].
    pub fn with_listener(mut self, listener: impl Listener + 'static) -> Self {
        self.listeners.push(Arc::new(listener));
        self
    }

    /// A snapshot of the outcome counts.
    pub fn metrics(&self) -> RetryMetrics {
        let c = |i: usize| self.counts[i].load(Ordering::Relaxed);
        RetryMetrics {
            succeeded_without_retry: c(0),
            succeeded_with_retry: c(1),
            failed_without_retry: c(2),
            failed_with_retry: c(3),
        }
    }

    /// Retries every error, sleeping with `std::thread::sleep`.
    ///
    /// # Errors
    /// As [`call_with`](Self::call_with).
    pub fn call<T, E>(&self, f: impl FnMut() -> std::result::Result<T, E>) -> Result<T, E> {
        self.call_with(f, |_| true, std::thread::sleep)
    }

    /// Runs `f` until it succeeds, returns an error `retryable` rejects, or
    /// attempts or budget run out; `sleep` waits between attempts.
    ///
    /// # Errors
    /// [`Error::Inner`] for a non-retryable error, [`Error::RetriesExhausted`]
    /// or [`Error::RetryBudgetExhausted`] with the last error.
    pub fn call_with<T, E>(
        &self,
        mut f: impl FnMut() -> std::result::Result<T, E>,
        retryable: impl Fn(&E) -> bool,
        mut sleep: impl FnMut(Duration),
    ) -> Result<T, E> {
        self.first_attempt();
        let mut attempt = 1;
        loop {
            let err = match f() {
                Ok(v) => return Ok(self.succeeded(attempt, v)),
                Err(e) => e,
            };
            match self.next_delay(attempt, &err, &retryable) {
                Ok(delay) => sleep(delay),
                Err(kind) => return Err(self.failed(attempt, kind, err)),
            }
            attempt += 1;
        }
    }

    /// The asynchronous [`call_with`](Self::call_with): `make` builds each
    /// attempt's future, `sleep` the wait's.
    ///
    /// # Errors
    /// As [`call_with`](Self::call_with).
    pub async fn call_async<T, E, F, S>(
        &self,
        mut make: impl FnMut() -> F,
        retryable: impl Fn(&E) -> bool,
        mut sleep: impl FnMut(Duration) -> S,
    ) -> Result<T, E>
    where
        F: Future<Output = std::result::Result<T, E>>,
        S: Future<Output = ()>,
    {
        self.first_attempt();
        let mut attempt = 1;
        loop {
            let err = match make().await {
                Ok(v) => return Ok(self.succeeded(attempt, v)),
                Err(e) => e,
            };
            match self.next_delay(attempt, &err, &retryable) {
                Ok(delay) => sleep(delay).await,
                Err(kind) => return Err(self.failed(attempt, kind, err)),
            }
            attempt += 1;
        }
    }

    fn first_attempt(&self) {
        if let Some(b) = &self.budget {
            b.deposit();
        }
    }

    fn succeeded<T>(&self, attempt: u32, v: T) -> T {
        self.counts[usize::from(attempt > 1)].fetch_add(1, Ordering::Relaxed);
        v
    }

    fn next_delay<E>(
        &self,
        attempt: u32,
        err: &E,
        retryable: &impl Fn(&E) -> bool,
    ) -> std::result::Result<Duration, GaveUp> {
        if !retryable(err) {
            return Err(GaveUp::NotRetryable);
        }
        if attempt >= self.max_attempts {
            return Err(GaveUp::Attempts);
        }
        if let Some(b) = &self.budget
            && !b.withdraw()
        {
            return Err(GaveUp::Budget);
        }
        let delay = {
            let mut rng = self.rng.lock().unwrap_or_else(|p| p.into_inner());
            self.backoff.delay(attempt - 1, &mut *rng)
        };
        self.listeners.emit(|| Event::Retry {
            name: self.name.clone(),
            attempt,
            delay,
        });
        Ok(delay)
    }

    fn failed<E>(&self, attempts: u32, kind: GaveUp, last: E) -> Error<E> {
        self.counts[if attempts > 1 { 3 } else { 2 }].fetch_add(1, Ordering::Relaxed);
        match kind {
            GaveUp::NotRetryable => Error::Inner(last),
            GaveUp::Attempts => Error::RetriesExhausted { attempts, last },
            GaveUp::Budget => Error::RetryBudgetExhausted { attempts, last },
        }
    }
}

enum GaveUp {
    NotRetryable,
    Attempts,
    Budget,
}
