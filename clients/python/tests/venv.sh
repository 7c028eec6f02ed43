#!/usr/bin/env bash
# Idempotently create a cached test virtualenv; prints its path on stdout.
# Usage: clients/python/tests/venv.sh NAME PYTHON REQUIREMENTS_FILE
#   NAME      e.g. unit-3.11 (the venv is $PYCLIENT_VENV_ROOT/pyclient-NAME)
#   PYTHON    the interpreter to build it with
# The stamp holds the requirement file's content and the interpreter's version, so a changed
# requirement set rebuilds it; a lock serialises concurrent callers (as Tests/Drum/venv.sh).
# The package under test is not installed here: run.sh reinstalls it on every run.
set -euo pipefail
[[ $# -eq 3 ]] || { echo "usage: $0 NAME PYTHON REQUIREMENTS_FILE" >&2; exit 2; }
NAME="$1"; PYTHON="$2"; REQS="$3"
ROOT="${PYCLIENT_VENV_ROOT:-/var/cache/drum-monitor}"
VENV="$ROOT/pyclient-$NAME"
STAMP="$VENV/.pyclient-stamp"
die() { echo "venv.sh: error: $*" >&2; exit 1; }

[[ -r "$REQS" ]] || die "cannot read $REQS"
version="$("$PYTHON" -c 'import sys; print(sys.version.split()[0])' 2>/dev/null)" || die "cannot run $PYTHON"
want="python $version"$'\n'"$(cat "$REQS")"
fresh() { [[ -f "$STAMP" ]] && [[ "$(cat "$STAMP")" == "$want" ]] && [[ -x "$VENV/bin/python" ]]; }

if fresh; then echo "$VENV"; exit 0; fi
mkdir -p "$ROOT" || die "cannot create $ROOT"
exec 9>"$VENV.lock"
flock -w 1800 9 || die "timed out waiting for lock $VENV.lock"
if fresh; then echo "$VENV"; exit 0; fi

echo "venv.sh: building $VENV (python $version) from $REQS" >&2
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV" >&2 || die "python -m venv $VENV failed"
export PIP_DISABLE_PIP_VERSION_CHECK=1
"$VENV/bin/python" -m pip install --quiet --upgrade pip >&2 || die "pip upgrade failed"
"$VENV/bin/python" -m pip install --quiet -r "$REQS" >&2 || die "pip install -r $REQS failed"
printf '%s' "$want" > "$STAMP"
echo "$VENV"
