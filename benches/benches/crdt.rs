//! CRDTs: our packed add-wins OR-Set against `crdts::Orswot`, and an
//! OR-Map of counters against `crdts::Map<_, PNCounter>`, in the same run on
//! the same pre-generated inputs, with a memcpy of the merged bytes as floor.
//! Heap bytes, encoded sizes and anti-entropy bytes are printed once.
//! The ratios the README quotes come from interleaved rounds
//! (`murmura_benches::paired`): OR-Set merges (`orset_merge_paired`) and a
//! 100,000-edit typing session of our RGA `List` against `yrs`, the Yjs
//! port (`list_session_paired`).

use crdts::{CmRDT, CvRDT};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use murmura::crdt::List;
use murmura::crdt::{AntiEntropy, Codec, CounterDots, Lattice, ORMap, ORSet};
use murmura_benches::paired::{interleaved, pair, ratio};
use murmura_benches::{CountingAlloc, random_keys};
use std::hint::black_box;
use std::time::{Duration, Instant};
use yrs::updates::decoder::Decode;
use yrs::{GetString, Text, Transact};

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

/// `cargo bench -- --test` (CI) runs each paired comparison small and once.
fn smoke() -> bool {
    std::env::args().any(|a| a == "--test")
}

/// The README's OR-Set merge ratios, from interleaved rounds: each round
/// merges once with ours and once with `crdts` (order reversed every other
/// round); the clones of the inputs and the drop of the result stay outside
/// the timing, as in the criterion rows.
fn orset_merge_paired(_: &mut Criterion) {
    let keys = random_keys(220_000, 0x5eed);
    let (n, rounds) = if smoke() { (1_000, 1) } else { (100_000, 15) };
    for actors in [4usize, 16] {
        for kind in ["disjoint", "half", "divergent"] {
            let pair = scenario(kind, n, actors, &keys);
            let (oa, ob) = &pair.ours;
            let (pa, pb) = &pair.peer;
            let mut ours = |ops: u64| {
                let mut t = Duration::ZERO;
                for _ in 0..ops {
                    let mut x = oa.clone();
                    let start = Instant::now();
                    x.merge(black_box(ob));
                    t += start.elapsed();
                    black_box(&x);
                }
                t
            };
            let mut peer = |ops: u64| {
                let mut t = Duration::ZERO;
                for _ in 0..ops {
                    let (mut x, y) = (pa.clone(), pb.clone());
                    let start = Instant::now();
                    x.merge(black_box(y));
                    t += start.elapsed();
                    black_box(&x);
                }
                t
            };
            let t = interleaved(rounds, &mut [&mut ours, &mut peer]);
            let r = ratio(&t[0], &t[1]);
            println!(
                "orset_merge_paired/{n}/{actors}actors/{kind}: murmura {:.3} ms  crdts {:.3} ms  ours/crdts per-round median {:.3} (p25 {:.3}, p75 {:.3}), {rounds} rounds",
                r.ours_ns / 1e6,
                r.peer_ns / 1e6,
                r.p50,
                r.p25,
                r.p75
            );
        }
    }
}

/// One edit of a typing trace, at a visible position.
#[derive(Clone, Copy)]
enum Edit {
    Insert(u32, char),
    Delete(u32),
}

/// A typing trace from a fixed seed: mostly typing at a cursor, some
/// backspaces, and now and then the cursor jumps to a random place.
fn typing_trace(n: usize, seed: u64) -> Vec<Edit> {
    let r = random_keys(n, seed);
    let mut len = 0u32;
    let mut cursor = 0u32;
    let mut out = Vec::with_capacity(n);
    for x in r {
        let roll = x % 100;
        if roll < 3 {
            cursor = ((x >> 8) % (u64::from(len) + 1)) as u32;
        }
        if roll >= 88 && cursor > 0 {
            cursor -= 1;
            len -= 1;
            out.push(Edit::Delete(cursor));
        } else {
            let c = char::from(b'a' + ((x >> 40) % 26) as u8);
            out.push(Edit::Insert(cursor, c));
            cursor += 1;
            len += 1;
        }
    }
    out
}

type Doc = List<u32, u64>;

/// Our local session: every edit applied and its delta encoded for the
/// wire; returns the deltas.
fn ours_local(trace: &[Edit]) -> (Doc, Vec<Vec<u8>>) {
    let mut doc = Doc::new();
    let mut out = Vec::with_capacity(trace.len());
    for e in trace {
        let delta = match *e {
            Edit::Insert(i, c) => doc.insert(1, i as usize, c as u32),
            Edit::Delete(i) => doc.remove(i as usize),
        }
        .expect("the trace stays in bounds");
        out.push(delta.to_bytes());
    }
    (doc, out)
}

/// The same session in `yrs`: one transaction per edit, its update
/// encoded (v1) for the wire.
fn yrs_local(trace: &[Edit]) -> (yrs::Doc, Vec<Vec<u8>>) {
    let doc = yrs::Doc::with_client_id(1);
    let text = doc.get_or_insert_text("t");
    let mut out = Vec::with_capacity(trace.len());
    let mut buf = [0u8; 4];
    for e in trace {
        let mut txn = doc.transact_mut();
        match *e {
            Edit::Insert(i, c) => text.insert(&mut txn, i, c.encode_utf8(&mut buf)),
            Edit::Delete(i) => text.remove_range(&mut txn, i, 1),
        }
        out.push(txn.encode_update_v1());
    }
    (doc, out)
}

/// A remote replica receives the session delta by delta (decode + merge).
fn ours_remote(deltas: &[Vec<u8>]) -> Doc {
    let mut doc = Doc::new();
    for d in deltas {
        doc.merge(&Doc::from_bytes(d).expect("our own encoding"));
    }
    doc
}

fn yrs_remote(updates: &[Vec<u8>]) -> yrs::Doc {
    let doc = yrs::Doc::with_client_id(2);
    let _ = doc.get_or_insert_text("t");
    for u in updates {
        let mut txn = doc.transact_mut();
        txn.apply_update(yrs::Update::decode_v1(u).expect("yrs's own encoding"))
            .expect("applies");
    }
    doc
}

fn yrs_string(doc: &yrs::Doc) -> String {
    let text = doc.get_or_insert_text("t");
    text.get_string(&doc.transact())
}

fn ours_string(doc: &Doc) -> String {
    doc.to_vec()
        .into_iter()
        .map(|c| char::from_u32(c).expect("a char"))
        .collect()
}

/// A whole editing session per round, ours and `yrs`'s alternating (order
/// reversed every other round), median of the per-round ratios: the local
/// edits (apply + encode the delta), then a second replica applying every
/// delta (decode + merge). Two lengths, because `yrs`'s `Text::insert`
/// finds its position by walking the blocks from the start, so its cost per
/// edit grows with the document.
fn list_session_paired(_: &mut Criterion) {
    let sizes: &[(usize, usize)] = if smoke() {
        &[(2_000, 1)]
    } else {
        &[(10_000, 9), (100_000, 5)]
    };
    // MURMURA_LIST_EDITS=n runs one session length only (exploration).
    let only = std::env::var("MURMURA_LIST_EDITS")
        .ok()
        .and_then(|v| v.parse().ok());
    for &(n, rounds) in sizes {
        let n = only.unwrap_or(n);
        list_session(n, rounds);
        if only.is_some() {
            return;
        }
    }
}

fn list_session(n: usize, rounds: usize) {
    let trace = typing_trace(n, 0x7e57);
    let (ours_doc, ours_deltas) = ours_local(&trace);
    let (peer_doc, peer_updates) = yrs_local(&trace);
    let text = ours_string(&ours_doc);
    eprintln!("list_session/{n}: sessions built");
    assert_eq!(
        text,
        yrs_string(&peer_doc),
        "both sessions end with one text"
    );
    assert_eq!(ours_string(&ours_remote(&ours_deltas)), text);
    assert_eq!(yrs_string(&yrs_remote(&peer_updates)), text);
    let bytes = |v: &[Vec<u8>]| v.iter().map(Vec::len).sum::<usize>() as f64 / n as f64;
    println!(
        "list_session/{n}: final text {} chars; delta bytes per edit: murmura {:.1}, yrs {:.1}",
        text.chars().count(),
        bytes(&ours_deltas),
        bytes(&peer_updates)
    );
    let per_edit = |ns: f64| ns / n as f64;
    let local = pair(
        rounds,
        |ops| {
            for _ in 0..ops {
                black_box(ours_local(black_box(&trace)));
            }
        },
        |ops| {
            for _ in 0..ops {
                black_box(yrs_local(black_box(&trace)));
            }
        },
    );
    println!(
        "list_session_paired/{n}/local edits: murmura {:.0} ns/edit  yrs {:.0} ns/edit  ours/yrs per-round median {:.3} (p25 {:.3}, p75 {:.3}), {rounds} rounds",
        per_edit(local.ours_ns),
        per_edit(local.peer_ns),
        local.p50,
        local.p25,
        local.p75
    );
    let remote = pair(
        rounds,
        |ops| {
            for _ in 0..ops {
                black_box(ours_remote(black_box(&ours_deltas)));
            }
        },
        |ops| {
            for _ in 0..ops {
                black_box(yrs_remote(black_box(&peer_updates)));
            }
        },
    );
    println!(
        "list_session_paired/{n}/remote deltas: murmura {:.0} ns/delta  yrs {:.0} ns/delta  ours/yrs per-round median {:.3} (p25 {:.3}, p75 {:.3}), {rounds} rounds",
        per_edit(remote.ours_ns),
        per_edit(remote.peer_ns),
        remote.p50,
        remote.p25,
        remote.p75
    );
    if n > 20_000 {
        return; // another yrs session would take minutes
    }
    let (heap_doc, ours_heap) = ALLOC.measure(|| ours_local(&trace).0);
    let (peer_heap_doc, peer_heap) = ALLOC.measure(|| yrs_local(&trace).0);
    println!(
        "list_session/{n}: heap after the session: murmura {:.1} B/edit, yrs {:.1} B/edit",
        ours_heap as f64 / n as f64,
        peer_heap as f64 / n as f64
    );
    drop((heap_doc, peer_heap_doc));
}

criterion_group!(
    benches,
    sizes,
    list_session_paired,
    orset_merge_paired,
    orset_merge,
    map_of_counters
);
criterion_main!(benches);
