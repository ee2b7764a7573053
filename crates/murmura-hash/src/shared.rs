//! Lock-free reads while membership changes.
//!
//! A placement is an immutable value; [`SharedPlacement`] holds the current
//! one behind an atomically swapped pointer (`arc-swap`). Readers load it
//! without locks or allocation and keep a consistent snapshot for as long as
//! they hold it; writers are serialised by a mutex, compute the next value
//! from the current one and publish it in one swap, so no change is lost.

use crate::error::Result;
use crate::node::NodeSpec;
use crate::placement::Membership;
use crate::plan::MovePlan;
use murmura_core::sync::{Arc, Mutex};
use std::ops::Deref;

#[cfg(not(loom))]
type Cell<P> = arc_swap::ArcSwap<P>;

/// Under loom, arc-swap (plain std atomics) cannot be modelled, so the cell
/// is a loom lock; the model then checks the writers' protocol around it.
#[cfg(loom)]
struct Cell<P>(loom::sync::RwLock<Arc<P>>);

#[cfg(loom)]
impl<P> Cell<P> {
    fn from_pointee(p: P) -> Self {
        Self(loom::sync::RwLock::new(Arc::new(p)))
    }
    fn load(&self) -> Arc<P> {
        self.0
            .read()
            .map(|g| Arc::clone(&g))
            .unwrap_or_else(|e| Arc::clone(&e.into_inner()))
    }
    fn load_full(&self) -> Arc<P> {
        self.load()
    }
    fn store(&self, p: Arc<P>) {
        match self.0.write() {
            Ok(mut g) => *g = p,
            Err(e) => *e.into_inner() = p,
        }
    }
}

/// A snapshot of the current placement; it stays valid (and unchanged) while
/// held, whatever writers do meanwhile.
pub struct Snapshot<P> {
    #[cfg(not(loom))]
    inner: arc_swap::Guard<Arc<P>>,
    #[cfg(loom)]
    inner: Arc<P>,
}

impl<P> Deref for Snapshot<P> {
    type Target = P;
    fn deref(&self) -> &P {
        &self.inner
    }
}

impl<P: std::fmt::Debug> std::fmt::Debug for Snapshot<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
    }
}

/// The current placement of a cluster, readable without locks while
/// membership changes.
///
/// ```
/// use murmura_hash::{key_hash, NodeSpec, Placement, Ring, RingConfig, SharedPlacement};
///
/// let shared = SharedPlacement::new(Ring::new(["a", "b"].map(NodeSpec::new), RingConfig::default())?);
/// let before = shared.load(); // a snapshot: unaffected by the change below
/// let plan = shared.add(NodeSpec::new("c"))?;
/// assert!(plan.transfers.iter().all(|t| t.to == "c"));
/// assert_eq!(before.len(), 2);
/// assert_eq!(shared.load().len(), 3);
/// # let _ = shared.load().owner(key_hash(b"k"))?;
/// # Ok::<(), murmura_hash::Error>(())
/// ```
pub struct SharedPlacement<P> {
    current: Cell<P>,
    writer: Mutex<()>,
}

impl<P> SharedPlacement<P> {
    /// Publishes `placement` as the current one.
    pub fn new(placement: P) -> Self {
        Self {
            current: Cell::from_pointee(placement),
            writer: Mutex::new(()),
        }
    }

    /// The current placement, without locking or allocating.
    #[inline]
    pub fn load(&self) -> Snapshot<P> {
        Snapshot {
            inner: self.current.load(),
        }
    }

    /// The current placement as an owned `Arc`, to keep beyond a short read.
    pub fn snapshot(&self) -> Arc<P> {
        self.current.load_full()
    }

    /// Computes the next placement from the current one and publishes it;
    /// writers run one at a time so none is lost. Returns what `change`
    /// returned beside the new placement.
    ///
    /// # Errors
    /// Whatever `change` returns; the current placement then stays.
    pub fn update<T>(&self, change: impl FnOnce(&P) -> Result<(P, T)>) -> Result<T> {
        // A poisoned lock only means another writer panicked before
        // publishing; the published value is still whole.
        let _writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let current = self.current.load_full();
        let (next, out) = change(&current)?;
        self.current.store(Arc::new(next));
        Ok(out)
    }
}

impl<P: Membership> SharedPlacement<P> {
    /// Adds a node and publishes the result; returns what moves.
    ///
    /// # Errors
    /// As [`Membership::add`]; the current placement then stays.
    pub fn add(&self, node: NodeSpec<P::Node>) -> Result<MovePlan<P::Node>> {
        self.update(|p| p.add(node))
    }

    /// Removes a node and publishes the result; returns what moves.
    ///
    /// # Errors
    /// As [`Membership::remove`]; the current placement then stays.
    pub fn remove(&self, node: &P::Node) -> Result<MovePlan<P::Node>> {
        self.update(|p| p.remove(node))
    }

    /// Like [`add`](SharedPlacement::add), and also returns the placement it
    /// published: the one the plan describes, even if another writer has
    /// changed the current one since. Resolve [`Keys::Reassigned`]
    /// transfers against it with [`MovePlan::destination`].
    ///
    /// [`Keys::Reassigned`]: crate::Keys::Reassigned
    ///
    /// # Errors
    /// As [`Membership::add`]; the current placement then stays.
    pub fn add_published(&self, node: NodeSpec<P::Node>) -> Result<(MovePlan<P::Node>, Arc<P>)> {
        self.publish(|p| p.add(node))
    }

    /// Like [`remove`](SharedPlacement::remove), and also returns the
    /// placement it published (see [`add_published`](SharedPlacement::add_published)).
    ///
    /// # Errors
    /// As [`Membership::remove`]; the current placement then stays.
    pub fn remove_published(&self, node: &P::Node) -> Result<(MovePlan<P::Node>, Arc<P>)> {
        self.publish(|p| p.remove(node))
    }

    fn publish(
        &self,
        change: impl FnOnce(&P) -> Result<(P, MovePlan<P::Node>)>,
    ) -> Result<(MovePlan<P::Node>, Arc<P>)> {
        let _writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let current = self.current.load_full();
        let (next, plan) = change(&current)?;
        let next = Arc::new(next);
        self.current.store(Arc::clone(&next));
        Ok((plan, next))
    }
}

impl<P> std::fmt::Debug for SharedPlacement<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedPlacement").finish_non_exhaustive()
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use crate::{NodeSpec, Placement, Rendezvous};
    use loom::thread;

    #[test]
    fn loom_concurrent_writers_lose_no_change_and_readers_see_whole_snapshots() {
        loom::model(|| {
            let shared = Arc::new(SharedPlacement::new(
                Rendezvous::new([NodeSpec::new(0u32)]).unwrap(),
            ));
            let writers: Vec<_> = [1u32, 2]
                .into_iter()
                .map(|id| {
                    let shared = Arc::clone(&shared);
                    thread::spawn(move || {
                        if id == 1 {
                            shared.add(NodeSpec::new(id)).unwrap();
                        } else {
                            // The placement returned is the one this
                            // writer published: it holds its own node.
                            let (_, published) = shared.add_published(NodeSpec::new(id)).unwrap();
                            assert!(published.roster().index_of(&id).is_some());
                        }
                    })
                })
                .collect();
            let snap = shared.load();
            let n = snap.len();
            assert!((1..=3).contains(&n));
            // A snapshot is internally consistent: every member owns itself.
            assert!(snap.roster().index_of(&0).is_some());
            for w in writers {
                w.join().unwrap();
            }
            let last = shared.load();
            assert_eq!(last.len(), 3);
            for id in [0u32, 1, 2] {
                assert!(last.roster().index_of(&id).is_some());
            }
        });
    }
}
