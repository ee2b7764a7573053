//! The remove-wins observed-remove set.

use crate::Result;
use crate::causal::Causal;
use crate::clock::CausalContext;
use crate::codec::Codec;
use crate::dotstore::{DotFun, DotMap, delegate_dot_store};
use crate::orset::SetOp;
use crate::traits::DeltaCrdt;
use std::fmt::Debug;

/// The store of a [`RemoveWinsSet`]: per element, the unsuperseded adds
/// (`true`) and removes (`false`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct AddRemoveDots<E: Ord, A: Ord>(DotMap<E, DotFun<A, bool>>);

impl<E: Ord, A: Ord> Default for AddRemoveDots<E, A> {
    fn default() -> Self {
        Self(DotMap::default())
    }
}

delegate_dot_store!(
    AddRemoveDots<E, A>,
    DotMap<E, DotFun<A, bool>>,
    [E, A],
    [E: Ord + Clone + Codec + Debug, A: Ord + Clone + Codec + Debug]
);

/// A remove-wins observed-remove set: an element is present iff some add
/// of it is unsuperseded and no remove of it is. Concurrent add and remove
/// leave it absent. A removed element keeps one small remove entry until
/// a later add or remove supersedes it.
///
/// ```
/// use murmura_crdt::{Lattice, RemoveWinsSet};
///
/// let mut a: RemoveWinsSet<u64, u64> = RemoveWinsSet::new();
/// a.add(1, 42);
/// let mut b = a.clone();
/// b.remove(2, 42);
/// a.add(1, 42); // concurrent with the remove
/// a.merge(&b);
/// assert!(!a.contains(&42));
/// ```
pub type RemoveWinsSet<E, A> = Causal<AddRemoveDots<E, A>, A>;

impl<E, A> Causal<AddRemoveDots<E, A>, A>
where
    E: Ord + Clone + Codec + Debug,
    A: Ord + Clone + Codec + Debug,
{
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether `elem` is present.
    pub fn contains(&self, elem: &E) -> bool {
        self.store
            .0
            .get(elem)
            .is_some_and(|f| !f.entries.is_empty() && f.entries.values().all(|&add| add))
    }

    /// The present elements, ascending.
    pub fn iter(&self) -> impl Iterator<Item = &E> {
        self.store
            .0
            .iter()
            .filter(|(_, f)| f.entries.values().all(|&add| add))
            .map(|(e, _)| e)
    }

    /// Adds `elem` as `actor`; returns the delta.
    pub fn add(&mut self, actor: A, elem: E) -> Self {
        self.write(actor, elem, true)
    }

    /// Removes `elem` as `actor`; returns the delta.
    pub fn remove(&mut self, actor: A, elem: E) -> Self {
        self.write(actor, elem, false)
    }

    fn write(&mut self, actor: A, elem: E, add: bool) -> Self {
        let dot = self.ctx.next_dot(actor);
        let mut ctx = CausalContext::new();
        if let Some(old) = self.store.0.entries.get(&elem) {
            for d in old.entries.keys() {
                ctx.insert(d.clone());
            }
        }
        ctx.insert(dot.clone());
        self.ctx.insert(dot.clone());
        let mut fun = DotFun::default();
        fun.entries.insert(dot, add);
        self.store.0.entries.insert(elem.clone(), fun.clone());
        let mut store = AddRemoveDots::default();
        store.0.entries.insert(elem, fun);
        Causal::from_parts(store, ctx)
    }
}

impl<E, A> DeltaCrdt for Causal<AddRemoveDots<E, A>, A>
where
    E: Ord + Clone + Codec + Debug,
    A: Ord + Clone + Codec + Debug,
{
    type Actor = A;
    type Op = SetOp<E>;
    type Value = Vec<E>;

    fn apply(&mut self, actor: &A, op: SetOp<E>) -> Result<Self> {
        Ok(match op {
            SetOp::Add(e) => self.add(actor.clone(), e),
            SetOp::Remove(e) => self.remove(actor.clone(), e),
        })
    }

    fn value(&self) -> Vec<E> {
        self.iter().cloned().collect()
    }
}
