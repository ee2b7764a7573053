//! The messages replicas exchange, and their wire form.
//!
//! One transmission to a peer is a *batch*: a version byte, a count, and
//! that many messages, so many writes to one peer travel together. Every
//! decoder reads through murmura-core's bounded [`Reader`]: counts are
//! checked against the bytes left before anything is allocated, and bad
//! input is a typed error, never a panic.

use crate::value::StoreValue;
use murmura_core::codec::{DecodeError, Reader, put_bytes, put_varint};
use murmura_crdt::Codec;

/// The wire version this build speaks.
pub const WIRE_VERSION: u8 = 1;

/// Longest key the store accepts (bytes).
pub const MAX_KEY_LEN: usize = 1024;

/// A request id, unique per coordinating replica.
pub type RequestId = u64;

/// Why a replica refused a forwarded write or a read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Refusal {
    /// The key holds a value of another type.
    WrongType = 1,
    /// The coordinator could not reach enough replicas in time.
    Unavailable = 2,
    /// The coordinator's queues are full.
    Overloaded = 3,
    /// The coordinator could not decode or apply the request.
    Invalid = 4,
}

/// One message between replicas.
#[derive(Debug, Clone, PartialEq)]
pub enum Message<V: StoreValue>
where
    V::Digest: Codec,
{
    /// Merge `delta` into `key`; acknowledge with [`Message::WriteAck`].
    /// With `hint_for`, the receiver is a stand-in for that replica and
    /// holds the delta until it can hand it over.
    Write {
        /// The coordinator's request id.
        req: RequestId,
        /// The key.
        key: Vec<u8>,
        /// The delta to merge.
        delta: V,
        /// The replica this write is meant for, when the receiver stands in.
        hint_for: Option<String>,
    },
    /// A [`Message::Write`] was applied (durably, if the receiver persists).
    WriteAck {
        /// The request acknowledged.
        req: RequestId,
    },
    /// A write sent from a member that does not replicate the key, to a
    /// replica that coordinates it.
    Forward {
        /// The sender's request id, echoed in the reply.
        req: RequestId,
        /// The key.
        key: Vec<u8>,
        /// The operation.
        op: V::Op,
        /// Acknowledgements the sender asked for.
        w: u8,
    },
    /// The outcome of a [`Message::Forward`].
    ForwardReply {
        /// The sender's request id.
        req: RequestId,
        /// `None` when the write was acknowledged by enough replicas.
        refused: Option<Refusal>,
    },
    /// Asks for a replica's state of `key`.
    Read {
        /// The reader's request id.
        req: RequestId,
        /// The key.
        key: Vec<u8>,
    },
    /// A replica's state of the key asked for (bottom if it holds none).
    ReadReply {
        /// The reader's request id.
        req: RequestId,
        /// The state.
        value: V,
    },
    /// Anti-entropy, step 1: per-bucket hashes of the keys both replicate.
    Summary {
        /// `(bucket, hash)` for every non-empty bucket.
        buckets: Vec<(u16, u64)>,
    },
    /// Anti-entropy, steps 2 and 3: the CRDT digests of every key held in
    /// buckets whose hashes differed. `answer` asks the receiver to send
    /// its own digests of the same buckets back.
    Digests {
        /// Buckets covered (keys in them that are not listed are not held).
        buckets: Vec<u16>,
        /// `(key, digest)` for each key held in those buckets.
        entries: Vec<(Vec<u8>, V::Digest)>,
        /// Whether the receiver should answer with its own digests.
        answer: bool,
    },
    /// What the receiver lacks, key by key; merged on receipt. With a
    /// `req`, the receiver acknowledges with [`Message::HandoffAck`] once
    /// every entry is held (rebalancing and hint delivery).
    Repair {
        /// Set when the sender waits for a confirmation.
        req: Option<RequestId>,
        /// `(key, state)` to merge.
        entries: Vec<(Vec<u8>, V)>,
    },
    /// Every entry of the [`Message::Repair`] with this request id is held.
    HandoffAck {
        /// The repair acknowledged.
        req: RequestId,
    },
}

/// Encodes a batch of messages as one transmission.
pub fn encode_batch<V: StoreValue>(messages: &[Message<V>], out: &mut Vec<u8>)
where
    V::Digest: Codec,
{
    out.push(WIRE_VERSION);
    put_varint(out, messages.len() as u64);
    for m in messages {
        m.encode(out);
    }
}

/// Decodes one transmission. On error nothing is returned: a batch is
/// applied whole or not at all.
pub fn decode_batch<V: StoreValue>(bytes: &[u8]) -> crate::Result<Vec<Message<V>>>
where
    V::Digest: Codec,
{
    let mut r = Reader::new(bytes);
    let version = r.u8().map_err(murmura_crdt::Error::from)?;
    if version != WIRE_VERSION {
        return Err(crate::Error::Version(version));
    }
    let n = r.count(1).map_err(murmura_crdt::Error::from)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(Message::decode(&mut r)?);
    }
    r.finish().map_err(murmura_crdt::Error::from)?;
    Ok(out)
}

fn put_key(out: &mut Vec<u8>, key: &[u8]) {
    put_bytes(out, key);
}

fn key(r: &mut Reader<'_>) -> murmura_crdt::Result<Vec<u8>> {
    let k = r.length_prefixed()?;
    if k.len() > MAX_KEY_LEN {
        return Err(DecodeError::Invalid("key longer than MAX_KEY_LEN").into());
    }
    Ok(k.to_vec())
}

impl<V: StoreValue> Message<V>
where
    V::Digest: Codec,
{
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Message::Write {
                req,
                key,
                delta,
                hint_for,
            } => {
                out.push(1);
                put_varint(out, *req);
                put_key(out, key);
                delta.encode(out);
                match hint_for {
                    None => out.push(0),
                    Some(name) => {
                        out.push(1);
                        put_bytes(out, name.as_bytes());
                    }
                }
            }
            Message::WriteAck { req } => {
                out.push(2);
                put_varint(out, *req);
            }
            Message::Forward { req, key, op, w } => {
                out.push(3);
                put_varint(out, *req);
                put_key(out, key);
                op.encode(out);
                out.push(*w);
            }
            Message::ForwardReply { req, refused } => {
                out.push(4);
                put_varint(out, *req);
                out.push(refused.map_or(0, |r| r as u8));
            }
            Message::Read { req, key } => {
                out.push(5);
                put_varint(out, *req);
                put_key(out, key);
            }
            Message::ReadReply { req, value } => {
                out.push(6);
                put_varint(out, *req);
                value.encode(out);
            }
            Message::Summary { buckets } => {
                out.push(7);
                put_varint(out, buckets.len() as u64);
                for (b, h) in buckets {
                    put_varint(out, u64::from(*b));
                    out.extend_from_slice(&h.to_le_bytes());
                }
            }
            Message::Digests {
                buckets,
                entries,
                answer,
            } => {
                out.push(8);
                put_varint(out, buckets.len() as u64);
                for b in buckets {
                    put_varint(out, u64::from(*b));
                }
                put_varint(out, entries.len() as u64);
                for (k, d) in entries {
                    put_key(out, k);
                    d.encode(out);
                }
                out.push(u8::from(*answer));
            }
            Message::Repair { req, entries } => {
                out.push(9);
                match req {
                    None => out.push(0),
                    Some(id) => {
                        out.push(1);
                        put_varint(out, *id);
                    }
                }
                put_varint(out, entries.len() as u64);
                for (k, v) in entries {
                    put_key(out, k);
                    v.encode(out);
                }
            }
            Message::HandoffAck { req } => {
                out.push(10);
                put_varint(out, *req);
            }
        }
    }

    fn decode(r: &mut Reader<'_>) -> crate::Result<Self> {
        let m = (|| -> murmura_crdt::Result<Self> {
            Ok(match r.u8()? {
                1 => {
                    let req = r.varint()?;
                    let key = key(r)?;
                    let delta = V::decode(r)?;
                    let hint_for = match r.u8()? {
                        0 => None,
                        1 => Some(
                            std::str::from_utf8(r.length_prefixed()?)
                                .map_err(|_| DecodeError::Invalid("member name is not UTF-8"))?
                                .to_owned(),
                        ),
                        tag => return Err(unknown("hint flag", tag)),
                    };
                    Message::Write {
                        req,
                        key,
                        delta,
                        hint_for,
                    }
                }
                2 => Message::WriteAck { req: r.varint()? },
                3 => Message::Forward {
                    req: r.varint()?,
                    key: key(r)?,
                    op: V::Op::decode(r)?,
                    w: r.u8()?,
                },
                4 => {
                    let req = r.varint()?;
                    let refused = match r.u8()? {
                        0 => None,
                        1 => Some(Refusal::WrongType),
                        2 => Some(Refusal::Unavailable),
                        3 => Some(Refusal::Overloaded),
                        4 => Some(Refusal::Invalid),
                        tag => return Err(unknown("refusal", tag)),
                    };
                    Message::ForwardReply { req, refused }
                }
                5 => Message::Read {
                    req: r.varint()?,
                    key: key(r)?,
                },
                6 => Message::ReadReply {
                    req: r.varint()?,
                    value: V::decode(r)?,
                },
                7 => {
                    let n = r.count(9)?;
                    let mut buckets = Vec::with_capacity(n);
                    for _ in 0..n {
                        buckets.push((bucket(r)?, r.u64_le()?));
                    }
                    Message::Summary { buckets }
                }
                8 => {
                    let n = r.count(1)?;
                    let mut buckets = Vec::with_capacity(n);
                    for _ in 0..n {
                        buckets.push(bucket(r)?);
                    }
                    let n = r.count(2)?;
                    let mut entries = Vec::with_capacity(n);
                    for _ in 0..n {
                        entries.push((key(r)?, V::Digest::decode(r)?));
                    }
                    let answer = match r.u8()? {
                        0 => false,
                        1 => true,
                        tag => return Err(unknown("answer flag", tag)),
                    };
                    Message::Digests {
                        buckets,
                        entries,
                        answer,
                    }
                }
                9 => {
                    let req = match r.u8()? {
                        0 => None,
                        1 => Some(r.varint()?),
                        tag => return Err(unknown("request flag", tag)),
                    };
                    let n = r.count(2)?;
                    let mut entries = Vec::with_capacity(n);
                    for _ in 0..n {
                        entries.push((key(r)?, V::decode(r)?));
                    }
                    Message::Repair { req, entries }
                }
                10 => Message::HandoffAck { req: r.varint()? },
                tag => return Err(unknown("message", tag)),
            })
        })()?;
        Ok(m)
    }
}

/// Buckets of the anti-entropy summary: the top bits of a key's hash.
pub const BUCKETS: u16 = 1024;

fn bucket(r: &mut Reader<'_>) -> murmura_crdt::Result<u16> {
    let b = r.varint()?;
    u16::try_from(b)
        .ok()
        .filter(|b| *b < BUCKETS)
        .ok_or_else(|| DecodeError::Invalid("anti-entropy bucket out of range").into())
}

fn unknown(what: &'static str, tag: u8) -> murmura_crdt::Error {
    DecodeError::UnknownTag {
        what,
        tag: u64::from(tag),
    }
    .into()
}
