#!/usr/bin/env bash
# Idempotently create the cached virtualenv of the schema tier (Tests/Schema/check_api.py).
# Usage: Tests/Schema/venv.sh   -> prints the venv path on stdout
# Env:   SCHEMA_VENV  venv location (default /var/cache/drum-monitor/schema-venv, or under
#                     ~/.cache when /var/cache/drum-monitor is not writable)
#        PYTHON       interpreter used to create the venv (default python3)
# The venv is rebuilt when requirements.txt or the interpreter changes (the stamp holds both).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
REQUIREMENTS="$here/requirements.txt"
PYTHON="${PYTHON:-python3}"
if [[ -z "${SCHEMA_VENV:-}" ]]; then
    if mkdir -p /var/cache/drum-monitor 2>/dev/null && [[ -w /var/cache/drum-monitor ]]; then
        SCHEMA_VENV=/var/cache/drum-monitor/schema-venv
    else
        SCHEMA_VENV="${XDG_CACHE_HOME:-$HOME/.cache}/drum-monitor/schema-venv"
    fi
fi
VENV="$SCHEMA_VENV"
STAMP="$VENV/.drum-monitor-stamp"

die() { echo "schema venv.sh: error: $*" >&2; exit 1; }

command -v "$PYTHON" >/dev/null 2>&1 || die "'$PYTHON' not found on PATH (set PYTHON=...)"
WANT="$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1) $("$PYTHON" -c 'import sys; print(sys.executable, sys.version.split()[0])')"
fresh() { [[ -f "$STAMP" ]] && [[ "$(cat "$STAMP")" == "$WANT" ]] && [[ -x "$VENV/bin/python" ]]; }

if fresh; then echo "$VENV"; exit 0; fi

# Does this interpreter have a working venv+ensurepip? If not, try Debian's python3-venv.
if ! "$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1 && [[ $(id -u) -eq 0 ]]; then
        echo "schema venv.sh: '$PYTHON' lacks venv/ensurepip; installing python3-venv via apt" >&2
        apt-get -o DPkg::Lock::Timeout=600 install -y python3-venv >&2 || die "apt-get install python3-venv failed"
        PYTHON=/usr/bin/python3
        "$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1 || die "python3 venv still unusable after installing python3-venv"
        WANT="$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1) $("$PYTHON" -c 'import sys; print(sys.executable, sys.version.split()[0])')"
    else
        die "'$PYTHON' has no venv/ensurepip module and python3-venv cannot be installed (need root + apt-get)"
    fi
fi

# Serialise concurrent callers; re-check once the lock is held.
mkdir -p "$(dirname "$VENV")" || die "cannot create $(dirname "$VENV")"
exec 9>"$VENV.lock"
flock -w 1800 9 || die "timed out waiting for lock $VENV.lock"
if fresh; then echo "$VENV"; exit 0; fi

echo "schema venv.sh: building $VENV from $REQUIREMENTS" >&2
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV" >&2 || die "python -m venv $VENV failed"
export PIP_DISABLE_PIP_VERSION_CHECK=1
"$VENV/bin/python" -m pip install --quiet --no-deps -r "$REQUIREMENTS" >&2 || die "pip install -r $REQUIREMENTS failed"
"$VENV/bin/python" -m pip check >&2 || die "requirements.txt is not a complete set (pip check); regenerate it with pip freeze"
"$VENV/bin/python" -c 'import openapi_spec_validator, openapi_schema_validator, yaml' >&2 || die "validators not importable in $VENV"
echo "$WANT" > "$STAMP"
echo "$VENV"
