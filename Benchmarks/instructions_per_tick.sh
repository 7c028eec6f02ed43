#!/usr/bin/env bash
# Benchmarks/instructions_per_tick.sh -- issue 11 item 15, the part of a tick that noise cannot move:
# user-space instructions per tick of the daemon at 10 ms and of the Dispatch-driven floor, counted
# by callgrind (the same count for the same binary and input, whatever else the host is doing).
# CPU time per tick (bench.sh section 1) varies by ±40 % here; this does not. It counts neither the
# kernel's work (the same reads for both) nor cache misses (the cold-cache cost of the daemon's
# larger code), so it is a floor for the CPU ratio, not the ratio itself.
#
# Usage: instructions_per_tick.sh DAEMON_BIN FLOOR_DISPATCH_BIN MASTER_PID WORKDIR
# Prints `daemon_instr_per_tick=N daemon_ticks=T floor_instr_per_tick=M floor_ticks=U`.
set -uo pipefail
BIN=$1 FLOOR=$2 MASTER=$3 WORK=$4
command -v valgrind >/dev/null || { echo "valgrind not installed" >&2; exit 2; }
mkdir -p "$WORK"
# valgrind 3.19 cannot read the DWARF 5 the Swift toolchain writes: count on a copy without it
# (the symbols stay, so the tick function is still found by name).
objcopy --strip-debug "$BIN" "$WORK/daemon-nodebug" || exit 2

# Only the sampling ticks are counted (--toggle-collect): start-up, the first sample's discovery
# and the NIO thread are not. SIGINT after SECONDS; the daemon stops cleanly and callgrind writes.
timeout -s INT "${INSTR_SECONDS:-20}" valgrind --tool=callgrind --callgrind-out-file="$WORK/daemon.callgrind" \
    '--toggle-collect=$s7Sampler12SamplingLoopC4tick*' "$WORK/daemon-nodebug" serve \
    --socket "$WORK/instr.sock" --history-file none --interval 10ms --pid "$MASTER" >"$WORK/daemon.valgrind.log" 2>&1
# Ticks: the calls of Sampler.tick recorded in the profile (callgrind names a function once,
# `(id) name`, and by its id alone after that).
tick_id=$(grep -m1 -o '([0-9]*) \$s7SamplerAAC4tick11SampleModel0C0V_AD0C6DetailVtyF$' "$WORK/daemon.callgrind" | cut -d' ' -f1)
d_ticks=$(awk -v id="cfn=$tick_id" 'index($0, id) == 1 {getline; split($1, a, "="); s += a[2]} END {print s + 0}' "$WORK/daemon.callgrind")
d_total=$(awk '/^(summary|totals):/ {print $2; exit}' "$WORK/daemon.callgrind")

valgrind --tool=callgrind --callgrind-out-file="$WORK/floor.callgrind" --toggle-collect=tick \
    "$FLOOR" --pid "$MASTER" --ticks "${INSTR_FLOOR_TICKS:-500}" --interval-us 10000 --dispatch >"$WORK/floor.valgrind.log" 2>&1
f_ticks=${INSTR_FLOOR_TICKS:-500}
f_total=$(awk '/^(summary|totals):/ {print $2; exit}' "$WORK/floor.callgrind")

[ "${d_ticks:-0}" -gt 0 ] && [ -n "$d_total" ] && [ -n "$f_total" ] || {
    echo "no count (daemon ticks ${d_ticks:-?}; see $WORK/*.valgrind.log)" >&2
    exit 1
}
echo "daemon_instr_per_tick=$((d_total / d_ticks)) daemon_ticks=$d_ticks floor_instr_per_tick=$((f_total / f_ticks)) floor_ticks=$f_ticks"
