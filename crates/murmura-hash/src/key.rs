//! Stable hashing of keys and node names.
//!
//! Placement must agree across processes, machines, platforms and releases, so
//! nothing here uses `std`'s randomly seeded hashers. Keys and node names are
//! hashed with XXH3-64 under the fixed seed [`KEY_SEED`]; the test suite pins
//! golden vectors so a change of function is a decision, never an accident.

use xxhash_rust::xxh3::xxh3_64_with_seed;

/// The seed every key and node hash uses. Part of the placement format: never
/// change it without a major release.
pub const KEY_SEED: u64 = 0x6d75_726d_7572_6121; // "murmura!"

/// The stable 64-bit hash of a key's bytes: XXH3-64 with seed [`KEY_SEED`].
///
/// Placements take this value (a "key hash"), so an application hashes each
/// key once and can cache the result.
///
/// ```
/// use murmura_hash::key_hash;
/// assert_eq!(key_hash(b"user:42"), key_hash(b"user:42"));
/// assert_ne!(key_hash(b"user:42"), key_hash(b"user:43"));
/// ```
#[inline]
pub fn key_hash(bytes: &[u8]) -> u64 {
    xxh3_64_with_seed(bytes, KEY_SEED)
}

/// The stable hash of a `u64` key: [`key_hash`] of its little-endian bytes.
///
/// ```
/// use murmura_hash::{key_hash, key_hash_u64};
/// assert_eq!(key_hash_u64(7), key_hash(&7u64.to_le_bytes()));
/// ```
#[inline]
pub fn key_hash_u64(key: u64) -> u64 {
    key_hash(&key.to_le_bytes())
}

/// A hash of a value that is identical in every process and release.
///
/// Node identifiers implement it so that ring points, rendezvous scores and
/// Maglev permutations are reproducible. It is implemented for strings, byte
/// strings and unsigned integers; for your own identifier, hash its canonical
/// bytes with [`key_hash`].
///
/// ```
/// use murmura_hash::{key_hash, StableHash};
///
/// #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
/// struct Host { name: String, port: u16 }
///
/// impl StableHash for Host {
///     fn stable_hash(&self) -> u64 {
///         let mut bytes = self.name.as_bytes().to_vec();
///         bytes.extend_from_slice(&self.port.to_le_bytes());
///         key_hash(&bytes)
///     }
/// }
/// # let h = Host { name: "a".into(), port: 1 };
/// # assert_eq!(h.stable_hash(), h.clone().stable_hash());
/// ```
pub trait StableHash {
    /// The value's stable 64-bit hash.
    fn stable_hash(&self) -> u64;
}

impl<T: StableHash + ?Sized> StableHash for &T {
    fn stable_hash(&self) -> u64 {
        (**self).stable_hash()
    }
}

impl StableHash for str {
    fn stable_hash(&self) -> u64 {
        key_hash(self.as_bytes())
    }
}

impl StableHash for String {
    fn stable_hash(&self) -> u64 {
        key_hash(self.as_bytes())
    }
}

impl StableHash for [u8] {
    fn stable_hash(&self) -> u64 {
        key_hash(self)
    }
}

impl StableHash for Vec<u8> {
    fn stable_hash(&self) -> u64 {
        key_hash(self)
    }
}

macro_rules! stable_hash_uint {
    ($($t:ty),*) => {$(
        impl StableHash for $t {
            fn stable_hash(&self) -> u64 {
                key_hash_u64(u64::from(*self))
            }
        }
    )*};
}
stable_hash_uint!(u8, u16, u32, u64);

/// Mixes a 64-bit value into a well-spread 64-bit value (the SplitMix64
/// finaliser). Used to derive per-vnode points, per-bucket choices and
/// per-node scores from hashes that are already stable.
#[inline]
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Combines two hashes into one; not symmetric, so `(a, b)` and `(b, a)`
/// differ.
#[inline]
pub(crate) fn mix2(a: u64, b: u64) -> u64 {
    mix64(a ^ mix64(b.wrapping_add(0x9e37_79b9_7f4a_7c15)))
}

/// Maps a uniform 64-bit value onto `0..n` without a division (Lemire).
#[inline]
pub(crate) fn fast_range(hash: u64, n: u64) -> u64 {
    ((u128::from(hash) * u128::from(n)) >> 64) as u64
}
