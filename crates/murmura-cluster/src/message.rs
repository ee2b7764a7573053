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
    /// Anti-entropy, narrowing down: for each listed node of the key-hash
    /// tree (a prefix of `4 × level` bits), the hashes of its 16 children.
    Summary {
        /// Depth of the listed nodes (0: the root).
        level: u8,
        /// `(prefix, child hashes)` per node.
        nodes: Vec<(u64, [u32; FANOUT])>,
    },
    /// Anti-entropy, at the leaves: the CRDT digests of every key held in
    /// the listed ranges. `answer` asks the receiver to send its own
    /// digests of the same ranges back.
    Digests {
        /// Ranges covered, as `(level, prefix)` (keys in them that are not
        /// listed are not held).
        ranges: Vec<(u8, u64)>,
        /// `(key, digest)` for each key held in those ranges.
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
            Message::Summary { level, nodes } => {
                out.push(7);
                out.push(*level);
                put_varint(out, nodes.len() as u64);
                for (prefix, children) in nodes {
                    put_varint(out, *prefix);
                    for h in children {
                        out.extend_from_slice(&h.to_le_bytes());
                    }
                }
            }
            Message::Digests {
                ranges,
                entries,
                answer,
            } => {
                out.push(8);
                put_varint(out, ranges.len() as u64);
                for (level, prefix) in ranges {
                    out.push(*level);
                    put_varint(out, *prefix);
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
                    let level = tree_level(r)?;
                    let n = r.count(1 + 4 * FANOUT)?;
                    let mut nodes = Vec::with_capacity(n);
                    for _ in 0..n {
                        let prefix = tree_prefix(r, level)?;
                        let mut children = [0u32; FANOUT];
                        for h in &mut children {
                            *h = r.u32_le()?;
                        }
                        nodes.push((prefix, children));
                    }
                    Message::Summary { level, nodes }
                }
                8 => {
                    let n = r.count(2)?;
                    let mut ranges = Vec::with_capacity(n);
                    for _ in 0..n {
                        let level = tree_level(r)?;
                        ranges.push((level, tree_prefix(r, level)?));
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
                        ranges,
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

/// Children per node of the anti-entropy key-hash tree.
pub const FANOUT: usize = 16;

/// Deepest level of the tree (prefixes of 48 bits).
pub const MAX_LEVEL: u8 = 12;

fn tree_level(r: &mut Reader<'_>) -> murmura_crdt::Result<u8> {
    let level = r.u8()?;
    if level > MAX_LEVEL {
        return Err(DecodeError::Invalid("anti-entropy level too deep").into());
    }
    Ok(level)
}

fn tree_prefix(r: &mut Reader<'_>, level: u8) -> murmura_crdt::Result<u64> {
    let prefix = r.varint()?;
    if level < 16 && prefix >> (4 * u32::from(level)) != 0 {
        return Err(DecodeError::Invalid("anti-entropy prefix longer than its level").into());
    }
    Ok(prefix)
}

fn unknown(what: &'static str, tag: u8) -> murmura_crdt::Error {
    DecodeError::UnknownTag {
        what,
        tag: u64::from(tag),
    }
    .into()
}
