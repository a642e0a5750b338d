#!/usr/bin/env bash
# e2e: the link monitor reports veth down/up, a peer going down, new and deleted links, and recovers from an overrun.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/tgt.sh
need_root
need_tool ip iproute2
fixture_tmpdir
BIN=$BUILD/tests/linkmon_watch
[[ -x $BIN ]] || die "$BIN not built (run: make $BIN)"

NS=mpi-lm-$$
printf '%s\n' "$NS" >>"$FIX_LOGDIR/fixture.ns"   # run.sh checks that it is gone
fixture_trap_add "ip netns del $NS 2>/dev/null || true"
ip netns add "$NS"
nsip() { ip -n "$NS" "$@"; }
nsip link set lo up
nsip link add vA type veth peer name vB
nsip link set vA up
nsip link set vB up
carrier() { nsip link show "$1" | grep -q LOWER_UP; }
wait_until 5 carrier vA && wait_until 5 carrier vB || die "veth pair vA/vB has no carrier"

# count_is FILE LINE N: FILE holds exactly N lines equal to LINE
count_is() { [[ $(grep -cxF -- "$2" "$1" || true) -eq $3 ]]; }
# expect FILE SECONDS "LINE=N"...: all counts reached within SECONDS
_all_counts() {
    local f=$1 kv; shift
    for kv in "$@"; do count_is "$f" "${kv%=*}" "${kv##*=}" || return 1; done
}
expect() {
    local f=$1 secs=$2 what=$3; shift 3
    if ! wait_until "$secs" _all_counts "$f" "$@"; then
        sed 's/^/    | /' "$f" >&2
        die "$what: expected within ${secs} s: $* (output above)"
    fi
    log "ok: $what"
}
last_line_for() { grep -E "^$2 (up|down)\$" "$1" | tail -n 1; }

start_watch() {   # NAME OUT [ARGS...]
    local name=$1 out=$2; shift 2
    fixture_bg "$name" "$out" ip netns exec "$NS" "$BIN" "$@"
    wait_until 5 grep -qxF '# ready' "$out" || { cat "$out" >&2; die "$name: monitor not ready in 5 s"; }
}

OUT=$FIX_LOGDIR/watch.out
start_watch W1 "$OUT"
grep -qxF '# initial vA up' "$OUT" && grep -qxF '# initial vB up' "$OUT" && grep -qxF '# initial lo up' "$OUT" ||
    { cat "$OUT" >&2; die "initial table: vA, vB and lo should be up"; }

# 1-2. admin down/up on one end: both ends follow (the peer loses its carrier).
nsip link set vA down
expect "$OUT" 1 "vA down -> vA, vB down" "vA down=1" "vB down=1"
nsip link set vA up
expect "$OUT" 1 "vA up -> vA, vB up" "vA up=1" "vB up=1"

# 3-4. the peer goes down: vA stays admin up but has no carrier, and must count as down.
nsip link set vB down
expect "$OUT" 1 "peer vB down -> vA down (NO-CARRIER)" "vB down=2" "vA down=2"
nsip link show vA | grep -q '[<,]UP[,>]' || die "vA should still be administratively up"
nsip link show vA | grep -q 'LOWER_UP' && die "vA should have no carrier"
nsip link set vB up
expect "$OUT" 1 "peer vB up -> vA up" "vA up=2" "vB up=2"

# 5. messages that change nothing are not reported. Netlink keeps the order of
# events, so once the new links s1/s2 are reported, the earlier ones were read.
nsip link set vA mtu 1400
nsip link set vA alias "linkmon test"
nsip link set vA up
nsip link add s1 type veth peer name s2
expect "$OUT" 1 "new links reported (down)" "s1 down=1" "s2 down=1"
expect "$OUT" 0 "no duplicate reports for vA/vB" "vA up=2" "vA down=2" "vB up=2" "vB down=2"

# 6. a deleted link that was up is reported down (deleting s1 deletes its peer s2).
nsip link set s1 up
nsip link set s2 up
expect "$OUT" 1 "s1, s2 up" "s1 up=1" "s2 up=1"
nsip link del s1
expect "$OUT" 1 "deleted s1/s2 reported down" "s1 down=2" "s2 down=2"

# 7. overrun: a watcher with the smallest receive buffer is stopped while vA flaps;
# it gets ENOBUFS, re-reads the table, and ends with the right state.
OUT2=$FIX_LOGDIR/watch-overrun.out
start_watch W2 "$OUT2" --rcvbuf 1
kill -STOP "$FIX_PID_W2"
for ((i = 0; i < 20; i++)); do
    nsip link set vA down
    nsip link set vA up
done
nsip link set vA down
kill -CONT "$FIX_PID_W2"
_overrun_done() {
    grep -q 're-reading the link table' "$OUT2" &&
        [[ $(last_line_for "$OUT2" vA) == "vA down" && $(last_line_for "$OUT2" vB) == "vB down" ]]
}
if ! wait_until 2 _overrun_done; then
    sed 's/^/    | /' "$OUT2" >&2
    die "overrun: expected a re-read and final vA down, vB down within 2 s"
fi
kill -USR1 "$FIX_PID_W2"
wait_until 2 grep -qE '^# resyncs [1-9]' "$OUT2" || { cat "$OUT2" >&2; die "overrun: resync counter is 0"; }
log "ok: overrun recovered ($(grep -E '^# resyncs' "$OUT2" | tail -n 1))"
# The 1 MiB-buffer watcher saw every flap, in order, and also ends down.
wait_until 2 eval '[[ $(last_line_for "$OUT" vA) == "vA down" ]]' || die "W1: last vA report is not down"

# 8. clean exit on SIGTERM, no sanitizer report.
for w in W1 W2; do
    pidvar=FIX_PID_$w
    kill -TERM "${!pidvar}"
    rc=0; wait "${!pidvar}" || rc=$?
    (( rc == 0 )) || die "$w exited with status $rc after SIGTERM"
done
if grep -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$OUT" "$OUT2" >&2; then
    die "sanitizer report in the monitor output"
fi
echo "t_60_linkmon: down/up, peer down, dedupe, new/deleted links and overrun recovery reported correctly"
