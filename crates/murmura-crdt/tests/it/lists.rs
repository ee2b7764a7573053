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
