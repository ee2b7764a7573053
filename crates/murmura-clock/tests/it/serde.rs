//! serde support: JSON round trips, and invalid input refused or normalised.

use murmura_clock::hlc::Timestamp;
use murmura_clock::itc::Stamp;
use murmura_clock::{CausalContext, Causality, Dot, DvvSet, VersionVector};
use proptest::prelude::*;

fn round_trip<T>(value: &T) -> T
where
    T: serde::Serialize + serde::de::DeserializeOwned,
{
    let json = serde_json::to_string(value).expect("serialises");
    serde_json::from_str(&json).expect("deserialises")
}

#[test]
fn every_type_round_trips_through_json() {
    let mut vv = VersionVector::new();
    vv.increment("b".to_string());
    vv.increment("a".to_string());
    assert_eq!(serde_json::to_string(&vv).unwrap(), r#"[["a",1],["b",1]]"#);
    assert_eq!(round_trip(&vv), vv);

    let cc: CausalContext<u64> = [Dot::new(1, 1), Dot::new(1, 3), Dot::new(2, 2)]
        .into_iter()
        .collect();
    assert_eq!(round_trip(&cc), cc);
    assert_eq!(round_trip(&Dot::new(4u64, 2)), Dot::new(4, 2));
    assert_eq!(round_trip(&Causality::Concurrent), Causality::Concurrent);

    let mut set: DvvSet<u64, String> = DvvSet::new();
    set.update(&VersionVector::new(), 1, "x".into());
    set.update(&VersionVector::new(), 2, "y".into());
    assert_eq!(round_trip(&set), set);

    let t = Timestamp::from_parts(1_700_000_000_000, 9);
    assert_eq!(serde_json::to_string(&t).unwrap(), t.as_u64().to_string());
    assert_eq!(round_trip(&t), t);

    let (mut a, _) = Stamp::seed().fork();
    a.event().unwrap();
    assert_eq!(round_trip(&a), a);
}

#[test]
fn invalid_input_is_refused_or_normalised() {
    // Unsorted, repeated and zero entries normalise.
    let vv: VersionVector<u64> = serde_json::from_str("[[3,1],[1,2],[3,5],[2,0]]").unwrap();
    assert_eq!(vv.as_slice(), &[(1, 2), (3, 5)]);
    // A cloud run touching the vector folds into it.
    let cc: CausalContext<u64> =
        serde_json::from_str(r#"{"vv":[[1,2]],"cloud":[{"actor":1,"first":3,"last":4}]}"#).unwrap();
    assert!(cc.is_compact());
    assert_eq!(cc.version_vector().get(&1), 4);
    // More values than events.
    let bad = r#"{"entries":[{"actor":1,"counter":1,"values":["a","b"]}],"anonymous":[]}"#;
    assert!(serde_json::from_str::<DvvSet<u64, String>>(bad).is_err());
    // Unsorted replicas.
    let bad = r#"{"entries":[{"actor":2,"counter":1,"values":[]},{"actor":1,"counter":1,"values":[]}],"anonymous":[]}"#;
    assert!(serde_json::from_str::<DvvSet<u64, String>>(bad).is_err());
    // Non-canonical ITC bits.
    assert!(serde_json::from_str::<Stamp>("[49]").is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn contexts_round_trip(dots in prop::collection::vec((0u64..4, 1u64..30), 0..40)) {
        let cc: CausalContext<u64> = dots.iter().map(|&(a, n)| Dot::new(a, n)).collect();
        prop_assert_eq!(round_trip(&cc), cc.clone());
        let vv = cc.version_vector().clone();
        prop_assert_eq!(round_trip(&vv), vv);
    }
}
