//! The replicated store core (`murmura-cluster`) on an in-memory network:
//! five store cores in one process, their transmissions delivered by a loop
//! in breadth-first rounds (every message queued at the start of a round is
//! delivered in that round), as the crate's test network does.
//!
//! Rows:
//! - `cluster/writes`: acknowledged counter increments with many writes in
//!   flight (N = 3, W = 2, 5 members); prints writes/s, and p50 / p99 latency
//!   in delivery rounds and in wall time per write.
//! - heap bytes per key (counter, 10-element OR-set), printed, from a
//!   counting allocator switched on only while the keys are written.
//! - `cluster/catch_up`: a member 1 % behind (down while 1 % of the keys
//!   took a write) and a restarted, empty member catching up by
//!   anti-entropy over 100,000 keys; prints the time, the virtual rounds
//!   and the bytes delivered as a fraction of the state the member holds.
//!
//! Under `cargo bench -- --test` the key counts are scaled down 10×.
//! There is no peer in this suite: the README puts a 3-member etcd
//! (`benches/scripts/etcd_perf.sh`) beside it for context, not as a ratio.

use criterion::{Criterion, criterion_group, criterion_main};
use murmura::cluster::{Config, Consistency, Event, Op, RequestId, Store, Value};
use murmura::crdt::Codec;
use murmura::hash::{NodeSpec, Ring, RingConfig};
use murmura_benches::CountingAlloc;
use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::new();

type S = Store<Value, Ring<String>>;

const MEMBERS: usize = 5;

fn quick() -> bool {
    std::env::args().any(|a| a == "--test")
}

fn scaled(n: usize) -> usize {
    if quick() { n / 10 } else { n }
}

/// Five store cores and a breadth-first delivery loop.
struct Net {
    names: Vec<String>,
    stores: Vec<S>,
    config: Config,
    now: Duration,
    delivered_bytes: u64,
    next_actor: u64,
    /// Completed writes: (coordinator, id) → delivery round it finished in.
    done: HashMap<(usize, RequestId), u64>,
    round: u64,
}

fn ring(names: &[String]) -> Arc<Ring<String>> {
    Arc::new(
        Ring::new(
            names.iter().map(|n| NodeSpec::new(n.clone())),
            RingConfig::default(),
        )
        .expect("ring"),
    )
}

impl Net {
    fn new(config: Config) -> Self {
        let names: Vec<String> = (0..MEMBERS).map(|i| format!("m{i}")).collect();
        let placement = ring(&names);
        let stores = names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                Store::new(
                    name.clone(),
                    i as u64 + 1,
                    config.clone(),
                    placement.clone(),
                    i as u64,
                )
                .expect("store")
            })
            .collect();
        Self {
            names,
            stores,
            config,
            now: Duration::ZERO,
            delivered_bytes: 0,
            next_actor: MEMBERS as u64 + 1,
            done: HashMap::new(),
            round: 0,
        }
    }

    fn index(&self, name: &str) -> usize {
        self.names.iter().position(|n| n == name).expect("member")
    }

    /// Delivers in rounds until nothing is left; returns the rounds taken.
    fn settle(&mut self) -> u64 {
        let start = self.round;
        loop {
            let mut queue = Vec::new();
            for i in 0..self.stores.len() {
                while let Some(t) = self.stores[i].poll_transmit() {
                    queue.push((i, self.index(&t.to), t.bytes));
                }
                while let Some(e) = self.stores[i].poll_event() {
                    if let Event::Written { id, result } = e {
                        assert!(result.is_ok(), "write failed: {result:?}");
                        self.done.insert((i, id), self.round);
                    }
                }
            }
            if queue.is_empty() {
                return self.round - start;
            }
            self.round += 1;
            for (from, to, bytes) in queue {
                self.delivered_bytes += bytes.len() as u64;
                let from = self.names[from].clone();
                self.stores[to]
                    .handle_message(self.now, &from, &bytes)
                    .expect("valid batch");
            }
        }
    }

    fn update(&mut self, at: usize, key: Vec<u8>, op: Op) -> RequestId {
        self.stores[at]
            .update(self.now, key, op, Consistency::Default)
            .expect("write accepted")
    }

    /// One anti-entropy interval: every member's timer fires, then settle.
    fn tick(&mut self) {
        self.now += self.config.anti_entropy_interval;
        for s in &mut self.stores {
            s.handle_timer(self.now);
        }
        self.settle();
    }
}

fn key(i: usize) -> Vec<u8> {
    format!("key-{i:08}").into_bytes()
}

fn config() -> Config {
    Config {
        hinted_handoff: false,
        // Anti-entropy and handoff only when a row asks for them.
        anti_entropy_interval: Duration::from_secs(3600),
        handoff_interval: Duration::from_secs(3600),
        ..Config::default()
    }
}

/// Writes `keys` counters (one increment each) through the network, `batch`
/// in flight at a time, coordinators round robin.
fn fill(net: &mut Net, keys: usize, batch: usize) {
    for start in (0..keys).step_by(batch) {
        for i in start..(start + batch).min(keys) {
            net.update(i % MEMBERS, key(i), Op::Add(1));
        }
        net.settle();
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Acknowledged writes with `batch` in flight: throughput and latency.
fn writes(c: &mut Criterion) {
    const BATCH: usize = 1_000;
    let keys = scaled(100_000);
    let mut net = Net::new(config());
    fill(&mut net, keys, BATCH);

    // Printed figures: one pass of `keys` increments, timed per batch.
    net.done.clear();
    let mut round_lat = Vec::with_capacity(keys);
    let mut wall_lat = Vec::with_capacity(keys);
    let started = Instant::now();
    let mut seq = 0usize;
    for _ in 0..keys / BATCH {
        let t0 = Instant::now();
        let r0 = net.round;
        let ids: Vec<(usize, RequestId, Instant)> = (0..BATCH)
            .map(|_| {
                seq += 1;
                let at = seq % MEMBERS;
                let id = net.update(at, key(seq.wrapping_mul(7919) % keys), Op::Add(1));
                (at, id, Instant::now())
            })
            .collect();
        net.settle();
        let t1 = Instant::now();
        // Wall latency: from issue to the end of the settle that finished it
        // (the loop has no finer clock per message); rounds from the count.
        for (at, id, issued) in ids {
            let round = net.done.remove(&(at, id)).expect("acknowledged");
            round_lat.push((round - r0) as f64);
            wall_lat.push(t1.duration_since(issued).as_secs_f64() * 1e6);
        }
        let _ = t0;
    }
    let elapsed = started.elapsed();
    round_lat.sort_by(f64::total_cmp);
    wall_lat.sort_by(f64::total_cmp);
    println!(
        "cluster/writes: {} acked counter increments in {:.3} s = {:.0}/s \
         ({BATCH} in flight, N = 3, W = 2, {MEMBERS} members); latency p50 / p99: \
         {:.0} / {:.0} delivery rounds, {:.0} / {:.0} µs wall",
        keys,
        elapsed.as_secs_f64(),
        keys as f64 / elapsed.as_secs_f64(),
        percentile(&round_lat, 0.5),
        percentile(&round_lat, 0.99),
        percentile(&wall_lat, 0.5),
        percentile(&wall_lat, 0.99),
    );

    let mut group = c.benchmark_group("cluster/writes");
    group.throughput(criterion::Throughput::Elements(BATCH as u64));
    group.sample_size(20);
    group.bench_function("batch_1000_counter_increments", |b| {
        b.iter(|| {
            for _ in 0..BATCH {
                seq += 1;
                let at = seq % MEMBERS;
                net.update(at, key(seq.wrapping_mul(7919) % keys), Op::Add(1));
            }
            black_box(net.settle());
            net.done.clear();
        })
    });
    group.finish();
}

/// Heap bytes per key held across the five stores, per replica.
fn heap(_: &mut Criterion) {
    let keys = scaled(20_000);
    for (kind, elements) in [("counter", 0usize), ("10-element OR-set", 10)] {
        let mut net = Net::new(config());
        let ((), bytes) = ALLOC.measure(|| {
            if elements == 0 {
                fill(&mut net, keys, 1_000);
            } else {
                for e in 0..elements {
                    for start in (0..keys).step_by(1_000) {
                        for i in start..(start + 1_000).min(keys) {
                            net.update(i % MEMBERS, key(i), Op::Insert(format!("element-{e}")));
                        }
                        net.settle();
                    }
                }
            }
            net.done = HashMap::new();
        });
        let held: usize = net.stores.iter().map(|s| s.len()).sum();
        let encoded: usize = net
            .stores
            .iter()
            .flat_map(|s| s.keys().map(|k| s.local(k).expect("held").to_bytes().len()))
            .sum();
        println!(
            "cluster/heap: {kind}: {:.0} heap bytes per key replica \
             ({keys} keys, {held} replicas held; encoded value {:.0} bytes, key 12 bytes)",
            bytes as f64 / held as f64,
            encoded as f64 / held as f64,
        );
    }
}

/// Builds a filled network, with hinted handoff off so a member that was
/// down misses the writes until anti-entropy brings them.
fn catch_up_net(keys: usize) -> Net {
    let mut net = Net::new(config());
    fill(&mut net, keys, 1_000);
    net
}

/// Bytes of the state member `i` holds (keys and encoded values).
fn state_bytes(net: &Net, i: usize) -> u64 {
    let s = &net.stores[i];
    s.keys()
        .map(|k| (k.len() + s.local(k).expect("held").to_bytes().len()) as u64)
        .sum()
}

/// Runs anti-entropy intervals until `done`; returns (intervals, bytes).
fn converge(net: &mut Net, done: impl Fn(&Net) -> bool) -> (u32, u64) {
    let before = net.delivered_bytes;
    let mut intervals = 0;
    while !done(net) {
        net.tick();
        intervals += 1;
        assert!(intervals < 1_000, "anti-entropy did not converge");
    }
    (intervals, net.delivered_bytes - before)
}

/// Member 0 down while 1 % of the keys take a write; returns the keys it
/// replicates among them.
fn diverge(net: &mut Net, keys: usize, round: usize) -> Vec<Vec<u8>> {
    let name = net.names[0].clone();
    let now = net.now;
    for s in &mut net.stores[1..] {
        s.peer_down(now, &name);
    }
    let mut missed = Vec::new();
    for j in 0..keys / 100 {
        let k = key((j * 100 + round * 37) % keys);
        let replicas = net.stores[1].replicas_of(&k).expect("placement");
        if replicas.contains(&name) {
            missed.push(k.clone());
        }
        net.update(1 + j % (MEMBERS - 1), k, Op::Add(1));
        if j % 500 == 499 {
            net.settle();
        }
    }
    net.settle();
    for s in &mut net.stores[1..] {
        s.peer_up(now, &name);
    }
    missed
}

fn in_sync(net: &Net, keys: &[Vec<u8>]) -> bool {
    keys.iter().all(|k| {
        let ours = net.stores[0].local(k);
        net.stores[1..]
            .iter()
            .filter_map(|s| s.local(k))
            .all(|v| Some(v) == ours)
    })
}

fn catch_up(c: &mut Criterion) {
    let keys = scaled(100_000);
    let mut net = catch_up_net(keys);
    // Let every member's anti-entropy clock start (the first round is due
    // at time zero).
    net.tick();
    let full = state_bytes(&net, 0);
    let name = net.names[0].clone();
    let expected: Vec<Vec<u8>> = (0..keys)
        .map(key)
        .filter(|k| {
            net.stores[1]
                .replicas_of(k)
                .expect("placement")
                .contains(&name)
        })
        .collect();

    // Printed figures, one pass each.
    let missed = diverge(&mut net, keys, 0);
    let t = Instant::now();
    let (intervals, bytes) = converge(&mut net, |n| in_sync(n, &missed));
    println!(
        "cluster/catch_up: 1 % behind ({} of {} keys stale): {:.1} ms, {intervals} \
         anti-entropy intervals, {bytes} bytes delivered = {:.2} % of the member's \
         state ({full} bytes)",
        missed.len(),
        expected.len(),
        t.elapsed().as_secs_f64() * 1e3,
        bytes as f64 * 100.0 / full as f64,
    );
    let restart = |net: &mut Net| {
        let placement = ring(&net.names);
        let actor = net.next_actor;
        net.next_actor += 1;
        net.stores[0] = Store::new(
            net.names[0].clone(),
            actor,
            net.config.clone(),
            placement,
            actor,
        )
        .expect("store");
        net.stores[0].handle_timer(net.now);
        let (now, name) = (net.now, net.names[0].clone());
        for s in &mut net.stores[1..] {
            s.peer_up(now, &name);
        }
    };
    restart(&mut net);
    let t = Instant::now();
    let (intervals, bytes) = converge(&mut net, |n| in_sync(n, &expected));
    println!(
        "cluster/catch_up: restarted empty ({} keys): {:.1} ms, {intervals} \
         anti-entropy intervals, {bytes} bytes delivered = {:.2} % of the member's \
         state ({full} bytes)",
        expected.len(),
        t.elapsed().as_secs_f64() * 1e3,
        bytes as f64 * 100.0 / full as f64,
    );

    let mut group = c.benchmark_group("cluster/catch_up");
    group.sample_size(10);
    let mut round = 1;
    group.bench_function("one_percent_behind", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                round += 1;
                let missed = diverge(&mut net, keys, round);
                let t = Instant::now();
                black_box(converge(&mut net, |n| in_sync(n, &missed)));
                total += t.elapsed();
            }
            total
        })
    });
    group.bench_function("restarted_empty", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                restart(&mut net);
                let t = Instant::now();
                black_box(converge(&mut net, |n| in_sync(n, &expected)));
                total += t.elapsed();
            }
            total
        })
    });
    group.finish();
}

fn anti_entropy_config(c: Criterion) -> Criterion {
    c.warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = anti_entropy_config(Criterion::default());
    targets = writes, heap, catch_up
}
criterion_main!(benches);
