#!/usr/bin/env bash
# e2e: all paths down. 2 NICs x 2 portals, no_path_retry = 3 (seconds).
#  A: both NICs down 1.5 s (< no_path_retry): a read issued during the outage is queued and
#     succeeds once the paths return, with the data written before.
#  B: both NICs down 8 s (> no_path_retry): a read issued during the outage fails with EIO
#     after ~3 s (not before 2 s, not after 8 s); the daemon stays alive; after healing,
#     reads and writes work again.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/tgt.sh
. tests/lib/faults.sh
need_root
need_tool qemu-io qemu-utils
need_tool timeout coreutils

start_cross_daemon 2 2 64 "no_path_retry = 3"

qio_ok -c 'write -P 0xa5 0 64k' || die "initial write failed"
qio_ok -c 'read -P 0xa5 0 64k' || die "initial read-back failed"

# ---------------------------------------------------------------- A: outage < no_path_retry
fault_nic_down 1; fault_nic_down 2
t0=$(fault_ts_ms)
qio -c 'read -P 0xa5 0 64k' >"$FIX_DIR/a.out" 2>&1 &
qpid=$!
fixture_trap_add "fixture_kill $qpid"
sleep 1.5            # the outage (scenario)
fault_nic_up 1; fault_nic_up 2
rc=0; wait "$qpid" || rc=$?
t1=$(fault_ts_ms)
cat "$FIX_DIR/a.out" >&2
(( rc == 0 )) && ! grep -qi 'failed\|error' "$FIX_DIR/a.out" ||
    die "A: a read queued during a 1.5 s outage (no_path_retry 3) failed"
log "A: read issued during the outage completed after $((t1 - t0)) ms"
daemon_alive || die "A: daemon died"

# ---------------------------------------------------------------- B: outage > no_path_retry
wait_until 10 qio_ok -c 'read -P 0xa5 0 4k' || die "B: paths did not come back after A"
fault_nic_down 1; fault_nic_down 2
t0=$(fault_ts_ms)
rc=0; qio -c 'read 0 4k' >"$FIX_DIR/b.out" 2>&1 || rc=$?
t1=$(fault_ts_ms)
cat "$FIX_DIR/b.out" >&2
(( rc != 0 )) || grep -qi 'failed\|error' "$FIX_DIR/b.out" ||
    die "B: a read during an outage longer than no_path_retry succeeded"
grep -qi 'Input/output error' "$FIX_DIR/b.out" || die "B: the read failed, but not with EIO (output above)"
el=$((t1 - t0))
log "B: read failed with EIO after $el ms (no_path_retry = 3 s)"
(( el >= 2000 )) || die "B: the read failed after $el ms: before no_path_retry (3 s)"
(( el <= 8000 )) || die "B: the read failed only after $el ms (no_path_retry is 3 s)"
daemon_alive || die "B: daemon died with all paths down"
# a write during the outage fails too; the daemon stays alive
rc=0; out=$(qio -c 'write -P 0x5a 64k 4k' 2>&1) || rc=$?
(( rc != 0 )) || grep -qi 'failed\|error' <<<"$out" || die "B: a write with all paths down succeeded"
sleep 2              # keep the outage a little longer (scenario)
daemon_alive || die "B: daemon died"
fault_nic_up 1; fault_nic_up 2
wait_until 15 qio_ok -c 'read -P 0xa5 0 64k' || die "B: reads do not work again after healing"
qio_ok -c 'write -P 0x3c 128k 64k' -c 'read -P 0x3c 128k 64k' || die "B: writes do not work again after healing"
daemon_alive || die "daemon died"
stop_daemon
echo "t_72_nopath: queued through a short outage, EIO after no_path_retry, back after healing"
