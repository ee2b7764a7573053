//! The main job: a replicated CRDT store of several members in one process,
//! on loopback with real UDP/TCP sockets, under a workload, with one member
//! killed and later restarted empty. It ends by checking that every
//! acknowledged write is present, and identical, on every live replica.
//!
//! ```sh
//! cargo run --release -p murmura-examples --example cluster
//! cargo run --release -p murmura-examples --example cluster -- --help
//! ```

use clap::Parser;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use murmura::cluster::persist::FsyncPolicy;
use murmura::cluster::runtime::{Node, NodeOptions};
use murmura::cluster::{Config as StoreConfig, Consistency, Error, Op, Value};
use murmura::gossip::Config as GossipConfig;
use murmura::gossip::runtime::{Gossip, Options};
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Parser, Debug, Clone)]
#[command(
    about = "A replicated CRDT store on loopback: workload, a crash, a restart, and a check that nothing acknowledged is lost"
)]
struct Args {
    /// Members in the cluster.
    #[arg(long, default_value_t = 5)]
    members: usize,
    /// Distinct counter and set keys in the workload.
    #[arg(long, default_value_t = 2_000)]
    keys: u64,
    /// Target operations per second, all clients together (0: as fast as they go).
    #[arg(long, default_value_t = 5_000)]
    rate: u64,
    /// Concurrent clients.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Seconds of workload.
    #[arg(long, default_value_t = 20)]
    duration: u64,
    /// Replicas per key (N).
    #[arg(long, default_value_t = 3)]
    n: usize,
    /// Acknowledgements per write (W).
    #[arg(long, default_value_t = 2)]
    w: usize,
    /// Replies per read (R).
    #[arg(long, default_value_t = 1)]
    r: usize,
    /// Second of the workload at which one member is killed (0: none).
    #[arg(long, default_value_t = 6)]
    kill_at: u64,
    /// Second at which the killed member restarts, empty (0: never).
    #[arg(long, default_value_t = 12)]
    restart_at: u64,
    /// Seconds to wait, after the workload, for replicas to converge.
    #[arg(long, default_value_t = 30)]
    settle: u64,
    /// Seed of the workload.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Directory for the members' journals (wiped at start); each member
    /// gets a subdirectory, and the restarted member recovers from its own.
    #[arg(long, default_value = "target/cluster-data")]
    data_dir: std::path::PathBuf,
    /// Keep data in memory only: the restarted member comes back empty and
    /// catches up from its peers.
    #[arg(long)]
    no_persist: bool,
    /// When journals are forced to disk: always, batched (every 10 ms) or never.
    #[arg(long, default_value = "batched")]
    fsync: String,
}

fn gossip_config() -> GossipConfig {
    let mut c = GossipConfig::local();
    c.probe_interval = Duration::from_millis(200);
    c.probe_timeout = Duration::from_millis(100);
    c.gossip_interval = Duration::from_millis(50);
    c.push_pull_interval = Duration::from_secs(5);
    c.reconnect_interval = Duration::from_secs(1);
    c
}

/// What the clients were told was acknowledged.
#[derive(Default)]
struct Ledger {
    /// Counter key → sum of acknowledged increments, and of failed ones
    /// (a failed write may still have landed somewhere).
    counters: BTreeMap<String, (i128, i128)>,
    /// Set key → acknowledged elements.
    sets: BTreeMap<String, BTreeSet<String>>,
    /// Register key → the one value written to it (each written once).
    registers: BTreeMap<String, Vec<u8>>,
    acked: u64,
}

struct Member {
    name: String,
    gossip: Option<Gossip>,
    node: Option<Node>,
}

struct Cluster {
    members: Vec<Member>,
    seed: String,
    options: NodeOptions,
    data_dir: Option<std::path::PathBuf>,
}

impl Cluster {
    async fn start_member(&mut self, i: usize) -> Result<(), Box<dyn std::error::Error>> {
        let name = self.members[i].name.clone();
        let bind: SocketAddr = "127.0.0.1:0".parse()?;
        let gossip = Gossip::start(Options::new(name.clone(), bind, gossip_config())).await?;
        if !self.seed.is_empty() {
            gossip.join([self.seed.as_str()]).await?;
        } else {
            self.seed = gossip.local_addr().to_string();
        }
        let mut options = self.options.clone();
        options.data_dir = self.data_dir.as_ref().map(|d| d.join(&name));
        let node = Node::start(name, gossip.clone(), options).await?;
        self.members[i].gossip = Some(gossip);
        self.members[i].node = Some(node);
        Ok(())
    }

    /// Kills member `i` without a goodbye: its store and gossip stop.
    async fn kill(&mut self, i: usize) {
        if let Some(node) = self.members[i].node.take() {
            node.stop().await;
        }
        if let Some(g) = self.members[i].gossip.take() {
            g.stop().await;
        }
    }

    fn live(&self) -> Vec<Node> {
        self.members.iter().filter_map(|m| m.node.clone()).collect()
    }
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<bool, Box<dyn std::error::Error>> {
    let store = StoreConfig {
        replicas: args.n,
        write_quorum: args.w,
        read_quorum: args.r,
        ..StoreConfig::default()
    };
    store.validate()?;
    let mut options = NodeOptions::default();
    options.store = store;
    options.fsync = match args.fsync.as_str() {
        "always" => FsyncPolicy::Always,
        "batched" => FsyncPolicy::Batched(Duration::from_millis(10)),
        "never" => FsyncPolicy::Never,
        other => {
            return Err(format!("--fsync: expected always, batched or never, not {other}").into());
        }
    };
    if !args.no_persist {
        let _ = std::fs::remove_dir_all(&args.data_dir);
    }
    let mut cluster = Cluster {
        members: (0..args.members)
            .map(|i| Member {
                name: format!("member-{i}"),
                gossip: None,
                node: None,
            })
            .collect(),
        seed: String::new(),
        options,
        data_dir: (!args.no_persist).then(|| args.data_dir.clone()),
    };
    for i in 0..args.members {
        cluster.start_member(i).await?;
    }
    // Wait until every member's store places every member.
    let formed = Instant::now();
    loop {
        let mut ok = true;
        for n in cluster.live() {
            ok &= n.status().await?.placed.len() == args.members;
        }
        if ok {
            break;
        }
        if formed.elapsed() > Duration::from_secs(20) {
            return Err("the cluster did not form in 20 s".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!(
        "{} members formed in {:.1} s; N = {}, W = {}, R = {}; {} clients for {} s",
        args.members,
        formed.elapsed().as_secs_f64(),
        args.n,
        args.w,
        args.r,
        args.clients,
        args.duration
    );

    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let nodes: Arc<Mutex<Vec<Option<Node>>>> = Arc::new(Mutex::new(
        cluster.members.iter().map(|m| m.node.clone()).collect(),
    ));
    let acked = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let started = Instant::now();
    let end = started + Duration::from_secs(args.duration);
    let mut clients = Vec::new();
    for c in 0..args.clients {
        let (ledger, nodes, acked, failed, stop) = (
            ledger.clone(),
            nodes.clone(),
            acked.clone(),
            failed.clone(),
            stop.clone(),
        );
        let args = args.clone();
        clients.push(tokio::spawn(async move {
            let mut rng = args.seed ^ (c as u64).wrapping_mul(0x2545_f491_4f6c_dd1d);
            let per_client = if args.rate == 0 {
                Duration::ZERO
            } else {
                Duration::from_secs_f64(args.clients as f64 / args.rate as f64)
            };
            let mut next = Instant::now();
            let mut seq = 0u64;
            while !stop.load(Ordering::Relaxed) && Instant::now() < end {
                if !per_client.is_zero() {
                    next += per_client;
                    tokio::time::sleep_until(next.into()).await;
                }
                let node = {
                    let nodes = nodes.lock().unwrap();
                    let live: Vec<&Node> = nodes.iter().flatten().collect();
                    if live.is_empty() {
                        continue;
                    }
                    live[splitmix(&mut rng) as usize % live.len()].clone()
                };
                seq += 1;
                let pick = splitmix(&mut rng);
                let k = splitmix(&mut rng) % args.keys;
                let (key, op) = match pick % 10 {
                    0..=5 => (format!("counter-{k}"), Op::Add(1)),
                    6..=8 => (format!("set-{k}"), Op::Insert(format!("c{c}-{seq}"))),
                    _ => (
                        format!("register-c{c}-{seq}"),
                        Op::Write(format!("v{seq}").into_bytes()),
                    ),
                };
                let result = node
                    .update(key.clone(), op.clone(), Consistency::Default)
                    .await;
                let mut l = ledger.lock().unwrap();
                match (&result, op) {
                    (Ok(()), Op::Add(by)) => l.counters.entry(key).or_default().0 += i128::from(by),
                    (Err(_), Op::Add(by)) => l.counters.entry(key).or_default().1 += i128::from(by),
                    (Ok(()), Op::Insert(e)) => {
                        l.sets.entry(key).or_default().insert(e);
                    }
                    (Ok(()), Op::Write(v)) => {
                        l.registers.insert(key, v);
                    }
                    _ => {}
                }
                match result {
                    Ok(()) => {
                        l.acked += 1;
                        acked.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(Error::Stopped) | Err(_) => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }

    // Progress: a bar for the workload and a live table of members.
    let multi = MultiProgress::new();
    let bar = multi.add(ProgressBar::new(args.duration));
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} s  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let table = multi.add(ProgressBar::new_spinner());
    let victim = args.members / 2;
    let (mut killed, mut restarted) = (false, false);
    let mut last_acked = 0;
    let mut last_tick = Instant::now();
    while Instant::now() < end {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let t = started.elapsed().as_secs();
        if args.kill_at > 0 && !killed && t >= args.kill_at && args.members > 1 {
            killed = true;
            nodes.lock().unwrap()[victim] = None;
            cluster.kill(victim).await;
            multi.println(format!("t={t}s: killed {}", cluster.members[victim].name))?;
        }
        if killed && !restarted && args.restart_at > args.kill_at && t >= args.restart_at {
            restarted = true;
            cluster.start_member(victim).await?;
            nodes.lock().unwrap()[victim] = cluster.members[victim].node.clone();
            multi.println(format!(
                "t={t}s: restarted {} (empty)",
                cluster.members[victim].name
            ))?;
        }
        let now_acked = acked.load(Ordering::Relaxed);
        let rate = (now_acked - last_acked) as f64 / last_tick.elapsed().as_secs_f64();
        last_acked = now_acked;
        last_tick = Instant::now();
        bar.set_position(t.min(args.duration));
        bar.set_message(format!(
            "{now_acked} acked, {} failed, {rate:.0} acked/s",
            failed.load(Ordering::Relaxed)
        ));
        let mut lines = vec![format!(
            "{:<10} {:>6} {:>7} {:>6} {:>8} {:>7}  breakers not closed",
            "member", "state", "keys", "hints", "leaving", "repairs"
        )];
        for m in &cluster.members {
            match &m.node {
                None => lines.push(format!("{:<10} {:>6}", m.name, "down")),
                Some(n) => {
                    let s = n.status().await?;
                    let breakers: Vec<String> = s
                        .breakers
                        .iter()
                        .map(|(p, st)| format!("{p}:{st:?}"))
                        .collect();
                    lines.push(format!(
                        "{:<10} {:>6} {:>7} {:>6} {:>8} {:>7}  {}",
                        m.name,
                        "up",
                        s.keys,
                        s.hints,
                        s.leaving,
                        s.stats.keys_repaired,
                        breakers.join(" ")
                    ));
                }
            }
        }
        table.set_message(lines.join("\n"));
        table.tick();
    }
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        let _ = c.await;
    }
    bar.finish();
    table.finish();
    let elapsed = started.elapsed().as_secs_f64();
    let total = acked.load(Ordering::Relaxed);
    println!(
        "workload done: {total} writes acknowledged ({:.0}/s), {} failed",
        total as f64 / elapsed,
        failed.load(Ordering::Relaxed)
    );

    // Verify: every acknowledged write on every live replica, replicas identical.
    let ledger = Arc::try_unwrap(ledger)
        .map_err(|_| "clients still hold the ledger")?
        .into_inner()
        .map_err(|_| "a client panicked")?;
    let settle_start = Instant::now();
    let live = cluster.live();
    let by_name: BTreeMap<String, Node> = live
        .iter()
        .map(|n| (n.name().to_owned(), n.clone()))
        .collect();
    let check = || async {
        let mut problems = Vec::new();
        let keys = ledger
            .counters
            .keys()
            .chain(ledger.sets.keys())
            .chain(ledger.registers.keys());
        for key in keys {
            let owners = live[0].replicas_of(key.clone()).await?;
            let mut copies: Vec<(String, Option<Value>)> = Vec::new();
            for o in &owners {
                if let Some(n) = by_name.get(o) {
                    copies.push((o.clone(), n.local(key.clone()).await?));
                }
            }
            let first = copies.first().map(|(_, v)| v.clone());
            for (owner, v) in &copies {
                if Some(v.clone()) != first {
                    problems.push(format!("{key}: replicas differ ({owner})"));
                    break;
                }
                let ok = if let Some(&(acked, maybe)) = ledger.counters.get(key) {
                    v.as_ref()
                        .and_then(Value::as_counter)
                        .is_some_and(|c| c >= acked && c <= acked + maybe)
                } else if let Some(want) = ledger.sets.get(key) {
                    v.as_ref()
                        .and_then(Value::as_set)
                        .is_some_and(|got| want.iter().all(|e| got.contains(&e.as_str())))
                } else if let Some(want) = ledger.registers.get(key) {
                    v.as_ref().and_then(Value::as_register) == Some(want.as_slice())
                } else {
                    true
                };
                if !ok {
                    let expected = match ledger.counters.get(key) {
                        Some((acked, maybe)) => {
                            format!("{acked} acknowledged (+ up to {maybe} unacknowledged)")
                        }
                        None => "every acknowledged write".to_string(),
                    };
                    problems.push(format!("{key}: {owner} holds {v:?}, expected {expected}"));
                }
            }
        }
        Ok::<_, Box<dyn std::error::Error>>(problems)
    };
    let mut problems = check().await?;
    while !problems.is_empty() && settle_start.elapsed() < Duration::from_secs(args.settle) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        problems = check().await?;
    }
    for n in cluster.live() {
        n.stop().await;
    }
    for m in &cluster.members {
        if let Some(g) = &m.gossip {
            g.stop().await;
        }
    }
    if problems.is_empty() {
        println!(
            "nothing lost: {} acknowledged writes verified on all replicas (converged {:.1} s after the workload)",
            ledger.acked,
            settle_start.elapsed().as_secs_f64()
        );
        Ok(true)
    } else {
        println!(
            "{} keys are not right after {} s:",
            problems.len(),
            args.settle
        );
        for p in problems.iter().take(20) {
            println!("  {p}");
        }
        Ok(false)
    }
}
