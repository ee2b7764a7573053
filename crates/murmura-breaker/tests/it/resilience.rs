//! Retry and bulkhead, alone and composed with a breaker.

use murmura_breaker::{
    Backoff, Bulkhead, CircuitBreaker, Config, Error, Event, Retry, RetryBudget, State, WindowKind,
};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn retry_backs_off_exponentially_and_gives_up_after_max_attempts() {
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let retry = Retry::new("r", 4)
        .expect("valid")
        .backoff(Backoff::Exponential {
            initial: ms(10),
            multiplier: 3.0,
            max: ms(50),
            jitter: 0.0,
        })
        .with_listener(move |e: &Event| sink.lock().expect("log").push(e.clone()));
    let mut slept = vec![];
    let mut calls = 0;
    let r: Result<(), _> = retry.call_with(
        || {
            calls += 1;
            Err::<(), _>(calls)
        },
        |_| true,
        |d| slept.push(d),
    );
    assert!(matches!(
        r,
        Err(Error::RetriesExhausted {
            attempts: 4,
            last: 4
        })
    ));
    assert_eq!(slept, vec![ms(10), ms(30), ms(50)]);
    assert_eq!(events.lock().expect("log").len(), 3);
    let m = retry.metrics();
    assert_eq!((m.failed_with_retry, m.succeeded_with_retry), (1, 0));
}

#[test]
fn retry_stops_on_non_retryable_errors_and_counts_outcomes() {
    let retry = Retry::new("r", 5)
        .expect("valid")
        .backoff(Backoff::Fixed(Duration::ZERO));
    let r = retry.call_with(
        || Err::<(), _>("bad request"),
        |e| *e != "bad request",
        |_| {},
    );
    assert!(matches!(r, Err(Error::Inner("bad request"))));
    assert_eq!(
        retry
            .call_with(|| Ok::<_, ()>(1), |_| true, |_| {})
            .expect("ok"),
        1
    );
    let mut n = 0;
    assert_eq!(
        retry
            .call_with(
                || {
                    n += 1;
                    if n < 2 { Err(()) } else { Ok(n) }
                },
                |_| true,
                |_| {}
            )
            .expect("ok"),
        2
    );
    let m = retry.metrics();
    assert_eq!(
        (
            m.failed_without_retry,
            m.succeeded_without_retry,
            m.succeeded_with_retry
        ),
        (1, 1, 1)
    );
}

#[test]
fn retry_budget_caps_retries_across_calls() {
    let budget = Arc::new(RetryBudget::new(0.5, 2, 10).expect("valid"));
    let retry = Retry::new("r", 10)
        .expect("valid")
        .backoff(Backoff::Fixed(Duration::ZERO))
        .budget(budget.clone());
    let mut attempts = 0;
    let r = retry.call_with(
        || {
            attempts += 1;
            Err::<(), _>(())
        },
        |_| true,
        |_| {},
    );
    // 2 reserve tokens + 0.5 deposited by this call = 2 whole retries.
    assert!(matches!(
        r,
        Err(Error::RetryBudgetExhausted { attempts: 3, .. })
    ));
    assert_eq!(attempts, 3);
    for _ in 0..2 {
        let _ = retry.call_with(|| Ok::<_, ()>(()), |_| true, |_| {});
    }
    assert_eq!(
        budget.available(),
        1,
        "two first attempts deposited one token"
    );
    assert!(RetryBudget::new(-1.0, 0, 1).is_err());
    assert!(RetryBudget::new(0.1, 5, 1).is_err());
}

#[test]
fn async_retry_sleeps_through_the_given_sleeper() {
    let retry = Retry::new("r", 3)
        .expect("valid")
        .backoff(Backoff::Fixed(ms(5)));
    let slept = Arc::new(Mutex::new(Vec::new()));
    let n = AtomicUsize::new(0);
    let fut = retry.call_async(
        || {
            let k = n.fetch_add(1, Ordering::SeqCst);
            async move { if k < 2 { Err("flaky") } else { Ok(k) } }
        },
        |_| true,
        |d| {
            slept.lock().expect("log").push(d);
            async {}
        },
    );
    let mut fut = std::pin::pin!(fut);
    let out = loop {
        if let std::task::Poll::Ready(v) = fut
            .as_mut()
            .poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
        {
            break v;
        }
    };
    assert_eq!(out.expect("third attempt"), 2);
    assert_eq!(*slept.lock().expect("log"), vec![ms(5), ms(5)]);
}

use std::future::Future;

#[test]
fn bulkhead_limits_concurrency_across_threads() {
    let bulkhead = Bulkhead::new("b", 2).expect("valid");
    assert!(Bulkhead::new("z", 0).is_err());
    let inside = Barrier::new(3);
    let release = Barrier::new(3);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                bulkhead
                    .call(|| {
                        inside.wait();
                        release.wait();
                        Ok::<_, ()>(())
                    })
                    .expect("room");
            });
        }
        inside.wait();
        assert_eq!(bulkhead.metrics().in_flight, 2);
        assert!(matches!(
            bulkhead.call(|| Ok::<_, ()>(())),
            Err(Error::BulkheadFull { .. })
        ));
        release.wait();
    });
    assert_eq!(bulkhead.metrics().in_flight, 0);
    assert_eq!(bulkhead.metrics().rejected, 1);
}

#[test]
fn retry_around_breaker_does_not_retry_rejections() {
    let config = Config::builder()
        .window(WindowKind::Consecutive { threshold: 2 })
        .build()
        .expect("valid");
    let breaker = CircuitBreaker::new("composed", config);
    let retry = Retry::new("r", 5)
        .expect("valid")
        .backoff(Backoff::Fixed(Duration::ZERO));
    let mut ran = 0;
    let r = retry.call_with(
        || {
            breaker.call(|| {
                ran += 1;
                Err::<(), _>("down")
            })
        },
        |e| !e.is_rejected(),
        |_| {},
    );
    assert_eq!(ran, 2, "the breaker opened after two failures");
    assert!(matches!(
        r,
        Err(Error::Inner(Error::Rejected {
            state: State::Open,
            ..
        }))
    ));
}
