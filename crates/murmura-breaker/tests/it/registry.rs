//! Registry: shared configurations, idle eviction, open-fraction cap.

use murmura_breaker::{Config, Event, Registry, State, WindowKind};
use murmura_core::time::ManualClock;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

fn one_strike() -> Config {
    Config::builder()
        .window(WindowKind::Consecutive { threshold: 1 })
        .build()
        .expect("valid")
}

#[test]
fn named_configurations_are_shared_and_unknown_names_are_errors() {
    let registry = Registry::with_clock(Config::default(), ManualClock::default())
        .with_config("strict", one_strike());
    let a = registry.get_with("a", "strict").expect("known");
    let b = registry.get_with("b", "strict").expect("known");
    assert_eq!(a.config(), b.config());
    assert!(!Arc::ptr_eq(&a, &b));
    assert!(registry.get_with("c", "missing").is_err());
    assert_eq!(registry.len(), 2);
}

#[test]
fn idle_closed_unreferenced_breakers_are_evicted() {
    let clock = ManualClock::default();
    let registry = Registry::with_clock(one_strike(), clock.clone())
        .evict_idle_after(Duration::from_secs(60), 3);
    let held = registry.get("held");
    let open = registry.get("open");
    let _ = open.call(|| Err::<(), _>(()));
    drop(open);
    drop(registry.get("idle"));
    clock.advance(Duration::from_secs(61));
    drop(registry.get("fresh"));
    // Creating a fourth breaker at the soft cap evicted the idle closed one only.
    assert_eq!(registry.len(), 4 - 1);
    assert_eq!(held.state(), State::Closed);
    assert_eq!(
        registry.get("open").state(),
        State::Open,
        "open breakers are kept"
    );
    clock.advance(Duration::from_secs(61));
    drop(held);
    assert_eq!(registry.evict_idle(), 2, "held (now released) and fresh");
    assert_eq!(registry.len(), 1);
    // Thousands of endpoints do not grow memory forever.
    for i in 0..2_000 {
        drop(registry.get(&format!("endpoint-{i}")));
        clock.advance(Duration::from_secs(1));
    }
    assert!(
        registry.len() <= 62,
        "only the last minute's endpoints stay, got {}",
        registry.len()
    );
}

#[test]
fn at_most_the_capped_share_of_breakers_opens() {
    let suppressed = Arc::new(AtomicUsize::new(0));
    let seen = suppressed.clone();
    let registry = Registry::with_clock(one_strike(), ManualClock::default())
        .max_open_percent(30.0)
        .with_listener(move |e: &Event| {
            if matches!(e, Event::OpenSuppressed { .. }) {
                seen.fetch_add(1, Ordering::SeqCst);
            }
        });
    let fleet: Vec<_> = (0..10)
        .map(|i| registry.get(&format!("host-{i}")))
        .collect();
    for b in &fleet {
        let _ = b.call(|| Err::<(), _>(()));
    }
    let open = fleet.iter().filter(|b| b.state() == State::Open).count();
    assert_eq!(open, 3, "30 % of 10");
    assert_eq!(registry.open_count(), 3);
    assert_eq!(suppressed.load(Ordering::SeqCst), 7);
    // Closing one frees a place for another.
    fleet[0].transition_to_closed();
    let _ = fleet[9].call(|| Err::<(), _>(()));
    assert_eq!(fleet[9].state(), State::Open);
    assert_eq!(registry.open_count(), 3);
}
