//! Old (`murmura-breaker-base`, a copy of the breaker at another git
//! revision, set up by `benches/ab/breaker_ab.sh`) against new breaker, closed healthy path, one
//! thread, direct calls, interleaved rounds: whole call and overhead.
use murmura::breaker::{CircuitBreaker, Config, WindowKind};
use murmura_benches::paired::{interleaved, ratio};
use murmura_benches::random_keys;
use std::hint::black_box;
use std::time::Duration;

const KEYS: usize = 65_536;

#[inline(always)]
fn work(key: u64) -> Result<u64, ()> {
    Ok(black_box(key).wrapping_mul(3))
}

fn new(window: WindowKind) -> CircuitBreaker {
    CircuitBreaker::new(
        "new",
        Config::builder()
            .wait_in_open(Duration::from_secs(3_600))
            .window(window)
            .minimum_calls(100)
            .build()
            .unwrap(),
    )
}

fn old(window: murmura_breaker_base::WindowKind) -> murmura_breaker_base::CircuitBreaker {
    murmura_breaker_base::CircuitBreaker::new(
        "old",
        murmura_breaker_base::Config::builder()
            .wait_in_open(Duration::from_secs(3_600))
            .window(window)
            .minimum_calls(100)
            .build()
            .unwrap(),
    )
}

fn main() {
    use murmura_breaker_base::WindowKind as W;
    let rounds: usize = std::env::var("AB_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(61);
    let keys = random_keys(KEYS, 9);
    let (nc, ns, nt) = (
        new(WindowKind::Count { size: 100 }),
        new(WindowKind::Consecutive { threshold: 3 }),
        new(WindowKind::Time { seconds: 10 }),
    );
    let (oc, os, ot) = (
        old(W::Count { size: 100 }),
        old(W::Consecutive { threshold: 3 }),
        old(W::Time { seconds: 10 }),
    );
    macro_rules! row {
        ($call:expr) => {
            |ops: u64| {
                let start = std::time::Instant::now();
                for i in 0..ops {
                    let key = keys[(i as usize) & (KEYS - 1)];
                    black_box(($call)(key));
                }
                start.elapsed()
            }
        };
    }
    let mut d = row!(|k| work(k).unwrap_or(0));
    let mut a1 = row!(|k| nc.call(|| work(k)).unwrap_or(0));
    let mut b1 = row!(|k| oc.call(|| work(k)).unwrap_or(0));
    let mut a2 = row!(|k| ns.call(|| work(k)).unwrap_or(0));
    let mut b2 = row!(|k| os.call(|| work(k)).unwrap_or(0));
    let mut a3 = row!(|k| nt.call(|| work(k)).unwrap_or(0));
    let mut b3 = row!(|k| ot.call(|| work(k)).unwrap_or(0));
    let flaky = |k: u64| if black_box(k) & 15 == 0 { Err(()) } else { work(k) };
    let (nf, of) = (new(WindowKind::Count { size: 100 }), old(W::Count { size: 100 }));
    let (no, oo) = (new(WindowKind::Count { size: 100 }), old(W::Count { size: 100 }));
    no.transition_to_open();
    oo.transition_to_open();
    let mut a4 = row!(|k| nf.call(|| flaky(k)).unwrap_or(0));
    let mut b4 = row!(|k| of.call(|| flaky(k)).unwrap_or(0));
    let mut a5 = row!(|k| no.call(|| work(k)).unwrap_or(0));
    let mut b5 = row!(|k| oo.call(|| work(k)).unwrap_or(0));
    let t = interleaved(rounds, &mut [&mut d, &mut a1, &mut b1, &mut a2, &mut b2, &mut a3, &mut b3, &mut a4, &mut b4, &mut a5, &mut b5]);
    let oh = |k: usize| -> Vec<f64> {
        t[k].iter()
            .zip(&t[0])
            .map(|(a, d)| (a - d).max(0.01))
            .collect()
    };
    println!(
        "breaker_ab: {rounds} rounds; direct {:.2} ns",
        ratio(&t[0], &t[0]).ours_ns
    );
    for (name, new, old) in [("count100", 1, 2), ("consecutive", 3, 4), ("time10s", 5, 6), ("count100_fail1in16", 7, 8), ("open", 9, 10)] {
        let w = ratio(&t[new], &t[old]);
        let o = ratio(&oh(new), &oh(old));
        println!(
            "breaker_ab: {name:>12} new {:.2} ns old {:.2} ns | whole new/old {:.3} [p25 {:.3}, p75 {:.3}] | overhead new/old {:.3} [p25 {:.3}, p75 {:.3}] (new {:.2} old {:.2} ns)",
            w.ours_ns, w.peer_ns, w.p50, w.p25, w.p75, o.p50, o.p25, o.p75, o.ours_ns, o.peer_ns
        );
    }
}
