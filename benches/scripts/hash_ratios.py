#!/usr/bin/env python3
"""The consistent-hashing ratios the README quotes, from the interleaved
`hash_paired:` lines of one or more saved runs of

    cargo bench -p murmura-benches --bench hash -- hash_paired > run1.txt

(each pair of rows alternates ~4 ms rounds in one process, order reversed every
other round; each line gives the median of the per-round ratios ours/peer and
its quartiles). With several runs, each run's median ratio is listed and the
median over runs is the figure in bold.

    python3 benches/scripts/hash_ratios.py run1.txt [run2.txt ...]
"""
import re, statistics, sys
from collections import OrderedDict

LINE = re.compile(
    r"hash_paired: (?P<what>.+?)\s+n=(?P<n>\d+)\s+ours (?P<ours>[\d.]+) ns\s+peer (?P<peer>[\d.]+) ns\s+"
    r"ours/peer median (?P<p50>[\d.]+) \[p25 (?P<p25>[\d.]+), p75 (?P<p75>[\d.]+)\]"
)

def fmt(ns):
    return f"{ns / 1e6:.2f} ms" if ns >= 1e6 else f"{ns / 1e3:.2f} µs" if ns >= 1e4 else f"{ns:.1f} ns"

runs = sys.argv[1:] or ["-"]
rows = OrderedDict()
for path in runs:
    text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
    for m in LINE.finditer(text):
        key = (m["what"].strip(), int(m["n"]))
        rows.setdefault(key, []).append(m)

print("| pair (ours / peer) | nodes | ours | peer | ours / peer per run [p25–p75] | median |")
print("|---|---:|---:|---:|---|---:|")
for (what, n), ms in rows.items():
    ours = statistics.median(float(m["ours"]) for m in ms)
    peer = statistics.median(float(m["peer"]) for m in ms)
    per_run = " / ".join(f"{float(m['p50']):.3f} [{float(m['p25']):.2f}–{float(m['p75']):.2f}]" for m in ms)
    med = statistics.median(float(m["p50"]) for m in ms)
    print(f"| {what.replace('lookup ', '')} | {n:,} | {fmt(ours)} | {fmt(peer)} | {per_run} | **{med:.2f}** |")
