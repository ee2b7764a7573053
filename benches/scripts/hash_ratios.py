#!/usr/bin/env python3
"""Medians of the consistent-hashing suite and ours/peer ratios, from
criterion's estimates (run `cargo bench -p murmura-benches --bench hash` first)."""
import json, pathlib, sys

root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/criterion")

def median(group, name):
    f = root / group / name / "new" / "estimates.json"
    if not f.exists():
        return None
    return json.loads(f.read_text())["median"]["point_estimate"]

def fmt(ns):
    if ns is None:
        return "-"
    return f"{ns / 1e6:.2f} ms" if ns >= 1e6 else f"{ns / 1e3:.2f} µs" if ns >= 1e4 else f"{ns:.1f} ns"

rows = []
for n in [10, 100, 1000, 10000]:
    g = f"hash_lookup_{n}"
    floor = median(g, "floor_xxh3+load")
    peers = {p: median(g, p) for p in ["hashring", "mpchash", "anchorhash", "maglev", "jump-consistent-hash"]}
    for ours, compare in [
        ("murmura_ring", ["hashring", "mpchash"]),
        ("murmura_jump", ["jump-consistent-hash", "anchorhash"]),
        ("murmura_maglev", ["maglev", "anchorhash"]),
        ("murmura_rendezvous", []),
    ]:
        o = median(g, ours)
        if o is None:
            continue
        cands = [(peers[p], p) for p in compare if peers.get(p) is not None]
        best = min(cands) if cands else (None, "-")
        ratio = f"{o / best[0]:.2f}" if best[0] else "-"
        fl = f"{o / floor:.2f}" if floor else "-"
        rows.append((f"lookup {n} nodes", ours.split("_", 1)[1], fmt(o), f"{best[1]} {fmt(best[0])}", ratio, fmt(floor), fl))
    raw_o, raw_p = median(g, "murmura_jump_bucket_raw"), median(g, "jump-consistent-hash_raw")
    if raw_o and raw_p:
        rows.append((f"lookup {n} nodes", "jump_bucket (raw)", fmt(raw_o), f"jump-consistent-hash raw {fmt(raw_p)}", f"{raw_o / raw_p:.2f}", "-", "-"))

g = "hash_top3_1000"
for ours, peer in [("murmura_ring", "hashring"), ("murmura_ring_zoned", "hashring"), ("murmura_jump", "hashring"), ("murmura_maglev", "hashring"), ("murmura_rendezvous", "hashring")]:
    o, p, m = median(g, ours), median(g, peer), median(g, "mpchash")
    if o is None:
        continue
    best = min((x, nme) for x, nme in [(p, "hashring"), (m, "mpchash")] if x is not None)
    rows.append(("top-3 replicas, 1000 nodes", ours.split("_", 1)[1], fmt(o), f"{best[1]} {fmt(best[0])}", f"{o / best[0]:.2f}", "-", "-"))

g = "hash_build_1000"
for ours, peer in [("murmura_ring", "hashring"), ("murmura_maglev", "maglev"), ("murmura_jump", "anchorhash")]:
    o, p = median(g, ours), median(g, peer)
    if o is None:
        continue
    rows.append(("build, 1000 nodes", ours.split("_", 1)[1], fmt(o), f"{peer} {fmt(p)}", f"{o / p:.3f}" if p else "-", "-", "-"))

g = "hash_add_remove_1000"
for ours, peer in [("murmura_ring_add", "hashring_add"), ("murmura_ring_remove", None), ("murmura_maglev_add", None), ("murmura_jump_add", "anchorhash_add"), ("murmura_jump_remove", "anchorhash_remove")]:
    o = median(g, ours)
    p = median(g, peer) if peer else None
    if o is None:
        continue
    rows.append(("add/remove, 1000 nodes", ours.split("_", 1)[1], fmt(o), f"{peer} {fmt(p)}" if peer else "-", f"{o / p:.2f}" if p else "-", "-", "-"))

print("| operation | ours | ours (median) | best peer (median) | ours/peer | floor | ours/floor |")
print("|---|---|---|---|---|---|---|")
for r in rows:
    print("| " + " | ".join(r) + " |")
