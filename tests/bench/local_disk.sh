#!/usr/bin/env bash
# Benchmark: the kernel NBD device (/dev/nbd0) vs fio's nbd engine on the socket export of the same disk, in the hostvm guest.
#
# One hostvm guest (tests/targets/hostvm, TCG, 1 vCPU) runs the host's mpiscsid with
# frontend = socket and frontend = nbd-device, 2 paths to tgtd on the host side. For each
# workload fio runs BENCH_RUNS times per front end, alternating, BENCH_SECONDS each:
#   /dev/nbd0:     --ioengine=libaio --direct=1 --filename=/dev/nbd0
#   socket export: --ioengine=nbd --uri=nbd+unix:///disk0?socket=/run/mpiscsi/nbd.sock
# Workloads: 4 KiB random read and random write (iodepth 16), 1 MiB sequential read and
# write (iodepth 4). Daemon CPU per I/O = (utime+stime of mpiscsid over the run, from
# /proc/PID/stat) / I/Os fio completed. Then the longest I/O stall on /dev/nbd0 (a 4 KiB
# O_DIRECT reader in the guest, longest gap between two completions) while the host takes
# NIC 1 down and, separately, silences path 2. Under TCG absolute numbers are meaningless:
# read the ratios (the table's last column is nbd0/socket).
#
# Environment: BUILD (default build), BENCH_SECONDS (default 6), BENCH_RUNS (default 3).
# Results: stdout and $BUILD/bench/local_disk.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/tgt.sh
. tests/targets/hostvm/hostvm.sh
need_root
need_tool fio fio
need_tool jq jq
[[ -x /usr/bin/python3 ]] || die "/usr/bin/python3 missing: install package python3"
fio --enghelp 2>/dev/null | grep -qx '[[:space:]]*nbd' || die "fio has no nbd engine (package fio built with libnbd)"
[[ -x $BUILD/bin/mpiscsid && -x $BUILD/bin/mpiscsiadm ]] || die "$BUILD/bin/mpiscsid not built (make all)"

SECS=${BENCH_SECONDS:-6}
RUNS=${BENCH_RUNS:-3}
[[ $SECS =~ ^[0-9]+$ && $SECS -ge 1 ]] || die "BENCH_SECONDS must be a positive integer"
[[ $RUNS =~ ^[0-9]+$ && $RUNS -ge 1 && $RUNS -le 20 ]] || die "BENCH_RUNS must be 1..20"
OUT="$BUILD/bench"
mkdir -p "$OUT"
OUT=$(realpath "$OUT")

hostvm_setup 2 64
SHARE=$(hostvm_share)
ADM=$(realpath "$BUILD/bin/mpiscsiadm")
URI="nbd+unix:///disk0?socket=$HOSTVM_NBD_SOCK"
g() { hostvm_cmd "$@"; }
hostvm_conf "$SHARE/bench.conf" "frontend = socket
frontend = nbd-device:/dev/nbd0"
hostvm_daemon_start "$SHARE/bench.conf"
g "test \"\$(cat /sys/block/nbd0/backend 2>/dev/null)\" != ''" || die "/dev/nbd0 not attached: $(tail -n 5 "$HOSTVM_DAEMON_LOG")"
HOSTVM_CMD_TIMEOUT=600 g 'dd if=/dev/urandom of=/dev/nbd0 bs=1M count=64 oflag=direct status=none' || die "warm-up write failed"

# run_fio FRONT WORKLOAD: prints "iops cpu_us_per_io"
run_fio() {
    local front=$1 wl=$2 target rw bs qd
    case $wl in
    randread) rw=randread bs=4k qd=16 ;;
    randwrite) rw=randwrite bs=4k qd=16 ;;
    seqread) rw=read bs=1M qd=4 ;;
    seqwrite) rw=write bs=1M qd=4 ;;
    esac
    if [[ $front == nbd0 ]]; then
        target="--ioengine=libaio --direct=1 --filename=/dev/nbd0"
    else
        target="--ioengine=nbd --uri=$URI"
    fi
    HOSTVM_CMD_TIMEOUT=$((SECS + 60)) g "t0=\$(awk '{print \$14+\$15}' /proc/$HOSTVM_DAEMON_PID/stat)
        fio --name=b $target --rw=$rw --bs=$bs --iodepth=$qd --size=64M --time_based --runtime=$SECS \
            --output-format=json --output=/mnt/share/fio.json >/dev/null || exit 1
        t1=\$(awk '{print \$14+\$15}' /proc/$HOSTVM_DAEMON_PID/stat)
        echo \$((t1 - t0)) \$(getconf CLK_TCK) >/mnt/share/cpu" || die "fio $front $wl failed"
    local ios iops ticks hz
    ios=$(jq '[.jobs[0].read.total_ios, .jobs[0].write.total_ios] | add' "$SHARE/fio.json")
    iops=$(jq '[.jobs[0].read.iops, .jobs[0].write.iops] | add | floor' "$SHARE/fio.json")
    read -r ticks hz <"$SHARE/cpu"
    (( ios > 0 )) || die "fio $front $wl did no I/O"
    echo "$iops $(( ticks * 1000000 / hz / ios ))"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

{
    echo "fio in the hostvm guest (TCG, 1 vCPU), $SECS s per run, median of $RUNS, 2 paths to tgtd"
    echo
    echo "| workload | socket export (fio nbd engine) IOPS | /dev/nbd0 (libaio, direct) IOPS | nbd0/socket | daemon CPU us/IO socket | daemon CPU us/IO nbd0 | nbd0/socket |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
} >"$OUT/local_disk.md"
for wl in randread randwrite seqread seqwrite; do
    s_iops=() s_cpu=() k_iops=() k_cpu=()
    for ((r = 0; r < RUNS; r++)); do
        read -r i c < <(run_fio socket "$wl"); s_iops+=("$i"); s_cpu+=("$c")
        read -r i c < <(run_fio nbd0 "$wl"); k_iops+=("$i"); k_cpu+=("$c")
    done
    si=$(printf '%s\n' "${s_iops[@]}" | median) ki=$(printf '%s\n' "${k_iops[@]}" | median)
    sc=$(printf '%s\n' "${s_cpu[@]}" | median) kc=$(printf '%s\n' "${k_cpu[@]}" | median)
    printf '| %s | %d | %d | %s | %d | %d | %s |\n' "$wl" "$si" "$ki" \
        "$(awk -v a="$ki" -v b="$si" 'BEGIN {printf "%.2f", b ? a / b : 0}')" "$sc" "$kc" \
        "$(awk -v a="$kc" -v b="$sc" 'BEGIN {printf "%.2f", b ? a / b : 0}')" >>"$OUT/local_disk.md"
    log "$wl: socket $si IOPS ${sc} us/IO, nbd0 $ki IOPS ${kc} us/IO"
done

# ---- longest stall on /dev/nbd0 through a fault
cat >"$SHARE/stall.py" <<'EOF'
import mmap, os, random, sys, time
# 4 KiB O_DIRECT reads of /dev/nbd0 until /mnt/share/stall.stop exists (at most 300 s); prints
# the longest gap between two completions in ms and the number of reads
fd = os.open("/dev/nbd0", os.O_RDONLY | os.O_DIRECT)
buf = mmap.mmap(-1, 4096)
blocks = os.lseek(fd, 0, os.SEEK_END) // 4096
last = start = time.monotonic()
worst = n = 0
while not os.path.exists("/mnt/share/stall.stop") and time.monotonic() - start < 300:
    os.preadv(fd, [buf], random.randrange(blocks) * 4096)
    now = time.monotonic()
    worst = max(worst, now - last)
    last = now
    n += 1
print("%d %d" % (worst * 1000, n))
EOF
path_states() { g "$ADM -s /run/mpiscsi/control.sock --json show paths" | jq -r '.paths[] | "\(.name)=\(.state)"' | sort | tr '\n' ' '; }
path_up() { [[ " $(path_states)" =~ [\ \>]198\.18\.$1\.2:3260=up\  ]]; }
stall() {   # stall FAULT_ON FAULT_OFF K: prints the longest gap in ms
    rm -f "$SHARE/stall.stop" "$SHARE/stall.out"
    g "setsid python3 /mnt/share/stall.py </dev/null >/mnt/share/stall.out 2>&1 &" || die "stall reader did not start"
    hostvm_cmd 'sleep 2'
    "$1" "$3"
    wait_until 30 eval "! path_up $3" || die "path $3 not seen down"
    hostvm_cmd 'sleep 3'
    "$2" "$3"
    wait_until 60 path_up "$3" || die "path $3 not back"
    touch "$SHARE/stall.stop"
    wait_until 30 test -s "$SHARE/stall.out" || die "stall reader did not finish"
    read -r ms n <"$SHARE/stall.out"
    (( n > 0 )) || die "stall reader: $(cat "$SHARE/stall.out")"
    echo "$ms"
}
nic=$(stall hostvm_nic_down hostvm_nic_up 1)
silent=$(stall hostvm_silent_on hostvm_silent_off 2)
{
    echo
    echo "Longest gap between two 4 KiB O_DIRECT reads of /dev/nbd0 (one at a time): NIC 1 down $nic ms, path 2 silent $silent ms"
    echo "(goals as on the socket export: <= 100 ms and <= 2 s; TCG guest)"
} >>"$OUT/local_disk.md"
hostvm_daemon_stop
cat "$OUT/local_disk.md"
