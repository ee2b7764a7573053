#!/usr/bin/env python3
"""Prints the circuit-breaker bench medians and ratios from criterion's
estimates (<root>/<group>/<row>/new/estimates.json).

These criterion groups run one row after another and call every row through
a trait object; the README quotes the interleaved direct-call figures that
the same bench prints itself (lines starting `breaker_paired:`, from
`cargo bench -p murmura-benches --bench breaker -- breaker_paired`), and the
old-against-new figures of `benches/ab/breaker_ab.sh`. This script is for
reading a criterion run beside them.

    python3 benches/breaker_ratios.py [ROOT ...]

With several roots (copies of target/criterion from separate runs) it prints
each run's ratios and then the median of each ratio across the runs."""
import json, os, statistics, sys

roots = sys.argv[1:] or ["target/criterion"]

def median(root, group, row):
    for name in (row.replace("/", "_"), row):
        p = os.path.join(root, group, name, "new", "estimates.json")
        if os.path.exists(p):
            with open(p) as f:
                return json.load(f)["median"]["point_estimate"]
    return None

HAPPY = ["floor/direct", "floor/atomic_load", "floor/fetch_add", "murmura/count100",
         "murmura/consecutive", "murmura/time10s", "murmura/time10s_SystemClock",
         "murmura/time10s_sample16",
         "murmura/time10s_coarse", "recloser/count100", "failsafe/time10s",
         "failsafe/consecutive"]
PAIRS = [("murmura/count100", "recloser/count100"),
         ("murmura/consecutive", "failsafe/consecutive"),
         ("murmura/time10s", "failsafe/time10s"),
         ("murmura/time10s_SystemClock", "failsafe/time10s"),
         ("murmura/time10s_sample16", "failsafe/time10s"),
         ("murmura/time10s_coarse", "failsafe/time10s")]
PEERS = ["recloser/count100", "failsafe/time10s", "failsafe/consecutive"]

def ratios(root):
    """name -> value for one run; prints the run's table."""
    out = {}
    print(f"# {root}")
    for g in ["breaker_happy_1t", "breaker_happy_2t"]:
        m = {r: median(root, g, r) for r in HAPPY}
        d = m["floor/direct"]
        print(f"## {g}: median ns per call; overhead = row - floor/direct")
        for r in HAPPY:
            print(f"  {r:28s} {m[r]:8.2f}   overhead {m[r]-d:8.2f}")
            out[f"{g}:{r}"] = m[r]
        fa = m["floor/fetch_add"]
        fastest = min(m[p] for p in PEERS) - d
        for ours, peer in PAIRS:
            o, p = m[ours] - d, m[peer] - d
            out[f"{g}:{ours}/fetch_add"] = o / fa
            out[f"{g}:{ours}/{peer}"] = o / p
            out[f"{g}:{ours}/fastest"] = o / fastest
            print(f"  {ours:28s} overhead/fetch_add {o/fa:5.2f}x | ours/{peer} {o/p:6.3f} | ours/fastest peer ({fastest:6.2f}) {o/fastest:6.3f}")
    g = "breaker_failures_2t"
    m = {r: median(root, g, r) for r in ["floor/direct", "floor/fetch_add",
         "murmura/count100_fail1in16", "recloser/count100_fail1in16"]}
    if all(v is not None for v in m.values()):
        d = m["floor/direct"]
        o, p = m["murmura/count100_fail1in16"] - d, m["recloser/count100_fail1in16"] - d
        print(f"## {g}: murmura {m['murmura/count100_fail1in16']:.2f} [{o:.2f}] recloser "
              f"{m['recloser/count100_fail1in16']:.2f} [{p:.2f}] direct {d:.2f} fetch_add "
              f"{m['floor/fetch_add']:.2f} | ours/peer {o/p:.3f} | overhead/fetch_add {o/m['floor/fetch_add']:.2f}x")
        for r, v in m.items():
            out[f"{g}:{r}"] = v
        out[f"{g}:ours/peer"] = o / p
        out[f"{g}:ours/fetch_add"] = o / m["floor/fetch_add"]
    g = "breaker_rejected_1t"
    m = {r: median(root, g, r) for r in ["floor/direct", "murmura/open",
         "murmura/open_SystemClock", "murmura/open_coarse_clock", "recloser/open",
         "failsafe/open"]}
    print(f"## {g}: median ns per rejected call")
    for r, v in m.items():
        print(f"  {r:28s} {v:8.2f}")
        out[f"{g}:{r}"] = v
    for ours in ["murmura/open", "murmura/open_SystemClock", "murmura/open_coarse_clock"]:
        for peer in ["recloser/open", "failsafe/open"]:
            out[f"{g}:{ours}/{peer}"] = m[ours] / m[peer]
    print(f"  murmura/recloser {m['murmura/open']/m['recloser/open']:.3f}  murmura/failsafe {m['murmura/open']/m['failsafe/open']:.3f}")
    return out

runs = [ratios(r) for r in roots]
if len(runs) > 1:
    print(f"# median across {len(runs)} runs (each value is the median of the per-run values)")
    for k in runs[0]:
        vals = [r[k] for r in runs if k in r]
        print(f"  {k:70s} {statistics.median(vals):9.3f}   runs: {' '.join(f'{v:.3f}' for v in vals)}")
