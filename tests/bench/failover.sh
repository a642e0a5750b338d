#!/usr/bin/env bash
# Failover benchmark (not part of make check): writes $BUILD/bench/failover.md.
#
# 1. Failover stall, BENCH_TRIES (10) tries each: NIC down (goal <= 100 ms), silent loss (goal
#    <= 2 s), reset (goal <= 100 ms). 2 NICs x 2 portals, default selector. A libnbd probe keeps
#    16 random 4 KiB reads in flight and records every I/O's issue and completion time; the stall
#    of one try is the longest latency among the I/Os outstanding at any time in [T, T+2 s]
#    (T = the moment the fault was injected): path-independent, it covers the I/Os caught on the
#    dead path and any sent to it before the daemon noticed. Faults alternate between the NICs;
#    marginal damping is off (marginal_flaps = 0, marginal_latency_factor = 0) so that ten faults
#    in a row measure failover, not damping.
# 2. Failback delay with failback = immediate (goal <= 1 s): prio veth1 80; veth1 down, I/O on
#    group 50, veth1 up at T; the delay is T to the moment 128 KiB of traffic crossed the target's
#    veth1 (its sysfs byte counters polled every 1 ms inside the target namespace).
# 3. Link aggregation: every veth shaped with tbf to BENCH_RATE (200mbit) both ways; fio (nbd
#    engine) 256 KiB random reads, iodepth 16, BENCH_SECONDS (8) s, for 1x1, 2x1, 2x2 and 4x1
#    (NICs x portals) and each selector; ratio vs 1x1. The ideal ratio is the number of shaped
#    NICs (2x2 has 4 paths over 2 NICs: ideal 2).
# 4. One slow path among 4 (4 NICs x 1 portal, veth4 at 20mbit): each path's share of the
#    commands completed (mpiscsiadm --json show paths, before/after) for service-time and
#    queue-length, 64 KiB random reads, iodepth 16.
#
# Environment: BUILD, BENCH_TRIES, BENCH_RATE, BENCH_SECONDS, BENCH_PARTS ("stall failback agg slow").
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/tgt.sh
. tests/lib/faults.sh
need_root
need_tool fio fio
[[ -x $BUILD/bin/mpiscsid ]] || die "$BUILD/bin/mpiscsid not built (make all)"
ctl_available || die "mpiscsid has no --control or mpiscsiadm no -s (build: make all)"
/usr/bin/python3 -c 'import nbd' 2>/dev/null || die "python3 module nbd missing: install package python3-libnbd"

TRIES=${BENCH_TRIES:-10}
RATE=${BENCH_RATE:-200mbit}
SECS=${BENCH_SECONDS:-8}
PARTS=${BENCH_PARTS:-stall failback agg slow}
OUT_DIR="$BUILD/bench"
OUT="$OUT_DIR/failover.md"
mkdir -p "$OUT_DIR"
fixture_tmpdir
RES="$FIX_DIR/results.md"
: >"$RES"

# write_conf FILE NICS PORTALS EXTRA_LINES
write_conf() {
    local f=$1 nics=$2 portals=$3 extra=$4 k
    {
        echo "[global]"
        echo "initiator_name = iqn.2026-11.org.mpiscsi.test:ini-$TGT_SUF"
        echo "[nbd]"
        echo "listen = unix:$FIX_DIR/nbd.sock"
        echo "[disk disk0]"
        echo "target = $TGT_IQN"
        echo "lun = 1"
        for ((k = 1; k <= portals; k++)); do echo "portal = 198.18.$k.2:3260"; done
        for ((k = 1; k <= nics; k++)); do echo "interface = veth$k"; done
        echo "no_path_retry = 20"
        printf '%s\n' "$extra"
    } >"$f"
}

# Each part runs in a subshell with its own fixture and exit trap (cleaned up when it ends).
part() {
    local name=$1; shift
    log "=== part: $name"
    ( FIX_TRAPS=(); trap - EXIT; "$@" ) || die "part $name failed"
}

median_max() {   # numbers on stdin -> "median worst"
    sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) { print "- -"; exit }
        m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.1f %.1f\n", m, a[NR] }'
}

# ---------------------------------------------------------------- 1. stall
stall_part() {
    tgt_setup_cross 2 2 256
    count_on
    write_conf "$FIX_DIR/stall.conf" 2 2 "marginal_flaps = 0
marginal_latency_factor = 0"
    DAEMON_ARGS=(-c "$FIX_DIR/stall.conf")
    start_daemon "$FIX_DIR/nbd.sock"
    probe_start stall "$(nbd_uri "$FIX_DIR/nbd.sock")" 16 4096 read
    local f i k ts inject heal hold row=()
    for f in nic_down silent reset; do
        ts=()
        for ((i = 0; i < TRIES; i++)); do
            k=$(( i % 2 + 1 ))
            case $f in
                nic_down) inject="fault_nic_down $k"; heal="fault_nic_up $k"; hold=1 ;;
                silent) inject="fault_silent_on $k"; heal="fault_silent_off $k"; hold=3 ;;
                reset) inject="fault_reset_on $k"; heal="fault_reset_off $k"; hold=1 ;;
            esac
            wait_paths_busy 20 1 2 || { count_show 1 1 2 >&2; die "$f try $i: not all 4 paths carry I/O"; }
            ts+=("$(fault_ts_ms)")
            $inject
            sleep "$hold"        # the fault's duration (scenario)
            $heal
            daemon_alive || die "daemon died"
        done
        printf '%s\n' "${ts[@]}" >"$FIX_DIR/ts.$f"
    done
    wait_paths_busy 20 1 2 || true
    probe_stop stall || log "the probe saw failed I/Os (counted per fault below)"
    log "probe: $PROBE_RESULT"
    {
        echo "### Failover stall ($TRIES tries each; 2 NICs x 2 portals, default selector, 16 x 4 KiB random reads in flight)"
        echo
        echo "| fault | median (ms) | worst (ms) | goal | failed I/Os | all tries (ms) |"
        echo "| --- | ---: | ---: | --- | ---: | --- |"
        local goal mm all res failed
        for f in nic_down silent reset; do
            res=$(probe_stalls stall $(cat "$FIX_DIR/ts.$f"))
            all=$(awk '{ print $1 }' <<<"$res" | tr '\n' ' ')
            failed=$(awk '{ s += $2 } END { print s + 0 }' <<<"$res")
            mm=$(awk '{ print $1 }' <<<"$res" | median_max)
            case $f in nic_down) goal="<= 100 ms" ;; silent) goal="<= 2000 ms" ;; reset) goal="<= 100 ms" ;; esac
            echo "| $f | ${mm% *} | ${mm#* } | $goal | $failed | $all|"
        done
        echo
        echo "Probe: $PROBE_RESULT"
        echo
    } >>"$RES"
    stop_daemon
}

# ---------------------------------------------------------------- 2. failback delay
_poll_py='
import sys, time
nic, thresh, limit = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
def b():
    t = 0
    for d in ("rx_bytes", "tx_bytes"):
        with open("/sys/class/net/%s/statistics/%s" % (nic, d)) as f:
            t += int(f.read())
    return t
base = b()
print("ready", flush=True)
end = time.monotonic() + limit
while time.monotonic() < end:
    if b() - base >= thresh:
        print(time.time_ns() // 1000000, flush=True)
        sys.exit(0)
    time.sleep(0.001)
print("timeout", flush=True)
sys.exit(1)'
failback_part() {
    tgt_setup_cross 2 2 256
    count_on
    write_conf "$FIX_DIR/fb.conf" 2 2 "prio = veth1 80
failback = immediate
marginal_flaps = 0
marginal_latency_factor = 0"
    DAEMON_ARGS=(-c "$FIX_DIR/fb.conf")
    start_daemon "$FIX_DIR/nbd.sock"
    probe_start fb "$(nbd_uri "$FIX_DIR/nbd.sock")" 16 4096 read
    local i d all=() pp t_heal t_first
    for ((i = 0; i < TRIES; i++)); do
        wait_paths_busy 20 1 || die "failback try $i: no I/O on group 80"
        fault_nic_down 1
        wait_paths_busy 10 2 || die "failback try $i: no failover to group 50"
        # the poller's baseline is taken with veth1 down (no traffic can cross it)
        tgt_exec /usr/bin/python3 -c "$_poll_py" veth1 131072 15 >"$FIX_DIR/poll.out" 2>&1 &
        pp=$!
        wait_until 5 grep -q ready "$FIX_DIR/poll.out" || die "poller did not start"
        t_heal=$(fault_ts_ms)
        fault_nic_up 1
        wait "$pp" || { cat "$FIX_DIR/poll.out" >&2; die "failback try $i: no I/O on veth1 within 15 s"; }
        t_first=$(tail -n 1 "$FIX_DIR/poll.out")
        d=$((t_first - t_heal))
        all+=("$d")
        log "failback try $i: $d ms"
    done
    probe_stop fb || log "the probe saw failed I/Os: $PROBE_RESULT"
    local mm; mm=$(printf '%s\n' "${all[@]}" | median_max)
    {
        echo "### Failback delay, failback = immediate ($TRIES tries; veth1 up -> 128 KiB of I/O on veth1)"
        echo
        echo "| median (ms) | worst (ms) | goal | all tries (ms) |"
        echo "| ---: | ---: | --- | --- |"
        echo "| ${mm% *} | ${mm#* } | <= 1000 ms | ${all[*]} |"
        echo
    } >>"$RES"
    stop_daemon
}

# ---------------------------------------------------------------- 3. aggregation
# agg_topo NICS PORTALS: one fixture, every selector; appends "NxP selector MiB/s" to agg.txt
agg_topo() {
    local nics=$1 portals=$2 sel rc
    tgt_setup_cross "$nics" "$portals" 512
    fault_shape_all "$RATE" 1mbit
    for sel in round-robin queue-length service-time; do
        write_conf "$FIX_DIR/agg.conf" "$nics" "$portals" "selector = $sel
marginal_flaps = 0
marginal_latency_factor = 0"
        DAEMON_ARGS=(-c "$FIX_DIR/agg.conf")
        start_daemon "$FIX_DIR/nbd.sock"
        rc=0
        fio --name=agg --ioengine=nbd --uri="$(nbd_uri "$FIX_DIR/nbd.sock")" --rw=randread --bs=256k \
            --iodepth=16 --time_based --runtime="$SECS" --ramp_time=1 --output-format=json \
            --output="$FIX_DIR/agg.json" >"$FIX_DIR/agg.out" 2>&1 || rc=$?
        (( rc == 0 )) || { cat "$FIX_DIR/agg.out" >&2; die "fio failed ($nics x $portals, $sel)"; }
        /usr/bin/python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))["jobs"][0]
print("%s %s %.1f %d" % (sys.argv[2], sys.argv[3], j["read"]["bw_bytes"] / 2**20, j["error"]))' \
            "$FIX_DIR/agg.json" "${nics}x$portals" "$sel" >>"$FIX_DIR/agg.txt"
        stop_daemon
    done
}
agg_table() {
    /usr/bin/python3 - "$FIX_DIR/agg.txt" "$RATE" <<'PY' >>"$RES"
import sys
rows = [l.split() for l in open(sys.argv[1])]
bw = {(t, s): float(b) for t, s, b, e in rows}
sels = ["round-robin", "queue-length", "service-time"]
topos = [t for t in ["1x1", "2x1", "2x2", "4x1"] if any(k[0] == t for k in bw)]
ideal = {"1x1": 1, "2x1": 2, "2x2": 2, "4x1": 4}
paths = {"1x1": 1, "2x1": 2, "2x2": 4, "4x1": 4}
print("### Link aggregation (every veth tbf %s both ways; fio 256 KiB random reads, iodepth 16)" % sys.argv[2])
print()
print("| NICs x portals | paths | ideal ratio | " + " | ".join("%s MiB/s (ratio)" % s for s in sels) + " |")
print("| --- | ---: | ---: | " + " | ".join("---:" for s in sels) + " |")
for t in topos:
    cells = []
    for s in sels:
        if (t, s) in bw:
            base = bw.get(("1x1", s))
            r = bw[(t, s)] / base if base else float("nan")
            mark = "" if r >= 0.9 * ideal[t] else " (< 0.9 x ideal)"
            cells.append("%.1f (%.2f)%s" % (bw[(t, s)], r, mark))
        else:
            cells.append("-")
    print("| %s | %d | %d | %s |" % (t, paths[t], ideal[t], " | ".join(cells)))
print()
PY
}

# ---------------------------------------------------------------- 4. slow path share
slow_part() {
    tgt_setup_cross 4 1 512
    fault_slow_on 4 20mbit
    local sel rc before after
    {
        echo "### One slow path among 4 (4 NICs x 1 portal, veth4 at 20mbit; fio 64 KiB random reads, iodepth 16, ${SECS} s)"
        echo
        echo "| selector | MiB/s | veth1 | veth2 | veth3 | veth4 (slow) |"
        echo "| --- | ---: | ---: | ---: | ---: | ---: |"
    } >>"$RES"
    for sel in service-time queue-length; do
        write_conf "$FIX_DIR/slow.conf" 4 1 "selector = $sel
marginal_flaps = 0
marginal_latency_factor = 0"
        DAEMON_ARGS=(-c "$FIX_DIR/slow.conf")
        start_daemon "$FIX_DIR/nbd.sock"
        before=$(ctl_paths "$DAEMON_CTL")
        rc=0
        fio --name=slow --ioengine=nbd --uri="$(nbd_uri "$FIX_DIR/nbd.sock")" --rw=randread --bs=64k \
            --iodepth=16 --time_based --runtime="$SECS" --output-format=json \
            --output="$FIX_DIR/slow.json" >"$FIX_DIR/slow.out" 2>&1 || rc=$?
        (( rc == 0 )) || { cat "$FIX_DIR/slow.out" >&2; die "fio failed (slow path, $sel)"; }
        after=$(ctl_paths "$DAEMON_CTL")
        /usr/bin/python3 - "$before" "$after" "$sel" "$FIX_DIR/slow.json" <<'PY' >>"$RES"
import json, sys
def parse(t):
    return {l.split()[1]: int(l.split()[4]) for l in t.splitlines()}
a, b = parse(sys.argv[1]), parse(sys.argv[2])
d = {k: b[k] - a.get(k, 0) for k in b}
tot = sum(d.values()) or 1
bw = json.load(open(sys.argv[4]))["jobs"][0]["read"]["bw_bytes"] / 2**20
print("| %s | %.1f | %s |" % (sys.argv[3], bw, " | ".join("%.1f%%" % (100.0 * d.get("veth%d" % k, 0) / tot) for k in range(1, 5))))
PY
        stop_daemon
    done
    echo >>"$RES"
}

for p in $PARTS; do
    case $p in
        stall) part stall stall_part ;;
        failback) part failback failback_part ;;
        agg)
            : >"$FIX_DIR/agg.txt"
            part "agg 1x1" agg_topo 1 1
            part "agg 2x1" agg_topo 2 1
            part "agg 2x2" agg_topo 2 2
            part "agg 4x1" agg_topo 4 1
            agg_table ;;
        slow) part slow slow_part ;;
        *) die "unknown part '$p' (stall failback agg slow)" ;;
    esac
done

{
    echo "## Failover benchmark ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, $("$BUILD/bin/mpiscsid" --version 2>&1 | head -n 1))"
    echo
    cat "$RES"
} >"$OUT"
cat "$OUT"
log "written: $OUT"
