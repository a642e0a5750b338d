#!/usr/bin/env bash
# e2e: LUNs appear and disappear while the target runs (REPORT LUNS rescan on UNIT ATTENTION 3F/0E,
# which tgtd raises on every I_T nexus of the target when a LU is added or deleted). tgtd with 2
# portals (one NIC each) and LUN 1; LUN 0 is tgtd's controller (peripheral type 0x0c). The config
# names the target and both portals but no LUN: every LUN of type 0 becomes a disk "tgt-<lun>".
# Asserted:
#   - at the start exactly one export, tgt-1 (the controller is no disk), and the daemon says why
#     LUN 0 is skipped, and says it once per session at most, never again on a rescan;
#   - fio with crc32c verify runs on tgt-1 throughout;
#   - LUN 2 added with tgtadm --op new --mode logicalunit: export tgt-2 answers nbdinfo within
#     T68_APPEAR_S (5) s, and data written through it reads back;
#   - LUN 2 deleted with tgtadm --op delete --mode logicalunit: tgt-2 is no longer listed nor
#     answers within T68_GONE_S (10) s, the daemon stays up;
#   - the fio on tgt-1: 0 errors, 0 verify failures, longest stall < T68_MAX_STALL_MS (5000);
#   - the rescans cost no session: 2 "logged in to" lines for the whole run, no "lost:" line;
#   - then a daemon started with the URL iscsi://198.18.1.2:3260/IQN (no LUN; LUN 3 added
#     before) exports <target-tail>-1 and <target-tail>-3, nothing else.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/tgt.sh
. tests/lib/multilun.sh
need_root
need_tool fio fio
need_tool nbdinfo libnbd-bin
need_tool qemu-io qemu-utils
need_tool timeout coreutils
fio --enghelp=nbd 2>/dev/null | grep -q '^uri' || die "this fio has no nbd engine with a 'uri' option (package fio >= 3.17)"

: "${T68_APPEAR_S:=5}" "${T68_GONE_S:=10}" "${T68_MAX_STALL_MS:=5000}"

tgt_setup 2 64
SOCK="$FIX_DIR/nbd.sock"
CONF="$FIX_DIR/mpiscsi.conf"
{
    printf '[global]\ninitiator_name = iqn.2026-11.org.mpiscsi.test:ini-%s\n' "$TGT_SUF"
    printf '[nbd]\nlisten = unix:%s\n' "$SOCK"
    printf '[disk tgt]\ntarget = %s\nportal = 198.18.1.2:3260\nportal = 198.18.2.2:3260\nno_path_retry = 20\n' "$TGT_IQN"
} >"$CONF"
out=$("$BUILD/bin/mpiscsid" --check-config -c "$CONF" 2>&1) || { printf '%s\n' "$out" >&2; die "config refused: $CONF"; }
DAEMON_ARGS=(-c "$CONF")
start_daemon "$SOCK"
wait_until 20 export_answers "$SOCK" tgt-1 || die "export tgt-1 does not answer 20 s after the start (listed: $(export_list "$SOCK" | tr '\n' ' '))"
listed=$(export_list "$SOCK" | tr '\n' ' ')
[[ $listed == "tgt-1 " ]] || die "the server lists '$listed', want only tgt-1 (LUN 0 is tgtd's controller, not a disk)"

# the controller: one line naming LUN 0 and why it is no disk
lun0_lines() { log_from 0 | grep -iE '(^|[^0-9])LUN 0([^0-9]|$)' | grep -ciE 'skip|controller|0x0c|not a (direct|disk)|type 12' || true; }
n0=$(lun0_lines)
(( n0 >= 1 && n0 <= 2 )) || die "the daemon logged the skipped LUN 0 (controller) $n0 times at the start, want once (per session at most)"
log "LUN 0 skipped: $(log_from 0 | grep -iE '(^|[^0-9])LUN 0([^0-9]|$)' | grep -iE 'skip|controller|0x0c|not a|type 12' | head -n 1)"

mfio_start rescan 120 "$SOCK" tgt-1
sleep 2   # the scenario: fio under way before the target changes
mfio_alive || { mfio_wait 5; die "fio on tgt-1 ended at once: $MFIO_RES"; }

# ---- a LUN appears
t0=$(date +%s%N)
tgt_add_lun 2 32
if ! wait_until "$T68_APPEAR_S" export_answers "$SOCK" tgt-2; then
    mfio_stop
    { log_from 0 | tail -n 15 | sed 's/^/#   daemon: /' >&2; } || true
    die "LUN 2 added on the target: export tgt-2 does not answer within $T68_APPEAR_S s (listed: $(export_list "$SOCK" | tr '\n' ' '))"
fi
appear_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
log "LUN 2 added: export tgt-2 answers $appear_ms ms after tgtadm returned"
U2=$(export_uri "$SOCK" tgt-2)
out=$(timeout 60 qemu-io -f raw -c 'write -P 0x5a 1M 1M' -c 'read -P 0x5a 1M 1M' "$U2" 2>&1) || die "qemu-io on tgt-2 failed: $out"
! grep -qiE 'fail|error|mismatch' <<<"$out" || die "qemu-io on tgt-2: $out"
sz=$(timeout 10 nbdinfo --size "$U2")
(( sz == 32 * 1024 * 1024 )) || die "tgt-2 has $sz bytes, want 32 MiB"
mfio_alive || { mfio_wait 5; die "fio on tgt-1 ended while LUN 2 was added: $MFIO_RES"; }

# ---- the LUN goes away (tgtd refuses while the LU has commands queued: ask again, bounded)
lun_delete() { tgtadm -C "$TGT_CTL" --lld iscsi --op delete --mode logicalunit --tid 1 --lun 2 >/dev/null 2>&1; }
wait_until 10 lun_delete || die "tgtadm refused to delete LUN 2 for 10 s"
TGT_EXTRA_LUNS=   # (a tgt_start would not bring it back)
t0=$(date +%s%N)
gone() { ! export_list "$SOCK" | grep -qx tgt-2 && ! export_answers "$SOCK" tgt-2; }
if ! wait_until "$T68_GONE_S" gone; then
    mfio_stop
    { log_from 0 | tail -n 15 | sed 's/^/#   daemon: /' >&2; } || true
    die "LUN 2 deleted on the target: export tgt-2 still there after $T68_GONE_S s"
fi
gone_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
log "LUN 2 deleted: export tgt-2 gone $gone_ms ms after tgtadm returned"
daemon_alive || die "the daemon died after the LUN was deleted; log: $DAEMON_LOG"
listed=$(export_list "$SOCK" | tr '\n' ' ')
[[ $listed == "tgt-1 " ]] || die "after the delete the server lists '$listed', want only tgt-1"

# ---- the other disk never noticed
sleep 2   # the scenario: fio goes on after the removal
mfio_stop
mfio_wait
log "fio on tgt-1: $MFIO_IOS I/Os, longest stall $MFIO_STALL_MS ms: $MFIO_RES"
(( MFIO_OK )) || die "fio on tgt-1 saw errors while LUN 2 came and went: $MFIO_RES"
(( MFIO_STALL_MS < T68_MAX_STALL_MS )) || die "fio on tgt-1 stalled $MFIO_STALL_MS ms (>= $T68_MAX_STALL_MS) while LUN 2 came and went"
logins=$(daemon_logins 0) losses=$(daemon_losses 0) n1=$(lun0_lines)
(( logins == 2 )) || die "$logins 'logged in to' lines in the daemon log, want 2 (one session per portal, rescans cost no login)"
(( losses == 0 )) || die "$losses lost sessions in the daemon log, want 0"
(( n1 == n0 )) || die "the skipped controller LUN 0 was logged again on a rescan ($n0 lines at the start, $n1 now)"
stop_daemon

# ---- the URL form without a LUN takes every disk LUN too, named <target-tail>-<lun>
mv "$DAEMON_LOG" "$FIX_LOGDIR/daemon-config.log"
DAEMON_ARGS=()
tgt_add_lun 3 16
start_daemon "$FIX_DIR/url.sock" "iscsi://198.18.1.2:3260/$TGT_IQN"
tail=${TGT_IQN##*:}
wait_until 20 exports_answer "$FIX_DIR/url.sock" "$tail-1" "$tail-3" ||
    die "URL without a LUN: exports $tail-1 and $tail-3 do not answer (listed: $(export_list "$FIX_DIR/url.sock" | tr '\n' ' '))"
listed=$(export_list "$FIX_DIR/url.sock" | tr '\n' ' ')
[[ $listed == "$tail-1 $tail-3 " ]] || die "URL without a LUN: the server lists '$listed', want '$tail-1 $tail-3'"
stop_daemon
log "URL without a LUN: exports $listed"
echo "ok: tgt-2 answered $appear_ms ms after the LUN was added and was gone $gone_ms ms after it was deleted; tgt-1: $MFIO_IOS verified I/Os, 0 errors, longest stall $MFIO_STALL_MS ms; 2 sessions"
echo "PASS: t_68_lun_rescan"
