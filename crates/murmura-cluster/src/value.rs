//! What the store holds under each key: any CRDT that can apply an
//! operation, merge, and answer anti-entropy ([`StoreValue`]), and the
//! ready-made [`Value`] with counters, sets and registers.

use murmura_clock::Timestamp;
use murmura_clock::hlc::Hlc;
use murmura_core::codec::{DecodeError, Reader};
use murmura_core::time::ManualClock;
use murmura_crdt::{AntiEntropy, Codec, Digest, Lattice, LwwRegister, ORSet, PNCounter};

/// Who is writing and when: handed to [`StoreValue::apply`] by the
/// replica that coordinates the write.
#[derive(Debug)]
pub struct OpContext<'a> {
    /// The coordinating replica's actor id (unique per store incarnation).
    pub actor: u64,
    /// The coordinating replica's hybrid logical clock, for timestamps
    /// that respect causality (last-writer-wins registers).
    pub hlc: &'a Hlc<ManualClock>,
}

/// Why a value refused an operation. The value is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValueError {
    /// The key holds a value of another type than the operation is for.
    #[error("the key holds a {held}, the operation is for a {wanted}")]
    WrongType {
        /// The type the key holds.
        held: &'static str,
        /// The type the operation applies to.
        wanted: &'static str,
    },
    /// The operation would overflow the value or the clock.
    #[error("the operation overflows: {0}")]
    Overflow(&'static str),
}

/// A CRDT the store can hold: it applies operations as deltas, merges,
/// answers anti-entropy, and has a wire form. Implement it for your own
/// types to store them; [`Value`] covers counters, sets and registers.
pub trait StoreValue: Lattice + AntiEntropy + Codec
where
    Self::Digest: Codec,
{
    /// One operation on the value, as a client sends it.
    type Op: Codec + Clone + std::fmt::Debug;

    /// Applies `op` and returns the delta to ship to the other replicas.
    /// On error the value is unchanged.
    fn apply(&mut self, ctx: &OpContext<'_>, op: &Self::Op) -> Result<Self, ValueError>;
}

/// The ready-made value: a key holds one of these types, fixed by its
/// first write. An operation for another type is refused with
/// [`ValueError::WrongType`].
///
/// Merging two different kinds (two clients raced to create a key with
/// different types) keeps the kind with the higher tag (counter < set <
/// register) deterministically on every replica, so replicas still agree.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Value {
    /// Nothing written yet (the lattice's bottom).
    #[default]
    Empty,
    /// A counter that goes up and down.
    Counter(PNCounter<u64>),
    /// An add-wins set of strings.
    Set(ORSet<String, u64>),
    /// A last-writer-wins register of bytes, stamped by the coordinator's HLC.
    Register(LwwRegister<Vec<u8>, Timestamp, u64>),
}

/// An operation on a [`Value`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Adds to a counter (negative subtracts).
    Add(i64),
    /// Adds an element to a set.
    Insert(String),
    /// Removes an element from a set (observed-remove).
    Remove(String),
    /// Writes a register.
    Write(Vec<u8>),
}

/// The anti-entropy digest of a [`Value`].
#[derive(Debug, Clone, PartialEq)]
pub enum ValueDigest {
    /// Of an empty value.
    Empty,
    /// A counter's digest is its (small) state.
    Counter(PNCounter<u64>),
    /// A set's causal digest.
    Set(Digest<u64>),
    /// A register's digest is its state.
    Register(LwwRegister<Vec<u8>, Timestamp, u64>),
}

impl Value {
    /// The name of the kind held, as errors and APIs print it.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Empty => "empty",
            Value::Counter(_) => "counter",
            Value::Set(_) => "set",
            Value::Register(_) => "register",
        }
    }

    fn tag(&self) -> u8 {
        match self {
            Value::Empty => 0,
            Value::Counter(_) => 1,
            Value::Set(_) => 2,
            Value::Register(_) => 3,
        }
    }

    /// The counter's value, if this is a counter.
    pub fn as_counter(&self) -> Option<i128> {
        match self {
            Value::Counter(c) => Some(c.value()),
            _ => None,
        }
    }

    /// The set's elements in order, if this is a set.
    pub fn as_set(&self) -> Option<Vec<&str>> {
        match self {
            Value::Set(s) => Some(s.iter().map(String::as_str).collect()),
            _ => None,
        }
    }

    /// The register's bytes, if this is a register that was written.
    pub fn as_register(&self) -> Option<&[u8]> {
        match self {
            Value::Register(r) => r.get().map(Vec::as_slice),
            _ => None,
        }
    }
}

impl Op {
    fn wanted(&self) -> &'static str {
        match self {
            Op::Add(_) => "counter",
            Op::Insert(_) | Op::Remove(_) => "set",
            Op::Write(_) => "register",
        }
    }
}

impl Lattice for Value {
    fn merge(&mut self, other: &Self) {
        match (&mut *self, other) {
            (_, Value::Empty) => {}
            (Value::Counter(a), Value::Counter(b)) => a.merge(b),
            (Value::Set(a), Value::Set(b)) => a.merge(b),
            (Value::Register(a), Value::Register(b)) => a.merge(b),
            // Different kinds: the higher tag wins (a total order, so the
            // join stays commutative, associative and idempotent).
            (me, other) => {
                if other.tag() > me.tag() {
                    *me = other.clone();
                }
            }
        }
    }
}

impl AntiEntropy for Value {
    type Digest = ValueDigest;

    fn digest(&self) -> ValueDigest {
        match self {
            Value::Empty => ValueDigest::Empty,
            Value::Counter(c) => ValueDigest::Counter(c.digest()),
            Value::Set(s) => ValueDigest::Set(s.digest()),
            Value::Register(r) => ValueDigest::Register(r.digest()),
        }
    }

    fn missing(&self, peer: &ValueDigest) -> Self {
        match (self, peer) {
            (Value::Empty, _) => Value::Empty,
            (Value::Counter(c), ValueDigest::Counter(d)) => Value::Counter(c.missing(d)),
            (Value::Set(s), ValueDigest::Set(d)) => Value::Set(s.missing(d)),
            (Value::Register(r), ValueDigest::Register(d)) => Value::Register(r.missing(d)),
            // The peer holds another kind (or nothing): ship the whole state
            // and let the merge decide.
            (me, _) => me.clone(),
        }
    }
}

impl StoreValue for Value {
    type Op = Op;

    fn apply(&mut self, ctx: &OpContext<'_>, op: &Op) -> Result<Self, ValueError> {
        if let Value::Empty = self {
            *self = match op {
                Op::Add(_) => Value::Counter(PNCounter::new()),
                Op::Insert(_) | Op::Remove(_) => Value::Set(ORSet::new()),
                Op::Write(_) => Value::Register(LwwRegister::new()),
            };
        }
        let wrong = |held: &Value| ValueError::WrongType {
            held: held.kind(),
            wanted: op.wanted(),
        };
        match (&mut *self, op) {
            (Value::Counter(c), Op::Add(by)) => Ok(Value::Counter(if *by >= 0 {
                c.inc(ctx.actor, by.unsigned_abs())
            } else {
                c.dec(ctx.actor, by.unsigned_abs())
            })),
            (Value::Set(s), Op::Insert(e)) => Ok(Value::Set(s.add(ctx.actor, e.clone()))),
            (Value::Set(s), Op::Remove(e)) => Ok(Value::Set(s.remove(e))),
            (Value::Register(r), Op::Write(bytes)) => {
                // Stamp after whatever the register holds, so a write that
                // follows a read always wins over it.
                let stamp = match r.stamp() {
                    Some((held, _)) => ctx
                        .hlc
                        .update(*held)
                        .map_err(|_| ValueError::Overflow("clock"))?,
                    None => ctx.hlc.now(),
                };
                Ok(Value::Register(r.write(stamp, ctx.actor, bytes.clone())))
            }
            (held, _) => Err(wrong(held)),
        }
    }
}

impl Codec for Value {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.tag());
        match self {
            Value::Empty => {}
            Value::Counter(c) => c.encode(out),
            Value::Set(s) => s.encode(out),
            Value::Register(r) => r.encode(out),
        }
    }

    fn decode(reader: &mut Reader<'_>) -> murmura_crdt::Result<Self> {
        Ok(match reader.u8()? {
            0 => Value::Empty,
            1 => Value::Counter(Codec::decode(reader)?),
            2 => Value::Set(Codec::decode(reader)?),
            3 => Value::Register(Codec::decode(reader)?),
            tag => return Err(unknown("value", tag)),
        })
    }
}

impl Codec for ValueDigest {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            ValueDigest::Empty => out.push(0),
            ValueDigest::Counter(c) => {
                out.push(1);
                c.encode(out);
            }
            ValueDigest::Set(d) => {
                out.push(2);
                d.encode(out);
            }
            ValueDigest::Register(r) => {
                out.push(3);
                r.encode(out);
            }
        }
    }

    fn decode(reader: &mut Reader<'_>) -> murmura_crdt::Result<Self> {
        Ok(match reader.u8()? {
            0 => ValueDigest::Empty,
            1 => ValueDigest::Counter(Codec::decode(reader)?),
            2 => ValueDigest::Set(Codec::decode(reader)?),
            3 => ValueDigest::Register(Codec::decode(reader)?),
            tag => return Err(unknown("value digest", tag)),
        })
    }
}

impl Codec for Op {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Op::Add(by) => {
                out.push(1);
                by.encode(out);
            }
            Op::Insert(e) => {
                out.push(2);
                e.encode(out);
            }
            Op::Remove(e) => {
                out.push(3);
                e.encode(out);
            }
            Op::Write(bytes) => {
                out.push(4);
                bytes.encode(out);
            }
        }
    }

    fn decode(reader: &mut Reader<'_>) -> murmura_crdt::Result<Self> {
        Ok(match reader.u8()? {
            1 => Op::Add(Codec::decode(reader)?),
            2 => Op::Insert(Codec::decode(reader)?),
            3 => Op::Remove(Codec::decode(reader)?),
            4 => Op::Write(Codec::decode(reader)?),
            tag => return Err(unknown("operation", tag)),
        })
    }
}

fn unknown(what: &'static str, tag: u8) -> murmura_crdt::Error {
    DecodeError::UnknownTag {
        what,
        tag: u64::from(tag),
    }
    .into()
}
