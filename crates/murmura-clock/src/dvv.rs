//! Dotted version vector sets (Preguiça, Baquero, Almeida, Fonte, Gonçalves),
//! in the compact "DVVSet" form Riak uses for a key's sibling values.

use crate::{ActorCodec, ClockError, Dot, Result, VersionVector};
use murmura_core::codec::{DecodeError, Reader, put_varint};
use std::cmp::Ordering;

/// One replica's entry: its counter and the values of its latest events.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
struct Entry<A, V> {
    actor: A,
    counter: u64,
    /// Oldest first: `values[k]` was written at dot
    /// `(actor, counter - values.len() + 1 + k)`.
    values: Vec<V>,
}

impl<A, V> Entry<A, V> {
    /// Counter of the oldest event whose value is still held, minus one:
    /// every event up to here is only in the causal past.
    fn past(&self) -> u64 {
        self.counter - self.values.len() as u64
    }
}

/// A dotted version vector set: the concurrent values (siblings) stored
/// under one key, with the causal history that explains them.
///
/// Replicas are the actors (never clients), so the clock stays as small as
/// the replica set however many clients write. Each replica entry keeps a
/// counter and the values of its latest events; a value written at dot
/// `(r, n)` survives until a write whose context has seen `(r, n)` replaces
/// it. The usual flow: a client reads [`values`](Self::values) and the
/// context [`join`](Self::join), then writes back a new value with that
/// context through any replica's [`update`](Self::update); replicas
/// reconcile with [`sync`](Self::sync).
///
/// ```
/// use murmura_clock::DvvSet;
///
/// let mut key: DvvSet<&str, &str> = DvvSet::new();
/// // Two clients write without having read anything: two siblings.
/// key.update(&Default::default(), "r1", "blue");
/// key.update(&Default::default(), "r1", "green");
/// let mut siblings: Vec<_> = key.values().copied().collect();
/// siblings.sort();
/// assert_eq!(siblings, ["blue", "green"]);
///
/// // A client read both and writes the resolution with that context.
/// let context = key.join();
/// key.update(&context, "r2", "teal");
/// assert_eq!(key.values().collect::<Vec<_>>(), [&"teal"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct DvvSet<A, V> {
    entries: Vec<Entry<A, V>>,
    /// Values without a dot yet (from [`DvvSet::with_value`] or reconciliation).
    anonymous: Vec<V>,
}

impl<A, V> Default for DvvSet<A, V> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
            anonymous: Vec::new(),
        }
    }
}

/// Values of `a` at-or-after the events `b` has seen, for one actor.
fn merge_entry<A: Clone, V: Clone>(a: &Entry<A, V>, b: &Entry<A, V>) -> Entry<A, V> {
    let (hi, lo) = if a.counter >= b.counter {
        (a, b)
    } else {
        (b, a)
    };
    // Events beyond `lo.past()` are all known to `hi` (counter is higher)
    // but `hi` discarded those it did not keep; `lo` may keep some that
    // `hi` has already replaced. Keep `hi`'s values newer than `lo.past()`.
    let keep = if hi.past() >= lo.past() {
        hi.values.len()
    } else {
        (hi.counter - lo.past()) as usize
    };
    let start = hi.values.len() - keep;
    Entry {
        actor: hi.actor.clone(),
        counter: hi.counter,
        values: hi.values[start..].to_vec(),
    }
}

impl<A: Ord + Clone, V: Clone + PartialEq> DvvSet<A, V> {
    /// An empty set: no values, no history.
    pub fn new() -> Self {
        Self::default()
    }

    /// A set holding `value` with no history (Riak's `new(V)`).
    pub fn with_value(value: V) -> Self {
        Self {
            entries: Vec::new(),
            anonymous: vec![value],
        }
    }

    /// A set holding `value` written with causal `context` (Riak's
    /// `new(VV, V)`): a client's write before a replica stamps it.
    pub fn with_context(context: &VersionVector<A>, value: V) -> Self {
        Self {
            entries: context
                .iter()
                .map(|(a, c)| Entry {
                    actor: a.clone(),
                    counter: c,
                    values: Vec::new(),
                })
                .collect(),
            anonymous: vec![value],
        }
    }

    /// Whether `self` has strictly less history than `other`.
    fn strictly_before(&self, other: &Self) -> bool {
        let (a, b) = (self.join(), other.join());
        a.causality(&b) == crate::Causality::Before
    }

    /// Merges `other` into `self`: values either side's history has replaced
    /// disappear, concurrent values stay as siblings.
    pub fn sync(&mut self, other: &Self) {
        let anonymous = if self.strictly_before(other) {
            other.anonymous.clone()
        } else if other.strictly_before(self) {
            std::mem::take(&mut self.anonymous)
        } else {
            let mut all = std::mem::take(&mut self.anonymous);
            for v in &other.anonymous {
                if !all.contains(v) {
                    all.push(v.clone());
                }
            }
            all
        };
        let (a, b) = (std::mem::take(&mut self.entries), &other.entries);
        let mut merged = Vec::with_capacity(a.len().max(b.len()));
        let (mut i, mut j) = (0, 0);
        while i < a.len() || j < b.len() {
            let order = match (a.get(i), b.get(j)) {
                (Some(x), Some(y)) => x.actor.cmp(&y.actor),
                (Some(_), None) => Ordering::Less,
                _ => Ordering::Greater,
            };
            match order {
                Ordering::Less => {
                    merged.push(a[i].clone());
                    i += 1;
                }
                Ordering::Greater => {
                    merged.push(b[j].clone());
                    j += 1;
                }
                Ordering::Equal => {
                    merged.push(merge_entry(&a[i], &b[j]));
                    i += 1;
                    j += 1;
                }
            }
        }
        self.entries = merged;
        self.anonymous = anonymous;
    }

    /// The causal history as a version vector: the context a client
    /// passes back with its next write.
    pub fn join(&self) -> VersionVector<A> {
        self.entries
            .iter()
            .map(|e| (e.actor.clone(), e.counter))
            .collect()
    }

    /// Replica `actor` stores `value` written by a client that had seen
    /// `context`: values the context covers are discarded, and the new value
    /// gets the next dot of `actor`, which is returned.
    pub fn update(&mut self, context: &VersionVector<A>, actor: A, value: V) -> Dot<A> {
        let client = Self {
            entries: context
                .iter()
                .map(|(a, c)| Entry {
                    actor: a.clone(),
                    counter: c,
                    values: Vec::new(),
                })
                .collect(),
            anonymous: Vec::new(),
        };
        // Anonymous values survive unless the context strictly dominates.
        self.sync(&client);
        self.event(actor, value)
    }

    /// Gives every anonymous value (from [`with_value`](Self::with_value)
    /// or [`reconcile`](Self::reconcile)) its own new dot of `actor`
    /// (Riak's `update(C, I)`); returns the last dot issued, if any.
    pub fn stamp(&mut self, actor: A) -> Option<Dot<A>> {
        let mut last = None;
        for value in std::mem::take(&mut self.anonymous) {
            last = Some(self.event(actor.clone(), value));
        }
        last
    }

    /// Adds `value` as a new event of `actor` with no context: it becomes a
    /// sibling of every current value.
    fn event(&mut self, actor: A, value: V) -> Dot<A> {
        match self.entries.binary_search_by(|e| e.actor.cmp(&actor)) {
            Ok(i) => {
                let e = &mut self.entries[i];
                e.counter = e.counter.saturating_add(1);
                e.values.push(value);
                Dot::new(actor, e.counter)
            }
            Err(i) => {
                self.entries.insert(
                    i,
                    Entry {
                        actor: actor.clone(),
                        counter: 1,
                        values: vec![value],
                    },
                );
                Dot::new(actor, 1)
            }
        }
    }

    /// Every current value (the siblings), anonymous ones first.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.anonymous
            .iter()
            .chain(self.entries.iter().flat_map(|e| e.values.iter()))
    }

    /// Every current value with the dot that wrote it (anonymous values,
    /// which have none, are skipped).
    pub fn dotted_values(&self) -> impl Iterator<Item = (Dot<A>, &V)> {
        self.entries.iter().flat_map(|e| {
            let past = e.past();
            e.values
                .iter()
                .enumerate()
                .map(move |(k, v)| (Dot::new(e.actor.clone(), past + 1 + k as u64), v))
        })
    }

    /// Number of current values.
    pub fn len(&self) -> usize {
        self.anonymous.len() + self.entries.iter().map(|e| e.values.len()).sum::<usize>()
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The replicas in the history.
    pub fn ids(&self) -> impl Iterator<Item = &A> {
        self.entries.iter().map(|e| &e.actor)
    }

    /// Replaces all siblings by `resolve(siblings)` as one anonymous value
    /// that keeps the full history (Riak's `reconcile`); write it back with
    /// [`update`](Self::update) and the [`join`](Self::join) context to stamp it.
    pub fn reconcile(&mut self, resolve: impl FnOnce(Vec<V>) -> V) {
        let values: Vec<V> = self.values().cloned().collect();
        for e in &mut self.entries {
            e.values.clear();
        }
        self.anonymous = vec![resolve(values)];
    }
}

impl<A, V> DvvSet<A, V>
where
    A: Ord + Clone + ActorCodec,
    V: Clone + PartialEq + ActorCodec,
{
    /// Appends the binary encoding: entries (actor, counter, value count,
    /// values oldest first), then anonymous values. Values use the same
    /// [`ActorCodec`] trait as actors (it is implemented for byte vectors and
    /// strings).
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_varint(out, self.entries.len() as u64);
        let mut prev: Option<&A> = None;
        for e in &self.entries {
            match prev {
                None => e.actor.encode_actor(out),
                Some(p) => e.actor.encode_after(p, out),
            }
            prev = Some(&e.actor);
            put_varint(out, e.counter);
            put_varint(out, e.values.len() as u64);
            for v in &e.values {
                v.encode_actor(out);
            }
        }
        put_varint(out, self.anonymous.len() as u64);
        for v in &self.anonymous {
            v.encode_actor(out);
        }
    }

    /// The encoding as a new vector.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }

    /// Reads a set from `reader`, rejecting unsorted replicas, zero
    /// counters and more values than events.
    pub fn decode_from(reader: &mut Reader<'_>) -> Result<Self> {
        let n = reader.count(A::MIN_ENCODED_LEN + 2)?;
        let mut entries: Vec<Entry<A, V>> = Vec::with_capacity(n);
        for _ in 0..n {
            let actor = match entries.last() {
                None => A::decode_actor(reader)?,
                Some(prev) => {
                    let actor = A::decode_after(&prev.actor, reader)?;
                    if actor <= prev.actor {
                        return Err(DecodeError::Invalid("dvvset replicas not sorted").into());
                    }
                    actor
                }
            };
            let counter = reader.varint()?;
            if counter == 0 {
                return Err(DecodeError::Invalid("dvvset counter 0").into());
            }
            let k = reader.count(V::MIN_ENCODED_LEN)?;
            if k as u64 > counter {
                return Err(DecodeError::Invalid("dvvset has more values than events").into());
            }
            let mut values = Vec::with_capacity(k);
            for _ in 0..k {
                values.push(V::decode_actor(reader)?);
            }
            entries.push(Entry {
                actor,
                counter,
                values,
            });
        }
        let k = reader.count(V::MIN_ENCODED_LEN)?;
        let mut anonymous = Vec::with_capacity(k);
        for _ in 0..k {
            anonymous.push(V::decode_actor(reader)?);
        }
        Ok(Self { entries, anonymous })
    }

    /// Decodes a set that fills `bytes` exactly.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        let mut reader = Reader::new(bytes);
        let set = Self::decode_from(&mut reader)?;
        reader.finish().map_err(ClockError::from)?;
        Ok(set)
    }
}

#[cfg(feature = "serde")]
#[cfg_attr(docsrs, doc(cfg(feature = "serde")))]
impl<'de, A, V> serde::Deserialize<'de> for DvvSet<A, V>
where
    A: Ord + serde::Deserialize<'de>,
    V: serde::Deserialize<'de>,
{
    /// Accepts only valid sets: replicas sorted without repeats, counters
    /// at least 1, no more values than events.
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(rename = "DvvSet")]
        struct Repr<A, V> {
            entries: Vec<Entry<A, V>>,
            anonymous: Vec<V>,
        }
        let repr = Repr::<A, V>::deserialize(deserializer)?;
        let sorted = repr.entries.windows(2).all(|w| w[0].actor < w[1].actor);
        let counts = repr
            .entries
            .iter()
            .all(|e| e.counter >= 1 && e.values.len() as u64 <= e.counter);
        if !sorted || !counts {
            return Err(serde::de::Error::custom(
                "invalid dotted version vector set",
            ));
        }
        Ok(Self {
            entries: repr.entries,
            anonymous: repr.anonymous,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Set = DvvSet<u64, String>;

    fn vals(s: &Set) -> Vec<String> {
        let mut v: Vec<String> = s.values().cloned().collect();
        v.sort();
        v
    }

    #[test]
    fn riak_style_put_get_sequence() {
        // The example from the DVVSet paper / dvvset.erl documentation.
        let mut a = Set::new();
        a.update(&VersionVector::new(), 1, "v1".into());
        let ctx = a.join();
        let mut b = a.clone();
        b.update(&ctx, 2, "v2".into());
        a.update(&VersionVector::new(), 1, "v3".into());
        assert_eq!(vals(&a), ["v1", "v3"]);
        assert_eq!(vals(&b), ["v2"]);
        a.sync(&b);
        assert_eq!(vals(&a), ["v2", "v3"]);
        let dots: Vec<_> = a.dotted_values().map(|(d, _)| d).collect();
        assert_eq!(dots, [Dot::new(1, 2), Dot::new(2, 1)]);
        let ctx = a.join();
        a.update(&ctx, 1, "v4".into());
        assert_eq!(vals(&a), ["v4"]);
        assert_eq!(a.join().get(&1), 3);
    }

    #[test]
    fn anonymous_values_and_reconcile() {
        let mut a = Set::with_value("x".into());
        let b = Set::with_value("y".into());
        a.sync(&b);
        a.sync(&b);
        assert_eq!(vals(&a), ["x", "y"]);
        a.update(&VersionVector::new(), 1, "z".into());
        assert_eq!(a.len(), 3);
        a.reconcile(|mut v| {
            v.sort();
            v.join("+")
        });
        assert_eq!(vals(&a), ["x+y+z"]);
        let ctx = a.join();
        let mut stamped = a.clone();
        stamped.update(&ctx.clone(), 1, "final".into());
        // The context equals the history, not strictly after it: the anonymous value stays.
        assert_eq!(vals(&stamped), ["final", "x+y+z"]);
        // Stamping gives the resolution a dot; the next write with context replaces it.
        assert_eq!(a.stamp(1), Some(Dot::new(1, 2)));
        let ctx = a.join();
        a.update(&ctx, 2, "next".into());
        assert_eq!(vals(&a), ["next"]);
        let w = Set::with_context(&ctx, "w".into());
        assert_eq!(w.join(), ctx);
    }

    #[test]
    fn encoding_round_trips_and_rejects() {
        let mut a = Set::new();
        a.update(&VersionVector::new(), 3, "a".into());
        a.update(&VersionVector::new(), 9, "b".into());
        a.anonymous.push("anon".into());
        let bytes = a.to_bytes();
        // 2 entries | actor 3, counter 1, 1 value "a" | actor 9 (gap 5), counter 1, "b" | 1 anonymous "anon"
        assert_eq!(
            bytes,
            [
                2, 3, 1, 1, 1, b'a', 5, 1, 1, 1, b'b', 1, 4, b'a', b'n', b'o', b'n'
            ]
        );
        assert_eq!(Set::decode(&bytes), Ok(a));
        // one entry, counter 1, two values: more values than events
        assert!(Set::decode(&[1, 5, 1, 2, 0, 0, 0]).is_err());
        assert!(Set::decode(&[1, 5, 0, 0, 0]).is_err());
        assert!(Set::decode(&[0xff, 0xff, 0x7f]).is_err());
    }
}
