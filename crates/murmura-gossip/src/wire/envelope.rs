//! The envelope around every compound: framing, cluster label, optional
//! compression and optional encryption.
//!
//! ```text
//! frame( version = PROTOCOL_VERSION,
//!        flags: u8 | label: varint length + bytes | body )
//! body  = nonce(12) | AEAD(inner) | tag(16)    if flags & ENCRYPTED
//!       = inner                                otherwise
//! inner = varint(plain length) | lz4 block     if flags & COMPRESSED
//!       = plain compound                       otherwise
//! ```
//! The AEAD's associated data is `version | flags | label`, so neither can be
//! altered without the key.

#[cfg(feature = "compression")]
use murmura_core::codec::put_varint;
use murmura_core::codec::{Reader, put_bytes};
use murmura_core::frame::{self, FrameLimits, OVERHEAD};
use murmura_core::rng::RngCore;

use crate::error::{Error, Result};
#[cfg(feature = "encryption")]
use crate::wire::keyring::{Keyring, NONCE_LEN, TAG_LEN};

/// The protocol version carried in every frame.
pub const PROTOCOL_VERSION: u8 = 2;
const ENCRYPTED: u8 = 1;
const COMPRESSED: u8 = 2;
/// Payloads shorter than this are never compressed.
#[cfg(feature = "compression")]
const COMPRESS_MIN: usize = 128;

/// How this member seals and opens its messages.
#[derive(Debug, Clone)]
pub struct Envelope {
    label: Vec<u8>,
    #[cfg(feature = "encryption")]
    keyring: Option<Keyring>,
    compress: bool,
    limits: FrameLimits,
}

impl Envelope {
    /// An envelope with a cluster label (empty for none), no encryption and
    /// no compression, accepting payloads up to `max_payload` bytes.
    pub fn new(label: &[u8], max_payload: usize) -> Self {
        let mut label = label.to_vec();
        label.truncate(255);
        Self {
            label,
            #[cfg(feature = "encryption")]
            keyring: None,
            compress: false,
            limits: FrameLimits {
                min_version: PROTOCOL_VERSION,
                max_version: PROTOCOL_VERSION,
                max_payload,
            },
        }
    }

    /// Seals with the keyring's primary key and requires every incoming message
    /// to open with one of its keys.
    #[cfg(feature = "encryption")]
    #[cfg_attr(docsrs, doc(cfg(feature = "encryption")))]
    pub fn with_keyring(mut self, keyring: Option<Keyring>) -> Self {
        self.keyring = keyring;
        self
    }

    /// The keyring, for rotation.
    #[cfg(feature = "encryption")]
    #[cfg_attr(docsrs, doc(cfg(feature = "encryption")))]
    pub fn keyring_mut(&mut self) -> Option<&mut Keyring> {
        self.keyring.as_mut()
    }

    /// Compresses outgoing payloads when that makes them smaller (needs the
    /// `compression` feature; ignored otherwise).
    pub fn with_compression(mut self, on: bool) -> Self {
        self.compress = on && cfg!(feature = "compression");
        self
    }

    /// Largest payload accepted.
    pub fn max_payload(&self) -> usize {
        self.limits.max_payload
    }

    /// Bytes the envelope adds to a plain compound, at most.
    pub fn overhead(&self) -> usize {
        #[allow(unused_mut)]
        let mut n = OVERHEAD + 1 + 1 + self.label.len();
        #[cfg(feature = "encryption")]
        if self.keyring.is_some() {
            n += NONCE_LEN + TAG_LEN;
        }
        n
    }

    fn header(&self, flags: u8) -> Vec<u8> {
        let mut h = vec![PROTOCOL_VERSION, flags];
        put_bytes(&mut h, &self.label);
        h
    }

    /// Seals a plain compound into one frame.
    pub fn seal(&self, plain: &[u8], rng: &mut dyn RngCore) -> Result<Vec<u8>> {
        #[allow(unused_mut)]
        let mut flags = 0u8;
        #[allow(unused_mut)]
        let mut inner = std::borrow::Cow::Borrowed(plain);
        #[cfg(feature = "compression")]
        if self.compress && plain.len() >= COMPRESS_MIN {
            let mut c = Vec::with_capacity(plain.len() / 2 + 8);
            put_varint(&mut c, plain.len() as u64);
            c.extend_from_slice(&lz4_flex::block::compress(plain));
            if c.len() < plain.len() {
                flags |= COMPRESSED;
                inner = std::borrow::Cow::Owned(c);
            }
        }
        #[cfg(feature = "encryption")]
        if self.keyring.is_some() {
            flags |= ENCRYPTED;
        }
        let header = self.header(flags);
        let mut payload = header[1..].to_vec();
        #[cfg(feature = "encryption")]
        if let Some(ring) = &self.keyring {
            let mut nonce = [0u8; NONCE_LEN];
            rng.fill_bytes(&mut nonce);
            ring.seal(nonce, &header, &inner, &mut payload);
        } else {
            payload.extend_from_slice(&inner);
        }
        #[cfg(not(feature = "encryption"))]
        {
            let _ = &rng;
            payload.extend_from_slice(&inner);
        }
        Ok(frame::encode_to_vec(
            PROTOCOL_VERSION,
            &payload,
            &self.limits,
        )?)
    }

    /// Opens one frame at the start of `bytes` (a stream may hold more);
    /// returns the plain compound and the bytes used.
    pub fn open_prefix(&self, bytes: &[u8]) -> Result<(Vec<u8>, usize)> {
        let (frame, used) = frame::decode(bytes, &self.limits)?;
        Ok((
            self.open_payload(frame.version, frame.payload, self.limits.max_payload)?,
            used,
        ))
    }

    /// Opens a buffer holding exactly one frame (a datagram).
    pub fn open(&self, bytes: &[u8]) -> Result<Vec<u8>> {
        self.open_limited(bytes, self.limits.max_payload)
    }

    /// Like [`open`](Self::open), but a compressed payload may expand to at
    /// most `max_plain` bytes (datagrams use a datagram's size, not a stream's).
    pub fn open_limited(&self, bytes: &[u8], max_plain: usize) -> Result<Vec<u8>> {
        let frame = frame::decode_exact(bytes, &self.limits)?;
        self.open_payload(frame.version, frame.payload, max_plain)
    }

    fn open_payload(&self, version: u8, payload: &[u8], max_plain: usize) -> Result<Vec<u8>> {
        let mut r = Reader::new(payload);
        let flags = r.u8()?;
        if flags & !(ENCRYPTED | COMPRESSED) != 0 {
            return Err(murmura_core::codec::DecodeError::UnknownTag {
                what: "envelope flags",
                tag: u64::from(flags),
            }
            .into());
        }
        let label = r.length_prefixed()?;
        if label != self.label.as_slice() {
            return Err(Error::LabelMismatch);
        }
        let body = r.rest();
        let mut header = vec![version, flags];
        put_bytes(&mut header, label);
        let inner: Vec<u8> = if flags & ENCRYPTED != 0 {
            #[cfg(feature = "encryption")]
            {
                let ring = self.keyring.as_ref().ok_or(Error::NoKeyring)?;
                ring.open(&header, body)?
            }
            #[cfg(not(feature = "encryption"))]
            return Err(Error::NoKeyring);
        } else {
            #[cfg(feature = "encryption")]
            if self.keyring.is_some() {
                return Err(Error::Unencrypted);
            }
            body.to_vec()
        };
        if flags & COMPRESSED == 0 {
            return Ok(inner);
        }
        self.decompress(&inner, max_plain)
    }

    #[cfg(feature = "compression")]
    fn decompress(&self, inner: &[u8], max_plain: usize) -> Result<Vec<u8>> {
        let mut r = Reader::new(inner);
        let len = r.varint().map_err(|_| Error::Decompress)?;
        if len > max_plain.min(self.limits.max_payload) as u64 {
            return Err(Error::Decompress);
        }
        let out =
            lz4_flex::block::decompress(r.rest(), len as usize).map_err(|_| Error::Decompress)?;
        if out.len() != len as usize {
            return Err(Error::Decompress);
        }
        Ok(out)
    }

    #[cfg(not(feature = "compression"))]
    fn decompress(&self, _inner: &[u8], _max_plain: usize) -> Result<Vec<u8>> {
        Err(Error::Decompress)
    }
}
