#!/bin/bash
# Boot the test VM once and run a test directory inside it.
#
#   Tests/System/vm-run.sh DIR
#
# DIR's contents go on a second ext4 disk, mounted in the guest on /mnt/test; the
# guest runs `bash /mnt/test/run.sh` as root (a oneshot unit after
# multi-user.target), then powers off. Its output is read back from the disk
# (/result.txt) and printed. Exit status 0 only if run.sh exited 0 and printed
# no line starting with FAIL.
#
# Environment: DRUM_VM_TIMEOUT (seconds for the whole VM, default 1500),
# DRUM_VM_KEEP=1 keeps the work directory, DRUM_VM_IMAGE=dir skips vm-image.sh.
# Software emulation only (TCG): never KVM on this host class. Why these flags:
# - clearcpuid=cx16 (kernel command line): QEMU 7.2's TCG mis-emulates the
#   kernel's cmpxchg16b and kernel 6.12 crashes at boot; the guest CPU still has
#   CX16 because the static Swift runtime executes cmpxchg16b unconditionally
#   (with -cpu max,-cx16 the daemon dies of SIGILL in swift_task_create).
# - thread=single: with thread=multi the guest kernel oopsed (int3 in
#   __set_next_task_fair) when a CPUQuota= turned the CFS-bandwidth static key
#   on: TCG does not see live kernel text patching atomically across vCPU threads.
#   One host thread for both vCPUs is also kinder to a shared 2-core host.
# - -erms: TCG runs "rep stosb" a byte at a time; without ERMS the guest kernel
#   clears pages with rep stosq, ~10x faster (100 MiB allocated in ~0.1 s, not
#   ~1 s, which the interval-peak test needs); boot got ~40% faster too.
# - -mem-prealloc: guest RAM is touched once up front, not on first use.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
DIR=${1:?usage: vm-run.sh DIR}
[ -f "$DIR/run.sh" ] || { echo "vm-run: $DIR/run.sh not found" >&2; exit 2; }
TIMEOUT=${DRUM_VM_TIMEOUT:-1500}

IMG=${DRUM_VM_IMAGE:-$("$HERE/vm-image.sh")}
WORK=$(mktemp -d /var/tmp/drum-monitor-vm-run.XXXXXX)
cleanup() { if [ "${DRUM_VM_KEEP:-0}" = 1 ]; then echo "vm-run: kept $WORK"; else rm -rf "$WORK"; fi; }
trap cleanup EXIT

# Test disk: DIR plus the guest-side timeout (a minute less than ours, so the
# guest gets to write its result and journal before we pull the plug).
mkdir "$WORK/disk"
cp -a "$DIR/." "$WORK/disk/"
echo $((TIMEOUT > 180 ? TIMEOUT - 90 : TIMEOUT / 2)) >"$WORK/disk/.vm-timeout"
size_mb=$(($(du -sm "$WORK/disk" | cut -f1) * 2 + 128))
mke2fs -q -t ext4 -L drumtest -d "$WORK/disk" "$WORK/test.ext4" "${size_mb}M" >/dev/null
rm -rf "$WORK/disk"

qemu-img create -q -f qcow2 -F raw -b "$IMG/rootfs.ext4" "$WORK/root.qcow2"

echo "vm-run: booting $(basename "$IMG") with $DIR (timeout ${TIMEOUT}s)"
start=$(date +%s)
qrc=0
timeout --kill-after=10 "$TIMEOUT" qemu-system-x86_64 \
    -accel tcg,thread=single -cpu max,-erms -smp 2 -m 1024 -mem-prealloc \
    -kernel "$IMG/vmlinuz" -initrd "$IMG/initrd.img" \
    -append "root=/dev/vda rw console=ttyS0 panic=-1 quiet systemd.show_status=false clearcpuid=cx16" \
    -drive "file=$WORK/root.qcow2,if=virtio,format=qcow2" \
    -drive "file=$WORK/test.ext4,if=virtio,format=raw" \
    -device virtio-rng-pci -nic none \
    -display none -monitor none -serial "file:$WORK/console.log" \
    -no-reboot </dev/null || qrc=$?
elapsed=$(($(date +%s) - start))

get() { debugfs -R "cat /$1" "$WORK/test.ext4" 2>/dev/null; }
get result.txt >"$WORK/result.txt" || true
rc=$(get exit-code | tr -dc 0-9)
if [ ! -s "$WORK/result.txt" ]; then
    # Disk not readable (guest died before sync?): fall back to the console copy.
    sed -n '/===VM-RESULT-BEGIN===/,/===VM-RESULT-END/p' "$WORK/console.log" | sed '1d;$d' | tr -d '\r' >"$WORK/result.txt"
    [ -n "$rc" ] || rc=$(sed -n 's/.*===VM-RESULT-END rc=\([0-9]*\)===.*/\1/p' "$WORK/console.log" | tail -n1)
fi

echo "---------------- guest result ----------------"
cat "$WORK/result.txt"
echo "----------------------------------------------"
npass=$(grep -c '^PASS' "$WORK/result.txt" || true)
nfail=$(grep -c '^FAIL' "$WORK/result.txt" || true)
ok=1
[ "$qrc" = 0 ] || { echo "vm-run: qemu exited $qrc$([ "$qrc" = 124 ] && echo ' (timeout)')"; ok=0; }
[ "$rc" = 0 ] || { echo "vm-run: guest run.sh exit code: ${rc:-none (never finished)}"; ok=0; }
[ "$nfail" = 0 ] || ok=0
if [ "$ok" = 0 ]; then
    if get journal.txt >"$WORK/journal.txt" && [ -s "$WORK/journal.txt" ]; then
        echo "---------------- guest journal (last 150 lines; full: $WORK/journal.txt) ----"
        tail -n 150 "$WORK/journal.txt"
    else
        echo "---------------- guest console (last 150 lines) ----------------"
        tail -n 150 "$WORK/console.log" | tr -d '\r'
    fi
    DRUM_VM_KEEP=1
fi
echo "vm-run: ${npass} PASS, ${nfail} FAIL, guest exit ${rc:-none}, ${elapsed}s in the VM: $([ $ok = 1 ] && echo OK || echo FAILED)"
[ "$ok" = 1 ]
