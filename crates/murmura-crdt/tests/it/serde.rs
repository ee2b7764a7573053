//! serde support: JSON round trips, and hostile input is refused.
#![cfg(feature = "serde")]

use murmura_crdt::{
    BoundedCounter, CounterDots, DisableWinsFlag, EnableWinsFlag, GCounter, GSet, Lattice, List,
    LwwMap, LwwRegister, MvRegister, ORMap, ORSet, PNCounter, RemoveWinsSet, TwoPSet,
};
use serde::{Serialize, de::DeserializeOwned};
use std::fmt::Debug;

fn json_round_trip<T: Serialize + DeserializeOwned + PartialEq + Debug>(value: &T) {
    let text = serde_json::to_string(value).expect("serialises");
    let back: T = serde_json::from_str(&text).expect("deserialises");
    assert_eq!(&back, value, "{text}");
}

#[test]
fn every_other_type_round_trips() {
    let mut pn = PNCounter::new();
    pn.inc(1u64, 5);
    pn.dec(2, 3);
    json_round_trip(&pn);
    let mut bounded = BoundedCounter::new();
    bounded.inc(1u64, 5);
    bounded.transfer(1, 2, 2).unwrap();
    json_round_trip(&bounded);
    let mut g = GSet::new();
    g.insert("x".to_string());
    json_round_trip(&g);
    let mut two = TwoPSet::new();
    two.insert(1u64);
    two.insert(2);
    two.remove(1);
    json_round_trip(&two);
    let mut rw: RemoveWinsSet<u64, u64> = RemoveWinsSet::new();
    rw.add(1, 4);
    rw.remove(2, 4);
    rw.add(1, 5);
    json_round_trip(&rw);
    let mut lww = LwwRegister::default();
    lww.write(3u64, 1u64, "v".to_string());
    json_round_trip(&lww);
    let mut ew: EnableWinsFlag<u64> = EnableWinsFlag::new();
    ew.enable(1);
    json_round_trip(&ew);
    let mut dw: DisableWinsFlag<u64> = DisableWinsFlag::new();
    dw.enable(1);
    dw.disable(2);
    json_round_trip(&dw);
    assert!(!dw.is_enabled());
}

#[test]
fn json_round_trips() {
    let mut set: ORSet<String, u64> = ORSet::new();
    set.add(1, "a".into());
    set.add(2, "b".into());
    set.remove(&"a".into());
    let back: ORSet<String, u64> =
        serde_json::from_str(&serde_json::to_string(&set).unwrap()).unwrap();
    assert_eq!(back, set);

    let mut map: ORMap<u64, CounterDots<u64>, u64> = ORMap::new();
    map.update(7, |c| c.inc(1, 3));
    let back: ORMap<u64, CounterDots<u64>, u64> =
        serde_json::from_str(&serde_json::to_string(&map).unwrap()).unwrap();
    assert_eq!(back, map);

    let mut reg: MvRegister<u64, u64> = MvRegister::new();
    reg.write(1, 10);
    let back: MvRegister<u64, u64> =
        serde_json::from_str(&serde_json::to_string(&reg).unwrap()).unwrap();
    assert_eq!(back, reg);

    let mut lww = LwwMap::new();
    lww.insert(1u64, 1u64, 1u64, 2u64);
    let back: LwwMap<u64, u64, u64, u64> =
        serde_json::from_str(&serde_json::to_string(&lww).unwrap()).unwrap();
    assert_eq!(back, lww);

    let mut g = GCounter::new();
    g.inc(1u64, 2);
    let mut list: List<u64, u64> = List::new();
    list.insert(1, 0, 5).unwrap();
    assert_eq!(
        serde_json::from_str::<GCounter<u64>>(&serde_json::to_string(&g).unwrap()).unwrap(),
        g
    );
    assert_eq!(
        serde_json::from_str::<List<u64, u64>>(&serde_json::to_string(&list).unwrap()).unwrap(),
        list
    );
}

/// A live dot its own context has not seen would break the merge laws, so
/// deserialisation refuses it.
#[test]
fn json_with_uncovered_dot_is_refused() {
    let mut set: ORSet<u64, u64> = ORSet::new();
    set.add(1, 5);
    let mut other: ORSet<u64, u64> = ORSet::new();
    other.add(1, 5);
    other.add(1, 6);
    // Splice the larger store into the smaller context.
    let mut v: serde_json::Value = serde_json::to_value(&set).unwrap();
    v["store"] = serde_json::to_value(other.store()).unwrap();
    assert!(serde_json::from_value::<ORSet<u64, u64>>(v).is_err());
    // Unsorted entries are put back in order rather than trusted.
    let mut v: serde_json::Value = serde_json::to_value(&other).unwrap();
    let entries = v["store"].as_array_mut().unwrap();
    entries.reverse();
    let back: ORSet<u64, u64> = serde_json::from_value(v).unwrap();
    assert_eq!(back, other);
    assert_eq!(back.merged(&other), other);
}

/// A zero entry means "absent"; keeping one from JSON would make two equal
/// counters compare unequal.
#[test]
fn json_zero_counts_are_dropped() {
    let with_zero: GCounter<u64> =
        serde_json::from_str(r#"{"totals":{"entries":[[1,0],[2,3]]}}"#).expect("deserialises");
    let mut expected = GCounter::new();
    expected.inc(2u64, 3);
    assert_eq!(
        serde_json::to_string(&expected).unwrap(),
        r#"{"totals":{"entries":[[2,3]]}}"#
    );
    assert_eq!(with_zero, expected);
}
