#!/bin/bash
# System test of drum-monitor in a real systemd VM (what `make system-test` runs).
#
#   Tests/System/system-test.sh           install into a stage dir, boot the VM, run guest/test.py
#   Tests/System/system-test.sh --smoke   no install: only check the VM itself (kernel, cgroup v2, ...)
#
# Needs root. The image is built once and cached (see vm-image.sh); one run boots
# one fresh VM (software emulation: a few minutes). Exit status non-zero on any FAIL.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
[ "$(id -u)" = 0 ] || { echo "system-test: must run as root" >&2; exit 1; }

T=$(mktemp -d /var/tmp/drum-monitor-system-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
cp -a "$HERE/guest/." "$T/"
if [ "${1:-}" = --smoke ]; then
    touch "$T/env-only"
else
    make -C "$REPO" install DESTDIR="$T/stage" PREFIX=/usr/local
fi
"$HERE/vm-run.sh" "$T"
