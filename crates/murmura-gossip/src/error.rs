//! The crate's one error type.

use murmura_core::codec::DecodeError;
use murmura_core::frame::FrameError;

/// Everything that can go wrong in `murmura-gossip`.
///
/// Errors from incoming bytes never change the member table: the message is
/// dropped whole and counted in [`Stats`](crate::Stats).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The outer frame is malformed, too large, of an unknown protocol version
    /// or fails its checksum. The datagram is dropped; no state changes.
    #[error("bad frame: {0}")]
    Frame(#[from] FrameError),
    /// The frame's contents do not decode. The datagram is dropped; no state changes.
    #[error("bad message: {0}")]
    Decode(#[from] DecodeError),
    /// The message carries another cluster's label (or none where one is
    /// required). It is dropped; no state changes.
    #[error("cluster label mismatch")]
    LabelMismatch,
    /// Plain traffic arrived while a keyring is configured. Dropped; no state changes.
    #[error("unencrypted message while encryption is required")]
    Unencrypted,
    /// Encrypted traffic arrived but this member has no keyring (or was built
    /// without the `encryption` feature). Dropped; no state changes.
    #[error("encrypted message but no keyring is configured")]
    NoKeyring,
    /// No key in the keyring authenticates the message. Dropped; no state changes.
    #[error("no key in the keyring decrypts the message")]
    NoMatchingKey,
    /// A compressed payload is corrupt, too large once decompressed, or this
    /// build lacks the `compression` feature. Dropped; no state changes.
    #[error("cannot decompress payload")]
    Decompress,
    /// A key has the wrong length (32 bytes are required). The keyring is unchanged.
    #[error("encryption keys must be 32 bytes, got {0}")]
    KeyLength(usize),
    /// The key to remove is the primary key. The keyring is unchanged.
    #[error("cannot remove the primary key")]
    RemovePrimaryKey,
    /// Metadata is larger than the configured limit. The old metadata stays.
    #[error("metadata of {len} bytes exceeds the limit of {max}")]
    MetadataTooLarge {
        /// Size offered.
        len: usize,
        /// Limit in force.
        max: usize,
    },
    /// A member name is empty or longer than [`MAX_NAME_LEN`](crate::wire::MAX_NAME_LEN).
    /// Nothing was created.
    #[error("member name must be 1..=255 bytes, got {0}")]
    NameLength(usize),
    /// A user broadcast does not fit in one datagram. Nothing was queued.
    #[error("broadcast of {len} bytes exceeds the per-datagram limit of {max}")]
    BroadcastTooLarge {
        /// Encoded size.
        len: usize,
        /// Largest size that fits.
        max: usize,
    },
    /// No seed answered a join. The member keeps running alone and keeps
    /// retrying the seeds periodically.
    #[error("no seed answered the join")]
    JoinFailed,
    /// No live member has that name; nothing was sent.
    #[error("no live member named {0:?}")]
    UnknownMember(String),
    /// The member has left the cluster; the command was ignored.
    #[error("the member has left the cluster")]
    Left,
    /// A socket or name-resolution error in the runtime. The runtime keeps its state.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// The runtime has shut down; the command was not carried out.
    #[error("the gossip runtime has shut down")]
    Shutdown,
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
