//! A `tower` layer: wrap any service in a circuit breaker.
//!
//! ```
//! use murmura_breaker::tower::CircuitBreakerLayer;
//! use murmura_breaker::{CircuitBreaker, Config, Error, State, WindowKind};
//! use std::sync::Arc;
//! use tower::{Layer, Service, service_fn};
//!
//! let config = Config::builder()
//!     .window(WindowKind::Consecutive { threshold: 1 })
//!     .build()
//!     .expect("valid config");
//! let breaker = Arc::new(CircuitBreaker::new("backend", config));
//! let mut svc = CircuitBreakerLayer::new(breaker.clone())
//!     .layer(service_fn(|n: u32| async move { if n > 0 { Ok(n) } else { Err("zero") } }));
//! let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
//! rt.block_on(async {
//!     assert_eq!(svc.call(1).await.unwrap(), 1);
//!     assert!(matches!(svc.call(0).await, Err(Error::Inner("zero"))));
//!     assert!(matches!(svc.call(2).await, Err(Error::Rejected { .. })));
//! });
//! assert_eq!(breaker.state(), State::Open);
//! ```

use crate::breaker::CircuitBreaker;
use crate::classify::{ByDefault, Classifier};
use crate::error::Error;
use murmura_core::time::{Clock, FastClock};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// Wraps services in [`CircuitBreakerService`] sharing one breaker.
pub struct CircuitBreakerLayer<C = FastClock> {
    breaker: Arc<CircuitBreaker<C>>,
}

impl<C: Clock> std::fmt::Debug for CircuitBreakerLayer<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("CircuitBreakerLayer")
            .field(&self.breaker)
            .finish()
    }
}

impl<S: std::fmt::Debug, C: Clock> std::fmt::Debug for CircuitBreakerService<S, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CircuitBreakerService")
            .field("inner", &self.inner)
            .field("breaker", &self.breaker)
            .finish()
    }
}

impl<C> Clone for CircuitBreakerLayer<C> {
    fn clone(&self) -> Self {
        Self {
            breaker: self.breaker.clone(),
        }
    }
}

impl<C> CircuitBreakerLayer<C> {
    /// A layer guarding every wrapped service with `breaker`.
    pub fn new(breaker: Arc<CircuitBreaker<C>>) -> Self {
        Self { breaker }
    }
}

impl<S, C> tower::Layer<S> for CircuitBreakerLayer<C> {
    type Service = CircuitBreakerService<S, C>;
    fn layer(&self, inner: S) -> Self::Service {
        CircuitBreakerService {
            inner,
            breaker: self.breaker.clone(),
        }
    }
}

/// A service whose calls go through a circuit breaker: rejected calls fail
/// with [`Error::Rejected`] without reaching the inner service; `Ok`
/// responses count as successes, errors as failures; a response future
/// dropped early gives its permit back.
pub struct CircuitBreakerService<S, C = FastClock> {
    inner: S,
    breaker: Arc<CircuitBreaker<C>>,
}

impl<S: Clone, C> Clone for CircuitBreakerService<S, C> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            breaker: self.breaker.clone(),
        }
    }
}

impl<S, C, Req> tower::Service<Req> for CircuitBreakerService<S, C>
where
    S: tower::Service<Req>,
    S::Future: Send + 'static,
    S::Response: Send + 'static,
    S::Error: Send + 'static,
    C: Clock + Send + Sync + 'static,
{
    type Response = S::Response;
    type Error = Error<S::Error>;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, Error<S::Error>>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Error::Inner)
    }

    fn call(&mut self, req: Req) -> Self::Future {
        match self.breaker.try_acquire_owned() {
            Err(rejected) => Box::pin(std::future::ready(Err(rejected.widen()))),
            Ok(permit) => {
                let fut = self.inner.call(req);
                Box::pin(async move {
                    let result = fut.await;
                    permit.record(ByDefault.classify(&result));
                    result.map_err(Error::Inner)
                })
            }
        }
    }
}
