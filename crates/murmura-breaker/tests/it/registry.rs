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

#[derive(Debug, Clone)]
enum CapOp {
    Fail(usize),
    Succeed(usize),
    Wait(u64),
    Force(usize, State),
}

fn cap_op() -> impl proptest::strategy::Strategy<Value = CapOp> {
    use proptest::prelude::*;
    prop_oneof![
        4 => (0usize..6).prop_map(CapOp::Fail),
        2 => (0usize..6).prop_map(CapOp::Succeed),
        2 => (0u64..1_500).prop_map(CapOp::Wait),
        1 => (
            0usize..6,
            prop_oneof![
                Just(State::Closed),
                Just(State::Open),
                Just(State::HalfOpen),
                Just(State::Disabled),
                Just(State::MetricsOnly),
                Just(State::ForcedOpen),
            ]
        )
            .prop_map(|(i, s)| CapOp::Force(i, s)),
    ]
}

fn ejected(s: State) -> bool {
    matches!(s, State::Open | State::HalfOpen)
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]

    /// The open cap against its reference rule: an automatic opening of a
    /// closed breaker happens exactly when no breaker is ejected yet or one
    /// more keeps the ejected share within the cap; manual transitions
    /// always happen; the count always equals the breakers ejected.
    #[test]
    fn open_cap_matches_its_rule(
        n in 2usize..7,
        cap in proptest::prelude::prop_oneof![
            proptest::prelude::Just(20.0f32),
            proptest::prelude::Just(34.0),
            proptest::prelude::Just(50.0),
            proptest::prelude::Just(100.0),
        ],
        ops in proptest::collection::vec(cap_op(), 1..80),
    ) {
        let clock = ManualClock::new(Duration::from_secs(10));
        let config = Config::builder()
            .window(WindowKind::Consecutive { threshold: 1 })
            .wait_in_open(Duration::from_secs(1))
            .half_open_calls(1)
            .jitter_seed(3)
            .build()
            .expect("valid");
        let registry = Registry::with_clock(config, clock.clone()).max_open_percent(cap);
        let fleet: Vec<_> = (0..n).map(|i| registry.get(&format!("host-{i}"))).collect();
        for (step, op) in ops.into_iter().enumerate() {
            let open_before = fleet.iter().filter(|b| ejected(b.state())).count();
            match op {
                CapOp::Wait(ms) => clock.advance(Duration::from_millis(ms)),
                CapOp::Succeed(i) => { let _ = fleet[i % n].call(|| Ok::<_, ()>(())); }
                CapOp::Force(i, to) => {
                    let b = &fleet[i % n];
                    match to {
                        State::Closed => b.transition_to_closed(),
                        State::Open => b.transition_to_open(),
                        State::HalfOpen => b.transition_to_half_open(),
                        State::Disabled => b.transition_to_disabled(),
                        State::MetricsOnly => b.transition_to_metrics_only(),
                        _ => b.transition_to_forced_open(),
                    }
                    proptest::prop_assert_eq!(b.state(), to, "step {}: manual transitions always happen", step);
                }
                CapOp::Fail(i) => {
                    let b = &fleet[i % n];
                    let before = b.state();
                    let _ = b.call(|| Err::<(), _>(()));
                    if before == State::Closed {
                        let within = (open_before + 1) as f64 * 100.0 <= f64::from(cap) * n as f64;
                        let expected = if open_before == 0 || within { State::Open } else { State::Closed };
                        proptest::prop_assert_eq!(b.state(), expected, "step {}: {} ejected of {}", step, open_before, n);
                    }
                }
            }
            let ejected_now = fleet.iter().filter(|b| ejected(b.state())).count();
            proptest::prop_assert_eq!(registry.open_count(), ejected_now, "step {}", step);
        }
    }
}
