//! Async calls: a dropped guarded future gives its permit back.

use crate::rig;
use murmura_breaker::{Bulkhead, Config, Error, State, WindowKind};
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// Polls once with a no-op waker.
fn poll_once<F: Future + ?Sized>(f: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(Waker::noop()))
}

fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    loop {
        if let Poll::Ready(v) = poll_once(f.as_mut()) {
            return v;
        }
    }
}

#[test]
fn dropped_guarded_future_returns_its_half_open_permit_and_records_nothing() {
    let (b, clock, _) = rig(Config::builder()
        .window(WindowKind::Consecutive { threshold: 1 })
        .wait_in_open(Duration::from_secs(1))
        .half_open_calls(1));
    let _ = b.call(|| Err::<(), _>(()));
    clock.advance(Duration::from_secs(1));
    {
        let mut guarded = pin!(b.call_async(std::future::pending::<Result<(), ()>>()));
        assert!(poll_once(guarded.as_mut()).is_pending());
        assert_eq!(b.metrics().trials_in_flight, 1);
        assert!(b.try_acquire().is_err(), "the only trial is taken");
    } // dropped mid-flight
    assert_eq!(b.metrics().trials_in_flight, 0);
    assert_eq!(b.state(), State::HalfOpen, "neither success nor failure");
    assert_eq!(
        block_on(b.call_async(async { Ok::<_, ()>(5) })).expect("trial"),
        5
    );
    assert_eq!(b.state(), State::Closed);
    let err = block_on(b.call_async(async { Err::<(), _>("down") })).expect_err("failed");
    assert!(matches!(err, Error::Inner("down")));
    assert_eq!(b.state(), State::Open);
}

#[test]
fn async_bulkhead_holds_its_place_until_the_future_ends() {
    let bulkhead = Bulkhead::new("b", 1).expect("valid");
    {
        let mut first = pin!(bulkhead.call_async(std::future::pending::<Result<(), ()>>()));
        assert!(poll_once(first.as_mut()).is_pending());
        let second = block_on(bulkhead.call_async(async { Ok::<_, ()>(()) }));
        assert!(matches!(
            second,
            Err(Error::BulkheadFull {
                max_concurrent: 1,
                ..
            })
        ));
    }
    assert_eq!(bulkhead.metrics().in_flight, 0);
    assert!(block_on(bulkhead.call_async(async { Ok::<_, ()>(()) })).is_ok());
    assert_eq!(bulkhead.metrics().rejected, 1);
}

#[cfg(feature = "tokio")]
#[test]
fn event_stream_delivers_transitions() {
    use murmura_breaker::{CircuitBreaker, Event, EventStream};
    let stream = EventStream::new(16);
    let mut rx = stream.subscribe();
    let config = Config::builder()
        .window(WindowKind::Consecutive { threshold: 1 })
        .build()
        .expect("valid");
    let b = CircuitBreaker::new("s", config).with_listener(stream);
    let _ = b.call(|| Err::<(), _>(()));
    let _ = b.call(|| Ok::<_, ()>(()));
    let events: Vec<Event> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
    assert!(matches!(events[0], Event::Error { .. }));
    assert!(matches!(
        events[1],
        Event::StateTransition {
            from: State::Closed,
            to: State::Open,
            ..
        }
    ));
    assert!(matches!(
        events[2],
        Event::Rejected {
            state: State::Open,
            ..
        }
    ));
    assert_eq!(events.len(), 3);
}

#[cfg(feature = "tower")]
#[test]
fn tower_service_rejects_when_open_and_a_dropped_response_returns_its_trial() {
    use murmura_breaker::CircuitBreaker;
    use murmura_breaker::tower::CircuitBreakerLayer;
    use murmura_core::time::ManualClock;
    use std::sync::Arc;
    use tower::{Layer, Service, service_fn};

    let clock = ManualClock::new(Duration::from_secs(1));
    let config = Config::builder()
        .window(WindowKind::Consecutive { threshold: 1 })
        .wait_in_open(Duration::from_secs(5))
        .half_open_calls(1)
        .build()
        .expect("valid");
    let breaker = Arc::new(CircuitBreaker::with_clock("svc", config, clock.clone()));
    let mut svc =
        CircuitBreakerLayer::new(breaker.clone()).layer(service_fn(|hang: bool| async move {
            if hang {
                std::future::pending::<()>().await;
            }
            Err::<(), _>("down")
        }));
    assert!(matches!(
        block_on(svc.call(false)),
        Err(Error::Inner("down"))
    ));
    match block_on(svc.call(false)) {
        Err(Error::Rejected { retry_after, .. }) => {
            assert_eq!(retry_after, Some(Duration::from_secs(5)))
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    clock.advance(Duration::from_secs(5));
    {
        let mut trial = svc.call(true);
        assert!(poll_once(trial.as_mut()).is_pending());
        assert_eq!(breaker.metrics().trials_in_flight, 1);
    }
    assert_eq!(
        breaker.metrics().trials_in_flight,
        0,
        "dropped response gave its trial back"
    );
    assert_eq!(breaker.state(), State::HalfOpen);
}
