//! Issue 12's scenarios for the SWIM core, at any size: each builds a
//! cluster, applies its faults and measures, returning a report. Tests run
//! them small; the `gossip_sim` example runs them at scale.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use murmura_gossip::{Config, State};

use crate::core::NodeId;
use crate::net::Link;
use crate::sim::Stall;
use crate::stats::{Summary, Traffic, TrafficSummary};
use crate::swim::{self, Accusations, SwimSim, converged};

/// What every scenario takes.
#[derive(Debug, Clone)]
pub struct Setup {
    /// Members.
    pub n: usize,
    /// The run's seed.
    pub seed: u64,
    /// Every member's configuration.
    pub config: Config,
    /// Every link.
    pub link: Link,
    /// Longest a scenario waits for anything.
    pub max: Duration,
    /// If set, the virtual time (in milliseconds) is stored here as the
    /// scenario runs, for a progress display on another thread.
    pub progress: Option<Arc<AtomicU64>>,
}

impl Setup {
    /// `n` members with memberlist's LAN preset on a clean LAN, waiting at most 5 minutes.
    pub fn lan(n: usize, seed: u64) -> Self {
        Self {
            n,
            seed,
            config: Config::lan(),
            link: Link::LAN,
            max: Duration::from_secs(300),
            progress: None,
        }
    }

    /// Drives `sim` for `d`, reporting progress every virtual second.
    fn drive(&self, sim: &mut SwimSim, d: Duration) {
        let Some(p) = &self.progress else {
            sim.drive(d);
            return;
        };
        let end = sim.now() + d;
        while sim.now() < end {
            sim.drive((end - sim.now()).min(Duration::from_secs(1)));
            p.store(sim.now().as_millis() as u64, Ordering::Relaxed);
        }
    }

    fn tick(&self, sim: &SwimSim) {
        if let Some(p) = &self.progress {
            p.store(sim.now().as_millis() as u64, Ordering::Relaxed);
        }
    }

    fn cluster(&self, seeds: usize) -> SwimSim {
        swim::cluster(self.seed, self.n, seeds, &self.config, self.link)
    }

    /// A cluster that has converged (panics with the seed if it does not within `max`).
    fn converged_cluster(&self) -> SwimSim {
        let mut sim = self.cluster(1);
        let ok = sim.drive_until(self.max, Duration::from_millis(500), |s| {
            self.tick(s);
            converged(s)
        });
        assert!(ok, "bootstrap of {} did not converge", self.n);
        sim
    }
}

/// The protocol's own bound on the time until every member knows of a
/// crash, for `n` members: detection within ten protocol periods (the
/// chance nobody probes a given member for `t` periods is about `e^-t`),
/// plus the indirect-probe round, plus the longest suspicion timeout
/// (`suspicion_max_timeout_mult · suspicion_mult · log10 n` periods, no
/// confirmations), plus dissemination (every update is retransmitted
/// `retransmit_mult · ⌈log10(n+1)⌉` times; allow twice that many gossip
/// rounds, and a probe period for the news to ride on).
pub fn crash_bound(config: &Config, n: usize) -> Duration {
    let scale = (n.max(1) as f64).log10().max(1.0);
    let suspicion = config.probe_interval.mul_f64(
        f64::from(config.suspicion_mult) * scale * f64::from(config.suspicion_max_timeout_mult),
    );
    let retransmits = f64::from(config.retransmit_mult) * ((n + 1) as f64).log10().ceil();
    let dissemination = config.gossip_interval.mul_f64(2.0 * retransmits) + config.probe_interval;
    config.probe_interval * 11 + suspicion + dissemination
}

/// The longest suspicion timeout for `n` members.
pub fn longest_suspicion(config: &Config, n: usize) -> Duration {
    let scale = (n.max(1) as f64).log10().max(1.0);
    config.probe_interval.mul_f64(
        f64::from(config.suspicion_mult) * scale * f64::from(config.suspicion_max_timeout_mult),
    )
}

fn traffic_since(
    sim: &SwimSim,
    before: &[Traffic],
    ids: impl Iterator<Item = NodeId>,
) -> Vec<Traffic> {
    ids.map(|id| sim.traffic(id).since(&before[id])).collect()
}

/// Scenario 1: bootstrap.
#[derive(Debug, Clone)]
pub struct Bootstrap {
    /// When every member saw every other (none if not within `max`).
    pub all_see_all: Option<Duration>,
    /// When each member first saw all, over the members that did.
    pub per_member: Summary,
    /// `(seconds, fraction of members that see all)`, sampled every 100 ms.
    pub curve: Vec<(f64, f64)>,
    /// Per-member traffic over the bootstrap.
    pub traffic: TrafficSummary,
    /// The run's trace hash.
    pub trace: u64,
}

/// Scenario 1: all members start at once and join through `seeds` members.
pub fn bootstrap(setup: &Setup, seeds: usize) -> Bootstrap {
    let mut sim = setup.cluster(seeds);
    let n = setup.n;
    let mut done: Vec<Option<Duration>> = vec![None; n];
    let mut count = 0;
    let mut curve = Vec::new();
    let step = Duration::from_millis(100);
    while sim.now() <= setup.max {
        for (id, d) in done.iter_mut().enumerate() {
            if d.is_none() && sim.core(id).is_some_and(|c| c.num_live() == n) {
                *d = Some(sim.now());
                count += 1;
            }
        }
        curve.push((sim.now().as_secs_f64(), count as f64 / n as f64));
        if count == n {
            break;
        }
        setup.drive(&mut sim, step);
    }
    let window = sim.now();
    Bootstrap {
        all_see_all: (count == n).then_some(window),
        per_member: Summary::of_secs(done.iter().flatten().copied()),
        curve,
        traffic: TrafficSummary::of(sim.all_traffic(), window),
        trace: sim.trace_hash(),
    }
}

/// Scenario 2: detection of crashed members.
#[derive(Debug, Clone)]
pub struct Crashes {
    /// Seconds from the crash to the first suspicion, over the crashed members.
    pub first_suspected: Summary,
    /// Seconds from the crash to the first member declaring it dead.
    pub first_failed: Summary,
    /// Seconds from the crash until every running member knew it dead.
    pub all_know: Summary,
    /// Crashed members not known dead by everyone within `max`.
    pub unfinished: usize,
    /// `(seconds after the crash, fraction of members that know)` for the
    /// first crashed member.
    pub curve: Vec<(f64, f64)>,
    /// Per-member traffic from the crash until all knew.
    pub traffic: TrafficSummary,
    /// Healthy members falsely declared dead meanwhile.
    pub false_deaths: u64,
}

/// Scenario 2: a converged cluster; `k` members crash at once.
pub fn crashes(setup: &Setup, k: usize) -> Crashes {
    let mut sim = setup.converged_cluster();
    setup.drive(&mut sim, Duration::from_secs(2));
    let n = setup.n;
    let victims: Vec<NodeId> = (1..=k).map(|i| i * n / (k + 1)).collect();
    let t0 = sim.now();
    let before = sim.all_traffic().to_vec();
    for &v in &victims {
        sim.crash(v);
    }
    let audience = sim.up().count();
    for &v in &victims {
        sim.observer_mut().crashed(t0, v, audience);
    }
    let all_known = |s: &SwimSim| {
        victims.iter().all(|v| {
            s.observer()
                .track(*v)
                .is_some_and(|t| t.all_know().is_some())
        })
    };
    sim.drive_until(setup.max, Duration::from_millis(100), |s| {
        setup.tick(s);
        all_known(s)
    });
    let window = sim.now() - t0;
    let since = |d: Option<Duration>| d.map(|d| d - t0);
    let tracks: Vec<_> = victims
        .iter()
        .filter_map(|v| sim.observer().track(*v).cloned())
        .collect();
    let curve = tracks
        .first()
        .map(|t| {
            t.known_at
                .iter()
                .enumerate()
                .map(|(i, at)| ((*at - t0).as_secs_f64(), (i + 1) as f64 / t.audience as f64))
                .collect()
        })
        .unwrap_or_default();
    let traffic = traffic_since(&sim, &before, sim.up());
    Crashes {
        first_suspected: Summary::of_secs(tracks.iter().filter_map(|t| since(t.first_suspected))),
        first_failed: Summary::of_secs(tracks.iter().filter_map(|t| since(t.first_failed))),
        all_know: Summary::of_secs(tracks.iter().filter_map(|t| since(t.all_know()))),
        unfinished: tracks.iter().filter(|t| t.all_know().is_none()).count(),
        curve,
        traffic: TrafficSummary::of(&traffic, window),
        false_deaths: sim.observer().false_deaths.total(),
    }
}

/// Scenarios 3 and 4: false positives under loss or with slow members.
#[derive(Debug, Clone)]
pub struct FalsePositives {
    /// Distinct false suspicions (member, incarnation), by accuser and accused.
    pub suspicions: Accusations,
    /// Distinct false deaths.
    pub deaths: Accusations,
    /// Member-hours observed.
    pub member_hours: f64,
    /// Healthy members that some healthy member did not see live at the end.
    pub missing_at_end: usize,
    /// Per-member traffic over the run.
    pub traffic: TrafficSummary,
}

impl FalsePositives {
    /// False suspicions per member-hour.
    pub fn suspicions_per_member_hour(&self) -> f64 {
        self.suspicions.total() as f64 / self.member_hours
    }

    /// False deaths per member-hour.
    pub fn deaths_per_member_hour(&self) -> f64 {
        self.deaths.total() as f64 / self.member_hours
    }
}

fn false_positives(
    setup: &Setup,
    mut sim: SwimSim,
    slow: &[NodeId],
    run: Duration,
    before: Vec<Traffic>,
) -> FalsePositives {
    let n = sim.len();
    setup.drive(&mut sim, run);
    let healthy: Vec<NodeId> = (0..n).filter(|i| !slow.contains(i)).collect();
    let missing_at_end = healthy
        .iter()
        .filter(|&&m| {
            let name = swim::name(m);
            healthy.iter().any(|&o| {
                o != m
                    && sim
                        .core(o)
                        .and_then(|c| c.member(&name))
                        .is_none_or(|x| x.state.is_gone())
            })
        })
        .count();
    let traffic = traffic_since(&sim, &before, 0..n);
    FalsePositives {
        suspicions: sim.observer().false_suspicions,
        deaths: sim.observer().false_deaths,
        member_hours: n as f64 * run.as_secs_f64() / 3600.0,
        missing_at_end,
        traffic: TrafficSummary::of(&traffic, run),
    }
}

/// Scenario 3: a converged cluster, then uniform datagram loss `p` on every
/// link for `run`.
pub fn uniform_loss(setup: &Setup, p: f64, run: Duration) -> FalsePositives {
    let mut sim = setup.converged_cluster();
    sim.net_mut().default_link.loss = p;
    let before = sim.all_traffic().to_vec();
    false_positives(setup, sim, &[], run, before)
}

/// Lifeguard's parts switched off: no local health (awareness capped at
/// 1) and a fixed suspicion timeout (max = min). The buddy system stays.
pub fn without_lifeguard(mut config: Config) -> Config {
    config.awareness_max_multiplier = 1;
    config.suspicion_max_timeout_mult = 1;
    config
}

/// Scenario 4: a converged cluster; then `slow` members get the CPU only
/// every `period` for `run`.
pub fn slow_members(setup: &Setup, slow: usize, period: Duration, run: Duration) -> FalsePositives {
    let mut sim = setup.converged_cluster();
    let n = setup.n;
    let ids: Vec<NodeId> = (0..slow).map(|i| 1 + i * (n - 1) / slow.max(1)).collect();
    for &id in &ids {
        sim.set_stall(id, Stall::Starved { period });
        sim.observer_mut().set_slow(id, true);
    }
    let before = sim.all_traffic().to_vec();
    false_positives(setup, sim, &ids, run, before)
}

/// Which members a partition cuts off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// The first half against the second.
    Halves,
    /// The last member alone.
    OneAgainstRest,
}

/// Scenario 6: a partition held, then healed.
#[derive(Debug, Clone)]
pub struct Partition {
    /// How long it was held.
    pub held: Duration,
    /// Whether every member of the larger side saw exactly its side live
    /// before the heal.
    pub majority_settled: bool,
    /// The same for the smaller side (a lone member raises its own
    /// Lifeguard health score with every failed probe, so it is slow to
    /// give the others up — by design).
    pub minority_settled: bool,
    /// Seconds from the heal until every member saw all again.
    pub heal: Option<Duration>,
    /// `(seconds after the heal, fraction of members that see all)`.
    pub curve: Vec<(f64, f64)>,
}

/// Scenario 6: a converged cluster split by `split` for twice the longest
/// suspicion timeout (and long enough for the news to spread), then healed,
/// with no manual rejoin.
pub fn partition(setup: &Setup, split: Split) -> Partition {
    let mut sim = setup.converged_cluster();
    let n = setup.n;
    let side: Vec<NodeId> = match split {
        Split::Halves => (0..n / 2).collect(),
        Split::OneAgainstRest => vec![n - 1],
    };
    sim.net_mut().partition(&[&side]);
    let held = (longest_suspicion(&setup.config, n) * 2).max(crash_bound(&setup.config, n));
    setup.drive(&mut sim, held);
    let settled = |minority: bool| {
        (0..n).filter(|id| side.contains(id) == minority).all(|id| {
            let mine = if minority { side.len() } else { n - side.len() };
            sim.core(id).is_some_and(|c| c.num_live() == mine)
        })
    };
    let (majority_settled, minority_settled) = (settled(false), settled(true));
    sim.net_mut().heal();
    let t0 = sim.now();
    let mut curve = Vec::new();
    let ok = sim.drive_until(setup.max, Duration::from_millis(250), |s| {
        setup.tick(s);
        let done = s
            .up()
            .filter(|&i| s.core(i).is_some_and(|c| c.num_live() == n))
            .count();
        curve.push(((s.now() - t0).as_secs_f64(), done as f64 / n as f64));
        done == n
    });
    Partition {
        held,
        majority_settled,
        minority_settled,
        heal: ok.then(|| sim.now() - t0),
        curve,
    }
}

/// Scenario 7: restarts under the same name at a new address.
#[derive(Debug, Clone)]
pub struct Restarts {
    /// Seconds from each restart until every member saw it alive at its new
    /// address.
    pub accepted: Summary,
    /// Restarted members not accepted everywhere within `max`.
    pub unaccepted: usize,
    /// (observer, restarted member) pairs still holding the old address or
    /// a dead entry at the end.
    pub ghosts: usize,
}

/// Scenario 7: in a converged cluster, `k` members restart one after
/// another, `gap` apart, each down for `down` and rejoining through member 0.
pub fn restarts(setup: &Setup, k: usize, down: Duration, gap: Duration) -> Restarts {
    let mut sim = setup.converged_cluster();
    let n = setup.n;
    let ids: Vec<NodeId> = (1..=k).map(|i| i * n / (k + 1)).collect();
    let mut restarted_at = Vec::new();
    let mut addrs = Vec::new();
    for &id in &ids {
        sim.crash(id);
        setup.drive(&mut sim, down);
        let config = setup.config.clone();
        let addr = sim.restart(id, swim::spawner(&config));
        sim.observer_mut().restarted(id);
        let seed = sim.addr(0).into_iter().collect::<Vec<_>>();
        sim.act(id, |c, now| c.join(now, seed));
        restarted_at.push(sim.now());
        addrs.push(addr);
        setup.drive(&mut sim, gap);
    }
    let accepted_by = |s: &SwimSim, id: NodeId, addr: u64| {
        let name = swim::name(id);
        s.up().filter(|&o| o != id).all(|o| {
            s.core(o)
                .and_then(|c| c.member(&name))
                .is_some_and(|m| m.state == State::Alive && m.addr == addr)
        })
    };
    let mut accepted: Vec<Option<Duration>> = vec![None; ids.len()];
    let end = sim.now() + setup.max;
    loop {
        for (i, &id) in ids.iter().enumerate() {
            if accepted[i].is_none() && accepted_by(&sim, id, addrs[i]) {
                accepted[i] = Some(sim.now() - restarted_at[i]);
            }
        }
        if accepted.iter().all(Option::is_some) || sim.now() >= end {
            break;
        }
        setup.drive(&mut sim, Duration::from_millis(250));
    }
    let ghosts = ids
        .iter()
        .zip(&addrs)
        .map(|(&id, &addr)| {
            let name = swim::name(id);
            sim.up()
                .filter(|&o| o != id)
                .filter(|&o| {
                    sim.core(o)
                        .and_then(|c| c.member(&name))
                        .is_none_or(|m| m.state != State::Alive || m.addr != addr)
                })
                .count()
        })
        .sum();
    Restarts {
        accepted: Summary::of_secs(accepted.iter().flatten().copied()),
        unaccepted: accepted.iter().filter(|a| a.is_none()).count(),
        ghosts,
    }
}

/// Scenario 5: Rapid's hard cases.
#[derive(Debug, Clone)]
pub struct HardCase {
    /// Faulty members.
    pub faulty: Vec<NodeId>,
    /// Distinct live sets among the healthy members at the end.
    pub views: usize,
    /// `Recovered` events seen (members flapping back).
    pub flaps: u64,
    /// Fraction of (healthy observer, faulty member) pairs where the faulty
    /// member is gone at the end.
    pub removed: f64,
    /// False deaths of healthy members in a healthy member's view.
    pub healthy_deaths: u64,
    /// False suspicions, by accuser (healthy or faulty) and accused.
    pub suspicions: Accusations,
    /// False deaths, by first reporter and accused.
    pub deaths: Accusations,
}

fn hard_case(sim: &SwimSim, faulty: Vec<NodeId>) -> HardCase {
    let n = sim.len();
    let healthy: Vec<NodeId> = (0..n).filter(|i| !faulty.contains(i)).collect();
    let mut views = std::collections::BTreeSet::new();
    let (mut gone, mut pairs) = (0usize, 0usize);
    for &o in &healthy {
        let Some(c) = sim.core(o) else { continue };
        let mut live: Vec<&str> = c
            .members()
            .filter(|m| !m.state.is_gone())
            .map(|m| m.name.as_str())
            .collect();
        live.sort_unstable();
        views.insert(xxhash_rust::xxh3::xxh3_64(live.join(",").as_bytes()));
        for &f in &faulty {
            pairs += 1;
            gone += usize::from(c.member(&swim::name(f)).is_none_or(|m| m.state.is_gone()));
        }
    }
    HardCase {
        faulty,
        views: views.len(),
        flaps: sim.observer().recoveries,
        removed: gone as f64 / pairs.max(1) as f64,
        healthy_deaths: sim.observer().healthy_deaths_seen_by_healthy,
        suspicions: sim.observer().false_suspicions,
        deaths: sim.observer().false_deaths,
    }
}

/// Scenario 5a: `fraction` of the members (at least one) lose `loss` of
/// everything they send and receive, for `run`.
pub fn lossy_members(setup: &Setup, fraction: f64, loss: f64, run: Duration) -> HardCase {
    let mut sim = setup.converged_cluster();
    let n = setup.n;
    let k = ((n as f64 * fraction).round() as usize).max(1);
    let faulty: Vec<NodeId> = (0..k).map(|i| 1 + i * (n - 1) / k).collect();
    for &f in &faulty {
        sim.net_mut().set_ingress_loss(f, loss);
        sim.net_mut().set_egress_loss(f, loss);
        sim.observer_mut().set_slow(f, true);
    }
    setup.drive(&mut sim, run);
    hard_case(&sim, faulty)
}

/// Scenario 5b: one member's ingress drops everything for `flip`, then
/// nothing for `flip`, and so on, for `run`.
pub fn flipping_ingress(setup: &Setup, flip: Duration, run: Duration) -> HardCase {
    let mut sim = setup.converged_cluster();
    let f = setup.n / 2;
    sim.observer_mut().set_slow(f, true);
    let end = sim.now() + run;
    let mut lossy = true;
    while sim.now() < end {
        sim.net_mut()
            .set_ingress_loss(f, if lossy { 1.0 } else { 0.0 });
        lossy = !lossy;
        let d = flip.min(end - sim.now());
        setup.drive(&mut sim, d);
    }
    hard_case(&sim, vec![f])
}

/// Scenario 8: a user broadcast and a metadata update during churn.
#[derive(Debug, Clone)]
pub struct Churn {
    /// Seconds until every running member had the broadcast.
    pub broadcast: Option<Duration>,
    /// Seconds until every running member saw the new metadata.
    pub metadata: Option<Duration>,
    /// Deliveries of the broadcast beyond one per member.
    pub duplicates: usize,
    /// Members crashed meanwhile.
    pub crashed: usize,
}

/// Scenario 8: in a converged cluster, `fraction` of the members crash
/// while member 0 broadcasts `size` bytes and member 1 changes its metadata.
pub fn broadcast_in_churn(setup: &Setup, fraction: f64, size: usize) -> Churn {
    let mut sim = setup.converged_cluster();
    let n = setup.n;
    let k = (n as f64 * fraction).round() as usize;
    let victims: Vec<NodeId> = (0..k).map(|i| 2 + i * (n - 2) / k.max(1)).collect();
    for &v in &victims {
        crate::swim::crash(&mut sim, v);
    }
    let t0 = sim.now();
    let payload = vec![0x5a; size];
    sim.act(0, |c, _| c.broadcast(b"big".to_vec(), payload))
        .and_then(Result::ok)
        .expect("the payload fits a datagram");
    let meta = b"zone=moved".to_vec();
    sim.act(1, |c, now| c.set_metadata(now, meta.clone()))
        .and_then(Result::ok)
        .expect("small metadata is accepted");
    let (mut broadcast, mut metadata) = (None, None);
    let end = t0 + setup.max;
    while sim.now() < end && (broadcast.is_none() || metadata.is_none()) {
        let up: Vec<NodeId> = sim.up().collect();
        if broadcast.is_none() {
            let got: std::collections::BTreeSet<NodeId> = sim
                .observer()
                .broadcasts
                .get(&b"big"[..])
                .map(|v| v.iter().map(|d| d.1).collect())
                .unwrap_or_default();
            if up.iter().all(|o| *o == 0 || got.contains(o)) {
                broadcast = Some(sim.now() - t0);
            }
        }
        if metadata.is_none()
            && up.iter().all(|&o| {
                sim.core(o)
                    .and_then(|c| c.member("n1"))
                    .is_some_and(|m| m.meta == b"zone=moved")
            })
        {
            metadata = Some(sim.now() - t0);
        }
        setup.drive(&mut sim, Duration::from_millis(100));
    }
    let deliveries = sim
        .observer()
        .broadcasts
        .get(&b"big"[..])
        .map_or(0, Vec::len);
    let receivers = sim.observer().broadcasts.get(&b"big"[..]).map_or(0, |v| {
        v.iter()
            .map(|d| d.1)
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    });
    Churn {
        broadcast,
        metadata,
        duplicates: deliveries - receivers,
        crashed: k,
    }
}
