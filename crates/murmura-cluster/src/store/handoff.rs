//! Handing keys over: hints to the replica they were meant for, and keys
//! no longer placed here to their new owners — dropped here only once the
//! owners confirm they hold them, so a rebalance never leaves a key with
//! fewer copies than before.

use super::{Deadline, Entry, PeerPermit, Store, preference};
use crate::message::Message;
use crate::value::StoreValue;
use murmura_crdt::Codec;
use murmura_hash::{Placement, key_hash};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Kind {
    Hint,
    Leaving,
}

pub(super) struct PendingHandoff {
    to: String,
    kind: Kind,
    /// Keys sent, with the version of the copy sent.
    keys: Vec<(Vec<u8>, u64)>,
    permit: Option<PeerPermit>,
}

impl<V, P> Store<V, P>
where
    V: StoreValue,
    V::Digest: Codec,
    P: Placement<Node = String>,
{
    /// Holds `delta` for `replica`; false when the hint store is full.
    pub(super) fn hold_hint(&mut self, replica: String, key: Vec<u8>, delta: &V) -> bool {
        let version = self.bump_version();
        let held = self.hints.entry(replica).or_default();
        match held.get_mut(&key) {
            Some((value, v)) => {
                value.merge(delta);
                *v = version;
            }
            None => {
                if self.hint_count >= self.config.max_hints {
                    return false;
                }
                held.insert(key, (delta.clone(), version));
                self.hint_count += 1;
            }
        }
        true
    }

    fn handoff_in_flight(&self, to: &str, kind: Kind) -> bool {
        self.handoffs.values().any(|h| h.to == to && h.kind == kind)
    }

    fn start_handoff(&mut self, to: &str, kind: Kind, entries: Vec<(Vec<u8>, V, u64)>) {
        let Some(permit) = self.admit(to) else { return };
        let id = self.request_id();
        let keys = entries.iter().map(|(k, _, v)| (k.clone(), *v)).collect();
        let entries = entries
            .into_iter()
            .map(|(k, value, _)| (k, value))
            .collect();
        self.send(
            to,
            Message::Repair {
                req: Some(id),
                entries,
            },
        );
        self.handoffs.insert(
            id,
            PendingHandoff {
                to: to.to_owned(),
                kind,
                keys,
                permit,
            },
        );
        let deadline = self.now() + self.config.request_timeout;
        self.deadlines
            .push(Reverse((deadline, Deadline::Handoff(id))));
    }

    /// Offers held hints to their replicas (all of them, or just `only`).
    pub(super) fn deliver_hints(&mut self, only: Option<&str>) {
        let targets: Vec<String> = match only {
            Some(t) => vec![t.to_owned()],
            None => self.hints.keys().cloned().collect(),
        };
        for target in targets {
            if self.placement.roster().index_of(&target).is_none() {
                self.adopt_orphaned_hints(&target);
                continue;
            }
            if self.down.contains(&target) || self.handoff_in_flight(&target, Kind::Hint) {
                continue;
            }
            let Some(held) = self.hints.get(&target) else {
                continue;
            };
            let entries: Vec<(Vec<u8>, V, u64)> = held
                .iter()
                .take(self.config.max_repair_keys)
                .map(|(k, (value, v))| (k.clone(), value.clone(), *v))
                .collect();
            if !entries.is_empty() {
                self.start_handoff(&target, Kind::Hint, entries);
            }
        }
    }

    /// Hints for a member that left the placement for good: merged here
    /// and handed to the keys' current owners like any key leaving.
    fn adopt_orphaned_hints(&mut self, target: &str) {
        let Some(held) = self.hints.remove(target) else {
            return;
        };
        self.hint_count -= held.len();
        for (key, (value, _)) in held {
            self.merge_local(&key, &value);
            if !self.places_here(&key) {
                self.leaving.entry(key).or_default();
            }
        }
    }

    pub(super) fn places_here(&self, key: &[u8]) -> bool {
        preference(&*self.placement, &self.config, key_hash(key))
            .map(|r| r.contains(&self.name))
            .unwrap_or(false)
    }

    /// After a placement change: keys no longer placed here start leaving;
    /// owners new to a key this replica keeps get a copy.
    pub(super) fn rebalance(&mut self, old: &P) {
        let mut copies: BTreeMap<String, Vec<(Vec<u8>, V)>> = BTreeMap::new();
        let mut leaving = Vec::new();
        for (key, entry) in &self.data {
            let h = key_hash(key);
            let new = preference(&*self.placement, &self.config, h).unwrap_or_default();
            if !new.contains(&self.name) {
                leaving.push(key.clone());
                continue;
            }
            let old = preference(old, &self.config, h).unwrap_or_default();
            for m in new.iter().filter(|m| **m != self.name && !old.contains(m)) {
                copies
                    .entry(m.clone())
                    .or_default()
                    .push((key.clone(), entry.value.clone()));
            }
        }
        for key in leaving {
            self.leaving.entry(key).or_default();
        }
        // Keys that came back here stop leaving.
        let back: Vec<Vec<u8>> = self
            .leaving
            .keys()
            .filter(|k| self.places_here(k))
            .cloned()
            .collect();
        for key in back {
            self.leaving.remove(&key);
        }
        for (to, entries) in copies {
            if self.down.contains(&to) {
                continue; // anti-entropy brings it when it is back
            }
            for chunk in entries.chunks(self.config.max_repair_keys) {
                self.send(
                    &to,
                    Message::Repair {
                        req: None,
                        entries: chunk.to_vec(),
                    },
                );
            }
        }
        self.hand_off_leaving();
    }

    /// Offers leaving keys to owners that have not confirmed them.
    pub(super) fn hand_off_leaving(&mut self) {
        let mut per_owner: BTreeMap<String, Vec<(Vec<u8>, V, u64)>> = BTreeMap::new();
        let mut settled = Vec::new();
        let mut stays = Vec::new();
        for (key, confirmed) in &self.leaving {
            let Some(entry) = self.data.get(key) else {
                settled.push(key.clone());
                continue;
            };
            let owners =
                preference(&*self.placement, &self.config, key_hash(key)).unwrap_or_default();
            if owners.contains(&self.name) {
                stays.push(key.clone());
                continue;
            }
            for owner in owners {
                if confirmed.get(&owner) == Some(&entry.version) {
                    continue;
                }
                let batch = per_owner.entry(owner).or_default();
                if batch.len() < self.config.max_repair_keys {
                    batch.push((key.clone(), entry.value.clone(), entry.version));
                }
            }
        }
        for key in stays {
            self.leaving.remove(&key);
        }
        for key in settled {
            self.leaving.remove(&key);
        }
        for (owner, entries) in per_owner {
            if self.down.contains(&owner) || self.handoff_in_flight(&owner, Kind::Leaving) {
                continue;
            }
            self.start_handoff(&owner, Kind::Leaving, entries);
        }
    }

    pub(super) fn on_handoff_ack(&mut self, from: &str, req: u64) {
        let Some(h) = self.handoffs.remove(&req) else {
            return;
        };
        if h.to != from {
            self.handoffs.insert(req, h);
            return;
        }
        if let Some(p) = h.permit {
            p.success();
        }
        self.release(from);
        match h.kind {
            Kind::Hint => {
                let Some(held) = self.hints.get_mut(from) else {
                    return;
                };
                for (key, version) in &h.keys {
                    if held.get(key).map(|(_, v)| v) == Some(version) {
                        held.remove(key);
                        self.hint_count -= 1;
                        self.stats.hints_delivered += 1;
                    }
                }
                if held.is_empty() {
                    self.hints.remove(from);
                } else {
                    self.deliver_hints(Some(from));
                }
            }
            Kind::Leaving => {
                let mut check = BTreeSet::new();
                for (key, version) in h.keys {
                    let current = self.data.get(&key).map(|e| e.version);
                    if current == Some(version)
                        && let Some(confirmed) = self.leaving.get_mut(&key)
                    {
                        confirmed.insert(from.to_owned(), version);
                        check.insert(key);
                    }
                }
                for key in check {
                    self.drop_if_settled(&key);
                }
                self.hand_off_leaving();
            }
        }
    }

    /// Drops a leaving key once every current owner confirmed this copy.
    fn drop_if_settled(&mut self, key: &[u8]) {
        let Some(Entry { version, .. }) = self.data.get(key) else {
            return;
        };
        let Some(confirmed) = self.leaving.get(key) else {
            return;
        };
        let owners = preference(&*self.placement, &self.config, key_hash(key)).unwrap_or_default();
        if owners.contains(&self.name) {
            return;
        }
        if owners.iter().all(|o| confirmed.get(o) == Some(version)) {
            self.data.remove(key);
            self.leaving.remove(key);
            self.stats.keys_handed_off += 1;
        }
    }

    pub(super) fn handoff_timed_out(&mut self, id: u64) {
        let Some(h) = self.handoffs.remove(&id) else {
            return;
        };
        if let Some(p) = h.permit {
            p.failure();
        }
        self.release(&h.to);
    }
}
