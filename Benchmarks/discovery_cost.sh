#!/usr/bin/env bash
# Benchmarks/discovery_cost.sh -- issue 11 item 17: what discovery costs while there is nothing
# to find, on a host with many processes.
#
# In a fresh pid namespace with its own /proc (so that other DRUM servers on this machine are not
# found and only these processes are seen), it starts DISCOVERY_PROCESSES `sleep`s, runs the
# daemon without a target (discovery) at its default 1 s interval, lets it warm up (the first
# scan classifies every process), then reads the daemon's CPU time (utime + stime) from
# /proc/PID/stat over DISCOVERY_SECONDS. The same run measures, as its reference, the daemon
# attached to one of the sleeps (`--pid`), which does no discovery at all.
#
# Target: at most 0.3 % of a core at 1,500 processes. Exit 1 above it, 2 on setup errors.
# Needs root (unshare). Knobs (defaults in brackets):
#   DRUM_MONITOR_BIN       [.build-static/release/drum-monitor]  (a release build: debug is slower)
#   DISCOVERY_PROCESSES    [1500]
#   DISCOVERY_SECONDS      [60]  measuring window (two of discovery's 30 s verify passes)
#   DISCOVERY_WARMUP       [10]  seconds before measuring
#   DISCOVERY_TARGET_PCT   [0.3]
set -euo pipefail

cd "$(dirname "$0")/.." || exit 2
BIN=$(realpath "${DRUM_MONITOR_BIN:-.build-static/release/drum-monitor}")
PROCESSES=${DISCOVERY_PROCESSES:-1500}
WINDOW=${DISCOVERY_SECONDS:-60}
WARMUP=${DISCOVERY_WARMUP:-10}
TARGET=${DISCOVERY_TARGET_PCT:-0.3}

if [ -z "${DISCOVERY_IN_NAMESPACE:-}" ]; then
    [ "$(id -u)" = 0 ] || { echo "discovery_cost: needs root (unshare --pid)" >&2; exit 2; }
    [ -x "$BIN" ] || { echo "discovery_cost: no binary at $BIN (make build-static, or set DRUM_MONITOR_BIN)" >&2; exit 2; }
    exec unshare --pid --fork --mount-proc env DISCOVERY_IN_NAMESPACE=1 DRUM_MONITOR_BIN="$BIN" "$0" "$@"
fi

# This script is pid 1 of the namespace: when it exits, the kernel ends everything it started.
dir=$(mktemp -d /tmp/dm-discovery.XXXXXX)
daemon=""
sleeps=()
cleanup() {
    [ -n "$daemon" ] && kill "$daemon" 2>/dev/null
    [ "${#sleeps[@]}" -gt 0 ] && kill "${sleeps[@]}" 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT
printf 'log_level: warning\n' > "$dir/config.yaml"

for _ in $(seq "$PROCESSES"); do sleep 100000 & sleeps+=($!); done
seen=$(find /proc -maxdepth 1 -name '[0-9]*' | wc -l)
clk=$(getconf CLK_TCK)

cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }

# Percent of one core the daemon uses over the window, with `serve` arguments "$@".
measure() {
    rm -f "$dir/s.sock"
    "$BIN" serve --config "$dir/config.yaml" --socket "$dir/s.sock" "$@" >/dev/null 2>"$dir/stderr" &
    daemon=$!
    sleep "$WARMUP"
    kill -0 "$daemon" 2>/dev/null || { echo "discovery_cost: the daemon exited:" >&2; cat "$dir/stderr" >&2; exit 2; }
    local before after
    before=$(cpu_ticks "$daemon")
    sleep "$WINDOW"
    after=$(cpu_ticks "$daemon")
    kill "$daemon"; wait "$daemon" 2>/dev/null || true
    daemon=""
    awk -v d="$((after - before))" -v hz="$clk" -v s="$WINDOW" 'BEGIN { printf "%.3f", d / hz / s * 100 }'
}

discovering=$(measure)
attached=$(measure --pid "${sleeps[0]}")
verdict=$(awk -v v="$discovering" -v t="$TARGET" 'BEGIN { print (v <= t) ? "ok" : "ABOVE TARGET" }')

echo "discovery without a target: ${seen} processes in /proc, ${WINDOW} s at 1 s interval (CLK_TCK ${clk})"
echo "  discovering (nothing to find): ${discovering} % of a core  (target <= ${TARGET} %: ${verdict})"
echo "  attached to a sleep (--pid):   ${attached} % of a core  (reference, same run)"
[ "$verdict" = ok ]
