#!/usr/bin/env bash
# Benchmark: fio (nbd engine) via mpiscsid vs via qemu-nbd (iscsi driver), and iscsi-perf direct, on one tgtd LU.
#
# Environment: BUILD (default build), BENCH_SECONDS (per run, default 10), BENCH_SIZE_MB
# (LU size, default 1024), BENCH_BRIDGES (default "mpiscsi qemu-nbd"; drop one to measure
# only the other, the table then says n/a), BENCH_SEQ_DEPTH (iodepth of the 1 MiB runs,
# default 4; the 4 KiB runs use 16). Results: stdout and $BUILD/bench/results.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/tgt.sh
need_root
need_tool fio fio
need_tool qemu-nbd qemu-utils
need_tool iscsi-perf libiscsi-bin
compgen -G '/usr/lib/*/qemu/block-iscsi.so' >/dev/null || die "qemu iSCSI driver missing: install package qemu-block-extra"
[[ -x /usr/bin/python3 ]] || die "/usr/bin/python3 missing: install package python3"

SECS=${BENCH_SECONDS:-10}
SIZE_MB=${BENCH_SIZE_MB:-1024}
SEQ_DEPTH=${BENCH_SEQ_DEPTH:-4}
BRIDGES=${BENCH_BRIDGES:-mpiscsi qemu-nbd}
OUT="$BUILD/bench"
mkdir -p "$OUT"
OUT=$(realpath "$OUT")
[[ $SECS =~ ^[0-9]+$ && $SECS -ge 1 ]] || die "BENCH_SECONDS must be a positive integer"
if [[ " $BRIDGES " == *" mpiscsi "* ]]; then
    [[ -x $BUILD/bin/mpiscsid ]] || die "$BUILD/bin/mpiscsid not built (make all), or set BENCH_BRIDGES=qemu-nbd"
fi
[[ ${E2E_BRIDGE:-mpiscsid} == mpiscsid ]] || die "unset E2E_BRIDGE: the benchmark must measure the real daemon"

tgt_setup 1 "$SIZE_MB"
URL=$(tgt_url 1)
TICK=$(getconf CLK_TCK)

log "warm-up: writing the whole ${SIZE_MB} MiB LU once (backing file on /dev/shm)"
dd if=/dev/urandom of="$TGT_BACKING" bs=1M count="$SIZE_MB" conv=notrunc,fsync status=none

declare -A PID SOCKU
if [[ " $BRIDGES " == *" mpiscsi "* ]]; then
    start_daemon "$FIX_DIR/mpiscsi.sock" "$URL"
    PID[mpiscsi]=$DAEMON_PID
    SOCKU[mpiscsi]=$(nbd_uri "$FIX_DIR/mpiscsi.sock")
fi
if [[ " $BRIDGES " == *" qemu-nbd "* ]]; then
    QSOCK="$FIX_DIR/qemu-nbd.sock"
    fixture_bg QNBD "$FIX_DIR/qemu-nbd.log" ip netns exec "$INI_NS" qemu-nbd --image-opts \
        "driver=raw,file.driver=iscsi,file.transport=tcp,file.portal=198.18.1.2:3260,file.target=$TGT_IQN,file.lun=1" \
        -k "$QSOCK" -x disk0 --cache=none --aio=threads --discard=unmap --shared=8 --persistent
    if ! wait_for_socket "$QSOCK" 30; then
        tail -n 20 "$FIX_DIR/qemu-nbd.log" >&2
        die "qemu-nbd did not open $QSOCK within 30 s"
    fi
    PID[qemu-nbd]=$FIX_PID_QNBD
    SOCKU[qemu-nbd]=$(nbd_uri "$QSOCK")
fi

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# fio_run BRIDGE WORKLOAD RW BS DEPTH -> prints "iops mibps cpu_s_per_100k"
fio_run() {
    local b=$1 w=$2 rw=$3 bs=$4 depth=$5 pid=${PID[$1]} c0 c1 rc=0
    kill -0 "$pid" 2>/dev/null || die "$b (pid $pid) is not running"
    c0=$(cpu_ticks "$pid")
    fio --name="$w" --ioengine=nbd --uri="${SOCKU[$b]}" --rw="$rw" --bs="$bs" --iodepth="$depth" \
        --time_based --runtime="$SECS" --output-format=json --output="$OUT/$b-$w.json" \
        >"$OUT/$b-$w.out" 2>&1 || rc=$?
    c1=$(cpu_ticks "$pid")
    (( rc == 0 )) || { cat "$OUT/$b-$w.out" >&2; die "fio $w via $b failed (status $rc)"; }
    /usr/bin/python3 - "$OUT/$b-$w.json" "$(( c1 - c0 ))" "$TICK" <<'PY' || die "fio $w via $b: bad result"
import json, sys
j = json.load(open(sys.argv[1]))["jobs"][0]
if j["error"]:
    sys.exit("fio job error %d" % j["error"])
ios = j["read"]["total_ios"] + j["write"]["total_ios"]
iops = j["read"]["iops"] + j["write"]["iops"]
bw = (j["read"]["bw_bytes"] + j["write"]["bw_bytes"]) / 1e6
if ios == 0:
    sys.exit("no I/O done")
cpu = int(sys.argv[2]) / int(sys.argv[3])
print("%.0f %.1f %.2f" % (iops, bw, cpu / ios * 100000))
PY
}

# perf_run WORKLOAD -> "iops MB/s" from iscsi-perf (reads only), or "- -"
perf_run() {
    local w=$1 args=() line
    case $w in
        randread4k) args=(-m 16 -b 8 -r) ;;
        seqread1m) args=(-m "$SEQ_DEPTH" -b 2048) ;;
        *) echo "- -"; return 0 ;;
    esac
    timeout $((SECS + 60)) ip netns exec "$INI_NS" iscsi-perf "${args[@]}" -t "$SECS" "$URL" \
        >"$OUT/iscsi-perf-$w.out" 2>&1 || { cat "$OUT/iscsi-perf-$w.out" >&2; die "iscsi-perf $w failed"; }
    line=$(tr '\r' '\n' <"$OUT/iscsi-perf-$w.out" | grep -E '^iops average' | tail -1)
    [[ $line =~ ^iops\ average\ ([0-9]+)\ \(([0-9]+)\ MB/s\) ]] || die "iscsi-perf $w: no result line"
    # iscsi-perf's MB/s is MiB/s rounded down; report 10^6 bytes like the fio columns
    local bs=4096; [[ $w == seqread1m ]] && bs=1048576
    awk -v i="${BASH_REMATCH[1]}" -v bs=$bs 'BEGIN { printf "%d %.1f\n", i, i * bs / 1e6 }'
}

WORKLOADS=("randread4k randread 4k 16" "randwrite4k randwrite 4k 16"
           "seqread1m read 1m $SEQ_DEPTH" "seqwrite1m write 1m $SEQ_DEPTH")
declare -A R
for spec in "${WORKLOADS[@]}"; do
    read -r w rw bs depth <<<"$spec"
    for b in mpiscsi qemu-nbd; do
        if [[ -n ${PID[$b]:-} ]]; then
            log "$w via $b (${SECS}s, bs $bs, iodepth $depth)"
            R[$b,$w]=$(fio_run "$b" "$w" "$rw" "$bs" "$depth")
        else
            R[$b,$w]="- - -"
        fi
    done
    [[ $rw == *read ]] && log "$w via iscsi-perf"
    R[perf,$w]=$(perf_run "$w")
done

{
    echo "## mpiscsi benchmark: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, tgtd LU ${SIZE_MB} MiB on /dev/shm, 1 path, ${SECS} s per run"
    echo
    echo "fio nbd engine over a Unix socket; 4 KiB runs at iodepth 16, 1 MiB runs at iodepth $SEQ_DEPTH."
    echo "MB/s = 10^6 bytes/s. CPU = utime+stime of the bridge process per 100k I/Os. iscsi-perf: reads only, straight to the target (no NBD hop), random offsets 512-byte aligned."
    echo
    echo "| workload | mpiscsi IOPS | mpiscsi MB/s | qemu-nbd IOPS | qemu-nbd MB/s | ratio mpiscsi/qemu-nbd | mpiscsi CPU s/100k I/O | qemu-nbd CPU s/100k I/O | iscsi-perf IOPS | iscsi-perf MB/s |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    for spec in "${WORKLOADS[@]}"; do
        read -r w _ <<<"$spec"
        read -r mi mb mc <<<"${R[mpiscsi,$w]}"
        read -r qi qb qc <<<"${R[qemu-nbd,$w]}"
        read -r pi pb <<<"${R[perf,$w]}"
        ratio=$(awk -v a="$mi" -v b="$qi" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "n/a"; else printf "%.2f", a / b }')
        na() { [[ $1 == - ]] && echo n/a || echo "$1"; }
        echo "| $w | $(na "$mi") | $(na "$mb") | $(na "$qi") | $(na "$qb") | $ratio | $(na "$mc") | $(na "$qc") | $(na "$pi") | $(na "$pb") |"
    done
} >"$OUT/results.md"
cat "$OUT/results.md"
echo
echo "written to $OUT/results.md (raw fio JSON next to it)"
