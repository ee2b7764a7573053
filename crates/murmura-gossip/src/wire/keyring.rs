//! Keys for authenticated encryption (ChaCha20-Poly1305).

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};

use crate::error::{Error, Result};

/// Length of every key.
pub const KEY_LEN: usize = 32;
/// Length of the nonce sent before each ciphertext.
pub const NONCE_LEN: usize = 12;
/// Length of the authentication tag.
pub const TAG_LEN: usize = 16;

/// One primary key that seals outgoing messages and any number of keys that
/// open incoming ones, so keys rotate without downtime: add the new key
/// everywhere, make it primary everywhere, then remove the old one.
///
/// ```
/// use murmura_gossip::wire::Keyring;
/// let mut ring = Keyring::new([1; 32]);
/// ring.add([2; 32]);
/// ring.use_key([2; 32]);
/// ring.remove(&[1; 32]).unwrap();
/// assert_eq!(ring.primary(), &[2; 32]);
/// assert!(ring.remove(&[2; 32]).is_err());
/// ```
#[derive(Clone)]
pub struct Keyring {
    /// `keys[0]` is the primary.
    keys: Vec<[u8; KEY_LEN]>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("Keyring")
            .field("keys", &self.keys.len())
            .finish()
    }
}

impl Keyring {
    /// A keyring holding only `primary`.
    pub fn new(primary: [u8; KEY_LEN]) -> Self {
        Self {
            keys: vec![primary],
        }
    }

    /// A keyring from a primary key given as a slice (must be 32 bytes).
    pub fn from_slice(primary: &[u8]) -> Result<Self> {
        let key: [u8; KEY_LEN] = primary
            .try_into()
            .map_err(|_| Error::KeyLength(primary.len()))?;
        Ok(Self::new(key))
    }

    /// Accepts `key` for incoming messages (no effect if present).
    pub fn add(&mut self, key: [u8; KEY_LEN]) {
        if !self.keys.contains(&key) {
            self.keys.push(key);
        }
    }

    /// Makes `key` the primary, adding it if needed; the old primary stays accepted.
    pub fn use_key(&mut self, key: [u8; KEY_LEN]) {
        self.keys.retain(|k| k != &key);
        self.keys.insert(0, key);
    }

    /// Stops accepting `key`. The primary cannot be removed.
    pub fn remove(&mut self, key: &[u8; KEY_LEN]) -> Result<()> {
        if &self.keys[0] == key {
            return Err(Error::RemovePrimaryKey);
        }
        self.keys.retain(|k| k != key);
        Ok(())
    }

    /// The key that seals outgoing messages.
    pub fn primary(&self) -> &[u8; KEY_LEN] {
        &self.keys[0]
    }

    /// Every accepted key, primary first.
    pub fn keys(&self) -> &[[u8; KEY_LEN]] {
        &self.keys
    }

    /// `nonce | ciphertext | tag` of `plain`, authenticated together with `aad`.
    pub(crate) fn seal(&self, nonce: [u8; NONCE_LEN], aad: &[u8], plain: &[u8], out: &mut Vec<u8>) {
        let cipher = ChaCha20Poly1305::new(Key::from_slice(self.primary()));
        // Encryption into a Vec cannot fail for inputs below the AEAD's 256 GiB limit.
        let sealed = cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plain, aad })
            .unwrap_or_default();
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
    }

    /// Opens `nonce | ciphertext | tag` with any accepted key.
    pub(crate) fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>> {
        if sealed.len() < NONCE_LEN + TAG_LEN {
            return Err(Error::NoMatchingKey);
        }
        let (nonce, msg) = sealed.split_at(NONCE_LEN);
        self.keys
            .iter()
            .find_map(|k| {
                ChaCha20Poly1305::new(Key::from_slice(k))
                    .decrypt(Nonce::from_slice(nonce), Payload { msg, aad })
                    .ok()
            })
            .ok_or(Error::NoMatchingKey)
    }
}
