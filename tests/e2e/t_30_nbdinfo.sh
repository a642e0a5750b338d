#!/usr/bin/env bash
# e2e: nbdinfo sees the LU's size, 512-byte minimum block size, flush/FUA, and lists disk0.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/tgt.sh
need_root
need_tool nbdinfo libnbd-bin

tgt_setup 1 96
SOCK="$FIX_DIR/nbd.sock"
start_daemon "$SOCK" "$(tgt_url 1)"
URI=$(nbd_uri "$SOCK")

# tgtd's LU has 512-byte logical blocks; qemu-nbd (stand-in mode only) advertises 1.
want_min=512
[[ ${E2E_BRIDGE:-mpiscsid} == qemu-nbd ]] && want_min=1

nbdinfo --json "$URI" >"$FIX_DIR/info.json" || die "nbdinfo --json $URI failed"
nbdinfo --list --json "$URI" >"$FIX_DIR/list.json" || die "nbdinfo --list --json $URI failed"
nbdinfo --list "$URI" >"$FIX_DIR/list.txt" || die "nbdinfo --list $URI failed"
cat "$FIX_DIR/info.json" >&2

backing_size=$(stat -c %s "$TGT_BACKING")
/usr/bin/python3 - "$FIX_DIR/info.json" "$FIX_DIR/list.json" "$backing_size" "$want_min" <<'PY' || die "nbdinfo checks failed (see FAIL lines above)"
import json, sys
info = json.load(open(sys.argv[1]))
lst = json.load(open(sys.argv[2]))
size, want_min = int(sys.argv[3]), int(sys.argv[4])
bad = []
def check(cond, msg):
    print(("ok   " if cond else "FAIL ") + msg, file=sys.stderr)
    if not cond:
        bad.append(msg)
ex = info["exports"]
check(len(ex) == 1, "one export in nbdinfo --json (got %d)" % len(ex))
e = ex[0]
check(e.get("export-name") == "disk0", "export name disk0 (got %r)" % e.get("export-name"))
check(e.get("export-size") == size, "export-size == backing file size %d (got %r)" % (size, e.get("export-size")))
check(e.get("block_size_minimum") == want_min, "block_size_minimum == %d (got %r)" % (want_min, e.get("block_size_minimum")))
bmin, bpref, bmax = (e.get(k) for k in ("block_size_minimum", "block_size_preferred", "block_size_maximum"))
if None not in (bmin, bpref, bmax):
    check(bmin <= bpref <= bmax, "block sizes ordered: min %d <= preferred %d <= max %d" % (bmin, bpref, bmax))
    check(bpref & (bpref - 1) == 0, "preferred block size %d is a power of two" % bpref)
check(e.get("can_flush") is True, "can_flush true (got %r)" % e.get("can_flush"))
check(e.get("can_fua") is True, "can_fua true (got %r)" % e.get("can_fua"))
check(e.get("is_read_only") is False, "not read-only (got %r)" % e.get("is_read_only"))
names = [x.get("export-name") for x in lst.get("exports", [])]
check("disk0" in names, "nbdinfo --list --json lists disk0 (got %r)" % names)
sys.exit(1 if bad else 0)
PY
grep -q 'export="disk0"' "$FIX_DIR/list.txt" || { cat "$FIX_DIR/list.txt" >&2; die "nbdinfo --list does not show export=\"disk0\""; }
[[ $(nbdinfo --size "$URI") -eq $backing_size ]] || die "nbdinfo --size differs from $backing_size"

daemon_alive || die "daemon died"
stop_daemon   # clean exit, no sanitizer report
echo "t_30_nbdinfo: size $backing_size, min block $want_min, flush+fua, disk0 listed"
