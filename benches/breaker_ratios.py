#!/usr/bin/env python3
"""Prints the circuit-breaker bench medians and ratios from criterion's
estimates (target/criterion/<group>/<row>/new/estimates.json)."""
import json, os, sys

root = sys.argv[1] if len(sys.argv) > 1 else "target/criterion"

def median(group, row):
    p = os.path.join(root, group, row.replace("/", "_"), "new", "estimates.json")
    if not os.path.exists(p):
        p = os.path.join(root, group, row, "new", "estimates.json")
    with open(p) as f:
        return json.load(f)["median"]["point_estimate"]

rows = ["floor/direct", "floor/atomic_load", "floor/fetch_add", "murmura/count100",
        "murmura/time10s", "murmura/time10s_sample16", "recloser/count100",
        "failsafe/time10s", "failsafe/consecutive"]
for g in ["breaker_happy_1t", "breaker_happy_2t"]:
    m = {r: median(g, r) for r in rows}
    d = m["floor/direct"]
    print(f"## {g} (median ns; overhead = row - floor/direct)")
    for r in rows:
        print(f"{r:28s} {m[r]:8.2f} ns  overhead {m[r]-d:8.2f} ns")
    fa = m["floor/fetch_add"]
    best_peer = min(m["recloser/count100"], m["failsafe/time10s"], m["failsafe/consecutive"]) - d
    for r in ["murmura/count100", "murmura/time10s", "murmura/time10s_sample16"]:
        o = m[r] - d
        print(f"{r:28s} overhead/fetch_add {o/fa:6.2f}x   overhead/best-peer-overhead {o/best_peer:6.3f}  (peer faster by {best_peer/max(o,1e-9):6.1f}x less)")
g = "breaker_rejected_1t"
m = {r: median(g, r) for r in ["floor/direct", "murmura/open", "recloser/open", "failsafe/open"]}
print(f"## {g} (median ns)")
for r, v in m.items():
    print(f"{r:28s} {v:8.2f} ns")
print(f"murmura/recloser {m['murmura/open']/m['recloser/open']:.3f}  murmura/failsafe {m['murmura/open']/m['failsafe/open']:.3f}")
