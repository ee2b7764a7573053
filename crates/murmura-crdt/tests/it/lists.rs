//! The list's reads agree with each other at every moment of a lossy
//! delivery: size, emptiness, content and the bounds of edits.

use murmura_crdt::{Error, Lattice, List};
use proptest::prelude::*;

/// Every read of `list`'s size and content agrees (for the lossy-delivery
/// harness, which calls it after every operation and merge).
pub(crate) fn reads_agree(list: &List<u64, u64>) -> Result<(), TestCaseError> {
    let values = list.to_vec();
    prop_assert_eq!(list.len(), values.len(), "len() vs to_vec()");
    prop_assert_eq!(list.is_empty(), values.is_empty());
    for (i, v) in values.iter().enumerate() {
        prop_assert_eq!(list.get(i), Some(v));
    }
    prop_assert!(
        list.clone().insert(99, list.len(), 0).is_ok(),
        "insert at len()"
    );
    prop_assert!(list.clone().insert(99, list.len() + 1, 0).is_err());
    prop_assert!(list.clone().remove(list.len()).is_err());
    if let Some(last) = list.len().checked_sub(1) {
        prop_assert!(list.clone().remove(last).is_ok(), "remove at len() - 1");
    }
    Ok(())
}

/// Every read of `list`'s size and content agrees.
fn assert_reads_agree(list: &List<u64, u64>) {
    let values = list.to_vec();
    assert_eq!(list.len(), values.len(), "len() vs to_vec()");
    assert_eq!(list.is_empty(), values.is_empty(), "is_empty() vs to_vec()");
    let mut probe = list.clone();
    assert!(probe.insert(99, list.len(), 0).is_ok(), "insert at len()");
    assert_eq!(
        list.clone().insert(99, list.len() + 1, 0),
        Err(Error::IndexOutOfBounds {
            index: list.len() + 1,
            len: list.len()
        })
    );
    if !list.is_empty() {
        assert!(
            list.clone().remove(list.len() - 1).is_ok(),
            "remove at len()-1"
        );
    }
    assert_eq!(
        list.clone().remove(list.len()),
        Err(Error::IndexOutOfBounds {
            index: list.len(),
            len: list.len()
        })
    );
}

/// The reproduction: an element whose origin's delta was lost is
/// not counted until the origin arrives, and then both show.
#[test]
fn element_whose_origin_was_lost_is_not_counted() {
    let mut a: List<u64, u64> = List::new();
    let d1 = a.insert(1, 0, 10).unwrap(); // this delta is lost
    let d2 = a.insert(1, 1, 20).unwrap();
    let mut b: List<u64, u64> = List::new();
    b.merge(&d2);
    assert_eq!(b.len(), 0);
    assert!(b.is_empty());
    assert_eq!(b.to_vec(), Vec::<u64>::new());
    assert_reads_agree(&b);
    b.insert(2, b.len(), 30).unwrap();
    assert_reads_agree(&b);
    b.merge(&d1);
    assert_reads_agree(&b);
    let mut a2 = a.clone();
    a2.merge(&b);
    b.merge(&a);
    assert_eq!(a2.to_vec(), b.to_vec());
    // 30 went in at the head while 10 and 20 were missing, and is newer.
    assert_eq!(b.to_vec(), [30, 10, 20]);
}

/// The outside check's workload: a 10,000-edit session over 5 replicas
/// whose deltas are dropped, duplicated and reordered, then healed by
/// anti-entropy. Every read agrees throughout, and all replicas end equal.
/// (It used to take minutes: every edit rebuilt the whole order.)
#[test]
fn ten_thousand_edits_over_five_lossy_replicas_converge() {
    use murmura_crdt::AntiEntropy;
    let n = 5;
    let mut reps: Vec<List<u64, u64>> = vec![List::new(); n];
    let mut queue: Vec<(usize, List<u64, u64>)> = Vec::new();
    let mut x = 0x5eed_u64;
    let mut next = || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        x >> 16
    };
    for op in 0..10_000u64 {
        let r = (next() % n as u64) as usize;
        let len = reps[r].len();
        let delta = if len > 0 && next() % 5 == 0 {
            reps[r].remove((next() % len as u64) as usize)
        } else {
            reps[r].insert(r as u64, (next() % (len as u64 + 1)) as usize, op)
        }
        .expect("in bounds");
        for to in (0..n).filter(|&t| t != r) {
            match next() % 10 {
                0 => {} // lost
                1 => {
                    queue.push((to, delta.clone()));
                    queue.push((to, delta.clone()));
                }
                _ => queue.push((to, delta.clone())),
            }
        }
        // Deliver a random queued delta most steps: reordering.
        for _ in 0..2 {
            if !queue.is_empty() {
                let i = (next() % queue.len() as u64) as usize;
                let (to, d) = queue.swap_remove(i);
                reps[to].merge(&d);
                if op % 97 == 0 {
                    assert_reads_agree(&reps[to]);
                }
            }
        }
    }
    for (to, d) in queue.drain(..) {
        reps[to].merge(&d);
    }
    for _ in 0..2 {
        for i in 0..n {
            let j = (i + 1) % n;
            let reply = reps[i].missing(&reps[j].digest());
            reps[j].merge(&reply);
        }
    }
    for r in &reps {
        assert_eq!(r, &reps[0]);
        assert_eq!(r.to_vec(), reps[0].to_vec());
        assert_reads_agree(r);
    }
    assert!(reps[0].len() > 1000);
}
