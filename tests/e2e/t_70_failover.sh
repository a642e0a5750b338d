#!/usr/bin/env bash
# e2e: failover under load. 2 NICs x 2 portals = 4 paths to tgtd, the daemon from a config file
# (default selector), fio (nbd engine, randrw 4k-64k, iodepth 16, crc32c verify, verify_fatal)
# running while each fault of TESTING.md's table is injected and healed in turn: NIC down,
# silent loss, reset, slow path (20 Mbit/s), flapping, target restart (shorter than
# no_path_retry). Per fault: zero fio errors and verify failures, the daemon alive, the longest
# I/O stall printed (fio's completion-latency maximum over the fault's run, read and write),
# and, after healing, I/O back on the healed paths (target-side per-path byte counters;
# the per-path counters of mpiscsiadm are printed too when the control socket exists).
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/tgt.sh
. tests/lib/faults.sh
need_root
need_tool fio fio

# Sanity bounds on the longest stall per fault (ms): a failover that fell back to the 10 s
# command timeout, or hung, fails the test. The goals are tighter (tests/bench/failover.sh).
: "${T70_MAX_STALL_NIC_DOWN:=3000}" "${T70_MAX_STALL_SILENT:=6000}" "${T70_MAX_STALL_RESET:=3000}"
: "${T70_MAX_STALL_SLOW:=8000}" "${T70_MAX_STALL_FLAP:=5000}" "${T70_MAX_STALL_RESTART:=12000}"
NO_PATH_RETRY=20
MARGINAL_HOLD=5
# T70_EXTRA_CONF: extra [disk] lines (e.g. "marginal_latency_factor = 0"), for diagnosis only.

tgt_setup_cross 2 2 256
count_on
SOCK="$FIX_DIR/nbd.sock"
CONF="$FIX_DIR/mpiscsi.conf"
write_cross_conf "$CONF" "$SOCK" "no_path_retry = $NO_PATH_RETRY
marginal_hold = $MARGINAL_HOLD
${T70_EXTRA_CONF:-}"
DAEMON_ARGS=(-c "$CONF")
start_daemon "$SOCK"
HAVE_CTL=0
if ctl_available && [[ -n $DAEMON_CTL ]]; then HAVE_CTL=1; CTL=$DAEMON_CTL; else
    log "no control socket yet (mpiscsid --control / mpiscsiadm -s): per-path counters from the target side only"
fi
URI=$(nbd_uri "$SOCK")
fio --enghelp=nbd 2>/dev/null | grep -q '^uri' || die "this fio has no nbd engine with a 'uri' option (package fio >= 3.17)"

ctl_show() { (( HAVE_CTL )) || return 0; ctl_paths "$CTL" | sed 's/^/#   path /' >&2 || die "mpiscsiadm show paths failed"; }

SUMMARY=()
# run_fault NAME HOLD_S BACK_S MAX_STALL_MS HEALED_SPEC INJECT_CMD HEAL_CMD
#   fio for HOLD_S + BACK_S + 3 s; the fault injected once all 4 paths carry I/O, held HOLD_S
#   seconds (INJECT_CMD may itself take the time, then HOLD_S = 0), healed; then the healed
#   paths must carry I/O again within BACK_S seconds.
run_fault() {
    local name=$1 hold=$2 back=$3 max_stall=$4 healed=$5 inject=$6 heal=$7
    local runtime=$((hold + back + 3)) rc=0 pid t_heal t_back nlog
    log "=== $name: fio ${runtime}s, fault held ${hold}s"
    fio --name="$name" --ioengine=nbd --uri="$URI" --rw=randrw --rwmixread=50 --bsrange=4k-64k \
        --iodepth=16 --verify=crc32c --do_verify=1 --verify_backlog=64 --verify_fatal=1 \
        --verify_state_save=0 --time_based --runtime="$runtime" \
        --output-format=json --output="$FIX_LOGDIR/fio-$name.json" >"$FIX_LOGDIR/fio-$name.out" 2>&1 &
    pid=$!
    fixture_trap_add "fixture_kill $pid"
    if ! wait_paths_busy 10 1 2; then
        count_show 1 1 2 >&2
        ctl_show
        grep -E 'marginal|down' "$DAEMON_LOG" | tail -n 6 >&2
        die "$name: not all 4 paths carry I/O before the fault (log lines above)"
    fi
    nlog=$(wc -l <"$DAEMON_LOG")
    eval "$inject"
    (( hold == 0 )) || sleep "$hold"     # the fault's duration (scenario, not a readiness wait)
    log "$name: during the fault (KiB per path in 1 s): $(count_show 1 1 2)"
    eval "$heal"
    t_heal=$(fault_ts_ms)
    daemon_alive || die "$name: daemon died during the fault; log: $DAEMON_LOG"
    log "$name: daemon: $(tail -n +"$((nlog + 1))" "$DAEMON_LOG" | grep -c ' down') path-down, $(tail -n +"$((nlog + 1))" "$DAEMON_LOG" | grep -c ' up (') path-up, $(tail -n +"$((nlog + 1))" "$DAEMON_LOG" | grep -c 'marginal:') marginal log lines"
    if wait_paths_busy "$back" $healed; then
        t_back=$(fault_ts_ms)
        log "$name: I/O back on healed path(s) [$healed] $((t_back - t_heal)) ms after heal"
    else
        count_show 1 1 2 >&2
        ctl_show
        tail -n +"$((nlog + 1))" "$DAEMON_LOG" | grep -v 'nbd: client' | tail -n 8 >&2
        _fault_gone "$pid" && { cat "$FIX_LOGDIR/fio-$name.out" "$FIX_LOGDIR/fio-$name.json" | grep -iE 'err|verify|fio:' | head -n 10 >&2; die "$name: fio ended early (output above)"; }
        die "$name: no I/O on the healed path(s) [$healed] within $back s of healing (failback)"
    fi
    ctl_show
    wait_until $((runtime + 60)) _fault_gone "$pid" || die "$name: fio did not finish"
    wait "$pid" || rc=$?
    cat "$FIX_LOGDIR/fio-$name.out" >&2
    (( rc == 0 )) || die "$name: fio exited with status $rc (I/O error or verify failure)"
    local res
    res=$(/usr/bin/python3 - "$FIX_LOGDIR/fio-$name.json" "$name" "$max_stall" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
name, limit = sys.argv[2], float(sys.argv[3])
bad = []
for j in d["jobs"]:
    r, w = j["read"], j["write"]
    stall = max(r["clat_ns"]["max"], w["clat_ns"]["max"]) / 1e6
    print("%s %d %d %.1f %.1f %.1f" % (name, r["total_ios"], w["total_ios"], stall,
          r["bw_bytes"] / 2**20, w["bw_bytes"] / 2**20))
    if j["error"]: bad.append("job error %d" % j["error"])
    if j.get("total_err", 0): bad.append("total_err %d" % j["total_err"])
    if r["total_ios"] == 0 or w["total_ios"] == 0: bad.append("no reads or no writes")
    if stall > limit: bad.append("longest stall %.0f ms > %.0f ms" % (stall, limit))
if bad:
    sys.exit("FAIL %s: %s" % (name, "; ".join(bad)))
PY
    ) || die "$name: $res"
    daemon_alive || die "$name: daemon died; log: $DAEMON_LOG"
    SUMMARY+=("$res")
    log "$name: ok (reads writes stall_ms MiB/s_r MiB/s_w): $res"
}

# Faults alternate between the NICs so that no path collects marginal_flaps (3) failures within
# marginal_window (60 s) across faults; only flapping should make paths marginal (kept out for
# marginal_hold, 5 s here: I/O returns after that).
run_fault nic_down 3 8 "$T70_MAX_STALL_NIC_DOWN" 1 "fault_nic_down 1" "fault_nic_up 1"
run_fault silent 4 8 "$T70_MAX_STALL_SILENT" 2 "fault_silent_on 2" "fault_silent_off 2"
run_fault reset 3 8 "$T70_MAX_STALL_RESET" 1 "fault_reset_on 1" "fault_reset_off 1"
run_fault slow 4 $((MARGINAL_HOLD + 8)) "$T70_MAX_STALL_SLOW" 2 "fault_slow_on 2 20mbit" "fault_slow_off 2"
run_fault flap 0 $((MARGINAL_HOLD + 8)) "$T70_MAX_STALL_FLAP" 1 "fault_flap_start 1 300 10; fault_flap_wait" ":"
run_fault restart 0 14 "$T70_MAX_STALL_RESTART" "1 2" "fault_target_restart 2" ":"

echo "| fault | reads | writes | longest stall (fio clat max, ms) | read MiB/s | write MiB/s |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
for r in "${SUMMARY[@]}"; do
    read -r n a b c d e <<<"$r"
    echo "| $n | $a | $b | $c | $d | $e |"
done
daemon_alive || die "daemon died"
stop_daemon
echo "t_70_failover: 6 faults, zero I/O errors, zero verify failures"
