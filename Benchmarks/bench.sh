#!/usr/bin/env bash
# Benchmarks/bench.sh -- issue #7: drum-monitor baselines and benchmark harness.
#
# Run from anywhere (it cd's to the repo root); normally via `make bench`.
# Writes BENCHMARKS.md at the repo root (or $BENCH_OUT).  Needs root (cgroup v1 writes, apt).
#
# What it does:
#   1. installs what it needs (gcc, curl, python3-venv; psutil into a venv; process-exporter
#      binary extracted from the Debian .deb -- not installed as a service),
#   2. builds floor.c and loadgen.c, self-tests loadgen against a Python unix-socket server,
#   3. starts tree.py (DRUM-shaped tree: master + 8 workers in cgroup drum-monitor-bench-<pid>),
#   4. measures the baselines (floor held/reopen, psutil ResourceMonitor, process-exporter),
#   5. measures drum-monitor (${DRUM_MONITOR_BIN:-.build-static/release/drum-monitor}):
#      sampling CPU per tick, RSS, query latency, window-cost hook, cadence,
#   6. writes the tables with ratios and target checks.
#
# Environment knobs (defaults in brackets):
#   DRUM_MONITOR_BIN      [.build-static/release/drum-monitor]
#   WINDOW_BENCH_BIN      [.build-static/release/drum-monitor-window-bench]  (row 4 hook)
#   WINDOW_BENCH_ARGS     extra args for WINDOW_BENCH_BIN []
#   STACK_FLOOR_BIN       [.build-static/release/drum-monitor-stack-floor]  (row 2: the stack's RSS floor)
#   BENCH_OUT             [BENCHMARKS.md]
#   BENCH_ONLY_BASELINES  [0]  1 = skip every drum-monitor row (marked SKIPPED, exit 0)
#   BENCH_REPS            [5]  repetitions of the back-to-back floor runs (median reported)
#   BENCH_FLOOR_TICKS     [3000] ticks per back-to-back floor run
#   BENCH_INTERVAL_MS     [10] the sampling interval the daemon and the same-cadence baselines use
#   BENCH_CPU_SECONDS     [10] daemon CPU-per-tick measuring time (and same-cadence floor run)
#   BENCH_CAD_REPS        [3]  daemon windows / same-cadence floor runs, interleaved; best of each
#   BENCH_RSS_SECONDS     [15] how long the RSS daemons run before VmRSS is read
#   BENCH_FILL_1M         [0]  1 = run the 1M-sample RSS daemon until its ring is full (~2.8 h)
#   BENCH_LOAD_SECONDS    [5]  per loadgen run
#   BENCH_CADENCE_SECONDS [20] per cadence phase (idle, under load)
#   BENCH_REAL_DRUM       [0]  1 = tree.py --real-drum (DRUM gunicorn from the drum-venv)
#   BENCH_VENV            [/var/cache/drum-monitor/bench-venv]
#
# Exit status: 0 when every row was measured; 1 when any drum-monitor row failed (the
# report is still written, with FAILED rows and a banner), 2 on setup errors.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 2
REPO=$(pwd)
BENCH_DIR=$REPO/Benchmarks
BIN=${DRUM_MONITOR_BIN:-.build-static/release/drum-monitor}
WINDOW_BENCH_BIN=${WINDOW_BENCH_BIN:-.build-static/release/drum-monitor-window-bench}
STACK_FLOOR_BIN=${STACK_FLOOR_BIN:-.build-static/release/drum-monitor-stack-floor}
OUT=${BENCH_OUT:-BENCHMARKS.md}
ONLY_BASELINES=${BENCH_ONLY_BASELINES:-0}
REPS=${BENCH_REPS:-5}
FLOOR_TICKS=${BENCH_FLOOR_TICKS:-3000}
INTERVAL_MS=${BENCH_INTERVAL_MS:-10}
CPU_SECONDS=${BENCH_CPU_SECONDS:-10}
CAD_REPS=${BENCH_CAD_REPS:-3}
RSS_SECONDS=${BENCH_RSS_SECONDS:-15}
FILL_1M=${BENCH_FILL_1M:-0}
LOAD_SECONDS=${BENCH_LOAD_SECONDS:-5}
CADENCE_SECONDS=${BENCH_CADENCE_SECONDS:-20}
VENV=${BENCH_VENV:-/var/cache/drum-monitor/bench-venv}
TOOLS=/var/cache/drum-monitor/bench-tools
PY=/usr/bin/python3
CLK_TCK=$(getconf CLK_TCK)

WORK=$(mktemp -d /tmp/drum-monitor-bench.XXXXXX)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
KEEP_WORK=0      # set when a drum-monitor row fails: daemon logs stay in $WORK
FAILURES=()      # drum-monitor rows that failed
BG_PIDS=()       # background processes we started (killed by pid on exit)

log() { echo "bench: $*" >&2; }
die() { echo "bench: FATAL: $*" >&2; exit 2; }

# The daemon as installed: its history file on tmpfs, as the default /run/drum-monitor/ is under
# systemd (else next to the socket), and the drum-monitor group that the package creates
# (sysusers.d). Without the group, the lookup of the socket's default group falls through
# /etc/group to NSS's systemd module, which then stays loaded (0.3 MiB of VmRSS).
HIST_DIR=$WORK
if [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ] && [ "$(df -k --output=avail /dev/shm | tail -1)" -gt 1048576 ]; then
    HIST_DIR=$(mktemp -d /dev/shm/drum-monitor-bench.XXXXXX)
fi
CREATED_GROUP=0 GROUP_NOTE=""
if ! getent group drum-monitor >/dev/null && [ "$(id -u)" = 0 ]; then
    groupadd --system drum-monitor && CREATED_GROUP=1 GROUP_NOTE=" (created for the run, removed after)"
fi
HIST_FS="on $(stat -f -c %T "$HIST_DIR")"

cleanup() {
    local p
    [ -n "${HIST_DIR:-}" ] && [ "$HIST_DIR" != "$WORK" ] && rm -rf "$HIST_DIR"
    [ "${CREATED_GROUP:-0}" = 1 ] && groupdel drum-monitor 2>/dev/null
    for p in "${BG_PIDS[@]:-}"; do
        [ -n "$p" ] && kill -TERM "$p" 2>/dev/null
    done
    for p in "${BG_PIDS[@]:-}"; do
        [ -n "$p" ] && wait "$p" 2>/dev/null
    done
    if [ "$KEEP_WORK" = 1 ]; then
        rm -f "$WORK"/*.sock
        echo "bench: logs kept in $WORK" >&2
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# kv "LINE" KEY -> value of KEY=value in a space-separated line
kv() { awk -v k="$2" '{for(i=1;i<=NF;i++){n=index($i,"="); if(n>0 && substr($i,1,n-1)==k){print substr($i,n+1); exit}}}' <<<"$1"; }
median() { sort -g | awk '{a[NR]=$1} END{if(NR==0){print ""; exit} if(NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
# ratio A B [digits] -> A/B
ratio() { awk -v a="$1" -v b="$2" -v d="${3:-2}" 'BEGIN{if(a==""||b==""||b+0==0||a!=a+0) print "n/a"; else printf "%.*f", d, a/b}'; }
fmt() { awk -v a="$1" -v d="${2:-1}" 'BEGIN{if(a==""||a!=a+0) print "n/a"; else printf "%.*f", d, a}'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN{exit !(a!="n/a" && a+0<=b+0)}'; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN{exit !(a!="n/a" && a+0>=b+0)}'; }
jget() { # jget FILE dotted.path -> value ("" if absent)
    "$PY" - "$1" "$2" <<'EOF'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
    for k in sys.argv[2].split("."):
        d = d[int(k)] if isinstance(d, list) else d[k]
    print("" if d is None else d)
except Exception:
    print("")
EOF
}
# KiB resident per mapped file (the executable as BIN, anonymous memory as anon), sorted by name
rss_by_mapping() {
    awk '/^[0-9a-f]+-[0-9a-f]+ /{n=split($6,a,"/"); m=a[n]; if (m ~ /^drum-monitor/) m="BIN"; else if (m ~ /history/) m="history-file"; else if (m=="") m="anon"}
         /^Rss:/{r[m]+=$2} END{for (k in r) if (r[k]>0) print k, r[k]}' "/proc/$1/smaps" 2>/dev/null | sort
}
rss_kb() { awk '/^VmRSS:/{print $2}' "/proc/$1/status" 2>/dev/null; }
hwm_kb() { awk '/^VmHWM:/{print $2}' "/proc/$1/status" 2>/dev/null; }
anon_kb() { awk '/^RssAnon:/{print $2}' "/proc/$1/status" 2>/dev/null; }
# CPU of a process (all threads, including exited ones) from /proc/PID/stat, in ns
stat_cpu_ns() { sed 's/.*) //' "/proc/$1/stat" | awk -v hz="$CLK_TCK" '{printf "%.0f\n", ($12+$13)*1e9/hz}'; }
# CPU of the live threads from schedstat (ns resolution)
sched_cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s+=$1} END{printf "%.0f\n", s}'; }
# Whether every thread of a process is stopped (state T after SIGSTOP)
all_stopped() { ! sed 's/.*) //' /proc/"$1"/task/*/stat 2>/dev/null | awk '{print $1}' | grep -qv '^[tT]$'; }
# "UTIME STIME" of a process in clock ticks (threads that exited included)
stat_user_sys() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12, $13}'; }
# One line per live thread: TID NAME CPU_NS TIMES_SCHEDULED_IN (schedstat), sorted by TID (for join)
thread_stats() {
    local t
    for t in /proc/"$1"/task/*; do
        [ -r "$t/schedstat" ] || continue
        echo "${t##*/} $(tr -d ' ' <"$t/comm") $(cat "$t/schedstat" 2>/dev/null | awk '{print $1, $3}')"
    done | sort
}

# ---------------------------------------------------------------- 1. dependencies
[ "$(id -u)" = 0 ] || die "run as root (cgroup v1 directories, apt)"
[ -d /sys/fs/cgroup/memory ] || die "cgroup v1 memory controller not mounted at /sys/fs/cgroup/memory"

apt_install() {
    local missing=()
    local p
    for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "apt-get install ${missing[*]}"
    apt-get -o DPkg::Lock::Timeout=600 install -y "${missing[@]}" >"$WORK/apt.log" 2>&1 \
        || { tail -20 "$WORK/apt.log" >&2; return 1; }
}
apt_install gcc libc6-dev curl python3-venv valgrind || die "apt-get install failed"

mkdir -p "$(dirname "$VENV")" "$TOOLS"
if ! "$VENV/bin/python" -c 'import psutil' 2>/dev/null; then
    log "creating $VENV with psutil"
    "$PY" -m venv "$VENV" || die "python3 -m venv $VENV failed"
    "$VENV/bin/pip" install -q psutil >"$WORK/pip.log" 2>&1 || { cat "$WORK/pip.log" >&2; die "pip install psutil failed"; }
fi
PSUTIL_VERSION=$("$VENV/bin/python" -c 'import psutil; print(psutil.__version__)')

# process-exporter: use an installed one, else extract the bookworm .deb (no service is installed)
PE_BIN=""
PE_NOTE=""
if command -v prometheus-process-exporter >/dev/null; then
    PE_BIN=$(command -v prometheus-process-exporter)
elif [ -x "$TOOLS/usr/bin/prometheus-process-exporter" ]; then
    PE_BIN=$TOOLS/usr/bin/prometheus-process-exporter
else
    log "fetching prometheus-process-exporter .deb (extracted to $TOOLS, not installed)"
    if (cd "$WORK" && apt-get download prometheus-process-exporter >"$WORK/pe-dl.log" 2>&1) &&
        dpkg-deb -x "$WORK"/prometheus-process-exporter_*.deb "$TOOLS"; then
        PE_BIN=$TOOLS/usr/bin/prometheus-process-exporter
    else
        PE_NOTE="prometheus-process-exporter not available from apt: $(tail -1 "$WORK/pe-dl.log")"
        log "$PE_NOTE"
    fi
fi
PE_VERSION=""
[ -n "$PE_BIN" ] && PE_VERSION=$("$PE_BIN" -version 2>&1 | sed -n 's/.*revision: \([^)]*\)).*/\1/p' | head -1)

# ---------------------------------------------------------------- 2. build + loadgen self-test
mkdir -p "$WORK/bin"
gcc -O2 -Wall -o "$WORK/bin/floor" "$BENCH_DIR/floor.c" || die "building floor.c failed"
gcc -O2 -Wall -pthread -o "$WORK/bin/loadgen" "$BENCH_DIR/loadgen.c" || die "building loadgen.c failed"
FLOOR=$WORK/bin/floor
LOADGEN=$WORK/bin/loadgen
# The floor's reads driven by a DispatchSourceTimer (issue 11 item 15's baseline): built with the
# Swift toolchain's clang against its libdispatch (gcc cannot read the Dispatch headers).
SWIFT_USR=$(dirname "$(dirname "$(readlink -f "$(command -v swift || echo /opt/swift/usr/bin/swift)")")")
FLOOR_DISPATCH=""
if "$SWIFT_USR/bin/clang" -O2 -Wall -DFLOOR_DISPATCH -I"$SWIFT_USR/lib/swift" -o "$WORK/bin/floor-dispatch" \
    "$BENCH_DIR/floor.c" -L"$SWIFT_USR/lib/swift/linux" -Wl,-rpath,"$SWIFT_USR/lib/swift/linux" \
    -ldispatch -lBlocksRuntime 2>"$WORK/floor-dispatch.log"; then
    FLOOR_DISPATCH=$WORK/bin/floor-dispatch
else
    log "building floor.c with libdispatch failed: $(tail -3 "$WORK/floor-dispatch.log")"
fi
GCC_VERSION=$(gcc -dumpfullversion 2>/dev/null || gcc -dumpversion)

log "loadgen self-test against a Python unix-socket HTTP server"
"$PY" "$BENCH_DIR/unix_http_server.py" "$WORK/pyhttp.sock" 2>"$WORK/pyhttp.log" &
PYHTTP=$!
BG_PIDS+=("$PYHTTP")
for _ in $(seq 50); do [ -S "$WORK/pyhttp.sock" ] && break; sleep 0.1; done
LG_PY_1=$("$LOADGEN" "$WORK/pyhttp.sock" /healthz 1 2) || die "loadgen self-test failed: $LG_PY_1"
LG_PY_16=$("$LOADGEN" "$WORK/pyhttp.sock" /healthz 16 2) || die "loadgen self-test failed: $LG_PY_16"
LG_PY_CH=$("$LOADGEN" "$WORK/pyhttp.sock" /chunked 1 1) || die "loadgen chunked self-test failed: $LG_PY_CH"
kill "$PYHTTP"; wait "$PYHTTP" 2>/dev/null

# ---------------------------------------------------------------- 3. the tree
TREE_ARGS=()
[ "${BENCH_REAL_DRUM:-0}" = 1 ] && TREE_ARGS+=(--real-drum)
"$PY" "$BENCH_DIR/tree.py" --ready-file "$WORK/tree.ready" "${TREE_ARGS[@]}" >"$WORK/tree.out" 2>"$WORK/tree.err" &
TREE_PID=$!
BG_PIDS+=("$TREE_PID")
for _ in $(seq 600); do
    [ -s "$WORK/tree.ready" ] && break
    kill -0 "$TREE_PID" 2>/dev/null || { cat "$WORK/tree.err" >&2; die "tree.py exited"; }
    sleep 0.1
done
[ -s "$WORK/tree.ready" ] || die "tree.py did not become ready"
read -r MASTER TREE_CG <"$WORK/tree.ready"
TREE_PROCS=$(( $(cat /proc/"$MASTER"/task/*/children | wc -w) + 1 ))
log "tree: master=$MASTER cgroup=$TREE_CG"
"$FLOOR" --pid "$MASTER" --dump --ticks 1 >"$WORK/floor-dump.txt" || die "floor --dump failed"
TREE_USAGE=$(sed -n 's/.* usage=\([0-9]*\).*/\1/p' "$WORK/floor-dump.txt" | head -1)
TREE_LIMIT=$(sed -n 's/.* limit_eff=\([0-9]*\).*/\1/p' "$WORK/floor-dump.txt" | head -1)
HOST_PROCS=$(ls /proc | grep -c '^[0-9]')

# ---------------------------------------------------------------- 4. baselines
log "floor: held fds and reopen, back to back ($REPS x $FLOOR_TICKS ticks)"
floor_b2b() { # mode-args... -> median cpu_us_per_tick
    local i
    for i in $(seq "$REPS"); do
        kv "$("$FLOOR" --pid "$MASTER" --ticks "$FLOOR_TICKS" "$@")" cpu_us_per_tick
    done | median
}
# drum-monitor's own sampler, back to back, interleaved with the floor so both see the same load.
SAMPLER_BENCH_BIN=${SAMPLER_BENCH_BIN:-.build-static/release/drum-monitor-sampler-bench}
SAMPLER_B2B=""
SAMPLER_WHY=""
if [ -x "$SAMPLER_BENCH_BIN" ] && [ "$ONLY_BASELINES" != 1 ]; then
    log "drum-monitor sampler and floor, back to back, interleaved ($REPS x $FLOOR_TICKS ticks each)"
    : >"$WORK/sampler-b2b.txt"; : >"$WORK/floor-b2b.txt"
    for i in $(seq "$REPS"); do
        kv "$("$SAMPLER_BENCH_BIN" "$MASTER" "$FLOOR_TICKS" 2>>"$WORK/sampler-bench.err")" cpu_us_per_tick >>"$WORK/sampler-b2b.txt"
        kv "$("$FLOOR" --pid "$MASTER" --ticks "$FLOOR_TICKS")" cpu_us_per_tick >>"$WORK/floor-b2b.txt"
    done
    # Best of the interleaved runs for both: the least disturbed estimate on a shared host.
    SAMPLER_B2B=$(sort -g "$WORK/sampler-b2b.txt" | head -1)
    FLOOR_HELD=$(sort -g "$WORK/floor-b2b.txt" | head -1)
    SAMPLER_B2B_ALL=$(tr '\n' ' ' <"$WORK/sampler-b2b.txt")
    FLOOR_B2B_ALL=$(tr '\n' ' ' <"$WORK/floor-b2b.txt")
else
    SAMPLER_WHY="sampler bench not run (binary not found at $SAMPLER_BENCH_BIN, or BENCH_ONLY_BASELINES=1)"
    FLOOR_HELD=$(floor_b2b)
fi
FLOOR_REOPEN=$(floor_b2b --reopen)
INTERVAL_US=$((INTERVAL_MS * 1000))
CAD_TICKS=$((CPU_SECONDS * 1000 / INTERVAL_MS))
log "floor: held fds and reopen at ${INTERVAL_MS} ms ($CAD_TICKS ticks each)"
L=$("$FLOOR" --pid "$MASTER" --ticks "$CAD_TICKS" --interval-us "$INTERVAL_US")
FLOOR_HELD_CAD=$(kv "$L" cpu_us_per_tick)
FLOOR_RSS_KB=$(kv "$L" vmrss_kb)
FLOOR_READS=$(kv "$L" reads_per_tick)
FLOOR_REOPEN_CAD=$(kv "$("$FLOOR" --pid "$MASTER" --ticks "$CAD_TICKS" --interval-us "$INTERVAL_US" --reopen)" cpu_us_per_tick)
# The same reads on a DispatchSourceTimer set up like the daemon's (two threads woken per tick:
# Dispatch's timer thread, then the queue's worker): the floor the daemon's 10 ms row is held to.
FLOOR_DISP_CAD="" FLOOR_DISP_ALL=""
floor_dispatch_run() { # -> cpu_us_per_tick; the best run's user/system split is kept in $WORK/floor-dispatch.best
    local l c
    l=$("$FLOOR_DISPATCH" --pid "$MASTER" --ticks "$CAD_TICKS" --interval-us "$INTERVAL_US" --dispatch)
    c=$(kv "$l" cpu_us_per_tick)
    if [ ! -s "$WORK/floor-dispatch.best" ] || awk -v a="$c" -v b="$(kv "$(cat "$WORK/floor-dispatch.best")" cpu_us_per_tick)" 'BEGIN{exit !(a<b)}'; then
        echo "$l" >"$WORK/floor-dispatch.best"
    fi
    echo "$c"
}
if [ -n "$FLOOR_DISPATCH" ]; then
    log "floor: held fds on a DispatchSourceTimer at ${INTERVAL_MS} ms ($CAD_TICKS ticks)"
    FLOOR_DISP_CAD=$(floor_dispatch_run)
    FLOOR_DISP_ALL=$FLOOR_DISP_CAD
fi
"$FLOOR" --pid "$MASTER" --ticks 1000 --breakdown >"$WORK/floor-breakdown.txt"

log "psutil ResourceMonitor: back to back and at ${INTERVAL_MS} ms"
L=$("$VENV/bin/python" "$BENCH_DIR/psutil_sampler.py" --pid "$MASTER" --calls 500) || die "psutil_sampler failed"
PSUTIL_B2B=$(kv "$L" cpu_us_per_call)
L=$("$VENV/bin/python" "$BENCH_DIR/psutil_sampler.py" --pid "$MASTER" --calls $((3000 / INTERVAL_MS)) \
    --interval "$(awk -v m="$INTERVAL_MS" 'BEGIN{print m/1000}')") || die "psutil_sampler failed"
PSUTIL_CAD=$(kv "$L" cpu_us_per_call)
PSUTIL_RSS_KB=$(kv "$L" vmrss_kb)

PE_SCRAPE_US="" PE_RSS_KB=""
if [ -n "$PE_BIN" ]; then
    log "process-exporter: 200 scrapes"
    # Match only our tree: the fake master's argv carries its unique temp dir; real DRUM's
    # gunicorn argv is generic (other DRUM servers on the host would match too -- see notes).
    PE_RE=$(tr '\0' ' ' <"/proc/$MASTER/cmdline" | grep -o 'drum-bench-[A-Za-z0-9_]*' | head -1)
    [ -n "$PE_RE" ] || PE_RE='datarobot_drum/drum/gunicorn/gunicorn\.conf\.py'
    printf 'process_names:\n  - name: "drum"\n    cmdline:\n    - %s\n' "'$PE_RE'" >"$WORK/pe.yaml"
    PE_PORT=$((19000 + $$ % 1000))
    "$PE_BIN" -config.path "$WORK/pe.yaml" -children=true -threads=false -gather-smaps=false \
        -web.listen-address "127.0.0.1:$PE_PORT" >"$WORK/pe.log" 2>&1 &
    PE_PID=$!
    BG_PIDS+=("$PE_PID")
    for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$PE_PORT/metrics" && break; sleep 0.1; done
    PE_NPROCS=$(curl -s "http://127.0.0.1:$PE_PORT/metrics" | awk '/^namedprocess_namegroup_num_procs/{print $2}')
    URLS=()
    for _ in $(seq 200); do URLS+=("http://127.0.0.1:$PE_PORT/metrics" -o /dev/null); done
    c0=$(stat_cpu_ns "$PE_PID")
    curl -s "${URLS[@]}"
    c1=$(stat_cpu_ns "$PE_PID")
    PE_SCRAPE_US=$(awk -v a="$c0" -v b="$c1" 'BEGIN{printf "%.1f", (b-a)/1000/200}')
    PE_RSS_KB=$(rss_kb "$PE_PID")
    kill "$PE_PID"; wait "$PE_PID" 2>/dev/null
    PE_NOTE="per scrape, 200 scrapes; matched ${PE_NPROCS:-?} procs; scans all $HOST_PROCS host processes"
fi

# ---------------------------------------------------------------- 5. drum-monitor
DAEMON_OK=1
DAEMON_WHY=""
if [ "$ONLY_BASELINES" = 1 ]; then
    DAEMON_OK=0
    DAEMON_WHY="SKIPPED (BENCH_ONLY_BASELINES=1)"
elif [ ! -x "$BIN" ]; then
    DAEMON_OK=0
    DAEMON_WHY="FAILED: drum-monitor binary not found/executable at $BIN (build it: make build-static, or set DRUM_MONITOR_BIN)"
    echo "bench: ***** $DAEMON_WHY *****" >&2
fi
fail_row() { FAILURES+=("$1: $2"); KEEP_WORK=1; echo "bench: ***** FAILED: $1: $2 *****" >&2; }

DSOCK="" DPID=""
start_daemon() { # NAME serve-args... ; sets DPID DSOCK; returns 1 on failure
    local name=$1
    shift
    DSOCK=$WORK/$name.sock
    "$BIN" serve --socket "$DSOCK" --history-file "$HIST_DIR/$name.history" "$@" >"$WORK/$name.log" 2>&1 &
    DPID=$!
    BG_PIDS+=("$DPID")
    local i t
    for i in $(seq 200); do
        if ! kill -0 "$DPID" 2>/dev/null; then
            log "drum-monitor ($name) exited early; log tail:"
            tail -20 "$WORK/$name.log" >&2
            return 1
        fi
        if [ -S "$DSOCK" ] && curl -s -o "$WORK/$name.h0" --max-time 2 --unix-socket "$DSOCK" http://localhost/healthz; then
            t=$(jget "$WORK/$name.h0" ticks)
            [ -n "$t" ] && [ "$t" -ge 1 ] 2>/dev/null && return 0
        fi
        sleep 0.1
    done
    log "drum-monitor ($name) did not answer /healthz with ticks>=1 within 20 s; log tail:"
    tail -20 "$WORK/$name.log" >&2
    return 1
}
start_stack_floor() { # NAME ; Benchmarks/StackFloor on $WORK/NAME.sock; sets FLOOR_PID ("" without the binary)
    FLOOR_PID=""
    [ -x "$STACK_FLOOR_BIN" ] || return 1
    "$STACK_FLOOR_BIN" serve --socket "$WORK/$1.sock" >"$WORK/$1.log" 2>&1 &
    FLOOR_PID=$!
    BG_PIDS+=("$FLOOR_PID")
    for _ in $(seq 100); do
        curl -s -o /dev/null --max-time 2 --unix-socket "$WORK/$1.sock" http://localhost/ && break
        sleep 0.1
    done
}

stop_daemon() { # PID NAME -> records a failure unless it exits 0 within 10 s of SIGTERM
    kill -TERM "$1" 2>/dev/null
    local i
    for i in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$1" 2>/dev/null; then
        kill -KILL "$1" 2>/dev/null
        wait "$1" 2>/dev/null
        fail_row "shutdown ($2)" "drum-monitor did not exit within 10 s of SIGTERM (killed)"
        return
    fi
    wait "$1" 2>/dev/null
    local rc=$?
    [ "$rc" = 0 ] || fail_row "shutdown ($2)" "drum-monitor exited with status $rc on SIGTERM"
}
healthz() { curl -s --max-time 5 --unix-socket "$1" http://localhost/healthz -o "$2"; }

Q_WINDOW_SAMPLES="" D_CPU="" D_CPU_SRC="" D_TICKS="" D_THREADS="" D_USER_SYS="" D_PROCS="" D_WINDOW_SAMPLES=""
declare -A LG LGF LG10 QBYTES
QUERY_PATHS=(/healthz /v1/snapshot "/v1/window?seconds=3600")
QUERY_REPS=${BENCH_QUERY_REPS:-2}
# best_run OLD NEW -> a loadgen line with the lower p50 and the higher req/s of the two
best_run() {
    [ -z "$1" ] && { echo "$2"; return; }
    local p50 rps
    p50=$(awk -v a="$(kv "$1" p50_us)" -v b="$(kv "$2" p50_us)" 'BEGIN{print (b+0<a+0)?b:a}')
    rps=$(awk -v a="$(kv "$1" rps)" -v b="$(kv "$2" rps)" 'BEGIN{print (b+0>a+0)?b:a}')
    echo "$1" | sed -e "s/ p50_us=[^ ]*/ p50_us=$p50/" -e "s/ rps=[^ ]*/ rps=$rps/"
}
if [ "$DAEMON_OK" = 1 ]; then
    # ---- row 1: sampling CPU per tick (+ row 3: query latency on the same daemon)
    log "drum-monitor: CPU per tick at ${INTERVAL_MS}ms for ${CPU_SECONDS}s"
    if start_daemon cpu --interval "${INTERVAL_MS}ms" --pid "$MASTER"; then
        CPU_PID=$DPID CPU_SOCK=$DSOCK
        # CAD_REPS windows of CPU_SECONDS on the running daemon, each followed by a same-cadence
        # floor run with the daemon paused: both rows are the best window, measured interleaved
        # (the host is shared), each alone.
        D_CPU_ALL="" FLOOR_CAD_ALL="$FLOOR_HELD_CAD"
        for rep in $(seq "$CAD_REPS"); do
            healthz "$CPU_SOCK" "$WORK/cpu.h1"
            s0=$(stat_cpu_ns "$CPU_PID") k0=$(sched_cpu_ns "$CPU_PID") t0=$(jget "$WORK/cpu.h1" ticks)
            thread_stats "$CPU_PID" >"$WORK/threads0"
            us0=$(stat_user_sys "$CPU_PID")
            sleep "$CPU_SECONDS"
            healthz "$CPU_SOCK" "$WORK/cpu.h2"
            s1=$(stat_cpu_ns "$CPU_PID") k1=$(sched_cpu_ns "$CPU_PID") t1=$(jget "$WORK/cpu.h2" ticks)
            thread_stats "$CPU_PID" >"$WORK/threads1"
            us1=$(stat_user_sys "$CPU_PID")
            ticks=$(( ${t1:-0} - ${t0:-0} ))
            if [ "$ticks" -lt 10 ]; then
                fail_row "sampling CPU" "only $ticks ticks in ${CPU_SECONDS}s (healthz: $(cat "$WORK/cpu.h2"))"
                break
            fi
            cpu_stat=$(awk -v a="$s0" -v b="$s1" -v n="$ticks" 'BEGIN{printf "%.1f", (b-a)/1000/n}')
            cpu_sched=$(awk -v a="$k0" -v b="$k1" -v n="$ticks" 'BEGIN{printf "%.1f", (b-a)/1000/n}')
            # stat is in clock ticks: resolution = 1e6/CLK_TCK us over the window's ticks
            res=$(awk -v n="$ticks" -v hz="$CLK_TCK" 'BEGIN{printf "%.1f", 1e6/hz/n}')
            # schedstat (ns) is precise but forgets threads that exited during the window; stat
            # keeps them but has clock-tick resolution. Use schedstat unless stat is clearly higher.
            if awk -v s="$cpu_stat" -v k="$cpu_sched" -v r="$res" 'BEGIN{exit !(s-k > 2*r)}'; then
                cpu=$cpu_stat src="/proc/PID/stat utime+stime (threads exited during the window; schedstat of live threads: $cpu_sched µs)"
            else
                cpu=$cpu_sched src="schedstat of all threads; /proc/PID/stat utime+stime: $cpu_stat µs (±$res)"
            fi
            D_CPU_ALL="$D_CPU_ALL $cpu"
            if [ -z "$D_CPU" ] || awk -v a="$cpu" -v b="$D_CPU" 'BEGIN{exit !(a<b)}'; then
                D_CPU=$cpu D_CPU_SRC=$src D_TICKS=$ticks
                D_USER_SYS=$(awk -v a="$us0" -v b="$us1" -v n="$ticks" -v hz="$CLK_TCK" 'BEGIN{split(a,x," "); split(b,y," "); printf "user %.0f µs + system %.0f µs", (y[1]-x[1])*1e6/hz/n, (y[2]-x[2])*1e6/hz/n}')
                # Per thread over the best window: CPU and times it was scheduled in, per tick.
                D_THREADS=$(join "$WORK/threads0" "$WORK/threads1" | awk -v n="$ticks" '
                    {c=($6-$3)/1000/n; w=($7-$4)/n; if (c>=0.5 || w>=0.05) {printf "%s%s %.1f µs, %.2f wakeups", sep, $2, c, w; sep="; "}; tw+=w}
                    END{printf "|%.2f", tw}')
            fi
            if [ "$rep" -lt "$CAD_REPS" ]; then
                # The floor runs alone: the daemon is paused (SIGSTOP) meanwhile. Beside a daemon
                # reading the same files at the same cadence the floor cost 10-30 % less (it often
                # woke just after the daemon and found what the kernel reads for those files warm),
                # which made the daemon's ratio to it look worse than it is.
                kill -STOP "$CPU_PID"
                for _ in $(seq 100); do all_stopped "$CPU_PID" && break; sleep 0.01; done
                paused_ns=$(sched_cpu_ns "$CPU_PID")
                c=$(kv "$("$FLOOR" --pid "$MASTER" --ticks "$CAD_TICKS" --interval-us "$INTERVAL_US")" cpu_us_per_tick)
                FLOOR_CAD_ALL="$FLOOR_CAD_ALL $c"
                awk -v a="$c" -v b="$FLOOR_HELD_CAD" 'BEGIN{exit !(a<b)}' && FLOOR_HELD_CAD=$c
                if [ -n "$FLOOR_DISPATCH" ]; then
                    c=$(floor_dispatch_run)
                    FLOOR_DISP_ALL="$FLOOR_DISP_ALL $c"
                    awk -v a="$c" -v b="$FLOOR_DISP_CAD" 'BEGIN{exit !(a<b)}' && FLOOR_DISP_CAD=$c
                fi
                [ "$(sched_cpu_ns "$CPU_PID")" = "$paused_ns" ] || fail_row "sampling CPU" "the daemon ran while the floor was measured (it should have been stopped)"
                kill -CONT "$CPU_PID"
                # The tick after the pause (one coalesced fire, a stall event) is not in the next window.
                sleep 1
            fi
        done
        D_RSS_10MS_KB=$(rss_kb "$CPU_PID")
        curl -s --max-time 5 --unix-socket "$CPU_SOCK" http://localhost/v1/snapshot -o "$WORK/snap.json"
        D_PROCS=$(jget "$WORK/snap.json" target.process_count)
        [ "$D_PROCS" = "$TREE_PROCS" ] || fail_row "target" "daemon reports process_count=${D_PROCS:-none}, tree has $TREE_PROCS (snapshot: $(head -c 300 "$WORK/snap.json"))"
        curl -s --max-time 5 --unix-socket "$CPU_SOCK" "http://localhost/v1/window?seconds=3600" -o "$WORK/win.json"
        D_WINDOW_SAMPLES=$(jget "$WORK/win.json" window.samples)

        # The same requests on this daemon at its ${INTERVAL_MS} ms cadence (answers rebuilt after every sample).
        log "drum-monitor: query latency at ${INTERVAL_MS} ms cadence (loadgen ${LOAD_SECONDS}s per run)"
        for path in "${QUERY_PATHS[@]}"; do
            for c in 1 16; do
                if L=$("$LOADGEN" "$CPU_SOCK" "$path" "$c" "$LOAD_SECONDS"); then
                    LG10["$path|$c"]=$L
                else
                    fail_row "query latency at ${INTERVAL_MS} ms, $path c=$c" "$L"
                fi
            done
        done
        stop_daemon "$CPU_PID" cpu
    else
        fail_row "sampling CPU / query latency" "daemon did not start (see above)"
    fi

    # ---- row 3 (issue 11 item 14): each endpoint against the stack floor serving a constant body
    # of the same size through the same bootstrap and connection pipeline (QueryServer
    # .startConstant), both with a timer at the default 1 s; alternating, QUERY_REPS runs each,
    # best p50 and best req/s of each.
    QF_SOCK=$WORK/query-floor.sock
    start_stack_floor query-floor || fail_row "constant-body floor" "no stack floor binary at $STACK_FLOOR_BIN"
    QF_PID=$FLOOR_PID
    if start_daemon query --pid "$MASTER"; then
        Q_PID=$DPID Q_SOCK=$DSOCK
        curl -s --max-time 5 --unix-socket "$Q_SOCK" "http://localhost/v1/window?seconds=3600" -o "$WORK/qwin.json"
        Q_WINDOW_SAMPLES=$(jget "$WORK/qwin.json" window.samples)
        log "drum-monitor: query latency against the constant-body floor (loadgen ${LOAD_SECONDS}s per run, $QUERY_REPS reps)"
        for path in "${QUERY_PATHS[@]}"; do
            QBYTES["$path"]=$(curl -s --max-time 5 --unix-socket "$Q_SOCK" "http://localhost$path" | wc -c)
            for c in 1 16; do
                for rep in $(seq "$QUERY_REPS"); do
                    if L=$("$LOADGEN" "$Q_SOCK" "$path" "$c" "$LOAD_SECONDS"); then
                        LG["$path|$c"]=$(best_run "${LG["$path|$c"]:-}" "$L")
                    else
                        fail_row "query latency $path c=$c" "$L"
                    fi
                    if [ -n "$QF_PID" ]; then
                        if L=$("$LOADGEN" "$QF_SOCK" "/${QBYTES["$path"]}" "$c" "$LOAD_SECONDS"); then
                            LGF["$path|$c"]=$(best_run "${LGF["$path|$c"]:-}" "$L")
                        else
                            fail_row "constant-body floor /${QBYTES["$path"]} c=$c" "$L"
                        fi
                    fi
                done
            done
        done
        stop_daemon "$Q_PID" query
    else
        fail_row "query latency" "daemon did not start (see above)"
    fi
    if [ -n "$QF_PID" ]; then kill -TERM "$QF_PID" 2>/dev/null; wait "$QF_PID" 2>/dev/null; fi

    # ---- row 2: RSS (two daemons side by side)
    log "drum-monitor: RSS (--retention 1h --interval 1s, and 1M samples) after ${RSS_SECONDS}s"
    R1_PID="" R2_PID=""
    if start_daemon rss1h --interval 1s --retention 1h --pid "$MASTER"; then R1_PID=$DPID R1_SOCK=$DSOCK; else fail_row "RSS 1h@1s" "daemon did not start"; fi
    if start_daemon rss1m --interval 10ms --retention 10000s --pid "$MASTER"; then R2_PID=$DPID R2_SOCK=$DSOCK; else fail_row "RSS 1M samples" "daemon did not start"; fi
    # The same libraries doing the least (Benchmarks/StackFloor): what drum-monitor's own code adds.
    SF_SOCK=$WORK/stack-floor.sock
    start_stack_floor stack-floor
    SF_PID=$FLOOR_PID
    if [ "$FILL_1M" = 1 ] && [ -n "$R2_PID" ]; then
        log "BENCH_FILL_1M=1: waiting until the 1M-sample ring is full (~10000 s)"
        while :; do
            healthz "$R2_SOCK" "$WORK/rss1m.h"
            [ "$(jget "$WORK/rss1m.h" ticks)" -ge 1000000 ] 2>/dev/null && break
            kill -0 "$R2_PID" 2>/dev/null || break
            sleep 60
        done
    else
        sleep "$RSS_SECONDS"
    fi
    if [ -n "$SF_PID" ]; then
        curl -s -o /dev/null --max-time 2 --unix-socket "$SF_SOCK" http://localhost/ || fail_row "stack floor" "did not answer"
        SF_RSS_KB=$(rss_kb "$SF_PID"); SF_ANON_KB=$(anon_kb "$SF_PID")
        rss_by_mapping "$SF_PID" >"$WORK/rss-floor.txt"
        kill -TERM "$SF_PID" 2>/dev/null; wait "$SF_PID" 2>/dev/null
    fi
    if [ -n "$R1_PID" ]; then
        # Every endpoint once first, so the code that answers queries is resident as in real use.
        for path in /v1/snapshot "/v1/window?seconds=3600" "/v1/samples?seconds=60" /stats/ /metrics /healthz; do
            curl -s -o /dev/null --max-time 5 --unix-socket "$R1_SOCK" "http://localhost$path" || fail_row "RSS 1h@1s" "$path did not answer"
        done
        D_RSS_1H_KB=$(rss_kb "$R1_PID"); D_HWM_1H_KB=$(hwm_kb "$R1_PID"); D_ANON_1H_KB=$(anon_kb "$R1_PID")
        rss_by_mapping "$R1_PID" >"$WORK/rss-daemon.txt"
        [ -s "$WORK/rss-floor.txt" ] && join -a1 -a2 -e0 -o 0,1.2,2.2 "$WORK/rss-daemon.txt" "$WORK/rss-floor.txt" |
            awk '{d=$2-$3; if (d>=16 || d<=-16) printf "%-28s %6d - %6d = %6d\n", $1, $2, $3, d}' | sort -k6 -rn >"$WORK/rss-diff.txt"
        healthz "$R1_SOCK" "$WORK/rss1h.h"; D_RSS_1H_TICKS=$(jget "$WORK/rss1h.h" ticks)
        stop_daemon "$R1_PID" rss1h
    fi
    if [ -n "$R2_PID" ]; then
        D_RSS_1M_KB=$(rss_kb "$R2_PID"); D_HWM_1M_KB=$(hwm_kb "$R2_PID"); D_ANON_1M_KB=$(anon_kb "$R2_PID")
        healthz "$R2_SOCK" "$WORK/rss1m.h"; D_RSS_1M_TICKS=$(jget "$WORK/rss1m.h" ticks)
        stop_daemon "$R2_PID" rss1m
    fi

    # ---- row 5: cadence at 100ms, idle and under loadgen
    log "drum-monitor: cadence at 100ms, idle ${CADENCE_SECONDS}s then under load ${CADENCE_SECONDS}s"
    for phase in idle load; do
        if start_daemon "cad$phase" --interval 100ms --pid "$MASTER"; then
            CP=$DPID CS=$DSOCK
            if [ "$phase" = load ]; then
                "$LOADGEN" "$CS" "/v1/window?seconds=3600" 16 "$CADENCE_SECONDS" >"$WORK/cadload.txt" 2>&1 \
                    || fail_row "cadence under load" "loadgen: $(cat "$WORK/cadload.txt")"
            else
                sleep "$CADENCE_SECONDS"
            fi
            healthz "$CS" "$WORK/cad$phase.json"
            stop_daemon "$CP" "cad$phase"
        else
            fail_row "cadence $phase" "daemon did not start"
        fi
    done
fi

# ---- row 4 HOOK: window query cost vs window length --------------------------------------
# >>> HOOK (lead): ${WINDOW_BENCH_BIN:-.build-static/release/drum-monitor-window-bench} is the
# >>> Swift executable the lead provides. Contract: it prints lines `samples=N ns_per_query=X`
# >>> (other lines are ignored), at least for N in 1, 1000, 100000, 1000000.
WB_OUT=""
if [ "$ONLY_BASELINES" = 1 ]; then
    WB_WHY="SKIPPED (BENCH_ONLY_BASELINES=1)"
elif [ ! -x "$WINDOW_BENCH_BIN" ]; then
    WB_WHY="FAILED: window bench binary not found/executable at $WINDOW_BENCH_BIN (set WINDOW_BENCH_BIN)"
    fail_row "window cost" "binary not found at $WINDOW_BENCH_BIN"
else
    log "window bench: $WINDOW_BENCH_BIN ${WINDOW_BENCH_ARGS:-}"
    # shellcheck disable=SC2086
    if WB_OUT=$("$WINDOW_BENCH_BIN" ${WINDOW_BENCH_ARGS:-} 2>"$WORK/wb.err") &&
        grep -q '^samples=[0-9]* ns_per_query=' <<<"$WB_OUT"; then
        WB_WHY=""
    else
        WB_WHY="FAILED: $WINDOW_BENCH_BIN produced no 'samples=N ns_per_query=X' lines"
        fail_row "window cost" "no samples= lines (stderr: $(tail -3 "$WORK/wb.err"))"
        WB_OUT=""
    fi
fi
# <<< HOOK end

# ---- issue 11 item 15: what a tick costs that the host's load cannot move, daemon against the
# Dispatch-driven floor, both under valgrind: user-space instructions (callgrind), and the cache
# lines touched (lackey), which after each sleep are cold; then what one cold line costs here.
# The CPU ratio of section 1 moves with the load; these explain it.
count_per_tick() { # OUT_VAR WHY_VAR SCRIPT NAME WHAT : runs SCRIPT DAEMON FLOOR MASTER WORKDIR
    local out why=""
    printf -v "$1" '%s' ""
    if [ "$ONLY_BASELINES" = 1 ] || [ "$DAEMON_OK" != 1 ]; then
        why=$( [ "$ONLY_BASELINES" = 1 ] && echo "SKIPPED (BENCH_ONLY_BASELINES=1)" || echo "$DAEMON_WHY")
    elif [ -z "$FLOOR_DISPATCH" ]; then
        why="no Dispatch-driven floor (see above)"
    else
        log "$5 (Benchmarks/$3)"
        if out=$("$BENCH_DIR/$3" "$BIN" "$FLOOR_DISPATCH" "$MASTER" "$WORK/$4" 2>"$WORK/$4.err"); then
            printf -v "$1" '%s' "$out"
        else
            why="FAILED: $3: $(tail -3 "$WORK/$4.err")"
            fail_row "$5" "$why"
        fi
    fi
    printf -v "$2" '%s' "$why"
}
count_per_tick INSTR_OUT INSTR_WHY instructions_per_tick.sh instructions "instructions per tick under callgrind, ~30 s"
count_per_tick LINES_OUT LINES_WHY lines_per_tick.sh lines "cache lines per tick under lackey, ~2.5 min"
COLD_OUT=""
if gcc -O2 -Wall -o "$WORK/bin/cold_lines" "$BENCH_DIR/cold_lines.c" 2>"$WORK/cold_lines.log"; then
    log "the cost of a cold cache line at a 10 ms cadence (Benchmarks/cold_lines.c, ~40 s)"
    : >"$WORK/cold.txt"
    for _ in 1 2 3; do # interleaved: none, 1000 lines of code, 1000 lines of data (one per page)
        for args in "0 0" "1000 0" "0 1000"; do
            echo "$args $(kv "$("$WORK/bin/cold_lines" $args 1000)" cpu_us_per_tick)" >>"$WORK/cold.txt"
        done
    done
    # Medians of the three runs each; ns per line = (with - without) µs per 1000 lines.
    med() { awk -v c="$1" -v d="$2" '$1 == c && $2 == d {print $3}' "$WORK/cold.txt" | sort -g | sed -n 2p; }
    C0=$(med 0 0) CC=$(med 1000 0) CD=$(med 0 1000)
    COLD_OUT="none=$C0 code=$CC data=$CD code_ns=$(awk -v a="$CC" -v b="$C0" 'BEGIN{printf "%.0f", a - b}') data_ns=$(awk -v a="$CD" -v b="$C0" 'BEGIN{printf "%.0f", a - b}')"
else
    fail_row "cold line cost" "building cold_lines.c failed: $(tail -3 "$WORK/cold_lines.log")"
fi

# ---- row 6 (issue 11 item 17): discovery without a target on a host of DISCOVERY_PROCESSES ----
DISC_OUT="" DISC_WHY=""
if [ "$ONLY_BASELINES" = 1 ] || [ "$DAEMON_OK" != 1 ]; then
    DISC_WHY=$( [ "$ONLY_BASELINES" = 1 ] && echo "SKIPPED (BENCH_ONLY_BASELINES=1)" || echo "$DAEMON_WHY")
else
    log "discovery without a target at ${DISCOVERY_PROCESSES:-1500} processes (Benchmarks/discovery_cost.sh, ~2.5 min)"
    DISC_OUT=$(DRUM_MONITOR_BIN="$BIN" "$BENCH_DIR/discovery_cost.sh" 2>"$WORK/discovery.err")
    rc=$?
    if [ "$rc" -gt 1 ] || ! grep -q 'discovering' <<<"$DISC_OUT"; then
        DISC_WHY="FAILED: discovery_cost.sh exited $rc: $(tail -3 "$WORK/discovery.err")"
        fail_row "discovery" "$DISC_WHY"
        DISC_OUT=""
    fi
fi

# ---- issue 13: the Python client (real DRUM gunicorn, ~1.5 min) --------------------------------
PYC_WHY=""
: >"$WORK/pyclient.md"
if [ "$ONLY_BASELINES" = 1 ] || [ "$DAEMON_OK" != 1 ]; then
    PYC_WHY=$( [ "$ONLY_BASELINES" = 1 ] && echo "SKIPPED (BENCH_ONLY_BASELINES=1)" || echo "$DAEMON_WHY")
elif [ "${BENCH_PYTHON_CLIENT:-1}" != 1 ]; then
    PYC_WHY="SKIPPED (BENCH_PYTHON_CLIENT=0)"
else
    log "the Python client against real DRUM (Benchmarks/python_client_bench.py, ~1.5 min)"
    if ! "$PY" "$BENCH_DIR/python_client_bench.py" --daemon "$BIN" >"$WORK/pyclient.md" 2>"$WORK/pyclient.err"; then
        PYC_WHY="FAILED: python_client_bench.py: $(tail -3 "$WORK/pyclient.err")"
        fail_row "python client" "$PYC_WHY"
    fi
fi

# ---------------------------------------------------------------- 6. report
CPU_MODEL=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
[ -n "$CPU_MODEL" ] || CPU_MODEL=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)
KERNEL=$(uname -sr)
CORES=$(nproc)
MEM_GIB=$(awk '/^MemTotal/{printf "%.1f", $2/1048576}' /proc/meminfo)
VIRT=$(systemd-detect-virt 2>/dev/null || echo unknown)
OS=$(. /etc/os-release 2>/dev/null; echo "${PRETTY_NAME:-unknown}")

cell() { # value-or-empty failure-text
    if [ -n "$1" ]; then echo "$1"; elif [ "$DAEMON_OK" = 1 ]; then echo "FAILED (see bench output)"; else echo "$DAEMON_WHY"; fi
}
yn() { if "$@"; then echo "**met**"; else echo "**NOT met**"; fi; }
mib() { awk -v k="$1" 'BEGIN{if(k==""||k!=k+0) print "n/a"; else printf "%.1f", k/1024}'; }

{
    echo "# drum-monitor benchmarks"
    echo
    if [ ${#FAILURES[@]} -gt 0 ] || [ "$DAEMON_OK" != 1 ]; then
        echo "> **INCOMPLETE RUN** -- drum-monitor rows were not measured or failed:"
        [ "$DAEMON_OK" != 1 ] && echo "> - $DAEMON_WHY"
        for f in "${FAILURES[@]:-}"; do [ -n "$f" ] && echo "> - $f"; done
        echo
    fi
    echo "Generated by \`Benchmarks/bench.sh\` (\`make bench\`) on $(date -u +%Y-%m-%dT%H:%M:%SZ)."
    echo
    echo "## Machine"
    echo
    echo "| | |"
    echo "|---|---|"
    echo "| CPU | $CPU_MODEL |"
    echo "| Cores | $CORES |"
    echo "| Memory | $MEM_GIB GiB |"
    echo "| Kernel | $KERNEL |"
    echo "| OS | $OS |"
    echo "| Virtualization | $VIRT |"
    echo "| Load average at start / end | $LOAD_START / $(cut -d' ' -f1-3 /proc/loadavg) (shared host: other work may add noise) |"
    echo "| Host processes | $HOST_PROCS |"
    echo "| Tools | gcc $GCC_VERSION, python $("$VENV/bin/python" -c 'import sys;print(sys.version.split()[0])'), psutil $PSUTIL_VERSION, process-exporter ${PE_VERSION:-n/a}, drum-monitor $( [ -x "$BIN" ] && echo "$BIN" || echo "absent") |"
    echo
    echo "## Workload"
    echo
    echo "\`Benchmarks/tree.py\`: DRUM-shaped tree, 1 master (\`python .../bin/drum server --address ...\`) + $((TREE_PROCS - 1)) forked workers"
    echo "($TREE_PROCS processes), each worker holding ~20 MB; cgroup v1 \`memory:/$TREE_CG\` (limit $(awk -v b="$TREE_LIMIT" 'BEGIN{printf "%.0f MiB", b/1048576}'),"
    echo "usage $(awk -v b="$TREE_USAGE" 'BEGIN{printf "%.0f MiB", b/1048576}') at start) and \`cpu\`/\`cpuacct:/$TREE_CG\`."
    echo "Per tick the floor does what drum-monitor does, $FLOOR_READS reads on average: per process \`/proc/P/stat\`; the root's"
    echo "\`/proc/P/task/P/children\` (deeper processes' when they appear and once a second; the root's cmdline once a second);"
    echo "memory.usage_in_bytes, max_usage_in_bytes, limit_in_bytes (leaf + each ancestor), memory.stat, oom_control, failcnt;"
    echo "cpuacct.usage, cpu.stat, cfs_quota_us, cfs_period_us; /proc/meminfo -- all parsed."
    echo
    echo "## 1. Sampling CPU per tick"
    echo
    echo "CPU time (user+sys) per sampling tick of the whole tree. \"Same cadence\" rows sleep ${INTERVAL_MS} ms between ticks like"
    echo "the daemon (cold caches + wakeup cost included); \"back to back\" rows loop without sleeping (warm caches)."
    echo
    echo "| Sampler | µs CPU / tick | drum-monitor ÷ this | notes |"
    echo "|---|---:|---:|---|"
    if [ -n "$SAMPLER_B2B" ]; then
        echo "| **drum-monitor sampler**, back to back (\`Sampler.tick\` + \`History.append\`) | **$(fmt "$SAMPLER_B2B")** | | best of $REPS x $FLOOR_TICKS ticks, interleaved with the floor runs (all: $SAMPLER_B2B_ALL); \`Benchmarks/SamplerBench\` |"
    else
        echo "| **drum-monitor sampler**, back to back | n/a | | $SAMPLER_WHY |"
    fi
    if [ -n "$D_CPU" ]; then
        echo "| **drum-monitor** serve --interval ${INTERVAL_MS}ms | **$D_CPU** | 1.00 | best of $CAD_REPS windows of ${CPU_SECONDS}s (all:$D_CPU_ALL), interleaved with the floor's same-cadence runs (each alone: the daemon is paused during them); best: $D_TICKS ticks, $D_CPU_SRC; startup CPU excluded; daemon sees ${D_PROCS:-?} procs |"
    else
        echo "| **drum-monitor** serve --interval ${INTERVAL_MS}ms | $(cell "") | | |"
    fi
    if [ -n "$FLOOR_DISP_CAD" ]; then
        echo "| floor, held fds + pread, on a DispatchSourceTimer at ${INTERVAL_MS} ms | $(fmt "$FLOOR_DISP_CAD") | $(ratio "$D_CPU" "$FLOOR_DISP_CAD") | best of ${CAD_TICKS}-tick runs interleaved with the daemon's windows, the daemon paused (all: $FLOOR_DISP_ALL); \`floor --dispatch\`: the timer set up like SamplingLoop's (serial user-initiated queue, same leeway), two threads woken per tick |"
    else
        echo "| floor, held fds + pread, on a DispatchSourceTimer | n/a | | building floor.c against libdispatch failed (see bench output) |"
    fi
    echo "| floor, held fds + pread, ${INTERVAL_MS} ms cadence | $(fmt "$FLOOR_HELD_CAD") | $(ratio "$D_CPU" "$FLOOR_HELD_CAD") | best of ${CAD_TICKS}-tick runs (all: ${FLOOR_CAD_ALL:-$FLOOR_HELD_CAD}); floor RSS $(mib "$FLOOR_RSS_KB") MiB |"
    echo "| floor, held fds + pread, back to back | $(fmt "$FLOOR_HELD") | $(ratio "$D_CPU" "$FLOOR_HELD") | $( [ -n "${FLOOR_B2B_ALL:-}" ] && echo "best of $REPS x $FLOOR_TICKS ticks interleaved with the sampler (all: $FLOOR_B2B_ALL)" || echo "median of $REPS x $FLOOR_TICKS ticks") |"
    echo "| floor, open/read/close, ${INTERVAL_MS} ms cadence | $(fmt "$FLOOR_REOPEN_CAD") | $(ratio "$D_CPU" "$FLOOR_REOPEN_CAD") | $CAD_TICKS ticks |"
    echo "| floor, open/read/close, back to back | $(fmt "$FLOOR_REOPEN") | $(ratio "$D_CPU" "$FLOOR_REOPEN") | median of $REPS x $FLOOR_TICKS ticks |"
    echo "| psutil (DRUM ResourceMonitor), ${INTERVAL_MS} ms cadence | $(fmt "$PSUTIL_CAD") | $(ratio "$D_CPU" "$PSUTIL_CAD" 3) | psutil $PSUTIL_VERSION; $((3000 / INTERVAL_MS)) calls |"
    echo "| psutil (DRUM ResourceMonitor), back to back | $(fmt "$PSUTIL_B2B") | $(ratio "$D_CPU" "$PSUTIL_B2B" 3) | 500 calls |"
    if [ -n "$PE_SCRAPE_US" ]; then
        echo "| prometheus-process-exporter (children on, threads/smaps off) | $(fmt "$PE_SCRAPE_US") | $(ratio "$D_CPU" "$PE_SCRAPE_US" 3) | $PE_NOTE |"
    else
        echo "| prometheus-process-exporter | n/a | | ${PE_NOTE:-not available} |"
    fi
    echo
    if [ -n "$SAMPLER_B2B" ]; then
        R_B2B_FLOOR=$(ratio "$SAMPLER_B2B" "$FLOOR_HELD")
        R_B2B_PSUTIL=$(ratio "$PSUTIL_B2B" "$SAMPLER_B2B" 1)
        echo "Targets, like for like (back to back, warm caches: the conditions of the ~40 µs floor and ~1.8 ms psutil figures):"
        echo "sampler ≤ 1.5× the held-fd floor: $R_B2B_FLOOR× → $(yn le "$R_B2B_FLOOR" 1.5);"
        echo "≥ 30× cheaper than psutil: $R_B2B_PSUTIL× → $(yn ge "$R_B2B_PSUTIL" 30)."
        echo
    fi
    if [ -n "$D_CPU" ]; then
        R_FLOOR=$(ratio "$D_CPU" "$FLOOR_HELD_CAD")
        R_PSUTIL=$(ratio "$PSUTIL_CAD" "$D_CPU" 1)
        R_DISP=$(ratio "$D_CPU" "$FLOOR_DISP_CAD")
        echo "The daemon as it runs against the same reads on the same kind of Dispatch timer (issue 11 item 15): ≤ 1.25× the"
        echo "Dispatch-driven floor: $R_DISP× → $(yn le "$R_DISP" 1.25). Per thread over the daemon's best window: ${D_THREADS%|*};"
        echo "threads scheduled in per tick, all together: ${D_THREADS##*|} (the floor: 2, its timer thread and its queue's worker)."
        if [ -n "$INSTR_OUT" ]; then
            echo "User-space instructions per tick, counted by callgrind (\`Benchmarks/instructions_per_tick.sh\`; the same count"
            echo "whatever the load): daemon $(kv "$INSTR_OUT" daemon_instr_per_tick) (over $(kv "$INSTR_OUT" daemon_ticks) ticks), Dispatch-driven floor"
            echo "$(kv "$INSTR_OUT" floor_instr_per_tick): $(ratio "$(kv "$INSTR_OUT" daemon_instr_per_tick)" "$(kv "$INSTR_OUT" floor_instr_per_tick)")×. Neither the kernel's share (the same reads) nor"
            echo "cache misses are in it: the CPU ratio above adds the daemon's larger code running cold after each sleep."
        else
            echo "User-space instructions per tick (callgrind): ${INSTR_WHY:-not measured}."
        fi
        if [ -n "$LINES_OUT" ]; then
            DL=$(( $(kv "$LINES_OUT" daemon_code_lines) + $(kv "$LINES_OUT" daemon_data_lines) ))
            FL=$(( $(kv "$LINES_OUT" floor_code_lines) + $(kv "$LINES_OUT" floor_data_lines) ))
            echo "Distinct cache lines one tick touches in user space, all threads (\`Benchmarks/lines_per_tick.sh\`, lackey; the same"
            echo "count whatever the load): daemon $(kv "$LINES_OUT" daemon_code_lines) of code + $(kv "$LINES_OUT" daemon_data_lines) of data = $DL"
            echo "($(kv "$LINES_OUT" daemon_code_pages) + $(kv "$LINES_OUT" daemon_data_pages) pages), Dispatch-driven floor $(kv "$LINES_OUT" floor_code_lines) + $(kv "$LINES_OUT" floor_data_lines) = $FL"
            echo "($(kv "$LINES_OUT" floor_code_pages) + $(kv "$LINES_OUT" floor_data_pages) pages): $(ratio "$DL" "$FL")×, $((DL - FL)) lines more."
        else
            echo "Cache lines per tick (lackey): ${LINES_WHY:-not measured}."
        fi
        if [ -n "$COLD_OUT" ]; then
            echo "After a 10 ms sleep each of those lines is cold. What one costs, measured in this run (\`Benchmarks/cold_lines.c\`:"
            echo "a loop on the same cadence touching 1000 lines more per tick): $(kv "$COLD_OUT" code_ns) ns a line of code, $(kv "$COLD_OUT" data_ns) ns a line of data"
            echo "(medians of 3; µs per tick touching none: $(kv "$COLD_OUT" none), 1000 of code: $(kv "$COLD_OUT" code), 1000 of data: $(kv "$COLD_OUT" data))."
            if [ -n "$LINES_OUT" ]; then
                echo "At those prices the daemon's extra lines come to ~$(awk -v c=$(( $(kv "$LINES_OUT" daemon_code_lines) - $(kv "$LINES_OUT" floor_code_lines) )) \
                    -v d=$(( $(kv "$LINES_OUT" daemon_data_lines) - $(kv "$LINES_OUT" floor_data_lines) )) -v pc="$(kv "$COLD_OUT" code_ns)" -v pd="$(kv "$COLD_OUT" data_ns)" \
                    'BEGIN{printf "%.0f", (c * pc + d * pd) / 1000}') µs a tick of user time, beside the instructions above."
            fi
        fi
        echo
        echo "The daemon as it runs (timer wakeups, dispatch threads, cold caches every tick) against the same-cadence rows:"
        echo "≤ 1.5× the same-cadence held-fd floor: $R_FLOOR× → $(yn le "$R_FLOOR" 1.5);"
        echo "≥ 30× cheaper than psutil at the same cadence: $R_PSUTIL× → $(yn ge "$R_PSUTIL" 30) (the C floor itself at this cadence: $(ratio "$PSUTIL_CAD" "$FLOOR_HELD_CAD" 1)×)."
        echo "(Against the back-to-back floor: $(ratio "$D_CPU" "$FLOOR_HELD")×; psutil back to back ÷ drum-monitor: $(ratio "$PSUTIL_B2B" "$D_CPU" 1)×.)"
    else
        echo "Targets (≤ 1.5× floor, ≥ 30× cheaper than psutil): not evaluated -- $(cell "")."
        echo "Baselines alone: psutil ÷ floor (held, same cadence) = $(ratio "$PSUTIL_CAD" "$FLOOR_HELD_CAD" 1)×; back to back = $(ratio "$PSUTIL_B2B" "$FLOOR_HELD" 1)×."
    fi
    echo
    echo "<details><summary>Floor cost per file kind (back to back, held fds, CLOCK_THREAD_CPUTIME_ID per read)</summary>"
    echo
    echo "| file | reads / tick | µs / read | µs / tick |"
    echo "|---|---:|---:|---:|"
    grep '^breakdown' "$WORK/floor-breakdown.txt" | while read -r l; do
        echo "| $(kv "$l" file) | $(kv "$l" reads_per_tick) | $(kv "$l" us_per_read) | $(kv "$l" us_per_tick) |"
    done
    echo
    echo "</details>"
    echo
    echo "## 2. Resident memory (VmRSS)"
    echo
    echo "| Process | VmRSS MiB | ÷ drum-monitor (1h@1s) | notes |"
    echo "|---|---:|---:|---|"
    echo "| **drum-monitor** --retention 1h --interval 1s | $(cell "$(mib "${D_RSS_1H_KB:-}" | grep -v n/a)") | 1.00 | after ${RSS_SECONDS}s, ${D_RSS_1H_TICKS:-?} samples held; VmHWM $(mib "${D_HWM_1H_KB:-}") MiB; private (RssAnon) $(mib "${D_ANON_1H_KB:-}") MiB |"
    if [ "$FILL_1M" = 1 ]; then FILLNOTE="ring filled (${D_RSS_1M_TICKS:-?} ticks)"; else FILLNOTE="**allocation only**: ${D_RSS_1M_TICKS:-?} of 1,000,000 samples held after ${RSS_SECONDS}s (filling takes 10000 s; BENCH_FILL_1M=1)"; fi
    echo "| **drum-monitor** --interval 10ms --retention 10000s (1M samples) | $(cell "$(mib "${D_RSS_1M_KB:-}" | grep -v n/a)") | $(ratio "${D_RSS_1M_KB:-}" "${D_RSS_1H_KB:-}") | $FILLNOTE; VmHWM $(mib "${D_HWM_1M_KB:-}") MiB; private (RssAnon) $(mib "${D_ANON_1M_KB:-}") MiB |"
    echo "| **drum-monitor** --interval ${INTERVAL_MS}ms (CPU run) | $(cell "$(mib "${D_RSS_10MS_KB:-}" | grep -v n/a)") | $(ratio "${D_RSS_10MS_KB:-}" "${D_RSS_1H_KB:-}") | after the ${CPU_SECONDS}s CPU run |"
    echo "| stack floor: ArgumentParser + the query server's pipeline (SwiftNIO) on a Unix socket + Dispatch timer + libsystemd, static Swift runtime, linked like the daemon | $(cell "$(mib "${SF_RSS_KB:-}" | grep -v n/a)") | $(ratio "${SF_RSS_KB:-}" "${D_RSS_1H_KB:-}") | \`Benchmarks/StackFloor\`: the daemon's libraries doing nothing else; private (RssAnon) $(mib "${SF_ANON_KB:-}") MiB |"
    echo "| floor (C) | $(mib "$FLOOR_RSS_KB") | $(ratio "$FLOOR_RSS_KB" "${D_RSS_1H_KB:-}") | |"
    echo "| psutil sampler (python + psutil) | $(mib "$PSUTIL_RSS_KB") | $(ratio "$PSUTIL_RSS_KB" "${D_RSS_1H_KB:-}") | |"
    if [ -n "$PE_RSS_KB" ]; then
        echo "| prometheus-process-exporter | $(mib "$PE_RSS_KB") | $(ratio "$PE_RSS_KB" "${D_RSS_1H_KB:-}") | after 200 scrapes |"
    fi
    echo
    R1_MIB=$(mib "${D_RSS_1H_KB:-}")
    SF_MIB=$(mib "${SF_RSS_KB:-}")
    LIMIT_MIB=$(awk -v f="$SF_MIB" 'BEGIN{if(f!=f+0) print "n/a"; else printf "%.1f", f+3}')
    A1_MIB=$(mib "${D_ANON_1H_KB:-}")
    echo "Targets (issue 11 item 16), with the 1-hour ring: VmRSS ≤ the stack floor + 3 MiB ($SF_MIB + 3 = $LIMIT_MIB MiB): ${R1_MIB} MiB"
    echo "(+$(awk -v a="$R1_MIB" -v b="$SF_MIB" 'BEGIN{if(a!=a+0||b!=b+0) print "n/a"; else printf "%.1f", a-b}') MiB) → $(yn le "$R1_MIB" "$LIMIT_MIB"); private (RssAnon) ≤ 3.5 MiB: $A1_MIB MiB → $(yn le "$A1_MIB" 3.5)."
    [ -s "$WORK/rss-diff.txt" ] && { echo; echo "Where the daemon's VmRSS exceeds the stack floor's (KiB resident per mapping, daemon − floor, largest first):"; echo; echo '```'; cat "$WORK/rss-diff.txt"; echo '```'; }
    echo
    echo "VmRSS also counts the clean, file-backed pages of the executable and of the shared libraries (libc,"
    echo "libstdc++, libsystemd and what it links) that the process has touched. Start-up (argument parsing by"
    echo "reflection, the configuration, the Swift runtime's metadata and conformance lookups, NIO's bootstrap)"
    echo "touches code all over the binary, and the kernel maps up to 64 KiB around each touched page"
    echo "(fault-around; \`madvise\` does not change it). Those pages are shared with the page cache and"
    echo "reclaimable. The 1-hour ring lives in the history file ($HIST_FS here, as /run is under systemd), mapped"
    echo "shared and populated at start (no page faults when sampling): in VmRSS (\`history-file\` above) but not"
    echo "in the private figure. The daemons run as installed, with the \`drum-monitor\` group the package creates$GROUP_NOTE."
    echo
    echo "## 3. Query latency (loadgen, HTTP/1.1 keep-alive over the Unix socket, ${LOAD_SECONDS}s per run)"
    echo
    echo "Daemon: default interval (1 s) and retention (1 h), watching the tree; the window query covered ${Q_WINDOW_SAMPLES:-?} samples"
    echo "(its cost does not depend on that: section 4). Floor: \`Benchmarks/StackFloor\` answering \`GET /N\` with a constant body of N bytes, the size of the endpoint's"
    echo "answer, through the daemon's own bootstrap, connection pipeline and reply writer (\`QueryServer.startConstant\`):"
    echo "the difference is what the endpoint's own work costs. Daemon and floor alternate, $QUERY_REPS runs each; best p50"
    echo "and best req/s of each. Targets (issue 11 item 14): p50 ≤ 1.25× and req/s ≥ 0.8× the floor's."
    echo
    echo "| Endpoint | conns | bytes | p50 µs | p99 µs | req/s | floor p50 µs | floor req/s | p50 ÷ floor | req/s ÷ floor | target |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    QUERY_ALL_MET=1
    for path in "${QUERY_PATHS[@]}"; do
        for c in 1 16; do
            L=${LG["$path|$c"]:-}
            F=${LGF["$path|$c"]:-}
            if [ -n "$L" ]; then
                rp=$(ratio "$(kv "$L" p50_us)" "$(kv "$F" p50_us)")
                rr=$(ratio "$(kv "$L" rps)" "$(kv "$F" rps)")
                if le "$rp" 1.25 && ge "$rr" 0.8; then v="**met**"; else v="**NOT met**"; QUERY_ALL_MET=0; fi
                echo "| drum-monitor \`$path\` | $c | ${QBYTES["$path"]:-?} | $(kv "$L" p50_us) | $(kv "$L" p99_us) | $(kv "$L" rps) | $(kv "$F" p50_us) | $(kv "$F" rps) | $rp | $rr | $v |"
            else
                QUERY_ALL_MET=0
                echo "| drum-monitor \`$path\` | $c | | $(cell "") | | | | | | | |"
            fi
        done
    done
    for L in "$LG_PY_1" "$LG_PY_16"; do
        echo "| reference: Python http.server \`/healthz\` (constant) | $(kv "$L" conns) | $(kv "$L" resp_bytes) | $(kv "$L" p50_us) | $(kv "$L" p99_us) | $(kv "$L" rps) | | | | | |"
    done
    echo
    echo "Against the constant-body floor, every endpoint and both connection counts: $(yn test "$QUERY_ALL_MET" = 1)."
    echo
    echo "The same requests on the ${INTERVAL_MS} ms daemon of section 1 (default retention; the window covered ${D_WINDOW_SAMPLES:-?} samples), one"
    echo "run each, against the same floor figures:"
    echo
    echo "| Endpoint | conns | p50 µs | p99 µs | req/s | p50 ÷ floor | req/s ÷ floor |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    for path in "${QUERY_PATHS[@]}"; do
        for c in 1 16; do
            L=${LG10["$path|$c"]:-}
            F=${LGF["$path|$c"]:-}
            if [ -n "$L" ]; then
                echo "| drum-monitor \`$path\` at ${INTERVAL_MS} ms | $c | $(kv "$L" p50_us) | $(kv "$L" p99_us) | $(kv "$L" rps) | $(ratio "$(kv "$L" p50_us)" "$(kv "$F" p50_us)") | $(ratio "$(kv "$L" rps)" "$(kv "$F" rps)") |"
            else
                echo "| drum-monitor \`$path\` at ${INTERVAL_MS} ms | $c | $(cell "") | | | | |"
            fi
        done
    done
    echo
    echo "(/v1/snapshot and /v1/window answers are built once per sample and reused by identical requests until the next"
    echo "sample or event: at ${INTERVAL_MS} ms, up to $((1000 / INTERVAL_MS)) builds a second; see Sources/QueryServer/AnswerCache.swift.)"
    if [ -n "${LG["/healthz|1"]:-}" ] && [ -n "${LG["/v1/window?seconds=3600|1"]:-}" ]; then
        W1=$(ratio "$(kv "${LG["/v1/window?seconds=3600|1"]}" p50_us)" "$(kv "${LG["/healthz|1"]}" p50_us)")
        W16=$(ratio "$(kv "${LG["/v1/window?seconds=3600|16"]:-}" p50_us)" "$(kv "${LG["/healthz|16"]:-}" p50_us)")
        echo "Window p50 ≤ 1.2× healthz p50 (issue 7): 1 conn $W1× → $(yn le "$W1" 1.2); 16 conns $W16× → $(yn le "$W16" 1.2)."
    fi
    echo
    echo "## 4. Window query cost vs window length"
    echo
    echo "From \`$WINDOW_BENCH_BIN\` (in-process, no HTTP)."
    echo
    echo "| samples in window | ns / query | ÷ 1-sample query |"
    echo "|---:|---:|---:|"
    if [ -n "$WB_OUT" ]; then
        BASE=$(grep -m1 '^samples=1 ' <<<"$WB_OUT" | sed 's/.*ns_per_query=\([^ ]*\).*/\1/')
        grep '^samples=[0-9]* ns_per_query=' <<<"$WB_OUT" | while read -r l; do
            echo "| $(kv "$l" samples) | $(kv "$l" ns_per_query) | $(ratio "$(kv "$l" ns_per_query)" "$BASE") |"
        done
    else
        for n in 1 1000 100000 1000000; do echo "| $n | $WB_WHY | |"; done
    fi
    if [ -n "$WB_OUT" ]; then
        # The history store (issue 15): ranges anywhere, its size, appends, adoption.
        echo
        echo "Wall-clock ranges (\`?from=&to=\`) on the full ring, by length and position; each ÷ the one-sample"
        echo "range at the same place, measured in the same rounds (target ≤ 3):"
        echo
        echo "| samples in range | at | ns / query | one-sample ns | ratio |"
        echo "|---:|---|---:|---:|---:|"
        grep '^range samples=' <<<"$WB_OUT" | while read -r l; do
            echo "| $(kv "$l" samples) | $(kv "$l" at) | $(kv "$l" ns_per_query) | $(kv "$l" one_sample_ns) | $(kv "$l" ratio) |"
        done
        W=$(grep -m1 '^range_worst_ratio=' <<<"$WB_OUT" | cut -d= -f2)
        B=$(grep -m1 '^bytes_per_sample=' <<<"$WB_OUT")
        A=$(grep -m1 '^append_ns=' <<<"$WB_OUT")
        D=$(grep -m1 '^adopt_ms=' <<<"$WB_OUT")
        echo
        echo "Worst range ÷ one-sample: ${W:-?} → $(yn le "${W:-99}" 3)."
        echo "Bytes per held sample (history file + private memory growth ÷ capacity): $(kv "$B" bytes_per_sample) (file $(kv "$B" file), private $(kv "$B" private)) for $(kv "$B" metrics) metrics → $(yn le "$(kv "$B" bytes_per_sample)" "$(kv "$B" target)") (target ≤ $(kv "$B" target): 160 for 16 metrics + 8 per metric added)."
        echo "Append on a full ring: $(kv "$A" append_ns) ns; the ring it replaced, same run: $(kv "$A" legacy_append_ns) ns; ratio $(kv "$A" ratio) → $(yn le "$(kv "$A" ratio)" 1)."
        echo "Start-up adopting a full file of $(kv "$D" samples) samples: $(kv "$D" adopt_ms) ms."
    fi
    echo
    echo "## 5. Cadence (--interval 100ms, /healthz after ${CADENCE_SECONDS}s)"
    echo
    echo "| Phase | ticks | late | missed | lateness p50 ms | p99 ms | max ms |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    for phase in idle load; do
        f=$WORK/cad$phase.json
        label="idle"
        [ "$phase" = load ] && label="under loadgen (16 conns on /v1/window?seconds=3600)"
        if [ -s "$f" ] && [ -n "$(jget "$f" ticks)" ]; then
            ms() { awk -v s="$(jget "$f" "lateness_seconds.$1")" 'BEGIN{if(s=="") print "n/a"; else printf "%.2f", s*1000}'; }
            echo "| $label | $(jget "$f" ticks) | $(jget "$f" late_ticks) | $(jget "$f" missed_ticks) | $(ms p50) | $(ms p99) | $(ms max) |"
        else
            echo "| $label | $(cell "") | | | | | |"
        fi
    done
    [ -s "$WORK/cadload.txt" ] && echo && echo "Load during the cadence run: \`$(head -1 "$WORK/cadload.txt")\`"
    echo
    echo "## 6. Discovery without a target (issue 11 item 17)"
    echo
    if [ -n "$DISC_OUT" ]; then
        DP=$(sed -n 's/.*discovering (nothing to find): *\([0-9.]*\) %.*/\1/p' <<<"$DISC_OUT")
        DA=$(sed -n 's/.*attached to a sleep (--pid): *\([0-9.]*\) %.*/\1/p' <<<"$DISC_OUT")
        echo "\`Benchmarks/discovery_cost.sh\`: in a fresh pid namespace with ${DISCOVERY_PROCESSES:-1500} \`sleep\` processes, the daemon without a"
        echo "target at its default 1 s interval (nothing to find), CPU over ${DISCOVERY_SECONDS:-60} s after a ${DISCOVERY_WARMUP:-10} s warm-up; the"
        echo "baseline, same run: the daemon attached to one of the sleeps (\`--pid\`, no discovery)."
        echo
        echo "| daemon | % of a core | ÷ attached |"
        echo "|---|---:|---:|"
        echo "| discovering, nothing to find | $DP | $(ratio "$DP" "$DA") |"
        echo "| attached (\`--pid\`), baseline | $DA | 1.00 |"
        echo
        echo "Target: ≤ 0.3 % of a core at 1,500 processes: $DP % → $(yn le "$DP" 0.3)."
        echo
        echo '```'
        echo "$DISC_OUT"
        echo '```'
    else
        echo "$DISC_WHY"
    fi
    echo
    if [ -s "$WORK/pyclient.md" ]; then
        # Its own section (## Python client ...), numbered like the others.
        sed '1s/^## /## 7. /' "$WORK/pyclient.md"
    else
        echo "## 7. Python client (issue 13)"
        echo
        echo "$PYC_WHY"
    fi
    echo
    echo "## loadgen self-test (Python http.server on a Unix socket)"
    echo
    echo '```'
    echo "$LG_PY_1"
    echo "$LG_PY_16"
    echo "$LG_PY_CH"
    echo '```'
} >"$WORK/report.md"
cp "$WORK/report.md" "$OUT"
log "wrote $OUT"

if [ "$ONLY_BASELINES" != 1 ] && { [ "$DAEMON_OK" != 1 ] || [ ${#FAILURES[@]} -gt 0 ]; }; then
    echo "bench: ***** INCOMPLETE: drum-monitor rows failed *****" >&2
    [ "$DAEMON_OK" != 1 ] && echo "bench:   - $DAEMON_WHY" >&2
    for f in "${FAILURES[@]:-}"; do [ -n "$f" ] && echo "bench:   - $f" >&2; done
    exit 1
fi
exit 0
