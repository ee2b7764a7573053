//! Anti-entropy between two replicas: a tree of hashes over the key-hash
//! space narrows down, level by level, to the ranges where the two differ;
//! there the replicas swap the CRDT digests of their keys, and each ships
//! only what the other lacks (the CRDTs' own `missing`).
//!
//! 1. A → B `Summary { level: 0 }`: the 16 child hashes of the root, over
//!    the keys A holds that B also replicates.
//! 2. The receiver compares with its own; for each child that differs it
//!    either descends (`Summary` one level down, back to the sender) or,
//!    once the range holds few keys here, sends `Digests { answer: true }`
//!    of the keys it holds there.
//! 3. Digests are answered with a `Repair` (what the other lacks; whole
//!    states of keys it did not list) and, when asked, the own digests
//!    of the same ranges, which bring back the other direction's `Repair`.

use super::{Store, preference};
use crate::message::{FANOUT, MAX_LEVEL, Message};
use crate::value::StoreValue;
use murmura_crdt::Codec;
use murmura_hash::{Placement, key_hash};

/// A range with at most this many keys here is compared key by key.
const LEAF_KEYS: usize = 2;

/// The inclusive key-hash range of the node `prefix` at `level`.
fn range_of(level: u8, prefix: u64) -> (u64, u64) {
    if level == 0 {
        return (0, u64::MAX);
    }
    let shift = 64 - 4 * u32::from(level);
    let lo = prefix << shift;
    (lo, lo | ((1u64 << shift) - 1))
}

/// One key this replica shares with a peer: its hash, the hash of its
/// state, and the key.
type Shared = (u64, u32, Vec<u8>);

fn slice(shared: &[Shared], level: u8, prefix: u64) -> &[Shared] {
    let (lo, hi) = range_of(level, prefix);
    let start = shared.partition_point(|(kh, _, _)| *kh < lo);
    let end = shared.partition_point(|(kh, _, _)| *kh <= hi);
    &shared[start..end]
}

fn children(keys: &[Shared], level: u8) -> [u32; FANOUT] {
    let shift = 60 - 4 * u32::from(level);
    let mut sums = [0u32; FANOUT];
    for (kh, h, _) in keys {
        let c = ((kh >> shift) & 15) as usize;
        sums[c] = sums[c].wrapping_add(*h);
    }
    sums
}

fn in_ranges(kh: u64, ranges: &[(u8, u64)]) -> bool {
    ranges.iter().any(|(level, prefix)| {
        let (lo, hi) = range_of(*level, *prefix);
        (lo..=hi).contains(&kh)
    })
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

    /// The keys held here that `peer` also replicates, by key hash.
    fn shared_with(&mut self, peer: &str) -> Vec<Shared> {
        let keys: Vec<Vec<u8>> = self
            .data
            .keys()
            .filter(|k| self.shares(k, peer))
            .cloned()
            .collect();
        let mut shared: Vec<Shared> = keys
            .into_iter()
            .map(|key| {
                let kh = key_hash(&key);
                let entry = self.data.get_mut(&key).expect("listed above");
                let h = *entry.hash.get_or_insert_with(|| {
                    xxhash_rust::xxh3::xxh3_64_with_seed(&entry.value.to_bytes(), kh) as u32
                });
                (kh, h, key)
            })
            .collect();
        shared.sort_unstable();
        shared
    }

    /// Starts a round with a random reachable peer.
    pub(super) fn start_anti_entropy(&mut self) {
        let Some(peer) = self.random_peer() else {
            return;
        };
        self.stats.anti_entropy_rounds += 1;
        let shared = self.shared_with(&peer);
        let root = children(&shared, 0);
        self.send(
            &peer,
            Message::Summary {
                level: 0,
                nodes: vec![(0, root)],
            },
        );
    }

    pub(super) fn on_summary(&mut self, from: &str, level: u8, nodes: &[(u64, [u32; FANOUT])]) {
        if level >= MAX_LEVEL {
            return;
        }
        let shared = self.shared_with(from);
        let mut descend = Vec::new();
        let mut leaves = Vec::new();
        for (prefix, theirs) in nodes {
            let ours = children(slice(&shared, level, *prefix), level);
            for c in 0..FANOUT {
                if ours[c] == theirs[c] {
                    continue;
                }
                let (child_level, child) = (level + 1, (prefix << 4) | c as u64);
                let keys = slice(&shared, child_level, child);
                if keys.len() <= LEAF_KEYS || child_level == MAX_LEVEL {
                    leaves.push((child_level, child));
                } else {
                    descend.push((child, children(keys, child_level)));
                }
            }
        }
        if !descend.is_empty() {
            self.send(
                from,
                Message::Summary {
                    level: level + 1,
                    nodes: descend,
                },
            );
        }
        if !leaves.is_empty() {
            let entries = self.digests_in(&shared, &leaves);
            self.send(
                from,
                Message::Digests {
                    ranges: leaves,
                    entries,
                    answer: true,
                },
            );
        }
    }

    fn digests_in(&self, shared: &[Shared], ranges: &[(u8, u64)]) -> Vec<(Vec<u8>, V::Digest)> {
        ranges
            .iter()
            .flat_map(|(level, prefix)| slice(shared, *level, *prefix))
            .filter_map(|(_, _, key)| self.data.get(key).map(|e| (key.clone(), e.value.digest())))
            .collect()
    }

    pub(super) fn on_digests(
        &mut self,
        from: &str,
        ranges: &[(u8, u64)],
        entries: Vec<(Vec<u8>, V::Digest)>,
        answer: bool,
    ) {
        let shared = self.shared_with(from);
        let listed: std::collections::BTreeSet<&[u8]> =
            entries.iter().map(|(k, _)| k.as_slice()).collect();
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
        for (kh, _, key) in &shared {
            if in_ranges(*kh, ranges)
                && !listed.contains(key.as_slice())
                && let Some(entry) = self.data.get(key)
            {
                repair.push((key.clone(), entry.value.clone()));
            }
        }
        for chunk in repair.chunks(self.config.max_repair_keys) {
            self.send(
                from,
                Message::Repair {
                    req: None,
                    entries: chunk.to_vec(),
                },
            );
        }
        if answer {
            let entries = self.digests_in(&shared, ranges);
            self.send(
                from,
                Message::Digests {
                    ranges: ranges.to_vec(),
                    entries,
                    answer: false,
                },
            );
        }
    }

    pub(super) fn on_repair(&mut self, from: &str, req: Option<u64>, entries: Vec<(Vec<u8>, V)>) {
        let errors = self.stats.journal_errors;
        for (key, value) in &entries {
            if self.merge_local(key, value) {
                self.stats.keys_repaired += 1;
            }
        }
        // Confirm only what was recorded.
        if let Some(req) = req.filter(|_| self.stats.journal_errors == errors) {
            self.ack_after_commit(from, Message::HandoffAck { req });
        }
    }
}
