#!/usr/bin/env python3
"""Renders the README HLC table from saved output of
`cargo bench -p murmura-benches --bench clock -- hlc/` (criterion rows and the
hlc_paired lines): python3 benches/scripts/hlc_table.py bench-output.txt"""
import re,sys
txt=open(sys.argv[1]).read()
crit={}
for m in re.finditer(r'^(hlc/\S+)\s*\n?\s*time:\s+\[\S+ \S+ (\S+) (\S+)', txt, re.M):
    v=float(m.group(2)); u=m.group(3)
    crit[m.group(1)]= v*1000 if u=='µs' else v
paired={}
for m in re.finditer(r'hlc_paired: (\d) thread\(s\)\s+(.+?) ours/uhlc per-round ratio: median (\S+) \(p25 (\S+), p75 (\S+)\)', txt):
    paired[(m.group(1),m.group(2).strip())]=(m.group(3),m.group(4),m.group(5))
out=["| HLC operation | threads | murmura | murmura `WallClock` | uhlc | ours / uhlc (criterion medians) | ours / uhlc (paired rounds, median [p25–p75]) | `WallClock` ours / uhlc (paired) | floors: `SystemTime::now()` / `FastWallClock::now()` |","|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
for op in ['now','update']:
    for th,g in [('1','1_thread'),('2','2_threads')]:
        o=crit[f'hlc/{g}/{op}/murmura']; w=crit[f'hlc/{g}/{op}/murmura_WallClock']; u=crit[f'hlc/{g}/{op}/uhlc']
        fs=crit[f'hlc/{g}/now/floor_SystemTime_now']; ff=crit[f'hlc/{g}/now/floor_FastWallClock_now']
        p=paired[(th,op)]; pw=paired[(th,op+' WallClock')]
        out.append(f"| `{op}` | {th} | {o:.1f} ns | {w:.1f} ns | {u:.1f} ns | **{o/u:.2f}** | {p[0]} [{p[1]}–{p[2]}] | {pw[0]} [{pw[1]}–{pw[2]}] | {fs:.1f} / {ff:.1f} ns |")
print("\n".join(out))
