//! Circuit-breaker overhead: murmura against `recloser` and `failsafe` in the
//! same run, on the same pre-generated keys, with floor rows.
//!
//! The figures the README quotes come from `breaker_paired`: every row is
//! a direct (generic, inlinable) call as a user would write it, the rows
//! run in interleaved ~4 ms rounds (`murmura_benches::paired`), and each
//! ratio is the median of the per-round ratios, both of the whole call and
//! of the overhead (row minus the bare operation in the same round). The
//! criterion groups below call every row through a trait object, which
//! adds the same indirect call to every row; they are kept for the
//! two-thread and rejected-call figures and for `cargo bench -- --test`.
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
use murmura_benches::paired::{Ratio, interleaved, ratio};
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

/// Prints each row's median time per call and overhead (row minus
/// `t[0]`, the bare operation, round by round), then the whole-call and
/// overhead ratios (medians of per-round ratios) of the given pairs.
fn report(title: &str, names: &[&str], t: &[Vec<f64>], pairs: &[(usize, usize)]) {
    let median = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    // Clamped just above zero: a row cheaper than the bare call in one
    // round (noise) must not flip a ratio's sign.
    let overhead = |k: usize| -> Vec<f64> {
        t[k].iter()
            .zip(&t[0])
            .map(|(a, d)| (a - d).max(0.01))
            .collect()
    };
    println!("breaker_paired: {title}: {} interleaved rounds", t[0].len());
    for (k, name) in names.iter().enumerate() {
        let raw: Vec<f64> = t[k].iter().zip(&t[0]).map(|(a, d)| a - d).collect();
        println!(
            "breaker_paired: {title}: {name:>28}: median {:7.2} ns/call  overhead {:7.2} ns",
            median(&t[k]),
            median(&raw)
        );
    }
    let show = |label: String, r: Ratio| {
        println!(
            "breaker_paired: {title}: {label:>62}: median {:.3} [p25 {:.3}, p75 {:.3}]",
            r.p50, r.p25, r.p75
        );
    };
    for &(ours, peer) in pairs {
        let label = format!("{} / {}", names[ours], names[peer]);
        show(format!("whole call {label}"), ratio(&t[ours], &t[peer]));
        show(
            format!("overhead   {label}"),
            ratio(&overhead(ours), &overhead(peer)),
        );
    }
}

/// A row's loop: `n` calls of `$call` on consecutive pre-generated keys,
/// each as a direct (generic, inlinable) call; the loop itself is called
/// once per round. Each run starts at a different key, so the two threads
/// of a two-thread round work on different keys.
macro_rules! direct_loop {
    ($keys:expr, $round:expr, |$k:ident| $call:expr) => {{
        let (keys, round): (&[u64], &AtomicU64) = ($keys, $round);
        Box::new(move |n: u64| {
            let offset = round.fetch_add(7_919, Ordering::Relaxed);
            for i in 0..n {
                let $k = keys[((i + offset) as usize) & (KEYS - 1)];
                black_box($call);
            }
        }) as Box<dyn Fn(u64) + Sync + '_>
    }};
}

/// The figures the README quotes: interleaved rounds (`paired`) of direct
/// calls, one thread and two threads sharing one breaker, healthy, with
/// failures present, and rejected; whole-call and overhead ratios of each
/// murmura row against each peer row, all from one run. Rounds: 41, or
/// `BREAKER_PAIRED_ROUNDS`; one under `cargo bench -- --test`.
fn breaker_paired(_: &mut Criterion) {
    let rounds = if std::env::args().any(|a| a == "--test") {
        1
    } else {
        std::env::var("BREAKER_PAIRED_ROUNDS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(41)
    };
    let keys = random_keys(KEYS, 5);
    let keys = &keys[..];
    let round = AtomicU64::new(0);
    let round = &round;
    let hour = Duration::from_secs(3_600);
    let fetch = AtomicU64::new(0);
    let count = ours(WindowKind::Count { size: 100 }, 1).0;
    let consecutive = ours(WindowKind::Consecutive { threshold: 3 }, 1).0;
    let time = ours(WindowKind::Time { seconds: 10 }, 1).0;
    let time16 = ours(WindowKind::Time { seconds: 10 }, 16).0;
    let coarse = ours_coarse(WindowKind::Time { seconds: 10 }).0;
    let rec = recloser_breaker(hour).0;
    let fs_time = failsafe_time_window(hour).0;
    let fs_consecutive = failsafe_consecutive(hour).0;
    let (count, consecutive, time, time16, coarse) =
        (&count, &consecutive, &time, &time16, &coarse);
    let (rec, fs_time, fs_consecutive, fetch) = (&rec, &fs_time, &fs_consecutive, &fetch);
    let names = [
        "floor/direct",
        "floor/fetch_add",
        "murmura/count100",
        "murmura/consecutive",
        "murmura/time10s",
        "murmura/time10s_sample16",
        "murmura/time10s_coarse",
        "recloser/count100",
        "failsafe/time10s",
        "failsafe/consecutive",
    ];
    let loops = [
        direct_loop!(keys, round, |k| work(k).unwrap_or(0)),
        direct_loop!(keys, round, |k| fetch.fetch_add(1, Ordering::Relaxed) ^ k),
        direct_loop!(keys, round, |k| count.call(|| work(k)).unwrap_or(0)),
        direct_loop!(keys, round, |k| consecutive.call(|| work(k)).unwrap_or(0)),
        direct_loop!(keys, round, |k| time.call(|| work(k)).unwrap_or(0)),
        direct_loop!(keys, round, |k| time16.call(|| work(k)).unwrap_or(0)),
        direct_loop!(keys, round, |k| coarse.call(|| work(k)).unwrap_or(0)),
        direct_loop!(keys, round, |k| rec.call(|| work(k)).unwrap_or(0)),
        direct_loop!(keys, round, |k| fs_time.call(|| work(k)).unwrap_or(0)),
        direct_loop!(keys, round, |k| fs_consecutive
            .call(|| work(k))
            .unwrap_or(0)),
    ];
    let pairs = [
        (2, 7),
        (2, 9),
        (3, 9),
        (3, 7),
        (4, 8),
        (4, 7),
        (5, 8),
        (6, 8),
    ];
    let one_thread = |loops: &[Box<dyn Fn(u64) + Sync + '_>]| {
        let mut timed: Vec<_> = loops
            .iter()
            .map(|l| {
                move |ops: u64| {
                    let start = std::time::Instant::now();
                    l(ops);
                    start.elapsed()
                }
            })
            .collect();
        let mut refs: Vec<&mut dyn FnMut(u64) -> Duration> = timed
            .iter_mut()
            .map(|c| c as &mut dyn FnMut(u64) -> Duration)
            .collect();
        interleaved(rounds, &mut refs)
    };
    let two_threads = |loops: &[Box<dyn Fn(u64) + Sync + '_>]| {
        let refs: Vec<Loop<'_>> = loops.iter().map(|b| &**b as Loop<'_>).collect();
        // Handing a round to the second thread costs microseconds (more on
        // a loaded machine), so the calibration's unit is a batch of calls:
        // both threads make `BATCH` calls per unit, and the figure is the
        // time per call of one thread.
        const BATCH: u64 = 20_000;
        let mut t = with_two_threads(&refs, |pair| {
            let mut timed: Vec<_> = (0..refs.len())
                .map(|k| move |units: u64| pair.run(k, 2 * units * BATCH))
                .collect();
            let mut refs: Vec<&mut dyn FnMut(u64) -> Duration> = timed
                .iter_mut()
                .map(|c| c as &mut dyn FnMut(u64) -> Duration)
                .collect();
            interleaved(rounds, &mut refs)
        });
        for per_unit in t.iter_mut().flatten() {
            *per_unit /= BATCH as f64;
        }
        t
    };
    report("healthy, 1 thread", &names, &one_thread(&loops), &pairs);
    report("healthy, 2 threads", &names, &two_threads(&loops), &pairs);

    // One call in 16 fails: a count window always holds failures.
    let flaky_count = ours(WindowKind::Count { size: 100 }, 1).0;
    let flaky_rec = recloser_breaker(hour).0;
    let (flaky_count, flaky_rec) = (&flaky_count, &flaky_rec);
    let flaky_names = [
        "floor/direct_fail1in16",
        "floor/fetch_add",
        "murmura/count100_fail1in16",
        "recloser/count100_fail1in16",
    ];
    let flaky_loops = [
        direct_loop!(keys, round, |k| flaky(k).unwrap_or(0)),
        direct_loop!(keys, round, |k| fetch.fetch_add(1, Ordering::Relaxed) ^ k),
        direct_loop!(keys, round, |k| flaky_count.call(|| flaky(k)).unwrap_or(0)),
        direct_loop!(keys, round, |k| flaky_rec.call(|| flaky(k)).unwrap_or(0)),
    ];
    report(
        "failures present, 1 thread",
        &flaky_names,
        &one_thread(&flaky_loops),
        &[(2, 3)],
    );
    report(
        "failures present, 2 threads",
        &flaky_names,
        &two_threads(&flaky_loops),
        &[(2, 3)],
    );
    assert_eq!(flaky_count.state(), murmura::breaker::State::Closed);

    // Rejections: every breaker open for an hour.
    let open = ours(WindowKind::Count { size: 100 }, 1).0;
    open.transition_to_open();
    let open_rec = recloser_breaker(hour).0;
    let open_fs = failsafe_consecutive(hour).0;
    for _ in 0..200 {
        let _ = open_rec.call(|| Err::<(), ()>(()));
        let _ = open_fs.call(|| Err::<(), ()>(()));
    }
    assert!(open.call(|| work(1)).is_err() && open_rec.call(|| work(1)).is_err());
    assert!(open_fs.call(|| work(1)).is_err());
    let (open, open_rec, open_fs) = (&open, &open_rec, &open_fs);
    let open_names = [
        "floor/direct",
        "murmura/open",
        "recloser/open",
        "failsafe/open",
    ];
    let open_loops = [
        direct_loop!(keys, round, |k| work(k).unwrap_or(0)),
        direct_loop!(keys, round, |k| open.call(|| work(k)).unwrap_or(0)),
        direct_loop!(keys, round, |k| open_rec.call(|| work(k)).unwrap_or(0)),
        direct_loop!(keys, round, |k| open_fs.call(|| work(k)).unwrap_or(0)),
    ];
    report(
        "rejected, 1 thread",
        &open_names,
        &one_thread(&open_loops),
        &[(1, 2), (1, 3)],
    );
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
    targets = breaker_paired, happy_one_thread, happy_two_threads, failures_two_threads, rejected
}
criterion_main!(benches);
