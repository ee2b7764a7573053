//! The retransmit-limited queue of updates waiting to be piggybacked.

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};
use std::hash::Hash;

#[derive(Debug)]
struct Entry {
    msg: Vec<u8>,
    transmits: u32,
    id: u64,
}

/// Updates keyed by what they are about: a newer update with the same key
/// replaces the older one. Least-sent first, newest first among equals;
/// each update is dropped once sent `limit` times.
#[derive(Debug)]
pub(crate) struct TransmitQueue<K: Ord + Hash + Clone> {
    entries: HashMap<K, Entry>,
    order: BTreeSet<(u32, Reverse<u64>, K)>,
    next_id: u64,
    capacity: usize,
}

/// Entries looked at per fill, so packing stays cheap with huge queues.
const SCAN_LIMIT: usize = 512;

impl<K: Ord + Hash + Clone> TransmitQueue<K> {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            entries: HashMap::new(),
            order: BTreeSet::new(),
            next_id: 0,
            capacity: capacity.max(1),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn push(&mut self, key: K, msg: Vec<u8>) {
        self.remove(&key);
        if self.entries.len() >= self.capacity {
            // Drop the most-sent, oldest entry: it has done most of its work.
            if let Some(last) = self.order.iter().next_back().cloned() {
                self.order.remove(&last);
                self.entries.remove(&last.2);
            }
        }
        self.next_id += 1;
        let id = self.next_id;
        self.order.insert((0, Reverse(id), key.clone()));
        self.entries.insert(
            key,
            Entry {
                msg,
                transmits: 0,
                id,
            },
        );
    }

    pub(crate) fn remove(&mut self, key: &K) {
        if let Some(e) = self.entries.remove(key) {
            self.order
                .remove(&(e.transmits, Reverse(e.id), key.clone()));
        }
    }

    /// Appends whole messages to `out` until `budget` bytes are used; returns
    /// the bytes and the number of messages appended.
    pub(crate) fn fill(&mut self, budget: usize, limit: u32, out: &mut Vec<u8>) -> (usize, usize) {
        let mut used = 0;
        let mut taken = Vec::new();
        for (_, _, key) in self.order.iter().take(SCAN_LIMIT) {
            if budget - used < 4 {
                break;
            }
            let e = &self.entries[key];
            if e.msg.len() <= budget - used {
                used += e.msg.len();
                out.extend_from_slice(&e.msg);
                taken.push(key.clone());
            }
        }
        let count = taken.len();
        for key in taken {
            if let Some(e) = self.entries.get_mut(&key) {
                self.order
                    .remove(&(e.transmits, Reverse(e.id), key.clone()));
                e.transmits += 1;
                if e.transmits >= limit {
                    self.entries.remove(&key);
                } else {
                    self.order.insert((e.transmits, Reverse(e.id), key));
                }
            }
        }
        (used, count)
    }

    #[cfg(test)]
    pub(crate) fn transmits(&self, key: &K) -> Option<u32> {
        self.entries.get(key).map(|e| e.transmits)
    }
}

/// How many times each update is sent: `mult · ⌈log10(n + 1)⌉`.
pub(crate) fn retransmit_limit(mult: u32, members: usize) -> u32 {
    let scale = ((members as f64) + 1.0).log10().ceil() as u32;
    mult.saturating_mul(scale.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn least_sent_first_replace_and_limit() {
        let mut q = TransmitQueue::new(10);
        q.push("a", vec![1; 10]);
        q.push("b", vec![2; 10]);
        let mut out = Vec::new();
        // Only one fits: the newest of the least-sent.
        assert_eq!(q.fill(15, 2, &mut out), (10, 1));
        assert_eq!(out, vec![2; 10]);
        out.clear();
        assert_eq!(q.fill(15, 2, &mut out), (10, 1));
        assert_eq!(out, vec![1; 10]);
        assert_eq!(q.transmits(&"a"), Some(1));
        // A newer update for "a" replaces the old one and starts at zero.
        q.push("a", vec![3; 5]);
        assert_eq!(q.transmits(&"a"), Some(0));
        out.clear();
        assert_eq!(q.fill(100, 2, &mut out), (15, 2));
        out.clear();
        q.fill(100, 2, &mut out);
        // Both reached the limit of two sends.
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn capacity_is_bounded() {
        let mut q = TransmitQueue::new(3);
        for i in 0..10u32 {
            q.push(i, vec![0; 4]);
        }
        assert_eq!(q.len(), 3);
    }

    #[test]
    fn limit_grows_with_log_of_size() {
        assert_eq!(retransmit_limit(4, 1), 4);
        assert_eq!(retransmit_limit(4, 9), 4);
        assert_eq!(retransmit_limit(4, 10), 8);
        assert_eq!(retransmit_limit(4, 1000), 16);
    }
}
