#!/usr/bin/env bash
# e2e: fio (nbd engine) random mixed I/O, 4k-256k at iodepth 16, crc32c-verified, zero errors.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/tgt.sh
need_root
need_tool fio fio

RUNTIME=${E2E_FIO_SECONDS:-20}
tgt_setup 1 256
SOCK="$FIX_DIR/nbd.sock"
start_daemon "$SOCK" "$(tgt_url 1)"
URI=$(nbd_uri "$SOCK")
fio --enghelp=nbd 2>/dev/null | grep -q '^uri' || die "this fio has no nbd engine with a 'uri' option (package fio >= 3.17)"

# Phase 1: random writes, each batch of 64 verified (crc32c header + data) right after it
# was written, plus random reads mixed in (fio verifies reads of blocks it wrote).
# Phase 2: the same written data read back and verified with a separate job
# (verify_only replays the write sequence of a size-based job).
run_fio() {
    local name=$1; shift
    local rc=0
    fio --name="$name" --ioengine=nbd --uri="$URI" \
        --bssplit=4k/30:16k/20:64k/30:256k/20 --iodepth=16 \
        --verify=crc32c --do_verify=1 --verify_fatal=1 --verify_state_save=0 \
        --output-format=json --output="$FIX_DIR/$name.json" "$@" >"$FIX_DIR/$name.out" 2>&1 || rc=$?
    cat "$FIX_DIR/$name.out" >&2
    (( rc == 0 )) || die "fio $name exited with status $rc"
    /usr/bin/python3 - "$FIX_DIR/$name.json" "$name" <<'PY' || die "fio $name reported errors (see above)"
import json, sys
d = json.load(open(sys.argv[1]))
bad = False
for j in d["jobs"]:
    r, w = j["read"], j["write"]
    print("%s: read %d I/Os %.0f IOPS %.1f MiB/s, write %d I/Os %.0f IOPS %.1f MiB/s, error %d"
          % (sys.argv[2], r["total_ios"], r["iops"], r["bw_bytes"] / 2**20,
             w["total_ios"], w["iops"], w["bw_bytes"] / 2**20, j["error"]))
    if j["error"] != 0:
        print("FAIL job error %d" % j["error"], file=sys.stderr); bad = True
    if j.get("total_err", 0):
        print("FAIL total_err %d" % j["total_err"], file=sys.stderr); bad = True
    if sys.argv[2] != "write" and r["total_ios"] == 0:
        print("FAIL no verify reads happened", file=sys.stderr); bad = True
    if sys.argv[2] != "verify" and w["total_ios"] == 0:
        print("FAIL no writes happened", file=sys.stderr); bad = True
sys.exit(1 if bad else 0)
PY
}

log "phase 1: ${RUNTIME}s randrw (70% writes) with verify_backlog"
run_fio mixed --rw=randrw --rwmixread=30 --verify_backlog=64 --time_based --runtime="$RUNTIME"
log "phase 2: 128 MiB random writes (each block once), then read back and verified"
run_fio write --rw=randwrite --size=128M --do_verify=0
run_fio verify --rw=randwrite --size=128M --verify_only

daemon_alive || die "daemon died"
stop_daemon   # clean exit, no sanitizer report
echo "t_40_fio: verified, zero errors"
