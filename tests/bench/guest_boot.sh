#!/usr/bin/env bash
# Guest boot benchmark (not part of make check): writes $BUILD/bench/guest_boot.md.
#
# The guest image of tests/targets/guest/build.sh (MBR, syslinux, Debian's kernel, busybox
# initramfs) boots under qemu-system-x86_64 -accel tcg through SeaBIOS, no -kernel: the firmware
# and syslinux read the kernel (~8 MiB) and the initramfs (~1.7 MiB) from the disk with BIOS
# calls, then the kernel's virtio_blk driver takes over. Boot time = qemu start to the guest's
# "mpiscsi-guest: booted" console line (host time when the line arrived). Disks:
#   local file  the image copied to /dev/shm, -drive file=...,format=raw,if=virtio,cache=none
#   qemu-nbd    another copy in /dev/shm served by qemu-nbd on a Unix socket: the NBD hop alone
#   mpiscsi     the same image on a tgtd LU (backed by /dev/shm) over 2 NICs x 1 portal, exported
#               by mpiscsid: -drive file=nbd+unix:///disk0?socket=...,format=raw,if=virtio,cache=none
# BENCH_RUNS (3) runs each, in turn; median and best per disk and the ratios mpiscsi / local
# file and mpiscsi / qemu-nbd. "Before the kernel" is booted minus the kernel's own uptime (which the booted line
# reports): SeaBIOS, syslinux reading vmlinuz and initrd.gz with BIOS disk calls, and the
# kernel's self-decompression (CPU-bound under TCG, so sensitive to a busy host). The disk's
# share of it, "firmware + syslinux reads", is the time from the first to the last virtio read
# issued before the kernel's clock started, from qemu's trace (-trace virtio_blk_handle_read).
# Each boot runs no workload (rounds=0): it verifies the data partition and powers off; the
# time to power off is shown too.
#
# Environment: BUILD, BENCH_RUNS.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/tgt.sh
. tests/targets/guest/guest.sh
need_root
need_tool qemu-system-x86_64 qemu-system-x86
need_tool qemu-img qemu-utils
[[ -x $BUILD/bin/mpiscsid ]] || die "$BUILD/bin/mpiscsid not built (make all)"
RUNS=${BENCH_RUNS:-3}
[[ $RUNS =~ ^[0-9]+$ ]] && (( RUNS >= 1 && RUNS <= 20 )) || die "BENCH_RUNS must be 1..20"
OUT_DIR="$BUILD/bench"
OUT="$OUT_DIR/guest_boot.md"
mkdir -p "$OUT_DIR"
# consoles and logs kept in $BUILD/bench/guest_boot/
export E2E_LOGDIR="$OUT_DIR/guest_boot"
rm -rf "$E2E_LOGDIR"

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
guest_build
fixture_tmpdir
LOCAL=/dev/shm/mpi-guest-bench-$$.img
fixture_trap_add "rm -f '$LOCAL'"
cp --sparse=always "$GUEST_IMG" "$LOCAL"

# the control for the NBD hop: another copy served by qemu-nbd on a Unix socket (no iSCSI)
QLOCAL=/dev/shm/mpi-guest-bench-$$-qnbd.img
fixture_trap_add "rm -f '$QLOCAL'"
cp --sparse=always "$GUEST_IMG" "$QLOCAL"
need_tool qemu-nbd qemu-utils
fixture_bg QNBD "$FIX_LOGDIR/qemu-nbd.log" qemu-nbd -f raw -x disk0 -k "$FIX_DIR/qnbd.sock" --cache=none --persistent "$QLOCAL"
wait_for_socket "$FIX_DIR/qnbd.sock" 15 || die "qemu-nbd did not open $FIX_DIR/qnbd.sock"

start_cross_daemon 2 1 192
timeout 120 qemu-img convert -n -f raw -O raw "$GUEST_IMG" "$URI" || die "qemu-img convert onto $URI failed"

KINDS=(local qemu-nbd mpiscsi)
declare -A DRIVE=(
    [local]="file=$LOCAL,format=raw,if=virtio,cache=none"
    [qemu-nbd]="file=nbd+unix:///disk0?socket=$FIX_DIR/qnbd.sock,format=raw,if=virtio,cache=none"
    [mpiscsi]="file=$URI,format=raw,if=virtio,cache=none")
declare -A LABEL=(
    [local]="local file (/dev/shm) | \`file=IMG,format=raw,if=virtio,cache=none\`"
    [qemu-nbd]="the file through qemu-nbd (NBD, no iSCSI) | \`file=nbd+unix:///disk0?socket=SOCK,format=raw,if=virtio,cache=none\`"
    [mpiscsi]="mpiscsi, 2 paths (tgtd on /dev/shm) | \`file=nbd+unix:///disk0?socket=SOCK,format=raw,if=virtio,cache=none\`")
declare -A BOOT OFF LOADER READS READN
# one_boot KIND DRIVE I: boot once, record the booted and power-off times (s), and the part of
# "booted" before the kernel's clock started (see above)
one_boot() {
    local kind=$1 drive=$2 i=$3 name="${1//-/_}_$3" b o k t0v
    # qemu's trace of the virtio disk's reads (timestamp=on: each line starts PID@SECONDS:)
    guest_start "$name" "rounds=0" -drive "$drive" -trace virtio_blk_handle_read -D "$FIX_LOGDIR/$name.trace" -msg timestamp=on
    guest_wait "$name" 'mpiscsi-guest: booted' 300 || { _guest_tail "$name" 20; die "$name: no 'booted' line within 300 s"; }
    guest_wait_exit "$name" 120
    guest_check "$name"
    b=$(guest_line_ms "$name" 'mpiscsi-guest: booted')
    t0v="GUEST_T0_$name"
    o=$(awk -v t0="${!t0v}" '/reboot: Power down|mpiscsi-guest: powering off/ { t = $1 } END { if (t) print t - t0 }' \
        "$FIX_LOGDIR/$name.console.times")
    k=$(tr -d '\r' <"$(guest_console "$name")" | sed -n 's/.*mpiscsi-guest: booted .*, \([0-9]*\) ms since kernel start.*/\1/p' | head -n 1)
    [[ -n $b && -n $o && -n $k ]] || die "$name: no boot, kernel or power-off time in the console"
    LOADER[$kind]+="$(awk -v m="$((b - k))" 'BEGIN { printf "%.2f", m / 1000 }') "
    # reads issued before the kernel's clock started: first to last (s), count, MiB
    local r
    r=$(awk -v ks="$(( ${!t0v} + b - k ))" '
        /virtio_blk_handle_read/ { split($1, a, "@"); sub(/:.*/, "", a[2]); t = a[2] * 1000
            if (t < ks) { if (!n) f = t; l = t; n++; s += $NF } }
        END { printf "%.2f %d %.1f\n", (l - f) / 1000, n, s * 512 / 1048576 }' "$FIX_LOGDIR/$name.trace")
    read -r rs rn rm <<<"$r"
    (( rn > 0 )) || die "$name: no disk read before the kernel in qemu's trace ($FIX_LOGDIR/$name.trace)"
    READS[$kind]+="$rs "
    READN[$kind]="$rn reads, $rm MiB"
    BOOT[$kind]+="$(awk -v m="$b" 'BEGIN { printf "%.2f", m / 1000 }') "
    OFF[$kind]+="$(awk -v m="$o" 'BEGIN { printf "%.2f", m / 1000 }') "
    log "$name: booted after $b ms (kernel started after $((b - k)) ms; firmware+syslinux: $rn reads, $rm MiB in $rs s), powered off after $o ms"
}
for ((i = 1; i <= RUNS; i++)); do
    for kind in "${KINDS[@]}"; do one_boot "$kind" "${DRIVE[$kind]}" "$i"; done
done
daemon_alive || die "the daemon died"
stop_daemon

median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.2f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
minimum() { tr ' ' '\n' <<<"$1" | grep . | sort -g | head -n 1; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
declare -A MB MO ML MR NB
for kind in "${KINDS[@]}"; do
    MB[$kind]=$(median "${BOOT[$kind]}"); NB[$kind]=$(minimum "${BOOT[$kind]}")
    MO[$kind]=$(median "${OFF[$kind]}"); ML[$kind]=$(median "${LOADER[$kind]}"); MR[$kind]=$(median "${READS[$kind]}")
done
{
    echo "Command: \`make bench-guest\` (\`tests/bench/guest_boot.sh\`, BENCH_RUNS=$RUNS), $(date -u +%Y-%m-%d)."
    echo "qemu-system-x86_64 -nodefaults -machine q35 -accel tcg -cpu max -m $GUEST_MEM, SeaBIOS, syslinux,"
    echo "kernel $(cat "${KERNEL_CACHE:-${LIO_CACHE:-build/lio-cache}}/kernel.stamp" 2>/dev/null || echo '?'); booted = qemu start to the console line \"mpiscsi-guest: booted\"."
    echo
    echo "| disk | -drive | booted, runs (s) | booted, median (s) | booted, best (s) | of which before the kernel, median (s) | firmware + syslinux reads, median (s) | powered off, median (s) |"
    echo "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |"
    for kind in "${KINDS[@]}"; do
        echo "| ${LABEL[$kind]} | ${BOOT[$kind]% } | ${MB[$kind]} | ${NB[$kind]} | ${ML[$kind]} | ${MR[$kind]} | ${MO[$kind]} |"
    done
    echo
    echo "Ratio mpiscsi / local file: $(div "${MB[mpiscsi]}" "${MB[local]}") (booted, medians), $(div "${NB[mpiscsi]}" "${NB[local]}") (booted, best runs),"
    echo "$(div "${MO[mpiscsi]}" "${MO[local]}") (powered off, medians); $(div "${MR[mpiscsi]}" "${MR[local]}") for the firmware's and syslinux's reads alone"
    echo "(first to last read before the kernel: ${READN[mpiscsi]}). Ratio mpiscsi / qemu-nbd: $(div "${MB[mpiscsi]}" "${MB[qemu-nbd]}") (booted),"
    echo "$(div "${MR[mpiscsi]}" "${MR[qemu-nbd]}") (reads)."
    echo "Load average at the start: $LOAD0; at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
} | tee "$OUT"
echo "written to $OUT"
