//! CRDTs: our packed add-wins OR-Set against `crdts::Orswot`, and an
//! OR-Map of counters against `crdts::Map<_, PNCounter>`, in the same run on
//! the same pre-generated inputs, with a memcpy of the merged bytes as floor.
//! Heap bytes, encoded sizes and anti-entropy bytes are printed once.

use crdts::{CmRDT, CvRDT};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use murmura::crdt::{AntiEntropy, Codec, CounterDots, Lattice, ORMap, ORSet};
use murmura_benches::{CountingAlloc, random_keys};
use std::hint::black_box;
use std::time::Duration;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::new();

type Ours = ORSet<u64, u64>;
type Peer = crdts::Orswot<u64, u64>;

/// Elements added round-robin by `actors`.
fn build_ours(set: &mut Ours, elems: &[u64], actors: &[u64]) {
    for (i, &actor) in actors.iter().enumerate() {
        let chunk = elems.iter().skip(i).step_by(actors.len()).copied();
        set.add_all(actor, chunk);
    }
}

fn build_peer(set: &mut Peer, elems: &[u64], actors: &[u64]) {
    for (i, &e) in elems.iter().enumerate() {
        let actor = actors[i % actors.len()];
        let ctx = set.read_ctx().derive_add_ctx(actor);
        let op = set.add(e, ctx);
        set.apply(op);
    }
}

fn remove_peer(set: &mut Peer, elems: &[u64]) {
    for &e in elems {
        let ctx = set.contains(&e).derive_rm_ctx();
        let op = set.rm(e, ctx);
        set.apply(op);
    }
}

/// Two replicas of an `n`-element scenario, ours and the peer's.
struct Pair {
    ours: (Ours, Ours),
    peer: (Peer, Peer),
}

/// `disjoint`: A and B share nothing. `half`: they share n/2 elements and
/// each added n/2 of its own. `divergent`: they share n elements, then each
/// added 0.5 % new ones and removed 0.5 % of the shared ones (1 % apart).
fn scenario(kind: &str, n: usize, actors: usize, keys: &[u64]) -> Pair {
    let all: Vec<u64> = (0..actors as u64).collect();
    let (left, right) = all.split_at(actors / 2);
    let (base_len, own) = match kind {
        "disjoint" => (0, n),
        "half" => (n / 2, n / 2),
        _ => (n, n / 200),
    };
    let base = &keys[..base_len];
    let a_new = &keys[base_len..base_len + own];
    let b_new = &keys[base_len + own..base_len + 2 * own];
    let removes = if kind == "divergent" { own } else { 0 };

    let mut ours_base = Ours::new();
    build_ours(&mut ours_base, base, &all);
    let mut oa = ours_base.clone();
    let mut ob = ours_base;
    build_ours(&mut oa, a_new, left);
    build_ours(&mut ob, b_new, right);
    for &e in &base[..removes] {
        oa.remove(&e);
    }
    for &e in &base[removes..2 * removes] {
        ob.remove(&e);
    }

    let mut peer_base = Peer::new();
    build_peer(&mut peer_base, base, &all);
    let mut pa = peer_base.clone();
    let mut pb = peer_base;
    build_peer(&mut pa, a_new, left);
    build_peer(&mut pb, b_new, right);
    remove_peer(&mut pa, &base[..removes]);
    remove_peer(&mut pb, &base[removes..2 * removes]);
    Pair {
        ours: (oa, ob),
        peer: (pa, pb),
    }
}

fn orset_merge(c: &mut Criterion) {
    let keys = random_keys(220_000, 0x5eed);
    for n in [10_000usize, 100_000] {
        for actors in [4usize, 16] {
            for kind in ["disjoint", "half", "divergent"] {
                let pair = scenario(kind, n, actors, &keys);
                let (oa, ob) = &pair.ours;
                let (pa, pb) = &pair.peer;
                // Both sides must agree on the merged set.
                let merged = oa.merged(ob);
                let mut peer_merged = pa.clone();
                peer_merged.merge(pb.clone());
                assert_eq!(merged.len(), peer_merged.read().val.len());

                let mut group = c.benchmark_group(format!("orset_merge/{n}/{actors}actors/{kind}"));
                group.sample_size(10);
                group.warm_up_time(Duration::from_secs(1));
                group.measurement_time(Duration::from_secs(3));
                group.bench_function("murmura", |b| {
                    b.iter_batched(
                        || oa.clone(),
                        |mut x| {
                            x.merge(black_box(ob));
                            x
                        },
                        BatchSize::LargeInput,
                    )
                });
                group.bench_function("crdts", |b| {
                    b.iter_batched(
                        || (pa.clone(), pb.clone()),
                        |(mut x, y)| {
                            x.merge(y);
                            x
                        },
                        BatchSize::LargeInput,
                    )
                });
                // Floor: copying the bytes both packed inputs occupy.
                let bytes = (oa.store().entry_count() + ob.store().entry_count())
                    * std::mem::size_of::<(u64, murmura::crdt::Dot<u64>)>();
                let src = vec![1u8; bytes];
                let mut dst = vec![0u8; bytes];
                group.bench_function("floor/memcpy", |b| {
                    b.iter(|| {
                        dst.copy_from_slice(black_box(&src));
                        black_box(dst[bytes / 2])
                    })
                });
                group.finish();
            }
        }
    }
}

/// Heap bytes per element, encoded bytes per element, and what anti-entropy
/// ships for a 1 % divergence. Printed, not timed.
fn sizes(_: &mut Criterion) {
    let keys = random_keys(220_000, 0x5eed);
    let config = bincode::config::standard();
    for actors in [4usize, 16] {
        let n = 100_000;
        let all: Vec<u64> = (0..actors as u64).collect();
        let (ours, ours_heap) = ALLOC.measure(|| {
            let mut s = Ours::new();
            build_ours(&mut s, &keys[..n], &all);
            s.shrink_to_fit();
            s
        });
        let (peer, peer_heap) = ALLOC.measure(|| {
            let mut s = Peer::new();
            build_peer(&mut s, &keys[..n], &all);
            s
        });
        let ours_enc = ours.to_bytes().len();
        let peer_enc = bincode::serde::encode_to_vec(&peer, config)
            .expect("serializes")
            .len();
        println!(
            "orset_heap/{n}/{actors}actors: murmura {:.1} B/elem, crdts {:.1} B/elem, ratio {:.3}",
            ours_heap as f64 / n as f64,
            peer_heap as f64 / n as f64,
            ours_heap as f64 / peer_heap as f64
        );
        // bincode 1.x's default (fixed-width integers) is what most serde
        // users of crdts ship; `standard` (varints) is the compact option.
        let peer_legacy = bincode::serde::encode_to_vec(&peer, bincode::config::legacy())
            .expect("serializes")
            .len();
        println!(
            "orset_encoded/{n}/{actors}actors: murmura {:.1} B/elem, crdts+bincode(varint) {:.1} B/elem, ratio {:.3}; crdts+bincode(legacy fixint) {:.1} B/elem, ratio {:.3}",
            ours_enc as f64 / n as f64,
            peer_enc as f64 / n as f64,
            ours_enc as f64 / peer_enc as f64,
            peer_legacy as f64 / n as f64,
            ours_enc as f64 / peer_legacy as f64
        );
        let pair = scenario("divergent", n, actors, &keys);
        let (oa, ob) = &pair.ours;
        let digest = ob.digest();
        let reply = oa.missing(&digest);
        let shipped = digest.to_bytes().len() + reply.to_bytes().len();
        let full = oa.to_bytes().len();
        assert_eq!(ob.merged(&reply), ob.merged(oa));
        println!(
            "orset_antientropy/{n}/{actors}actors/1%: digest {} B + reply {} B = {:.2}% of full state {} B",
            digest.to_bytes().len(),
            reply.to_bytes().len(),
            100.0 * shipped as f64 / full as f64,
            full
        );
    }
}

type OurMap = ORMap<u64, CounterDots<u64>, u64>;
type PeerMap = crdts::Map<u64, crdts::PNCounter<u64>, u64>;

fn map_of_counters(c: &mut Criterion) {
    let keys = random_keys(10_000, 0xc0de);
    let build_ours = |actor: u64, ks: &[u64]| {
        let mut m = OurMap::new();
        for &k in ks {
            m.update(k, |c| c.inc(actor, 1));
        }
        m
    };
    let build_peer = |actor: u64, ks: &[u64]| {
        let mut m = PeerMap::new();
        for &k in ks {
            let ctx = m.read_ctx().derive_add_ctx(actor);
            let op = m.update(k, ctx, |c, ctx| c.inc(ctx.dot.actor));
            m.apply(op);
        }
        m
    };
    let mut group = c.benchmark_group("map_of_counters");
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));
    // Update: one increment on one of 1,000 existing keys.
    let hot = &keys[..1000];
    let mut ours = build_ours(1, hot);
    let mut peer = build_peer(1, hot);
    let mut i = 0usize;
    group.bench_function("update/murmura", |b| {
        b.iter(|| {
            i = (i + 1) % hot.len();
            black_box(ours.update(hot[i], |c| c.inc(1, 1)))
        })
    });
    let mut j = 0usize;
    group.bench_function("update/crdts", |b| {
        b.iter(|| {
            j = (j + 1) % hot.len();
            let ctx = peer.read_ctx().derive_add_ctx(1);
            let op = peer.update(hot[j], ctx, |c, ctx| c.inc(ctx.dot.actor));
            peer.apply(black_box(op));
        })
    });
    // Merge: two replicas of 10,000 keys, half of them shared, different actors.
    let oa = build_ours(1, &keys[..7_500]);
    let ob = build_ours(2, &keys[2_500..]);
    let pa = build_peer(1, &keys[..7_500]);
    let pb = build_peer(2, &keys[2_500..]);
    group.sample_size(20);
    group.bench_function("merge/murmura", |b| {
        b.iter_batched(
            || oa.clone(),
            |mut x| {
                x.merge(black_box(&ob));
                x
            },
            BatchSize::LargeInput,
        )
    });
    group.bench_function("merge/crdts", |b| {
        b.iter_batched(
            || (pa.clone(), pb.clone()),
            |(mut x, y)| {
                x.merge(y);
                x
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, sizes, orset_merge, map_of_counters);
criterion_main!(benches);
