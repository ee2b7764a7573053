//! [`Causal`]: a dot store with its causal context — the state of every
//! dot-based type — and what all of them share: join, join-decomposition
//! anti-entropy, encoding, and causal-stability pruning.

use crate::clock::CausalContext;
use crate::codec::Codec;
use crate::context::{
    ActorTable, Digest, DotRanges, context_actors, decode_context, encode_context, intersect_runs,
    subtract_runs,
};
use crate::dotstore::DotStore;
use crate::traits::{AntiEntropy, Lattice};
use crate::{Error, Result};
use murmura_core::codec::{DecodeError, Reader};
use std::collections::BTreeMap;
use std::fmt::Debug;

/// A dot store `S` with the causal context of actor type `A`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(
        try_from = "serde_repr::CausalRepr<S, A>",
        bound(
            serialize = "S: serde::Serialize, A: Ord + Clone + serde::Serialize",
            deserialize = "S: DotStore<A> + serde::Deserialize<'de>, \
                           A: Ord + Clone + Codec + Debug + serde::Deserialize<'de>"
        )
    )
)]
pub struct Causal<S, A: Ord> {
    pub(crate) store: S,
    pub(crate) ctx: CausalContext<A>,
}

impl<S: Default, A: Ord + Clone> Default for Causal<S, A> {
    fn default() -> Self {
        Self {
            store: S::default(),
            ctx: CausalContext::new(),
        }
    }
}

impl<S, A: Ord> Causal<S, A> {
    /// The dot store (the live part).
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The causal context (every dot seen).
    pub fn context(&self) -> &CausalContext<A> {
        &self.ctx
    }
}

impl<S, A> Causal<S, A>
where
    S: DotStore<A>,
    A: Ord + Clone + Codec + Debug,
{
    /// A state from a store and its context.
    pub(crate) fn from_parts(store: S, ctx: CausalContext<A>) -> Self {
        Self { store, ctx }
    }

    /// The live dots, as compact ranges.
    pub fn live_dots(&self) -> DotRanges<A> {
        let mut dots = Vec::new();
        self.store.for_each_dot(&mut |d| dots.push(d.clone()));
        DotRanges::from_dots(&dots)
    }

    /// Drops a departed actor's context entry. `peers` holds a digest from
    /// every other live replica. On error nothing changes.
    ///
    /// # Forgetting departed actors (causal-stability pruning)
    ///
    /// A causal context keeps one entry per actor that ever wrote. Once an
    /// actor has left for good, [`Causal::forget_actor`] drops its entry, but
    /// only when doing so cannot change any future merge:
    ///
    /// 1. the actor will never create another dot;
    /// 2. every live replica has seen every dot of that actor this replica has
    ///    seen (their [`Digest`]s' contexts cover them — the actor's history is
    ///    causally stable);
    /// 3. no replica — neither this one nor any live peer, per the same digests'
    ///    live sets — still holds a live dot of that actor;
    /// 4. the digests were taken after the actor left, and no message sent
    ///    before them is delivered afterwards (tag messages with an epoch).
    ///
    /// Condition 3 matters because a forgotten dot looks unseen: if a peer still
    /// held it, the next merge would resurrect an entry this replica removed.
    /// Conditions 1 and 4 are the caller's to guarantee; 2 and 3 are checked.
    /// Exchange the digests first and then let every replica forget: a replica
    /// that already forgot the actor can no longer vouch for its history.
    pub fn forget_actor(&mut self, actor: &A, peers: &[Digest<A>]) -> Result<()> {
        let mut live_here = false;
        self.store
            .for_each_dot(&mut |d| live_here |= d.actor == *actor);
        if live_here {
            return Err(Error::NotStable(
                "this replica holds a live dot of the actor",
            ));
        }
        let mut history = CausalContext::new();
        for r in self.ctx.ranges().filter(|r| r.actor == *actor) {
            history.insert_range(r.actor, r.first, r.last);
        }
        for peer in peers {
            if !history.missing_from(&peer.context).is_empty() {
                return Err(Error::NotStable(
                    "a live peer has not seen the actor's history",
                ));
            }
            if !peer.live.runs_of(actor).is_empty() {
                return Err(Error::NotStable(
                    "a live peer holds a live dot of the actor",
                ));
            }
        }
        self.ctx.remove_actor(actor);
        Ok(())
    }
}

impl<S, A> Lattice for Causal<S, A>
where
    S: DotStore<A>,
    A: Ord + Clone + Codec + Debug,
{
    fn merge(&mut self, other: &Self) {
        self.store.join(&self.ctx, &other.store, &other.ctx);
        self.ctx.merge(&other.ctx);
    }
}

impl<S, A> AntiEntropy for Causal<S, A>
where
    S: DotStore<A>,
    A: Ord + Clone + Codec + Debug,
{
    type Digest = Digest<A>;

    fn digest(&self) -> Digest<A> {
        Digest {
            context: self.ctx.clone(),
            live: self.live_dots(),
        }
    }

    /// The join of the irreducibles the peer lacks: live entries it has not
    /// seen, dots it has not seen, and removals of dots it still holds live.
    fn missing(&self, peer: &Digest<A>) -> Self {
        let store = self.store.unseen_by(&peer.context);
        let mut ctx = CausalContext::new();
        for run in self.ctx.missing_from(&peer.context) {
            ctx.insert_range(run.actor, run.first, run.last);
        }
        if !peer.live.is_empty() {
            // Removed here, live there: (their live ∩ our context) \ our live,
            // in run arithmetic, so a digest claiming huge runs costs its run
            // count, not the dots it spans.
            let mine = self.live_dots();
            let mut seen: BTreeMap<A, Vec<(u64, u64)>> = BTreeMap::new();
            for r in self.ctx.ranges() {
                seen.entry(r.actor).or_default().push((r.first, r.last));
            }
            for (actor, theirs) in peer.live.by_actor() {
                let Some(seen) = seen.get(actor) else {
                    continue;
                };
                let removed = subtract_runs(&intersect_runs(theirs, seen), mine.runs_of(actor));
                for (first, last) in removed {
                    ctx.insert_range(actor.clone(), first, last);
                }
            }
        }
        Self { store, ctx }
    }
}

impl<S, A> Codec for Causal<S, A>
where
    S: DotStore<A>,
    A: Ord + Clone + Codec + Debug,
{
    fn encode(&self, out: &mut Vec<u8>) {
        let table = ActorTable::from_sorted(context_actors(&self.ctx));
        table.encode(out);
        encode_context(&self.ctx, &table, out);
        self.store.encode_store(&table, out);
    }

    fn decode(reader: &mut Reader<'_>) -> Result<Self> {
        let table = ActorTable::decode(reader)?;
        let ctx = decode_context(&table, reader)?;
        let store = S::decode_store(&table, reader)?;
        validate_store(&store, &ctx)?;
        Ok(Self { store, ctx })
    }
}

/// Every live dot is unique and covered by the context; otherwise the
/// join laws would not hold for the decoded state.
pub(crate) fn validate_store<S, A>(store: &S, ctx: &CausalContext<A>) -> Result<()>
where
    S: DotStore<A>,
    A: Ord + Clone + Codec + Debug,
{
    let mut dots = Vec::new();
    let mut uncovered = false;
    store.for_each_dot(&mut |d| {
        uncovered |= !ctx.contains(d);
        dots.push(d.clone());
    });
    if uncovered {
        return Err(DecodeError::Invalid("live dot outside the causal context").into());
    }
    dots.sort_unstable();
    if dots.windows(2).any(|w| w[0] == w[1]) {
        return Err(DecodeError::Invalid("a dot is live twice").into());
    }
    Ok(())
}

#[cfg(feature = "serde")]
mod serde_repr {
    use super::*;

    /// The unchecked shape serde reads before [`validate_store`] runs.
    #[derive(serde::Deserialize)]
    #[serde(bound(deserialize = "S: serde::Deserialize<'de>, \
                                 A: Ord + Clone + serde::Deserialize<'de>"))]
    pub(super) struct CausalRepr<S, A: Ord> {
        store: S,
        ctx: CausalContext<A>,
    }

    impl<S, A> TryFrom<CausalRepr<S, A>> for Causal<S, A>
    where
        S: DotStore<A>,
        A: Ord + Clone + Codec + Debug,
    {
        type Error = Error;

        fn try_from(repr: CausalRepr<S, A>) -> Result<Self> {
            validate_store(&repr.store, &repr.ctx)?;
            Ok(Self {
                store: repr.store,
                ctx: repr.ctx,
            })
        }
    }
}
