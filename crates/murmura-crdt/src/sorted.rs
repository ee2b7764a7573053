//! A sorted map in a small inline vector: the entries of a
//! [`DotFun`](crate::DotFun). Registers, flags and causal counters hold one
//! or two dots, so a `BTreeMap` node allocation per value (and per delta)
//! is pure overhead; one entry lives inline and a lookup is a short binary
//! search.

use smallvec::SmallVec;

/// Entries sorted by key, keys unique.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct SortedMap<K, V> {
    items: SmallVec<[(K, V); 1]>,
}

impl<K, V> Default for SortedMap<K, V> {
    fn default() -> Self {
        Self {
            items: SmallVec::new(),
        }
    }
}

impl<K: std::fmt::Debug, V: std::fmt::Debug> std::fmt::Debug for SortedMap<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.items.iter().map(|(k, v)| (k, v)))
            .finish()
    }
}

impl<K: Ord, V> SortedMap<K, V> {
    fn find(&self, key: &K) -> Result<usize, usize> {
        self.items.binary_search_by(|(k, _)| k.cmp(key))
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.items.iter().map(|(k, v)| (k, v))
    }

    pub(crate) fn keys(&self) -> impl Iterator<Item = &K> {
        self.items.iter().map(|(k, _)| k)
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = &V> {
        self.items.iter().map(|(_, v)| v)
    }

    /// Appends an entry whose key is above every key held (building a map
    /// from a sorted walk).
    pub(crate) fn push_last(&mut self, key: K, value: V) {
        debug_assert!(self.items.last().is_none_or(|(k, _)| *k < key));
        self.items.push((key, value));
    }

    /// Inserts or replaces; returns the replaced value.
    pub(crate) fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self.find(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.items[i].1, value)),
            Err(i) => {
                self.items.insert(i, (key, value));
                None
            }
        }
    }

    pub(crate) fn clear(&mut self) {
        self.items.clear();
    }

    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        self.items.retain(|(k, v)| keep(k, v));
    }

    /// Entries already sorted by key with unique keys (as produced by
    /// filtering another map) — no sort needed.
    pub(crate) fn from_sorted_iter(iter: impl IntoIterator<Item = (K, V)>) -> Self {
        let items: SmallVec<[(K, V); 1]> = iter.into_iter().collect();
        debug_assert!(items.windows(2).all(|w| w[0].0 < w[1].0));
        Self { items }
    }

    /// Entries in any order; a later duplicate key wins.
    #[cfg(any(feature = "serde", test))]
    pub(crate) fn from_unsorted(pairs: Vec<(K, V)>) -> Self {
        let mut items: SmallVec<[(K, V); 1]> = SmallVec::from_vec(pairs);
        // Stable sort keeps duplicates in input order; keep the last of each.
        items.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out: SmallVec<[(K, V); 1]> = SmallVec::with_capacity(items.len());
        for item in items {
            match out.last_mut() {
                Some(last) if last.0 == item.0 => *last = item,
                _ => out.push(item),
            }
        }
        Self { items: out }
    }
}

impl<K, V> IntoIterator for SortedMap<K, V> {
    type Item = (K, V);
    type IntoIter = smallvec::IntoIter<[(K, V); 1]>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

impl<'a, K, V> IntoIterator for &'a SortedMap<K, V> {
    type Item = (&'a K, &'a V);
    type IntoIter = std::iter::Map<std::slice::Iter<'a, (K, V)>, fn(&'a (K, V)) -> (&'a K, &'a V)>;

    fn into_iter(self) -> Self::IntoIter {
        self.items.iter().map(|(k, v)| (k, v))
    }
}

/// As a list of pairs, like the other dot-keyed maps (JSON allows only
/// string keys).
#[cfg(feature = "serde")]
impl<K: serde::Serialize, V: serde::Serialize> serde::Serialize for SortedMap<K, V> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.items.iter().map(|(k, v)| (k, v)))
    }
}

/// Later duplicates of a key win; order does not matter.
#[cfg(feature = "serde")]
impl<'de, K, V> serde::Deserialize<'de> for SortedMap<K, V>
where
    K: Ord + serde::Deserialize<'de>,
    V: serde::Deserialize<'de>,
{
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let pairs: Vec<(K, V)> = serde::Deserialize::deserialize(deserializer)?;
        Ok(Self::from_unsorted(pairs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn behaves_like_btreemap(ops in prop::collection::vec((0u8..3, 0u8..8, any::<u16>()), 0..40)) {
            let mut ours = SortedMap::default();
            let mut model = BTreeMap::new();
            for (op, k, v) in ops {
                match op {
                    0 => prop_assert_eq!(ours.insert(k, v), model.insert(k, v)),
                    1 => {
                        ours.retain(|key, _| *key != k);
                        model.remove(&k);
                    }
                    _ => prop_assert_eq!(
                        ours.iter().find(|(key, _)| **key == k).map(|(_, v)| *v),
                        model.get(&k).copied()
                    ),
                }
                prop_assert_eq!(ours.len(), model.len());
                prop_assert!(ours.iter().eq(model.iter()));
            }
            let rebuilt = SortedMap::from_unsorted(model.iter().rev().map(|(k, v)| (*k, *v)).collect());
            prop_assert!(rebuilt == ours);
        }
    }

    #[test]
    fn unsorted_input_keeps_the_last_duplicate() {
        let m = SortedMap::from_unsorted(vec![(2, 'a'), (1, 'b'), (2, 'c')]);
        assert_eq!(m.iter().collect::<Vec<_>>(), [(&1, &'b'), (&2, &'c')]);
    }
}
