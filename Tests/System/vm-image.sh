#!/bin/bash
# Build (or reuse) the Debian bookworm VM image used by the system tests.
#
#   Tests/System/vm-image.sh        -> prints the image directory on stdout
#   DRUM_VM_EXTRA_PACKAGES="a b" Tests/System/vm-image.sh   the same with more packages
#
# The image directory holds: vmlinuz, initrd.img, rootfs.ext4 (raw, 1 GiB, never
# written to: every run boots a fresh qcow2 overlay of it).
# It is cached in $DRUM_VM_CACHE (default /var/cache/drum-monitor-vm), keyed by a
# hash of this script (which contains the package list and the guest runner), so
# a rerun with an unchanged recipe costs nothing.
#
# Needs root (mmdebstrap in root mode); installs its host tools with apt-get.
# The Debian mirror is the one the host's apt sources use (or $DRUM_VM_MIRROR).
set -euo pipefail

CACHE=${DRUM_VM_CACHE:-/var/cache/drum-monitor-vm}
SUITE=bookworm
# Kernel 6.12 (bookworm-backports) for per-file-descriptor memory.peak reset.
# python3 (not just python3-minimal): the guest test needs json and http.client; passwd: useradd.
# DRUM_VM_EXTRA_PACKAGES: the drum-monitor package's Depends (system-test.sh reads them from the
# .deb): the guest has no network, so `apt install ./drum-monitor_*.deb` must find them installed.
PACKAGES="systemd systemd-sysv udev dbus kmod procps python3 passwd linux-image-cloud-amd64/$SUITE-backports ${DRUM_VM_EXTRA_PACKAGES:-}"
PACKAGES=$(echo $PACKAGES)  # one space between names: part of the cache key

log() { echo "vm-image: $*" >&2; }

[ "$(id -u)" = 0 ] || { log "must run as root"; exit 1; }

ensure_host_tools() {
    local missing=()
    command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
    command -v mke2fs >/dev/null && command -v debugfs >/dev/null || missing+=(e2fsprogs)
    command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
    command -v qemu-img >/dev/null || missing+=(qemu-utils)
    [ ${#missing[@]} = 0 ] && return
    log "installing host tools: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# First URI of the host's apt sources that serves the "$SUITE" suite
# (one-line .list and deb822 .sources formats).
host_mirror() {
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -r "$f" ] || continue
        sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" |
            awk -v s="$SUITE" '$1 == "deb" && $3 == s { print $2; exit }'
    done
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -r "$f" ] || continue
        awk -v s="$SUITE" '
            function flush() { if (deb && hit && uri != "") { print uri; exit } deb = hit = 0; uri = "" }
            /^[ \t]*#/ { next }
            /^[ \t]*$/ { flush(); next }
            tolower($1) == "types:"  { for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1 }
            tolower($1) == "uris:"   { uri = $2 }
            tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == s) hit = 1 }
            END { flush() }' "$f"
    done
}

ensure_host_tools

KEY=$(cat "$0" <(echo "$PACKAGES") | sha256sum | cut -c1-16)
OUT=$CACHE/$KEY
if [ -f "$OUT/ok" ]; then
    log "cached image $OUT"
    echo "$OUT"
    exit 0
fi

MIRROR=${DRUM_VM_MIRROR:-$(host_mirror | head -n1)}
[ -n "$MIRROR" ] || { log "no '$SUITE' source found in /etc/apt/sources.list*; set DRUM_VM_MIRROR"; exit 1; }
log "building image $OUT from $MIRROR (takes about a minute or two)"

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9  # one build at a time; another may just have finished ours
if [ -f "$OUT/ok" ]; then echo "$OUT"; exit 0; fi
BUILD=$(mktemp -d "$CACHE/build.XXXXXX")
trap 'rm -rf "$BUILD"' EXIT
ROOT=$BUILD/root
start=$(date +%s)

# The guest side of vm-run.sh: mount the test disk (/dev/vdb) on /mnt/test, run
# /mnt/test/run.sh as root once the system is up, leave result.txt, exit-code and
# journal.txt on the test disk, echo the result on the console, power off.
RUNNER='#!/bin/bash
T=/mnt/test
limit=$(cat $T/.vm-timeout 2>/dev/null || echo 1200)
echo "vm-test: running $T/run.sh (timeout ${limit}s)" >/dev/ttyS0
cd $T && timeout --kill-after=10 "$limit" bash $T/run.sh >$T/result.txt 2>&1
rc=$?
echo "$rc" >$T/exit-code
journalctl -b --no-pager -o short-monotonic >$T/journal.txt 2>&1
{ echo "===VM-RESULT-BEGIN==="; cat $T/result.txt; echo "===VM-RESULT-END rc=$rc==="; } >/dev/ttyS0
sync
exit 0'
UNIT='[Unit]
Description=Run the test on /mnt/test, then power off
After=multi-user.target
RequiresMountsFor=/mnt/test
SuccessAction=poweroff
FailureAction=poweroff

[Service]
Type=oneshot
ExecStart=/usr/local/libexec/vm-test-runner
TimeoutStartSec=infinity

[Install]
WantedBy=multi-user.target'

# shellcheck disable=SC2086
mmdebstrap --variant=minbase --include="${PACKAGES// /,}" \
    --customize-hook='echo drumvm >"$1/etc/hostname"' \
    --customize-hook='printf "/dev/vda / ext4 rw,errors=remount-ro 0 1\n/dev/vdb /mnt/test ext4 rw,nofail 0 0\n" >"$1/etc/fstab"' \
    --customize-hook='mkdir -p "$1/mnt/test" "$1/usr/local/libexec"' \
    --customize-hook="cat >\"\$1/usr/local/libexec/vm-test-runner\" <<'EOF'
$RUNNER
EOF" \
    --customize-hook='chmod 755 "$1/usr/local/libexec/vm-test-runner"' \
    --customize-hook="cat >\"\$1/etc/systemd/system/vm-test.service\" <<'EOF'
$UNIT
EOF" \
    --customize-hook='chroot "$1" systemctl enable vm-test.service' \
    --customize-hook='chroot "$1" systemctl mask serial-getty@ttyS0.service getty@tty1.service apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer' \
    --customize-hook='chroot "$1" passwd -d root' \
    --customize-hook='rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/*_Packages' \
    "$SUITE" "$ROOT" \
    "deb $MIRROR $SUITE main" "deb $MIRROR $SUITE-backports main" >&2

kver=$(ls "$ROOT"/boot/ | sed -n 's/^vmlinuz-//p' | sort -V | tail -n1)
cp "$ROOT/boot/vmlinuz-$kver" "$BUILD/vmlinuz"
cp "$ROOT/boot/initrd.img-$kver" "$BUILD/initrd.img"
mke2fs -q -t ext4 -L drumroot -d "$ROOT" "$BUILD/rootfs.ext4" 1G >&2
rm -rf "$ROOT"
echo "$PACKAGES" >"$BUILD/packages"
touch "$BUILD/ok"
trap - EXIT
rm -rf "$OUT"
mv "$BUILD" "$OUT"
for old in "$CACHE"/*/; do  # images of older recipes (1 GiB each)
    [ "${old%/}" = "$OUT" ] || rm -rf "${old%/}"
done
log "built $OUT in $(($(date +%s) - start))s"
echo "$OUT"
