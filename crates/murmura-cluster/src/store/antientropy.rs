//! Anti-entropy between two replicas: per-bucket hashes of the keys both
//! hold, then CRDT digests of the keys in buckets that differ, then only
//! what each side lacks (the CRDTs' own `missing`).
//!
//! 1. A → B `Summary`: for each bucket (top bits of the key hash) the sum of
//!    per-key hashes of A's keys that B also replicates.
//! 2. B → A `Digests { answer: true }`: for buckets whose sums differ, B's
//!    digest of each key it holds there.
//! 3. A → B `Repair` (what B lacks, from A's `missing`; whole states of keys
//!    B did not list) and `Digests { answer: false }` of A's keys there.
//! 4. B → A `Repair` with what A lacks.

use super::{Store, preference};
use crate::message::{BUCKETS, Message};
use crate::value::StoreValue;
use murmura_crdt::Codec;
use murmura_hash::{Placement, key_hash};
use std::collections::{BTreeMap, BTreeSet};

fn bucket_of(key: &[u8]) -> u16 {
    (key_hash(key) >> (64 - BUCKETS.trailing_zeros())) as u16
}

impl<V, P> Store<V, P>
where
    V: StoreValue,
    V::Digest: Codec,
    P: Placement<Node = String>,
{
    /// Whether `peer` replicates `key` along with this replica, by our placement.
    fn shares(&self, key: &[u8], peer: &str) -> bool {
        preference(&*self.placement, &self.config, key_hash(key))
            .map(|r| r.iter().any(|n| n == peer))
            .unwrap_or(false)
    }

    fn entry_hash(&mut self, key: &[u8]) -> u64 {
        let Some(entry) = self.data.get_mut(key) else {
            return 0;
        };
        if let Some(h) = entry.hash {
            return h;
        }
        let h = xxhash_rust::xxh3::xxh3_64_with_seed(&entry.value.to_bytes(), key_hash(key));
        entry.hash = Some(h);
        h
    }

    /// Bucket sums over the keys this replica holds that `peer` also replicates.
    fn summary_for(&mut self, peer: &str) -> BTreeMap<u16, u64> {
        let shared: Vec<Vec<u8>> = self
            .data
            .keys()
            .filter(|k| self.shares(k, peer))
            .cloned()
            .collect();
        let mut sums = BTreeMap::new();
        for key in shared {
            let h = self.entry_hash(&key);
            let sum: &mut u64 = sums.entry(bucket_of(&key)).or_insert(0);
            *sum = sum.wrapping_add(h);
        }
        sums
    }

    /// Starts a round with a random reachable peer.
    pub(super) fn start_anti_entropy(&mut self) {
        let Some(peer) = self.random_peer() else {
            return;
        };
        self.stats.anti_entropy_rounds += 1;
        let buckets = self.summary_for(&peer).into_iter().collect();
        self.send(&peer, Message::Summary { buckets });
    }

    fn digests_in(&self, peer: &str, buckets: &BTreeSet<u16>) -> Vec<(Vec<u8>, V::Digest)> {
        self.data
            .iter()
            .filter(|(k, _)| buckets.contains(&bucket_of(k)) && self.shares(k, peer))
            .map(|(k, e)| (k.clone(), e.value.digest()))
            .collect()
    }

    pub(super) fn on_summary(&mut self, from: &str, theirs: &[(u16, u64)]) {
        let ours = self.summary_for(from);
        let theirs: BTreeMap<u16, u64> = theirs.iter().copied().collect();
        let differ: BTreeSet<u16> = ours
            .keys()
            .chain(theirs.keys())
            .copied()
            .filter(|b| ours.get(b) != theirs.get(b))
            .collect();
        if differ.is_empty() {
            return;
        }
        let entries = self.digests_in(from, &differ);
        self.send(
            from,
            Message::Digests {
                buckets: differ.into_iter().collect(),
                entries,
                answer: true,
            },
        );
    }

    pub(super) fn on_digests(
        &mut self,
        from: &str,
        buckets: &[u16],
        entries: Vec<(Vec<u8>, V::Digest)>,
        answer: bool,
    ) {
        let buckets: BTreeSet<u16> = buckets.iter().copied().collect();
        let listed: BTreeSet<&[u8]> = entries.iter().map(|(k, _)| k.as_slice()).collect();
        let mut repair: Vec<(Vec<u8>, V)> = Vec::new();
        for (key, digest) in &entries {
            if let Some(entry) = self.data.get(key) {
                let missing = entry.value.missing(digest);
                if !missing.is_bottom() {
                    repair.push((key.clone(), missing));
                }
            }
        }
        // Keys the peer does not hold at all: whole states.
        for (key, entry) in &self.data {
            if buckets.contains(&bucket_of(key))
                && !listed.contains(key.as_slice())
                && self.shares(key, from)
            {
                repair.push((key.clone(), entry.value.clone()));
            }
        }
        let ours = if answer {
            Some(self.digests_in(from, &buckets))
        } else {
            None
        };
        for chunk in repair.chunks(self.config.max_repair_keys) {
            self.send(
                from,
                Message::Repair {
                    req: None,
                    entries: chunk.to_vec(),
                },
            );
        }
        if let Some(entries) = ours {
            self.send(
                from,
                Message::Digests {
                    buckets: buckets.into_iter().collect(),
                    entries,
                    answer: false,
                },
            );
        }
    }

    pub(super) fn on_repair(&mut self, from: &str, req: Option<u64>, entries: Vec<(Vec<u8>, V)>) {
        for (key, value) in &entries {
            if self.merge_local(key, value) {
                self.stats.keys_repaired += 1;
            }
        }
        if let Some(req) = req {
            self.send(from, Message::HandoffAck { req });
        }
    }
}
