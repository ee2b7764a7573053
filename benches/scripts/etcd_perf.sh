#!/usr/bin/env bash
# Context for the replicated-store benchmarks (README, "Performance — replicated
# store"): a 3-member etcd on loopback, measured with its own `etcdctl check perf`.
# Not part of CI. Needs Debian's etcd-server and etcd-client (installed with
# apt-get when missing, which needs root). Everything lives in a temp dir that is
# removed on exit, with the three etcd processes stopped.
set -euo pipefail

LOAD="${1:-s}" # etcdctl check perf --load: s, m, l or xl

if ! command -v etcd >/dev/null || ! command -v etcdctl >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends etcd-server etcd-client >/dev/null
    # The package may start its own single-member service; stop it if so.
    if command -v service >/dev/null; then service etcd stop >/dev/null 2>&1 || true; fi
fi

DIR="$(mktemp -d /tmp/etcd-perf.XXXXXX)"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$DIR"
}
trap cleanup EXIT

BASE=23790
CLUSTER=""
for i in 0 1 2; do
    CLUSTER+="${CLUSTER:+,}e$i=http://127.0.0.1:$((BASE + 10 * i + 1))"
done
ENDPOINTS=""
for i in 0 1 2; do
    client=$((BASE + 10 * i))
    peer=$((BASE + 10 * i + 1))
    ENDPOINTS+="${ENDPOINTS:+,}http://127.0.0.1:$client"
    etcd --name "e$i" --data-dir "$DIR/e$i" \
        --listen-client-urls "http://127.0.0.1:$client" \
        --advertise-client-urls "http://127.0.0.1:$client" \
        --listen-peer-urls "http://127.0.0.1:$peer" \
        --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
        --initial-cluster "$CLUSTER" --initial-cluster-state new \
        --initial-cluster-token murmura-bench >"$DIR/e$i.log" 2>&1 &
    PIDS+=("$!")
done

export ETCDCTL_API=3
for _ in $(seq 1 100); do
    if etcdctl --endpoints="$ENDPOINTS" endpoint health >/dev/null 2>&1; then break; fi
    sleep 0.2
done
etcdctl --endpoints="$ENDPOINTS" endpoint status -w table

echo "date: $(date -u +%FT%TZ)"
echo "etcd: $(etcd --version | head -1)"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
echo "etcdctl check perf --load=$LOAD (3 members, loopback, data in $DIR):"
# The progress bar redraws with carriage returns; keep only the verdict lines.
etcdctl --endpoints="$ENDPOINTS" check perf --load="$LOAD" 2>&1 | tr '\r' '\n' | grep -v '^ *[0-9]* / [0-9]*' || true
