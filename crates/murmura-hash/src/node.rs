//! Node descriptions (the serde-able configuration) and the validated roster
//! every algorithm is built from.

use crate::error::{Error, Result, name};
use crate::key::StableHash;
use murmura_core::NodeId;

/// One member as the application describes it: identifier, relative weight
/// and an optional failure zone (rack, availability zone, ...).
///
/// With the `serde` feature this is the configuration format; `weight`
/// defaults to 1 and `zone` to none when absent.
///
/// ```
/// use murmura_hash::NodeSpec;
/// let spec = NodeSpec::new("cache-1").with_weight(2.0).in_zone("eu-west-1a");
/// assert_eq!(spec.weight, 2.0);
/// assert_eq!(spec.zone.as_deref(), Some("eu-west-1a"));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct NodeSpec<N> {
    /// The node's identifier.
    pub id: N,
    /// Its share relative to the other nodes; finite and greater than zero.
    #[cfg_attr(feature = "serde", serde(default = "unit_weight"))]
    pub weight: f64,
    /// Its failure zone. Nodes without a zone count as a zone of their own
    /// when replicas are spread.
    #[cfg_attr(feature = "serde", serde(default))]
    pub zone: Option<String>,
}

#[cfg(feature = "serde")]
fn unit_weight() -> f64 {
    1.0
}

impl<N> NodeSpec<N> {
    /// A node of weight 1 in no zone.
    pub fn new(id: N) -> Self {
        Self {
            id,
            weight: 1.0,
            zone: None,
        }
    }

    /// The same node with another weight.
    pub fn with_weight(mut self, weight: f64) -> Self {
        self.weight = weight;
        self
    }

    /// The same node placed in `zone`.
    pub fn in_zone(mut self, zone: impl Into<String>) -> Self {
        self.zone = Some(zone.into());
        self
    }
}

impl<N> From<N> for NodeSpec<N> {
    fn from(id: N) -> Self {
        Self::new(id)
    }
}

/// The validated member list an algorithm is built from.
///
/// Members are kept sorted by identifier, so the same set gives the same
/// roster whatever order it was described, joined or left in. A node's
/// *index* is its position in that order; placements answer in indices
/// internally and in identifiers at their surface.
#[derive(Debug, Clone)]
pub struct Roster<N> {
    specs: Vec<NodeSpec<N>>,
    /// The identifiers alone, packed, for the lookup hot path.
    ids: Vec<N>,
    hashes: Vec<u64>,
    zones: Vec<u32>,
    zone_count: u32,
}

impl<N: NodeId + StableHash> Roster<N> {
    /// Validates `nodes` and sorts them by identifier.
    ///
    /// # Errors
    /// [`Error::InvalidWeight`] for a zero, negative or non-finite weight and
    /// [`Error::DuplicateNode`] for an identifier given twice. An empty list
    /// is allowed (every lookup then answers [`Error::EmptyRing`]).
    pub fn new(nodes: impl IntoIterator<Item = NodeSpec<N>>) -> Result<Self> {
        let mut specs: Vec<NodeSpec<N>> = nodes.into_iter().collect();
        for spec in &specs {
            check_weight(spec)?;
        }
        specs.sort_by(|a, b| a.id.cmp(&b.id));
        if let Some(pair) = specs.windows(2).find(|w| w[0].id == w[1].id) {
            return Err(Error::DuplicateNode {
                node: name(&pair[0].id),
            });
        }
        Ok(Self::from_sorted(specs))
    }

    fn from_sorted(specs: Vec<NodeSpec<N>>) -> Self {
        let hashes = specs.iter().map(|s| s.id.stable_hash()).collect();
        let ids = specs.iter().map(|s| s.id.clone()).collect();
        // Named zones are numbered in name order; zoneless nodes each get a
        // zone of their own after them.
        let mut names: Vec<&str> = specs.iter().filter_map(|s| s.zone.as_deref()).collect();
        names.sort_unstable();
        names.dedup();
        let mut next_private = names.len() as u32;
        let zones = specs
            .iter()
            .map(|s| match s.zone.as_deref() {
                Some(z) => names.binary_search(&z).unwrap_or(0) as u32,
                None => {
                    next_private += 1;
                    next_private - 1
                }
            })
            .collect();
        Self {
            specs,
            ids,
            hashes,
            zones,
            zone_count: next_private,
        }
    }

    /// The roster with `spec` added, and the index it got.
    ///
    /// # Errors
    /// [`Error::InvalidWeight`] or [`Error::DuplicateNode`]; `self` is unchanged.
    pub fn with(&self, spec: NodeSpec<N>) -> Result<(Self, u32)> {
        check_weight(&spec)?;
        let at = match self.index_of(&spec.id) {
            Some(_) => {
                return Err(Error::DuplicateNode {
                    node: name(&spec.id),
                });
            }
            None => self.specs.partition_point(|s| s.id < spec.id),
        };
        let mut specs = self.specs.clone();
        specs.insert(at, spec);
        Ok((Self::from_sorted(specs), at as u32))
    }

    /// The roster without `id`, and the index it had.
    ///
    /// # Errors
    /// [`Error::UnknownNode`]; `self` is unchanged.
    pub fn without(&self, id: &N) -> Result<(Self, u32)> {
        let at = self
            .index_of(id)
            .ok_or_else(|| Error::UnknownNode { node: name(id) })?;
        let mut specs = self.specs.clone();
        specs.remove(at as usize);
        Ok((Self::from_sorted(specs), at))
    }

    /// The index of `id`, if it is a member.
    pub fn index_of(&self, id: &N) -> Option<u32> {
        self.specs
            .binary_search_by(|s| s.id.cmp(id))
            .ok()
            .map(|i| i as u32)
    }
}

impl<N> Roster<N> {
    /// The number of members.
    pub fn len(&self) -> usize {
        self.specs.len()
    }

    /// Whether there are no members.
    pub fn is_empty(&self) -> bool {
        self.specs.is_empty()
    }

    /// The identifier at `index`.
    ///
    /// # Panics
    /// If `index >= self.len()`; indices come from the placement itself.
    #[inline]
    pub fn id(&self, index: u32) -> &N {
        &self.ids[index as usize]
    }

    /// The member descriptions, sorted by identifier.
    pub fn specs(&self) -> &[NodeSpec<N>] {
        &self.specs
    }

    /// The zone number of the member at `index` (dense, `0..zone_count()`).
    pub fn zone(&self, index: u32) -> u32 {
        self.zones[index as usize]
    }

    /// How many distinct zones the members span (a zoneless node counts as
    /// its own zone).
    pub fn zone_count(&self) -> u32 {
        self.zone_count
    }

    /// The weight of the member at `index`.
    pub fn weight(&self, index: u32) -> f64 {
        self.specs[index as usize].weight
    }

    /// The stable hash of the member at `index`'s identifier.
    pub fn node_hash(&self, index: u32) -> u64 {
        self.hashes[index as usize]
    }

    /// Every weight, by index.
    pub(crate) fn weights(&self) -> impl Iterator<Item = f64> + '_ {
        self.specs.iter().map(|s| s.weight)
    }
}

fn check_weight<N: std::fmt::Debug>(spec: &NodeSpec<N>) -> Result<()> {
    if spec.weight.is_finite() && spec.weight > 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidWeight {
            node: name(&spec.id),
            weight: spec.weight,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roster_sorts_interns_zones_and_rejects_bad_input() {
        let r = Roster::new([
            NodeSpec::new("c").in_zone("z2"),
            NodeSpec::new("a").in_zone("z1"),
            NodeSpec::new("b"),
        ])
        .unwrap();
        assert_eq!(r.id(0), &"a");
        assert_eq!(r.id(2), &"c");
        assert_eq!((r.zone(0), r.zone(2), r.zone(1)), (0, 1, 2));
        assert_eq!(r.zone_count(), 3);
        assert!(matches!(
            Roster::new([NodeSpec::new("a"), NodeSpec::new("a")]),
            Err(Error::DuplicateNode { .. })
        ));
        for w in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                Roster::new([NodeSpec::new("a").with_weight(w)]),
                Err(Error::InvalidWeight { .. })
            ));
        }
        let (r2, at) = r.with(NodeSpec::new("bb")).unwrap();
        assert_eq!((at, r2.len()), (2, 4));
        assert!(r2.with(NodeSpec::new("bb")).is_err());
        let (r3, at) = r2.without(&"a").unwrap();
        assert_eq!((at, r3.id(0)), (0, &"b"));
        assert!(matches!(r3.without(&"a"), Err(Error::UnknownNode { .. })));
    }
}
