//! How evenly each consistent-hashing algorithm spreads keys, and how many
//! keys move when a node joins or leaves, at 10, 100 and 1,000 nodes.
//!
//! ```sh
//! cargo run --release -p murmura-examples --example hash_balance [-- out.svg]
//! ```
//!
//! Prints a table and writes the same numbers as an SVG chart (default
//! `target/hash_balance.svg`). Loads are counted over about 1,000 keys per
//! node (the "noise" column is the coefficient of variation pure sampling
//! noise alone would give); for the ring and Maglev the exact share of the
//! hash space each node owns (arc lengths, table slots) is shown as well.

use murmura::core::rng::{Rng, seeded};
use murmura::hash::{
    BoundedLoad, BoundedLoadConfig, Jump, Maglev, MaglevConfig, Membership, NodeSpec, Placement,
    Rendezvous, Ring, RingConfig, key_hash_u64,
};
use plotters::prelude::*;
use std::time::Instant;

const KEYS_PER_NODE: usize = 1_000;
const VNODES: u32 = 100;

/// One algorithm at one size.
struct Row {
    algorithm: &'static str,
    nodes: u32,
    keys_per_node: usize,
    peak_over_mean: f64,
    cov: f64,
    exact_peak_over_mean: Option<f64>,
    join_moved: f64,
    leave_moved: f64,
    /// Keys moved between nodes that neither joined nor left, over both
    /// changes, as a fraction of all keys (ideal 0).
    survivor_moved: f64,
    build_ms: f64,
}

fn specs(n: u32) -> Vec<NodeSpec<u32>> {
    (0..n).map(NodeSpec::new).collect()
}

fn keys(count: usize) -> Vec<u64> {
    (0..count as u64)
        .map(|i| key_hash_u64(i ^ 0xba1a_2ce0))
        .collect()
}

/// Peak/mean and coefficient of variation of per-node counts.
fn spread(counts: &[f64]) -> (f64, f64) {
    let mean = counts.iter().sum::<f64>() / counts.len() as f64;
    let var = counts.iter().map(|c| (c - mean).powi(2)).sum::<f64>() / counts.len() as f64;
    let peak = counts.iter().copied().fold(0.0, f64::max);
    (peak / mean, var.sqrt() / mean)
}

fn owners<P: Placement<Node = u32>>(p: &P, keys: &[u64]) -> Vec<u32> {
    keys.iter()
        .map(|&k| *p.owner(k).expect("non-empty placement"))
        .collect()
}

/// Balance, join and leave churn, and build time of a stateless placement.
fn measure<P: Membership<Node = u32>>(
    algorithm: &'static str,
    n: u32,
    keys_per_node: usize,
    build: impl Fn() -> P,
    exact: impl Fn(&P) -> Option<Vec<f64>>,
    leaving: u32,
) -> Row {
    let started = Instant::now();
    let p = build();
    let build_ms = started.elapsed().as_secs_f64() * 1e3;
    let ks = keys(keys_per_node * n as usize);
    let before = owners(&p, &ks);
    let mut counts = vec![0.0; n as usize];
    for &o in &before {
        counts[o as usize] += 1.0;
    }
    let (peak_over_mean, cov) = spread(&counts);
    let exact_peak_over_mean = exact(&p).map(|shares| spread(&shares).0);

    let (joined, _) = p.add(NodeSpec::new(n)).expect("new node");
    let after_join = owners(&joined, &ks);
    let (left, _) = p.remove(&leaving).expect("member");
    let after_leave = owners(&left, &ks);
    let mut join_moved = 0usize;
    let mut leave_moved = 0usize;
    let mut survivor = 0usize;
    for ((&b, &j), &l) in before.iter().zip(&after_join).zip(&after_leave) {
        if b != j {
            join_moved += 1;
            survivor += usize::from(j != n);
        }
        if b != l {
            leave_moved += 1;
            survivor += usize::from(b != leaving);
        }
    }
    let total = ks.len() as f64;
    Row {
        algorithm,
        nodes: n,
        keys_per_node,
        peak_over_mean,
        cov,
        exact_peak_over_mean,
        join_moved: join_moved as f64 / total,
        leave_moved: leave_moved as f64 / total,
        survivor_moved: survivor as f64 / total,
        build_ms,
    }
}

/// Bounded loads are stateful: place the keys, then count relocations.
fn measure_bounded(n: u32, leaving: u32) -> Row {
    let config = BoundedLoadConfig {
        epsilon: 0.25,
        ring: RingConfig { vnodes: VNODES },
    };
    let started = Instant::now();
    let mut b = BoundedLoad::new(specs(n), config).expect("valid");
    let build_ms = started.elapsed().as_secs_f64() * 1e3;
    let ks = keys(KEYS_PER_NODE * n as usize);
    for &k in &ks {
        b.insert(k).expect("members");
    }
    let counts: Vec<f64> = b.loads().iter().map(|&l| f64::from(l)).collect();
    let (peak_over_mean, cov) = spread(&counts);
    let total = ks.len() as f64;
    let mut joined = b.clone();
    let join = joined.add_node(NodeSpec::new(n)).expect("new node");
    let mut left = b;
    let leave = left.remove_node(&leaving).expect("member");
    let survivor = join.iter().filter(|r| r.to != n).count()
        + leave.iter().filter(|r| r.from != leaving).count();
    Row {
        algorithm: "bounded ε=0.25",
        nodes: n,
        keys_per_node: KEYS_PER_NODE,
        peak_over_mean,
        cov,
        exact_peak_over_mean: None,
        join_moved: join.len() as f64 / total,
        leave_moved: leave.len() as f64 / total,
        survivor_moved: survivor as f64 / total,
        build_ms,
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/hash_balance.svg".to_string());
    let mut rng = seeded(42);
    let mut rows = Vec::new();
    for n in [10u32, 100, 1_000] {
        let leaving = rng.random_range(0..n);
        rows.push(measure(
            "ring (100 vnodes)",
            n,
            KEYS_PER_NODE,
            || Ring::new(specs(n), RingConfig { vnodes: VNODES }).expect("valid"),
            |r| Some(r.ownership()),
            leaving,
        ));
        rows.push(measure(
            "jump + memento",
            n,
            KEYS_PER_NODE,
            || Jump::new(specs(n)).expect("valid"),
            |_| None,
            leaving,
        ));
        // Rendezvous costs O(n) per key: fewer keys at 1,000 nodes keep the
        // example fast (see the noise column).
        let per_node = if n >= 1_000 { 100 } else { KEYS_PER_NODE };
        rows.push(measure(
            "rendezvous",
            n,
            per_node,
            || Rendezvous::new(specs(n)).expect("valid"),
            |_| None,
            leaving,
        ));
        rows.push(measure(
            "maglev",
            n,
            KEYS_PER_NODE,
            || Maglev::new(specs(n), MaglevConfig::default()).expect("valid"),
            |m| Some(m.slot_counts().into_iter().map(f64::from).collect()),
            leaving,
        ));
        rows.push(measure_bounded(n, leaving));
    }
    print_table(&rows);
    draw(&rows, &out)?;
    println!("\nchart written to {out}");
    Ok(())
}

fn print_table(rows: &[Row]) {
    println!(
        "{:<18} {:>6} {:>6} {:>9} {:>7} {:>7} {:>11} {:>8} {:>8} {:>8} {:>8} {:>9} {:>9}",
        "algorithm",
        "nodes",
        "keys/n",
        "peak/mean",
        "CoV",
        "noise",
        "exact p/m",
        "join",
        "ideal",
        "leave",
        "ideal",
        "survivors",
        "build ms"
    );
    for r in rows {
        let exact = r
            .exact_peak_over_mean
            .map_or_else(|| "-".to_string(), |e| format!("{e:.3}"));
        println!(
            "{:<18} {:>6} {:>6} {:>9.3} {:>7.4} {:>7.4} {:>11} {:>8.4} {:>8.4} {:>8.4} {:>8.4} {:>9.4} {:>9.2}",
            r.algorithm,
            r.nodes,
            r.keys_per_node,
            r.peak_over_mean,
            r.cov,
            1.0 / (r.keys_per_node as f64).sqrt(),
            exact,
            r.join_moved,
            1.0 / f64::from(r.nodes + 1),
            r.leave_moved,
            1.0 / f64::from(r.nodes),
            r.survivor_moved,
            r.build_ms,
        );
    }
    println!(
        "\njoin/leave: fraction of all keys that changed owner when node n joined / a random node left;\n\
         ideal: 1/(n+1) and the leaving node's share (about 1/n); survivors: keys moved between\n\
         nodes that neither joined nor left, both changes together (ideal 0)."
    );
}

/// A chart panel: title, the value plotted, and the y-axis top.
type Metric = (&'static str, fn(&Row) -> f64, f64);

fn draw(rows: &[Row], path: &str) -> Result<(), Box<dyn std::error::Error>> {
    if let Some(dir) = std::path::Path::new(path).parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)?;
    }
    let root = SVGBackend::new(path, (1200, 420)).into_drawing_area();
    root.fill(&WHITE)?;
    let panels = root.split_evenly((1, 3));
    let algorithms: Vec<&str> = {
        let mut a: Vec<&str> = rows.iter().map(|r| r.algorithm).collect();
        a.dedup();
        a.truncate(5);
        a
    };
    let metrics: [Metric; 3] = [
        ("peak / mean load", |r| r.peak_over_mean, 1.6),
        (
            "keys moved on join ÷ ideal",
            |r| r.join_moved * f64::from(r.nodes + 1),
            8.0,
        ),
        ("keys moved between survivors", |r| r.survivor_moved, 0.05),
    ];
    for (p, (panel, (title, metric, top))) in panels.iter().zip(metrics).enumerate() {
        let mut chart = ChartBuilder::on(panel)
            .caption(title, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(50)
            .build_cartesian_2d((8f64..1300f64).log_scale(), 0f64..top)?;
        chart.configure_mesh().x_desc("nodes").x_labels(3).draw()?;
        for (i, algorithm) in algorithms.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            let points: Vec<(f64, f64)> = rows
                .iter()
                .filter(|r| r.algorithm == *algorithm)
                .map(|r| (f64::from(r.nodes), metric(r).min(top)))
                .collect();
            chart
                .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?
                .label(*algorithm)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
                });
            chart.draw_series(
                points
                    .into_iter()
                    .map(|p| Circle::new(p, 3, color.filled())),
            )?;
        }
        if p == 0 {
            // One legend, where the first panel has room.
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::LowerRight)
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .draw()?;
        }
    }
    root.present()?;
    Ok(())
}
