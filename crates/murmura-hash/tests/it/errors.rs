//! Every error case is a typed error, and a failed call changes nothing.

use crate::util::{hrw, jump, keys, maglev, owners, ring};
use murmura_hash::{
    Error, Jump, Maglev, MaglevConfig, Membership, NodeSpec, Placement, Rendezvous, Ring,
    RingConfig,
};

fn bad_weights() -> [f64; 5] {
    [0.0, -1.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY]
}

#[test]
fn invalid_weights_are_rejected_everywhere() {
    for w in bad_weights() {
        let specs = || [NodeSpec::new(1u32), NodeSpec::new(2).with_weight(w)];
        assert!(matches!(
            Ring::new(specs(), RingConfig::default()),
            Err(Error::InvalidWeight { .. })
        ));
        assert!(matches!(
            Jump::new(specs()),
            Err(Error::InvalidWeight { .. })
        ));
        assert!(matches!(
            Rendezvous::new(specs()),
            Err(Error::InvalidWeight { .. })
        ));
        assert!(matches!(
            Maglev::new(specs(), MaglevConfig::default()),
            Err(Error::InvalidWeight { .. })
        ));
        assert!(matches!(
            ring(3).add(NodeSpec::new(9).with_weight(w)),
            Err(Error::InvalidWeight { .. })
        ));
    }
    assert!(matches!(
        Jump::new([NodeSpec::new(1u32).with_weight(2.0)]),
        Err(Error::WeightsUnsupported { .. })
    ));
    assert!(matches!(
        jump(2).add(NodeSpec::new(5).with_weight(2.0)),
        Err(Error::WeightsUnsupported { .. })
    ));
}

#[test]
fn duplicates_and_unknown_nodes_are_rejected_and_leave_state_alone() {
    let dup = || [NodeSpec::new(1u32), NodeSpec::new(1)];
    assert!(matches!(
        Ring::new(dup(), RingConfig::default()),
        Err(Error::DuplicateNode { .. })
    ));
    assert!(matches!(Jump::new(dup()), Err(Error::DuplicateNode { .. })));
    assert!(matches!(
        Rendezvous::new(dup()),
        Err(Error::DuplicateNode { .. })
    ));
    assert!(matches!(
        Maglev::new(dup(), MaglevConfig::default()),
        Err(Error::DuplicateNode { .. })
    ));

    let ks = keys(300, 1);
    let r = ring(4);
    let before = owners(&r, &ks);
    assert!(matches!(
        r.add(NodeSpec::new(2)),
        Err(Error::DuplicateNode { .. })
    ));
    assert!(matches!(r.remove(&9), Err(Error::UnknownNode { .. })));
    assert_eq!(owners(&r, &ks), before);
    assert!(matches!(jump(4).remove(&9), Err(Error::UnknownNode { .. })));
    assert!(matches!(
        hrw(4).add(NodeSpec::new(0)),
        Err(Error::DuplicateNode { .. })
    ));
    assert!(matches!(
        maglev(4).remove(&4),
        Err(Error::UnknownNode { .. })
    ));
}

#[test]
fn too_many_replicas_and_empty_placements() {
    let r = ring(3);
    assert_eq!(
        r.replicas(1, 4).unwrap_err(),
        Error::TooManyReplicas {
            requested: 4,
            nodes: 3
        }
    );
    assert!(r.zoned_replicas(1, 4).is_err());
    assert_eq!(r.replicas(1, 0).unwrap().count(), 0);
    assert_eq!(
        Ring::<u32>::new([], RingConfig::default())
            .unwrap()
            .owner(1),
        Err(Error::EmptyRing)
    );
    assert_eq!(
        Jump::<u32>::new([]).unwrap().owner(1),
        Err(Error::EmptyRing)
    );
    assert_eq!(
        Rendezvous::<u32>::new([]).unwrap().owner(1),
        Err(Error::EmptyRing)
    );
    assert_eq!(
        Maglev::<u32>::new([], MaglevConfig::default())
            .unwrap()
            .owner(1),
        Err(Error::EmptyRing)
    );
    assert_eq!(
        Rendezvous::<u32>::new([])
            .unwrap()
            .replicas(1, 1)
            .unwrap_err(),
        Error::EmptyRing
    );
}

#[test]
fn errors_render_readably() {
    let e = Ring::new([NodeSpec::new("x").with_weight(0.0)], RingConfig::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "node \"x\" has weight 0; weights must be finite and greater than zero"
    );
    let e = Error::TooManyReplicas {
        requested: 4,
        nodes: 3,
    };
    assert_eq!(
        e.to_string(),
        "asked for 4 replicas but only 3 nodes are members"
    );
}
