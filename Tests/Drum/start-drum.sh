#!/usr/bin/env bash
# Start a real DRUM server (datarobot-drum) in the background.
#
# Usage: Tests/Drum/start-drum.sh MODE WORKERS PORT [extra drum server args...]
#   MODE     werkzeug | gunicorn   (sets MLOPS_RUNTIME_PARAM_DRUM_SERVER_TYPE)
#   WORKERS  N >= 1                (sets MAX_WORKERS=N; gunicorn: N workers,
#                                   werkzeug: --max-workers N = forking server)
#   PORT     TCP port on 127.0.0.1
# stdout: exactly one line, the pid of the started `drum` process (in gunicorn mode the
#         same pid later execs in place into `python -m gunicorn ...`).
# stderr: progress, incl. "drum log: PATH" and "drum XDG_RUNTIME_DIR: PATH".
# Returns 0 once http://127.0.0.1:PORT/ answers; on failure (port busy, process died,
# timeout) prints the log to stderr, stops the process tree and exits 1.
# Env: DRUM_VENV (venv dir, created via venv.sh if missing), DRUM_MODEL_DIR (default
#      Tests/Drum/model), DRUM_START_TIMEOUT (seconds, default 60), DRUM_LOG_DIR (default /tmp).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
die() { echo "start-drum.sh: error: $*" >&2; exit 1; }

[[ $# -ge 3 ]] || die "usage: $0 werkzeug|gunicorn WORKERS PORT [extra drum args...]"
MODE="$1"; WORKERS="$2"; PORT="$3"; shift 3
case "$MODE" in werkzeug|gunicorn) ;; *) die "MODE must be werkzeug or gunicorn, got '$MODE'";; esac
[[ "$WORKERS" =~ ^[1-9][0-9]*$ ]] || die "WORKERS must be a positive integer, got '$WORKERS'"
[[ "$PORT" =~ ^[1-9][0-9]*$ && "$PORT" -le 65535 ]] || die "PORT must be 1..65535, got '$PORT'"
TIMEOUT="${DRUM_START_TIMEOUT:-60}"
MODEL_DIR="${DRUM_MODEL_DIR:-$HERE/model}"
[[ -f "$MODEL_DIR/custom.py" ]] || die "no custom.py in $MODEL_DIR"

VENV="$("$HERE/venv.sh")" || die "venv.sh failed"
DRUM="$VENV/bin/drum"
[[ -x "$DRUM" ]] || die "$DRUM not executable"

URL="http://127.0.0.1:$PORT/"
# Refuse to start if something already listens there (a stale server would fake readiness).
if curl -s -o /dev/null --max-time 2 "$URL" 2>/dev/null; then
    die "something already answers on $URL"
fi
if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
    die "port $PORT on 127.0.0.1 is already in use"
fi

LOG_DIR="${DRUM_LOG_DIR:-/tmp}"
mkdir -p "$LOG_DIR"
LOG="$(mktemp "$LOG_DIR/drum-$MODE-$PORT.XXXXXX.log")"
XDG="$(mktemp -d /tmp/drum-xdg.XXXXXX)"
chmod 700 "$XDG"
echo "drum log: $LOG" >&2
echo "drum XDG_RUNTIME_DIR: $XDG" >&2

# setsid: own session/process group, detached from the caller's terminal signals.
# (The background child is not a group leader, so setsid execs in place: $! is drum's pid.)
env \
    XDG_RUNTIME_DIR="$XDG" \
    MAX_WORKERS="$WORKERS" \
    MLOPS_RUNTIME_PARAM_DRUM_SERVER_TYPE="{\"type\":\"string\",\"payload\":\"$MODE\"}" \
    PYTHONUNBUFFERED=1 \
    setsid "$DRUM" server \
        --code-dir "$MODEL_DIR" \
        --address "127.0.0.1:$PORT" \
        --target-type unstructured \
        "$@" \
    </dev/null >"$LOG" 2>&1 &
PID=$!

fail() {
    echo "start-drum.sh: error: $*" >&2
    echo "----- $LOG (last ${DRUM_LOG_TAIL:-150} lines) -----" >&2
    tail -n "${DRUM_LOG_TAIL:-150}" "$LOG" >&2 || true
    echo "----- end of log -----" >&2
    "$HERE/stop-drum.sh" "$PID" >&2 || true
    exit 1
}

deadline=$(( $(date +%s) + TIMEOUT ))
while :; do
    if ! kill -0 "$PID" 2>/dev/null; then
        wait "$PID" 2>/dev/null && rc=0 || rc=$?
        fail "drum (pid $PID) exited with status $rc before answering on $URL"
    fi
    # Connection refused = not bound yet. gunicorn binds before its workers are up and the
    # connection then waits in the backlog, so allow the request up to the remaining time.
    left=$(( deadline - $(date +%s) )); (( left < 1 )) && left=1
    if curl -s -o /dev/null --connect-timeout 1 --max-time "$left" "$URL" 2>/dev/null; then
        break
    fi
    if (( $(date +%s) >= deadline )); then
        fail "drum (pid $PID) did not answer on $URL within ${TIMEOUT}s"
    fi
    sleep 0.2
done
echo "drum $MODE (workers=$WORKERS) ready on $URL, pid $PID" >&2
echo "$PID"
