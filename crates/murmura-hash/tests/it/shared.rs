//! SharedPlacement: readers keep working while a writer changes membership.

use murmura_hash::{Membership, NodeSpec, Placement, Ring, RingConfig, SharedPlacement};
use std::sync::atomic::{AtomicBool, Ordering};

#[test]
fn readers_see_whole_snapshots_while_writers_change_membership() {
    let shared = SharedPlacement::new(
        Ring::new((0u32..4).map(NodeSpec::new), RingConfig { vnodes: 20 }).unwrap(),
    );
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        for t in 0..2u64 {
            let (shared, done) = (&shared, &done);
            s.spawn(move || {
                let mut k = t;
                while !done.load(Ordering::Relaxed) {
                    k = k.wrapping_add(0x9e37_79b9_7f4a_7c15);
                    let snap = shared.load();
                    let owner = *snap.owner(k).unwrap();
                    // The owner is a member of the same snapshot.
                    assert!(snap.roster().index_of(&owner).is_some());
                    assert_eq!(snap.replicas(k, 2).unwrap().count(), 2);
                }
            });
        }
        for id in 4..24u32 {
            shared.add(NodeSpec::new(id)).unwrap();
            shared.remove(&(id - 4)).unwrap();
        }
        done.store(true, Ordering::Relaxed);
    });
    let last = shared.snapshot();
    assert_eq!(last.len(), 4);
    assert!((20..24).all(|id| last.roster().index_of(&id).is_some()));
    // A failed change publishes nothing.
    assert!(shared.add(NodeSpec::new(20)).is_err());
    assert_eq!(shared.load().len(), 4);
    let _ = last.add(NodeSpec::new(99)).unwrap();
}

/// `Keys::Reassigned` plans resolve against the placement they describe
/// (issue 13, point 11): `add_published` returns it, and `destination`
/// answers for every key.
#[test]
fn reassigned_plans_resolve_against_the_published_placement() {
    use crate::util::keys;
    use murmura_hash::{Jump, Keys, Rendezvous};
    fn check<P: Membership<Node = u32>>(p: P) {
        let before = p.roster().specs().len();
        let old = SharedPlacement::new(p);
        let snapshot = old.snapshot();
        let (plan, next) = old.add_published(NodeSpec::new(1_000)).unwrap();
        assert_eq!(next.len(), before + 1);
        assert!(plan.transfers.iter().all(|t| t.keys == Keys::Reassigned));
        // Another writer changes the current placement: the returned one
        // still matches the plan.
        old.remove(&0).unwrap();
        let mut moved = 0;
        for k in keys(5_000, 3) {
            let holder = *snapshot.owner(k).unwrap();
            let now = *next.owner(k).unwrap();
            let dest = plan.destination(k, &holder, &*next).copied();
            assert_eq!(dest, (holder != now).then_some(now));
            moved += usize::from(dest.is_some());
        }
        assert!(moved > 0);
        let (plan, next) = old.remove_published(&1).unwrap();
        assert!(plan.transfers.iter().all(|t| t.from == 1));
        assert!(next.roster().index_of(&1).is_none());
    }
    check(Jump::new((0u32..8).map(NodeSpec::new)).unwrap());
    check(Rendezvous::new((0u32..8).map(NodeSpec::new)).unwrap());
}
