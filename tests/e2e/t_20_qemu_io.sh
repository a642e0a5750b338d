#!/usr/bin/env bash
# e2e: qemu-io patterned, unaligned, FUA, discard and write-zeroes I/O through the export, verified.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/tgt.sh
need_root
need_tool qemu-io qemu-utils
need_tool nbdinfo libnbd-bin

tgt_setup 1 64
SOCK="$FIX_DIR/nbd.sock"
start_daemon "$SOCK" "$(tgt_url 1)"
URI=$(nbd_uri "$SOCK")

# qio TARGET CMD... : one qemu-io run (-f raw) with one -c per CMD; fails the test on a
# non-zero exit or on any failure text in its output.
qio() {
    local target=$1; shift
    local -a args=() c
    for c in "$@"; do args+=(-c "$c"); done
    local out rc=0
    out=$(qemu-io -f raw "${args[@]}" "$target" 2>&1) || rc=$?
    printf '%s\n' "$out" | grep -E '^(wrote|read|discard|flush|Pattern|.*fail|.*rror)' >&2 || true
    if (( rc != 0 )) || grep -qiE 'verification failed|fail|error|mismatch' <<<"$out"; then
        printf '%s\n' "$out" >&2
        die "qemu-io on $target: status $rc running: $*"
    fi
}

M=$((1024 * 1024))
log "aligned patterned writes, then reads with pattern checks"
qio "$URI" "write -P 0xab 0 1M" "write -P 0xcd 1M 4M" "write -P 0x11 $((60 * M)) 4M" \
    "read -P 0xab 0 1M" "read -P 0xcd 1M 4M" "read -P 0x11 $((60 * M)) 4M"

log "sector-aligned but not 1 MiB-aligned offsets and sizes"
qio "$URI" "write -P 0x21 $((8 * M + 512)) $((3 * M + 1536))" "write -P 0x22 $((13 * M - 4096)) 12288" \
    "write -P 0x23 $((63 * M + 3584)) 512" \
    "read -P 0x21 $((8 * M + 512)) $((3 * M + 1536))" "read -P 0x22 $((13 * M - 4096)) 12288" \
    "read -P 0x23 $((63 * M + 3584)) 512" "read -P 0 $((8 * M)) 512" "read -P 0 $((11 * M + 2048)) 1024"

log "byte-unaligned write (read-modify-write in the client)"
qio "$URI" "write -P 0x31 $((16 * M)) 1M" "write -P 0x32 $((16 * M + 1001)) 3333" \
    "read -P 0x31 $((16 * M)) 1001" "read -P 0x32 $((16 * M + 1001)) 3333" \
    "read -P 0x31 $((16 * M + 4334)) $((M - 4334))"

log "FUA writes, aio writes, flush"
qio "$URI" "write -f -P 0x41 $((20 * M)) 64k" "write -f -P 0x42 $((20 * M + 65536)) 1M" \
    "aio_write -P 0x43 $((22 * M)) 256k" "aio_write -P 0x44 $((23 * M)) 1M" "aio_flush" "flush" \
    "read -P 0x41 $((20 * M)) 64k" "read -P 0x42 $((20 * M + 65536)) 1M" \
    "read -P 0x43 $((22 * M)) 256k" "read -P 0x44 $((23 * M)) 1M"

log "the data is on the target (backing file read directly)"
qio "$TGT_BACKING" "read -P 0xab 0 1M" "read -P 0x42 $((20 * M + 65536)) 1M" "read -P 0x44 $((23 * M)) 1M"

log "write zeroes (write -z) over patterned data"
qio "$URI" "write -P 0x51 $((30 * M)) 4M" "write -z $((31 * M)) 2M" \
    "read -P 0x51 $((30 * M)) 1M" "read -P 0 $((31 * M)) 2M" "read -P 0x51 $((33 * M)) 1M"
qio "$URI" "write -P 0x52 $((36 * M)) 1M" "write -z -u $((36 * M)) 512k" \
    "read -P 0 $((36 * M)) 512k" "read -P 0x52 $((36 * M + 524288)) 512k"

if nbdinfo --can trim "$URI"; then
    # tgtd's LU is thin-provisioned (LBPRZ=1): unmapped blocks read back as zeroes.
    log "trim advertised: discard then read zeroes"
    qio "$URI" "write -P 0x61 $((40 * M)) 4M" "discard $((41 * M)) 2M" \
        "read -P 0x61 $((40 * M)) 1M" "read -P 0 $((41 * M)) 2M" "read -P 0x61 $((43 * M)) 1M"
else
    rc=$?
    [[ $rc -eq 2 ]] || die "nbdinfo --can trim failed (status $rc)"
    log "trim NOT advertised by the export: discard check not applicable"
fi

log "earlier data is intact"
qio "$URI" "read -P 0xab 0 1M" "read -P 0xcd 1M 4M" "read -P 0x11 $((60 * M)) 3M" "read -P 0x23 $((63 * M + 3584)) 512" \
    "read -P 0x21 $((8 * M + 512)) $((3 * M + 1536))" "read -P 0x41 $((20 * M)) 64k"

daemon_alive || die "daemon died"
stop_daemon   # clean exit, no sanitizer report
echo "t_20_qemu_io: all patterns verified"
