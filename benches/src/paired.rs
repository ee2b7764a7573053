//! Interleaved A/B rounds: the way a ratio claim is read.
//!
//! Criterion rows measured one after another can differ by tens of percent
//! when this shared machine's CPU share drifts between them. Here each
//! contender runs a short round (about [`ROUND`] of work) in turn, the order
//! is reversed every other round so neither always runs on a warm or cold
//! machine, and the claim is the median of the per-round ratios.

use std::time::{Duration, Instant};

/// Target duration of one contender's round.
pub const ROUND: Duration = Duration::from_millis(4);

/// Per-round ratios of `ours` against `peer`, and each one's median time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ratio {
    /// 25th percentile of the per-round ratios ours / peer.
    pub p25: f64,
    /// Median of the per-round ratios ours / peer: the figure to quote.
    pub p50: f64,
    /// 75th percentile of the per-round ratios ours / peer.
    pub p75: f64,
    /// Median nanoseconds per operation of ours.
    pub ours_ns: f64,
    /// Median nanoseconds per operation of the peer.
    pub peer_ns: f64,
}

impl std::fmt::Display for Ratio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ours {:.2} ns  peer {:.2} ns  ours/peer median {:.3} [p25 {:.3}, p75 {:.3}]",
            self.ours_ns, self.peer_ns, self.p50, self.p25, self.p75
        )
    }
}

/// Value at quantile `q` of a sorted non-empty slice.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i]
}

/// How many operations of `run` take about [`ROUND`].
fn calibrate(run: &mut dyn FnMut(u64) -> Duration) -> u64 {
    let mut ops = 1u64;
    loop {
        let t = run(ops);
        if t >= ROUND / 4 || ops >= 1 << 40 {
            let per_op = t.as_nanos().max(1) as f64 / ops as f64;
            return ((ROUND.as_nanos() as f64 / per_op) as u64).max(1);
        }
        ops *= 4;
    }
}

/// Runs `rounds` interleaved rounds of every contender and returns, per
/// contender, nanoseconds per operation in each round. Each closure runs
/// `ops` operations and returns the time they took (so two-thread
/// contenders can report wall time of both threads, and setup can stay
/// outside the timing).
pub fn interleaved(
    rounds: usize,
    contenders: &mut [&mut dyn FnMut(u64) -> Duration],
) -> Vec<Vec<f64>> {
    // Calibrate on the slowest contender so every round is about ROUND long.
    let ops = contenders
        .iter_mut()
        .map(|c| calibrate(&mut **c))
        .min()
        .unwrap_or(1);
    // One untimed warm-up round each.
    for c in contenders.iter_mut() {
        c(ops);
    }
    let mut per_op = vec![Vec::with_capacity(rounds); contenders.len()];
    let n = contenders.len();
    for round in 0..rounds {
        for j in 0..n {
            let k = if round % 2 == 0 { j } else { n - 1 - j };
            let t = (contenders[k])(ops);
            per_op[k].push(t.as_nanos() as f64 / ops as f64);
        }
    }
    per_op
}

/// Median and quartiles of the per-round ratios `ours[i] / peer[i]`.
pub fn ratio(ours: &[f64], peer: &[f64]) -> Ratio {
    assert_eq!(ours.len(), peer.len(), "one time per round for each");
    assert!(!ours.is_empty(), "at least one round");
    let mut r: Vec<f64> = ours.iter().zip(peer).map(|(a, b)| a / b).collect();
    r.sort_by(f64::total_cmp);
    let median = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(f64::total_cmp);
        quantile(&v, 0.5)
    };
    Ratio {
        p25: quantile(&r, 0.25),
        p50: quantile(&r, 0.5),
        p75: quantile(&r, 0.75),
        ours_ns: median(ours),
        peer_ns: median(peer),
    }
}

/// Interleaved rounds of two one-thread loops (each runs `ops` operations):
/// the ratio ours / peer.
pub fn pair(rounds: usize, mut ours: impl FnMut(u64), mut peer: impl FnMut(u64)) -> Ratio {
    let mut a = |ops: u64| {
        let start = Instant::now();
        ours(ops);
        start.elapsed()
    };
    let mut b = |ops: u64| {
        let start = Instant::now();
        peer(ops);
        start.elapsed()
    };
    let t = interleaved(rounds, &mut [&mut a, &mut b]);
    ratio(&t[0], &t[1])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spin(ops: u64, work: u64) {
        let mut x = 0u64;
        for i in 0..ops * work {
            x = std::hint::black_box(x.wrapping_add(i));
        }
        std::hint::black_box(x);
    }

    #[test]
    fn a_loop_doing_three_times_the_work_reads_about_three() {
        let r = pair(9, |ops| spin(ops, 30), |ops| spin(ops, 10));
        assert!((2.0..4.5).contains(&r.p50), "ratio {r}");
        assert!(r.p25 <= r.p50 && r.p50 <= r.p75);
    }

    #[test]
    fn rounds_alternate_order_and_every_contender_runs_each_round() {
        let order = std::cell::RefCell::new(Vec::new());
        let mut a = |ops: u64| {
            order.borrow_mut().push('a');
            spin(ops, 1);
            Duration::from_nanos(ops)
        };
        let mut b = |ops: u64| {
            order.borrow_mut().push('b');
            spin(ops, 1);
            Duration::from_nanos(ops)
        };
        let t = interleaved(4, &mut [&mut a, &mut b]);
        assert_eq!(t[0].len(), 4);
        assert_eq!(t[1].len(), 4);
        let o = order.borrow();
        let timed: String = o[o.len() - 8..].iter().collect();
        assert_eq!(timed, "abbaabba");
    }

    #[test]
    fn ratio_quartiles_are_ordered_and_medians_are_per_contender() {
        let r = ratio(&[2.0, 4.0, 6.0], &[1.0, 1.0, 2.0]);
        assert_eq!(r.p50, 3.0);
        assert_eq!(r.ours_ns, 4.0);
        assert_eq!(r.peer_ns, 1.0);
    }
}
