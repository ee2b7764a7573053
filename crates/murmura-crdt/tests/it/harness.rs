//! Generic law checks and a chaotic-network convergence harness that every
//! type's tests drive. The network is murmura-sim's: replicas are cores on
//! a seeded link that loses, duplicates and reorders datagrams.

use murmura_crdt::{AntiEntropy, Codec, DeltaCrdt};
use murmura_sim::{Addr, Core, Delivery, Input, Link, Output, Sim};
use proptest::prelude::*;
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fmt::Debug;
use std::rc::Rc;
use std::time::Duration;

/// What every state type in these tests implements.
pub(crate) trait Crdt: DeltaCrdt + AntiEntropy + Codec + Debug
where
    Self::Digest: Clone,
{
}
impl<T> Crdt for T
where
    T: DeltaCrdt + AntiEntropy + Codec + Debug,
    T::Digest: Clone,
{
}

/// One step of a random schedule.
#[derive(Debug, Clone)]
pub(crate) enum Step {
    /// Replica `r` applies an operation made from `raw`.
    Op(usize, u64),
    /// `from` ships its buffered delta group to `to`.
    Delta(usize, usize),
    /// `from` ships its whole state to `to`.
    State(usize, usize),
    /// `from` sends its digest to `to`, which answers with what is missing.
    Digest(usize, usize),
    /// Let `n % 4` ms of network time pass: datagrams due arrive (or are
    /// lost, or duplicated, as the seeded link decides).
    Deliver(usize),
    /// Let `n % 8` ms pass.
    Duplicate(usize),
    /// An outage: `n % 4` ms pass and every datagram sent meanwhile (the
    /// answers to digests arriving then) is lost.
    Drop(usize),
}

pub(crate) fn steps(n: usize) -> impl Strategy<Value = Vec<Step>> {
    let step = prop_oneof![
        4 => (0..8usize, any::<u64>()).prop_map(|(r, raw)| Step::Op(r, raw)),
        2 => (0..8usize, 0..8usize).prop_map(|(a, b)| Step::Delta(a, b)),
        1 => (0..8usize, 0..8usize).prop_map(|(a, b)| Step::State(a, b)),
        1 => (0..8usize, 0..8usize).prop_map(|(a, b)| Step::Digest(a, b)),
        3 => any::<usize>().prop_map(Step::Deliver),
        1 => any::<usize>().prop_map(Step::Duplicate),
        1 => any::<usize>().prop_map(Step::Drop),
    ];
    proptest::collection::vec(step, 1..n)
}

/// An operation as it happened, with the ids of the operations its replica
/// had seen (its causal past).
#[derive(Debug, Clone)]
pub(crate) struct Record<T: DeltaCrdt> {
    pub(crate) id: usize,
    pub(crate) replica: usize,
    pub(crate) op: T::Op,
    pub(crate) past: BTreeSet<usize>,
    /// The replica's value just before the operation.
    pub(crate) before: T::Value,
}

impl<T: DeltaCrdt> Record<T> {
    /// Whether `self` happened before `other`.
    pub(crate) fn before_op(&self, other: &Self) -> bool {
        other.past.contains(&self.id)
    }
}

/// What a datagram carries: merged state bytes, or a digest (kept in a
/// slab shared by the replicas — digests have no wire form), with the ids of
/// the operations whose effects it carries (for the spec).
const BYTES: u8 = 0;
const DIGEST: u8 = 1;

fn encode(tag: u8, ids: &BTreeSet<usize>, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend_from_slice(&(ids.len() as u64).to_le_bytes());
    for id in ids {
        out.extend_from_slice(&(*id as u64).to_le_bytes());
    }
    out.extend_from_slice(payload);
    out
}

fn decode(b: &[u8]) -> (u8, BTreeSet<usize>, &[u8]) {
    let word = |i: usize| u64::from_le_bytes(b[1 + 8 * i..9 + 8 * i].try_into().unwrap()) as usize;
    let n = word(0);
    let ids = (1..=n).map(word).collect();
    (b[0], ids, &b[9 + 8 * n..])
}

/// One replica as a sans-IO core in the simulator.
struct Replica<T: AntiEntropy> {
    state: T,
    seen: BTreeSet<usize>,
    group: T,
    group_ids: BTreeSet<usize>,
    out: Vec<Output>,
    digests: Rc<RefCell<Vec<T::Digest>>>,
}

impl<T: AntiEntropy> Replica<T> {
    fn send(&mut self, to: usize, tag: u8, ids: &BTreeSet<usize>, payload: &[u8]) {
        self.out.push(Output {
            to: to as Addr,
            delivery: Delivery::Datagram,
            bytes: encode(tag, ids, payload),
        });
    }
}

impl<T> Core for Replica<T>
where
    T: Crdt,
    T::Digest: Clone,
{
    type Event = ();

    fn handle(&mut self, _now: Duration, from: Addr, input: Input<'_>) -> Option<Vec<u8>> {
        let Input::Datagram(bytes) = input else {
            return None;
        };
        let (tag, ids, payload) = decode(bytes);
        if tag == BYTES {
            let state = T::from_bytes(payload).expect("our own encoding decodes");
            self.state.merge(&state);
            self.seen.extend(ids);
        } else {
            let i = u64::from_le_bytes(payload.try_into().unwrap()) as usize;
            let digest = self.digests.borrow()[i].clone();
            let missing = self.state.missing(&digest);
            let seen = self.seen.clone();
            self.send(from as usize, BYTES, &seen, &missing.to_bytes());
        }
        None
    }

    fn handle_timer(&mut self, _now: Duration) {}

    fn poll_transmit(&mut self) -> Option<Output> {
        self.out.pop()
    }

    fn poll_timeout(&self) -> Option<Duration> {
        None
    }
}

/// The chaotic link: 1 ms plus up to 4 ms of jitter (so datagrams
/// reorder), a fifth lost, a tenth duplicated.
const CHAOS: Link = Link {
    latency: Duration::from_millis(1),
    jitter: Duration::from_millis(4),
    loss: 0.2,
    duplicate: 0.1,
};

/// The network's seed, a function of the schedule: proptest replays and
/// shrinks a failing case exactly.
fn seed_of(schedule: &[Step]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(format!("{schedule:?}").as_bytes())
}

fn state<T: Crdt>(sim: &Sim<Replica<T>>, i: usize) -> &T
where
    T::Digest: Clone,
{
    &sim.core(i).expect("replicas never crash here").state
}

/// Runs `schedule` over `n` replicas connected by a channel that drops,
/// duplicates and reorders; then lets them sync by anti-entropy alone;
/// checks they all end equal and that the value is what `spec` predicts
/// from the history.
pub(crate) fn converge<T, F, S>(
    n: usize,
    schedule: &[Step],
    actor: impl Fn(usize) -> T::Actor,
    make_op: F,
    spec: S,
) -> Result<(), TestCaseError>
where
    T: Crdt,
    T::Digest: Clone,
    T::Op: Clone + Debug,
    T::Value: PartialEq + Debug + Clone,
    F: Fn(&T, u64) -> T::Op,
    S: Fn(&[Record<T>]) -> T::Value,
{
    converge_with(n, schedule, actor, make_op, |h, state: &T| {
        prop_assert_eq!(state.value(), spec(h), "value differs from the spec");
        Ok(())
    })
}

/// [`converge`] with a custom final check of the converged state.
pub(crate) fn converge_with<T, F, C>(
    n: usize,
    schedule: &[Step],
    actor: impl Fn(usize) -> T::Actor,
    make_op: F,
    check: C,
) -> Result<(), TestCaseError>
where
    T: Crdt,
    T::Digest: Clone,
    T::Op: Clone + Debug,
    T::Value: PartialEq + Debug + Clone,
    F: Fn(&T, u64) -> T::Op,
    C: Fn(&[Record<T>], &T) -> Result<(), TestCaseError>,
{
    converge_observed(n, schedule, actor, make_op, |_| Ok(()), check)
}

/// [`converge_with`] that also runs `observe` on a replica after every
/// operation, and on every replica after every delivery step: for reads
/// that must agree at every moment of a lossy delivery, not only once
/// everything arrived.
pub(crate) fn converge_observed<T, F, O, C>(
    n: usize,
    schedule: &[Step],
    actor: impl Fn(usize) -> T::Actor,
    make_op: F,
    observe: O,
    check: C,
) -> Result<(), TestCaseError>
where
    T: Crdt,
    T::Digest: Clone,
    T::Op: Clone + Debug,
    T::Value: PartialEq + Debug + Clone,
    F: Fn(&T, u64) -> T::Op,
    O: Fn(&T) -> Result<(), TestCaseError>,
    C: Fn(&[Record<T>], &T) -> Result<(), TestCaseError>,
{
    let digests: Rc<RefCell<Vec<T::Digest>>> = Rc::default();
    let mut sim: Sim<Replica<T>> = Sim::new(seed_of(schedule));
    sim.net_mut().default_link = CHAOS;
    for _ in 0..n {
        let digests = digests.clone();
        sim.add(|_| Replica {
            state: T::default(),
            seen: BTreeSet::new(),
            group: T::default(),
            group_ids: BTreeSet::new(),
            out: Vec::new(),
            digests,
        });
    }
    let mut history: Vec<Record<T>> = Vec::new();

    for step in schedule {
        match *step {
            Step::Op(r, raw) => {
                let r = r % n;
                let record = sim
                    .act(r, |rep, _| {
                        let op = make_op(&rep.state, raw);
                        let before = rep.state.value();
                        let pre = rep.state.clone();
                        match rep.state.apply(&actor(r), op.clone()) {
                            Ok(delta) => {
                                // The delta has the mutation's effect on the pre-state.
                                prop_assert_eq!(
                                    &pre.merged(&delta),
                                    &rep.state,
                                    "delta != mutation"
                                );
                                let id = history.len();
                                let past = rep.seen.clone();
                                rep.seen.insert(id);
                                rep.group.merge(&delta);
                                rep.group_ids.insert(id);
                                observe(&rep.state)?;
                                Ok(Some(Record {
                                    id,
                                    replica: r,
                                    op,
                                    past,
                                    before,
                                }))
                            }
                            Err(_) => {
                                prop_assert_eq!(&pre, &rep.state, "a failed op changed the state");
                                Ok(None)
                            }
                        }
                    })
                    .expect("replicas never crash here")?;
                history.extend(record);
            }
            Step::Delta(a, b) => {
                let (a, b) = (a % n, b % n);
                sim.act(a, |rep, _| {
                    let group = std::mem::take(&mut rep.group);
                    let ids = std::mem::take(&mut rep.group_ids);
                    rep.send(b, BYTES, &ids, &group.to_bytes());
                });
            }
            Step::State(a, b) => {
                let (a, b) = (a % n, b % n);
                sim.act(a, |rep, _| {
                    let (seen, bytes) = (rep.seen.clone(), rep.state.to_bytes());
                    rep.send(b, BYTES, &seen, &bytes);
                });
            }
            Step::Digest(a, b) => {
                let (a, b) = (a % n, b % n);
                sim.act(a, |rep, _| {
                    let i = {
                        let mut d = rep.digests.borrow_mut();
                        d.push(rep.state.digest());
                        d.len() - 1
                    };
                    rep.send(b, DIGEST, &BTreeSet::new(), &(i as u64).to_le_bytes());
                });
            }
            Step::Deliver(t) => sim.drive(Duration::from_millis(t as u64 % 4)),
            Step::Duplicate(t) => sim.drive(Duration::from_millis(t as u64 % 8)),
            Step::Drop(t) => {
                sim.net_mut().default_link.loss = 1.0;
                sim.drive(Duration::from_millis(t as u64 % 4));
                sim.net_mut().default_link.loss = CHAOS.loss;
            }
        }
        if matches!(step, Step::Deliver(_) | Step::Duplicate(_) | Step::Drop(_)) {
            for i in 0..n {
                observe(state(&sim, i))?;
            }
        }
    }
    // What is still in flight arrives (or is lost).
    sim.drive(Duration::from_millis(100));

    // Heal: two rounds of anti-entropy around a ring, no losses.
    for _ in 0..2 {
        for i in 0..n {
            let j = (i + 1) % n;
            let digest = state(&sim, j).digest();
            let missing = state(&sim, i).missing(&digest);
            let expected = state(&sim, j).merged(state(&sim, i));
            let ids = sim.core(i).expect("replicas never crash here").seen.clone();
            sim.act(j, |rep, _| {
                rep.state.merge(&missing);
                rep.seen.extend(ids);
            });
            prop_assert_eq!(state(&sim, j), &expected, "anti-entropy fell short");
        }
    }
    for r in 1..n {
        prop_assert_eq!(state(&sim, r), state(&sim, 0), "replicas diverged");
    }
    check(&history, state(&sim, 0))
}

/// Builds `n` replica states from a schedule (ops, and merges when a step
/// ships something), for the algebraic laws; returns them with every
/// (pre-state, delta, post-state) triple seen.
pub(crate) fn states<T, F>(
    n: usize,
    schedule: &[Step],
    actor: impl Fn(usize) -> T::Actor,
    make_op: F,
) -> (Vec<T>, Vec<(T, T, T)>)
where
    T: Crdt,
    T::Digest: Clone,
    F: Fn(&T, u64) -> T::Op,
{
    let mut reps: Vec<T> = (0..n).map(|_| T::default()).collect();
    let mut deltas = Vec::new();
    for step in schedule {
        match *step {
            Step::Op(r, raw) => {
                let r = r % n;
                let pre = reps[r].clone();
                let op = make_op(&pre, raw);
                if let Ok(d) = reps[r].apply(&actor(r), op) {
                    deltas.push((pre, d, reps[r].clone()));
                }
            }
            Step::Delta(a, b) | Step::State(a, b) | Step::Digest(a, b) => {
                let src = reps[a % n].clone();
                reps[b % n].merge(&src);
            }
            _ => {}
        }
    }
    (reps, deltas)
}

/// Every law: join is commutative, associative, idempotent and an upper
/// bound; deltas act like the mutations and like the full states they came
/// from; delta groups merge like their parts; anti-entropy ships exactly
/// what is missing; encodings round-trip and truncations are refused.
pub(crate) fn laws<T>(reps: &[T], deltas: &[(T, T, T)]) -> Result<(), TestCaseError>
where
    T: Crdt,
    T::Digest: Clone,
{
    for a in reps {
        prop_assert_eq!(&a.merged(a), a, "not idempotent");
        prop_assert!(
            a.missing(&a.digest()).is_bottom(),
            "missing(self) not bottom"
        );
        let bytes = a.to_bytes();
        prop_assert_eq!(&T::from_bytes(&bytes).expect("round trip"), a);
        for cut in 0..bytes.len() {
            prop_assert!(
                T::from_bytes(&bytes[..cut]).is_err(),
                "prefix {} decoded",
                cut
            );
        }
        for b in reps {
            let ab = a.merged(b);
            prop_assert_eq!(&ab, &b.merged(a), "not commutative");
            prop_assert!(a.leq(&ab) && b.leq(&ab), "join is not an upper bound");
            // Join decomposition: the answer to b's digest brings b up to a ⊔ b,
            // and ships nothing when b already has everything.
            let missing = a.missing(&b.digest());
            prop_assert_eq!(&b.merged(&missing), &ab, "missing() incomplete");
            prop_assert!(missing.leq(a), "missing() invented state");
            if a.leq(b) {
                prop_assert!(missing.is_bottom(), "back-propagated state the peer has");
            }
            for c in reps {
                prop_assert_eq!(ab.merged(c), a.merged(&b.merged(c)), "not associative");
            }
        }
    }
    for (i, (pre, delta, post)) in deltas.iter().enumerate() {
        prop_assert_eq!(&pre.merged(delta), post, "delta != mutation");
        // Merging the delta equals merging the full state it came from, into
        // any replica that has the delta's causal past.
        for y in reps {
            let y = y.merged(pre);
            prop_assert_eq!(y.merged(delta), y.merged(post), "delta != its full state");
        }
        // A delta group merges like its parts, in order.
        if let Some((_, next, _)) = deltas.get(i + 1) {
            let group = delta.merged(next);
            prop_assert_eq!(pre.merged(&group), pre.merged(delta).merged(next));
        }
    }
    Ok(())
}

/// Hostile bytes never panic; whatever decodes still merges and round-trips.
pub(crate) fn garbage<T: Crdt>(bytes: &[u8]) -> Result<(), TestCaseError>
where
    T::Digest: Clone,
{
    if let Ok(state) = T::from_bytes(bytes) {
        let merged = state.merged(&T::default());
        prop_assert_eq!(&merged, &state);
        prop_assert_eq!(T::from_bytes(&state.to_bytes()).ok(), Some(state));
    }
    Ok(())
}

/// The operations on `key` that no other operation on `key` follows.
pub(crate) fn maximal<'a, T: DeltaCrdt, K: PartialEq>(
    history: &'a [Record<T>],
    key: impl Fn(&T::Op) -> Option<K>,
    k: &K,
) -> Vec<&'a Record<T>> {
    let on_key: Vec<&Record<T>> = history
        .iter()
        .filter(|r| key(&r.op).as_ref() == Some(k))
        .collect();
    on_key
        .iter()
        .filter(|r| !on_key.iter().any(|o| r.before_op(o)))
        .copied()
        .collect()
}

/// Join decomposition never back-propagates: every dot the answer to a
/// peer's digest carries — live, or in its context — is one the peer has
/// not seen, or one the peer still holds live that this replica removed.
/// And the full state is the answer only when there is no digest.
pub(crate) fn irredundant<S, A>(reps: &[murmura_crdt::Causal<S, A>]) -> Result<(), TestCaseError>
where
    S: murmura_crdt::DotStore<A>,
    A: Ord + Clone + Codec + Debug,
{
    use murmura_crdt::Dot;
    for a in reps {
        prop_assert_eq!(&a.missing_or_full(None), a, "no digest: full state");
        for b in reps {
            let digest = b.digest();
            let answer = a.missing(&digest);
            prop_assert_eq!(&a.missing_or_full(Some(&digest)), &answer);
            let mut live_at_peer = BTreeSet::new();
            b.store().for_each_dot(&mut |d| {
                live_at_peer.insert(d.clone());
            });
            let mut shipped_live = Vec::new();
            answer
                .store()
                .for_each_dot(&mut |d| shipped_live.push(d.clone()));
            for d in &shipped_live {
                prop_assert!(
                    !b.context().contains(d),
                    "shipped a live dot the peer has seen"
                );
            }
            for run in answer.context().ranges() {
                for counter in run.first..=run.last {
                    let d = Dot::new(run.actor.clone(), counter);
                    prop_assert!(
                        !b.context().contains(&d) || live_at_peer.contains(&d),
                        "shipped a context dot the peer already has: {:?}",
                        d
                    );
                }
            }
        }
    }
    Ok(())
}
