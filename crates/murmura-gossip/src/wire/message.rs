//! The gossip messages and their binary form.
//!
//! A datagram or stream payload is a *compound*: a varint count followed by
//! that many messages, each `kind: u8 | body length: varint | body`. The
//! length prefix lets a member skip kinds it does not know, so a newer
//! version can add kinds without breaking older members.

use murmura_core::codec::{DecodeError, DecodeResult, Reader, put_bytes, put_varint, varint_len};

use crate::address::Address;
use crate::member::State;

/// Longest member name in bytes.
pub const MAX_NAME_LEN: usize = 255;
/// Longest metadata blob the wire accepts (configs may set a lower limit).
pub const MAX_META_LEN: usize = 4096;
/// Longest user-broadcast invalidation key.
pub const MAX_KEY_LEN: usize = 255;
/// Most messages in one compound.
pub const MAX_COMPOUND: usize = 1 << 16;

/// A direct probe: "are you `target`? answer with an ack carrying `seq`".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ping {
    /// Sequence number the ack must echo.
    pub seq: u32,
    /// Name of the member the sender thinks it is talking to.
    pub target: String,
    /// The sender's name: a receiver that holds the sender suspect, dead or
    /// left tells it so in the ack, and the sender refutes.
    pub from: String,
}

/// An indirect probe request: "please ping `target` at `target_addr` for me".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PingReq<A> {
    /// Sequence number of the requester's probe, echoed in the ack or nack.
    pub seq: u32,
    /// Name of the member to probe.
    pub target: String,
    /// Where to reach it.
    pub target_addr: A,
}

/// "I am alive", or (for a relay) "the target answered".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ack {
    /// The probe's sequence number.
    pub seq: u32,
}

/// Sent by an indirect-probe helper whose target stayed silent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nack {
    /// The requester's probe sequence number.
    pub seq: u32,
}

/// A member is alive at an incarnation, at an address, with metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alive<A> {
    /// Member name.
    pub name: String,
    /// Where it listens.
    pub addr: A,
    /// Its incarnation number.
    pub incarnation: u64,
    /// Its application metadata.
    pub meta: Vec<u8>,
}

/// An accusation: `from` suspects (or has declared dead) `name` at `incarnation`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accusation {
    /// Accused member.
    pub name: String,
    /// Incarnation the accusation is about.
    pub incarnation: u64,
    /// Accusing member.
    pub from: String,
}

/// A member leaves gracefully at an incarnation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leave {
    /// Leaving member.
    pub name: String,
    /// Its incarnation.
    pub incarnation: u64,
}

/// An application payload spread by gossip. A newer broadcast with the same
/// key replaces an older one still in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserBroadcast {
    /// Invalidation key.
    pub key: Vec<u8>,
    /// Payload.
    pub payload: Vec<u8>,
}

/// An application message for one member, sent over a stream (so it may be
/// larger than a datagram).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Direct {
    /// The sender's name.
    pub from: String,
    /// Payload.
    pub payload: Vec<u8>,
}

/// One member's state in a push-pull exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberState<A> {
    /// Member name.
    pub name: String,
    /// Its address.
    pub addr: A,
    /// Its incarnation.
    pub incarnation: u64,
    /// What the sender believes about it.
    pub state: State,
    /// Its metadata.
    pub meta: Vec<u8>,
}

/// A full-state exchange (anti-entropy), sent over a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushPull<A> {
    /// The sender's name.
    pub from: String,
    /// Sent by a joining member.
    pub join: bool,
    /// This is the answer to a push-pull (no answer is expected).
    pub reply: bool,
    /// The sender's member table.
    pub members: Vec<MemberState<A>>,
    /// Application state (see [`BroadcastHandler::local_state`](crate::BroadcastHandler::local_state)).
    pub app_state: Vec<u8>,
}

/// Every message kind.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Message<A> {
    Ping(Ping),
    PingReq(PingReq<A>),
    Ack(Ack),
    Nack(Nack),
    Alive(Alive<A>),
    Suspect(Accusation),
    Dead(Accusation),
    Leave(Leave),
    User(UserBroadcast),
    PushPull(PushPull<A>),
    Direct(Direct),
}

const PING: u8 = 1;
const PING_REQ: u8 = 2;
const ACK: u8 = 3;
const NACK: u8 = 4;
const ALIVE: u8 = 5;
const SUSPECT: u8 = 6;
const DEAD: u8 = 7;
const LEAVE: u8 = 8;
const USER: u8 = 9;
const PUSH_PULL: u8 = 10;
const DIRECT: u8 = 11;

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_bytes(out, s.as_bytes());
}

fn read_limited<'a>(r: &mut Reader<'a>, max: usize, what: &'static str) -> DecodeResult<&'a [u8]> {
    let start = r.clone();
    let bytes = r.length_prefixed()?;
    if bytes.len() > max {
        *r = start;
        return Err(DecodeError::OutOfRange {
            what,
            value: bytes.len() as u64,
        });
    }
    Ok(bytes)
}

fn read_name(r: &mut Reader<'_>) -> DecodeResult<String> {
    let bytes = read_limited(r, MAX_NAME_LEN, "name length")?;
    if bytes.is_empty() {
        return Err(DecodeError::Invalid("empty member name"));
    }
    String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError::Invalid("member name is not UTF-8"))
}

fn read_state(r: &mut Reader<'_>) -> DecodeResult<State> {
    match r.u8()? {
        0 => Ok(State::Alive),
        1 => Ok(State::Suspect),
        2 => Ok(State::Dead),
        3 => Ok(State::Left),
        tag => Err(DecodeError::UnknownTag {
            what: "member state",
            tag: u64::from(tag),
        }),
    }
}

impl<A: Address> Message<A> {
    fn kind(&self) -> u8 {
        match self {
            Message::Ping(_) => PING,
            Message::PingReq(_) => PING_REQ,
            Message::Ack(_) => ACK,
            Message::Nack(_) => NACK,
            Message::Alive(_) => ALIVE,
            Message::Suspect(_) => SUSPECT,
            Message::Dead(_) => DEAD,
            Message::Leave(_) => LEAVE,
            Message::User(_) => USER,
            Message::PushPull(_) => PUSH_PULL,
            Message::Direct(_) => DIRECT,
        }
    }

    fn encode_body(&self, out: &mut Vec<u8>) {
        match self {
            Message::Ping(m) => {
                put_varint(out, u64::from(m.seq));
                put_str(out, &m.target);
                put_str(out, &m.from);
            }
            Message::PingReq(m) => {
                put_varint(out, u64::from(m.seq));
                put_str(out, &m.target);
                m.target_addr.encode(out);
            }
            Message::Ack(Ack { seq }) | Message::Nack(Nack { seq }) => {
                put_varint(out, u64::from(*seq));
            }
            Message::Alive(m) => {
                put_str(out, &m.name);
                m.addr.encode(out);
                put_varint(out, m.incarnation);
                put_bytes(out, &m.meta);
            }
            Message::Suspect(m) | Message::Dead(m) => {
                put_str(out, &m.name);
                put_varint(out, m.incarnation);
                put_str(out, &m.from);
            }
            Message::Leave(m) => {
                put_str(out, &m.name);
                put_varint(out, m.incarnation);
            }
            Message::User(m) => {
                put_bytes(out, &m.key);
                put_bytes(out, &m.payload);
            }
            Message::Direct(m) => {
                put_str(out, &m.from);
                put_bytes(out, &m.payload);
            }
            Message::PushPull(m) => {
                put_str(out, &m.from);
                out.push(u8::from(m.join) | (u8::from(m.reply) << 1));
                put_varint(out, m.members.len() as u64);
                for s in &m.members {
                    put_str(out, &s.name);
                    s.addr.encode(out);
                    put_varint(out, s.incarnation);
                    out.push(s.state as u8);
                    put_bytes(out, &s.meta);
                }
                put_bytes(out, &m.app_state);
            }
        }
    }

    /// Appends `kind | length | body`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut body = Vec::new();
        self.encode_body(&mut body);
        out.push(self.kind());
        put_bytes(out, &body);
    }

    /// The encoded message as a new vector.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }

    /// Decodes one message body of the given kind; `Ok(None)` for unknown kinds.
    fn decode_body(kind: u8, body: &[u8]) -> DecodeResult<Option<Self>> {
        let mut r = Reader::new(body);
        let msg = match kind {
            PING => Message::Ping(Ping {
                seq: r.varint_u32("seq")?,
                target: read_name(&mut r)?,
                from: read_name(&mut r)?,
            }),
            PING_REQ => Message::PingReq(PingReq {
                seq: r.varint_u32("seq")?,
                target: read_name(&mut r)?,
                target_addr: A::decode(&mut r)?,
            }),
            ACK => Message::Ack(Ack {
                seq: r.varint_u32("seq")?,
            }),
            NACK => Message::Nack(Nack {
                seq: r.varint_u32("seq")?,
            }),
            ALIVE => Message::Alive(Alive {
                name: read_name(&mut r)?,
                addr: A::decode(&mut r)?,
                incarnation: r.varint()?,
                meta: read_limited(&mut r, MAX_META_LEN, "metadata length")?.to_vec(),
            }),
            SUSPECT | DEAD => {
                let a = Accusation {
                    name: read_name(&mut r)?,
                    incarnation: r.varint()?,
                    from: read_name(&mut r)?,
                };
                if kind == SUSPECT {
                    Message::Suspect(a)
                } else {
                    Message::Dead(a)
                }
            }
            LEAVE => Message::Leave(Leave {
                name: read_name(&mut r)?,
                incarnation: r.varint()?,
            }),
            USER => Message::User(UserBroadcast {
                key: read_limited(&mut r, MAX_KEY_LEN, "broadcast key length")?.to_vec(),
                payload: r.length_prefixed()?.to_vec(),
            }),
            PUSH_PULL => {
                let from = read_name(&mut r)?;
                let flags = r.u8()?;
                if flags > 3 {
                    return Err(DecodeError::Invalid("push-pull flags"));
                }
                // name (>= 2 bytes) + addr (>= 1) + incarnation + state + meta length.
                let n = r.count(6)?;
                let mut members = Vec::with_capacity(n);
                for _ in 0..n {
                    members.push(MemberState {
                        name: read_name(&mut r)?,
                        addr: A::decode(&mut r)?,
                        incarnation: r.varint()?,
                        state: read_state(&mut r)?,
                        meta: read_limited(&mut r, MAX_META_LEN, "metadata length")?.to_vec(),
                    });
                }
                Message::PushPull(PushPull {
                    from,
                    join: flags & 1 != 0,
                    reply: flags & 2 != 0,
                    members,
                    app_state: r.length_prefixed()?.to_vec(),
                })
            }
            DIRECT => Message::Direct(Direct {
                from: read_name(&mut r)?,
                payload: r.length_prefixed()?.to_vec(),
            }),
            _ => return Ok(None),
        };
        r.finish()?;
        Ok(Some(msg))
    }
}

/// Encodes messages already in wire form (`kind | length | body` each) as a
/// compound.
pub fn encode_compound_raw<'a>(parts: impl ExactSizeIterator<Item = &'a [u8]>, out: &mut Vec<u8>) {
    put_varint(out, parts.len() as u64);
    for p in parts {
        out.extend_from_slice(p);
    }
}

/// Encodes `messages` as a compound.
pub fn encode_compound<A: Address>(messages: &[Message<A>]) -> Vec<u8> {
    let mut out = Vec::new();
    put_varint(&mut out, messages.len() as u64);
    for m in messages {
        m.encode(&mut out);
    }
    out
}

/// Bytes a compound of `count` messages spends on its count.
pub fn compound_header_len(count: usize) -> usize {
    varint_len(count as u64)
}

/// Decodes a compound. Messages of unknown kinds are skipped; any malformed
/// message fails the whole compound (nothing of it should be trusted).
pub fn decode_compound<A: Address>(bytes: &[u8]) -> DecodeResult<Vec<Message<A>>> {
    let mut r = Reader::new(bytes);
    // Each message needs at least a kind byte and a length byte.
    let n = r.count(2)?;
    if n > MAX_COMPOUND {
        return Err(DecodeError::OutOfRange {
            what: "compound count",
            value: n as u64,
        });
    }
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let kind = r.u8()?;
        let body = r.length_prefixed()?;
        if let Some(m) = Message::decode_body(kind, body)? {
            out.push(m);
        }
    }
    r.finish()?;
    Ok(out)
}
