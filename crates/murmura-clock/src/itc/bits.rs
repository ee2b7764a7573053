//! The paper's compact bit encoding of stamps (section 5 of Almeida,
//! Baquero and Fonte), bits packed most-significant first, the last byte
//! padded with zero bits.

use super::tree::{EventTree, Id};
use crate::{ClockError, Result};
use murmura_core::codec::DecodeError;

/// Deepest tree [`Stamp::decode`](super::Stamp::decode) accepts; deeper input is refused with
/// [`ClockError::TooDeep`] so hostile bytes cannot exhaust the stack.
pub const MAX_DEPTH: usize = 256;

#[derive(Default)]
pub(crate) struct BitWriter {
    bytes: Vec<u8>,
    bits: u64,
}

impl BitWriter {
    fn bit(&mut self, bit: bool) {
        if self.bits.is_multiple_of(8) {
            self.bytes.push(0);
        }
        if bit {
            let last = self.bytes.len() - 1;
            self.bytes[last] |= 0x80 >> (self.bits % 8);
        }
        self.bits += 1;
    }

    fn bits(&mut self, value: u64, count: u32) {
        for k in (0..count).rev() {
            self.bit((value >> k) & 1 == 1);
        }
    }

    pub(crate) fn finish(self) -> Vec<u8> {
        self.bytes
    }
}

pub(crate) struct BitReader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> BitReader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0 }
    }

    fn bit(&mut self) -> Result<bool> {
        let byte = self
            .bytes
            .get(self.pos / 8)
            .ok_or(DecodeError::UnexpectedEof {
                needed: 1,
                remaining: 0,
            })?;
        let bit = byte & (0x80 >> (self.pos % 8)) != 0;
        self.pos += 1;
        Ok(bit)
    }

    fn bits(&mut self, count: u32) -> Result<u64> {
        let mut value = 0u64;
        for _ in 0..count {
            value = (value << 1) | u64::from(self.bit()?);
        }
        Ok(value)
    }

    /// Succeeds if only zero padding bits of the last byte remain.
    pub(crate) fn finish(mut self) -> Result<()> {
        let used = self.pos.div_ceil(8);
        if used < self.bytes.len() {
            return Err(DecodeError::TrailingBytes(self.bytes.len() - used).into());
        }
        while self.pos < self.bytes.len() * 8 {
            if self.bit()? {
                return Err(DecodeError::Invalid("itc padding bits not zero").into());
            }
        }
        Ok(())
    }
}

pub(crate) fn encode_id(id: &Id, w: &mut BitWriter) {
    match id {
        Id::Zero => w.bits(0b000, 3),
        Id::One => w.bits(0b001, 3),
        Id::Node(l, r) => match (&**l, &**r) {
            (Id::Zero, i) => {
                w.bits(1, 2);
                encode_id(i, w);
            }
            (i, Id::Zero) => {
                w.bits(2, 2);
                encode_id(i, w);
            }
            (l, r) => {
                w.bits(3, 2);
                encode_id(l, w);
                encode_id(r, w);
            }
        },
    }
}

fn encode_number(mut n: u64, w: &mut BitWriter) {
    let mut width = 2u32;
    while n >> width != 0 {
        w.bit(true);
        n -= 1 << width;
        width += 1;
    }
    w.bit(false);
    w.bits(n, width);
}

pub(crate) fn encode_event(e: &EventTree, w: &mut BitWriter) {
    match e {
        EventTree::Leaf(n) => {
            w.bit(true);
            encode_number(*n, w);
        }
        EventTree::Node(n, l, r) => {
            w.bit(false);
            let l_zero = **l == EventTree::Leaf(0);
            let r_zero = **r == EventTree::Leaf(0);
            match (*n, l_zero, r_zero) {
                (0, true, _) => {
                    w.bits(0, 2);
                    encode_event(r, w);
                }
                (0, _, true) => {
                    w.bits(1, 2);
                    encode_event(l, w);
                }
                (0, _, _) => {
                    w.bits(2, 2);
                    encode_event(l, w);
                    encode_event(r, w);
                }
                (n, true, _) => {
                    w.bits(0b1100, 4);
                    encode_event(&EventTree::Leaf(n), w);
                    encode_event(r, w);
                }
                (n, _, true) => {
                    w.bits(0b1101, 4);
                    encode_event(&EventTree::Leaf(n), w);
                    encode_event(l, w);
                }
                (n, _, _) => {
                    w.bits(0b111, 3);
                    encode_event(&EventTree::Leaf(n), w);
                    encode_event(l, w);
                    encode_event(r, w);
                }
            }
        }
    }
}

fn too_deep() -> ClockError {
    ClockError::TooDeep { limit: MAX_DEPTH }
}

fn invalid(what: &'static str) -> ClockError {
    DecodeError::Invalid(what).into()
}

pub(crate) fn decode_id(r: &mut BitReader<'_>, depth: usize) -> Result<Id> {
    if depth > MAX_DEPTH {
        return Err(too_deep());
    }
    let id = match r.bits(2)? {
        0 => {
            if r.bit()? {
                Id::One
            } else {
                Id::Zero
            }
        }
        1 => match decode_id(r, depth + 1)? {
            Id::Zero => return Err(invalid("itc id (0, 0)")),
            i => Id::Node(Box::new(Id::Zero), Box::new(i)),
        },
        2 => match decode_id(r, depth + 1)? {
            Id::Zero => return Err(invalid("itc id (0, 0)")),
            i => Id::Node(Box::new(i), Box::new(Id::Zero)),
        },
        _ => {
            let l = decode_id(r, depth + 1)?;
            let rt = decode_id(r, depth + 1)?;
            if l == Id::Zero || rt == Id::Zero || (l == Id::One && rt == Id::One) {
                return Err(invalid("itc id not in normal form"));
            }
            Id::Node(Box::new(l), Box::new(rt))
        }
    };
    Ok(id)
}

fn decode_number(r: &mut BitReader<'_>) -> Result<u64> {
    let mut base = 0u64;
    let mut width = 2u32;
    while r.bit()? {
        base = base
            .checked_add(1 << width)
            .ok_or_else(|| invalid("itc counter overflows"))?;
        width += 1;
        if width > 63 {
            return Err(invalid("itc counter overflows"));
        }
    }
    base.checked_add(r.bits(width)?)
        .ok_or_else(|| invalid("itc counter overflows"))
}

fn decode_leaf(r: &mut BitReader<'_>) -> Result<u64> {
    if !r.bit()? {
        return Err(invalid("itc node where a count was expected"));
    }
    decode_number(r)
}

pub(crate) fn decode_event(r: &mut BitReader<'_>, depth: usize) -> Result<EventTree> {
    if depth > MAX_DEPTH {
        return Err(too_deep());
    }
    if r.bit()? {
        return Ok(EventTree::Leaf(decode_number(r)?));
    }
    let zero = || EventTree::Leaf(0);
    let is_zero = |e: &EventTree| *e == EventTree::Leaf(0);
    // Each case must be the one the encoder picks: a zero count or a zero
    // child always goes through its shorter case.
    let (n, l, rt) = match r.bits(2)? {
        0 => (0, zero(), decode_event(r, depth + 1)?),
        1 => (0, decode_event(r, depth + 1)?, zero()),
        2 => {
            let l = decode_event(r, depth + 1)?;
            let rt = decode_event(r, depth + 1)?;
            if is_zero(&l) || is_zero(&rt) {
                return Err(invalid("itc event node not in shortest form"));
            }
            (0, l, rt)
        }
        _ => {
            let (n, l, rt) = if r.bit()? {
                let n = decode_leaf(r)?;
                let l = decode_event(r, depth + 1)?;
                let rt = decode_event(r, depth + 1)?;
                if is_zero(&l) || is_zero(&rt) {
                    return Err(invalid("itc event node not in shortest form"));
                }
                (n, l, rt)
            } else if r.bit()? {
                let n = decode_leaf(r)?;
                (n, decode_event(r, depth + 1)?, zero())
            } else {
                let n = decode_leaf(r)?;
                (n, zero(), decode_event(r, depth + 1)?)
            };
            if n == 0 {
                return Err(invalid("itc event node not in shortest form"));
            }
            (n, l, rt)
        }
    };
    let node = EventTree::Node(n, Box::new(l), Box::new(rt));
    // Children are already normal; check this node's own shape.
    if !node_is_normal(&node) {
        return Err(invalid("itc event tree not in normal form"));
    }
    Ok(node)
}

fn node_is_normal(node: &EventTree) -> bool {
    match node {
        EventTree::Leaf(_) => true,
        EventTree::Node(_, l, r) => {
            let equal_leaves =
                matches!((&**l, &**r), (EventTree::Leaf(a), EventTree::Leaf(b)) if a == b);
            !equal_leaves && l.base().min(r.base()) == 0
        }
    }
}
