#!/usr/bin/env bash
# Benchmarks/hot_symbols.sh -- writes packaging/hot-symbols.txt, the link order of the shipped
# binary's hot code (issue 11 item 15).
#
# Why: a tick runs after a 10 ms sleep, with its code evicted from the caches and the TLB. Linked
# in source order, the ~1,000 cache lines of code a tick runs are spread over ~130 pages of a
# 13 MB .text; laid out together (lld --symbol-ordering-file, with every function in its own
# section) they fit in ~70. The Makefile's build-static links with this file; a symbol it names
# that no longer exists is ignored, so a stale list costs locality, never a build.
#
# How: the daemon as shipped (DAEMON_BIN, default .build-static/release/drum-monitor) samples a
# DRUM-shaped tree (Benchmarks/tree.py, needs root for its cgroups) at 10 ms under callgrind;
# after start-up, every function of the binary that ran at least once per ten ticks on average,
# on any thread (the sampler, Dispatch's timer, the history), is listed, the costliest first,
# except those the linker cannot move (below). Tests/Package/hot-layout.sh checks the result.
# Run it after changing the sampling path, then rebuild (make build-static).
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-.build-static/release/drum-monitor}
OUT=packaging/hot-symbols.txt
SECONDS_MEASURED=${HOT_SECONDS:-15}
command -v valgrind >/dev/null || { echo "hot_symbols: valgrind not installed" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "hot_symbols: needs root (the tree's cgroups)" >&2; exit 2; }
[ -x "$BIN" ] || { echo "hot_symbols: $BIN is missing: run make build-static first" >&2; exit 2; }
WORK=$(mktemp -d /tmp/hot-symbols.XXXXXX)
TREE=
cleanup() { [ -n "$TREE" ] && kill "$TREE" 2>/dev/null && wait "$TREE" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

python3 Benchmarks/tree.py --ready-file "$WORK/tree.ready" >"$WORK/tree.log" 2>&1 &
TREE=$!
for _ in $(seq 300); do [ -s "$WORK/tree.ready" ] && break; sleep 0.1; done
read -r MASTER _ <"$WORK/tree.ready" || { echo "hot_symbols: the tree did not start ($WORK/tree.log)" >&2; exit 1; }

# valgrind 3.19 cannot read the DWARF 5 the Swift toolchain writes (see instructions_per_tick.sh).
objcopy --strip-debug "$BIN" "$WORK/daemon" || exit 2
# Nothing is counted until start-up is over (--instr-atstart=no, then callgrind_control -i on).
valgrind --tool=callgrind --demangle=no --instr-atstart=no --callgrind-out-file="$WORK/callgrind" \
    "$WORK/daemon" serve --socket "$WORK/d.sock" --history-file none --interval 10ms --pid "$MASTER" \
    >"$WORK/valgrind.log" 2>&1 &
V=$!
for _ in $(seq 300); do [ -S "$WORK/d.sock" ] && break; sleep 0.1; done
[ -S "$WORK/d.sock" ] || { echo "hot_symbols: the daemon did not start ($WORK/valgrind.log)" >&2; exit 1; }
callgrind_control -i on "$V" >/dev/null 2>&1
sleep "$SECONDS_MEASURED"
kill -INT "$V"; wait "$V"

# Functions the linker cannot move: those in a static library's shared .text (the Swift part of
# libswiftCore, libdispatch) rather than in a section of their own. Listing one would pull its
# object's whole .text in among the hot functions.
STATIC_LIBS=$(dirname "$(dirname "$(readlink -f "$(command -v swiftc)")")")/lib/swift_static/linux
objdump -t "$STATIC_LIBS"/*.a 2>/dev/null | awk '/ F \.text\t/ {print $NF}' | sort -u >"$WORK/unmovable"
[ -s "$WORK/unmovable" ] || { echo "hot_symbols: no static libraries in $STATIC_LIBS" >&2; exit 2; }

ticks=$((SECONDS_MEASURED * 100))
callgrind_annotate --threshold=100 --inclusive=no "$WORK/callgrind" 2>/dev/null |
    awk -v min=${HOT_MIN_COST:-$((ticks / 10))} -v bin="$WORK/daemon" '
        # "  1,234 (0.12%)  ???:SYMBOL [OBJECT]": functions of the binary itself (libc cannot be
        # ordered), with their self cost.
        index($0, "[" bin "]") {
            cost = $1; gsub(",", "", cost)
            if (cost + 0 < min) next
            sym = $0; sub(/^ *[0-9,]+ \([^)]*\) +/, "", sym); sub(/^\?\?\?:/, "", sym); sub(/ \[[^]]*\]$/, "", sym)
            print sym
        }' | grep -v -x -F -f "$WORK/unmovable" >"$WORK/symbols"
n=$(wc -l <"$WORK/symbols")
[ "$n" -gt 100 ] || { echo "hot_symbols: only $n functions found ($WORK/valgrind.log)" >&2; exit 1; }
mv "$WORK/symbols" "$OUT"
echo "hot_symbols: $n functions written to $OUT"
