#!/usr/bin/env bash
# e2e: path identity guard. The daemon serves LUN 1 over 4 paths; tgtd is restarted with the
# same IQN and LUN but a different LU (new backing file, new scsi_id and scsi_sn). The
# reconnecting paths must be refused with a log line naming both identities; the NBD export
# keeps its identity: no I/O reaches the other LU (its backing file stays all zero), reads
# never return its data, and once the original LU is back the export works again.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/tgt.sh
. tests/lib/faults.sh
need_root
need_tool qemu-io qemu-utils
need_tool timeout coreutils

start_cross_daemon 2 2 64 "no_path_retry = 3"

qio_ok -c 'write -P 0xa5 0 1M' || die "initial write failed"
OLD_ID=$(grep -o 'id [a-z0-9]*\.[0-9a-fA-F]*' "$DAEMON_LOG" | head -n 1 | cut -d' ' -f2)
[[ -n $OLD_ID ]] || die "no LU identity ('id naa....') in the daemon log"
log "LU identity: $OLD_ID"

# save the original LU, swap in another one behind the same IQN/LUN
ORIG=("$TGT_BACKING" "$TGT_SIZE")
tgt_stop
tgt_new_identity 64
NEW_BACKING=$TGT_BACKING
tgt_start
log "target restarted with another LU: $NEW_BACKING, scsi_id $TGT_SCSI_ID"

# every path that logs in again must be refused, naming both identities
refused() { grep -v 'nbd: client' "$DAEMON_LOG" | grep -F "$OLD_ID" | grep -qiE 'refus|mismatch|identity|differ'; }
wait_until 20 refused || { grep -v 'nbd: client' "$DAEMON_LOG" | tail -n 15 >&2; die "no log line refusing the other LU"; }
LINE=$(grep -v 'nbd: client' "$DAEMON_LOG" | grep -F "$OLD_ID" | grep -iE 'refus|mismatch|identity|differ' | head -n 1)
log "refusal: $LINE"
NEW_ID=$(grep -oE '(naa|eui|t10|name)\.[0-9A-Za-z.:-]+' <<<"$LINE" | grep -vxF "$OLD_ID" | head -n 1 || true)
[[ -n $NEW_ID ]] || die "the refusal line does not name the other LU's identity: $LINE"
daemon_alive || die "daemon died"

# the export must not serve the other LU: reads fail (no usable path) or return the old data
rc=0; out=$(qio -c 'read -P 0xa5 0 64k' 2>&1) || rc=$?
if (( rc == 0 )) && ! grep -qi 'failed\|error' <<<"$out"; then
    log "read during the swap returned the original data (served from where?)"
fi
grep -qi 'Pattern verification failed' <<<"$out" && die "the export returned another LU's data: $out"
rc=0; out=$(qio -c 'write -P 0x5a 1M 64k' 2>&1) || rc=$?
cmp -s -n "$((64 * 1024 * 1024))" "$NEW_BACKING" /dev/zero ||
    die "I/O reached the other LU (its backing file is no longer all zero)"
daemon_alive || die "daemon died"
if ctl_available && [[ -n ${DAEMON_CTL:-} ]]; then
    "$BUILD/bin/mpiscsiadm" -s "$DAEMON_CTL" show paths >&2 || true
fi

# the original LU returns: the paths come back and the export works with its data
tgt_stop
TGT_BACKING=${ORIG[0]} TGT_SIZE=${ORIG[1]} TGT_SCSI_ID= TGT_SCSI_SN=
tgt_start
# Either the daemon retries the refused paths by itself (checking the identity again), or the
# operator reinstates them.
if ! wait_until 10 qio_ok -c 'read -P 0xa5 0 1M'; then
    ctl_available && [[ -n ${DAEMON_CTL:-} ]] || die "the export does not work again with the original LU"
    log "the refused paths stay failed: reinstating them with mpiscsiadm"
    for id in $(ctl_paths "$DAEMON_CTL" | awk '{ print $1 }'); do
        "$BUILD/bin/mpiscsiadm" -s "$DAEMON_CTL" reinstate path "$id" || die "mpiscsiadm reinstate path $id failed"
    done
    wait_until 20 qio_ok -c 'read -P 0xa5 0 1M' || {
        "$BUILD/bin/mpiscsiadm" -s "$DAEMON_CTL" show paths >&2 || true
        die "the export does not work again with the original LU (paths reinstated)"; }
fi
cmp -s -n "$((64 * 1024 * 1024))" "$NEW_BACKING" /dev/zero || die "I/O reached the other LU"
daemon_alive || die "daemon died"
stop_daemon
echo "t_73_identity: other LU refused ($OLD_ID vs $NEW_ID), no I/O reached it, original LU works again"
