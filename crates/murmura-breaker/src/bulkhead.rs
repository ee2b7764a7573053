//! A bulkhead: at most N calls in flight; the rest fail fast.

use crate::error::{Error, Result};
use crate::event::{Event, Listener, Listeners};
use murmura_core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::future::Future;
use std::sync::Arc;

/// Limits how many calls run at once. Calls beyond the limit are refused
/// at once with [`Error::BulkheadFull`] rather than queued, so a slow
/// dependency cannot tie up every caller.
///
/// ```
/// use murmura_breaker::{Bulkhead, Error};
///
/// let bulkhead = Bulkhead::new("search", 1).expect("valid");
/// let held = bulkhead.try_acquire().expect("room");
/// assert!(matches!(bulkhead.call(|| Ok::<_, ()>(1)), Err(Error::BulkheadFull { .. })));
/// drop(held);
/// assert_eq!(bulkhead.call(|| Ok::<_, ()>(1))?, 1);
/// # Ok::<(), Error<()>>(())
/// ```
#[derive(Debug)]
pub struct Bulkhead {
    name: Arc<str>,
    max: usize,
    in_flight: AtomicUsize,
    rejected: AtomicU64,
    listeners: Listeners,
}

/// A snapshot of a bulkhead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct BulkheadMetrics {
    /// The limit.
    pub max_concurrent: usize,
    /// Calls running now.
    pub in_flight: usize,
    /// Calls refused so far.
    pub rejected: u64,
}

/// One admitted call; dropping it frees the place.
#[derive(Debug)]
#[must_use = "the place is freed when the permit is dropped"]
pub struct BulkheadPermit<'a> {
    bulkhead: &'a Bulkhead,
}

impl Drop for BulkheadPermit<'_> {
    fn drop(&mut self) {
        self.bulkhead.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Bulkhead {
    /// A bulkhead admitting `max_concurrent` calls at once.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] if `max_concurrent` is zero.
    pub fn new(name: impl Into<Arc<str>>, max_concurrent: usize) -> Result<Self> {
        if max_concurrent == 0 {
            return Err(Error::InvalidConfig {
                field: "max_concurrent",
                reason: "must be > 0",
            });
        }
        Ok(Self {
            name: name.into(),
            max: max_concurrent,
            in_flight: AtomicUsize::new(0),
            rejected: AtomicU64::new(0),
            listeners: Listeners::default(),
        })
    }

    /// Adds a listener for [`Event::BulkheadFull`].
    pub fn with_listener(mut self, listener: impl Listener + 'static) -> Self {
        self.listeners.push(Arc::new(listener));
        self
    }

    /// A place for one call, or [`Error::BulkheadFull`].
    ///
    /// # Errors
    /// [`Error::BulkheadFull`] when `max_concurrent` calls are in flight; nothing changes
    /// but the rejection count.
    pub fn try_acquire(&self) -> Result<BulkheadPermit<'_>> {
        let mut cur = self.in_flight.load(Ordering::Acquire);
        loop {
            if cur >= self.max {
                self.rejected.fetch_add(1, Ordering::Relaxed);
                self.listeners.emit(|| Event::BulkheadFull {
                    name: self.name.clone(),
                });
                return Err(Error::BulkheadFull {
                    name: self.name.clone(),
                    max_concurrent: self.max,
                });
            }
            match self.in_flight.compare_exchange_weak(
                cur,
                cur + 1,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Ok(BulkheadPermit { bulkhead: self }),
                Err(seen) => cur = seen,
            }
        }
    }

    /// Runs `f` if there is room.
    ///
    /// # Errors
    /// [`Error::BulkheadFull`] without running `f`, or [`Error::Inner`].
    pub fn call<T, E>(&self, f: impl FnOnce() -> std::result::Result<T, E>) -> Result<T, E> {
        let _permit = self.try_acquire().map_err(Error::widen)?;
        f().map_err(Error::Inner)
    }

    /// Awaits `fut` if there is room; the place is held until it completes
    /// or is dropped.
    ///
    /// # Errors
    /// As [`call`](Self::call).
    pub async fn call_async<T, E>(
        &self,
        fut: impl Future<Output = std::result::Result<T, E>>,
    ) -> Result<T, E> {
        let _permit = self.try_acquire().map_err(Error::widen)?;
        fut.await.map_err(Error::Inner)
    }

    /// A snapshot.
    pub fn metrics(&self) -> BulkheadMetrics {
        BulkheadMetrics {
            max_concurrent: self.max,
            in_flight: self.in_flight.load(Ordering::Acquire),
            rejected: self.rejected.load(Ordering::Relaxed),
        }
    }
}
