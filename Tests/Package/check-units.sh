#!/bin/bash
# Tests/Package/check-units.sh — the template units are the single-instance units with the
# instance's paths: their hardening and settings cannot drift apart. Derives each template from
# its single-instance unit and compares (comments aside).
set -euo pipefail
cd "$(dirname "$0")/../../systemd"
strip() { grep -v '^[[:space:]]*#' | grep -v '^[[:space:]]*$'; }
template() {
    sed -e 's|^Description=.*|Description=|' \
        -e 's|drum-monitor\.socket|drum-monitor@%i.socket|g' \
        -e 's|--config /etc/drum-monitor/drum-monitor\.yaml$|--config /etc/drum-monitor/%i.yaml --socket /run/drum-monitor/%i.sock|' \
        -e 's|^ListenStream=/run/drum-monitor/drum-monitor\.sock$|ListenStream=/run/drum-monitor/%i.sock|'
}
rc=0
out=$(mktemp)
for kind in service socket; do
    if diff -u <(template <"drum-monitor.$kind" | strip) <(sed 's|^Description=.*|Description=|' "drum-monitor@.$kind" | strip) \
        >"$out"; then
        echo "PASS units.template-matches drum-monitor@.$kind"
    else
        echo "FAIL units.template-matches drum-monitor@.$kind: differs from drum-monitor.$kind beyond the instance's paths:"
        sed "s/^/    /" "$out"
        rc=1
    fi
done
rm -f "$out"
exit $rc
