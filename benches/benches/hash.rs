//! Consistent hashing: murmura's placements against the peer crates a user
//! would otherwise pick, on the same 65,536 pre-generated random keys, in the
//! same run.
//!
//! Every lookup row receives the same raw `u64` key and hashes it as its
//! crate does: ours with XXH3 (`key_hash_u64`), `hashring`, `mpchash`,
//! `anchorhash` and `maglev` with their own `Hash`-based hashers. The jump
//! peer takes an already hashed `u64`, so its adapter hashes with the same
//! XXH3 as ours; `raw` rows compare the bare bucket functions on the random
//! keys. The floor is XXH3 of the key plus one load from a table as large as
//! our Maglev table for that node count.

use criterion::measurement::WallTime;
use criterion::{BatchSize, BenchmarkGroup, Criterion, criterion_group, criterion_main};
use maglev::ConsistentHasher as _;
use murmura::hash::{
    Jump, Maglev, MaglevConfig, Membership, NodeSpec, Placement, Rendezvous, Ring, RingConfig,
    jump_bucket, key_hash_u64,
};
use murmura_benches::paired::{Ratio, interleaved, pair, ratio};
use murmura_benches::{CountingAlloc, random_keys};
use std::hint::black_box;
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::new();

const VNODES: u32 = 100;
const KEYS: usize = 1 << 16;

/// Thin adapters so every peer is driven the same way.
mod peers {
    use std::collections::hash_map::RandomState;

    pub(crate) type HashRing = hashring::HashRing<(u32, u32)>;
    pub(crate) type MpcRing = mpchash::HashRing<(u32, u32)>;
    pub(crate) type Anchor = anchorhash::AnchorHash<u64, u32, RandomState>;
    pub(crate) type MaglevPeer = maglev::Maglev<u32>;

    /// `hashring` has no virtual nodes of its own: each (node, vnode) pair is
    /// an entry, as its documentation suggests.
    pub(crate) fn hashring(n: u32, vnodes: u32) -> HashRing {
        let mut ring = HashRing::new();
        ring.batch_add(
            (0..n)
                .flat_map(|i| (0..vnodes).map(move |v| (i, v)))
                .collect(),
        );
        ring
    }

    pub(crate) fn mpchash(n: u32, vnodes: u32) -> MpcRing {
        let ring = MpcRing::new();
        for i in 0..n {
            for v in 0..vnodes {
                ring.add((i, v));
            }
        }
        ring
    }

    pub(crate) fn anchor(n: u32, capacity: u16) -> Anchor {
        anchorhash::Builder::default()
            .with_resources(0..n)
            .build(capacity)
    }

    pub(crate) fn maglev(n: u32) -> MaglevPeer {
        maglev::Maglev::new(0..n)
    }
}

fn specs(n: u32) -> Vec<NodeSpec<u32>> {
    (0..n).map(NodeSpec::new).collect()
}

fn configure(group: &mut BenchmarkGroup<'_, WallTime>) {
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
}

/// Times `f` over the pre-generated keys, cycling.
fn over_keys<R>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    keys: &[u64],
    mut f: impl FnMut(u64) -> R,
) {
    group.bench_function(name, |b| {
        let mut i = 0usize;
        b.iter(|| {
            let k = keys[i & (KEYS - 1)];
            i = i.wrapping_add(1);
            black_box(f(black_box(k)))
        })
    });
}

fn lookups(c: &mut Criterion) {
    let keys = random_keys(KEYS, 0x5eed);
    for n in [10u32, 100, 1_000, 10_000] {
        let mut group = c.benchmark_group(format!("hash_lookup/{n}"));
        configure(&mut group);

        let ring = Ring::new(specs(n), RingConfig { vnodes: VNODES }).expect("valid");
        let jump = Jump::new(specs(n)).expect("valid");
        let maglev = Maglev::new(specs(n), MaglevConfig::default()).expect("valid");
        over_keys(&mut group, "murmura/ring", &keys, |k| {
            *ring.owner(key_hash_u64(k)).expect("members")
        });
        over_keys(&mut group, "murmura/jump", &keys, |k| {
            *jump.owner(key_hash_u64(k)).expect("members")
        });
        over_keys(&mut group, "murmura/maglev", &keys, |k| {
            *maglev.owner(key_hash_u64(k)).expect("members")
        });
        over_keys(&mut group, "murmura/jump_bucket_raw", &keys, |k| {
            jump_bucket(k, n)
        });
        if n <= 1_000 {
            let hrw = Rendezvous::new(specs(n)).expect("valid");
            over_keys(&mut group, "murmura/rendezvous", &keys, |k| {
                *hrw.owner(key_hash_u64(k)).expect("members")
            });
        }

        let table: Vec<u32> = (0..maglev.table_size()).collect();
        over_keys(&mut group, "floor/xxh3+load", &keys, |k| {
            let h = key_hash_u64(k);
            table[((u128::from(h) * table.len() as u128) >> 64) as usize]
        });

        let hashring = peers::hashring(n, VNODES);
        over_keys(&mut group, "hashring", &keys, |k| {
            hashring.get(&k).map(|e| e.0)
        });
        let mpc = peers::mpchash(n, VNODES);
        over_keys(&mut group, "mpchash", &keys, |k| {
            mpc.node(&k).map(|t| t.node().0)
        });
        let anchor = peers::anchor(n, n as u16);
        over_keys(&mut group, "anchorhash", &keys, |k| {
            anchor.get_resource(k).copied()
        });
        over_keys(&mut group, "jump-consistent-hash", &keys, |k| {
            jump_consistent_hash::hash(key_hash_u64(k), n as usize)
        });
        over_keys(&mut group, "jump-consistent-hash_raw", &keys, |k| {
            jump_consistent_hash::hash(k, n as usize)
        });
        if n <= 1_000 {
            // The peer materialises one n x table permutation matrix
            // (800 MB at 1,000 nodes); 10,000 nodes do not fit.
            let peer = peers::maglev(n);
            over_keys(&mut group, "maglev", &keys, |k| peer.get(&k).copied());
        }
        group.finish();
    }
}

/// Consumes a replica iterator without collecting it.
fn sum<'a>(it: impl Iterator<Item = &'a u32>) -> u32 {
    it.fold(0u32, |a, &b| a ^ b)
}

fn replicas(c: &mut Criterion) {
    let keys = random_keys(KEYS, 0x5eed);
    let n = 1_000u32;
    let mut group = c.benchmark_group(format!("hash_top3/{n}"));
    configure(&mut group);
    let ring = Ring::new(specs(n), RingConfig { vnodes: VNODES }).expect("valid");
    let jump = Jump::new(specs(n)).expect("valid");
    let maglev = Maglev::new(specs(n), MaglevConfig::default()).expect("valid");
    let hrw = Rendezvous::new(specs(n)).expect("valid");
    over_keys(&mut group, "murmura/ring", &keys, |k| {
        sum(ring.replicas(key_hash_u64(k), 3).expect("enough"))
    });
    over_keys(&mut group, "murmura/ring_zoned", &keys, |k| {
        sum(ring.zoned_replicas(key_hash_u64(k), 3).expect("enough"))
    });
    over_keys(&mut group, "murmura/jump", &keys, |k| {
        sum(jump.replicas(key_hash_u64(k), 3).expect("enough"))
    });
    over_keys(&mut group, "murmura/maglev", &keys, |k| {
        sum(maglev.replicas(key_hash_u64(k), 3).expect("enough"))
    });
    over_keys(&mut group, "murmura/rendezvous", &keys, |k| {
        sum(hrw.replicas(key_hash_u64(k), 3).expect("enough"))
    });
    // Peers return the next three ring entries in a fresh Vec (entries, not
    // necessarily distinct nodes).
    let hashring = peers::hashring(n, VNODES);
    over_keys(&mut group, "hashring", &keys, |k| {
        hashring.get_with_replicas(&k, 2).map(|v| v.len())
    });
    let mpc = peers::mpchash(n, VNODES);
    over_keys(&mut group, "mpchash", &keys, |k| mpc.replicas(&k, 3).len());
    group.finish();

    // Top-3 must not allocate: count heap bytes over 10,000 lookups.
    let ((), bytes) = ALLOC.measure(|| {
        for &k in &keys[..10_000] {
            black_box(sum(ring.replicas(key_hash_u64(k), 3).expect("enough")));
            black_box(sum(jump.replicas(key_hash_u64(k), 3).expect("enough")));
            black_box(sum(maglev
                .zoned_replicas(key_hash_u64(k), 3)
                .expect("enough")));
        }
    });
    println!("heap-bytes top3-replicas x30000 lookups: {bytes}");
}

fn builds(c: &mut Criterion) {
    let n = 1_000u32;
    let mut group = c.benchmark_group(format!("hash_build/{n}"));
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .sample_size(10);
    group.bench_function("murmura/ring", |b| {
        b.iter(|| Ring::new(specs(n), RingConfig { vnodes: VNODES }).expect("valid"))
    });
    group.bench_function("murmura/maglev", |b| {
        b.iter(|| Maglev::new(specs(n), MaglevConfig::default()).expect("valid"))
    });
    group.bench_function("murmura/jump", |b| {
        b.iter(|| Jump::new(specs(n)).expect("valid"))
    });
    group.bench_function("hashring", |b| b.iter(|| peers::hashring(n, VNODES)));
    group.bench_function("mpchash", |b| b.iter(|| peers::mpchash(n, VNODES)));
    group.bench_function("anchorhash", |b| b.iter(|| peers::anchor(n, n as u16)));
    group.bench_function("maglev", |b| b.iter(|| peers::maglev(n)));
    group.finish();

    let mut group = c.benchmark_group(format!("hash_add_remove/{n}"));
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(10);
    let ring = Ring::new(specs(n), RingConfig { vnodes: VNODES }).expect("valid");
    let maglev = Maglev::new(specs(n), MaglevConfig::default()).expect("valid");
    let jump = Jump::new(specs(n)).expect("valid");
    // Ours returns the new placement and its move plan.
    group.bench_function("murmura/ring_add", |b| {
        b.iter(|| ring.add(NodeSpec::new(n)).expect("new"))
    });
    group.bench_function("murmura/ring_remove", |b| {
        b.iter(|| ring.remove(&(n / 2)).expect("member"))
    });
    group.bench_function("murmura/maglev_add", |b| {
        b.iter(|| maglev.add(NodeSpec::new(n)).expect("new"))
    });
    group.bench_function("murmura/jump_add", |b| {
        b.iter(|| jump.add(NodeSpec::new(n)).expect("new"))
    });
    group.bench_function("murmura/jump_remove", |b| {
        b.iter(|| jump.remove(&(n / 2)).expect("member"))
    });
    // Peers mutate in place; the clone happens in setup, outside the timing.
    let hashring = peers::hashring(n, VNODES);
    group.bench_function("hashring_add", |b| {
        b.iter_batched(
            || hashring.clone(),
            |mut r| {
                r.batch_add((0..VNODES).map(|v| (n, v)).collect());
                r
            },
            BatchSize::LargeInput,
        )
    });
    let anchor = peers::anchor(n, n as u16 + 1);
    group.bench_function("anchorhash_add", |b| {
        b.iter_batched(
            || anchor.clone(),
            |mut a| {
                a.add_resource(n).expect("capacity");
                a
            },
            BatchSize::LargeInput,
        )
    });
    group.bench_function("anchorhash_remove", |b| {
        b.iter_batched(
            || anchor.clone(),
            |mut a| {
                a.remove_resource(&(n / 2)).expect("member");
                a
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

/// Heap bytes held by each structure at 1,000 nodes (printed, not timed).
fn heap_bytes(_c: &mut Criterion) {
    let n = 1_000u32;
    let report = |name: &str, bytes: usize| {
        println!(
            "heap-bytes {name}/{n}: {bytes} ({} per node)",
            bytes / n as usize
        );
    };
    let (_r, b) =
        ALLOC.measure(|| Ring::new(specs(n), RingConfig { vnodes: VNODES }).expect("valid"));
    report("murmura/ring", b);
    let (_m, b) = ALLOC.measure(|| Maglev::new(specs(n), MaglevConfig::default()).expect("valid"));
    report("murmura/maglev", b);
    let (_j, b) = ALLOC.measure(|| Jump::new(specs(n)).expect("valid"));
    report("murmura/jump", b);
    let (_h, b) = ALLOC.measure(|| Rendezvous::new(specs(n)).expect("valid"));
    report("murmura/rendezvous", b);
    let (_p, b) = ALLOC.measure(|| peers::hashring(n, VNODES));
    report("hashring", b);
    let (_p, b) = ALLOC.measure(|| peers::mpchash(n, VNODES));
    report("mpchash", b);
    let (_p, b) = ALLOC.measure(|| peers::anchor(n, n as u16));
    report("anchorhash", b);
    let (_p, b) = ALLOC.measure(|| peers::maglev(n));
    report("maglev", b);
}

/// A one-thread loop of `ops` lookups over the keys (cycling, each result
/// `black_box`ed), for the paired harness; every contender gets its own
/// cursor, so each round feeds each contender the same keys.
fn looped<'a, R>(keys: &'a [u64], mut f: impl FnMut(u64) -> R + 'a) -> impl FnMut(u64) + 'a {
    let mut i = 0usize;
    move |ops| {
        for _ in 0..ops {
            let k = keys[i & (KEYS - 1)];
            i = i.wrapping_add(1);
            black_box(f(black_box(k)));
        }
    }
}

/// A loop of `ops` builds, for the paired harness.
fn build(f: impl Fn()) -> impl FnMut(u64) {
    move |ops| (0..ops).for_each(|_| f())
}

/// Interleaved rounds of two contenders that each consume a fresh input per
/// operation (a clone to mutate): inputs are made before the timing starts
/// and outputs dropped after it ends.
fn paired_batched<A, B, X, Y>(
    rounds: usize,
    mut setup_ours: impl FnMut() -> A,
    mut ours: impl FnMut(A) -> X,
    mut setup_peer: impl FnMut() -> B,
    mut peer: impl FnMut(B) -> Y,
) -> Ratio {
    let mut a = |ops: u64| {
        let inputs: Vec<A> = (0..ops).map(|_| setup_ours()).collect();
        let start = Instant::now();
        let outputs: Vec<X> = inputs.into_iter().map(&mut ours).collect();
        let t = start.elapsed();
        drop(black_box(outputs));
        t
    };
    let mut b = |ops: u64| {
        let inputs: Vec<B> = (0..ops).map(|_| setup_peer()).collect();
        let start = Instant::now();
        let outputs: Vec<Y> = inputs.into_iter().map(&mut peer).collect();
        let t = start.elapsed();
        drop(black_box(outputs));
        t
    };
    let t = interleaved(rounds, &mut [&mut a, &mut b]);
    ratio(&t[0], &t[1])
}

/// The ratios the README quotes, each from interleaved rounds of the two
/// rows in one process (`murmura_benches::paired`: ~4 ms rounds, order
/// reversed every other round, median of the per-round ratios). Every
/// lookup row hashes the raw key inside the timed call, as in `lookups`.
/// Prints `hash_paired:` lines; `benches/scripts/hash_ratios.py` turns a
/// saved run into the README table. Under `--test` each pair runs once.
fn paired(_: &mut Criterion) {
    let quick = std::env::args().any(|a| a == "--test");
    let rounds = if quick { 1 } else { 41 };
    let keys = random_keys(KEYS, 0x5eed);
    let keys = &keys[..];
    let print = |what: &str, n: u32, r: Ratio| {
        println!("hash_paired: {what:<44} n={n:<6} {r}");
    };
    for n in [10u32, 100, 1_000, 10_000] {
        let ring = Ring::new(specs(n), RingConfig { vnodes: VNODES }).expect("valid");
        let jump = Jump::new(specs(n)).expect("valid");
        let maglev = Maglev::new(specs(n), MaglevConfig::default()).expect("valid");
        let hashring = peers::hashring(n, VNODES);
        let mpc = peers::mpchash(n, VNODES);
        let anchor = peers::anchor(n, n as u16);
        let table: Vec<u32> = (0..maglev.table_size()).collect();
        let ring_row = || looped(keys, |k| *ring.owner(key_hash_u64(k)).expect("members"));
        let jump_row = || looped(keys, |k| *jump.owner(key_hash_u64(k)).expect("members"));
        let maglev_row = || looped(keys, |k| *maglev.owner(key_hash_u64(k)).expect("members"));
        let anchor_row = || looped(keys, |k| anchor.get_resource(k).copied());
        let floor_row = || {
            looped(keys, |k| {
                let h = key_hash_u64(k);
                table[((u128::from(h) * table.len() as u128) >> 64) as usize]
            })
        };
        print(
            "lookup ring / hashring",
            n,
            pair(
                rounds,
                ring_row(),
                looped(keys, |k| hashring.get(&k).map(|e| e.0)),
            ),
        );
        print(
            "lookup ring / mpchash",
            n,
            pair(
                rounds,
                ring_row(),
                looped(keys, |k| mpc.node(&k).map(|t| t.node().0)),
            ),
        );
        print(
            "lookup maglev / anchorhash",
            n,
            pair(rounds, maglev_row(), anchor_row()),
        );
        if n <= 1_000 {
            let peer = peers::maglev(n);
            print(
                "lookup maglev / maglev",
                n,
                pair(
                    rounds,
                    maglev_row(),
                    looped(keys, |k| peer.get(&k).copied()),
                ),
            );
        }
        print(
            "lookup maglev / floor",
            n,
            pair(rounds, maglev_row(), floor_row()),
        );
        print(
            "lookup jump / anchorhash",
            n,
            pair(rounds, jump_row(), anchor_row()),
        );
        print(
            "lookup jump / jump-consistent-hash",
            n,
            pair(
                rounds,
                jump_row(),
                looped(keys, |k| {
                    jump_consistent_hash::hash(key_hash_u64(k), n as usize)
                }),
            ),
        );
        print(
            "lookup jump / floor",
            n,
            pair(rounds, jump_row(), floor_row()),
        );
        print(
            "lookup jump_bucket raw / jch raw",
            n,
            pair(
                rounds,
                looped(keys, |k| jump_bucket(k, n)),
                looped(keys, |k| jump_consistent_hash::hash(k, n as usize)),
            ),
        );
        // After removals: a tenth of the nodes gone, ours through the
        // Memento replacements, anchorhash through its own.
        let gone: Vec<u32> = (0..n).filter(|i| i % 10 == 3).collect();
        let mut jump_less = jump.clone();
        let mut anchor_less = anchor.clone();
        for g in &gone {
            jump_less = jump_less.remove(g).expect("member").0;
            anchor_less.remove_resource(g).expect("member");
        }
        print(
            "lookup jump / anchorhash, 10% removed",
            n,
            pair(
                rounds,
                looped(keys, |k| {
                    *jump_less.owner(key_hash_u64(k)).expect("members")
                }),
                looped(keys, |k| anchor_less.get_resource(k).copied()),
            ),
        );
        if n <= 1_000 {
            let hrw = Rendezvous::new(specs(n)).expect("valid");
            let r = pair(
                rounds,
                looped(keys, |k| *hrw.owner(key_hash_u64(k)).expect("members")),
                floor_row(),
            );
            print("lookup rendezvous / floor", n, r);
        }
    }

    let n = 1_000u32;
    let ring = Ring::new(specs(n), RingConfig { vnodes: VNODES }).expect("valid");
    let jump = Jump::new(specs(n)).expect("valid");
    let maglev = Maglev::new(specs(n), MaglevConfig::default()).expect("valid");
    let hrw = Rendezvous::new(specs(n)).expect("valid");
    let hashring = peers::hashring(n, VNODES);
    let mpc = peers::mpchash(n, VNODES);
    let mpc_row = || looped(keys, |k| mpc.replicas(&k, 3).len());
    let hashring_row = || looped(keys, |k| hashring.get_with_replicas(&k, 2).map(|v| v.len()));
    for (what, peer_name) in [
        ("ring", 0),
        ("ring_zoned", 1),
        ("jump", 2),
        ("maglev", 3),
        ("rendezvous", 4),
    ] {
        let ours = |k: u64| {
            let h = key_hash_u64(k);
            match peer_name {
                0 => sum(ring.replicas(h, 3).expect("enough")),
                1 => sum(ring.zoned_replicas(h, 3).expect("enough")),
                2 => sum(jump.replicas(h, 3).expect("enough")),
                3 => sum(maglev.replicas(h, 3).expect("enough")),
                _ => sum(hrw.replicas(h, 3).expect("enough")),
            }
        };
        print(
            &format!("top3 {what} / mpchash"),
            n,
            pair(rounds, looped(keys, ours), mpc_row()),
        );
        print(
            &format!("top3 {what} / hashring"),
            n,
            pair(rounds, looped(keys, ours), hashring_row()),
        );
    }

    print(
        "build ring / hashring",
        n,
        pair(
            rounds.min(21),
            build(&|| {
                drop(black_box(
                    Ring::new(specs(n), RingConfig { vnodes: VNODES }).expect("valid"),
                ))
            }),
            build(&|| drop(black_box(peers::hashring(n, VNODES)))),
        ),
    );
    print(
        "build ring / mpchash",
        n,
        pair(
            rounds.min(21),
            build(&|| {
                drop(black_box(
                    Ring::new(specs(n), RingConfig { vnodes: VNODES }).expect("valid"),
                ))
            }),
            build(&|| drop(black_box(peers::mpchash(n, VNODES)))),
        ),
    );
    print(
        "build jump / anchorhash",
        n,
        pair(
            rounds.min(21),
            build(&|| drop(black_box(Jump::new(specs(n)).expect("valid")))),
            build(&|| drop(black_box(peers::anchor(n, n as u16)))),
        ),
    );
    // The maglev peer takes over a second per build: a few rounds only.
    let peer_rounds = if quick { 1 } else { 5 };
    let small = 100u32;
    print(
        "build maglev / maglev",
        small,
        pair(
            peer_rounds,
            build(&|| {
                drop(black_box(
                    Maglev::new(specs(small), MaglevConfig::default()).expect("valid"),
                ))
            }),
            build(&|| drop(black_box(peers::maglev(small)))),
        ),
    );
    // Membership changes: ours returns a new placement and its move plan;
    // the peers mutate a clone made outside the timing.
    let hashring = peers::hashring(n, VNODES);
    let r = paired_batched(
        rounds.min(21),
        || (),
        |()| ring.add(NodeSpec::new(n)).expect("new"),
        || hashring.clone(),
        |mut r| {
            r.batch_add((0..VNODES).map(|v| (n, v)).collect());
            r
        },
    );
    print("add ring+plan / hashring add", n, r);
    let anchor = peers::anchor(n, n as u16 + 1);
    let r = paired_batched(
        rounds.min(21),
        || (),
        |()| jump.add(NodeSpec::new(n)).expect("new"),
        || anchor.clone(),
        |mut a| {
            a.add_resource(n).expect("capacity");
            a
        },
    );
    print("add jump+plan / anchorhash add", n, r);
    let r = paired_batched(
        rounds.min(21),
        || (),
        |()| jump.remove(&(n / 2)).expect("member"),
        || anchor.clone(),
        |mut a| {
            a.remove_resource(&(n / 2)).expect("member");
            a
        },
    );
    print("remove jump+plan / anchorhash remove", n, r);
}

criterion_group!(benches, heap_bytes, paired, lookups, replicas, builds);
criterion_main!(benches);
