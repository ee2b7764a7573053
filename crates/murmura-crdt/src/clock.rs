//! Temporary stand-in for `murmura-clock`'s agreed API until it lands.
#![allow(dead_code, missing_docs, unreachable_pub)]

use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Dot<A> {
    pub actor: A,
    pub counter: u64,
}

impl<A> Dot<A> {
    pub fn new(actor: A, counter: u64) -> Self {
        Self { actor, counter }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VersionVector<A: Ord> {
    entries: BTreeMap<A, u64>,
}

impl<A: Ord> Default for VersionVector<A> {
    fn default() -> Self {
        Self {
            entries: BTreeMap::new(),
        }
    }
}

impl<A: Ord + Clone> VersionVector<A> {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn get(&self, actor: &A) -> u64 {
        self.entries.get(actor).copied().unwrap_or(0)
    }
    pub fn iter(&self) -> impl Iterator<Item = (&A, u64)> {
        self.entries.iter().map(|(a, c)| (a, *c))
    }
    pub fn apply(&mut self, dot: &Dot<A>) {
        let e = self.entries.entry(dot.actor.clone()).or_insert(0);
        *e = (*e).max(dot.counter);
    }
    pub fn len(&self) -> usize {
        self.entries.len()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct CausalContext<A: Ord> {
    vv: BTreeMap<A, u64>,
    cloud: BTreeSet<Dot<A>>,
}

impl<A: Ord> Default for CausalContext<A> {
    fn default() -> Self {
        Self {
            vv: BTreeMap::new(),
            cloud: BTreeSet::new(),
        }
    }
}

impl<A: Ord + Clone> CausalContext<A> {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn contains(&self, dot: &Dot<A>) -> bool {
        self.vv.get(&dot.actor).is_some_and(|&c| dot.counter <= c) || self.cloud.contains(dot)
    }
    pub fn insert(&mut self, dot: Dot<A>) {
        if dot.counter == 0 || self.contains(&dot) {
            return;
        }
        let top = self.vv.get(&dot.actor).copied().unwrap_or(0);
        if dot.counter == top + 1 {
            let actor = dot.actor.clone();
            let mut top = dot.counter;
            loop {
                let next = Dot::new(actor.clone(), top + 1);
                if self.cloud.remove(&next) {
                    top += 1;
                } else {
                    break;
                }
            }
            self.vv.insert(actor, top);
        } else {
            self.cloud.insert(dot);
        }
    }
    fn compact(&mut self) {
        let cloud = std::mem::take(&mut self.cloud);
        for d in cloud {
            self.insert(d);
        }
    }
    pub fn next_dot(&self, actor: A) -> Dot<A> {
        let c = self.vv.get(&actor).copied().unwrap_or(0);
        let mut top = c;
        for d in &self.cloud {
            if d.actor == actor {
                top = top.max(d.counter);
            }
        }
        Dot::new(actor, top + 1)
    }
    pub fn merge(&mut self, other: &Self) {
        for (a, &c) in &other.vv {
            let e = self.vv.entry(a.clone()).or_insert(0);
            *e = (*e).max(c);
        }
        for d in &other.cloud {
            self.cloud.insert(d.clone());
        }
        self.compact();
    }
    pub fn version_vector(&self) -> VersionVector<A> {
        VersionVector {
            entries: self.vv.clone(),
        }
    }
    pub fn is_compact(&self) -> bool {
        self.cloud.is_empty()
    }
    /// Dots beyond the version vector.
    pub fn cloud(&self) -> impl Iterator<Item = &Dot<A>> {
        self.cloud.iter()
    }
    pub fn remove_actor(&mut self, actor: &A) {
        self.vv.remove(actor);
        self.cloud.retain(|d| &d.actor != actor);
    }
}

/// The version-vector entries and the cloud of a context, sorted.
pub(crate) fn ctx_parts<A: Ord + Clone>(ctx: &CausalContext<A>) -> (Vec<(A, u64)>, Vec<Dot<A>>) {
    (
        ctx.vv.iter().map(|(a, c)| (a.clone(), *c)).collect(),
        ctx.cloud.iter().cloned().collect(),
    )
}

/// Rebuilds a context from a version vector and a cloud of dots above it.
pub(crate) fn ctx_from_parts<A: Ord + Clone>(
    vv: Vec<(A, u64)>,
    cloud: Vec<Dot<A>>,
) -> CausalContext<A> {
    let mut ctx = CausalContext {
        vv: vv.into_iter().filter(|(_, c)| *c > 0).collect(),
        cloud: BTreeSet::new(),
    };
    for d in cloud {
        ctx.insert(d);
    }
    ctx
}
