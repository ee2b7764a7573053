//! The kept order against the definition (a tree walk over the state),
//! at every step of a lossy, duplicating, reordering delivery, and for
//! arbitrary (hostile) node sets merged in any order.

use super::*;
use proptest::prelude::*;

type L = List<u64, u64>;

/// The visible values by the definition: walk the origin tree from the
/// head, siblings newest stamp first (then larger id), entering a node only
/// if its stamp is above its origin's; skip deleted nodes.
fn reference(list: &L) -> Vec<u64> {
    let nodes: BTreeMap<&Dot<u64>, &Node<u64, u64>> = list.nodes().collect();
    let mut kids: BTreeMap<Option<&Dot<u64>>, Vec<&Dot<u64>>> = BTreeMap::new();
    for (id, n) in &nodes {
        kids.entry(n.origin.as_ref()).or_default().push(id);
    }
    for v in kids.values_mut() {
        v.sort_by(|a, b| (nodes[b].stamp, b).cmp(&(nodes[a].stamp, a)));
    }
    let mut out = Vec::new();
    let mut stack: Vec<&Dot<u64>> = kids
        .get(&None)
        .into_iter()
        .flatten()
        .rev()
        .copied()
        .collect();
    while let Some(id) = stack.pop() {
        if !list.deleted.contains(id) {
            out.push(nodes[id].value);
        }
        let stamp = nodes[id].stamp;
        if let Some(k) = kids.get(&Some(id)) {
            stack.extend(k.iter().rev().filter(|k| nodes[*k].stamp > stamp));
        }
    }
    out
}

/// Every read agrees with the definition and with each other.
fn check(list: &L) -> Result<(), TestCaseError> {
    let want = reference(list);
    prop_assert_eq!(&list.to_vec(), &want, "to_vec vs definition");
    prop_assert_eq!(list.len(), want.len(), "len vs definition");
    prop_assert_eq!(list.is_empty(), want.is_empty());
    for (i, v) in want.iter().enumerate() {
        prop_assert_eq!(list.get(i), Some(v));
    }
    prop_assert_eq!(list.get(want.len()), None);
    // Rebuilding from scratch gives the same index.
    let fresh = List::from_parts(
        list.nodes().map(|(d, n)| (*d, n.clone())).collect(),
        list.deleted.clone(),
    );
    prop_assert_eq!(fresh.to_vec(), want);
    prop_assert_eq!(list.seq.iter().count(), fresh.seq.iter().count());
    // Edit bounds are the visible length.
    let mut probe = list.clone();
    prop_assert!(probe.insert(77, list.len(), 0).is_ok());
    prop_assert!(list.clone().insert(77, list.len() + 1, 0).is_err());
    prop_assert!(list.clone().remove(list.len()).is_err());
    if !list.is_empty() {
        prop_assert!(list.clone().remove(list.len() - 1).is_ok());
    }
    Ok(())
}

#[derive(Debug, Clone)]
enum Step {
    Op(usize, u64),
    Deliver(usize),
    Duplicate(usize),
    Drop(usize),
    State(usize, usize),
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    let step = prop_oneof![
        5 => (0..4usize, any::<u64>()).prop_map(|(r, raw)| Step::Op(r, raw)),
        3 => any::<usize>().prop_map(Step::Deliver),
        1 => any::<usize>().prop_map(Step::Duplicate),
        2 => any::<usize>().prop_map(Step::Drop),
        1 => (0..4usize, 0..4usize).prop_map(|(a, b)| Step::State(a, b)),
    ];
    proptest::collection::vec(step, 1..120)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// At every moment of a lossy delivery every replica's reads agree
    /// with the definition, and once everything is shared all agree.
    #[test]
    fn reads_agree_through_lossy_delivery(s in steps(), n in 2..5usize) {
        let mut reps: Vec<L> = vec![L::new(); n];
        let mut queue: Vec<(usize, L)> = Vec::new();
        for step in &s {
            match *step {
                Step::Op(r, raw) => {
                    let r = r % n;
                    let len = reps[r].len();
                    let delta = if len > 0 && raw.is_multiple_of(4) {
                        reps[r].remove((raw >> 8) as usize % len)
                    } else {
                        reps[r].insert(r as u64, (raw >> 8) as usize % (len + 1), raw >> 32)
                    };
                    let delta = delta.expect("in bounds");
                    for to in (0..n).filter(|&t| t != r) {
                        queue.push((to, delta.clone()));
                    }
                    check(&reps[r])?;
                }
                Step::Deliver(i) | Step::Duplicate(i) | Step::Drop(i) if !queue.is_empty() => {
                    let i = i % queue.len();
                    let (to, delta) = if matches!(step, Step::Duplicate(_)) {
                        queue[i].clone()
                    } else {
                        queue.swap_remove(i)
                    };
                    if !matches!(step, Step::Drop(_)) {
                        reps[to].merge(&delta);
                        check(&reps[to])?;
                    }
                }
                Step::State(a, b) => {
                    let (a, b) = (a % n, b % n);
                    let src = reps[a].clone();
                    reps[b].merge(&src);
                    check(&reps[b])?;
                }
                _ => {}
            }
        }
        let all = reps.iter().fold(L::new(), |acc, r| acc.merged(r));
        for r in &mut reps {
            r.merge(&all);
            check(r)?;
            prop_assert_eq!(r.to_vec(), all.to_vec());
        }
    }

    /// Arbitrary node sets — missing origins, stamps not above their
    /// origin's, cycles, conflicting duplicates — read the same however
    /// they arrive: one node at a time in any order, or all at once.
    #[test]
    fn hostile_nodes_read_the_same_in_any_arrival_order(
        raw in proptest::collection::vec((0..3u64, 1..6u64, 0..8u64, 0..4u64, 0..3u64, any::<u64>()), 0..40),
        dels in proptest::collection::vec((0..3u64, 1..6u64), 0..10),
        order in any::<u64>(),
    ) {
        let mut singles: Vec<L> = raw
            .iter()
            .map(|&(a, c, stamp, oa, oc, v)| {
                let origin = (oc != 0).then(|| Dot::new(oa, oc + (v % 3)));
                let node = Node { stamp, origin, value: v % 100 };
                List::from_parts(BTreeMap::from([(Dot::new(a, c), node)]), BTreeSet::new())
            })
            .collect();
        singles.extend(dels.iter().map(|&(a, c)| {
            List::from_parts(BTreeMap::new(), BTreeSet::from([Dot::new(a, c)]))
        }));
        let all = singles.iter().fold(L::new(), |acc, s| acc.merged(s));
        check(&all)?;
        // A seeded shuffle of the arrival order.
        let mut x = order | 1;
        for i in (1..singles.len()).rev() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            singles.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let mut one_by_one = L::new();
        for s in &singles {
            // Start from a non-empty list so merges go through the
            // incremental path, not the bottom shortcut.
            one_by_one.merge(s);
            check(&one_by_one)?;
        }
        prop_assert_eq!(&one_by_one, &all);
        prop_assert_eq!(one_by_one.to_vec(), all.to_vec());
    }
}

/// A long single-writer session and its replay on a second replica
/// (delta by delta) end equal, and agree with the definition.
#[test]
fn typing_session_replays_delta_by_delta() {
    let mut a = L::new();
    let mut b = L::new();
    let mut cursor = 0usize;
    let mut x = 42u64;
    for i in 0..3000u64 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        if (x >> 60) == 0 {
            cursor = (x >> 20) as usize % (a.len() + 1);
        }
        let delta = if (x >> 56).is_multiple_of(8) && cursor > 0 {
            cursor -= 1;
            a.remove(cursor).unwrap()
        } else {
            cursor += 1;
            a.insert(1, cursor - 1, i).unwrap()
        };
        b.merge(&delta);
    }
    assert_eq!(a, b);
    assert_eq!(a.to_vec(), b.to_vec());
    assert_eq!(a.to_vec(), reference(&a));
}
