//! Shared helpers: deterministic keys and the five placements over the same
//! members.

use murmura_hash::{
    Jump, Maglev, MaglevConfig, NodeSpec, Placement, Rendezvous, Ring, RingConfig, key_hash_u64,
};

/// `count` stable key hashes derived from `seed`.
pub(crate) fn keys(count: usize, seed: u64) -> Vec<u64> {
    (0..count as u64)
        .map(|i| key_hash_u64(i ^ seed.rotate_left(32)))
        .collect()
}

pub(crate) fn specs(n: u32) -> Vec<NodeSpec<u32>> {
    (0..n).map(NodeSpec::new).collect()
}

pub(crate) fn ring(n: u32) -> Ring<u32> {
    Ring::new(specs(n), RingConfig { vnodes: 100 }).unwrap()
}

pub(crate) fn jump(n: u32) -> Jump<u32> {
    Jump::new(specs(n)).unwrap()
}

pub(crate) fn hrw(n: u32) -> Rendezvous<u32> {
    Rendezvous::new(specs(n)).unwrap()
}

pub(crate) fn maglev(n: u32) -> Maglev<u32> {
    Maglev::new(specs(n), MaglevConfig::default()).unwrap()
}

/// Owners of every key, as identifiers.
pub(crate) fn owners<P: Placement<Node = u32>>(p: &P, keys: &[u64]) -> Vec<u32> {
    keys.iter().map(|&k| *p.owner(k).unwrap()).collect()
}
