#!/usr/bin/env bash
# e2e: one session per portal for every LUN of a target, against LIO (which enforces session
# reinstatement: a second login with the same initiator name and ISID to the same target portal
# group closes the first session). One guest boot, 2 portals (TPG k on 198.18.k.2, ALUA group k),
# 4 LUNs (disk0 32 MiB as LUN 0, lio_add_lun 1..3, 16 MiB each; every disk has its own ALUA
# groups). The daemon's config names the target and both portals but no LUN: every LUN of type 0
# becomes a disk, exported as lio-0 .. lio-3.
#
# Phase 1 (the fix): the 4 exports answer nbdinfo and are all the server lists; fio with crc32c
# verify on the 4 exports at once for T82_RUNTIME (30) s, every disk's ALUA groups swapped
# (A AO/B ANO -> A ANO/B AO) in the middle. Asserted: 0 fio errors and verify failures; exactly 2
# sessions: 2 "logged in to" lines in the daemon log, 2 logins accepted by the target (LIO's
# iscsi_login_stats/accepts, counted from before the daemon started), one session in each TPG's
# dynamic_sessions, 2 sessions in `mpiscsiadm -m session` each carrying LUNs 0-3 with distinct
# ISIDs; no "lost:" line.
# Phase 2 (the test can catch the bug): the daemon again with MPISCSI_TEST_SESSION_PER_LU=1 (one
# session per LU per portal, all with one ISID): the same session checks must detect the
# reinstatement storm (more logins than sessions, on the daemon's or the target's side, or lost
# sessions) within 20 s, or this test fails for being unable to see it.
# T82_HOOK=1 runs phase 1 with the hook on (the test must then FAIL), to show the guard working.
# Environment: T82_RUNTIME (fio seconds, default 30), T82_HOOK.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/tgt.sh
. tests/lib/multilun.sh
. tests/targets/lio/lio.sh
need_root
need_tool fio fio
need_tool nbdinfo libnbd-bin
need_tool timeout coreutils
fio --enghelp=nbd 2>/dev/null | grep -q '^uri' || die "this fio has no nbd engine with a 'uri' option (package fio >= 3.17)"
[[ -x $BUILD/bin/mpiscsid && -x $BUILD/bin/mpiscsiadm ]] || die "$BUILD/bin/mpiscsid not built (run: make all)"

: "${T82_RUNTIME:=30}" "${T82_HOOK:=0}"
T_START=$(date +%s%N)
LUNS="0 1 2 3"
EXPORTS=(lio-0 lio-1 lio-2 lio-3)

lio_setup 2 32
for l in 1 2 3; do lio_add_lun "$l" 16; done
baseline=""
for l in $LUNS; do baseline+="${baseline:+ && }alua_state $l pgA 0 && alua_state $l pgB 1"; done
lio_cmd "$baseline" >&2 || die "guest: cannot set the initial ALUA states"
echo "# LIO guest boot-to-ready: $LIO_BOOT_MS ms; 4 LUNs behind $LIO_IQN on 2 TPGs"

SOCK="$FIX_DIR/nbd.sock"
CONF="$FIX_DIR/mpiscsi.conf"
{
    printf '[global]\ninitiator_name = iqn.2026-11.org.mpiscsi.test:ini-%s\n' "$LIO_SUF"
    printf '[nbd]\nlisten = unix:%s\n' "$SOCK"
    printf '[disk lio]\ntarget = %s\n' "$LIO_IQN"
    printf 'portal = 198.18.1.2:3260\nportal = 198.18.2.2:3260\n'
    printf 'alua = auto\nalua_refresh = 5\nno_path_retry = 20\n'
} >"$CONF"
out=$("$BUILD/bin/mpiscsid" --check-config -c "$CONF" 2>&1) || { printf '%s\n' "$out" >&2; die "config refused: $CONF"; }
[[ $FIX_LOGDIR -ef $FIX_DIR ]] || cp "$CONF" "$FIX_LOGDIR/mpiscsi.conf"
DAEMON_ARGS=(-c "$CONF")

# ---------------------------------------------------------------- target-side session counters
# logins the target accepted (all TPGs of the target), from the iSCSI MIB statistics in configfs
target_accepts() {
    local out
    out=$(lio_cmd 'cat $T/iscsi/$IQN/fabric_statistics/iscsi_login_stats/accepts') || die "guest: cannot read login stats"
    out=$(tr -dc '0-9' <<<"$out")
    [[ -n $out ]] || die "guest: empty login stats"
    printf '%s\n' "$out"
}
# sessions TPG $1 has now (one initiator name per line in dynamic_sessions, demo-mode ACLs)
target_sessions() {
    local out
    out=$(lio_cmd "cat \$T/iscsi/\$IQN/tpgt_$1/dynamic_sessions" | tr -d '\r\0') || die "guest: cannot read dynamic_sessions"
    grep -c 'iqn\.' <<<"$out" || true
}

# session_verdict WANT LOG0 ACC0: sets VERDICT to "" if the daemon has exactly WANT sessions and
# no more logins than that since log line LOG0 / target accept count ACC0, else to the reasons;
# SESS_NUMS to the numbers seen
session_verdict() {
    local want=$1 log0=$2 acc0=$3 logins losses acc isids n1 n2 snap nisid
    snap=$(log_from "$log0")   # one snapshot: the log grows fast during a storm
    logins=$(count_logins <<<"$snap") losses=$(count_losses <<<"$snap")
    isids=$(list_isids <<<"$snap" | sort | uniq -d | tr '\n' ' ') nisid=$(list_isids <<<"$snap" | wc -l)
    acc=$(( $(target_accepts) - acc0 ))
    n1=$(target_sessions 1) n2=$(target_sessions 2)
    SESS_NUMS="daemon logins $logins, lost $losses; target accepted $acc logins, has $n1+$n2 sessions"
    VERDICT=""
    (( logins == want )) || VERDICT+="$logins 'logged in to' lines in the daemon log (want $want); "
    (( acc == want )) || VERDICT+="the target accepted $acc logins (want $want); "
    (( losses == 0 )) || VERDICT+="$losses lost sessions in the daemon log; "
    (( n1 == 1 && n2 == 1 )) || VERDICT+="the target has $n1 session(s) on TPG 1 and $n2 on TPG 2 (want 1 and 1); "
    [[ -z $isids ]] || VERDICT+="ISID(s) $isids logged in more than once; "
    (( nisid == logins )) || VERDICT+="$(( logins - nisid )) 'logged in to' line(s) without ', ISID 0x...'; "
    return 0
}

# ---------------------------------------------------------------- phase 1
acc0=$(target_accepts)
if (( T82_HOOK )); then
    log "T82_HOOK=1: phase 1 runs with MPISCSI_TEST_SESSION_PER_LU=1, this test must FAIL"
    export MPISCSI_TEST_SESSION_PER_LU=1
fi
t0=$(date +%s%N)
start_daemon "$SOCK"
unset MPISCSI_TEST_SESSION_PER_LU
CTL=$DAEMON_CTL
if ! wait_until 30 exports_answer "$SOCK" "${EXPORTS[@]}"; then
    log "exports listed: $(export_list "$SOCK" | tr '\n' ' ')"
    { log_from 0 | tail -n 20 | sed 's/^/#   daemon: /' >&2; } || true
    die "the 4 exports ${EXPORTS[*]} do not all answer nbdinfo 30 s after the daemon start"
fi
log "4 exports answer $(( ($(date +%s%N) - t0) / 1000000 )) ms after the daemon start"
listed=$(export_list "$SOCK" | grep -v '^$' | tr '\n' ' ')
[[ $listed == "lio-0 lio-1 lio-2 lio-3 " ]] || die "the server lists exports '$listed', want exactly lio-0 lio-1 lio-2 lio-3"

mfio_start main "$T82_RUNTIME" "$SOCK" "${EXPORTS[@]}"
sleep $(( T82_RUNTIME / 2 ))   # the scenario: half the run before the ALUA switch
mfio_alive || { mfio_wait 5; die "fio ended before the ALUA switch: $MFIO_RES"; }
switch=""
for l in $LUNS; do switch+="${switch:+ && }alua_state $l pgA 1 && alua_state $l pgB 0"; done
lio_cmd "$switch" >&2 || die "guest: ALUA switch failed"
log "ALUA switch: every disk's group A active/non-optimized, group B active/optimized"
mfio_wait
log "fio: $MFIO_IOS I/Os: $MFIO_RES"
daemon_alive || die "the daemon died; log: $DAEMON_LOG"
session_verdict 2 0 "$acc0"
log "sessions: $SESS_NUMS"
fails=()
(( MFIO_OK )) || fails+=("fio on the 4 exports: $MFIO_RES")
[[ -z $VERDICT ]] || fails+=("sessions: $VERDICT")
n=$(adm_session_count "$CTL")
(( n == 2 )) || fails+=("mpiscsiadm -m session lists $n sessions, want 2")
why=$(adm_session_check "$CTL" 2 "$LUNS" 2>&1) || fails+=("mpiscsiadm -m session --json: $why")
"$BUILD/bin/mpiscsiadm" -s "$CTL" -m session -P 1 2>&1 | sed 's/^/#   /' >&2 || true
if (( ${#fails[@]} )); then
    for f in "${fails[@]}"; do echo "FAIL: $f" >&2; done
    { log_from 0 | grep -E 'logged in|lost|ISID|LUN' | head -n 20 | sed 's/^/#   daemon: /' >&2; } || true
    die "phase 1 (one session per portal, 4 LUNs): ${#fails[@]} check(s) failed"
fi
echo "ok phase 1: 4 disks, 2 sessions (daemon and target agree), $MFIO_IOS verified I/Os across an ALUA switch, 0 errors"
stop_daemon
mv "$DAEMON_LOG" "$FIX_LOGDIR/daemon-phase1.log"

# ---------------------------------------------------------------- phase 2: the hook
(( ! T82_HOOK )) || exit 0
acc0=$(target_accepts)
export MPISCSI_TEST_SESSION_PER_LU=1
start_daemon "$SOCK"
unset MPISCSI_TEST_SESSION_PER_LU
storm() { session_verdict 2 0 "$acc0"; [[ -n $VERDICT ]] && (( $(daemon_logins 0) > 2 || $(target_accepts) - acc0 > 2 )); }
t0=$(date +%s%N)
if ! wait_until 20 storm; then
    session_verdict 2 0 "$acc0"
    die "phase 2: with MPISCSI_TEST_SESSION_PER_LU=1 (one ISID for a session per LU) no reinstatement storm seen in 20 s ($SESS_NUMS): the session checks cannot catch the bug"
fi
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
log "phase 2 (hook): $SESS_NUMS; checks: $VERDICT"
daemon_alive || die "phase 2: the daemon died under the storm; log: $DAEMON_LOG"
stop_daemon
mv "$DAEMON_LOG" "$FIX_LOGDIR/daemon-phase2-hook.log"
echo "ok phase 2: the per-LU session hook is detected within $ms ms ($SESS_NUMS)"
echo "# t_82_multilun: $(( ($(date +%s%N) - T_START) / 1000000000 )) s in all (guest boot $LIO_BOOT_MS ms)"
echo "PASS: t_82_multilun"
