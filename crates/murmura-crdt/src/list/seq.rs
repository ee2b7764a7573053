//! The list's visible order as an order-statistic treap.
//!
//! Slots are the list's arena indices. A slot is *placed* once it is in the
//! sequence; every node carries the number of visible slots in its subtree,
//! so the `k`-th visible slot, a slot's successor, an insert after a slot
//! and a visibility flip all take expected O(log n). Parent links let an
//! edit start from a slot (an id's node) rather than from a position.
//!
//! Priorities come from a fixed mix of the slot number, so a list is a
//! deterministic function of its history (no global RNG) and the shape is
//! that of a random treap for any input not crafted against the mix.

const NIL: u32 = u32::MAX;

#[derive(Debug, Clone, Copy)]
struct Link {
    left: u32,
    right: u32,
    parent: u32,
    prio: u32,
    /// Visible slots in this subtree.
    count: u32,
    visible: bool,
    placed: bool,
}

/// The placed slots in list order (see the module docs).
#[derive(Debug, Clone, Default)]
pub(super) struct Seq {
    links: Vec<Link>,
    root: u32,
}

fn priority(slot: u32) -> u32 {
    // SplitMix64's finaliser.
    let mut z = u64::from(slot).wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (z >> 32) as u32
}

impl Seq {
    pub(super) fn new() -> Self {
        Self {
            links: Vec::new(),
            root: NIL,
        }
    }

    /// Makes room for slot `links.len()`, not yet placed.
    pub(super) fn push(&mut self) {
        let slot = self.links.len() as u32;
        self.links.push(Link {
            left: NIL,
            right: NIL,
            parent: NIL,
            prio: priority(slot),
            count: 0,
            visible: false,
            placed: false,
        });
    }

    pub(super) fn placed(&self, slot: u32) -> bool {
        self.links[slot as usize].placed
    }

    /// Visible slots in the sequence.
    pub(super) fn visible_len(&self) -> usize {
        self.count(self.root) as usize
    }

    fn count(&self, t: u32) -> u32 {
        if t == NIL {
            0
        } else {
            self.links[t as usize].count
        }
    }

    fn recount(&mut self, t: u32) {
        let l = &self.links[t as usize];
        let c = self.count(l.left) + self.count(l.right) + u32::from(l.visible);
        self.links[t as usize].count = c;
    }

    fn leftmost(&self, mut t: u32) -> u32 {
        while self.links[t as usize].left != NIL {
            t = self.links[t as usize].left;
        }
        t
    }

    /// The first placed slot.
    pub(super) fn first(&self) -> Option<u32> {
        (self.root != NIL).then(|| self.leftmost(self.root))
    }

    /// The placed slot after placed slot `t`.
    pub(super) fn next(&self, mut t: u32) -> Option<u32> {
        let right = self.links[t as usize].right;
        if right != NIL {
            return Some(self.leftmost(right));
        }
        loop {
            let p = self.links[t as usize].parent;
            if p == NIL {
                return None;
            }
            if self.links[p as usize].left == t {
                return Some(p);
            }
            t = p;
        }
    }

    /// The `k`-th visible slot (0-based).
    pub(super) fn kth_visible(&self, mut k: u32) -> Option<u32> {
        let mut t = self.root;
        while t != NIL {
            let l = self.links[t as usize];
            let left = self.count(l.left);
            if k < left {
                t = l.left;
            } else if l.visible && k == left {
                return Some(t);
            } else {
                k -= left + u32::from(l.visible);
                t = l.right;
            }
        }
        None
    }

    /// Places unplaced slot `x` right after placed slot `prev` (at the front
    /// for `None`).
    pub(super) fn insert_after(&mut self, prev: Option<u32>, x: u32, visible: bool) {
        debug_assert!(!self.placed(x));
        {
            let l = &mut self.links[x as usize];
            l.placed = true;
            l.visible = visible;
            l.count = u32::from(visible);
            l.left = NIL;
            l.right = NIL;
        }
        // Attach as a leaf: the successor position of `prev` is either its
        // empty right child or the empty left child of its right subtree's
        // leftmost node.
        let (parent, as_left) = match prev {
            None if self.root == NIL => {
                self.root = x;
                self.links[x as usize].parent = NIL;
                return;
            }
            None => (self.leftmost(self.root), true),
            Some(p) if self.links[p as usize].right == NIL => (p, false),
            Some(p) => (self.leftmost(self.links[p as usize].right), true),
        };
        if as_left {
            self.links[parent as usize].left = x;
        } else {
            self.links[parent as usize].right = x;
        }
        self.links[x as usize].parent = parent;
        if visible {
            let mut a = parent;
            while a != NIL {
                self.links[a as usize].count += 1;
                a = self.links[a as usize].parent;
            }
        }
        while let p = self.links[x as usize].parent
            && p != NIL
            && self.links[p as usize].prio < self.links[x as usize].prio
        {
            self.rotate_up(x);
        }
    }

    /// Rotates `x` above its parent, keeping the in-order sequence.
    fn rotate_up(&mut self, x: u32) {
        let p = self.links[x as usize].parent;
        let g = self.links[p as usize].parent;
        if self.links[p as usize].left == x {
            let b = self.links[x as usize].right;
            self.links[p as usize].left = b;
            if b != NIL {
                self.links[b as usize].parent = p;
            }
            self.links[x as usize].right = p;
        } else {
            let b = self.links[x as usize].left;
            self.links[p as usize].right = b;
            if b != NIL {
                self.links[b as usize].parent = p;
            }
            self.links[x as usize].left = p;
        }
        self.links[p as usize].parent = x;
        self.links[x as usize].parent = g;
        if g == NIL {
            self.root = x;
        } else if self.links[g as usize].left == p {
            self.links[g as usize].left = x;
        } else {
            self.links[g as usize].right = x;
        }
        self.recount(p);
        self.recount(x);
    }

    /// Shows or hides placed slot `t`.
    pub(super) fn set_visible(&mut self, t: u32, visible: bool) {
        let l = &mut self.links[t as usize];
        if l.visible == visible {
            return;
        }
        l.visible = visible;
        let mut a = t;
        while a != NIL {
            let l = &mut self.links[a as usize];
            if visible {
                l.count += 1;
            } else {
                l.count -= 1;
            }
            a = l.parent;
        }
    }

    /// Replaces the whole sequence with `order` (slots and their
    /// visibility), in O(n): a Cartesian tree on the slots' priorities.
    pub(super) fn rebuild(&mut self, order: &[(u32, bool)]) {
        for l in &mut self.links {
            *l = Link {
                left: NIL,
                right: NIL,
                parent: NIL,
                count: 0,
                visible: false,
                placed: false,
                ..*l
            };
        }
        self.root = NIL;
        let mut stack: Vec<u32> = Vec::new();
        for &(x, visible) in order {
            {
                let l = &mut self.links[x as usize];
                l.placed = true;
                l.visible = visible;
            }
            let prio = self.links[x as usize].prio;
            let mut last = NIL;
            while let Some(&top) = stack.last()
                && self.links[top as usize].prio < prio
            {
                stack.pop();
                // Its subtree is complete: what was above it is its right
                // spine, already counted.
                self.recount(top);
                last = top;
            }
            self.links[x as usize].left = last;
            if last != NIL {
                self.links[last as usize].parent = x;
            }
            if let Some(&top) = stack.last() {
                self.links[top as usize].right = x;
                self.links[x as usize].parent = top;
            }
            stack.push(x);
        }
        while let Some(top) = stack.pop() {
            self.recount(top);
        }
        self.root = order.first().map_or(NIL, |_| {
            let mut t = order[0].0;
            while self.links[t as usize].parent != NIL {
                t = self.links[t as usize].parent;
            }
            t
        });
    }

    /// Placed slots in order.
    #[cfg(test)]
    pub(super) fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        std::iter::successors(self.first(), |&t| self.next(t))
    }

    /// Placed visible slots in order, skipping hidden subtrees whole.
    pub(super) fn visible(&self) -> Vec<u32> {
        let mut out = Vec::with_capacity(self.visible_len());
        let mut stack = Vec::new();
        let mut t = self.root;
        loop {
            while t != NIL && self.count(t) > 0 {
                stack.push(t);
                t = self.links[t as usize].left;
            }
            let Some(top) = stack.pop() else {
                return out;
            };
            let l = self.links[top as usize];
            if l.visible {
                out.push(top);
            }
            t = l.right;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(seq: &Seq, expect: &[(u32, bool)]) {
        let got: Vec<u32> = seq.iter().collect();
        let want: Vec<u32> = expect.iter().map(|e| e.0).collect();
        assert_eq!(got, want);
        let vis: Vec<u32> = expect.iter().filter(|e| e.1).map(|e| e.0).collect();
        assert_eq!(seq.visible(), vis);
        assert_eq!(seq.visible_len(), vis.len());
        for (k, &v) in vis.iter().enumerate() {
            assert_eq!(seq.kth_visible(k as u32), Some(v));
        }
        assert_eq!(seq.kth_visible(vis.len() as u32), None);
    }

    #[test]
    fn inserts_flips_and_rebuilds_match_a_vector_model() {
        let mut seq = Seq::new();
        let mut model: Vec<(u32, bool)> = Vec::new();
        let mut x = 7u64;
        for slot in 0..600u32 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            seq.push();
            let at = (x >> 33) as usize % (model.len() + 1);
            let prev = at.checked_sub(1).map(|i| model[i].0);
            let visible = !(x >> 20).is_multiple_of(4);
            seq.insert_after(prev, slot, visible);
            model.insert(at, (slot, visible));
            if slot % 5 == 0 {
                let i = (x >> 40) as usize % model.len();
                model[i].1 = !model[i].1;
                seq.set_visible(model[i].0, model[i].1);
            }
            if slot % 97 == 0 {
                check(&seq, &model);
            }
        }
        check(&seq, &model);
        seq.rebuild(&model);
        check(&seq, &model);
        seq.push();
        seq.insert_after(None, 600, true);
        model.insert(0, (600, true));
        check(&seq, &model);
    }
}
