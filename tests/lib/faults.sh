# Sourceable fault injection for the tgtd fixture (tests/lib/tgt.sh must be sourced first and
# tgt_setup / tgt_setup_cross must have run). Every fault is undone in the EXIT trap, also when
# the test dies: the first fault registers fault_heal_all, which heals whatever is still on.
# Only the test's own namespaces are touched; nftables tables, iptables rules and qdiscs are
# removed by name.
#
# SPEC (silent loss, reset) is either
#   K       all traffic of initiator NIC K (the target's veth<K>: every portal reached over it)
#   K:P     only NIC K <-> portal 198.18.P.2 (one path of the cross topology)
#
# API
#   fault_nic_down K            initiator side veth<K> down (netlink link event at once)
#   fault_nic_up K              ... up again, host routes re-added (tgt_nic_up)
#   fault_silent_on SPEC        nftables drop, both directions, in the target namespace: table
#                               "inet mpifault_<SUF>_<k>[_<p>]" (hooks input and output)
#   fault_silent_off SPEC       delete that table
#   fault_reset_on SPEC         iptables -I INPUT -i veth<K> [-d 198.18.P.2] -p tcp -j REJECT
#                               --reject-with tcp-reset in the target namespace
#   fault_reset_off SPEC        delete that rule
#   fault_slow_on K RATE [BURST]  tc qdisc replace dev veth<K> root tbf rate RATE burst BURST
#                               (default 32kbit) latency 400ms, on the target side (reads) and
#                               the initiator side (writes); RATE/BURST as tc takes them (20mbit)
#   fault_slow_off K            delete both root qdiscs
#   fault_shape_all RATE [BURST]  fault_slow_on on every NIC (link-rate shaping for aggregation;
#                               at 200mbit give a BURST of 512kbit or more: 32kbit caps the rate)
#   fault_flap_start K PERIOD_MS COUNT
#                               background loop: veth<K> down for PERIOD_MS/2, up (routes
#                               re-added) for PERIOD_MS/2, COUNT times; ends with the NIC up.
#                               PID in FAULT_FLAP_PID, killed (and the NIC brought up) at exit.
#   fault_flap_wait [TIMEOUT]   wait for the flap loop to end (default COUNT*PERIOD + 10 s);
#                               fail if it does not
#   fault_target_restart [DOWN_S]  tgt_stop, keep the target down DOWN_S seconds (default 0),
#                               tgt_start (same LU unless tgt_new_identity was called)
#   fault_heal_all              undo every fault still on (the EXIT trap runs it)
#   fault_ts_ms                 print CLOCK_REALTIME in ms (to timestamp a fault)
#
# Observing where I/O goes (target side, independent of the daemon)
#   count_on                    nftables table "inet mpicount_<SUF>" in the target namespace with
#                               one byte counter per path (NIC k, portal p), both directions
#   count_snapshot              print "k:p BYTES" per path (cumulative)
#   paths_busy WINDOW_S MIN_KIB SPEC...   true if every path in SPEC (k:p, or k for all of NIC
#                               k's paths) moved >= MIN_KIB KiB within a WINDOW_S window
#   wait_paths_busy TIMEOUT SPEC...       poll (0.5 s windows, >= 256 KiB) until every SPEC path
#                               carries I/O; false after TIMEOUT s
#   paths_idle WINDOW_S SPEC... true if every SPEC path moved < 64 KiB in WINDOW_S (NOPs only)
#   nic_bytes K                 rx+tx bytes of the target's veth<K> (from its sysfs)
#
# A libnbd load generator / stall probe (python3-libnbd, /usr/bin/python3)
#   probe_start NAME URI [DEPTH=16] [BS=4096] [RW=read]   random BS reads (RW=rw: half of them
#                               writes of a pattern, every read of a written block verified) at
#                               DEPTH in flight until probe_stop (bounded: 900 s). Every I/O's
#                               issue and completion time (CLOCK_REALTIME ns) and errno are kept
#                               in $FIX_DIR/NAME.rec. PID registered for cleanup.
#   probe_stop NAME             stop it, wait (60 s), set PROBE_RESULT to its summary (JSON: ios,
#                               errors, verify_errors, max_ms, p50_ms, first_error); false if it
#                               failed or any I/O failed (call it in the main shell, not in $(...))
#   probe_stalls NAME T_MS...   for each fault time T (ms, CLOCK_REALTIME) one line "STALL FAILED":
#                               the longest latency (ms, 1 decimal) of the I/Os outstanding at any
#                               time in [T, T+2 s], and how many I/Os issued in [T-1 s, T+10 s]
#                               failed
#
# The control socket (mpiscsiadm)
#   ctl_available               true if mpiscsid takes --control and mpiscsiadm takes -s
#   ctl_paths SOCK              print one line per path: "ID NIC PORTAL STATE COMPLETED PRIO
#                               MARGINAL" from mpiscsiadm -s SOCK --json show paths (fails if it
#                               can not parse)
#   ctl_nic_up SOCK K N         true if N paths of NIC veth<K> are in state up
#
# The fault functions print nothing on success; they log "fault: ..." to stderr.

FAULT_SILENT=()     # active silent specs
FAULT_RESET=()      # active reset specs
FAULT_SLOW=()       # NICs with qdiscs
FAULT_DOWN=()       # NICs set down
FAULT_FLAP_PID=
FAULT_FLAP_NIC=
FAULT_FLAP_BUDGET=0
_FAULT_TRAP=0

_fault_need() {
    [[ -n ${INI_NS:-} && -n ${TGT_NS:-} && -n ${TGT_SUF:-} ]] || die "faults.sh: run tgt_setup first"
    if (( ! _FAULT_TRAP )); then
        need_tool nft nftables
        need_tool iptables iptables
        need_tool tc iproute2
        fixture_trap_add fault_heal_all
        _FAULT_TRAP=1
    fi
}

fault_ts_ms() { date +%s%3N; }

_fault_k() {
    [[ $1 =~ ^[0-9]+$ ]] && (( $1 >= 1 && $1 <= ${TGT_NICS:-$TGT_PATHS} )) ||
        die "fault: NIC '$1' is not 1..${TGT_NICS:-$TGT_PATHS}"
}
# SPEC -> _fk _fp (P empty for a whole NIC)
_fault_spec() {
    _fk=${1%%:*}; _fp=
    [[ $1 == *:* ]] && _fp=${1#*:}
    _fault_k "$_fk"
    [[ -z $_fp ]] || { [[ $_fp =~ ^[0-9]+$ ]] && (( _fp >= 1 && _fp <= ${TGT_NPORTALS:-$TGT_PATHS} )); } ||
        die "fault: portal '$_fp' in SPEC '$1' is not 1..${TGT_NPORTALS:-$TGT_PATHS}"
}
_fault_del() {   # _fault_del ARRAYNAME VALUE: remove VALUE from the array
    local -n _a=$1
    local i out=()
    for i in "${_a[@]}"; do [[ $i == "$2" ]] || out+=("$i"); done
    _a=("${out[@]}")
}
_fault_has() { local -n _a=$1; local i; for i in "${_a[@]}"; do [[ $i == "$2" ]] && return 0; done; return 1; }

# ---------------------------------------------------------------- NIC down/up
fault_nic_down() {
    _fault_need; _fault_k "$1"
    _fault_has FAULT_DOWN "$1" || FAULT_DOWN+=("$1")
    tgt_nic_down "$1"
    log "fault: NIC veth$1 down"
}
fault_nic_up() {
    _fault_need; _fault_k "$1"
    tgt_nic_up "$1"
    _fault_del FAULT_DOWN "$1"
    log "fault: NIC veth$1 up"
}

# ---------------------------------------------------------------- silent loss (nftables)
_fault_silent_table() { printf 'mpifault_%s_%s%s' "$TGT_SUF" "$_fk" "${_fp:+_$_fp}"; }
fault_silent_on() {
    _fault_need; _fault_spec "$1"
    local t in_m out_m
    t=$(_fault_silent_table)
    in_m="iifname \"veth$_fk\"${_fp:+ ip daddr 198.18.$_fp.2}"
    out_m="oifname \"veth$_fk\"${_fp:+ ip saddr 198.18.$_fp.2}"
    _fault_has FAULT_SILENT "$1" || FAULT_SILENT+=("$1")
    tgt_exec nft -f - <<EOF
table inet $t {
    chain in { type filter hook input priority -10; policy accept; $in_m drop; }
    chain out { type filter hook output priority -10; policy accept; $out_m drop; }
}
EOF
    log "fault: silent loss on $1 (nft table inet $t)"
}
fault_silent_off() {
    _fault_need; _fault_spec "$1"
    local t; t=$(_fault_silent_table)
    tgt_exec nft delete table inet "$t"
    _fault_del FAULT_SILENT "$1"
    log "fault: silent loss on $1 healed"
}

# ---------------------------------------------------------------- reset (iptables REJECT)
_fault_reset_rule() {   # prints the rule after the chain name
    printf '%s\n' "-i veth$_fk ${_fp:+-d 198.18.$_fp.2/32 }-p tcp -m comment --comment mpifault_$TGT_SUF -j REJECT --reject-with tcp-reset"
}
fault_reset_on() {
    _fault_need; _fault_spec "$1"
    local -a r; read -r -a r <<<"$(_fault_reset_rule)"
    _fault_has FAULT_RESET "$1" || FAULT_RESET+=("$1")
    tgt_exec iptables -w 5 -I INPUT "${r[@]}"
    log "fault: reset on $1 (iptables REJECT tcp-reset)"
}
fault_reset_off() {
    _fault_need; _fault_spec "$1"
    local -a r; read -r -a r <<<"$(_fault_reset_rule)"
    # delete every copy (a rule inserted twice)
    local i
    for ((i = 0; i < 16; i++)); do
        tgt_exec iptables -w 5 -C INPUT "${r[@]}" 2>/dev/null || break
        tgt_exec iptables -w 5 -D INPUT "${r[@]}"
    done
    _fault_del FAULT_RESET "$1"
    log "fault: reset on $1 healed"
}

# ---------------------------------------------------------------- slow path (tbf)
fault_slow_on() {
    _fault_need; _fault_k "$1"
    [[ -n ${2:-} ]] || die "fault_slow_on K RATE [BURST]"
    local burst=${3:-32kbit}
    _fault_has FAULT_SLOW "$1" || FAULT_SLOW+=("$1")
    tgt_exec tc qdisc replace dev "veth$1" root tbf rate "$2" burst "$burst" latency 400ms
    ini_exec tc qdisc replace dev "veth$1" root tbf rate "$2" burst "$burst" latency 400ms
    log "fault: veth$1 shaped to $2 both ways"
}
fault_slow_off() {
    _fault_need; _fault_k "$1"
    tgt_exec tc qdisc del dev "veth$1" root 2>/dev/null || true
    ini_exec tc qdisc del dev "veth$1" root 2>/dev/null || true
    _fault_del FAULT_SLOW "$1"
    log "fault: veth$1 unshaped"
}
fault_shape_all() {
    local k
    for ((k = 1; k <= ${TGT_NICS:-$TGT_PATHS}; k++)); do fault_slow_on "$k" "$1" "${2:-}"; done
}

# ---------------------------------------------------------------- flapping
_fault_flap_loop() {
    local k=$1 half=$2 count=$3 i
    local hs; hs=$(awk -v m="$half" 'BEGIN { printf "%.3f", m / 1000 }')
    trap 'ip -n "$INI_NS" link set "veth$k" up; tgt_routes "$k"; exit 0' TERM INT
    for ((i = 0; i < count; i++)); do
        ip -n "$INI_NS" link set "veth$k" down
        sleep "$hs"
        ip -n "$INI_NS" link set "veth$k" up
        tgt_routes "$k"
        sleep "$hs"
    done
}
fault_flap_start() {
    _fault_need; _fault_k "$1"
    local k=$1 period=$2 count=$3
    [[ $period =~ ^[0-9]+$ ]] && (( period >= 20 && period <= 60000 )) || die "fault_flap_start: PERIOD_MS 20..60000"
    [[ $count =~ ^[0-9]+$ ]] && (( count >= 1 && count <= 10000 )) || die "fault_flap_start: COUNT 1..10000"
    [[ -z $FAULT_FLAP_PID ]] || die "fault_flap_start: a flap loop is already running"
    _fault_flap_loop "$k" $((period / 2)) "$count" &
    FAULT_FLAP_PID=$!
    FAULT_FLAP_NIC=$k
    FAULT_FLAP_BUDGET=$(( period * count / 1000 + 10 ))
    log "fault: veth$k flapping every ${period} ms, $count times (pid $FAULT_FLAP_PID)"
}
fault_flap_wait() {
    [[ -n $FAULT_FLAP_PID ]] || return 0
    local t=${1:-$FAULT_FLAP_BUDGET} pid=$FAULT_FLAP_PID
    if ! wait_until "$t" _fault_gone "$pid"; then
        die "flap loop (pid $pid) still running after $t s"
    fi
    wait "$pid" 2>/dev/null || true
    FAULT_FLAP_PID=
    tgt_nic_up "$FAULT_FLAP_NIC"   # ends up in any case
    log "fault: veth$FAULT_FLAP_NIC flapping done"
}
_fault_gone() { ! kill -0 "$1" 2>/dev/null || [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) == Z ]]; }

# ---------------------------------------------------------------- target restart
fault_target_restart() {
    _fault_need
    local down=${1:-0}
    log "fault: target restart (down ${down} s)"
    tgt_stop
    [[ $down == 0 ]] || sleep "$down"     # the outage itself, part of the scenario
    tgt_start
    log "fault: target back (tgtd pid $TGT_PID)"
}

# ---------------------------------------------------------------- heal everything
fault_heal_all() {
    local s k
    if [[ -n ${FAULT_FLAP_PID:-} ]]; then
        fixture_kill "$FAULT_FLAP_PID"
        FAULT_FLAP_PID=
        [[ -n $FAULT_FLAP_NIC ]] && tgt_nic_up "$FAULT_FLAP_NIC" 2>/dev/null
    fi
    for s in "${FAULT_SILENT[@]}"; do fault_silent_off "$s" || true; done
    for s in "${FAULT_RESET[@]}"; do fault_reset_off "$s" || true; done
    for k in "${FAULT_SLOW[@]}"; do fault_slow_off "$k" || true; done
    for k in "${FAULT_DOWN[@]}"; do fault_nic_up "$k" || true; done
    return 0
}

# ---------------------------------------------------------------- per-path byte counters
count_on() {
    _fault_need
    local t="mpicount_$TGT_SUF" k p rules=""
    for ((k = 1; k <= ${TGT_NICS:-$TGT_PATHS}; k++)); do
        for ((p = 1; p <= ${TGT_NPORTALS:-$TGT_PATHS}; p++)); do
            [[ ${TGT_CROSS:-0} == 1 || $k == "$p" ]] || continue
            rules+="counter c${k}_$p { }"$'\n'
            rules+="chain in$k$p { type filter hook input priority -20; policy accept; iifname \"veth$k\" ip daddr 198.18.$p.2 counter name c${k}_$p; }"$'\n'
            rules+="chain out$k$p { type filter hook output priority -20; policy accept; oifname \"veth$k\" ip saddr 198.18.$p.2 counter name c${k}_$p; }"$'\n'
        done
    done
    tgt_exec nft -f - <<<"table inet $t {
$rules}"
    fixture_trap_add "tgt_exec nft delete table inet $t 2>/dev/null || true"
    COUNT_ON=1
}
count_snapshot() {
    tgt_exec nft -j list counters table inet "mpicount_$TGT_SUF" | /usr/bin/python3 -c '
import json, sys
for o in json.load(sys.stdin)["nftables"]:
    c = o.get("counter")
    if c and c["name"].startswith("c"):
        print(c["name"][1:].replace("_", ":"), c["bytes"])'
}
# expand SPECs (k:p or k) into k:p paths
_count_paths() {
    local s p out=()
    for s in "$@"; do
        if [[ $s == *:* ]]; then out+=("$s")
        elif [[ ${TGT_CROSS:-0} == 1 ]]; then
            for ((p = 1; p <= TGT_NPORTALS; p++)); do out+=("$s:$p"); done
        else out+=("$s:$s"); fi
    done
    printf '%s\n' "${out[@]}"
}
# _count_delta WINDOW_S SPEC...: sleep WINDOW_S between two snapshots, print "k:p KIB" per SPEC path
_count_delta() {
    local w=$1; shift
    local a b
    a=$(count_snapshot); sleep "$w"; b=$(count_snapshot)
    /usr/bin/python3 - "$a" "$b" $(_count_paths "$@") <<'PY'
import sys
a = dict(l.split() for l in sys.argv[1].splitlines())
b = dict(l.split() for l in sys.argv[2].splitlines())
for p in sys.argv[3:]:
    print(p, (int(b[p]) - int(a[p])) // 1024)
PY
}
paths_busy() {
    local w=$1 min=$2; shift 2
    _count_delta "$w" "$@" | awk -v m="$min" '$2 < m { bad = 1 } END { exit bad }'
}
paths_idle() {
    local w=$1; shift
    _count_delta "$w" "$@" | awk '$2 >= 64 { bad = 1 } END { exit bad }'
}
wait_paths_busy() {
    local t=$1; shift
    local deadline=$(( $(date +%s%N) + t * 1000000000 ))
    while (( $(date +%s%N) < deadline )); do
        paths_busy 0.5 256 "$@" && return 0
    done
    return 1
}
# print per-path KiB over a window (for logs)
count_show() { _count_delta "$1" "${@:2}" | tr '\n' ' '; echo; }
nic_bytes() {
    tgt_exec sh -c "echo \$((\$(cat /sys/class/net/veth$1/statistics/rx_bytes) + \$(cat /sys/class/net/veth$1/statistics/tx_bytes)))"
}

# ---------------------------------------------------------------- libnbd probe
_probe_write_py() {
    [[ -f $FIX_DIR/nbd_probe.py ]] && return 0
    cat >"$FIX_DIR/nbd_probe.py" <<'PY'
# Random reads (and, with rw, pattern writes verified on read-back) over NBD at a fixed depth,
# recording every I/O's issue/completion time; stops when the stop file appears or at the deadline.
import array, json, os, random, struct, sys, time
import nbd
uri, out, stop, deadline, depth, bs, mode = sys.argv[1:8]
deadline, depth, bs = float(deadline), int(depth), int(bs)
h = nbd.NBD()
h.connect_uri(uri)
size = h.get_size()
nblk = min(size // bs, 65536)
rec = array.array('q')
st = {"errors": 0, "verify_errors": 0, "first_error": None}
gen = {}            # block -> generation written (verified on read)
busy = set()        # blocks with an I/O in flight (no overlapping I/O on one block)
inflight = 0
seq = 0
def pattern(blk, g):
    return (struct.pack('<QQ', blk, g) * (bs // 16))
def make_cb(t0, blk, buf, kind, g):
    def cb(err):
        global inflight
        e = err.value
        rec.extend((t0, time.time_ns(), e))
        inflight -= 1
        busy.discard(blk)
        if e:
            st["errors"] += 1
            if st["first_error"] is None:
                st["first_error"] = "%s block %d: errno %d" % (kind, blk, e)
        elif kind == "w":
            gen[blk] = g
        elif blk in gen and gen[blk] is not None and buf.to_bytearray() != pattern(blk, gen[blk]):
            st["verify_errors"] += 1
        return 0
    return cb
end = time.monotonic() + deadline
nextcheck = 0.0
rc = 0
try:
    while True:
        now = time.monotonic()
        if now >= nextcheck:
            if os.path.exists(stop) or now > end:
                break
            nextcheck = now + 0.01
        while inflight < depth:
            blk = random.randrange(nblk)
            if blk in busy:
                continue
            busy.add(blk)
            seq += 1
            if mode == "rw" and seq % 2 == 0:
                buf = nbd.Buffer.from_bytearray(bytearray(pattern(blk, seq)))
                gen[blk] = None   # unknown until the write completes
                h.aio_pwrite(buf, blk * bs, completion=make_cb(time.time_ns(), blk, buf, "w", seq))
            else:
                buf = nbd.Buffer(bs)
                h.aio_pread(buf, blk * bs, completion=make_cb(time.time_ns(), blk, buf, "r", 0))
            inflight += 1
        h.poll(-1)
    t_end = time.monotonic() + 60
    while inflight > 0 and time.monotonic() < t_end:
        h.poll(1000)
    if inflight:
        st["first_error"] = st["first_error"] or "%d I/Os still in flight 60 s after stop" % inflight
        rc = 1
    else:
        h.shutdown()
except nbd.Error as ex:
    st["first_error"] = "libnbd: %s" % ex
    rc = 1
with open(out, "wb") as f:
    rec.tofile(f)
n = len(rec) // 3
lats = sorted(rec[3 * j + 1] - rec[3 * j] for j in range(n))
print(json.dumps({"ios": n, "errors": st["errors"], "verify_errors": st["verify_errors"],
                  "max_ms": round(lats[-1] / 1e6, 1) if n else None,
                  "p50_ms": round(lats[n // 2] / 1e6, 2) if n else None,
                  "first_error": st["first_error"]}))
sys.exit(1 if rc or st["errors"] or st["verify_errors"] else 0)
PY
}
probe_start() {
    local name=$1 uri=$2 depth=${3:-16} bs=${4:-4096} mode=${5:-read}
    fixture_tmpdir
    /usr/bin/python3 -c 'import nbd' 2>/dev/null || die "python3 module nbd missing: install package python3-libnbd"
    _probe_write_py
    rm -f "$FIX_DIR/$name.stop"
    fixture_bg "PROBE_$name" "$FIX_DIR/$name.out" /usr/bin/python3 "$FIX_DIR/nbd_probe.py" "$uri" \
        "$FIX_DIR/$name.rec" "$FIX_DIR/$name.stop" 900 "$depth" "$bs" "$mode"
}
probe_stop() {
    local name=$1 pidv="FIX_PID_PROBE_$1" rc=0
    local pid=${!pidv}
    touch "$FIX_DIR/$name.stop"
    wait_until 90 _fault_gone "$pid" || { fixture_kill "$pid"; die "probe $name did not stop"; }
    wait "$pid" 2>/dev/null || rc=$?
    PROBE_RESULT=$(tail -n 1 "$FIX_DIR/$name.out")
    (( rc == 0 )) || { tail -n 5 "$FIX_DIR/$name.out" >&2; return 1; }
}
probe_stalls() {
    local name=$1; shift
    /usr/bin/python3 - "$FIX_DIR/$name.rec" "$@" <<'PY'
import array, sys
rec = array.array('q')
with open(sys.argv[1], 'rb') as f:
    rec.frombytes(f.read())
n = len(rec) // 3
for t in sys.argv[2:]:
    t0 = int(t) * 1000000
    t1 = t0 + 2000000000
    m = 0
    failed = 0
    for j in range(n):
        i, d, e = rec[3 * j], rec[3 * j + 1], rec[3 * j + 2]
        if i <= t1 and d >= t0 and d - i > m:
            m = d - i
        if e and t0 - 1000000000 <= i <= t0 + 10000000000:
            failed += 1
    print("%.1f %d" % (m / 1e6, failed))
PY
}

# ---------------------------------------------------------------- control socket
ctl_available() {
    "$BUILD/bin/mpiscsid" --help 2>&1 | grep -q -- '--control' &&
        "$BUILD/bin/mpiscsiadm" --help 2>&1 | grep -qE -- '(^|[^a-z-])-s[ ,]'
}
ctl_paths() {
    local out
    out=$("$BUILD/bin/mpiscsiadm" -s "$1" --json show paths) || return 1
    /usr/bin/python3 -c '
import json, re, sys
d = json.loads(sys.argv[1])
rows = []
def pick(o, *keys):
    for k in keys:
        if k in o and o[k] is not None:
            return o[k]
    return None
def walk(o):
    if isinstance(o, dict):
        c = pick(o, "completed", "completed_cmds", "ios_completed")
        if c is not None and pick(o, "id", "path_id") is not None:
            name = str(pick(o, "name") or "")
            m = re.match(r"(\S+?)->(\S+)", name)
            nic = pick(o, "interface", "iface", "nic") or (m.group(1) if m else "-")
            portal = pick(o, "portal") or (m.group(2) if m else "-")
            if isinstance(portal, dict):
                portal = "%s:%s" % (portal.get("host", portal.get("address")), portal.get("port", 3260))
            if isinstance(c, dict):
                c = sum(v for v in c.values() if isinstance(v, int))
            rows.append("%s %s %s %s %s %s %s" % (pick(o, "id", "path_id"), nic, portal, pick(o, "state") or "-", c,
                        pick(o, "prio"), "marginal" if o.get("marginal") else "-"))
            return
        for v in o.values():
            walk(v)
    elif isinstance(o, list):
        for v in o:
            walk(v)
walk(d)
if not rows:
    sys.exit("ctl_paths: no path with an id and a completed counter in: " + sys.argv[1][:300])
print("\n".join(rows))' "$out"
}
ctl_nic_up() {
    local n
    n=$(ctl_paths "$1" | awk -v nic="veth$2" '$2 == nic && $4 == "up"' | wc -l)
    (( n == $3 ))
}
