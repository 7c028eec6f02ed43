#!/bin/sh
# Installs drum-monitor from the release tarball (`make dist`) on a host that is not Debian-based.
#
#   sudo ./install.sh              install under / (binary in /usr/local/bin, units in
#                                  /usr/local/lib/systemd/system); keeps an existing configuration
#   sudo ./install.sh --uninstall  remove what install.sh installed (configuration and group stay)
#   DESTDIR=/some/root ./install.sh  install into another root, without touching the running system
#
# Needs at run time: glibc >= 2.35, libsystemd.so.0, libyaml-0.so.2, libstdc++.so.6, libgcc_s.so.1.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=${DESTDIR:-}
cd "$here/root"

if [ "${1:-}" = --uninstall ]; then
    if [ -z "$root" ] && [ -d /run/systemd/system ]; then
        systemctl disable --now drum-monitor.socket drum-monitor.service 2>/dev/null || true
    fi
    find . -type f ! -path './etc/*' | while read -r f; do rm -f "$root/${f#./}"; done
    rm -rf "$root/usr/local/share/doc/drum-monitor"
    echo "removed; /etc/drum-monitor/ and the drum-monitor group are left in place"
else
    find . -type f | sort | while read -r f; do
        dest="$root/${f#./}"
        case "$f" in
        ./etc/*) if [ -e "$dest" ]; then echo "keeping existing $dest"; continue; fi ;;
        esac
        install -D -m "$(stat -c %a "$f")" "$f" "$dest"
    done
    if [ -z "$root" ]; then
        command -v systemd-sysusers >/dev/null && systemd-sysusers /usr/local/lib/sysusers.d/drum-monitor.conf
        if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
        echo "installed; start with: systemctl enable --now drum-monitor.socket"
    fi
fi
