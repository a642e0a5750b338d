#!/usr/bin/env bash
# e2e: malformed NBD clients (tests/helpers/nbd_badclient) cost neither data nor the daemon.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/tgt.sh
need_root
need_tool qemu-io qemu-utils
need_tool timeout coreutils

BAD="$BUILD/tests/nbd_badclient"
[[ -x $BAD ]] || die "$BAD not built (tests/helpers/nbd_badclient.c; run: make all)"

tgt_setup 1 64
SOCK="$FIX_DIR/nbd.sock"
start_daemon "$SOCK" "$(tgt_url 1)"
URI=$(nbd_uri "$SOCK")

qio() {
    local -a args=() c
    for c in "$@"; do args+=(-c "$c"); done
    local out rc=0
    out=$(qemu-io -f raw "${args[@]}" "$URI" 2>&1) || rc=$?
    if (( rc != 0 )) || grep -qiE 'verification failed|fail|error' <<<"$out"; then
        printf '%s\n' "$out" >&2
        die "qemu-io: status $rc running: $*"
    fi
}

M=$((1024 * 1024))
log "writing reference data before the bad client"
qio "write -P 0x5c 0 2M" "write -P 0xa3 $((32 * M)) 1M" "write -P 0x7e $((63 * M)) 1M" "flush"

log "running $BAD $SOCK disk0"
rc=0
timeout 300 "$BAD" "$SOCK" disk0 || rc=$?
(( rc != 124 )) || die "nbd_badclient did not finish within 300 s"
(( rc == 0 )) || die "nbd_badclient failed (status $rc); daemon log: $DAEMON_LOG"

daemon_alive || { tail -n 30 "$DAEMON_LOG" >&2; die "daemon (pid ${DAEMON_PID:-?}) died during the bad client run"; }

log "a second client still reads the reference data"
qio "read -P 0x5c 0 2M" "read -P 0xa3 $((32 * M)) 1M" "read -P 0x7e $((63 * M)) 1M"
log "and can still write and read"
qio "write -P 0x3d $((10 * M)) 1M" "read -P 0x3d $((10 * M)) 1M"

daemon_alive || die "daemon died"
stop_daemon   # clean exit, no sanitizer report
echo "t_50_badclient: daemon alive, data intact"
