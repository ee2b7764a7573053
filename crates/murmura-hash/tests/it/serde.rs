//! Configuration round-trips through serde (JSON here).

use murmura_hash::{BoundedLoadConfig, MaglevConfig, NodeSpec, Placement, Ring, RingConfig};

#[test]
fn node_specs_and_configs_round_trip() {
    let specs = vec![
        NodeSpec::new("a".to_string())
            .in_zone("z1")
            .with_weight(2.5),
        NodeSpec::new("b".to_string()),
    ];
    let json = serde_json::to_string(&specs).unwrap();
    let back: Vec<NodeSpec<String>> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, specs);

    // Weight and zone are optional in hand-written configuration.
    let minimal: NodeSpec<String> = serde_json::from_str(r#"{"id":"c"}"#).unwrap();
    assert_eq!(minimal, NodeSpec::new("c".to_string()));

    let ring = RingConfig { vnodes: 7 };
    assert_eq!(
        serde_json::from_str::<RingConfig>(&serde_json::to_string(&ring).unwrap()).unwrap(),
        ring
    );
    let maglev = MaglevConfig {
        table_size: Some(1021),
    };
    assert_eq!(
        serde_json::from_str::<MaglevConfig>(&serde_json::to_string(&maglev).unwrap()).unwrap(),
        maglev
    );
    let bounded = BoundedLoadConfig::default();
    assert_eq!(
        serde_json::from_str::<BoundedLoadConfig>(&serde_json::to_string(&bounded).unwrap())
            .unwrap(),
        bounded
    );

    // A ring rebuilt from its serialized members and config places alike.
    let r = Ring::new(specs.clone(), ring).unwrap();
    let json = serde_json::to_string(&(r.roster().specs(), r.config())).unwrap();
    let (s2, c2): (Vec<NodeSpec<String>>, RingConfig) = serde_json::from_str(&json).unwrap();
    let r2 = Ring::new(s2, c2).unwrap();
    for k in 0..200u64 {
        assert_eq!(
            r.owner(k.wrapping_mul(0x9e37_79b9_7f4a_7c15)),
            r2.owner(k.wrapping_mul(0x9e37_79b9_7f4a_7c15))
        );
    }
}
