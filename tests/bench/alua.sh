#!/usr/bin/env bash
# ALUA benchmark (not part of make check; root, one LIO guest boot, ~3-4 min): writes
# $BUILD/bench/alua.md. How long after an ALUA change on the target I/O flows on the group
# that should now carry it.
#
# Fixture: LIO in a QEMU TCG guest (tests/targets/lio), 2 paths (TPG k = ALUA group k: A = 1,
# B = 2), the daemon on both portals with alua = auto, alua_explicit = yes, alua_refresh = 5
# (as in tests/e2e/t_81_alua.sh). Load: a libnbd probe (tests/lib/faults.sh) with BENCH_DEPTH
# (16) random BENCH_BS (16 KiB) I/Os in flight, half of them pattern writes verified on read.
# Where I/O goes: a poller in the target namespace reads the byte counters (rx+tx, sysfs) of the
# target's veth1 and veth2 every 20 ms and logs them with CLOCK_REALTIME stamps.
#
# Every try starts from the baseline A active/optimized, B active/non-optimized, I/O on path 1,
# path 2 idle. The change is made with one lio_cmd (a command over the guest's serial control
# line, 200-600 ms round trip under TCG, too slow and too variable to time against). So the
# guest command prints `MPI-MARK ID-pre` on its console (ttyS0) just before the configfs
# write(s) and `MPI-MARK ID-post` right after (shell builtins, no fork in between); the console
# lines reach the host's console file within milliseconds, where a watcher polls it every 2 ms.
# T0 = the moment the PRE mark appears (host clock): the change is made right after it. (The
# guest's one vCPU also runs the target, so a console line can lag by some ms; the table gives
# the median distance between the two marks.) The time of a try is T0 -> the end of the first
# 20 ms poll window (windows longer than 50 ms are skipped) in which the new path moved >= 64 KiB.
# For reference the table also gives the time from the moment lio_cmd STARTED (host clock, before
# the command is sent: an upper bound that includes the control line) and lio_cmd's round trip.
# Cases (BENCH_TRIES = 5 tries each):
#   switch       A -> ANO and B -> AO in one command                         new path 2
#   standby      A -> standby (B stays ANO)                                   new path 2
#   unavailable  A -> unavailable (B stays ANO)                               new path 2
#   transition   B -> AO with trans_delay_msecs 2000 (B transitions for 2 s) and A -> ANO in one
#                command: I/O goes on over A (ANO) meanwhile; the time runs to I/O on B (AO),
#                so it includes the 2 s                                       new path 2
#   offline      TPG 1's port offline (alua_tg_pt_offline)                    new path 2
#   explicit     (untimed: B -> AO, A -> standby, I/O on path 2) B -> unavailable: the daemon must
#                activate A with SET TARGET PORT GROUPS; checked on the target (A active/
#                optimized, "Altered by Explicit STPG")                       new path 1
# After each try the baseline is restored with changes that raise a unit attention on the path
# carrying I/O (e.g. A ANO + B AO, then A AO + B ANO), and I/O must be back on path 1.
# Also per case: the longest I/O stall (probe: the longest latency of the I/Os outstanding at any
# time in [T0, T0 + 2 s]) and the failed I/Os.
#
# Environment: BUILD, BENCH_TRIES (5), BENCH_CASES ("switch standby unavailable transition
# offline explicit"), BENCH_DEPTH (16), BENCH_BS (16384), BENCH_TIMEOUT (15 s per wait).
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/tgt.sh
. tests/lib/faults.sh
. tests/targets/lio/lio.sh
need_root
[[ -x $BUILD/bin/mpiscsid && -x $BUILD/bin/mpiscsiadm ]] || die "$BUILD/bin/mpiscsid not built (make all)"
/usr/bin/python3 -c 'import nbd' 2>/dev/null || die "python3 module nbd missing: install package python3-libnbd"

TRIES=${BENCH_TRIES:-5}
CASES=${BENCH_CASES:-switch standby unavailable transition offline explicit}
DEPTH=${BENCH_DEPTH:-16}
BS=${BENCH_BS:-16384}
WAIT=${BENCH_TIMEOUT:-15}
OUT_DIR="$BUILD/bench"
OUT="$OUT_DIR/alua.md"
mkdir -p "$OUT_DIR"
fixture_tmpdir
T_BEGIN=$(date +%s)

lio_setup 2 64
lio_cmd "trans_delay 0 pgA 0 && trans_delay 0 pgB 0 && alua_state 0 pgA 0 && alua_state 0 pgB 1" >&2 ||
    die "guest: cannot set the initial ALUA states"
SOCK="$FIX_DIR/nbd.sock"
CONF="$FIX_DIR/mpiscsi.conf"
lio_alua_conf "$CONF" "$SOCK"
out=$("$BUILD/bin/mpiscsid" --check-config -c "$CONF" 2>&1) || { printf '%s\n' "$out" >&2; die "config refused: $CONF"; }
DAEMON_ARGS=(-c "$CONF")
start_daemon "$SOCK"
URI=$(nbd_uri "$SOCK")

# ---------------------------------------------------------------- byte-counter poller
cat >"$FIX_DIR/poll.py" <<'PY'
# In the target namespace: every 20 ms "t_ns bytes_veth1 bytes_veth2" (rx+tx) until the stop file.
import os, sys, time
out, stop = sys.argv[1], sys.argv[2]
fds = [[os.open("/sys/class/net/veth%d/statistics/%s" % (k, w), os.O_RDONLY) for w in ("rx_bytes", "tx_bytes")]
       for k in (1, 2)]
end = time.monotonic() + 3600
nxt = time.monotonic()
with open(out, "w", buffering=1) as f:
    while time.monotonic() < end and not os.path.exists(stop):
        v = [sum(int(os.pread(fd, 32, 0)) for fd in p) for p in fds]
        f.write("%d %d %d\n" % (time.time_ns(), v[0], v[1]))
        nxt += 0.02
        d = nxt - time.monotonic()
        if d > 0:
            time.sleep(d)
        else:
            nxt = time.monotonic()
PY
POLL_LOG="$FIX_DIR/poll.log"
fixture_bg POLL "$FIX_DIR/poll.out" ip netns exec "$TGT_NS" /usr/bin/python3 "$FIX_DIR/poll.py" "$POLL_LOG" "$FIX_DIR/poll.stop"
wait_until 5 test -s "$POLL_LOG" || die "the byte-counter poller does not write $POLL_LOG"

# the change marks on the guest console: "ID T_NS" per "MPI-MARK ID" line, polled every 2 ms
cat >"$FIX_DIR/marks.py" <<'PY'
import os, re, sys, time
con, out, stop = sys.argv[1:4]
f = open(con, "rb"); f.seek(0, 2)
buf = b""; end = time.monotonic() + 3600
with open(out, "w", buffering=1) as o:
    while time.monotonic() < end and not os.path.exists(stop):
        d = f.read()
        if d:
            t = time.time_ns()
            buf += d
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                m = re.search(rb"MPI-MARK (\S+)", line)
                if m:
                    o.write("%s %d\n" % (m.group(1).decode(), t))
        else:
            time.sleep(0.002)
PY
MARKS="$FIX_DIR/marks.log"
: >"$MARKS"
fixture_bg MARKS "$FIX_DIR/marks.out" /usr/bin/python3 "$FIX_DIR/marks.py" "$LIO_CONSOLE" "$MARKS" "$FIX_DIR/poll.stop"
mark_seen() { grep -q "^$1 " "$MARKS"; }

# KiB per path over the last W seconds of the poller log: sets K1 K2
recent() {
    read -r K1 K2 <<<"$(/usr/bin/python3 - "$POLL_LOG" "$1" <<'PY'
import sys, time
rows = [l.split() for l in open(sys.argv[1]).read().splitlines()[-400:] if len(l.split()) == 3]
t1 = int(rows[-1][0]); w = float(sys.argv[2]) * 1e9
old = next((r for r in rows if t1 - int(r[0]) <= w), rows[0])
print((int(rows[-1][1]) - int(old[1])) // 1024, (int(rows[-1][2]) - int(old[2])) // 1024)
PY
)"
}
# on_path K: the last 0.5 s carried >= 90 % of the bytes and >= 256 KiB on path K (after 0.5 s)
on_path() {
    sleep 0.5
    recent 0.5
    local a=$K1 b=$K2
    [[ $1 == 2 ]] && { a=$K2; b=$K1; }
    (( a >= 256 && a * 100 >= 90 * (a + b) ))
}
wait_path() {   # wait_path K WHAT
    wait_until "$WAIT" on_path "$1" || { recent 0.5
        tail -n 15 "$DAEMON_LOG" | grep -v 'nbd: client' >&2
        die "$2: I/O not on path $1 within $WAIT s (last 0.5 s: $K1 / $K2 KiB)"; }
}
probe_alive() { ! _fault_gone "$FIX_PID_PROBE_load"; }

probe_start load "$URI" "$DEPTH" "$BS" rw
wait_path 1 "start"
log "load on path 1: $(recent 1; echo "$K1 / $K2 KiB/s")"

# ---------------------------------------------------------------- one try
# try CASE N NEWPATH SETUP_CMD CHANGE_CMD RESTORE_CMD...
#   SETUP (untimed, lio_cmd text or ":" ), then T0 -> CHANGE (one lio_cmd) -> I/O on NEWPATH,
#   then the RESTORE commands (each a "lio_cmd text|path"), ending with I/O on path 1.
TRY_LINES="$FIX_DIR/tries.txt"
: >"$TRY_LINES"
try() {
    local c=$1 n=$2 newp=$3 setup=$4 change=$5; shift 5
    local t0 t1 tm tp r
    probe_alive || die "the probe ended early: $(tail -n 3 "$FIX_DIR/load.out")"
    if [[ $setup != : ]]; then
        local sp=${setup##*|}
        lio_cmd "${setup%|*}" >&2 || die "$c: guest setup failed: $setup"
        wait_path "$sp" "$c $n setup"
    fi
    recent 0.5
    local idle=$K2; [[ $newp == 1 ]] && idle=$K1
    (( idle < 128 )) || log "$c $n: the new path $newp was not idle before the change ($idle KiB in 0.5 s)"
    t0=$(date +%s%N)
    lio_cmd "$PRE echo MPI-MARK $c-$n-pre > /dev/ttyS0; $change && echo MPI-MARK $c-$n-post > /dev/ttyS0" >&2 ||
        die "$c: guest command failed: $change"
    t1=$(date +%s%N)
    wait_until 5 mark_seen "$c-$n-post" || die "$c $n: the change marks did not appear on the guest console ($LIO_CONSOLE)"
    tm=$(awk -v id="$c-$n-pre" '$1 == id { print $2; exit }' "$MARKS")
    tp=$(awk -v id="$c-$n-post" '$1 == id { print $2; exit }' "$MARKS")
    [[ -n $tm && -n $tp ]] || die "$c $n: a change mark is missing in $MARKS"
    wait_path "$newp" "$c $n"
    echo "$c $n $newp $tm $t0 $t1 $tp" >>"$TRY_LINES"
    if [[ $c == explicit ]]; then
        local st status
        st=$(lio_alua_get A) status=$(lio_alua_status A)
        [[ $st == 0 && $status == *Explicit* ]] ||
            die "explicit $n: group A on the target is state $st ('$status'), not activated by STPG"
    fi
    for r in "$@"; do
        lio_cmd "${r%|*}" >&2 || die "$c: guest restore failed: $r"
        wait_path "${r##*|}" "$c $n restore"
    done
    log "$c $n: I/O on path $newp $(( ($(date +%s%N) - t0) / 1000000 )) ms incl. the restore"
}

# The timed changes are plain configfs writes (shell builtins, back to back, no fork between a
# write and the mark); the paths are computed first (PRE). $A/$B: the groups' alua_access_state,
# $O1: alua_tg_pt_offline of TPG 1's LUN 0. The transition's write blocks for the delay: it runs
# in the background (the group is transitioning from its start).
PRE='A=$(_disk 0)/alua/pgA/alua_access_state; B=$(_disk 0)/alua/pgB/alua_access_state; O1=$(_tpg 1)/lun/lun_0/alua_tg_pt_offline;'
BASE="alua_state 0 pgA 0 && alua_state 0 pgB 1"
for c in $CASES; do
    log "=== $c"
    for ((n = 1; n <= TRIES; n++)); do
        case $c in
            switch) try switch "$n" 2 : 'echo 1 > $A && echo 0 > $B' "$BASE|1" ;;
            standby) try standby "$n" 2 : 'echo 2 > $A' "alua_state 0 pgA 1 && alua_state 0 pgB 0|2" "$BASE|1" ;;
            unavailable) try unavailable "$n" 2 : 'echo 3 > $A' "alua_state 0 pgA 1 && alua_state 0 pgB 0|2" "$BASE|1" ;;
            transition)
                lio_trans_delay B 2000
                try transition "$n" 2 : '(echo 0 > $B) </dev/null >/dev/null 2>&1 & echo 1 > $A' "trans_delay 0 pgB 0 && $BASE|1" ;;
            offline) try offline "$n" 2 : 'echo 1 > $O1' "port_offline 1 0 0 && alua_state 0 pgA 1 && alua_state 0 pgB 0|2" "$BASE|1" ;;
            explicit) try explicit "$n" 1 "alua_state 0 pgB 0 && alua_state 0 pgA 2|2" 'echo 3 > $B' "alua_state 0 pgB 1|1" ;;
            *) die "unknown case '$c' (switch standby unavailable transition offline explicit)" ;;
        esac
    done
done

touch "$FIX_DIR/poll.stop"
PROBE_OK=1
probe_stop load || PROBE_OK=0
log "probe: $PROBE_RESULT"
daemon_alive || die "daemon died; log: $DAEMON_LOG"
stop_daemon

# stalls per try (probe record), then the table
T0S=$(while read -r _ _ _ tm _; do printf '%d ' $(( tm / 1000000 )); done <"$TRY_LINES")
# shellcheck disable=SC2086
probe_stalls load $T0S >"$FIX_DIR/stalls.txt"
paste -d' ' "$TRY_LINES" "$FIX_DIR/stalls.txt" >"$FIX_DIR/tries2.txt"
TABLE=$(/usr/bin/python3 - "$POLL_LOG" "$FIX_DIR/tries2.txt" "$CASES" <<'PY'
import sys, statistics
poll = [tuple(map(int, l.split())) for l in open(sys.argv[1]) if len(l.split()) == 3]
cases = sys.argv[3].split()
res = {c: [] for c in cases}
for l in open(sys.argv[2]):
    c, n, newp, tm, t0, t1, tp, stall, failed = l.split()
    newp, tm, t0, t1, tp = int(newp), int(tm), int(t0), int(t1), int(tp)
    moved = None
    for i in range(1, len(poll)):
        a, b = poll[i - 1], poll[i]
        if b[0] <= min(tm, t0) or b[0] - a[0] > 50_000_000:
            continue
        if b[newp] - a[newp] >= 65536:
            moved = b[0]
            break
    if moved is None:
        sys.exit("no 64 KiB window on path %d after T0 for %s try %s" % (newp, c, n))
    res[c].append(((moved - tm) / 1e6, (moved - t0) / 1e6, (t1 - t0) / 1e6, float(stall), int(failed), (tp - tm) / 1e6))
def mw(v):
    v = sorted(v)
    return "%.0f / %.0f" % (statistics.median(v), v[-1])
print("| case | tries | change -> I/O on the new group: median / worst (ms) "
      "| from lio_cmd start: median / worst (ms) | lio_cmd round trip, median (ms) | marks apart, median (ms) "
      "| longest I/O stall: median / worst (ms) | failed I/Os | all tries (ms) |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
for c in cases:
    r = res[c]
    if not r:
        continue
    print("| %s | %d | %s | %s | %.0f | %.0f | %s | %d | %s |" % (c, len(r), mw([x[0] for x in r]), mw([x[1] for x in r]),
          statistics.median([x[2] for x in r]), statistics.median([x[5] for x in r]), mw([x[3] for x in r]), sum(x[4] for x in r),
          " ".join("%.0f" % x[0] for x in r)))
PY
) || die "analysis failed: $TABLE"

{
    echo "## ALUA benchmark ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, $("$BUILD/bin/mpiscsid" --version 2>&1 | head -n 1), LIO in a QEMU TCG guest booted in $LIO_BOOT_MS ms)"
    echo
    echo "Command: \`make bench-alua\` (tests/bench/alua.sh; BENCH_TRIES=$TRIES). Load: libnbd probe, $DEPTH x $BS-byte"
    echo "random I/Os in flight (half verified writes). Time = the change on the target (a mark the guest prints on"
    echo "its console just before the configfs write; a second mark right after it, \"marks apart\") to the end of the"
    echo "first 20 ms window with >= 64 KiB on the new path's veth (target side). \"From lio_cmd start\": the same from"
    echo "the host's start of the control command (includes the guest control line). transition: the new AO group is held in"
    echo "transitioning for 2000 ms (included). explicit: the daemon's STPG activates the standby group (checked on"
    echo "the target). Stall: the longest latency of the I/Os outstanding in [change, change + 2 s]."
    echo
    printf '%s\n' "$TABLE"
    echo
    echo "Probe over the whole run: $PROBE_RESULT"
} >"$OUT"
cat "$OUT"
log "written: $OUT ($(( $(date +%s) - T_BEGIN )) s)"
(( PROBE_OK )) || die "the probe saw failed I/Os or verify errors: $PROBE_RESULT"
