# Sourceable helpers for the multi-LUN tests (t_68, t_75, t_82, bench/scale): exports by name, one fio
# process with a verifying job per export, and session counts from the daemon log, the control socket
# and the target.
#
# Source tests/lib/tgt.sh first (die, log, wait_until, fixture_trap_add, fixture_kill, DAEMON_LOG).
#
# API
#   export_uri SOCK NAME          print nbd+unix:///NAME?socket=SOCK
#   export_answers SOCK NAME      true if nbdinfo reads the size of export NAME (bounded: 10 s)
#   exports_answer SOCK NAME...   true if every named export answers
#   export_list SOCK              print the exports the server lists (nbdinfo --list), one a line, sorted
#   mfio_start TAG RUNTIME SOCK NAME...   one fio process, one job per export NAME (nbd engine,
#                                 randrw 4k-64k, iodepth 8, crc32c verify, verify_fatal, time_based
#                                 RUNTIME s, stopped early by mfio_stop); JSON to $FIX_LOGDIR/fio-TAG.json.
#                                 Sets MFIO_PID, MFIO_TAG.
#   mfio_alive                    true while that fio runs
#   mfio_stop                     ask fio to stop now (trigger file)
#   mfio_wait [TIMEOUT]           wait for it (default RUNTIME + 60 s), then set MFIO_OK (1: every job
#                                 ran reads and writes with no error and fio exited 0) and MFIO_RES
#                                 (one line: "JOB:IOS:ERRORS ..."), MFIO_IOS (total I/Os), MFIO_STALL_MS
#                                 (the longest completion latency of any job, reads and writes)
#   log_from N                    the daemon log from line N+1 on, without NBD client lines
#   log_lines                     the daemon log's current number of lines
#   daemon_logins [N]             "logged in to" lines in the daemon log (from line N+1)
#   daemon_losses [N]             lines that report a logged-in session lost ("session N ...: lost:",
#                                 or today's "session lost:")
#   daemon_isids [N]              the ISIDs of the "logged in to ..., ISID 0x..." lines, one a line
#   count_logins / count_losses / list_isids   the same three on a log given on stdin (a snapshot)
#   adm_session_count CTL         "tcp: [" lines of `mpiscsiadm -m session` (one per session)
#   adm_session_check CTL WANT_SESSIONS WANT_LUNS
#                                 --json -m session: exactly WANT_SESSIONS sessions, distinct ISIDs
#                                 per target, and every session lists exactly the LUNs WANT_LUNS
#                                 ("1 2 3"); prints the reason and fails otherwise

# shellcheck shell=bash disable=SC2034  # MFIO_* results are read by the sourcing scripts
export_uri() { printf 'nbd+unix:///%s?socket=%s\n' "$2" "$1"; }
export_answers() { timeout 10 nbdinfo --size "$(export_uri "$1" "$2")" >/dev/null 2>&1; }
exports_answer() {
    local sock=$1 n; shift
    for n in "$@"; do export_answers "$sock" "$n" || return 1; done
}
export_list() {
    timeout 10 nbdinfo --list --json "nbd+unix://?socket=$1" 2>/dev/null | /usr/bin/python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)
except Exception:
    sys.exit(1)
for n in sorted(e["export-name"] for e in d.get("exports", [])):
    print(n)'
}

MFIO_PID=
mfio_start() {
    local tag=$1 runtime=$2 sock=$3 n; shift 3
    local -a jobs=()
    for n in "$@"; do jobs+=(--name="$n" --uri="$(export_uri "$sock" "$n")"); done
    MFIO_TAG=$tag MFIO_RUNTIME=$runtime
    rm -f "$FIX_DIR/fio-$tag.stop"
    ( cd "$FIX_DIR" && exec fio --ioengine=nbd --rw=randrw --rwmixread=50 --bsrange=4k-64k --iodepth=8 \
        --verify=crc32c --do_verify=1 --verify_backlog=64 --verify_fatal=1 --verify_state_save=0 \
        --time_based --runtime="$runtime" --trigger-file="$FIX_DIR/fio-$tag.stop" \
        --output-format=json --output="$FIX_LOGDIR/fio-$tag.json" "${jobs[@]}" ) >"$FIX_LOGDIR/fio-$tag.out" 2>&1 &
    MFIO_PID=$!
    fixture_trap_add "fixture_kill $MFIO_PID"
}
mfio_alive() { [[ -n ${MFIO_PID:-} ]] && kill -0 "$MFIO_PID" 2>/dev/null &&
    [[ $(awk '{print $3}' "/proc/$MFIO_PID/stat" 2>/dev/null) != Z ]]; }
mfio_stop() { [[ -z ${MFIO_TAG:-} ]] || touch "$FIX_DIR/fio-$MFIO_TAG.stop"; }
mfio_wait() {
    local limit=${1:-$(( MFIO_RUNTIME + 60 ))} rc=0 st
    MFIO_OK=0 MFIO_RES="fio-not-started" MFIO_IOS=0 MFIO_STALL_MS=0
    [[ -n ${MFIO_PID:-} ]] || return 0
    if ! wait_until "$limit" eval '! mfio_alive'; then
        fixture_kill "$MFIO_PID"; MFIO_PID=; MFIO_RES="fio-hung"; return 0
    fi
    wait "$MFIO_PID" 2>/dev/null || rc=$?
    MFIO_PID=
    MFIO_RES=$(/usr/bin/python3 - "$FIX_LOGDIR/fio-$MFIO_TAG.json" "$rc" <<'PY'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception:
    print("BAD 0 0 no-json exit%s" % sys.argv[2]); sys.exit(0)
out, total, bad, stall = [], 0, False, 0
for j in d["jobs"]:
    r, w = j["read"], j["write"]
    ios = r["total_ios"] + w["total_ios"]
    total += ios
    stall = max(stall, r["clat_ns"]["max"] / 1e6, w["clat_ns"]["max"] / 1e6)
    errs = []
    if j["error"]: errs.append("error%d" % j["error"])
    if j.get("total_err", 0): errs.append("total_err%d" % j["total_err"])
    if r["total_ios"] == 0 or w["total_ios"] == 0: errs.append("no-reads-or-writes")
    bad |= bool(errs)
    out.append("%s:%d:%s" % (j["jobname"], ios, ",".join(errs) or "0"))
if sys.argv[2] != "0":
    out.append("exit%s" % sys.argv[2]); bad = True
print("%s %d %.0f %s" % ("BAD" if bad else "OK", total, stall, " ".join(out)))
PY
    )
    read -r st MFIO_IOS MFIO_STALL_MS MFIO_RES <<<"$MFIO_RES"
    if [[ $st == OK ]]; then MFIO_OK=1; else
        grep -iE 'err|verify|fio:' "$FIX_LOGDIR/fio-$MFIO_TAG.out" 2>/dev/null | head -n 5 >&2 || true
    fi
    return 0
}

log_lines() { wc -l <"$DAEMON_LOG"; }
log_from() { tail -n +"$(( ${1:-0} + 1 ))" "$DAEMON_LOG" | grep -v 'nbd: client' || true; }
count_logins() { grep -c 'logged in to' || true; }
count_losses() { grep -cE '(^|[^a-z])session [0-9]+ [^ ]*: lost: |session lost:' || true; }
list_isids() { { grep 'logged in to' | grep -oE 'ISID 0x[0-9a-fA-F]+' | awk '{print tolower($2)}'; } || true; }
daemon_logins() { log_from "${1:-0}" | count_logins; }
daemon_losses() { log_from "${1:-0}" | count_losses; }
daemon_isids() { log_from "${1:-0}" | list_isids; }

adm_session_count() {
    "$BUILD/bin/mpiscsiadm" -s "$1" -m session 2>/dev/null | grep -c '^tcp: \[' || true
}
adm_session_check() {
    local out
    out=$("$BUILD/bin/mpiscsiadm" -s "$1" -m session --json 2>&1) || { echo "mpiscsiadm -m session --json failed: $out"; return 1; }
    /usr/bin/python3 - "$out" "$2" "$3" <<'PY'
import json, sys
d = json.loads(sys.argv[1])
want_n, want_luns = int(sys.argv[2]), sorted(int(x) for x in sys.argv[3].split())
ss = d.get("sessions") if isinstance(d, dict) else None
if not isinstance(ss, list):
    sys.exit("no sessions array in: " + sys.argv[1][:300])
bad = []
if len(ss) != want_n:
    bad.append("%d sessions, want %d" % (len(ss), want_n))
seen = {}
for s in ss:
    isid = str(s.get("isid", "")).lower()
    if not isid:
        bad.append("session %s has no isid" % s.get("sid")); continue
    key = (s.get("target"), isid)
    if key in seen:
        bad.append("ISID %s used by sessions %s and %s to %s" % (isid, seen[key], s.get("sid"), s.get("target")))
    seen[key] = s.get("sid")
    luns = []
    for l in s.get("luns") or []:
        luns.append(int(l["lun"]) if isinstance(l, dict) else int(l))
    if sorted(luns) != want_luns:
        bad.append("session %s (%s) carries LUNs %s, want %s" % (s.get("sid"), s.get("portal"), sorted(luns), want_luns))
if bad:
    sys.exit("; ".join(bad))
PY
}
