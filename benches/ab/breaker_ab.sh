#!/usr/bin/env bash
# Old-against-new breaker A/B in one process: the breaker crate at git
# revision BASE (default: main) is copied out as `murmura-breaker-base`,
# added to the bench package for the length of the run, and benchmarked
# against the working tree's breaker in interleaved rounds
# (murmura_benches::paired), closed healthy path, failures present and
# rejected, one thread, direct calls. The bench package's manifest and
# Cargo.lock are restored afterwards.
#
#     benches/ab/breaker_ab.sh [BASE] [ROUNDS]
set -euo pipefail
root=$(git rev-parse --show-toplevel)
base=${1:-main}
rounds=${2:-61}
work=$(mktemp -d)
cd "$root"
cp benches/Cargo.toml "$work/Cargo.toml.orig"
cp Cargo.lock "$work/Cargo.lock.orig"
restore() {
    cp "$work/Cargo.toml.orig" benches/Cargo.toml
    cp "$work/Cargo.lock.orig" Cargo.lock
    rm -f benches/benches/breaker_ab.rs
    rm -rf "$work"
}
trap restore EXIT
git archive "$base" crates/murmura-breaker/src | tar -x -C "$work"
crate="$work/murmura-breaker-base"
mkdir -p "$crate"
mv "$work/crates/murmura-breaker/src" "$crate/src"
cat > "$crate/Cargo.toml" <<TOML
[package]
name = "murmura-breaker-base"
version = "0.1.0"
edition = "2024"
publish = false

[dependencies]
murmura-core = { path = "$root/crates/murmura-core", features = ["fast-clock"] }
thiserror = "2"

[features]
serde = []
tower = []
tokio = []
TOML
python3 - "$crate" <<'PY'
import sys
p = "benches/Cargo.toml"
s = open(p).read()
s = s.replace('recloser = "1.4"\n', 'recloser = "1.4"\nmurmura-breaker-base = { path = "%s" }\n' % sys.argv[1])
s += '\n[[bench]]\nname = "breaker_ab"\nharness = false\n'
open(p, "w").write(s)
PY
cp benches/ab/breaker_ab.rs benches/benches/breaker_ab.rs
AB_ROUNDS=$rounds cargo bench -p murmura-benches --bench breaker_ab 2>/dev/null | grep breaker_ab
