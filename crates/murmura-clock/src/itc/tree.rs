//! The two trees of an interval tree clock and the paper's functions on
//! them: normalisation, split, sum, join, leq, fill and grow.

use crate::{ClockError, Result};
use std::fmt;

/// Which part of the unit interval a stamp owns: `0` (nothing), `1` (all of
/// it) or a pair of halves. Always kept normal: `(0, 0)` is `0` and
/// `(1, 1)` is `1`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Id {
    /// Owns nothing (an anonymous stamp).
    Zero,
    /// Owns the whole interval.
    One,
    /// Owns parts of the left and right halves.
    Node(Box<Id>, Box<Id>),
}

/// How many events have been seen over each part of the interval: a base
/// count plus, optionally, more in the left and right halves. Always kept
/// normal: one child has no extra events and two equal leaves collapse.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum EventTree {
    /// `n` events over the whole sub-interval.
    Leaf(u64),
    /// `n` events over the whole sub-interval plus those in each half.
    Node(u64, Box<EventTree>, Box<EventTree>),
}

static ZERO: EventTree = EventTree::Leaf(0);

/// Extra search cost charged for growing a leaf into a node, so `grow`
/// prefers inflating existing structure (the paper's large constant N).
const EXPAND_COST: u64 = 1 << 32;

impl Id {
    pub(crate) fn node(left: Id, right: Id) -> Id {
        match (left, right) {
            (Id::Zero, Id::Zero) => Id::Zero,
            (Id::One, Id::One) => Id::One,
            (l, r) => Id::Node(Box::new(l), Box::new(r)),
        }
    }

    /// Two disjoint ids whose sum is `self`.
    pub(crate) fn split(&self) -> (Id, Id) {
        match self {
            Id::Zero => (Id::Zero, Id::Zero),
            Id::One => (Id::node(Id::One, Id::Zero), Id::node(Id::Zero, Id::One)),
            Id::Node(l, r) => match (&**l, &**r) {
                (Id::Zero, i) => {
                    let (a, b) = i.split();
                    (Id::node(Id::Zero, a), Id::node(Id::Zero, b))
                }
                (i, Id::Zero) => {
                    let (a, b) = i.split();
                    (Id::node(a, Id::Zero), Id::node(b, Id::Zero))
                }
                (l, r) => (Id::node(l.clone(), Id::Zero), Id::node(Id::Zero, r.clone())),
            },
        }
    }

    /// The union of two disjoint ids.
    pub(crate) fn sum(&self, other: &Id) -> Result<Id> {
        match (self, other) {
            (Id::Zero, i) | (i, Id::Zero) => Ok(i.clone()),
            (Id::Node(l1, r1), Id::Node(l2, r2)) => Ok(Id::node(l1.sum(l2)?, r1.sum(r2)?)),
            _ => Err(ClockError::OverlappingIds),
        }
    }

    /// Whether `self` and `other` share any part of the interval.
    pub(crate) fn overlaps(&self, other: &Id) -> bool {
        match (self, other) {
            (Id::Zero, _) | (_, Id::Zero) => false,
            (Id::Node(l1, r1), Id::Node(l2, r2)) => l1.overlaps(l2) || r1.overlaps(r2),
            _ => true,
        }
    }

    /// Depth of the tree (a leaf has depth 1).
    pub fn depth(&self) -> usize {
        match self {
            Id::Node(l, r) => 1 + l.depth().max(r.depth()),
            _ => 1,
        }
    }

    pub(crate) fn is_normal(&self) -> bool {
        match self {
            Id::Node(l, r) => {
                !matches!((&**l, &**r), (Id::Zero, Id::Zero) | (Id::One, Id::One))
                    && l.is_normal()
                    && r.is_normal()
            }
            _ => true,
        }
    }
}

impl EventTree {
    /// Normalising constructor: equal leaves collapse, and the smaller
    /// child's base is lifted into the parent.
    pub(crate) fn node(n: u64, left: EventTree, right: EventTree) -> EventTree {
        if let (EventTree::Leaf(a), EventTree::Leaf(b)) = (&left, &right)
            && a == b
        {
            return EventTree::Leaf(n.saturating_add(*a));
        }
        let m = left.base().min(right.base());
        EventTree::Node(
            n.saturating_add(m),
            Box::new(left.sink(m)),
            Box::new(right.sink(m)),
        )
    }

    /// The root count: the minimum over the interval for a normal tree.
    #[inline]
    pub(crate) fn base(&self) -> u64 {
        match self {
            EventTree::Leaf(n) | EventTree::Node(n, ..) => *n,
        }
    }

    fn sink(self, m: u64) -> EventTree {
        match self {
            EventTree::Leaf(n) => EventTree::Leaf(n - m),
            EventTree::Node(n, l, r) => EventTree::Node(n - m, l, r),
        }
    }

    /// The largest count anywhere in the interval.
    pub fn max(&self) -> u64 {
        match self {
            EventTree::Leaf(n) => *n,
            EventTree::Node(n, l, r) => n.saturating_add(l.max().max(r.max())),
        }
    }

    /// Depth of the tree (a leaf has depth 1).
    pub fn depth(&self) -> usize {
        match self {
            EventTree::Node(_, l, r) => 1 + l.depth().max(r.depth()),
            EventTree::Leaf(_) => 1,
        }
    }

    fn children(&self) -> (&EventTree, &EventTree) {
        match self {
            EventTree::Leaf(_) => (&ZERO, &ZERO),
            EventTree::Node(_, l, r) => (l, r),
        }
    }

    /// The pointwise maximum of `self` lifted by `la` and `other` lifted by `lb`.
    pub(crate) fn join(&self, other: &EventTree) -> EventTree {
        Self::join_lifted(self, 0, other, 0)
    }

    fn join_lifted(a: &EventTree, la: u64, b: &EventTree, lb: u64) -> EventTree {
        let (na, nb) = (a.base().saturating_add(la), b.base().saturating_add(lb));
        if let (EventTree::Leaf(_), EventTree::Leaf(_)) = (a, b) {
            return EventTree::Leaf(na.max(nb));
        }
        let (low, n_low, high, n_high) = if na <= nb {
            (a, na, b, nb)
        } else {
            (b, nb, a, na)
        };
        let (ll, lr) = low.children();
        let (hl, hr) = high.children();
        let lift = n_high - n_low;
        EventTree::node(
            n_low,
            Self::join_lifted(ll, 0, hl, lift),
            Self::join_lifted(lr, 0, hr, lift),
        )
    }

    /// Whether `self` is at most `other` everywhere.
    pub(crate) fn leq(&self, other: &EventTree) -> bool {
        Self::leq_lifted(self, 0, other, 0)
    }

    fn leq_lifted(a: &EventTree, la: u64, b: &EventTree, lb: u64) -> bool {
        let (na, nb) = (a.base().saturating_add(la), b.base().saturating_add(lb));
        if na > nb {
            return false;
        }
        match a {
            EventTree::Leaf(_) => true,
            EventTree::Node(_, l, r) => {
                let (bl, br) = b.children();
                Self::leq_lifted(l, na, bl, nb) && Self::leq_lifted(r, na, br, nb)
            }
        }
    }

    /// Raises the counts over the owned interval to the maximum reachable
    /// without creating a new event (the paper's `fill`).
    pub(crate) fn fill(&self, id: &Id) -> EventTree {
        match (id, self) {
            (Id::Zero, e) => e.clone(),
            (Id::One, e) => EventTree::Leaf(e.max()),
            (_, EventTree::Leaf(n)) => EventTree::Leaf(*n),
            (Id::Node(il, ir), EventTree::Node(n, el, er)) => match (&**il, &**ir) {
                (Id::One, ir) => {
                    let er = er.fill(ir);
                    let left = el.max().max(er.base());
                    EventTree::node(*n, EventTree::Leaf(left), er)
                }
                (il, Id::One) => {
                    let el = el.fill(il);
                    let right = er.max().max(el.base());
                    EventTree::node(*n, el, EventTree::Leaf(right))
                }
                (il, ir) => EventTree::node(*n, el.fill(il), er.fill(ir)),
            },
        }
    }

    /// Adds one event inside the owned interval with the least structural
    /// growth (the paper's `grow`); `None` for the empty id.
    pub(crate) fn grow(&self, id: &Id) -> Option<(EventTree, u64)> {
        match (id, self) {
            (Id::Zero, _) => None,
            (Id::One, e) => Some((EventTree::Leaf(e.max().saturating_add(1)), 0)),
            (Id::Node(..), EventTree::Leaf(n)) => {
                let expanded = EventTree::Node(*n, Box::new(ZERO.clone()), Box::new(ZERO.clone()));
                let (e, cost) = expanded.grow(id)?;
                Some((e, cost.saturating_add(EXPAND_COST)))
            }
            (Id::Node(il, ir), EventTree::Node(n, el, er)) => {
                let left = || {
                    el.grow(il)
                        .map(|(g, c)| (EventTree::node(*n, g, (**er).clone()), c))
                };
                let right = || {
                    er.grow(ir)
                        .map(|(g, c)| (EventTree::node(*n, (**el).clone(), g), c))
                };
                let best = match (&**il, &**ir) {
                    (Id::Zero, _) => right(),
                    (_, Id::Zero) => left(),
                    _ => match (left(), right()) {
                        (Some(l), Some(r)) => Some(if l.1 < r.1 { l } else { r }),
                        (l, r) => l.or(r),
                    },
                };
                best.map(|(e, c)| (e, c.saturating_add(1)))
            }
        }
    }

    pub(crate) fn is_normal(&self) -> bool {
        match self {
            EventTree::Leaf(_) => true,
            EventTree::Node(_, l, r) => {
                let equal_leaves =
                    matches!((&**l, &**r), (EventTree::Leaf(a), EventTree::Leaf(b)) if a == b);
                !equal_leaves && l.base().min(r.base()) == 0 && l.is_normal() && r.is_normal()
            }
        }
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Id::Zero => f.write_str("0"),
            Id::One => f.write_str("1"),
            Id::Node(l, r) => write!(f, "({l}, {r})"),
        }
    }
}

impl fmt::Display for EventTree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventTree::Leaf(n) => write!(f, "{n}"),
            EventTree::Node(n, l, r) => write!(f, "({n}, {l}, {r})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(n: u64) -> EventTree {
        EventTree::Leaf(n)
    }

    #[test]
    fn normalisation_matches_the_paper() {
        // norm((2, 1, 1)) = 3 and norm((2, (2, 1, 0), 3)) = (4, (0, 1, 0), 1)
        assert_eq!(EventTree::node(2, leaf(1), leaf(1)), leaf(3));
        let inner = EventTree::node(2, leaf(1), leaf(0));
        let e = EventTree::node(2, inner, leaf(3));
        assert_eq!(e.to_string(), "(4, (0, 1, 0), 1)");
        assert_eq!(Id::node(Id::One, Id::One), Id::One);
        assert_eq!(Id::node(Id::Zero, Id::Zero), Id::Zero);
    }

    #[test]
    fn split_and_sum_are_inverse() {
        let (a, b) = Id::One.split();
        assert_eq!(a.to_string(), "(1, 0)");
        assert_eq!(b.to_string(), "(0, 1)");
        let (c, d) = b.split();
        assert_eq!(c.to_string(), "(0, (1, 0))");
        assert_eq!(c.sum(&d).unwrap(), b);
        assert_eq!(a.sum(&c).unwrap().sum(&d).unwrap(), Id::One);
        assert!(a.sum(&a).is_err());
        assert!(a.overlaps(&a) && !a.overlaps(&c));
    }

    #[test]
    fn join_and_leq() {
        let a = EventTree::node(1, leaf(2), leaf(0));
        let b = EventTree::node(0, leaf(0), leaf(5));
        let j = a.join(&b);
        assert_eq!(j.to_string(), "(3, 0, 2)");
        assert!(a.leq(&j) && b.leq(&j) && !j.leq(&a));
        assert!(!a.leq(&b) && !b.leq(&a));
        assert!(leaf(0).leq(&a) && a.leq(&leaf(3)) && !a.leq(&leaf(2)));
    }
}
