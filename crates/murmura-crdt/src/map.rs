//! Maps: the observed-remove map of nested CRDTs, its causal counter, and
//! the last-writer-wins map.

use crate::Result;
use crate::causal::Causal;
use crate::clock::CausalContext;
use crate::codec::{Codec, read_count};
use crate::dotstore::{DotFun, DotMap, DotStore, delegate_dot_store};
use crate::register::LwwRegister;
use crate::traits::{AntiEntropy, DeltaCrdt, Lattice};
use murmura_core::codec::{DecodeError, Reader, put_varint};
use std::collections::BTreeMap;
use std::fmt::Debug;

/// An observed-remove map whose values are causal CRDTs sharing the map's
/// causal context — any dot store nests, to any depth (a map of maps of
/// sets is `ORMap<K1, DotMap<K2, ElemDots<E, A>>, A>`).
///
/// Removing a key *resets* its value: it drops the dots the remover has
/// seen. An update concurrent with the remove brings dots the remover never
/// saw, so it survives, and the key comes back holding just that update's
/// effect (for a set, the concurrently added elements; for a
/// [`CausalCounter`], the updating actor's contribution).
///
/// ```
/// use murmura_crdt::{ElemDots, Lattice, ORMap};
///
/// let mut a: ORMap<String, ElemDots<u64, u64>, u64> = ORMap::new();
/// a.update("team".to_string(), |set| set.add(1, 7));
/// let mut b = a.clone();
/// b.remove(&"team".to_string());
/// a.update("team".to_string(), |set| set.add(1, 8)); // concurrent update
/// a.merge(&b);
/// let team = a.get(&"team".to_string()).unwrap();
/// assert_eq!(team.elements().collect::<Vec<_>>(), [&8]); // 7 was reset
/// ```
pub type ORMap<K, S, A> = Causal<DotMap<K, S>, A>;

impl<K, S, A> Causal<DotMap<K, S>, A>
where
    K: Ord + Clone + Codec + Debug,
    S: DotStore<A>,
    A: Ord + Clone + Codec + Debug,
{
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// The nested store under `key`.
    pub fn get(&self, key: &K) -> Option<&S> {
        self.store.get(key)
    }

    /// The nested value under `key` as a causal state of its own (a copy
    /// that shares the map's context).
    pub fn get_causal(&self, key: &K) -> Option<Causal<S, A>> {
        self.store
            .get(key)
            .map(|s| Causal::from_parts(s.clone(), self.ctx.clone()))
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &K) -> bool {
        self.store.entries.contains_key(key)
    }

    /// Keys, ascending.
    pub fn keys(&self) -> impl Iterator<Item = &K> {
        self.store.entries.keys()
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.store.len()
    }

    /// Whether the map has no key.
    pub fn is_empty(&self) -> bool {
        self.store.is_empty()
    }

    /// Runs the nested mutator `f` on the value under `key` (an empty
    /// value if absent) and returns the map's delta.
    pub fn update<F>(&mut self, key: K, f: F) -> Self
    where
        F: FnOnce(&mut Causal<S, A>) -> Causal<S, A>,
    {
        let ctx = std::mem::take(&mut self.ctx);
        let slot = self.store.entries.entry(key.clone()).or_default();
        let mut view = Causal::from_parts(std::mem::take(slot), ctx);
        let inner = f(&mut view);
        *slot = view.store;
        let emptied = slot.is_empty();
        self.ctx = view.ctx;
        if emptied {
            self.store.entries.remove(&key);
        }
        let mut store = DotMap::default();
        if !inner.store.is_empty() {
            store.entries.insert(key, inner.store);
        }
        Causal::from_parts(store, inner.ctx)
    }

    /// Removes `key`, resetting its value; returns the delta.
    pub fn remove(&mut self, key: &K) -> Self {
        let mut ctx = CausalContext::new();
        if let Some(old) = self.store.entries.remove(key) {
            old.for_each_dot(&mut |d| ctx.insert(d.clone()));
        }
        Causal::from_parts(DotMap::default(), ctx)
    }
}

/// One [`ORMap`] mutation: a nested operation on a key, or a remove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MapOp<K, O> {
    /// Apply the nested operation to the key's value.
    Update(K, O),
    /// Remove (reset) the key.
    Remove(K),
}

impl<K, S, A> DeltaCrdt for Causal<DotMap<K, S>, A>
where
    K: Ord + Clone + Codec + Debug,
    S: DotStore<A>,
    A: Ord + Clone + Codec + Debug,
    Causal<S, A>: DeltaCrdt<Actor = A>,
{
    type Actor = A;
    type Op = MapOp<K, <Causal<S, A> as DeltaCrdt>::Op>;
    type Value = BTreeMap<K, <Causal<S, A> as DeltaCrdt>::Value>;

    fn apply(&mut self, actor: &A, op: Self::Op) -> Result<Self> {
        match op {
            MapOp::Remove(k) => Ok(self.remove(&k)),
            MapOp::Update(k, inner) => {
                let mut failure = None;
                let delta = self.update(k, |v| match v.apply(actor, inner) {
                    Ok(d) => d,
                    Err(e) => {
                        failure = Some(e);
                        Causal::default()
                    }
                });
                failure.map_or(Ok(delta), Err)
            }
        }
    }

    fn value(&self) -> Self::Value {
        self.store
            .entries
            .iter()
            .map(|(k, s)| {
                (
                    k.clone(),
                    Causal::from_parts(s.clone(), self.ctx.clone()).value(),
                )
            })
            .collect()
    }
}

/// The store of a [`CausalCounter`]: each actor's contribution under the
/// dot of its latest update.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct CounterDots<A: Ord>(DotFun<A, i64>);

impl<A: Ord> Default for CounterDots<A> {
    fn default() -> Self {
        Self(DotFun::default())
    }
}

delegate_dot_store!(CounterDots<A>, DotFun<A, i64>, [A], [A: Ord + Clone + Codec + Debug]);

impl<A: Ord> CounterDots<A> {
    /// The counter's value.
    pub fn value(&self) -> i128 {
        self.0.entries.values().map(|&v| i128::from(v)).sum()
    }
}

/// A positive-negative counter built from dots, so it can live inside an
/// [`ORMap`] and be reset by a remove. Each update replaces the actor's
/// previous dot with one carrying its new total; a remove drops the dots it
/// has seen, and an update concurrent with the remove survives with its
/// actor's total.
///
/// ```
/// use murmura_crdt::{CausalCounter, CounterDots, Lattice, ORMap};
///
/// let mut likes: ORMap<String, CounterDots<u64>, u64> = ORMap::new();
/// likes.update("post-1".to_string(), |c| c.inc(1, 3));
/// likes.update("post-1".to_string(), |c| c.inc(2, -1));
/// assert_eq!(likes.get(&"post-1".to_string()).unwrap().value(), 2);
///
/// let mut c: CausalCounter<u64> = CausalCounter::new();
/// c.inc(1, 5);
/// assert_eq!(c.value(), 5);
/// ```
pub type CausalCounter<A> = Causal<CounterDots<A>, A>;

impl<A: Ord + Clone + Codec + Debug> Causal<CounterDots<A>, A> {
    /// A zero counter.
    pub fn new() -> Self {
        Self::default()
    }

    /// The counter's value.
    pub fn value(&self) -> i128 {
        self.store.value()
    }

    /// Adds `by` (negative to subtract) as `actor`; returns the delta. The
    /// actor's contribution saturates at the `i64` range.
    pub fn inc(&mut self, actor: A, by: i64) -> Self {
        let dot = self.ctx.next_dot(actor);
        let mut ctx = CausalContext::new();
        let mut total = 0i64;
        // The actor's earlier dot (normally one) is superseded: its
        // total carries over, and the delta's context covers it so peers drop it.
        self.store.0.entries.retain(|d, v| {
            if d.actor != dot.actor {
                return true;
            }
            total = total.saturating_add(*v);
            ctx.insert(d.clone());
            false
        });
        total = total.saturating_add(by);
        ctx.insert(dot.clone());
        self.store.0.entries.insert(dot.clone(), total);
        let mut store = CounterDots::default();
        store.0.entries.insert(dot, total);
        Causal::from_parts(store, ctx)
    }
}

impl<A: Ord + Clone + Codec + Debug> DeltaCrdt for Causal<CounterDots<A>, A> {
    type Actor = A;
    type Op = i64;
    type Value = i128;

    fn apply(&mut self, actor: &A, by: i64) -> Result<Self> {
        Ok(self.inc(actor.clone(), by))
    }

    fn value(&self) -> i128 {
        self.store.value()
    }
}

/// A last-writer-wins map: every key is a [`LwwRegister`] holding a value
/// or a removal, ordered by `(timestamp, actor, value)`.
///
/// ```
/// use murmura_crdt::{Lattice, LwwMap};
///
/// let mut a = LwwMap::new();
/// a.insert(1u64, 1u64, "k".to_string(), 10u64);
/// let mut b = a.clone();
/// b.remove(2, 2, "k".to_string());
/// a.merge(&b);
/// assert_eq!(a.get(&"k".to_string()), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct LwwMap<K: Ord, V, T, A> {
    entries: BTreeMap<K, LwwRegister<Option<V>, T, A>>,
}

impl<K: Ord, V, T, A> Default for LwwMap<K, V, T, A> {
    fn default() -> Self {
        Self {
            entries: BTreeMap::new(),
        }
    }
}

impl<K, V, T, A> LwwMap<K, V, T, A>
where
    K: Ord + Clone,
    V: Ord + Clone,
    T: Ord + Clone,
    A: Ord + Clone,
{
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key` to `value` at `timestamp` as `actor`; returns the delta.
    pub fn insert(&mut self, timestamp: T, actor: A, key: K, value: V) -> Self {
        self.write(timestamp, actor, key, Some(value))
    }

    /// Removes `key` at `timestamp` as `actor` (a removal is a write of
    /// "absent", kept so older writes stay beaten); returns the delta.
    pub fn remove(&mut self, timestamp: T, actor: A, key: K) -> Self {
        self.write(timestamp, actor, key, None)
    }

    fn write(&mut self, timestamp: T, actor: A, key: K, value: Option<V>) -> Self {
        let reg = self.entries.entry(key.clone()).or_default();
        let delta = reg.write(timestamp, actor, value);
        let mut entries = BTreeMap::new();
        if !delta.is_bottom() {
            entries.insert(key, delta);
        }
        Self { entries }
    }

    /// The value under `key`.
    pub fn get(&self, key: &K) -> Option<&V> {
        self.entries
            .get(key)
            .and_then(|r| r.get())
            .and_then(Option::as_ref)
    }

    /// Present keys and values, ascending.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.entries
            .iter()
            .filter_map(|(k, r)| r.get().and_then(Option::as_ref).map(|v| (k, v)))
    }
}

impl<K, V, T, A> Lattice for LwwMap<K, V, T, A>
where
    K: Ord + Clone,
    V: Ord + Clone,
    T: Ord + Clone,
    A: Ord + Clone,
{
    fn merge(&mut self, other: &Self) {
        for (k, r) in &other.entries {
            self.entries.entry(k.clone()).or_default().merge(r);
        }
    }
}

impl<K, V, T, A> DeltaCrdt for LwwMap<K, V, T, A>
where
    K: Ord + Clone,
    V: Ord + Clone,
    T: Ord + Clone,
    A: Ord + Clone,
{
    type Actor = A;
    /// Timestamp, key, and the value (`None` removes).
    type Op = (T, K, Option<V>);
    type Value = BTreeMap<K, V>;

    fn apply(&mut self, actor: &A, (t, k, v): Self::Op) -> Result<Self> {
        Ok(self.write(t, actor.clone(), k, v))
    }

    fn value(&self) -> BTreeMap<K, V> {
        self.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }
}

/// State-driven: the peer sends its map; the answer holds the keys where
/// this replica's write wins.
impl<K, V, T, A> AntiEntropy for LwwMap<K, V, T, A>
where
    K: Ord + Clone,
    V: Ord + Clone,
    T: Ord + Clone,
    A: Ord + Clone,
{
    type Digest = Self;

    fn digest(&self) -> Self {
        self.clone()
    }

    fn missing(&self, peer: &Self) -> Self {
        let empty = LwwRegister::default();
        Self {
            entries: self
                .entries
                .iter()
                .map(|(k, r)| (k, r.missing(peer.entries.get(k).unwrap_or(&empty))))
                .filter(|(_, r)| !r.is_bottom())
                .map(|(k, r)| (k.clone(), r))
                .collect(),
        }
    }
}

impl<K, V, T, A> Codec for LwwMap<K, V, T, A>
where
    K: Ord + Clone + Codec,
    V: Ord + Clone + Codec,
    T: Ord + Clone + Codec,
    A: Ord + Clone + Codec,
{
    fn encode(&self, out: &mut Vec<u8>) {
        put_varint(out, self.entries.len() as u64);
        for (k, r) in &self.entries {
            k.encode(out);
            r.encode(out);
        }
    }

    fn decode(reader: &mut Reader<'_>) -> Result<Self> {
        let n = read_count(reader, K::MIN_LEN + 1)?;
        let mut entries = BTreeMap::new();
        let mut last: Option<K> = None;
        for _ in 0..n {
            let k = K::decode(reader)?;
            if last.as_ref().is_some_and(|l| *l >= k) {
                return Err(DecodeError::Invalid("unsorted keys").into());
            }
            let r = LwwRegister::decode(reader)?;
            if r.is_bottom() {
                return Err(DecodeError::Invalid("unwritten register in a map").into());
            }
            last = Some(k.clone());
            entries.insert(k, r);
        }
        Ok(Self { entries })
    }
}
