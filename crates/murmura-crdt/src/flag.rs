//! Enable-wins and disable-wins flags. Both start disabled.

use crate::Result;
use crate::causal::Causal;
use crate::clock::CausalContext;
use crate::codec::Codec;
use crate::dotstore::{DotFun, DotSet, delegate_dot_store};
use crate::traits::DeltaCrdt;
use std::fmt::Debug;

/// An enable-wins flag: enabled iff some enable has not been causally
/// followed by a disable. Concurrent enable and disable leave it enabled.
///
/// ```
/// use murmura_crdt::{EnableWinsFlag, Lattice};
///
/// let mut a: EnableWinsFlag<u64> = EnableWinsFlag::new();
/// a.enable(1);
/// let mut b = a.clone();
/// b.disable();
/// a.enable(1); // concurrent with b's disable
/// a.merge(&b);
/// assert!(a.is_enabled());
/// ```
pub type EnableWinsFlag<A> = Causal<DotSet<A>, A>;

impl<A: Ord + Clone + Codec + Debug> Causal<DotSet<A>, A> {
    /// A disabled flag.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the flag is on.
    pub fn is_enabled(&self) -> bool {
        !self.store.dots.is_empty()
    }

    /// Turns the flag on as `actor`; returns the delta.
    pub fn enable(&mut self, actor: A) -> Self {
        let dot = self.ctx.next_dot(actor);
        let mut ctx = self.observed();
        ctx.insert(dot.clone());
        self.ctx.insert(dot.clone());
        self.store.dots.clear();
        self.store.dots.insert(dot.clone());
        let mut store = DotSet::default();
        store.dots.insert(dot);
        Causal::from_parts(store, ctx)
    }

    /// Turns the flag off (the enables seen); returns the delta.
    pub fn disable(&mut self) -> Self {
        let ctx = self.observed();
        self.store.dots.clear();
        Causal::from_parts(DotSet::default(), ctx)
    }

    fn observed(&self) -> CausalContext<A> {
        let mut ctx = CausalContext::new();
        for d in &self.store.dots {
            ctx.insert(d.clone());
        }
        ctx
    }
}

impl<A: Ord + Clone + Codec + Debug> DeltaCrdt for Causal<DotSet<A>, A> {
    type Actor = A;
    /// `true` enables, `false` disables.
    type Op = bool;
    type Value = bool;

    fn apply(&mut self, actor: &A, enable: bool) -> Result<Self> {
        Ok(if enable {
            self.enable(actor.clone())
        } else {
            self.disable()
        })
    }

    fn value(&self) -> bool {
        self.is_enabled()
    }
}

/// The store of a [`DisableWinsFlag`]: each live dot is an unsuperseded
/// enable (`true`) or disable (`false`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct FlagDots<A: Ord>(DotFun<A, bool>);

impl<A: Ord> Default for FlagDots<A> {
    fn default() -> Self {
        Self(DotFun::default())
    }
}

delegate_dot_store!(FlagDots<A>, DotFun<A, bool>, [A], [A: Ord + Clone + Codec + Debug]);

impl<A: Ord> FlagDots<A> {
    /// On iff some unsuperseded write exists and all of them are enables.
    pub fn disable_wins_value(&self) -> bool {
        !self.0.entries.is_empty() && self.0.entries.values().all(|&on| on)
    }
}

/// A disable-wins flag: enabled iff some enable is unsuperseded and no
/// disable is. Concurrent enable and disable leave it disabled.
///
/// ```
/// use murmura_crdt::{DisableWinsFlag, Lattice};
///
/// let mut a: DisableWinsFlag<u64> = DisableWinsFlag::new();
/// a.enable(1);
/// let mut b = a.clone();
/// b.disable(2);
/// a.enable(1); // concurrent with b's disable
/// a.merge(&b);
/// assert!(!a.is_enabled());
/// ```
pub type DisableWinsFlag<A> = Causal<FlagDots<A>, A>;

impl<A: Ord + Clone + Codec + Debug> Causal<FlagDots<A>, A> {
    /// A disabled flag.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the flag is on.
    pub fn is_enabled(&self) -> bool {
        self.store.disable_wins_value()
    }

    /// Turns the flag on as `actor`; returns the delta.
    pub fn enable(&mut self, actor: A) -> Self {
        self.write(actor, true)
    }

    /// Turns the flag off as `actor`; returns the delta.
    pub fn disable(&mut self, actor: A) -> Self {
        self.write(actor, false)
    }

    fn write(&mut self, actor: A, on: bool) -> Self {
        let dot = self.ctx.next_dot(actor);
        let mut ctx = CausalContext::new();
        for d in self.store.0.entries.keys() {
            ctx.insert(d.clone());
        }
        ctx.insert(dot.clone());
        self.ctx.insert(dot.clone());
        self.store.0.entries.clear();
        self.store.0.entries.insert(dot.clone(), on);
        let mut store = FlagDots::default();
        store.0.entries.insert(dot, on);
        Causal::from_parts(store, ctx)
    }
}

impl<A: Ord + Clone + Codec + Debug> DeltaCrdt for Causal<FlagDots<A>, A> {
    type Actor = A;
    /// `true` enables, `false` disables.
    type Op = bool;
    type Value = bool;

    fn apply(&mut self, actor: &A, on: bool) -> Result<Self> {
        Ok(self.write(actor.clone(), on))
    }

    fn value(&self) -> bool {
        self.is_enabled()
    }
}
