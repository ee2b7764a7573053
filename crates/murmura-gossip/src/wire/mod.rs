//! The wire: message types, their binary form and the envelope around them.
//!
//! Every datagram and every stream message is one frame of
//! [`murmura_core::frame`] whose version byte is [`PROTOCOL_VERSION`]; inside
//! it an [`Envelope`] carries the cluster label, then (optionally compressed,
//! optionally encrypted) a compound of [`Message`]s.
//!
//! ```
//! use murmura_gossip::wire::{self, Envelope, Message, Ping};
//! let env = Envelope::new(b"prod", 1 << 20);
//! let msgs: Vec<Message<u64>> = vec![Message::Ping(Ping { seq: 7, target: "b".into(), from: "a".into() })];
//! let bytes = env.seal(&wire::encode_compound(&msgs), &mut murmura_core::rng::seeded(1)).unwrap();
//! let plain = env.open(&bytes).unwrap();
//! assert_eq!(wire::decode_compound::<u64>(&plain).unwrap(), msgs);
//! // Another cluster's label is refused.
//! assert!(Envelope::new(b"test", 1 << 20).open(&bytes).is_err());
//! ```

mod envelope;
#[cfg(feature = "encryption")]
mod keyring;
mod message;

pub use envelope::{Envelope, PROTOCOL_VERSION};
#[cfg(feature = "encryption")]
#[cfg_attr(docsrs, doc(cfg(feature = "encryption")))]
pub use keyring::{KEY_LEN, Keyring, NONCE_LEN, TAG_LEN};
pub use message::{
    Accusation, Ack, Alive, Direct, Leave, MAX_COMPOUND, MAX_KEY_LEN, MAX_META_LEN, MAX_NAME_LEN,
    MemberState, Message, Nack, Ping, PingReq, PushPull, UserBroadcast, compound_header_len,
    decode_compound, encode_compound, encode_compound_raw,
};

#[cfg(test)]
mod tests;
