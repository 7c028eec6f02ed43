#!/bin/bash
# System test of drum-monitor in a real systemd VM (what `make system-test` runs).
#
#   Tests/System/system-test.sh DEB       boot the VM, install DEB there, run guest/test.py
#   Tests/System/system-test.sh --smoke   no package: only check the VM itself (kernel, cgroup v2, ...)
#
# The guest installs the package with apt (offline: the image holds its Depends, read from DEB
# here), then upgrades it to the same package under a newer version, removes and purges it.
# Needs root. The image is built once per recipe and package Depends and cached (see
# vm-image.sh); one run boots one fresh VM (software emulation: a few minutes). Exit status
# non-zero on any FAIL.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" = 0 ] || { echo "system-test: must run as root" >&2; exit 1; }
ARG=${1:?usage: system-test.sh DEB | --smoke}

T=$(mktemp -d /var/tmp/drum-monitor-system-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
cp -a "$HERE/guest/." "$T/"
if [ "$ARG" = --smoke ]; then
    touch "$T/env-only"
else
    [ -f "$ARG" ] || { echo "system-test: $ARG not found (make deb builds it)" >&2; exit 1; }
    cp "$ARG" "$T/drum-monitor.deb"
    # The upgrade: the same files under a newer version, so the guest runs a real upgrade's
    # maintainer scripts (restart, conffile handling).
    dpkg-deb -R "$ARG" "$T/upgrade"
    sed -i 's/^Version: .*/&+vmtest1/' "$T/upgrade/DEBIAN/control"
    dpkg-deb --root-owner-group -b "$T/upgrade" "$T/drum-monitor-upgrade.deb" >/dev/null
    rm -rf "$T/upgrade"
    # The VM has no network: its image carries the package's Depends (first of each alternative).
    DRUM_VM_EXTRA_PACKAGES=$(dpkg-deb -f "$ARG" Depends | tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/[[:space:]]//g' | grep -v '^$' | sort -u | tr '\n' ' ')
    export DRUM_VM_EXTRA_PACKAGES
fi
"$HERE/vm-run.sh" "$T"
