#!/usr/bin/env bash
# e2e: 64 MiB of random data in with qemu-img convert, out with nbdcopy, byte-identical.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/tgt.sh
need_root
need_tool qemu-img qemu-utils
need_tool nbdcopy libnbd-bin
need_tool cmp diffutils

SIZE_MB=64
tgt_setup 1 "$SIZE_MB"
SOCK="$FIX_DIR/nbd.sock"
start_daemon "$SOCK" "$(tgt_url 1)"
URI=$(nbd_uri "$SOCK")

head -c $((SIZE_MB * 1024 * 1024)) /dev/urandom >"$FIX_DIR/in.raw"

log "qemu-img convert -n: $SIZE_MB MiB of random data onto the whole export"
qemu-img convert -n -f raw -O raw "$FIX_DIR/in.raw" "$URI" || die "qemu-img convert onto $URI failed"

log "nbdcopy: the whole export back out"
nbdcopy "$URI" "$FIX_DIR/out.raw" || die "nbdcopy from $URI failed"
got=$(stat -c %s "$FIX_DIR/out.raw")
[[ $got -eq $TGT_SIZE ]] || die "nbdcopy wrote $got bytes, want $TGT_SIZE"
cmp "$FIX_DIR/in.raw" "$FIX_DIR/out.raw" || die "data read back through NBD differs from data written"
cmp "$FIX_DIR/in.raw" "$TGT_BACKING" || die "target's backing file differs from data written"

log "qemu-img compare file vs export"
rc=0; qemu-img compare -f raw -F raw "$FIX_DIR/in.raw" "$URI" || rc=$?
[[ $rc -eq 0 ]] || die "qemu-img compare: status $rc (1 = images differ, 2 = error)"

daemon_alive || die "daemon died"
stop_daemon   # clean exit, no sanitizer report
echo "t_10_copy: $SIZE_MB MiB in and out, byte-identical"
