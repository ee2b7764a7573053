//! Generic law checks and a chaotic-network convergence harness that every
//! type's tests drive.

use murmura_crdt::{AntiEntropy, Codec, DeltaCrdt};
use proptest::prelude::*;
use std::collections::BTreeSet;
use std::fmt::Debug;

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
    /// Deliver the message at this position (mod the queue length).
    Deliver(usize),
    /// Deliver and keep a copy (a duplicate).
    Duplicate(usize),
    /// Lose the message.
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

enum Payload<T: AntiEntropy> {
    Bytes(Vec<u8>),
    Digest(T::Digest),
}

struct Message<T: AntiEntropy> {
    from: usize,
    to: usize,
    payload: Payload<T>,
    /// Operations whose effects the payload carries (for the spec).
    ids: BTreeSet<usize>,
}

impl<T: AntiEntropy> Clone for Message<T>
where
    T::Digest: Clone,
{
    fn clone(&self) -> Self {
        Self {
            from: self.from,
            to: self.to,
            payload: match &self.payload {
                Payload::Bytes(b) => Payload::Bytes(b.clone()),
                Payload::Digest(d) => Payload::Digest(d.clone()),
            },
            ids: self.ids.clone(),
        }
    }
}

struct Replica<T> {
    state: T,
    seen: BTreeSet<usize>,
    group: T,
    group_ids: BTreeSet<usize>,
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
/// operation and every merge: for reads that must agree at every moment
/// of a lossy delivery, not only once everything arrived.
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
    let mut replicas: Vec<Replica<T>> = (0..n)
        .map(|_| Replica {
            state: T::default(),
            seen: BTreeSet::new(),
            group: T::default(),
            group_ids: BTreeSet::new(),
        })
        .collect();
    let mut history: Vec<Record<T>> = Vec::new();
    let mut queue: Vec<Message<T>> = Vec::new();

    for step in schedule {
        match *step {
            Step::Op(r, raw) => {
                let r = r % n;
                let rep = &mut replicas[r];
                let op = make_op(&rep.state, raw);
                let before = rep.state.value();
                let pre = rep.state.clone();
                if let Ok(delta) = rep.state.apply(&actor(r), op.clone()) {
                    // The delta has the mutation's effect on the pre-state.
                    prop_assert_eq!(&pre.merged(&delta), &rep.state, "delta != mutation");
                    let id = history.len();
                    history.push(Record {
                        id,
                        replica: r,
                        op,
                        past: rep.seen.clone(),
                        before,
                    });
                    rep.seen.insert(id);
                    rep.group.merge(&delta);
                    rep.group_ids.insert(id);
                    observe(&rep.state)?;
                } else {
                    prop_assert_eq!(&pre, &rep.state, "a failed op changed the state");
                }
            }
            Step::Delta(a, b) => {
                let (a, b) = (a % n, b % n);
                let rep = &mut replicas[a];
                let group = std::mem::take(&mut rep.group);
                let ids = std::mem::take(&mut rep.group_ids);
                queue.push(Message {
                    from: a,
                    to: b,
                    payload: Payload::Bytes(group.to_bytes()),
                    ids,
                });
            }
            Step::State(a, b) => {
                let (a, b) = (a % n, b % n);
                queue.push(Message {
                    from: a,
                    to: b,
                    payload: Payload::Bytes(replicas[a].state.to_bytes()),
                    ids: replicas[a].seen.clone(),
                });
            }
            Step::Digest(a, b) => {
                let (a, b) = (a % n, b % n);
                queue.push(Message {
                    from: a,
                    to: b,
                    payload: Payload::Digest(replicas[a].state.digest()),
                    ids: BTreeSet::new(),
                });
            }
            Step::Deliver(i) | Step::Duplicate(i) | Step::Drop(i) if !queue.is_empty() => {
                let i = i % queue.len();
                let msg = if matches!(step, Step::Duplicate(_)) {
                    queue[i].clone()
                } else {
                    queue.swap_remove(i)
                };
                if matches!(step, Step::Drop(_)) {
                    continue;
                }
                match msg.payload {
                    Payload::Bytes(bytes) => {
                        let state = T::from_bytes(&bytes).expect("our own encoding decodes");
                        let rep = &mut replicas[msg.to];
                        rep.state.merge(&state);
                        rep.seen.extend(msg.ids);
                        observe(&rep.state)?;
                    }
                    Payload::Digest(digest) => {
                        let rep = &replicas[msg.to];
                        let missing = rep.state.missing(&digest);
                        queue.push(Message {
                            from: msg.to,
                            to: msg.from,
                            payload: Payload::Bytes(missing.to_bytes()),
                            ids: rep.seen.clone(),
                        });
                    }
                }
            }
            _ => {}
        }
    }

    // Heal: two rounds of anti-entropy around a ring, no losses.
    for _ in 0..2 {
        for i in 0..n {
            let j = (i + 1) % n;
            let digest = replicas[j].state.digest();
            let missing = replicas[i].state.missing(&digest);
            let expected = replicas[j].state.merged(&replicas[i].state);
            replicas[j].state.merge(&missing);
            observe(&replicas[j].state)?;
            prop_assert_eq!(&replicas[j].state, &expected, "anti-entropy fell short");
            let ids = replicas[i].seen.clone();
            replicas[j].seen.extend(ids);
        }
    }
    for r in &replicas[1..] {
        prop_assert_eq!(&r.state, &replicas[0].state, "replicas diverged");
    }
    check(&history, &replicas[0].state)
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
