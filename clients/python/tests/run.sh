#!/usr/bin/env bash
# The Python client's test tiers (make test-python runs them all):
#   unit     no daemon: pytest on each interpreter in PYCLIENT_PYTHONS (default 3.8 3.11 3.13),
#            mypy --strict with the oldest (target Python 3.8)
#   drum     real DRUM 1.18.1 (Tests/Drum/venv.sh) + the real daemon, DRUM_MONITOR_PATCH=1 (root)
#   fastapi  uvicorn --workers and gunicorn + uvicorn-worker + the real daemon (root)
# Usage: clients/python/tests/run.sh [unit] [drum] [fastapi]      (no argument: all three)
# Each venv is cached under /var/cache/drum-monitor and the package is reinstalled into it on
# every run, so a cached venv never tests stale code. The daemon binary comes from
# DRUM_MONITOR_BIN (default .build/debug/drum-monitor).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PKG="$(dirname "$HERE")"
REPO="$(cd "$PKG/../.." && pwd)"
PYTHONS="${PYCLIENT_PYTHONS:-3.8 3.11 3.13}"
TIERS=("$@")
[[ ${#TIERS[@]} -gt 0 ]] || TIERS=(unit drum fastapi)
export PIP_DISABLE_PIP_VERSION_CHECK=1
die() { echo "run.sh: error: $*" >&2; exit 1; }

# pythonX.Y: on PATH if it runs (pyenv shims exist but refuse versions not selected), else pyenv's.
find_python() {
    local v="$1" candidate
    for candidate in "python$v" "$(pyenv root 2>/dev/null)/versions/$v"*/bin/"python$v" "/usr/bin/python$v"; do
        if "$candidate" -c 'pass' >/dev/null 2>&1; then command -v "$candidate" || echo "$candidate"; return 0; fi
    done
    return 1
}

# Reinstall the package (no dependencies, no network, the in-tree build backend).
install_package() {
    "$1/bin/python" -m pip install --quiet --no-deps --force-reinstall --no-build-isolation --no-index "$PKG" \
        || die "cannot install $PKG into $1"
}

unit_venv() {
    local v="$1" python
    python="$(find_python "$v")" || return 1
    "$HERE/venv.sh" "unit-$v" "$python" "$HERE/requirements-unit.txt"
}

timed() {  # timed LABEL COMMAND...: runs it, prints how long it took
    local label="$1" start=$SECONDS; shift
    "$@"
    echo "python-client: $label passed in $((SECONDS - start)) s"
}

run_unit() {
    local v venv oldest=""
    for v in $PYTHONS; do
        if ! find_python "$v" >/dev/null; then
            echo "SKIP python-client unit tier on python $v: no python$v on PATH or in pyenv (set PYCLIENT_PYTHONS)"
            continue
        fi
        venv="$(unit_venv "$v")" || die "cannot build the unit venv for python $v"
        install_package "$venv"
        timed "unit tier, python $v" "$venv/bin/python" -m pytest -q -c "$HERE/pytest.ini" "$HERE/unit"
        [[ -n "$oldest" ]] || oldest="$venv"
    done
    [[ -n "$oldest" ]] || die "no interpreter of PYCLIENT_PYTHONS ($PYTHONS) found"
    (cd "$PKG" && timed "mypy --strict (python $("$oldest/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])'))" \
        "$oldest/bin/python" -m mypy)
}

real_tier_skip() {
    if [[ "$(id -u)" != 0 ]]; then echo "SKIP python-client $1 tier: needs root (real v1 memory cgroups)"; return 0; fi
    if [[ ! -e /sys/fs/cgroup/memory/cgroup.procs ]]; then
        echo "SKIP python-client $1 tier: no cgroup v1 memory hierarchy at /sys/fs/cgroup/memory"; return 0
    fi
    return 1
}

run_drum() {
    real_tier_skip "real DRUM" && return 0
    local drum_venv runner
    drum_venv="$("$REPO/Tests/Drum/venv.sh")" || die "cannot set up the DRUM venv (Tests/Drum/venv.sh)"
    # The hook goes where DRUM runs (inert without DRUM_MONITOR_PATCH=1); under the venv's lock.
    (flock -w 1800 9 || die "lock $drum_venv.lock"; install_package "$drum_venv") 9>"$drum_venv.lock"
    # pytest drives DRUM from outside (DRUM's venv has no pytest), with DRUM's interpreter version.
    runner="$(unit_venv 3.11)" || { echo "SKIP python-client real DRUM tier: no python3.11"; return 0; }
    install_package "$runner"
    DRUM_VENV="$drum_venv" timed "real DRUM tier" "$runner/bin/python" -m pytest -q -c "$HERE/pytest.ini" "$HERE/drum"
}

run_fastapi() {
    real_tier_skip "FastAPI" && return 0
    local python venv
    python="$(find_python 3.11)" || { echo "SKIP python-client FastAPI tier: no python3.11"; return 0; }
    venv="$("$HERE/venv.sh" fastapi-3.11 "$python" "$HERE/requirements-fastapi.txt")"
    install_package "$venv"
    timed "FastAPI tier" "$venv/bin/python" -m pytest -q -c "$HERE/pytest.ini" "$HERE/fastapi"
}

for tier in "${TIERS[@]}"; do
    case "$tier" in
        unit) run_unit ;;
        drum) run_drum ;;
        fastapi) run_fastapi ;;
        *) die "unknown tier '$tier' (unit, drum, fastapi)" ;;
    esac
done
