#!/usr/bin/env bash
# Scale benchmark (not part of make check; issue 10): one daemon for 16 LUs x 4 paths, beside 16
# qemu-nbd processes (one per LU, single path), same target, same run. Writes $BUILD/bench/scale.md.
#
# Target: tgtd, one target with LUNs 1..16 (BENCH_LUN_MB = 64 MiB each, backing files on /dev/shm,
# written once with random data), 2 NICs x 2 portals (tgt_setup_cross 2 2). The daemon's config names
# the target, both portals and both NICs but no LUN (every LU becomes a disk, lu-1 .. lu-16).
# Recorded for the daemon:
#   sessions        "logged in to" lines in its log and `mpiscsiadm -m session` lines (goal: 4)
#   ready           daemon start (the moment before the process is started) -> all 16 exports
#                   answer an NBD client (python3-libnbd probe: connect, size; every 5 ms), and the
#                   daemon's own view: its first log line to the log line announcing the last export
#   RSS, fds        VmRSS and open file descriptors once the 16 exports are ready and after the runs
#   IOPS, CPU       fio (nbd engine), 4 KiB random reads, one job per export, iodepth 4 each,
#                   BENCH_SECONDS (20) s; CPU = utime+stime of the process(es) per 100k I/Os
#   single LU       the same fio on lu-1 alone (1 job, iodepth 4): the single-LU CPU per I/O figure
# and for the 16 qemu-nbd processes (qemu-nbd --image-opts driver=raw,file.driver=iscsi,..., LU k
# through portal 198.18.(1 + k % 2).2, as tests/bench/bench.sh runs it): summed RSS, the same two
# fio runs, CPU summed over the 16 processes.
# Environment: BUILD, BENCH_SECONDS, BENCH_LUN_MB, BENCH_LUNS (16).
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/tgt.sh
. tests/lib/multilun.sh
need_root
need_tool fio fio
need_tool nbdinfo libnbd-bin
need_tool qemu-nbd qemu-utils
compgen -G '/usr/lib/*/qemu/block-iscsi.so' >/dev/null || die "qemu iSCSI driver missing: install package qemu-block-extra"
[[ -x $BUILD/bin/mpiscsid && -x $BUILD/bin/mpiscsiadm ]] || die "$BUILD/bin/mpiscsid not built (make all)"
[[ ${E2E_BRIDGE:-mpiscsid} == mpiscsid ]] || die "unset E2E_BRIDGE: the benchmark must measure the real daemon"
fio --enghelp=nbd 2>/dev/null | grep -q '^uri' || die "this fio has no nbd engine with a 'uri' option (package fio >= 3.17)"

SECS=${BENCH_SECONDS:-20}
LUN_MB=${BENCH_LUN_MB:-64}
NLUNS=${BENCH_LUNS:-16}
[[ $SECS =~ ^[0-9]+$ && $SECS -ge 1 ]] || die "BENCH_SECONDS must be a positive integer"
[[ $NLUNS =~ ^[0-9]+$ && $NLUNS -ge 2 && $NLUNS -le 64 ]] || die "BENCH_LUNS must be 2..64"
OUT="$BUILD/bench"
mkdir -p "$OUT"
OUT=$(realpath "$OUT")
TICK=$(getconf CLK_TCK)

tgt_setup_cross 2 2 "$LUN_MB"
for ((l = 2; l <= NLUNS; l++)); do tgt_add_lun "$l" "$LUN_MB"; done
log "writing the $NLUNS LUs once (random data, /dev/shm)"
dd if=/dev/urandom of="$TGT_BACKING" bs=1M count="$LUN_MB" conv=notrunc status=none
for ((l = 2; l <= NLUNS; l++)); do
    dd if="$TGT_BACKING" of="/dev/shm/mpi-$TGT_SUF-lun$l.img" bs=1M conv=notrunc status=none
done
EXPORTS=()
for ((l = 1; l <= NLUNS; l++)); do EXPORTS+=("lu-$l"); done

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
nfds() { ls "/proc/$1/fd" | wc -l; }
sum_over() {   # sum_over FUNC PID...: FUNC's number summed over the PIDs
    local f=$1 s=0 p; shift
    for p in "$@"; do s=$(( s + $("$f" "$p") )); done
    echo "$s"
}

# fio_rr TAG SOCK-MAP... : 4 KiB random reads, iodepth 4, one job per "SOCK:EXPORT"; prints "ios iops"
fio_rr() {
    local tag=$1 rc=0 a; shift
    local -a jobs=()
    for a in "$@"; do jobs+=(--name="${a##*:}" --uri="$(export_uri "${a%%:*}" "${a##*:}")"); done
    fio --ioengine=nbd --rw=randread --bs=4k --iodepth=4 --time_based --runtime="$SECS" \
        --output-format=json --output="$OUT/scale-$tag.json" "${jobs[@]}" >"$OUT/scale-$tag.out" 2>&1 || rc=$?
    (( rc == 0 )) || { cat "$OUT/scale-$tag.out" >&2; die "fio $tag failed (status $rc)"; }
    /usr/bin/python3 - "$OUT/scale-$tag.json" <<'PY' || die "fio $tag: bad result"
import json, sys
jobs = json.load(open(sys.argv[1]))["jobs"]
ios = iops = 0
for j in jobs:
    if j["error"]:
        sys.exit("fio job %s error %d" % (j["jobname"], j["error"]))
    if j["read"]["total_ios"] == 0:
        sys.exit("fio job %s did no I/O" % j["jobname"])
    ios += j["read"]["total_ios"]
    iops += j["read"]["iops"]
print("%d %.0f" % (ios, iops))
PY
}
# measure TAG PIDS-VAR SPEC...: fio_rr with the CPU of the PIDs; prints "iops cpu_s_per_100k"
measure() {
    local tag=$1 c0 c1 ios iops; local -n pids=$2; shift 2
    c0=$(sum_over cpu_ticks "${pids[@]}")
    read -r ios iops <<<"$(fio_rr "$tag" "$@")"
    c1=$(sum_over cpu_ticks "${pids[@]}")
    awk -v i="$iops" -v c=$(( c1 - c0 )) -v t="$TICK" -v n="$ios" 'BEGIN { printf "%d %.2f\n", i, c / t / n * 100000 }'
}

# ---------------------------------------------------------------- the daemon
SOCK="$FIX_DIR/nbd.sock"
CONF="$FIX_DIR/mpiscsi.conf"
{
    printf '[global]\ninitiator_name = iqn.2026-11.org.mpiscsi.test:ini-%s\n' "$TGT_SUF"
    printf '[nbd]\nlisten = unix:%s\n' "$SOCK"
    printf '[disk lu]\ntarget = %s\n' "$TGT_IQN"
    printf 'portal = 198.18.1.2:3260\nportal = 198.18.2.2:3260\ninterface = veth1\ninterface = veth2\n'
} >"$CONF"
"$BUILD/bin/mpiscsid" --check-config -c "$CONF" >/dev/null || die "config refused: $CONF"
DAEMON_ARGS=(-c "$CONF")
# The readiness probe (python3-libnbd: a connect and a size query per export, every 5 ms, all in one
# process) runs before the daemon starts, so that neither its own start-up nor a per-probe process
# start is counted. It prints the CLOCK_REALTIME ns at which the last export answered.
cat >"$FIX_DIR/probe.py" <<'PY'
import nbd, sys, time
sock, deadline, names = sys.argv[1], time.time() + float(sys.argv[2]), set(sys.argv[3:])
while names and time.time() < deadline:
    for n in sorted(names):
        h = nbd.NBD()
        try:
            h.set_export_name(n)
            h.connect_unix(sock)
            h.get_size()
            names.discard(n)
        except nbd.Error:
            pass
        del h   # closes the connection (libnbd 1.14 has no close())
    if names:
        time.sleep(0.005)
print(time.time_ns() if not names else "timeout " + " ".join(sorted(names)))
PY
/usr/bin/python3 -c 'import nbd' 2>/dev/null || die "python3 libnbd bindings missing: install package python3-libnbd"
/usr/bin/python3 "$FIX_DIR/probe.py" "$SOCK" 90 "${EXPORTS[@]}" >"$FIX_DIR/probe.out" 2>&1 &
PROBE_PID=$!
fixture_trap_add "fixture_kill $PROBE_PID"
t0=$(date +%s%N)
start_daemon "$SOCK"
CTL=$DAEMON_CTL
wait "$PROBE_PID" || die "readiness probe failed: $(cat "$FIX_DIR/probe.out")"
t1=$(cat "$FIX_DIR/probe.out")
[[ $t1 =~ ^[0-9]+$ ]] || die "exports not ready 90 s after the daemon start: $t1"
READY_MS=$(( (t1 - t0) / 1000000 ))
# the daemon's own view: its first log line to the line that announces the last export
LOG_READY_MS=$(/usr/bin/python3 - "$DAEMON_LOG" "$NLUNS" <<'PY'
import re, sys
ts = lambda l: (lambda h, m, s: (int(h) * 3600 + int(m) * 60) * 1000 + round(float(s) * 1000))(*re.match(r"(\d+):(\d+):(\d+\.\d+) ", l).groups())
lines = [l for l in open(sys.argv[1]) if re.match(r"\d+:\d+:\d+\.\d+ ", l)]
ex = [l for l in lines if re.search(r"nbd: export 'lu-\d+'", l)]
print(ts(ex[-1]) - ts(lines[0]) if lines and len(ex) >= int(sys.argv[2]) else "n/a")
PY
)
listed=$(export_list "$SOCK" | wc -l)
(( listed == NLUNS )) || die "the daemon lists $listed exports, want $NLUNS"
D_SESS_LOG=$(daemon_logins 0)
D_SESS_ADM=$(adm_session_count "$CTL")
D_RSS0=$(rss_kib "$DAEMON_PID") D_FD0=$(nfds "$DAEMON_PID")
log "daemon: $NLUNS exports ready in $READY_MS ms (its log: $LOG_READY_MS ms); sessions: $D_SESS_LOG logins, $D_SESS_ADM in mpiscsiadm; RSS $D_RSS0 KiB, $D_FD0 fds"
DPIDS=("$DAEMON_PID")
map=(); for e in "${EXPORTS[@]}"; do map+=("$SOCK:$e"); done
log "daemon: fio, $NLUNS jobs x iodepth 4, ${SECS} s"
read -r D_IOPS D_CPU <<<"$(measure mpiscsi-all DPIDS "${map[@]}")"
log "daemon: fio, lu-1 alone"
read -r D1_IOPS D1_CPU <<<"$(measure mpiscsi-one DPIDS "$SOCK:lu-1")"
D_RSS1=$(rss_kib "$DAEMON_PID") D_FD1=$(nfds "$DAEMON_PID")
(( $(daemon_losses 0) == 0 )) || log "WARNING: the daemon lost sessions during the runs"

# ---------------------------------------------------------------- 16 qemu-nbd
QPIDS=() qmap=()
for ((l = 1; l <= NLUNS; l++)); do
    qs="$FIX_DIR/qnbd-$l.sock"
    fixture_bg "Q$l" "$FIX_DIR/qemu-nbd-$l.log" ip netns exec "$INI_NS" qemu-nbd --image-opts \
        "driver=raw,file.driver=iscsi,file.transport=tcp,file.portal=198.18.$(( 1 + l % 2 )).2:3260,file.target=$TGT_IQN,file.lun=$l" \
        -k "$qs" -x "lu-$l" --cache=none --aio=threads --shared=8 --persistent
    v="FIX_PID_Q$l"
    QPIDS+=("${!v}")
    qmap+=("$qs:lu-$l")
done
for ((l = 1; l <= NLUNS; l++)); do
    wait_for_socket "$FIX_DIR/qnbd-$l.sock" 30 || { tail -n 5 "$FIX_DIR/qemu-nbd-$l.log" >&2; die "qemu-nbd for LUN $l did not open its socket"; }
done
Q_RSS0=$(sum_over rss_kib "${QPIDS[@]}") Q_FD0=$(sum_over nfds "${QPIDS[@]}")
log "qemu-nbd x $NLUNS: RSS $Q_RSS0 KiB, $Q_FD0 fds in all"
log "qemu-nbd: fio, $NLUNS jobs x iodepth 4, ${SECS} s"
read -r Q_IOPS Q_CPU <<<"$(measure qemu-nbd-all QPIDS "${qmap[@]}")"
log "qemu-nbd: fio, LUN 1 alone"
Q1PIDS=("${QPIDS[0]}")
read -r Q1_IOPS Q1_CPU <<<"$(measure qemu-nbd-one Q1PIDS "${qmap[0]}")"
Q_RSS1=$(sum_over rss_kib "${QPIDS[@]}") Q_FD1=$(sum_over nfds "${QPIDS[@]}")
daemon_alive || die "the daemon died; log: $DAEMON_LOG"
stop_daemon

mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
{
    echo "## mpiscsi scale benchmark: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, tgtd, $NLUNS LUs x ${LUN_MB} MiB on /dev/shm, 2 NICs x 2 portals"
    echo
    echo "fio nbd engine, 4 KiB random reads, one job per export at iodepth 4, ${SECS} s. CPU = utime+stime per 100k I/Os (summed over the qemu-nbd processes). RSS/fds: after the exports were ready / after the fio runs."
    echo
    echo "| | mpiscsid (1 process, $NLUNS LUs x 4 paths) | qemu-nbd ($NLUNS processes, 1 path each) |"
    echo "| --- | ---: | ---: |"
    echo "| iSCSI sessions | $D_SESS_LOG (log), $D_SESS_ADM (mpiscsiadm -m session) | $NLUNS |"
    echo "| daemon start -> $NLUNS exports answer an NBD client | $READY_MS ms | n/a |"
    echo "| first log line -> last export announced (daemon log) | $LOG_READY_MS ms | n/a |"
    echo "| RSS | $(mib "$D_RSS0") / $(mib "$D_RSS1") MiB | $(mib "$Q_RSS0") / $(mib "$Q_RSS1") MiB |"
    echo "| open fds | $D_FD0 / $D_FD1 | $Q_FD0 / $Q_FD1 |"
    echo "| 4 KiB random read IOPS, $NLUNS jobs | $D_IOPS | $Q_IOPS |"
    echo "| CPU s per 100k I/Os, $NLUNS jobs | $D_CPU | $Q_CPU |"
    echo "| 4 KiB random read IOPS, 1 LU (1 job, iodepth 4) | $D1_IOPS | $Q1_IOPS |"
    echo "| CPU s per 100k I/Os, 1 LU | $D1_CPU | $Q1_CPU |"
} >"$OUT/scale.md"
cat "$OUT/scale.md"
echo
echo "written to $OUT/scale.md (raw fio JSON next to it)"
