#!/bin/sh
# /init of the boot-test guest (busybox sh). The firmware and extlinux/syslinux loaded the kernel
# and this initramfs from partition 1 of the virtio disk; partition 2 (ext4, "data") is the
# workload's file area.
#
# On every boot: print "mpiscsi-guest: booted", mount /dev/vda2, verify every file set written by
# earlier boots (one VERIFY line per set), then run the workload in rounds: write random files,
# record their SHA-256 sums, sync, drop the page cache, read them back and check the sums; one
# ROUND line per round. At the end: the kernel log's I/O errors (KERNEL lines), one RESULT line
# (PASS or FAIL), unmount, power off.
#
# Settings (QEMU -fw_cfg name=opt/org.mpiscsi/NAME,string=VALUE; defaults in brackets):
#   rounds      N rounds, or "until-stop": until a line "stop" arrives on the second serial port
#               (/dev/ttyS1) or max_seconds pass  [3]
#   round_kib   KiB written and verified per round, in 8 files (8..40960)  [2048]
#   max_seconds upper bound of the workload, in seconds  [600]
# Every console line of this script starts with "mpiscsi-guest: ".

PATH=/bin:/sbin
export PATH
P="mpiscsi-guest:"
say() { echo "$P $*"; }

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /run /data
mount -t tmpfs tmpfs /run

# uptime in ms (busybox date has no %N)
now_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }

for m in $(cat /lib/modules/order); do
    insmod "/lib/modules/$m.ko" 2>/dev/null || say "insmod $m failed"
done
say "booted (kernel $(uname -r), $(now_ms) ms since kernel start)"

fail=0
end() {
    # kernel log lines about failed I/O (the dmesg patterns of the test's brief)
    n=0
    dmesg | grep -i 'i/o error\|blk_update_request\|buffer i/o\|ext4-fs error' >/run/kerr || true
    while read -r l; do say "KERNEL: $l"; n=$((n + 1)); done </run/kerr
    [ "$n" -eq 0 ] || fail=1
    umount /data 2>/dev/null
    sync
    if [ "$fail" -eq 0 ]; then say "RESULT PASS $*"; else say "RESULT FAIL $* (kernel I/O errors: $n)"; fi
    say "powering off"
    poweroff -f
    sleep 10
}

setting() {
    f=/sys/firmware/qemu_fw_cfg/by_name/opt/org.mpiscsi/$1/raw
    if [ -r "$f" ]; then cat "$f"; else echo "$2"; fi
}
ROUNDS=$(setting rounds 3)
ROUND_KIB=$(setting round_kib 2048)
MAX_S=$(setting max_seconds 600)
say "settings: rounds=$ROUNDS round_kib=$ROUND_KIB max_seconds=$MAX_S"

# the disk's partitions appear asynchronously once virtio_blk has probed: bounded wait
i=0
while [ ! -b /dev/vda2 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -b /dev/vda2 ] || { fail=1; say "no /dev/vda2"; ls /dev >/run/devs; end "no disk"; }
if ! mount -t ext4 /dev/vda2 /data; then fail=1; end "cannot mount /dev/vda2"; fi

# ---------------------------------------------------------------- verify earlier boots
boot=$(( $(cat /data/bootcount 2>/dev/null || echo 0) + 1 ))
echo "$boot" >/data/bootcount
sync
say "boot $boot"
sets=0 bad=0
for d in /data/b*/s*; do
    [ -f "$d/SUMS" ] || continue
    sets=$((sets + 1))
    if (cd "$d" && sha256sum -c -s SUMS); then say "VERIFY ${d#/data/} OK"
    else say "VERIFY ${d#/data/} FAILED"; bad=$((bad + 1)); fi
done
say "verified $sets earlier set(s), $bad failed"
[ $bad -eq 0 ] || fail=1
# keep this boot's and the previous boot's sets only (the partition is small)
for d in /data/b*; do
    [ -d "$d" ] || continue
    n=${d#/data/b}
    [ "$n" -ge $((boot - 1)) ] || rm -rf "$d"
done

# ---------------------------------------------------------------- control channel
if [ "$ROUNDS" = until-stop ]; then
    # a line "stop" on ttyS1 ends the workload after the current round
    (
        stty -echo 2>/dev/null
        while read -r line; do
            [ "$line" = stop ] && : >/run/stop
        done
    ) </dev/ttyS1 &
fi

# ---------------------------------------------------------------- workload
# a round writes into one of SLOTS set folders in turn; SLOTS keeps two boots' sets within
# ~80 MiB of the ~95 MiB partition
SLOTS=$((40960 / ROUND_KIB)); [ $SLOTS -le 6 ] || SLOTS=6; [ $SLOTS -ge 1 ] || SLOTS=1
FILE_KIB=$((ROUND_KIB / 8))
t_end=$(( $(now_ms) + MAX_S * 1000 ))
r=0 written=0
while :; do
    if [ "$ROUNDS" = until-stop ]; then
        [ -e /run/stop ] && break
    else
        [ $r -lt "$ROUNDS" ] || break
    fi
    [ "$(now_ms)" -lt $t_end ] || { say "max_seconds reached"; break; }
    r=$((r + 1))
    d=/data/b$boot/s$(( (r - 1) % SLOTS ))
    t0=$(now_ms)
    rm -rf "$d"; mkdir -p "$d"
    ok=1
    for i in 1 2 3 4 5 6 7 8; do
        dd if=/dev/urandom of="$d/f$i" bs=1024 count=$FILE_KIB 2>/dev/null || ok=0
    done
    (cd "$d" && sha256sum f1 f2 f3 f4 f5 f6 f7 f8 >SUMS.tmp && sync && mv SUMS.tmp SUMS) || ok=0
    sync || ok=0
    t1=$(now_ms)
    # read back from the disk, not from the page cache
    echo 3 >/proc/sys/vm/drop_caches
    (cd "$d" && sha256sum -c -s SUMS) || ok=0
    t2=$(now_ms)
    if [ $ok -eq 1 ]; then
        written=$((written + 1))
        say "ROUND $r PASS (${d#/data/}, $ROUND_KIB KiB, write+sync $((t1 - t0)) ms, verify $((t2 - t1)) ms)"
    else
        fail=1
        say "ROUND $r FAIL (${d#/data/})"
    fi
done
nsets=$r; [ $nsets -le $SLOTS ] || nsets=$SLOTS
say "workload: $r round(s), $written passed; boot $boot leaves $nsets set(s)"
[ $written -eq $r ] || fail=1
end "boot=$boot rounds=$r verified_sets=$sets"
