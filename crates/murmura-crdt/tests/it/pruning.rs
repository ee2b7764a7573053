//! Causal-stability pruning of departed actors.

use murmura_crdt::{AntiEntropy, Error, Lattice, ORSet};

/// Actor 3 writes, then leaves; once every live replica has seen its
/// history and none holds its dots, its context entry can go — and merges
/// after pruning behave exactly as before.
#[test]
fn departed_actor_is_forgotten_only_when_stable() {
    let mut a = ORSet::<u64, u64>::new();
    let mut b = ORSet::<u64, u64>::new();
    let mut gone = ORSet::<u64, u64>::new();
    gone.add(3, 1);
    gone.add(3, 2);
    a.merge(&gone);

    // b has not seen actor 3's history yet.
    let before = a.clone();
    assert!(matches!(
        a.forget_actor(&3, &[b.digest()]),
        Err(Error::NotStable(_))
    ));
    assert_eq!(a, before);

    b.merge(&gone);
    // Everyone has seen it, but its adds are still live.
    assert!(matches!(
        a.forget_actor(&3, &[b.digest()]),
        Err(Error::NotStable(_))
    ));

    // a re-adds 1 under its own dot and removes 2; b learns it.
    a.add(1, 1);
    a.remove(&2);
    b.merge(&a);
    // Digests are exchanged first, then every replica forgets (a replica that
    // has already forgotten can no longer vouch for the actor's history).
    let (da, db) = (a.digest(), b.digest());
    assert!(matches!(a.forget_actor(&3, &[db]), Ok(())));
    assert!(b.forget_actor(&3, &[da]).is_ok());
    assert!(
        !a.context()
            .version_vector()
            .iter()
            .any(|(actor, _)| *actor == 3)
    );

    // Merges after pruning keep the same value and never resurrect 2.
    a.add(1, 7);
    b.merge(&a);
    a.merge(&b);
    assert_eq!(a, b);
    assert_eq!(a.iter().copied().collect::<Vec<_>>(), vec![1, 7]);
}

/// Pruning while a peer still holds a live dot would resurrect a removed
/// element; the check refuses it.
#[test]
fn live_dot_at_a_peer_blocks_pruning() {
    let mut a = ORSet::<u64, u64>::new();
    let mut gone = ORSet::<u64, u64>::new();
    gone.add(3, 9);
    a.merge(&gone);
    let b = a.clone(); // b keeps 9 live
    a.remove(&9);
    assert!(matches!(
        a.forget_actor(&3, &[b.digest()]),
        Err(Error::NotStable(_))
    ));
}
