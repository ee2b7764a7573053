//! Issue 12's scenarios for the SWIM core in the deterministic simulator,
//! at any size and over many seeds.
//!
//! ```sh
//! cargo run --release -p murmura-examples --example gossip_sim -- \
//!     --scenario all --members 1000 --runs 5 --seed 1 --duration 120
//! ```
//!
//! Prints a table (p50 / p99 / max over the runs), the simulator's own cost
//! (CPU seconds per simulated second, resident memory per member) and
//! per-member traffic, and writes SVG plots to `--out` (default
//! `target/gossip_sim`): the fraction of members informed over time
//! (bootstrap, crash, heal) and false positives over the loss rate.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use murmura_sim::Summary;
use murmura_sim::TrafficSummary;
use murmura_sim::scenarios::{self, Setup, Split};
use murmura_sim::swim;
use plotters::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    /// 1. Bootstrap from one seed and from three.
    Bootstrap,
    /// 2. One crash, then ten at once.
    Crash,
    /// 3. Uniform loss of 1, 5, 10 and 20 %.
    Loss,
    /// 4. One, four and sixteen slow members, Lifeguard on and off.
    Slow,
    /// 5. 1 % of members with 80 % loss; one-way ingress loss flipping every 20 s.
    Hard,
    /// 6. A 50/50 partition and one against the rest, then healed.
    Partition,
    /// 7. Restart under the same name, and a 10 % rolling restart.
    Restart,
    /// 8. A 1 KB broadcast and a metadata update while 10 % crash.
    Churn,
    /// The simulator's own cost: bootstrap, then `duration` of steady state
    /// (CPU per simulated second, resident memory per member).
    Steady,
    /// Every scenario but `steady`.
    All,
}

#[derive(Debug, Parser)]
#[command(about = "Runs issue 12's gossip scenarios in murmura-sim")]
struct Args {
    /// Which scenario.
    #[arg(long, value_enum, default_value = "bootstrap")]
    scenario: Scenario,
    /// Cluster size.
    #[arg(long, default_value_t = 100)]
    members: usize,
    /// Seed of the first run (run i uses seed + i).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Runs (seeds) per scenario.
    #[arg(long, default_value_t = 3)]
    runs: u64,
    /// Seconds of virtual time for the loss, slow and hard-case runs.
    #[arg(long, default_value_t = 120)]
    duration: u64,
    /// Directory for the SVG plots.
    #[arg(long, default_value = "target/gossip_sim")]
    out: PathBuf,
}

/// One row of the table: a metric's values over the runs.
struct Row {
    scenario: String,
    metric: &'static str,
    values: Vec<f64>,
}

#[derive(Default)]
struct Report {
    rows: Vec<Row>,
    curves: Vec<(String, Vec<(f64, f64)>)>,
    loss_curve: Vec<(f64, f64, f64)>,
    traffic: Vec<(String, TrafficSummary)>,
    virtual_secs: f64,
}

impl Report {
    fn add(&mut self, scenario: impl Into<String>, metric: &'static str, value: f64) {
        let scenario = scenario.into();
        match self
            .rows
            .iter_mut()
            .find(|r| r.scenario == scenario && r.metric == metric)
        {
            Some(r) => r.values.push(value),
            None => self.rows.push(Row {
                scenario,
                metric,
                values: vec![value],
            }),
        }
    }
}

fn opt(d: Option<Duration>) -> f64 {
    d.map_or(f64::INFINITY, |d| d.as_secs_f64())
}

/// User plus system CPU seconds of this process.
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // Fields 14 and 15 of stat(5), counted from the state field (3).
    (ticks(11) + ticks(12)) / 100.0
}

/// Resident memory of this process now, in bytes.
fn rss() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb * 1024.0)
}

/// Bootstrap, then `duration` of steady state: what the simulator costs.
fn steady(setup: &Setup, duration: Duration, r: &mut Report) {
    let n = setup.n;
    let (rss0, cpu0) = (rss(), cpu_secs());
    let mut sim = swim::cluster(setup.seed, n, 1, &setup.config, setup.link);
    let ok = sim.drive_until(setup.max, Duration::from_secs(1), |s| {
        if let Some(p) = &setup.progress {
            p.store(s.now().as_millis() as u64, Ordering::Relaxed);
        }
        swim::converged(s)
    });
    let boot = sim.now();
    let (rss1, cpu1) = (rss(), cpu_secs());
    let before = sim.all_traffic().to_vec();
    let end = sim.now() + duration;
    while sim.now() < end {
        sim.drive(Duration::from_secs(1));
        if let Some(p) = &setup.progress {
            p.store(sim.now().as_millis() as u64, Ordering::Relaxed);
        }
    }
    let cpu2 = cpu_secs();
    let traffic: Vec<_> = (0..n).map(|i| sim.traffic(i).since(&before[i])).collect();
    r.add(
        "steady state",
        "converged (1 = yes)",
        f64::from(u8::from(ok)),
    );
    r.add("steady state", "bootstrap, simulated s", boot.as_secs_f64());
    r.add("steady state", "bootstrap, CPU s", cpu1 - cpu0);
    r.add(
        "steady state",
        "CPU ms per simulated s",
        1000.0 * (cpu2 - cpu1) / duration.as_secs_f64(),
    );
    r.add(
        "steady state",
        "resident KiB per member",
        (rss1 - rss0) / 1024.0 / n as f64,
    );
    r.add(
        "steady state",
        "events per simulated s",
        sim.stats().events as f64 / sim.now().as_secs_f64(),
    );
    if r.traffic.iter().all(|x| x.0 != "steady state") {
        r.traffic.push((
            "steady state".into(),
            TrafficSummary::of(&traffic, duration),
        ));
    }
    r.virtual_secs += sim.now().as_secs_f64();
    if let Some(p) = &setup.progress {
        p.store(0, Ordering::Relaxed);
    }
}

/// Peak resident memory of this process, in bytes.
fn peak_rss() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb * 1024.0)
}

/// Adds the virtual time the last scenario ran to the total.
fn lap(setup: &Setup, r: &mut Report) {
    if let Some(p) = &setup.progress {
        r.virtual_secs += p.swap(0, Ordering::Relaxed) as f64 / 1000.0;
    }
}

fn run(which: Scenario, setup: &Setup, duration: Duration, r: &mut Report) {
    let n = setup.n;
    if which == Scenario::Steady {
        steady(setup, duration, r);
        return;
    }
    let all = which == Scenario::All;
    if all || which == Scenario::Bootstrap {
        for seeds in [1, 3] {
            let b = scenarios::bootstrap(setup, seeds);
            lap(setup, r);
            let name = format!("bootstrap, {seeds} seed(s)");
            r.add(&name, "all see all (s)", opt(b.all_see_all));
            r.add(&name, "member sees all, p99 (s)", b.per_member.p99);
            if r.curves.iter().all(|c| c.0 != name) {
                r.curves.push((name.clone(), b.curve));
                r.traffic.push((name, b.traffic));
            }
        }
    }
    if all || which == Scenario::Crash {
        for k in [1, 10] {
            let c = scenarios::crashes(setup, k);
            lap(setup, r);
            let name = format!("crash of {k}");
            r.add(&name, "first suspicion (s)", c.first_suspected.max);
            r.add(&name, "declared dead (s)", c.first_failed.max);
            r.add(&name, "known to all (s)", c.all_know.max);
            r.add(&name, "not known to all", c.unfinished as f64);
            r.add(&name, "false deaths", c.false_deaths as f64);
            if r.curves.iter().all(|x| x.0 != name) {
                r.curves.push((name.clone(), c.curve));
                r.traffic.push((name, c.traffic));
            }
        }
    }
    if all || which == Scenario::Loss {
        for p in [0.01, 0.05, 0.10, 0.20] {
            let f = scenarios::uniform_loss(setup, p, duration);
            lap(setup, r);
            let name = format!("loss {:.0} %", p * 100.0);
            let (s, d) = (f.suspicions_per_member_hour(), f.deaths_per_member_hour());
            r.add(&name, "false suspicions / member-hour", s);
            r.add(&name, "false deaths / member-hour", d);
            r.add(
                &name,
                "live members missing at end",
                f.missing_at_end as f64,
            );
            r.loss_curve.push((p * 100.0, s, d));
            if p == 0.05 && r.traffic.iter().all(|x| x.0 != name) {
                r.traffic.push((name, f.traffic));
            }
        }
    }
    if all || which == Scenario::Slow {
        for slow in [1, 4, 16] {
            if slow >= n / 2 {
                continue;
            }
            for lifeguard in [true, false] {
                let mut s = setup.clone();
                if !lifeguard {
                    s.config = scenarios::without_lifeguard(s.config);
                    lap(setup, r);
                }
                let f = scenarios::slow_members(&s, slow, Duration::from_secs(2), duration);
                lap(setup, r);
                let name = format!(
                    "{slow} slow, Lifeguard {}",
                    if lifeguard { "on" } else { "off" }
                );
                let h = f.member_hours;
                r.add(
                    &name,
                    "false susp. by slow / member-hour",
                    f.suspicions.by_slow() as f64 / h,
                );
                r.add(
                    &name,
                    "false susp. by healthy / member-hour",
                    f.suspicions.by_healthy() as f64 / h,
                );
                r.add(
                    &name,
                    "healthy declared dead",
                    f.deaths.of_healthy.iter().sum::<u64>() as f64,
                );
            }
        }
    }
    if all || which == Scenario::Hard {
        let l = scenarios::lossy_members(setup, 0.01, 0.8, duration);
        lap(setup, r);
        r.add("1 % at 80 % loss", "distinct healthy views", l.views as f64);
        r.add("1 % at 80 % loss", "flaps (recoveries)", l.flaps as f64);
        r.add("1 % at 80 % loss", "faulty removed (fraction)", l.removed);
        r.add(
            "1 % at 80 % loss",
            "healthy dead to healthy",
            l.healthy_deaths as f64,
        );
        let f = scenarios::flipping_ingress(setup, Duration::from_secs(20), duration);
        lap(setup, r);
        r.add(
            "ingress flipping 20 s",
            "distinct healthy views",
            f.views as f64,
        );
        r.add(
            "ingress flipping 20 s",
            "flaps (recoveries)",
            f.flaps as f64,
        );
        r.add(
            "ingress flipping 20 s",
            "faulty removed (fraction)",
            f.removed,
        );
        r.add(
            "ingress flipping 20 s",
            "healthy dead to healthy",
            f.healthy_deaths as f64,
        );
    }
    if all || which == Scenario::Partition {
        for split in [Split::Halves, Split::OneAgainstRest] {
            let p = scenarios::partition(setup, split);
            lap(setup, r);
            let name = format!("partition {split:?}");
            r.add(
                &name,
                "larger side settled (1 = yes)",
                f64::from(u8::from(p.majority_settled)),
            );
            r.add(&name, "all see all after heal (s)", opt(p.heal));
            if r.curves.iter().all(|x| x.0 != name) {
                r.curves.push((name, p.curve));
            }
        }
    }
    if all || which == Scenario::Restart {
        let one = scenarios::restarts(setup, 1, Duration::from_secs(1), Duration::from_secs(1));
        lap(setup, r);
        r.add(
            "restart, same name",
            "accepted by all (s)",
            one.accepted.max,
        );
        r.add("restart, same name", "ghosts", one.ghosts as f64);
        let k = (n / 10).max(1);
        let rolling = scenarios::restarts(setup, k, Duration::from_secs(1), Duration::from_secs(2));
        lap(setup, r);
        r.add(
            "rolling restart 10 %",
            "accepted by all, p99 (s)",
            rolling.accepted.p99,
        );
        r.add(
            "rolling restart 10 %",
            "not accepted",
            rolling.unaccepted as f64,
        );
        r.add("rolling restart 10 %", "ghosts", rolling.ghosts as f64);
    }
    if all || which == Scenario::Churn {
        let c = scenarios::broadcast_in_churn(setup, 0.1, 1024);
        lap(setup, r);
        r.add(
            "1 KB broadcast, 10 % crash",
            "broadcast reached all (s)",
            opt(c.broadcast),
        );
        r.add(
            "1 KB broadcast, 10 % crash",
            "metadata reached all (s)",
            opt(c.metadata),
        );
        r.add(
            "1 KB broadcast, 10 % crash",
            "duplicate deliveries",
            c.duplicates as f64,
        );
    }
}

fn plot_curves(
    path: &std::path::Path,
    curves: &[(String, Vec<(f64, f64)>)],
) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(path, (900, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let xmax = curves
        .iter()
        .flat_map(|c| c.1.iter().map(|p| p.0))
        .fold(1.0f64, f64::max);
    let mut chart = ChartBuilder::on(&root)
        .caption("Fraction of members informed", ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..xmax * 1.05, 0.0..1.05)?;
    chart
        .configure_mesh()
        .x_desc("seconds (since start, crash or heal)")
        .y_desc("fraction")
        .draw()?;
    for (i, (name, pts)) in curves.iter().enumerate() {
        let color = Palette99::pick(i).stroke_width(2);
        chart
            .draw_series(LineSeries::new(pts.iter().copied(), color))?
            .label(name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], Palette99::pick(i)));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::LowerRight)
        .draw()?;
    root.present()?;
    Ok(())
}

fn plot_loss(
    path: &std::path::Path,
    pts: &[(f64, f64, f64)],
) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(path, (900, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let ymax = pts.iter().map(|p| p.1.max(p.2)).fold(1.0f64, f64::max);
    let mut chart = ChartBuilder::on(&root)
        .caption("False positives over uniform loss", ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..21.0, 0.0..ymax * 1.1)?;
    chart
        .configure_mesh()
        .x_desc("datagram loss (%)")
        .y_desc("per member-hour")
        .draw()?;
    let mut sorted = pts.to_vec();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    chart
        .draw_series(LineSeries::new(
            sorted.iter().map(|p| (p.0, p.1)),
            BLUE.stroke_width(2),
        ))?
        .label("false suspicions")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
    chart
        .draw_series(LineSeries::new(
            sorted.iter().map(|p| (p.0, p.2)),
            RED.stroke_width(2),
        ))?
        .label("false deaths")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let progress = Arc::new(AtomicU64::new(0));
    let bar = ProgressBar::new(args.runs);
    bar.set_style(ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] run {pos}/{len} {bar:30} {msg}",
    )?);
    let watcher = {
        let (bar, progress) = (bar.clone(), progress.clone());
        std::thread::spawn(move || {
            while !bar.is_finished() {
                let ms = progress.load(Ordering::Relaxed);
                bar.set_message(format!("virtual time {:.0} s", ms as f64 / 1000.0));
                bar.tick();
                std::thread::sleep(Duration::from_millis(200));
            }
        })
    };
    let mut report = Report::default();
    let (cpu0, wall0) = (cpu_secs(), Instant::now());
    for i in 0..args.runs {
        let mut setup = Setup::lan(args.members, args.seed + i);
        setup.progress = Some(progress.clone());
        run(
            args.scenario,
            &setup,
            Duration::from_secs(args.duration),
            &mut report,
        );
        bar.inc(1);
    }
    bar.finish();
    let _ = watcher.join();
    let (cpu, wall) = (cpu_secs() - cpu0, wall0.elapsed().as_secs_f64());

    println!(
        "\n{} members, {} run(s) from seed {}, memberlist LAN preset, 1 ms ± 0.5 ms links",
        args.members, args.runs, args.seed
    );
    println!(
        "{:<30} {:<38} {:>9} {:>9} {:>9}",
        "scenario", "metric", "p50", "p99", "max"
    );
    for row in &report.rows {
        let s = Summary::of(row.values.iter().copied());
        println!(
            "{:<30} {:<38} {:>9.2} {:>9.2} {:>9.2}",
            row.scenario, row.metric, s.p50, s.p99, s.max
        );
    }
    println!("\ntraffic per member per second (first run):");
    println!(
        "{:<30} {:<22} {:>9} {:>9} {:>9}",
        "scenario", "", "mean", "p99", "max"
    );
    for (name, t) in &report.traffic {
        for (what, s) in [
            ("bytes sent", t.sent_bytes),
            ("bytes received", t.recv_bytes),
            ("packets sent", t.sent_packets),
            ("packets received", t.recv_packets),
        ] {
            println!(
                "{name:<30} {what:<22} {:>9.1} {:>9.1} {:>9.1}",
                s.mean, s.p99, s.max
            );
        }
    }
    let rss = peak_rss();
    println!(
        "\nsimulator cost: {cpu:.1} s CPU ({wall:.1} s wall) for ~{:.0} simulated s: {:.3} CPU s per simulated s; peak RSS {:.1} MiB, {:.1} KiB per member",
        report.virtual_secs,
        cpu / report.virtual_secs.max(1e-9),
        rss / 1048576.0,
        rss / 1024.0 / args.members as f64
    );
    std::fs::create_dir_all(&args.out)?;
    if !report.curves.is_empty() {
        let p = args.out.join("informed.svg");
        plot_curves(&p, &report.curves)?;
        println!("wrote {}", p.display());
    }
    if !report.loss_curve.is_empty() {
        let p = args.out.join("false_positives.svg");
        plot_loss(&p, &report.loss_curve)?;
        println!("wrote {}", p.display());
    }
    Ok(())
}
