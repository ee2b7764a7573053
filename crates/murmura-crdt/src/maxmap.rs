//! A map of grow-only `u64` maxima: the lattice under every counter.

use crate::Result;
use crate::codec::{Codec, read_count};
use murmura_core::codec::{DecodeError, Reader, put_varint};
use std::collections::BTreeMap;

/// Keys mapped to monotonically growing `u64`s; merge takes the pointwise
/// maximum. A missing key reads as 0, and zeros are never stored, so equal
/// states have equal representations.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub(crate) struct MaxMap<K: Ord> {
    // As pairs: bounded counters key by (from, to), which JSON cannot.
    #[cfg_attr(
        feature = "serde",
        serde(
            serialize_with = "crate::serde_util::serialize",
            deserialize_with = "deserialize_nonzero",
            bound(
                serialize = "K: serde::Serialize",
                deserialize = "K: Ord + serde::Deserialize<'de>"
            )
        )
    )]
    pub(crate) entries: BTreeMap<K, u64>,
}

/// Pairs as [`crate::serde_util`] reads them, minus zeros: a stored zero
/// would make two equal states compare unequal.
#[cfg(feature = "serde")]
fn deserialize_nonzero<'de, D, K>(
    deserializer: D,
) -> std::result::Result<BTreeMap<K, u64>, D::Error>
where
    D: serde::Deserializer<'de>,
    K: Ord + serde::Deserialize<'de>,
{
    let mut map = crate::serde_util::deserialize(deserializer)?;
    map.retain(|_, v| *v != 0);
    Ok(map)
}

impl<K: Ord> Default for MaxMap<K> {
    fn default() -> Self {
        Self {
            entries: BTreeMap::new(),
        }
    }
}

impl<K: Ord + Clone> MaxMap<K> {
    pub(crate) fn get(&self, key: &K) -> u64 {
        self.entries.get(key).copied().unwrap_or(0)
    }

    /// Adds `by` to `key` (saturating) and returns the one-entry delta.
    pub(crate) fn add(&mut self, key: K, by: u64) -> Self {
        let slot = self.entries.entry(key.clone()).or_insert(0);
        *slot = slot.saturating_add(by);
        let value = *slot;
        if value == 0 {
            self.entries.remove(&key);
            return Self::default();
        }
        Self {
            entries: BTreeMap::from([(key, value)]),
        }
    }

    pub(crate) fn sum(&self) -> u128 {
        self.entries.values().map(|&v| u128::from(v)).sum()
    }

    pub(crate) fn merge(&mut self, other: &Self) {
        for (k, &v) in &other.entries {
            let slot = self.entries.entry(k.clone()).or_insert(0);
            *slot = (*slot).max(v);
        }
    }

    /// The entries where `self` is ahead of `peer`: its join decomposition
    /// minus what the peer already has.
    pub(crate) fn missing(&self, peer: &Self) -> Self {
        Self {
            entries: self
                .entries
                .iter()
                .filter(|(k, v)| peer.get(k) < **v)
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
        }
    }
}

impl<K: Ord + Clone + Codec> Codec for MaxMap<K> {
    fn encode(&self, out: &mut Vec<u8>) {
        put_varint(out, self.entries.len() as u64);
        for (k, v) in &self.entries {
            k.encode(out);
            put_varint(out, *v);
        }
    }

    fn decode(reader: &mut Reader<'_>) -> Result<Self> {
        let n = read_count(reader, K::MIN_LEN + 1)?;
        let mut entries = BTreeMap::new();
        let mut last: Option<K> = None;
        for _ in 0..n {
            let k = K::decode(reader)?;
            if last.as_ref().is_some_and(|l| *l >= k) {
                return Err(DecodeError::Invalid("unsorted keys").into());
            }
            let v = reader.varint()?;
            if v == 0 {
                return Err(DecodeError::Invalid("zero entry").into());
            }
            last = Some(k.clone());
            entries.insert(k, v);
        }
        Ok(Self { entries })
    }
}
