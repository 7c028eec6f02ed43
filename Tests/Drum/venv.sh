#!/usr/bin/env bash
# Idempotently create a cached virtualenv with datarobot-drum installed.
# Usage: Tests/Drum/venv.sh            -> prints the venv path on stdout
# Env:   DRUM_VENV     venv location (default /var/cache/drum-monitor/drum-venv)
#        DRUM_VERSION  datarobot-drum version (default 1.18.1)
#        PYTHON        interpreter used to create the venv (default python3)
set -euo pipefail

DRUM_VERSION="${DRUM_VERSION:-1.18.1}"
VENV="${DRUM_VENV:-/var/cache/drum-monitor/drum-venv}"
PYTHON="${PYTHON:-python3}"
STAMP="$VENV/.drum-monitor-stamp"
WANT="datarobot-drum==$DRUM_VERSION"

die() { echo "venv.sh: error: $*" >&2; exit 1; }

# Fast path: stamp present, matches the pinned version, and drum is runnable.
if [[ -f "$STAMP" ]] && [[ "$(cat "$STAMP")" == "$WANT" ]] && [[ -x "$VENV/bin/drum" ]] && [[ -x "$VENV/bin/python" ]]; then
    echo "$VENV"
    exit 0
fi

command -v "$PYTHON" >/dev/null 2>&1 || die "'$PYTHON' not found on PATH (set PYTHON=...)"

# Does this interpreter have a working venv+ensurepip? If not, try Debian's python3-venv.
if ! "$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1 && [[ $(id -u) -eq 0 ]]; then
        echo "venv.sh: '$PYTHON' lacks venv/ensurepip; installing python3-venv via apt" >&2
        apt-get -o DPkg::Lock::Timeout=600 install -y python3-venv >&2 \
            || die "apt-get install python3-venv failed"
        PYTHON=/usr/bin/python3
        "$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1 || die "python3 venv still unusable after installing python3-venv"
    else
        die "'$PYTHON' has no venv/ensurepip module and python3-venv cannot be installed (need root + apt-get)"
    fi
fi

# Serialise concurrent callers.
mkdir -p "$(dirname "$VENV")" || die "cannot create $(dirname "$VENV")"
exec 9>"$VENV.lock"
flock -w 1800 9 || die "timed out waiting for lock $VENV.lock"

# Re-check after acquiring the lock (another caller may have finished).
if [[ -f "$STAMP" ]] && [[ "$(cat "$STAMP")" == "$WANT" ]] && [[ -x "$VENV/bin/drum" ]]; then
    echo "$VENV"
    exit 0
fi

echo "venv.sh: building $VENV with $WANT (python: $("$PYTHON" -c 'import sys; print(sys.executable, sys.version.split()[0])'))" >&2
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV" >&2 || die "python -m venv $VENV failed"
export PIP_DISABLE_PIP_VERSION_CHECK=1
"$VENV/bin/python" -m pip install --quiet --upgrade pip >&2 || die "pip upgrade failed"
"$VENV/bin/python" -m pip install --quiet "$WANT" >&2 || die "pip install $WANT failed"
[[ -x "$VENV/bin/drum" ]] || die "$VENV/bin/drum missing after install"
"$VENV/bin/python" -c 'import datarobot_drum, gunicorn' >&2 || die "datarobot_drum/gunicorn not importable in $VENV"
echo "$WANT" > "$STAMP"
echo "$VENV"
