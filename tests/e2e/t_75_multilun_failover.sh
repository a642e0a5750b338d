#!/usr/bin/env bash
# e2e: a NIC going down fails over every LU that used it. tgtd, 2 NICs x 2 portals (cross-routed,
# tgt_setup_cross), one target with LUNs 1..4 (32 MiB each; LUN 0 is tgtd's controller). The config
# names the LUNs (luns = 1,2-4): disks and exports tgt-1 .. tgt-4, all four sharing one session per
# NIC and portal.
# Asserted:
#   - before the fault: exactly 4 sessions (2 NICs x 2 portals): 4 "logged in to" lines in the
#     daemon log, 4 I_T nexuses in tgtadm --op show, 4 sessions in `mpiscsiadm -m session`, each
#     carrying LUNs 1-4 with an ISID no other session to the target has;
#   - fio with crc32c verify on the 4 exports at once; veth1 goes down for T75_DOWN_S (4) s and comes
#     back: 0 errors and 0 verify failures on all 4, longest stall < T75_MAX_STALL_MS (5000);
#   - the fault costs exactly NIC 1's 2 sessions (2 "lost:" lines), and after the NIC is back
#     exactly those 2 log in again (6 logins in all, within 20 s), 4 sessions again in mpiscsiadm.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/tgt.sh
. tests/lib/faults.sh
. tests/lib/multilun.sh
need_root
need_tool fio fio
need_tool nbdinfo libnbd-bin
need_tool timeout coreutils
fio --enghelp=nbd 2>/dev/null | grep -q '^uri' || die "this fio has no nbd engine with a 'uri' option (package fio >= 3.17)"

: "${T75_DOWN_S:=4}" "${T75_MAX_STALL_MS:=5000}" "${T75_RUNTIME:=16}"
EXPORTS=(tgt-1 tgt-2 tgt-3 tgt-4)

tgt_setup_cross 2 2 32
for l in 2 3 4; do tgt_add_lun "$l" 32; done
SOCK="$FIX_DIR/nbd.sock"
CONF="$FIX_DIR/mpiscsi.conf"
{
    printf '[global]\ninitiator_name = iqn.2026-11.org.mpiscsi.test:ini-%s\n' "$TGT_SUF"
    printf '[nbd]\nlisten = unix:%s\n' "$SOCK"
    printf '[disk tgt]\ntarget = %s\nluns = 1,2-4\n' "$TGT_IQN"
    printf 'portal = 198.18.1.2:3260\nportal = 198.18.2.2:3260\ninterface = veth1\ninterface = veth2\n'
    printf 'no_path_retry = 20\n'
} >"$CONF"
out=$(ini_exec "$BUILD/bin/mpiscsid" --check-config -c "$CONF" 2>&1) || { printf '%s\n' "$out" >&2; die "config refused: $CONF"; }
DAEMON_ARGS=(-c "$CONF")
start_daemon "$SOCK"
CTL=$DAEMON_CTL
wait_until 20 exports_answer "$SOCK" "${EXPORTS[@]}" ||
    die "the exports ${EXPORTS[*]} do not all answer 20 s after the start (listed: $(export_list "$SOCK" | tr '\n' ' '))"
listed=$(export_list "$SOCK" | tr '\n' ' ')
[[ $listed == "tgt-1 tgt-2 tgt-3 tgt-4 " ]] || die "the server lists '$listed', want exactly tgt-1 .. tgt-4"

# ---- 4 sessions, seen from both sides
nexuses() { tgtadm -C "$TGT_CTL" --lld iscsi --op show --mode target | grep -cE '^\s*I_T nexus: [0-9]+' || true; }
# every path of every LU up: wait for the sessions to settle (bounded), then count
four() { (( $(daemon_logins 0) >= 4 && $(nexuses) >= 4 )); }
wait_until 15 four || true
fails=()
n=$(daemon_logins 0); (( n == 4 )) || fails+=("$n 'logged in to' lines in the daemon log, want 4 (2 NICs x 2 portals)")
n=$(nexuses); (( n == 4 )) || fails+=("tgtd has $n I_T nexuses, want 4")
n=$(adm_session_count "$CTL"); (( n == 4 )) || fails+=("mpiscsiadm -m session lists $n sessions, want 4")
why=$(adm_session_check "$CTL" 4 "1 2 3 4" 2>&1) || fails+=("mpiscsiadm -m session --json: $why")
if (( ${#fails[@]} )); then
    for f in "${fails[@]}"; do echo "FAIL: $f" >&2; done
    "$BUILD/bin/mpiscsiadm" -s "$CTL" -m session -P 1 2>&1 | sed 's/^/#   /' >&2 || true
    die "not exactly 4 sessions for 4 LUNs over 2 NICs x 2 portals"
fi
log "4 sessions (daemon log, tgtd I_T nexuses, mpiscsiadm) for 4 LUNs"
"$BUILD/bin/mpiscsiadm" -s "$CTL" -m session 2>&1 | sed 's/^/#   /' >&2 || true

# ---- NIC 1 down under verified I/O on all four
mfio_start failover "$T75_RUNTIME" "$SOCK" "${EXPORTS[@]}"
sleep 4   # the scenario: I/O on all paths before the fault
mfio_alive || { mfio_wait 5; die "fio ended before the fault: $MFIO_RES"; }
L0=$(log_lines)
fault_nic_down 1
sleep "$T75_DOWN_S"   # the fault's duration
daemon_alive || die "the daemon died with NIC 1 down; log: $DAEMON_LOG"
lost=$(daemon_losses "$L0")
fault_nic_up 1
mfio_wait
log "fio on 4 exports: $MFIO_IOS I/Os, longest stall $MFIO_STALL_MS ms: $MFIO_RES"
(( MFIO_OK )) || die "fio saw errors while NIC 1 was down: $MFIO_RES"
(( MFIO_STALL_MS < T75_MAX_STALL_MS )) || die "fio stalled $MFIO_STALL_MS ms (>= $T75_MAX_STALL_MS) when NIC 1 went down"
(( lost == 2 )) || die "NIC 1 down: $lost lost sessions in the daemon log, want 2 (NIC 1's sessions to the 2 portals)"
# (tgtd's side is not counted again: it keeps the nexuses of the connections that died with the
# NIC until it notices, which is not this test's business)
six() { (( $(daemon_logins 0) >= 6 )); }
wait_until 20 six || die "NIC 1 back: $(daemon_logins 0) logins in all after 20 s (want NIC 1's 2 sessions back: 6 logins)"
n=$(daemon_logins 0)
(( n == 6 )) || die "NIC 1 back: $n logins in all, want 6 (4 + NIC 1's 2 sessions, not one per LU)"
why=$(adm_session_check "$CTL" 4 "1 2 3 4" 2>&1) || die "after the fault, mpiscsiadm -m session --json: $why"
daemon_alive || die "the daemon died; log: $DAEMON_LOG"
stop_daemon
echo "ok: 4 LUNs over 4 sessions; NIC 1 down ${T75_DOWN_S} s: $MFIO_IOS verified I/Os on 4 exports, 0 errors, longest stall $MFIO_STALL_MS ms; 2 sessions lost and back"
echo "PASS: t_75_multilun_failover"
