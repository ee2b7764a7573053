//! A flaky dependency behind a breaker, on a simulated clock: it fails for a
//! while, the breaker opens, backs off with each failed trial, and closes
//! (ramping traffic back up) once the dependency recovers. Prints every state
//! change and how many calls reached the dependency.

use murmura::breaker::{Backoff, CircuitBreaker, Config, Event, RampUp, WindowKind};
use murmura::core::time::ManualClock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

fn main() -> Result<(), murmura::breaker::Error> {
    let clock = ManualClock::new(Duration::ZERO);
    let config = Config::builder()
        .window(WindowKind::Time { seconds: 10 })
        .minimum_calls(20)
        .failure_rate_threshold(50.0)
        .backoff(Backoff::Exponential {
            initial: Duration::from_secs(2),
            multiplier: 2.0,
            max: Duration::from_secs(30),
            jitter: 0.2,
        })
        .half_open_calls(3)
        .ramp_up(RampUp {
            duration: Duration::from_secs(10),
            initial_percent: 20.0,
        })
        .jitter_seed(42)
        .build()?;
    let at = clock.clone();
    let breaker = CircuitBreaker::with_clock("inventory", config, clock.clone()).with_listener(
        move |e: &Event| {
            if let Event::StateTransition { from, to, .. } = e {
                println!("t={:>6.1}s  {from:?} -> {to:?}", at.now_secs());
            }
        },
    );
    // The dependency is down from t=20 s to t=60 s.
    let reached = AtomicU64::new(0);
    let mut rejected = 0u64;
    for tick in 0..1_200u64 {
        let now = tick as f64 / 10.0;
        let down = (20.0..60.0).contains(&now);
        let result = breaker.call(|| {
            reached.fetch_add(1, Ordering::Relaxed);
            if down {
                Err("connection refused")
            } else {
                Ok(())
            }
        });
        if result.as_ref().is_err_and(|e| e.is_rejected()) {
            rejected += 1;
        }
        clock.advance(Duration::from_millis(100));
    }
    println!(
        "1200 calls: {} reached the dependency, {rejected} were rejected at once",
        reached.load(Ordering::Relaxed)
    );
    println!(
        "final state: {:?}, metrics: {:?}",
        breaker.state(),
        breaker.metrics()
    );
    Ok(())
}

trait Secs {
    fn now_secs(&self) -> f64;
}

impl Secs for ManualClock {
    fn now_secs(&self) -> f64 {
        murmura::core::time::Clock::now(self).as_secs_f64()
    }
}
