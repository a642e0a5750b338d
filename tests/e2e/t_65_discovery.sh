#!/usr/bin/env bash
# e2e: SendTargets discovery against tgtd lists both portals and the IQN; NIC binding, dead and silent portals fail in bounded time.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/tgt.sh
need_root
need_tool ss iproute2
BIN=$BUILD/tests/discover
[[ -x $BIN ]] || die "$BIN not built (run: make $BIN)"

tgt_setup 2 16
ms_now() { echo $(( $(date +%s%N) / 1000000 )); }
sanitizer_clean() {
    ! grep -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$1" >&2 ||
        die "sanitizer report from $BIN (see above)"
}

# run_discover OUTFILE ERRFILE ARGS...: sets RC and ELAPSED_MS
run_discover() {
    local out=$1 err=$2 t0; shift 2
    t0=$(ms_now)
    RC=0
    ini_exec timeout -k 5 20 "$BIN" "$@" >"$out" 2>"$err" || RC=$?
    ELAPSED_MS=$(( $(ms_now) - t0 ))
    sanitizer_clean "$err"
}

# tgtd answers SendTargets=All with the one portal the discovery connection arrived on
# (usr/iscsi/target.c target_list_build gets only the connection's local address), so
# each run must list that portal, every line must be one of the target's portals, and
# the union over the runs must hold them all.
declare -A SEEN=()
check_listing() {   # OUT PORTAL_IP
    local out=$1 via=$2 line
    [[ -s $out ]] || die "discovery via $via listed nothing"
    while read -r line; do
        [[ $line =~ ^(198\.18\.([0-9]+)\.2):3260,([0-9]+)\ (.*)$ ]] ||
            { cat "$out" >&2; die "unexpected line via $via: '$line'"; }
        [[ ${BASH_REMATCH[4]} == "$TGT_IQN" ]] || die "via $via: IQN '${BASH_REMATCH[4]}', want $TGT_IQN"
        (( ${BASH_REMATCH[2]} >= 1 && ${BASH_REMATCH[2]} <= TGT_PATHS )) || die "via $via: unknown portal in '$line'"
        SEEN[${BASH_REMATCH[1]}]=1
    done <"$out"
    grep -qE "^${via//./\\.}:3260,[0-9]+ " "$out" || { cat "$out" >&2; die "discovery via $via does not list $via"; }
}

# 1. through either portal (default port, explicit port, a ",TPGT" suffix), and bound to the portal's NIC.
for args in "198.18.1.2:3260" "198.18.2.2:3260" "198.18.1.2" "198.18.2.2:3260 veth2" "198.18.1.2:3260,1 veth1"; do
    # shellcheck disable=SC2086  # args holds PORTAL [IFACE]
    run_discover "$FIX_DIR/d.out" "$FIX_DIR/d.err" -t 5000 $args
    (( RC == 0 )) || { cat "$FIX_DIR/d.err" >&2; die "discover $args: exit $RC"; }
    via=${args%% *}; via=${via%%[:,]*}
    check_listing "$FIX_DIR/d.out" "$via"
    log "ok: discover $args (${ELAPSED_MS} ms): $(tr '\n' ';' <"$FIX_DIR/d.out")"
done
for p in $TGT_PORTALS; do
    [[ -n ${SEEN[${p%:*}]:-} ]] || die "portal $p of $TGT_IQN never listed"
done
log "ok: all portals listed: ${!SEEN[*]}"

# 2. the NIC binding is real: a recorder on the target side notes each connection's source
# address. Bound to veth1, a connection to 198.18.2.2 leaves through veth1 (Linux then
# treats the destination as on-link) with veth1's address; unbound, it uses veth2's.
REC_PORT=3263
REC_LOG=$FIX_DIR/peers.log
: >"$REC_LOG"
fixture_bg RECORDER "$FIX_DIR/recorder.log" ip netns exec "$TGT_NS" /usr/bin/python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("198.18.2.2", '"$REC_PORT"')); s.listen(8)
while True:
    c, a = s.accept()
    with open(sys.argv[1], "a") as f:
        f.write(a[0] + "\n")
    c.close()' "$REC_LOG"
wait_until 5 eval "ip netns exec '$TGT_NS' ss -Hltn 'src 198.18.2.2:$REC_PORT' | grep -q LISTEN" ||
    die "recorder did not start"
run_discover "$FIX_DIR/w.out" "$FIX_DIR/w.err" -t 2000 198.18.2.2:$REC_PORT veth1
(( RC == 1 )) || die "recorder portal: discovery should fail (exit $RC)"
wait_until 2 grep -q . "$REC_LOG" || die "bound discovery never reached the recorder: $(cat "$FIX_DIR/w.err")"
[[ $(cat "$REC_LOG") == 198.18.1.1 ]] || die "bound to veth1, but the connection came from $(cat "$REC_LOG")"
run_discover "$FIX_DIR/w.out" "$FIX_DIR/w.err" -t 2000 198.18.2.2:$REC_PORT
wait_until 2 eval "[[ \$(wc -l <'$REC_LOG') -eq 2 ]]" || die "unbound discovery never reached the recorder"
[[ $(tail -n 1 "$REC_LOG") == 198.18.2.1 ]] || die "unbound, the connection came from $(tail -n 1 "$REC_LOG")"
grep -q "discovery 198.18.2.2:$REC_PORT: connection lost while logging in" "$FIX_DIR/w.err" ||
    { cat "$FIX_DIR/w.err" >&2; die "closed connection: unclear message"; }
log "ok: bound via veth1 from 198.18.1.1, unbound from 198.18.2.1; closed connection: $(cat "$FIX_DIR/w.err")"

# 3. a dead portal (nobody listens on 3261) fails fast, with a clear message.
run_discover "$FIX_DIR/x.out" "$FIX_DIR/x.err" -t 3000 198.18.1.2:3261
(( RC == 1 )) || die "dead portal: exit $RC, want 1"
[[ ! -s $FIX_DIR/x.out ]] || die "dead portal: printed targets"
grep -q 'discovery 198.18.1.2:3261: connect failed' "$FIX_DIR/x.err" ||
    { cat "$FIX_DIR/x.err" >&2; die "dead portal: message does not say which portal failed how"; }
(( ELAPSED_MS < 3000 )) || die "dead portal: took ${ELAPSED_MS} ms, timeout was 3000"
log "ok: dead portal in ${ELAPSED_MS} ms: $(cat "$FIX_DIR/x.err")"

# 4. a silent portal (accepts TCP, never answers the login) ends at the timeout.
SILENT_PORT=3262
fixture_bg SILENT "$FIX_DIR/silent.log" ip netns exec "$INI_NS" /usr/bin/python3 -c '
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", '"$SILENT_PORT"')); s.listen(8)
time.sleep(120)'
wait_until 5 eval "ip netns exec '$INI_NS' ss -Hltn 'src 127.0.0.1:$SILENT_PORT' | grep -q LISTEN" ||
    die "silent listener did not start"
run_discover "$FIX_DIR/s.out" "$FIX_DIR/s.err" -t 1000 127.0.0.1:$SILENT_PORT
(( RC == 1 )) || die "silent portal: exit $RC, want 1"
grep -q "discovery 127.0.0.1:$SILENT_PORT: timed out after 1000 ms" "$FIX_DIR/s.err" ||
    { cat "$FIX_DIR/s.err" >&2; die "silent portal: no timeout message"; }
(( ELAPSED_MS >= 900 && ELAPSED_MS < 2500 )) || die "silent portal: ended after ${ELAPSED_MS} ms, want ~1000"
log "ok: silent portal timed out in ${ELAPSED_MS} ms: $(cat "$FIX_DIR/s.err")"

echo "t_65_discovery: $TGT_IQN on $TGT_PATHS portals listed; NIC binding effective; closed, dead and silent portals fail in bounded time"
