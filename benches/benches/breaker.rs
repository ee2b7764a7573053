//! Circuit-breaker overhead: murmura against `recloser` and `failsafe` in the
//! same run, on the same pre-generated keys, with floor rows.
//!
//! Every guarded row runs the same tiny operation (`key * 3`) inside the
//! breaker; the `floor/direct` row runs it bare, so a row's overhead is its
//! median minus `floor/direct`'s. Two-thread rows share one breaker between
//! two threads kept alive for the whole group and released together by a
//! spinning flag (`murmura_benches::with_two_threads`), and report the
//! slower thread's time per call. Breakers are built outside the timed loop.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use failsafe::CircuitBreaker as _;
use murmura::breaker::{CircuitBreaker, Config, WindowKind};
use murmura::core::time::{Clock, FastClock, SystemClock};
use murmura_benches::{Loop, random_keys, with_two_threads};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

const KEYS: usize = 65_536;

#[inline(always)]
fn work(key: u64) -> Result<u64, ()> {
    Ok(black_box(key).wrapping_mul(3))
}

/// One guarded call per `run`, through whichever breaker.
trait Guarded: Sync {
    fn run(&self, key: u64) -> u64;
}

struct Direct;
impl Guarded for Direct {
    #[inline]
    fn run(&self, key: u64) -> u64 {
        work(key).unwrap_or(0)
    }
}

struct Ours<C: Clock>(CircuitBreaker<C>);
impl<C: Clock + Sync> Guarded for Ours<C> {
    #[inline]
    fn run(&self, key: u64) -> u64 {
        self.0.call(|| work(key)).unwrap_or(0)
    }
}

struct Recloser(recloser::Recloser);
impl Guarded for Recloser {
    #[inline]
    fn run(&self, key: u64) -> u64 {
        self.0.call(|| work(key)).unwrap_or(0)
    }
}

struct Failsafe<P: failsafe::FailurePolicy + Send>(failsafe::StateMachine<P, ()>);
impl<P: failsafe::FailurePolicy + Send + Sync> Guarded for Failsafe<P> {
    #[inline]
    fn run(&self, key: u64) -> u64 {
        self.0.call(|| work(key)).unwrap_or(0)
    }
}

struct AtomicLoad(AtomicU64);
impl Guarded for AtomicLoad {
    #[inline]
    fn run(&self, key: u64) -> u64 {
        self.0.load(Ordering::Relaxed) ^ key
    }
}

struct FetchAdd(AtomicU64);
impl Guarded for FetchAdd {
    #[inline]
    fn run(&self, key: u64) -> u64 {
        self.0.fetch_add(1, Ordering::Relaxed) ^ key
    }
}

/// Our breaker on its default clock (`FastClock`, the cycle counter).
fn ours(window: WindowKind, sample_every: u32) -> Ours<FastClock> {
    ours_on(window, sample_every, FastClock::new())
}

fn ours_on<C: Clock>(window: WindowKind, sample_every: u32, clock: C) -> Ours<C> {
    let config = Config::builder()
        .wait_in_open(Duration::from_secs(3_600))
        .window(window)
        .minimum_calls(100)
        .clock_sample_every(sample_every)
        .build()
        .expect("valid config");
    Ours(CircuitBreaker::with_clock("bench", config, clock))
}

fn ours_coarse(window: WindowKind) -> Ours<murmura::breaker::CoarseClock> {
    let config = Config::builder()
        .wait_in_open(Duration::from_secs(3_600))
        .window(window)
        .minimum_calls(100)
        .build()
        .expect("valid config");
    let clock = murmura::breaker::CoarseClock::new(Duration::from_millis(1));
    Ours(CircuitBreaker::with_clock("bench", config, clock))
}

fn recloser_breaker(open_wait: Duration) -> Recloser {
    Recloser(
        recloser::Recloser::custom()
            .error_rate(0.5)
            .closed_len(100)
            .half_open_len(10)
            .open_wait(open_wait)
            .build(),
    )
}

fn failsafe_time_window(
    open_wait: Duration,
) -> Failsafe<failsafe::failure_policy::SuccessRateOverTimeWindow<failsafe::backoff::Constant>> {
    let policy = failsafe::failure_policy::success_rate_over_time_window(
        0.5,
        100,
        Duration::from_secs(10),
        failsafe::backoff::constant(open_wait),
    );
    Failsafe(failsafe::Config::new().failure_policy(policy).build())
}

fn failsafe_consecutive(
    open_wait: Duration,
) -> Failsafe<failsafe::failure_policy::ConsecutiveFailures<failsafe::backoff::Constant>> {
    let policy =
        failsafe::failure_policy::consecutive_failures(3, failsafe::backoff::constant(open_wait));
    Failsafe(failsafe::Config::new().failure_policy(policy).build())
}

fn rows() -> Vec<(&'static str, Box<dyn Guarded>)> {
    let hour = Duration::from_secs(3_600);
    vec![
        ("floor/direct", Box::new(Direct)),
        ("floor/atomic_load", Box::new(AtomicLoad(AtomicU64::new(0)))),
        ("floor/fetch_add", Box::new(FetchAdd(AtomicU64::new(0)))),
        (
            "murmura/count100",
            Box::new(ours(WindowKind::Count { size: 100 }, 1)),
        ),
        (
            "murmura/consecutive",
            Box::new(ours(WindowKind::Consecutive { threshold: 3 }, 1)),
        ),
        (
            "murmura/time10s",
            Box::new(ours(WindowKind::Time { seconds: 10 }, 1)),
        ),
        (
            "murmura/time10s_SystemClock",
            Box::new(ours_on(WindowKind::Time { seconds: 10 }, 1, SystemClock)),
        ),
        (
            "murmura/time10s_sample16",
            Box::new(ours(WindowKind::Time { seconds: 10 }, 16)),
        ),
        (
            "murmura/time10s_coarse",
            Box::new(ours_coarse(WindowKind::Time { seconds: 10 })),
        ),
        ("recloser/count100", Box::new(recloser_breaker(hour))),
        ("failsafe/time10s", Box::new(failsafe_time_window(hour))),
        ("failsafe/consecutive", Box::new(failsafe_consecutive(hour))),
    ]
}

fn happy_one_thread(c: &mut Criterion) {
    let keys = random_keys(KEYS, 1);
    let mut group = c.benchmark_group("breaker_happy_1t");
    for (name, guard) in rows() {
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            let mut i = 0usize;
            b.iter(|| {
                i = i.wrapping_add(1);
                black_box(guard.run(keys[i & (KEYS - 1)]))
            })
        });
    }
    group.finish();
}

/// Two-thread rows: both threads call one shared guard `iters` times each
/// (on different keys), kept alive and released together by
/// `with_two_threads`; the figure is the slower thread's time per call.
fn two_thread_group(
    c: &mut Criterion,
    group: &str,
    keys: &[u64],
    rows: &[(&str, Box<dyn Guarded>)],
) {
    // Each round's two loops start at different keys.
    let round = AtomicU64::new(0);
    let loops: Vec<Box<dyn Fn(u64) + Sync + '_>> = rows
        .iter()
        .map(|(_, guard)| {
            let (guard, round) = (guard.as_ref(), &round);
            Box::new(move |n: u64| {
                let offset = round.fetch_add(7_919, Ordering::Relaxed);
                for i in 0..n {
                    black_box(guard.run(keys[((i + offset) as usize) & (KEYS - 1)]));
                }
            }) as Box<dyn Fn(u64) + Sync + '_>
        })
        .collect();
    let loops: Vec<Loop<'_>> = loops.iter().map(|b| &**b as Loop<'_>).collect();
    let mut group = c.benchmark_group(group);
    with_two_threads(&loops, |pair| {
        for (k, (name, _)) in rows.iter().enumerate() {
            group.bench_function(BenchmarkId::from_parameter(name), |b| {
                b.iter_custom(|iters| pair.run(k, 2 * iters))
            });
        }
    });
    group.finish();
}

fn happy_two_threads(c: &mut Criterion) {
    let keys = random_keys(KEYS, 2);
    two_thread_group(c, "breaker_happy_2t", &keys, &rows());
}

fn rejected(c: &mut Criterion) {
    let keys = random_keys(KEYS, 3);
    let hour = Duration::from_secs(3_600);
    let murmura = ours(WindowKind::Count { size: 100 }, 1);
    murmura.0.transition_to_open();
    let system = ours_on(WindowKind::Count { size: 100 }, 1, SystemClock);
    system.0.transition_to_open();
    let coarse = ours_coarse(WindowKind::Count { size: 100 });
    coarse.0.transition_to_open();
    let rec = recloser_breaker(hour);
    let fs = failsafe_consecutive(hour);
    for _ in 0..200 {
        let _ = rec.0.call(|| Err::<(), ()>(()));
        let _ = fs.0.call(|| Err::<(), ()>(()));
    }
    assert!(murmura.0.call(|| work(1)).is_err(), "murmura open");
    assert!(system.0.call(|| work(1)).is_err(), "murmura open");
    assert!(rec.0.call(|| work(1)).is_err(), "recloser open");
    assert!(fs.0.call(|| work(1)).is_err(), "failsafe open");
    let rows: Vec<(&str, Box<dyn Guarded>)> = vec![
        ("floor/direct", Box::new(Direct)),
        ("murmura/open", Box::new(murmura)),
        ("murmura/open_SystemClock", Box::new(system)),
        ("murmura/open_coarse_clock", Box::new(coarse)),
        ("recloser/open", Box::new(rec)),
        ("failsafe/open", Box::new(fs)),
    ];
    let mut group = c.benchmark_group("breaker_rejected_1t");
    for (name, guard) in rows {
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            let mut i = 0usize;
            b.iter(|| {
                i = i.wrapping_add(1);
                black_box(guard.run(keys[i & (KEYS - 1)]))
            })
        });
    }
    group.finish();
}

/// One call in 16 fails (by key), so a count window always holds failures
/// and every call takes a slot; the failure rate (~6 %) stays far below the
/// thresholds, so no breaker opens.
#[inline(always)]
fn flaky(key: u64) -> Result<u64, ()> {
    if black_box(key) & 15 == 0 {
        Err(())
    } else {
        work(key)
    }
}

struct Flaky<G>(G);
impl Guarded for Flaky<Ours<FastClock>> {
    #[inline]
    fn run(&self, key: u64) -> u64 {
        self.0.0.call(|| flaky(key)).unwrap_or(0)
    }
}
impl Guarded for Flaky<Recloser> {
    #[inline]
    fn run(&self, key: u64) -> u64 {
        self.0.0.call(|| flaky(key)).unwrap_or(0)
    }
}

/// Count window with failures present, two threads on one breaker: every
/// call moves the shared ring cursor (murmura) or takes the ring's lock
/// (recloser). `floor/fetch_add` is two threads incrementing one counter.
fn failures_two_threads(c: &mut Criterion) {
    let keys = random_keys(KEYS, 4);
    let hour = Duration::from_secs(3_600);
    let rows: Vec<(&str, Box<dyn Guarded>)> = vec![
        ("floor/direct", Box::new(Direct)),
        ("floor/fetch_add", Box::new(FetchAdd(AtomicU64::new(0)))),
        (
            "murmura/count100_fail1in16",
            Box::new(Flaky(ours(WindowKind::Count { size: 100 }, 1))),
        ),
        (
            "recloser/count100_fail1in16",
            Box::new(Flaky(recloser_breaker(hour))),
        ),
    ];
    two_thread_group(c, "breaker_failures_2t", &keys, &rows);
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(40)
}

criterion_group! {
    name = benches;
    config = config();
    targets = happy_one_thread, happy_two_threads, failures_two_threads, rejected
}
criterion_main!(benches);
