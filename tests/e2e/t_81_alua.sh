#!/usr/bin/env bash
# e2e: ALUA against the Linux kernel target (LIO, tests/targets/lio), one guest boot for every
# case. 2 paths (TPG k on 198.18.k.2, ALUA group k: pgA = 1, pgB = 2), the daemon on both
# portals (one path per NIC) with alua = auto, alua_explicit = yes, alua_refresh = 5. Each case
# runs its own fio (nbd engine on the daemon's export, randrw 4k-64k, iodepth 16, crc32c verify,
# verify_fatal, time_based; stopped through --trigger-file when the case is done).
#   a  start: A active/optimized, B active/non-optimized -> I/O on path 1
#   b  A ANO + B AO -> I/O on path 2; then back -> path 1
#   c  A standby (B ANO) -> path 2; A AO again -> path 1
#   d  A unavailable (B ANO) -> path 2; A AO again -> path 1
#   e  A transitions AO -> ANO for 2 s (trans_delay_msecs 2000; B stays ANO): I/O continues;
#      then A AO again -> path 1
#   f  TPG 1's port offline -> path 2; online again -> path 1
#   g  A standby, B AO (-> path 2); then B unavailable: no AO/ANO group left, the daemon must
#      activate A with SET TARGET PORT GROUPS: LIO shows A active/optimized, "Altered by
#      Explicit STPG", and I/O on path 1
#   h  LUN 0 of TPG 2 becomes another LU (second ramdisk; TPG 2 disabled around the remap, so
#      its session ends and the daemon logs in again): path 2 must be refused (log line naming
#      the identities, path not up) while I/O goes on over path 1
# Where I/O goes is measured on the target side: bytes on the target namespace's veth k (sysfs),
# "on path k" = path k carries >= 90 % of the bytes (and >= 256 KiB) of a 0.5 s window, then
# again over a 1 s window; within T81_MOVE_TIMEOUT (10) s of the change. Per case one line:
# shares before/after (path 1 / path 2, %), time to the move (from the start of the guest
# command, which alone takes 0.2-0.6 s under TCG, to the end of a 0.5 s window: coarse; the
# precise numbers come from make bench-alua), longest I/O stall (fio's largest total latency,
# reads and writes, over the case), I/O errors. Asserted: zero fio errors and
# verify failures, the daemon alive (and exiting 0 at the end), I/O on the expected path after
# every change, the explicit STPG, a stall sanity bound (T81_MAX_STALL_MS, 8000; transitioning
# case T81_MAX_STALL_TRANS_MS, 5000). A failed case is reported and the next case still runs
# (from the baseline A AO / B ANO, restored through the target); the test fails at the end.
#
# Why alua_refresh = 5 (not the default): when only group A changes, LIO raises the unit
# attention ASYMMETRIC ACCESS STATE CHANGED only on the I_T nexuses of group A's ports
# (core_alua_queue_state_change_ua), and path 1 carries no commands while A is standby/
# unavailable. A return of A to AO can then only be seen by a periodic REPORT TARGET PORT
# GROUPS (or a probe of path 1). Port offline/online raises no unit attention at all.
#
# Environment: T81_MOVE_TIMEOUT, T81_MAX_STALL_MS, T81_MAX_STALL_TRANS_MS, T81_CASES (default
# "a b c d e f g h"; h changes the target, keep it last), T81_EXTRA_CONF (more [disk] lines,
# diagnosis only).
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/tgt.sh
. tests/lib/faults.sh
. tests/targets/lio/lio.sh
need_root
need_tool fio fio
need_tool timeout coreutils
fio --enghelp=nbd 2>/dev/null | grep -q '^uri' || die "this fio has no nbd engine with a 'uri' option (package fio >= 3.17)"
[[ -x $BUILD/bin/mpiscsid && -x $BUILD/bin/mpiscsiadm ]] || die "$BUILD/bin/mpiscsid not built (run: make all)"
ctl_available || die "mpiscsid has no --control or mpiscsiadm no -s (build: make all)"

: "${T81_MOVE_TIMEOUT:=10}" "${T81_MAX_STALL_MS:=8000}" "${T81_MAX_STALL_TRANS_MS:=5000}"
: "${T81_CASES:=a b c d e f g h}"
T_START=$(date +%s%N)

lio_setup 2 64
echo "# LIO guest boot-to-ready: $LIO_BOOT_MS ms"
# the starting point: A (TPG 1) active/optimized, B (TPG 2) active/non-optimized
lio_cmd "trans_delay 0 pgA 0 && trans_delay 0 pgB 0 && alua_state 0 pgA 0 && alua_state 0 pgB 1" >&2 ||
    die "guest: cannot set the initial ALUA states"

SOCK="$FIX_DIR/nbd.sock"
CONF="$FIX_DIR/mpiscsi.conf"
lio_alua_conf "$CONF" "$SOCK" "${T81_EXTRA_CONF:-}"
out=$("$BUILD/bin/mpiscsid" --check-config -c "$CONF" 2>&1) || { printf '%s\n' "$out" >&2; die "config refused: $CONF"; }
[[ $FIX_LOGDIR -ef $FIX_DIR ]] || cp "$CONF" "$FIX_LOGDIR/mpiscsi.conf"
DAEMON_ARGS=(-c "$CONF")
start_daemon "$SOCK"
CTL=$DAEMON_CTL
URI=$(nbd_uri "$SOCK")

# path K's state: the "state" of the path object whose name (or portal) names 198.18.K.2, from
# mpiscsiadm --json show paths ("absent" if there is none); fails if the reply cannot be read
path_state() {
    local out
    out=$("$BUILD/bin/mpiscsiadm" -s "$CTL" --json show paths) || return 1
    /usr/bin/python3 -c '
import json, sys
want = "198.18.%s.2:" % sys.argv[2]
found = []
def walk(o):
    if isinstance(o, dict):
        if "state" in o and "id" in o and any(want in str(o.get(k) or "") + ":" for k in ("name", "portal")):
            found.append(str(o["state"]))
            return
        for v in o.values(): walk(v)
    elif isinstance(o, list):
        for v in o: walk(v)
walk(json.loads(sys.argv[1]))
print(found[0] if found else "absent")' "$out" "$1"
}
show_paths() { "$BUILD/bin/mpiscsiadm" -s "$CTL" show paths 2>&1 | sed 's/^/#   /' >&2 || true; }
both_up() { [[ $(path_state 1) == up && $(path_state 2) == up ]]; }
wait_until 15 both_up || { show_paths; die "the two paths are not up 15 s after the start"; }
grep -iE 'alua' "$DAEMON_LOG" | head -n 5 | sed 's/^/#   daemon: /' >&2 || true

# ---------------------------------------------------------------- measurement helpers
# bytes (rx+tx) on the target's veth1 and veth2: "B1 B2"
nb() {
    tgt_exec sh -c 'for k in 1 2; do echo $(( $(cat /sys/class/net/veth$k/statistics/rx_bytes) + $(cat /sys/class/net/veth$k/statistics/tx_bytes) )); done' |
        tr '\n' ' '
}
# window W: sets WIN_P1 WIN_P2 (percent of the bytes), WIN_K1 WIN_K2 (KiB), WIN_SHARE "p1/p2"
window() {
    local a b
    read -r -a a <<<"$(nb)"; sleep "$1"; read -r -a b <<<"$(nb)"
    WIN_K1=$(( (b[0] - a[0]) / 1024 )) WIN_K2=$(( (b[1] - a[1]) / 1024 ))
    local t=$(( WIN_K1 + WIN_K2 ))
    if (( t > 0 )); then WIN_P1=$(( WIN_K1 * 100 / t )) WIN_P2=$(( WIN_K2 * 100 / t )); else WIN_P1=0 WIN_P2=0; fi
    WIN_SHARE="$WIN_P1/$WIN_P2"
}
on_path() {   # the last window shows >= 90 % and >= 256 KiB on path $1
    local p k
    if [[ $1 == 1 ]]; then p=$WIN_P1 k=$WIN_K1; else p=$WIN_P2 k=$WIN_K2; fi
    (( p >= 90 && k >= 256 ))
}
fio_alive() { [[ -n ${FIO_PID:-} ]] && ! _fault_gone "$FIO_PID"; }
# wait_path K T0_NS: 0.5 s windows until I/O is on path K, then a 1 s window must agree.
# Sets MOVE_MS (T0 -> end of the first good window) and SHARE (the 1 s window). Bounded.
wait_path() {
    local k=$1 t0=$2 deadline=$(( $(date +%s%N) + T81_MOVE_TIMEOUT * 1000000000 ))
    MOVE_MS=- SHARE=-
    while (( $(date +%s%N) < deadline )); do
        fio_alive || { CASE_WHY="fio ended early: $(fio_errline)"; return 1; }
        window 0.5
        if on_path "$k"; then
            MOVE_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
            window 1
            SHARE=$WIN_SHARE
            on_path "$k" && return 0
            CASE_WHY="I/O reached path $k after $MOVE_MS ms but did not stay (1 s window: $WIN_SHARE %, $WIN_K1/$WIN_K2 KiB)"
            return 1
        fi
    done
    CASE_WHY="I/O not on path $k within $T81_MOVE_TIMEOUT s (last 0.5 s window: path1/path2 $WIN_SHARE %, $WIN_K1/$WIN_K2 KiB)"
    return 1
}

# ---------------------------------------------------------------- fio, one run per case
FIO_PID=
fio_start() {
    FIO_NAME=$1
    rm -f "$FIX_DIR/fio-$FIO_NAME.stop"
    ( cd "$FIX_DIR" && exec fio --name="$FIO_NAME" --ioengine=nbd --uri="$URI" --rw=randrw --rwmixread=50 \
        --bsrange=4k-64k --iodepth=16 --verify=crc32c --do_verify=1 --verify_backlog=64 --verify_fatal=1 \
        --verify_state_save=0 --time_based --runtime=150 --trigger-file="$FIX_DIR/fio-$FIO_NAME.stop" \
        --output-format=json --output="$FIX_LOGDIR/fio-$FIO_NAME.json" ) >"$FIX_LOGDIR/fio-$FIO_NAME.out" 2>&1 &
    FIO_PID=$!
    fixture_trap_add "fixture_kill $FIO_PID"
}
fio_errline() { grep -iE 'err|verify|fio:' "$FIX_LOGDIR/fio-$FIO_NAME.out" 2>/dev/null | head -n 3 | tr '\n' ' '; }
# fio_stop: stop the case's fio, set FIO_RES "IOS STALL_MS ERRORS" and FIO_OK (1: no error)
fio_stop() {
    local rc=0
    FIO_OK=0 FIO_RES="- - -"
    [[ -n $FIO_PID ]] || return 0
    touch "$FIX_DIR/fio-$FIO_NAME.stop"
    wait_until 60 _fault_gone "$FIO_PID" || { fixture_kill "$FIO_PID"; FIO_PID=; FIO_RES="- - fio-hung"; return 0; }
    wait "$FIO_PID" 2>/dev/null || rc=$?
    FIO_PID=
    FIO_RES=$(/usr/bin/python3 - "$FIX_LOGDIR/fio-$FIO_NAME.json" "$rc" <<'PY'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception as e:
    print("- - no-json"); sys.exit(0)
ios = stall = 0; err = []
for j in d["jobs"]:
    r, w = j["read"], j["write"]
    ios += r["total_ios"] + w["total_ios"]
    stall = max(stall, r["lat_ns"]["max"] / 1e6, w["lat_ns"]["max"] / 1e6)
    if j["error"]: err.append("error%d" % j["error"])
    if j.get("total_err", 0): err.append("total_err%d" % j["total_err"])
    if r["total_ios"] == 0 or w["total_ios"] == 0: err.append("no-reads-or-writes")
if sys.argv[2] != "0": err.append("exit%s" % sys.argv[2])
print("%d %.0f %s" % (ios, stall, ",".join(err) or "0"))
PY
    )
    [[ $(awk '{print $3}' <<<"$FIO_RES") == 0 ]] && FIO_OK=1
    (( FIO_OK )) || { cat "$FIX_LOGDIR/fio-$FIO_NAME.out" >&2; }
    return 0
}

# ---------------------------------------------------------------- cases
FAILED=()
CASE_WHY=
LINES=()
grp_state() { lio_alua_get "$1"; }
lio_states() { printf 'A=%s B=%s' "$(grp_state A)" "$(grp_state B)"; }

# baseline: no delays, ports online, A AO, B ANO (writing a state a group already has is a no-op)
baseline() {
    lio_cmd "trans_delay 0 pgA 0; trans_delay 0 pgB 0; port_offline 1 0 0; port_offline 2 0 0; alua_state 0 pgA 0 && alua_state 0 pgB 1" >&2 ||
        die "guest: cannot restore the baseline ALUA states"
}

# case_begin NAME: fio on, I/O on path 1 (the baseline); BEFORE = that share
case_begin() {
    CASE=$1 CASE_WHY='' MOVES=() BEFORE=- AFTER=()
    CASE_LOG0=$(wc -l <"$DAEMON_LOG")
    log "=== case $CASE ($(lio_states))"
    fio_start "$CASE"
    wait_path 1 "$(date +%s%N)" || { CASE_WHY="before the change: $CASE_WHY"; return 1; }
    BEFORE=$SHARE
}
# change_to K CMD...: run CMD (a guest ALUA change), then I/O must be on path K; records the move
change_to() {
    local k=$1 t0; shift
    t0=$(date +%s%N)
    "$@" >&2 || die "guest command failed: $*"
    wait_path "$k" "$t0" || return 1
    MOVES+=("${MOVE_MS}ms") AFTER+=("$SHARE")
    log "case $CASE: I/O on path $k ${MOVE_MS} ms after: $* (path1/path2 $SHARE %)"
}
# case_end OK [STALL_LIMIT]: stop fio, print the case line, record the verdict
case_end() {
    local ok=$1 limit=${2:-$T81_MAX_STALL_MS} ios stall errs
    fio_stop
    read -r ios stall errs <<<"$FIO_RES"
    if (( ok )) && (( ! FIO_OK )); then ok=0; CASE_WHY="fio: $errs $(fio_errline)"; fi
    if (( ok )) && [[ $stall != - ]] && (( stall > limit )); then ok=0; CASE_WHY="longest stall $stall ms > $limit ms"; fi
    if (( ok )) && ! daemon_alive; then ok=0; CASE_WHY="daemon died"; fi
    local line
    line=$(printf '%-14s before %-7s after %-15s moves %-15s stall_ms %-6s ios %-7s errors %s' "$CASE" "$BEFORE" \
        "$(IFS=,; echo "${AFTER[*]:--}")" "$(IFS=,; echo "${MOVES[*]:--}")" "$stall" "$ios" "$errs")
    if (( ok )); then
        echo "CASE ok   $line"
    else
        echo "CASE FAIL $line: $CASE_WHY"
        FAILED+=("$CASE: $CASE_WHY")
        lio_diag
        tail -n +"$((CASE_LOG0 + 1))" "$DAEMON_LOG" | grep -v 'nbd: client' | tail -n 25 | sed 's/^/#   daemon: /' >&2
        show_paths
        "$BUILD/bin/mpiscsiadm" -s "$CTL" show topology 2>/dev/null | sed 's/^/#   /' >&2 || true
        lio_show 2>/dev/null | sed 's/^/#   lio: /' >&2 || true
    fi
    LINES+=("$line")
    daemon_alive || { stop_daemon; die "daemon died in case $CASE; log: $DAEMON_LOG"; }
}
# after a failed case: put the target back to the baseline for the next one
recover() { baseline; }

case_a() {
    case_begin a_start || return 1
    AFTER+=("$BEFORE")
}
case_b() {
    case_begin b_ao_ano_swap || return 1
    change_to 2 lio_cmd "alua_state 0 pgA 1 && alua_state 0 pgB 0" || return 1
    change_to 1 lio_cmd "alua_state 0 pgB 1 && alua_state 0 pgA 0" || return 1
}
case_c() {
    case_begin c_standby || return 1
    change_to 2 lio_alua_state A 2 || return 1
    change_to 1 lio_alua_state A 0 || return 1
}
case_d() {
    case_begin d_unavailable || return 1
    change_to 2 lio_alua_state A 3 || return 1
    change_to 1 lio_alua_state A 0 || return 1
}
case_e() {
    local t0 st during
    case_begin e_transition || return 1
    lio_trans_delay A 2000
    t0=$(date +%s%N)
    lio_alua_state A 1          # returns at once; A is transitioning (15) for 2 s
    wait_until 1 eval '[[ $(grp_state A) == 15 ]]' ||
        { CASE_WHY="group A is in state $(grp_state A) right after the change, not transitioning (15)"; return 1; }
    log "case $CASE: group A transitioning (state 15) $(( ($(date +%s%N) - t0) / 1000000 )) ms after the change"
    # I/O goes on while A transitions: every 0.5 s window moves bytes
    local shares=() n=0
    while (( $(date +%s%N) - t0 < 2000000000 )); do
        window 0.5
        shares+=("$WIN_SHARE")
        n=$(( n + 1 ))
        (( WIN_K1 + WIN_K2 >= 64 )) || log "case $CASE: a 0.5 s window with only $((WIN_K1 + WIN_K2)) KiB during the transition"
    done
    during=$(IFS=,; echo "${shares[*]}")
    log "case $CASE: during the transition (0.5 s windows, path1/path2 %): $during"
    wait_until 10 eval '[[ $(grp_state A) == 1 ]]' || { CASE_WHY="group A not ANO 10 s after the change"; return 1; }
    # both groups ANO now: I/O on either path, but it must flow
    window 1
    (( WIN_K1 + WIN_K2 >= 256 )) || { CASE_WHY="I/O does not flow after the transition (1 s: $WIN_K1/$WIN_K2 KiB)"; return 1; }
    AFTER+=("$WIN_SHARE") MOVES+=("trans")
    lio_trans_delay A 0
    change_to 1 lio_alua_state A 0 || return 1
}
case_f() {
    case_begin f_port_offline || return 1
    change_to 2 lio_port_offline 1 1 || return 1
    change_to 1 lio_port_offline 1 0 || return 1
}
case_g() {
    local st status
    case_begin g_explicit_stpg || return 1
    change_to 2 lio_cmd "alua_state 0 pgB 0 && alua_state 0 pgA 2" || return 1
    # B unavailable: A (standby) is the only group left; alua_explicit = yes -> STPG
    change_to 1 lio_alua_state B 3 || { CASE_WHY="$CASE_WHY; target: $(lio_states) (A: $(lio_alua_status A))"; return 1; }
    st=$(grp_state A) status=$(lio_alua_status A)
    log "case $CASE: target: group A state $st, access status '$status'; daemon: $(tail -n +"$((CASE_LOG0 + 1))" "$DAEMON_LOG" | grep -iE 'SET TARGET PORT GROUPS|STPG|activat' | head -n 2 | tr '\n' ' ')"
    [[ $st == 0 ]] || { CASE_WHY="group A is in state $st on the target, not active/optimized (0): no STPG"; return 1; }
    [[ $status == *Explicit* ]] || { CASE_WHY="group A's access status is '$status', not altered by an explicit STPG"; return 1; }
    # back to the baseline: B ANO (A is AO by the STPG)
    lio_alua_state B 1
}
case_h() {
    local line
    case_begin h_lu_mismatch || return 1
    lio_add_lun 1 16
    # TPG 2 off (its session ends, logins refused), LUN 0 of TPG 2 -> disk1, TPG 2 on: the daemon
    # logs in again on path 2 and finds another LU behind the same IQN and LUN
    lio_tpg_enable 2 0
    lio_map_lun 2 0 1
    lio_tpg_enable 2 1
    log "case $CASE: LUN 0 of TPG 2 is now disk1 (serial ${LIO_SERIAL}l1)"
    refused() {
        tail -n +"$((CASE_LOG0 + 1))" "$DAEMON_LOG" | grep -v 'nbd: client' | grep -F '198.18.2.2' |
            grep -qiE 'refus|mismatch|identity|differ'
    }
    wait_until 15 refused || { CASE_WHY="no daemon log line refusing path 2 (other LU) within 15 s"; return 1; }
    line=$(tail -n +"$((CASE_LOG0 + 1))" "$DAEMON_LOG" | grep -v 'nbd: client' | grep -F '198.18.2.2' |
        grep -iE 'refus|mismatch|identity|differ' | head -n 1)
    log "case $CASE: $line"
    # path 2 stays out of use (sampled for 3 s) while I/O goes on over path 1
    local i st
    for ((i = 0; i < 6; i++)); do
        st=$(path_state 2) || { CASE_WHY="cannot read the paths from mpiscsiadm --json show paths"; return 1; }
        [[ $st != up ]] || { CASE_WHY="path 2 (other LU) is up in mpiscsiadm show paths"; return 1; }
        window 0.5
        on_path 1 || { CASE_WHY="I/O not on path 1 while path 2 is refused (0.5 s: $WIN_SHARE %, $WIN_K1/$WIN_K2 KiB)"; return 1; }
    done
    AFTER+=("$WIN_SHARE")
    log "case $CASE: path 2 state '$st' for 3 s, I/O on path 1"
}

for c in $T81_CASES; do
    declare -F "case_$c" >/dev/null || die "no case '$c' (T81_CASES: a b c d e f g h)"
    ok=1
    "case_$c" || ok=0
    case_end "$ok" "$( [[ $c == e ]] && echo "$T81_MAX_STALL_TRANS_MS" || echo "$T81_MAX_STALL_MS")"
    (( ok )) || recover
done

echo "| case | share before (path1/path2 %) | after each change | time to move | longest stall (ms) | I/Os | errors |"
echo "| --- | --- | --- | --- | ---: | ---: | --- |"
for l in "${LINES[@]}"; do
    read -r n _ b _ a _ m _ s _ i _ e <<<"$l"
    echo "| $n | $b | $a | $m | $s | $i | $e |"
done
lio_show | sed 's/^/# lio: /' >&2 || true
daemon_alive || die "daemon died; log: $DAEMON_LOG"
stop_daemon
echo "# t_81_alua: $(( ($(date +%s%N) - T_START) / 1000000000 )) s in all (guest boot $LIO_BOOT_MS ms)"
if (( ${#FAILED[@]} )); then
    for f in "${FAILED[@]}"; do echo "FAIL: case $f" >&2; done
    die "${#FAILED[@]} of $(wc -w <<<"$T81_CASES") ALUA case(s) failed"
fi
echo "PASS: t_81_alua ($(wc -w <<<"$T81_CASES") cases, zero I/O errors, zero verify failures)"
