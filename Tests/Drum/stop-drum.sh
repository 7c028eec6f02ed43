#!/usr/bin/env bash
# Stop a DRUM process tree started by start-drum.sh (or any process tree), by pid only.
# Usage: Tests/Drum/stop-drum.sh PID
# Sends SIGTERM to PID and all its descendants, waits up to DRUM_STOP_TIMEOUT seconds
# (default 15) for all of them to exit, then SIGKILLs whatever is left.
# Also removes the /tmp/drum-xdg.* runtime dir that start-drum.sh created for it.
# Exit 0 when everything is gone (or PID was already gone), 1 otherwise.
set -uo pipefail

[[ $# -eq 1 && "$1" =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 PID" >&2; exit 2; }
ROOT="$1"
TIMEOUT="${DRUM_STOP_TIMEOUT:-15}"

# Print all descendants of $1 (recursively), from /proc/*/stat ppid fields.
descendants() {
    local root=$1
    awk -v root="$root" '
        { # stat: pid (comm) state ppid ... ; comm may contain spaces/parens
          line=$0; pid=line+0; sub(/^.*\) /, "", line); split(line, f, " "); ppid[pid]=f[2] }
        END {
          want[root]=1; changed=1
          while (changed) { changed=0
            for (p in ppid) if (!(p in want) && (ppid[p] in want)) { want[p]=1; changed=1 } }
          for (p in want) if (p != root) print p
        }' /proc/[0-9]*/stat 2>/dev/null
}

# starttime (field 22 of /proc/PID/stat, clock ticks since boot): guards against pid reuse.
starttime() { local s; s="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1; s="${s##*) }"; set -- $s; echo "${20}"; }
starttime_ppid() { local s; s="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1; s="${s##*) }"; set -- $s; echo "$2"; }
# alive PID [STARTTIME]: exists, is not a zombie, and (if given) has the same start time.
alive() {
    local st
    st="$(starttime "$1")" || return 1
    [[ -z "${2:-}" || "$st" == "$2" ]] || return 1
    ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

if ! alive "$ROOT"; then
    exit 0
fi
# Safety: never signal init, kernel threads (empty cmdline / children of kthreadd) or our own ancestors.
if (( ROOT <= 2 )) || [[ -z "$(tr -d '\0' < "/proc/$ROOT/cmdline" 2>/dev/null)" ]] || [[ "$(starttime_ppid "$ROOT")" == 2 ]]; then
    echo "stop-drum.sh: refusing to signal pid $ROOT (init or kernel thread)" >&2; exit 2
fi
a=$$
while (( a > 1 )); do
    if (( a == ROOT )); then echo "stop-drum.sh: refusing to signal pid $ROOT (ancestor of this script)" >&2; exit 2; fi
    a="$(starttime_ppid "$a")" || break
done
ROOT_ST="$(starttime "$ROOT")"

XDG="$(tr '\0' '\n' < "/proc/$ROOT/environ" 2>/dev/null | sed -n 's/^XDG_RUNTIME_DIR=//p' | head -1)"

declare -A seen=()
collect() {
    local p st
    for p in $(descendants "$ROOT"); do
        [[ -n "${seen[$p]:-}" ]] && continue
        st="$(starttime "$p")" && seen[$p]="$st"
    done
}
collect
kill -TERM "$ROOT" 2>/dev/null
for p in "${!seen[@]}"; do alive "$p" "${seen[$p]}" && kill -TERM "$p" 2>/dev/null; done

deadline=$(( $(date +%s) + TIMEOUT ))
while :; do
    alive "$ROOT" "$ROOT_ST" && collect
    left=()
    alive "$ROOT" "$ROOT_ST" && left+=("$ROOT")
    for p in "${!seen[@]}"; do alive "$p" "${seen[$p]}" && left+=("$p"); done
    (( ${#left[@]} == 0 )) && break
    if (( $(date +%s) >= deadline )); then
        echo "stop-drum.sh: still alive after ${TIMEOUT}s, sending SIGKILL to: ${left[*]}" >&2
        for p in "${left[@]}"; do kill -KILL "$p" 2>/dev/null; done
        sleep 0.5
        break
    fi
    sleep 0.2
done

# Reap-check.
rc=0
alive "$ROOT" "$ROOT_ST" && { echo "stop-drum.sh: pid $ROOT still alive" >&2; rc=1; }
for p in "${!seen[@]}"; do
    if alive "$p" "${seen[$p]}"; then echo "stop-drum.sh: pid $p still alive" >&2; rc=1; fi
done
if [[ "$XDG" == /tmp/drum-xdg.* && -d "$XDG" ]]; then rm -rf -- "$XDG"; fi
exit $rc
