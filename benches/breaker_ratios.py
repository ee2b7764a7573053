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
        "murmura/consecutive", "murmura/time10s", "murmura/time10s_sample16",
        "murmura/time10s_coarse", "recloser/count100", "failsafe/time10s", "failsafe/consecutive"]
pairs = [("murmura/count100", "recloser/count100"),
         ("murmura/consecutive", "failsafe/consecutive"),
         ("murmura/time10s", "failsafe/time10s"),
         ("murmura/time10s_sample16", "failsafe/time10s"),
         ("murmura/time10s_coarse", "failsafe/time10s")]
peers = ["recloser/count100", "failsafe/time10s", "failsafe/consecutive"]
for g in ["breaker_happy_1t", "breaker_happy_2t"]:
    m = {r: median(g, r) for r in rows}
    d = m["floor/direct"]
    print(f"## {g}: median ns per call; overhead = row - floor/direct")
    for r in rows:
        print(f"  {r:26s} {m[r]:8.2f}   overhead {m[r]-d:8.2f}")
    fa = m["floor/fetch_add"]
    fastest = min(m[p] for p in peers) - d
    for ours, peer in pairs:
        o, p = m[ours] - d, m[peer] - d
        print(f"  {ours:26s} overhead/fetch_add {o/fa:5.2f}x | vs {peer}: ours/peer {o/p:6.3f} | vs fastest peer overhead {fastest:6.2f}: ours/peer {o/fastest:6.3f}")
g = "breaker_rejected_1t"
m = {r: median(g, r) for r in ["floor/direct", "murmura/open", "murmura/open_coarse_clock", "recloser/open", "failsafe/open"]}
print(f"## {g}: median ns per rejected call")
for r, v in m.items():
    print(f"  {r:26s} {v:8.2f}")
print(f"  murmura/recloser {m['murmura/open']/m['recloser/open']:.3f}  murmura/failsafe {m['murmura/open']/m['failsafe/open']:.3f}")
c = m["murmura/open_coarse_clock"]
print(f"  coarse clock: murmura/recloser {c/m['recloser/open']:.3f}  murmura/failsafe {c/m['failsafe/open']:.3f}")
