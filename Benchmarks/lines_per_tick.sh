#!/usr/bin/env bash
# Benchmarks/lines_per_tick.sh -- issue 11 item 15: the distinct cache lines (code, data) that one
# tick touches, in the daemon and in the Dispatch-driven floor, counted from a valgrind lackey
# trace of every instruction and memory access of the whole process (Benchmarks/lines_per_tick.c).
#
# Why: after each 10 ms sleep the lines a tick needs are cold, and bringing each back costs ~20-40 ns
# here (Benchmarks/cold_lines.c, which bench.sh runs beside this); that, more than instructions, is what the daemon's
# CPU per tick is beyond the floor's. Like instructions_per_tick.sh, the count does not move with
# the host's load. It is user space only: the kernel's lines (the same reads for both) are not in it.
#
# Both run at 250 ms, not 10 ms: under lackey a tick takes ~50 ms, and at 10 ms the daemon would
# see itself stalled and record an event every tick. At 250 ms its once-a-second work (children
# of workers, the root's cmdline) falls on one tick in four, which the median leaves out as it does
# at 10 ms.
#
# Usage: lines_per_tick.sh DAEMON_BIN FLOOR_DISPATCH_BIN MASTER_PID WORKDIR
# Prints lines_per_tick.c's keys for each, prefixed: `daemon_ticks=.. daemon_code_lines=.. daemon_data_lines=..
# daemon_code_pages=.. daemon_data_pages=.. daemon_instructions=.. floor_ticks=.. floor_code_lines=..` and so on.
set -uo pipefail
BIN=$1 FLOOR=$2 MASTER=$3 WORK=$4
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
command -v valgrind >/dev/null || { echo "valgrind not installed" >&2; exit 2; }
mkdir -p "$WORK"
gcc -O2 -Wall -o "$WORK/lines_per_tick" "$BENCH_DIR/lines_per_tick.c" || exit 2
# valgrind 3.19 cannot read the DWARF 5 the Swift toolchain writes (see instructions_per_tick.sh).
objcopy --strip-debug "$BIN" "$WORK/daemon-nodebug" || exit 2

# valgrind loads a position-independent executable at 0x108000 (amd64); a wrong guess finds no
# tick, which is reported, not miscounted.
LOAD_BASE=0x108000
entry() { # BINARY NM_PATTERN -> the function's address as loaded under valgrind, in hex
    local a
    a=$(nm "$1" | awk -v p="$2" '$3 ~ p {print $1; exit}')
    [ -n "$a" ] || return 1
    printf '%x' $((0x$a + LOAD_BASE))
}
D_TICK=$(entry "$WORK/daemon-nodebug" '^\$s7Sampler12SamplingLoopC4tick33_') || { echo "no SamplingLoop.tick in $BIN" >&2; exit 1; }
F_TICK=$(entry "$FLOOR" '^dispatch_tick$') || { echo "no dispatch_tick in $FLOOR" >&2; exit 1; }

# The daemon: start-up under lackey takes ~40 s; SIGINT after LINES_SECONDS stops it cleanly.
# The first 30 ticks are left out (the first sample's work, caches of the runtime filling).
timeout -s INT "${LINES_SECONDS:-100}" valgrind --tool=lackey --trace-mem=yes --log-fd=9 "$WORK/daemon-nodebug" serve \
    --socket "$WORK/lines.sock" --history-file none --interval 250ms --retention 60s --pid "$MASTER" \
    9> >("$WORK/lines_per_tick" "$D_TICK" 30 >"$WORK/daemon.lines" 2>"$WORK/daemon.lines.err") >"$WORK/daemon.lackey.log" 2>&1
valgrind --tool=lackey --trace-mem=yes --log-fd=9 "$FLOOR" --pid "$MASTER" --ticks "${LINES_FLOOR_TICKS:-130}" \
    --interval-us 250000 --dispatch 9> >("$WORK/lines_per_tick" "$F_TICK" 30 >"$WORK/floor.lines" 2>"$WORK/floor.lines.err") \
    >"$WORK/floor.lackey.log" 2>&1
# The counters read the traces through process substitutions: wait until both have written.
for _ in $(seq 100); do [ -s "$WORK/daemon.lines" ] || [ -s "$WORK/daemon.lines.err" ] || { sleep 0.2; continue; }
    [ -s "$WORK/floor.lines" ] || [ -s "$WORK/floor.lines.err" ] || { sleep 0.2; continue; }; break; done
d=$(cat "$WORK/daemon.lines") f=$(cat "$WORK/floor.lines")
[ -n "$d" ] && [ -n "$f" ] || {
    echo "no count: daemon: $(cat "$WORK/daemon.lines.err") floor: $(cat "$WORK/floor.lines.err")" >&2
    exit 1
}
# Each counter's `key=value` line, its keys prefixed with whose it is.
echo "$(sed 's/\([a-z_]*\)=/daemon_\1=/g' <<<"$d") $(sed 's/\([a-z_]*\)=/floor_\1=/g' <<<"$f")"
