#!/usr/bin/env bash
# Demo: a local tgtd target reachable over two paths, mpiscsid exporting its LU as an NBD disk, until Ctrl-C.
#
# DEMO_SECONDS=N exits after N seconds (for CI); otherwise waits for Ctrl-C (at most 24 h).
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/lib/tgt.sh
need_root
need_tool nbdinfo libnbd-bin

tgt_setup 2 256
SOCK="$FIX_DIR/nbd.sock"
URL1=$(tgt_url 1)
URL2=$(tgt_url 2)
start_daemon "$SOCK" "$URL1" "$URL2"
URI=$(nbd_uri "$SOCK")

cat <<MSG

== mpiscsi demo ==================================================================
target     tgtd pid $TGT_PID in namespace $TGT_NS, LU 1 of $TGT_IQN
           256 MiB, backed by $TGT_BACKING
paths      $URL1
           $URL2
daemon     mpiscsid pid $DAEMON_PID in namespace $INI_NS, log $DAEMON_LOG
NBD socket $SOCK
NBD URI    $URI

MSG
echo "\$ nbdinfo '$URI'"
nbdinfo "$URI" || die "nbdinfo could not read the export"
cat <<MSG

Try it (in another shell, as root; the socket is a plain Unix socket):
  qemu-img info '$URI'
  qemu-io -f raw -c 'write -P 0xab 0 1M' -c 'read -P 0xab 0 1M' '$URI'
  qemu-img convert -n -f raw -O raw image.raw '$URI'   # copy a raw image onto the disk
  nbdcopy '$URI' disk-copy.raw                          # copy the disk out
  fio --name=t --ioengine=nbd --uri='$URI' --rw=randread --bs=4k --iodepth=16 --runtime=10 --time_based
Boot a QEMU guest from the disk (a small Debian-kernel guest image; it writes and verifies
files on the disk, prints PASS or FAIL on this console, and powers off):
  $PWD/tests/targets/guest/build.sh && qemu-img convert -n -f raw -O raw $PWD/build/guest-cache/guest.img '$URI'
  qemu-system-x86_64 -nodefaults -machine q35 -accel tcg -m 256 -display none -serial stdio -no-reboot \\
      -drive 'file=$URI,format=raw,if=virtio,cache=none'
Fault injection (path 1 down / up):
  ip -n $INI_NS link set veth1 down
  ip -n $INI_NS link set veth1 up
MSG

if [[ -n ${DEMO_SECONDS:-} ]]; then
    [[ $DEMO_SECONDS =~ ^[0-9]+$ ]] || die "DEMO_SECONDS must be a number of seconds"
    limit=$DEMO_SECONDS
    echo; echo "Running for $limit s (DEMO_SECONDS); everything is removed afterwards."
else
    limit=86400
    echo; echo "Press Ctrl-C to stop; everything is removed afterwards."
fi
end=$((SECONDS + limit))
while (( SECONDS < end )); do
    daemon_alive || { tail -n 30 "$DAEMON_LOG" >&2; die "the daemon exited; log above"; }
    sleep 0.5
done
echo "demo: done"
