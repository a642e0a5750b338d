#!/usr/bin/env bash
# Chaos soak: one disk over 4 paths (2 NICs x 2 portals, cross-routed, tgtd), fio with crc32c
# verify and a second NBD client that keeps connecting and disconnecting, while a driver
# injects random faults from TESTING.md's table; at the end: no I/O error, no verify failure,
# the daemon alive and exiting 0, its fd count and RSS within bounds. Writes $SOAK_OUT/summary.md.
#
# Environment
#   SOAK_MINUTES  length of the chaos phase (default 10); fio runs SOAK_WARMUP s longer before
#                 it and SOAK_TAIL s after it
#   SOAK_SEED     seed of the driver's RNG (default: from the clock); printed first, so a run
#                 can be replayed with the same fault sequence and timing choices
#   SOAK_OUT      where summary.md, the timeline, fio's, the client's, tgtd's and the daemon's
#                 logs go (default $E2E_LOGDIR under tests/e2e/run.sh, else $BUILD/soak)
#   SOAK_SIZE_MB  size of the LU (default 512)
#
# The driver (one round at a time, every fault healed before the next round starts)
#   - a round is one fault, or (35 %) two overlapping faults on disjoint paths; the first six
#     rounds take the six kinds in a shuffled order so that even a short run has each once
#   - kinds: NIC down, silent loss, reset, slow path (tbf 20 Mbit/s), flapping (NIC down/up
#     every 200-800 ms), target restart (tgtd stopped, down 0-3 s, started; alone in its round,
#     at most every 90 s after the first, 1 round in 20); silent loss and reset hit a whole NIC
#     (K) or one path (K:P), the others a whole NIC
#   - the paths a round faults never include every path the daemon reports up at planning time
#     (mpiscsiadm show paths), so one path stays usable, except in a target restart, which
#     no_path_retry (120 s, far above the restart's few seconds) bridges
#   - durations 1-8 s per kind (failover takes up to ~1.5 s for silent loss: NOP-Out every
#     0.5 s, 1 s timeout), gaps 0.5-4 s, second fault 0..first's duration after the first
#   - a path healed more than 30 s ago that the daemon does not report up is a failure
# Second client (tests/soak/nbd_client.py): its own 32 MiB range, verified 64 KiB reads and
# writes, connections living 10 ms to 9 s, ended drained, by NBD_CMD_DISC or by an abrupt
# socket shutdown with requests in flight; a final read-back of its whole range.
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${SOAK_MINUTES:=10}"
[[ $SOAK_MINUTES =~ ^[0-9]+$ ]] && (( SOAK_MINUTES >= 1 )) || { echo "FAIL: SOAK_MINUTES must be a positive integer" >&2; exit 1; }
: "${SOAK_SEED:=$(( $(date +%s%N) % 4294967296 ))}"
[[ $SOAK_SEED =~ ^[0-9]+$ ]] || { echo "FAIL: SOAK_SEED must be a non-negative integer" >&2; exit 1; }
echo "# SOAK_SEED=$SOAK_SEED SOAK_MINUTES=$SOAK_MINUTES (replay: SOAK_SEED=$SOAK_SEED)"
: "${BUILD:=build}"
: "${SOAK_OUT:=${E2E_LOGDIR:-$BUILD/soak}}"
: "${SOAK_SIZE_MB:=512}"
: "${SOAK_WARMUP:=15}" "${SOAK_TAIL:=25}"
mkdir -p "$SOAK_OUT"
SOAK_OUT=$(realpath "$SOAK_OUT")
for f in summary.md timeline.log samples.tsv rounds.tsv soak.fio fio.json fio.out client.json \
         client.out daemon.log tgtd.log fixture.ns fiolat_{clat,slat,lat}.{1,2}.log; do
    rm -f "${SOAK_OUT:?}/$f"
done
E2E_LOGDIR=$SOAK_OUT          # the fixture's logs (tgtd.log, daemon.log) go there too
. tests/lib/tgt.sh
. tests/lib/faults.sh
need_root
need_tool fio fio
need_tool nft nftables
need_tool iptables iptables
need_tool tc iproute2
/usr/bin/python3 -c 'import nbd' 2>/dev/null || die "python3 module nbd missing: install package python3-libnbd"
fio --enghelp=nbd 2>/dev/null | grep -q '^uri' || die "this fio has no nbd engine with a 'uri' option (package fio >= 3.17)"
ctl_available || die "mpiscsid has no --control or mpiscsiadm no -s (build: make all)"
(( SOAK_SIZE_MB >= 256 )) || die "SOAK_SIZE_MB must be at least 256"

# Bounds on the daemon's growth, end of the run vs the first sample after warm-up (both taken
# with fio's two connections open and all 4 paths up):
#  - fds: start + 8. At both moments the daemon holds its listeners, the rtnetlink socket, 4
#    session sockets, fio's 2 NBD connections and 0 or 1 of the second client's, and maybe a
#    path's half-made reconnect socket or a mpiscsiadm connection: a few of slack. A leak of
#    one fd per reconnect, per client connection or per fault (hundreds of each in 10 minutes)
#    exceeds it within the first minute of faults.
#  - RSS: start + 32 MiB. The data in flight is bounded (3 clients x 16 requests x <= 256 KiB
#    = 12 MiB, plus copies for re-issue), and malloc's arenas settle within the warm-up. A leak
#    of a request buffer per failover (>= 4 KiB x thousands of re-issued requests) or a few
#    hundred bytes per I/O (millions of I/Os in 10 minutes) exceeds it.
#  - A sanitizer build (make SANITIZE=1 soak) is the exception: ASan keeps freed memory in
#    quarantine (256 MiB by default) and its shadow grows with it, so RSS is only reported;
#    LeakSanitizer at the daemon's exit (stop_daemon fails on its report) checks leaks instead.
FD_SLACK=8
RSS_SLACK_KB=$((32 * 1024))
NO_PATH_RETRY=120
CHAOS_S=$((SOAK_MINUTES * 60))
RUNTIME=$((SOAK_WARMUP + CHAOS_S + SOAK_TAIL))
PATHS=(1:1 1:2 2:1 2:2)
KINDS=(nic_down silent reset slow flap restart)
declare -A KIND_NAME=([nic_down]="NIC down" [silent]="silent loss" [reset]="reset" [slow]="slow path"
                      [flap]="flapping" [restart]="target restart")
declare -A COUNT=() FAULTED=() HEALED_AT=()
for k in "${KINDS[@]}"; do COUNT[$k]=0; done
FAILS=()
fail_later() { FAILS+=("$*"); printf 'FAIL: %s\n' "$*" >&2; }

# ---------------------------------------------------------------- RNG (xorshift32)
# Never call these inside $(...): the state would not advance in the parent shell.
SOAK_RNG=$(( (SOAK_SEED * 2654435761 + 12345) % 4294967296 ))
(( SOAK_RNG != 0 )) || SOAK_RNG=1
rnd() {   # R = uniform in [0, $1)
    local x=$SOAK_RNG
    x=$(( (x ^ (x << 13)) & 0xffffffff )); x=$(( x ^ (x >> 17) )); x=$(( (x ^ (x << 5)) & 0xffffffff ))
    SOAK_RNG=$x
    R=$(( x % $1 ))
}
rnd_in() { rnd $(( $2 - $1 + 1 )); R=$(( R + $1 )); }   # R = uniform in [$1, $2]

# ---------------------------------------------------------------- time and timeline
now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $(( t / 1000 )); }
TIMELINE="$SOAK_OUT/timeline.log"
: >"$TIMELINE"
T0=$(now_ms)
tl() {   # one timeline line: epoch ms, wall clock (as in the daemon log), seconds since start
    local t; t=$(now_ms)
    printf '%d %(%H:%M:%S)T.%03d +%d.%ds driver %s\n' "$t" $((t / 1000)) $((t % 1000)) \
        $(((t - T0) / 1000)) $(((t - T0) % 1000 / 100)) "$*" >>"$TIMELINE"
    log "+$(((t - T0) / 1000))s $*"
}
sleep_ms() { (( $1 <= 0 )) || sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"; }

# ---------------------------------------------------------------- fixture and daemon
start_cross_daemon 2 2 "$SOAK_SIZE_MB" "no_path_retry = $NO_PATH_RETRY"
CTL=$DAEMON_CTL
ASAN=0
grep -q 'libasan' "/proc/$DAEMON_PID/maps" 2>/dev/null && ASAN=1
[[ $(cat "/proc/$DAEMON_PID/comm" 2>/dev/null) == mpiscsid ]] || die "pid $DAEMON_PID is not mpiscsid"
count_on
tl "fixture: 4 paths (veth1, veth2 x 198.18.1.2, 198.18.2.2), ${SOAK_SIZE_MB} MiB LU, daemon pid $DAEMON_PID, seed $SOAK_SEED"

# paths the daemon reports up, as K:P
up_paths() {
    local id nic portal state rest
    ctl_paths "$CTL" | while read -r id nic portal state rest; do
        [[ $state == up ]] || continue
        printf '%s:%s\n' "${nic#veth}" "$(cut -d. -f3 <<<"$portal")"
    done
}
_all_up_check() { [[ $(up_paths | wc -l) == 4 ]]; }
_any_up() { [[ -n $(up_paths) ]]; }
upfmt() { local u; read -r -a u <<<"$UP"; local IFS=,; echo "${u[*]:-none}"; }
sample() {   # "FDS RSS_KB" of the daemon
    local fds rss
    fds=$(ls -U "/proc/$DAEMON_PID/fd" | wc -l)
    rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$DAEMON_PID/status")
    echo "$fds $rss"
}

# ---------------------------------------------------------------- load: fio and the second client
MB=$((1024 * 1024))
REGION=$(( (SOAK_SIZE_MB - 64) / 2 / 4 * 4 ))     # MiB per fio job
CLIENT_OFF=$(( 2 * REGION * MB ))
CLIENT_SIZE=$(( 32 * MB ))
# norandommap: a time-based run covers the region many times, and with the random map fio
# would verify blocks that a later pass had partly overwritten; without it fio keeps the
# written blocks in a tree, drops overlapped ones, and serialize_overlap keeps two requests on
# overlapping ranges from being in flight together (their completion order is undefined).
cat >"$SOAK_OUT/soak.fio" <<EOF
[global]
ioengine=nbd
uri=$URI
rw=randrw
iodepth=16
verify=crc32c
do_verify=1
verify_fatal=1
verify_state_save=0
norandommap=1
serialize_overlap=1
time_based=1
runtime=$RUNTIME
write_lat_log=$SOAK_OUT/fiolat
log_avg_msec=1000
log_max_value=1
[a]
offset=0
size=${REGION}m
rwmixread=50
bsrange=4k-256k
verify_backlog=64
[b]
offset=${REGION}m
size=${REGION}m
rwmixread=30
bssplit=4k/40:16k/20:64k/20:256k/20
verify_backlog=16
EOF
FIO_T0=$(now_ms)     # the time base of fio's latency logs (its jobs start within ~0.1 s)
fio --output-format=json --output="$SOAK_OUT/fio.json" "$SOAK_OUT/soak.fio" >"$SOAK_OUT/fio.out" 2>&1 &
FIO_PID=$!
fixture_trap_add "fixture_kill $FIO_PID"
STOP="$FIX_DIR/client.stop"
# SETTLE: an abandoned write is surely done this long after its connection closed
/usr/bin/python3 tests/soak/nbd_client.py "$SOCK" disk0 "$CLIENT_OFF" "$CLIENT_SIZE" "$SOAK_SEED" \
    "$STOP" $((RUNTIME + 120)) $((NO_PATH_RETRY + 60)) "$SOAK_OUT/client.json" "$TIMELINE" \
    >"$SOAK_OUT/client.out" 2>&1 &
CLIENT_PID=$!
fixture_trap_add "fixture_kill $CLIENT_PID"

# fd and RSS every 5 s, in the background (bounded by the run's length); its sleep is killed
# and reaped with it, so no process (not even a zombie) outlives the test
SAMPLES="$SOAK_OUT/samples.tsv"
echo "# seconds fds rss_kb" >"$SAMPLES"
(
    sp=
    trap '[[ -z $sp ]] || { kill "$sp" 2>/dev/null; wait "$sp" 2>/dev/null; }; exit 0' TERM INT
    end=$((SECONDS + RUNTIME + 600))
    while (( SECONDS < end )) && daemon_alive; do
        s=$(sample 2>/dev/null) || break
        echo "$(( ($(now_ms) - T0) / 1000 )) $s" >>"$SAMPLES"
        sleep 5 & sp=$!
        wait "$sp" || true
        sp=
    done
) &
SAMPLER_PID=$!
fixture_trap_add "fixture_kill $SAMPLER_PID"

_gone() { ! kill -0 "$1" 2>/dev/null || [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) == Z ]]; }
load_alive() {
    daemon_alive || { fail_later "the daemon died (log: $DAEMON_LOG)"; return 1; }
    _gone "$FIO_PID" && { fail_later "fio ended early (verify failure or I/O error; see $SOAK_OUT/fio.out)"; return 1; }
    _gone "$CLIENT_PID" && { fail_later "the second client ended early (see $SOAK_OUT/client.out)"; return 1; }
    return 0
}

tl "warm-up ${SOAK_WARMUP} s: fio (2 jobs, iodepth 16) and the second client, no faults"
sleep "$SOAK_WARMUP"
load_alive || die "load failed during warm-up: ${FAILS[*]}"
wait_until 20 _all_up_check || die "not all 4 paths up after the warm-up: $(up_paths | tr '\n' ' ')"
read -r FD0 RSS0 <<<"$(sample)"
tl "baseline after warm-up: $FD0 fds, RSS $RSS0 kB"

# ---------------------------------------------------------------- faults
spec_paths() {   # K or K:P -> K:P list
    if [[ $1 == *:* ]]; then echo "$1"; else echo "$1:1 $1:2"; fi
}
inject() {   # KIND SPEC ARG
    local kind=$1 spec=$2 arg=$3 p
    COUNT[$kind]=$(( COUNT[$kind] + 1 ))
    case $kind in
    nic_down) fault_nic_down "$spec" ;;
    silent)   fault_silent_on "$spec" ;;
    reset)    fault_reset_on "$spec" ;;
    slow)     fault_slow_on "$spec" 20mbit ;;
    flap)     fault_flap_start "$spec" "${arg%x*}" "${arg#*x}" ;;
    esac
    for p in $(spec_paths "$spec"); do FAULTED[$p]=$kind; done
}
heal() {     # KIND SPEC
    local kind=$1 spec=$2 p t
    case $kind in
    nic_down) fault_nic_up "$spec" ;;
    silent)   fault_silent_off "$spec" ;;
    reset)    fault_reset_off "$spec" ;;
    slow)     fault_slow_off "$spec" ;;
    flap)     fault_flap_wait ;;
    esac
    t=$(now_ms)
    for p in $(spec_paths "$spec"); do unset "FAULTED[$p]"; HEALED_AT[$p]=$t; done
}

# A path healed more than 30 s ago must be up again. Sets UP (the daemon's up paths).
RECOVERY_S=30
check_recovery() {
    local p t
    UP=" $(up_paths | tr '\n' ' ') " || { fail_later "mpiscsiadm show paths failed"; return 1; }
    t=$(now_ms)
    for p in "${PATHS[@]}"; do
        [[ $UP == *" $p "* || -n ${FAULTED[$p]:-} ]] && continue
        if (( t - ${HEALED_AT[$p]:-$T0} > RECOVERY_S * 1000 )); then
            fail_later "path $p not up $RECOVERY_S s after its last fault was healed"
            ctl_paths "$CTL" | sed 's/^/#   path /' >&2
            return 1
        fi
    done
}
# pick_fault KIND TAKEN: choose a target for KIND among paths not in TAKEN (a " K:P " list) so
# that at least one path of UP stays unfaulted. Sets F_SPEC, F_ARG, F_DUR (ms); false if none.
pick_fault() {
    local kind=$1 taken=$2 cands=() c p left ok
    case $kind in
    nic_down|slow|flap) cands=(1 2) ;;
    silent|reset) cands=(1 2 1:1 1:2 2:1 2:2 1 2) ;;   # a whole NIC as often as one path
    esac
    local fit=()
    for c in "${cands[@]}"; do
        ok=1
        for p in $(spec_paths "$c"); do [[ $taken == *" $p "* ]] && ok=0; done
        (( ok )) || continue
        left=0
        for p in $UP; do
            [[ $taken == *" $p "* || " $(spec_paths "$c") " == *" $p "* ]] || left=1
        done
        (( left )) && fit+=("$c")
    done
    (( ${#fit[@]} )) || return 1
    rnd ${#fit[@]}; F_SPEC=${fit[R]}; F_ARG=
    case $kind in
    nic_down|reset) rnd_in 1000 5000; F_DUR=$R ;;
    silent)         rnd_in 2000 6000; F_DUR=$R ;;
    slow)           rnd_in 2000 8000; F_DUR=$R ;;
    flap)
        local per cnt
        rnd_in 2 8; per=$((R * 100))
        rnd_in 3 12; cnt=$R
        (( per * cnt <= 8000 )) || cnt=$((8000 / per))
        F_ARG="${per}x$cnt"; F_DUR=$((per * cnt)) ;;
    esac
}

weighted_kind() {   # R-based pick among the path faults: nic_down 2, silent 2, reset 2, slow 1, flap 1
    local w=(nic_down nic_down silent silent reset reset slow flap)
    rnd ${#w[@]}; KIND=${w[R]}
}

# the first six rounds: every kind once, shuffled
COVER=("${KINDS[@]}")
for ((i = ${#COVER[@]} - 1; i > 0; i--)); do
    rnd $((i + 1)); t=${COVER[i]}; COVER[i]=${COVER[R]}; COVER[R]=$t
done
ROUNDS="$SOAK_OUT/rounds.tsv"     # one line per round: start_ms end_ms kind[,kind]
: >"$ROUNDS"
ROUND=0 DOUBLE=0 LAST_RESTART=-1000000
CHAOS_END=$(( $(now_ms) + CHAOS_S * 1000 ))
tl "chaos phase: ${CHAOS_S} s; coverage order: ${COVER[*]}"
while load_alive; do
    (( $(now_ms) + 9000 < CHAOS_END )) || break     # a round (<= 8 s + overhead) must fit
    check_recovery || break
    if [[ -z ${UP// /} ]]; then
        wait_until 60 _any_up || { fail_later "no path up 60 s after the last heal"; break; }
        check_recovery || break
    fi
    ROUND=$((ROUND + 1))
    if (( ROUND <= ${#COVER[@]} )); then
        KIND=${COVER[ROUND - 1]}
    else
        rnd 20
        if (( R == 0 && $(now_ms) - LAST_RESTART > 90000 )); then KIND=restart; else weighted_kind; fi
    fi
    if [[ $KIND == restart ]]; then
        rnd_in 0 3; down=$R
        tl "round $ROUND: target restart (down $down s); up before: $(upfmt)"
        COUNT[restart]=$(( COUNT[restart] + 1 ))
        for p in "${PATHS[@]}"; do FAULTED[$p]=restart; done
        start=$(now_ms)
        fault_target_restart "$down"
        t=$(now_ms)
        for p in "${PATHS[@]}"; do unset "FAULTED[$p]"; HEALED_AT[$p]=$t; done
        LAST_RESTART=$t
        tl "round $ROUND: target back (tgtd pid $TGT_PID)"
        echo "$start $(now_ms) restart" >>"$ROUNDS"
    else
        # events: "T_MS ACTION" with ACTION inject/heal of fault 1 or 2
        pick_fault "$KIND" " " || { tl "round $ROUND: no target for $KIND (up: $(upfmt))"; ROUND=$((ROUND - 1)); sleep 1; continue; }
        K1=$KIND S1=$F_SPEC A1=$F_ARG D1=$F_DUR
        EV=("0 i1" "$D1 h1")
        n=1
        rnd 100
        if (( ROUND > ${#COVER[@]} && R < 35 )); then
            weighted_kind
            [[ $KIND == flap && $K1 == flap ]] && KIND=nic_down      # one flap loop at a time
            taken=" $(spec_paths "$S1") "
            if pick_fault "$KIND" "$taken"; then
                K2=$KIND S2=$F_SPEC A2=$F_ARG D2=$F_DUR
                rnd_in 0 "$D1"; O2=$R
                EV+=("$O2 i2" "$((O2 + D2)) h2")
                n=2 DOUBLE=$((DOUBLE + 1))
            fi
        fi
        if (( n == 1 )); then
            tl "round $ROUND: ${KIND_NAME[$K1]} $S1${A1:+ (period ms x count: $A1)} for $D1 ms; up before: $(upfmt)"
        else
            tl "round $ROUND: ${KIND_NAME[$K1]} $S1${A1:+ (period ms x count: $A1)} for $D1 ms + ${KIND_NAME[$K2]} $S2${A2:+ (period ms x count: $A2)} for $D2 ms from +$O2 ms; up before: $(upfmt)"
        fi
        start=$(now_ms)
        while read -r -u 3 at act; do
            sleep_ms $(( start + at - $(now_ms) ))
            case $act in
            i1) tl "  inject ${KIND_NAME[$K1]} $S1"; inject "$K1" "$S1" "$A1" ;;
            h1) heal "$K1" "$S1"; tl "  healed ${KIND_NAME[$K1]} $S1" ;;
            i2) tl "  inject ${KIND_NAME[$K2]} $S2"; inject "$K2" "$S2" "$A2" ;;
            h2) heal "$K2" "$S2"; tl "  healed ${KIND_NAME[$K2]} $S2" ;;
            esac
        done 3< <(printf '%s\n' "${EV[@]}" | sort -n -k1,1)
        echo "$start $(now_ms) $K1$( ((n == 2)) && echo ",$K2")" >>"$ROUNDS"
    fi
    (( ${#FAULTED[@]} == 0 )) || { fail_later "driver bug: faults left on after round $ROUND: ${!FAULTED[*]}"; break; }
    rnd_in 500 4000
    sleep_ms "$R"
done
fault_heal_all
tl "chaos phase over after $ROUND rounds; waiting for all 4 paths"
if ! wait_until "$RECOVERY_S" _all_up_check; then
    fail_later "not all 4 paths up $RECOVERY_S s after the last heal: up $(up_paths | tr '\n' ' ')"
    ctl_paths "$CTL" | sed 's/^/#   path /' >&2 || true
fi
if daemon_alive; then
    read -r FD1 RSS1 <<<"$(sample)"
else
    FD1=- RSS1=-
fi
tl "end sample: $FD1 fds, RSS $RSS1 kB (fio $(_gone "$FIO_PID" && echo ended || echo running))"
PATH_MIB=$(count_snapshot | awk '{ printf "%s %.0f MiB, ", $1, $2 / 1048576 }' | sed 's/, $//')

# ---------------------------------------------------------------- wind down
touch "$STOP"
wait_until 300 _gone "$CLIENT_PID" || fail_later "the second client did not stop within 300 s"
CLIENT_RC=0; wait "$CLIENT_PID" 2>/dev/null || CLIENT_RC=$?
wait_until $((SOAK_TAIL + 180)) _gone "$FIO_PID" || fail_later "fio did not finish"
FIO_RC=0; wait "$FIO_PID" 2>/dev/null || FIO_RC=$?
tl "load done: fio status $FIO_RC, second client status $CLIENT_RC"
DAEMON_WAS_ALIVE=0
daemon_alive && DAEMON_WAS_ALIVE=1
# stop_daemon dies on a KILL, a non-zero exit or a sanitizer report; record its first complaint
# instead (errexit is off inside a function called in a || list), for the summary
DAEMON_STOP=ok
if (( DAEMON_WAS_ALIVE )); then
    _die_def=$(declare -f die)
    STOP_MSG=
    die() { [[ -n $STOP_MSG ]] || STOP_MSG=$*; return 1; }
    stop_daemon || true
    eval "$_die_def"
    [[ -z $STOP_MSG ]] || DAEMON_STOP="failed: $STOP_MSG"
else
    DAEMON_STOP="dead before the end"
fi

# fio: per job reads, writes, errors, longest completion; verify failures from its messages
FIO_RES=$(/usr/bin/python3 - "$SOAK_OUT/fio.json" <<'PY'
import json, sys
t = open(sys.argv[1]).read()
try:
    d = json.loads(t[t.index('{'):])
except ValueError:
    print("none 0 0 -1 0"); sys.exit(0)
for j in d["jobs"]:
    r, w = j["read"], j["write"]
    stall = max(r["clat_ns"]["max"], w["clat_ns"]["max"]) / 1e6
    print(j["jobname"], r["total_ios"], w["total_ios"], "%.1f" % stall, j["error"] + j.get("total_err", 0))
PY
)
msgs() { cat "$SOAK_OUT/fio.out" "$SOAK_OUT/fio.json" 2>/dev/null | grep -ciE "$1" || true; }
# Longest fio completion per fault kind: fio logs the longest completion latency of every second
# (per job and direction); a second counts for a round if it overlaps [start, end + 3 s].
declare -A KSTALL=()
while read -r k v; do KSTALL[$k]=$v; done < <(/usr/bin/python3 - "$ROUNDS" "$FIO_T0" "$SOAK_OUT"/fiolat_clat.*.log <<'PY'
import sys
rounds = [l.split() for l in open(sys.argv[1]) if l.strip()]
t0 = int(sys.argv[2])
best = {"none": 0.0}
for f in sys.argv[3:]:
    for line in open(f):
        x = line.split(",")
        if len(x) < 2:
            continue
        end, ms = t0 + int(x[0]), int(x[1]) / 1e6
        hit = False
        for a, b, kinds in rounds:
            if end > int(a) and end - 1000 < int(b) + 3000:
                hit = True
                for k in kinds.split(","):
                    best[k] = max(best.get(k, 0.0), ms)
        if not hit:
            best["none"] = max(best["none"], ms)
for k, v in best.items():
    print(k, "%.0f" % v)
PY
)
FIO_VERIFY=$(msgs 'verify failed|bad magic|bad header|bad pattern|verify: ')
FIO_IOERR=$(msgs 'io_u error|I/O error|Input/output error')
FIO_IOS=0 FIO_ERR=0 FIO_STALL=0
while read -r job rd wr st er; do
    FIO_IOS=$((FIO_IOS + rd + wr)); FIO_ERR=$((FIO_ERR + er))
    awk -v a="$st" -v b="$FIO_STALL" 'BEGIN { exit !(a > b) }' && FIO_STALL=$st
    (( rd > 0 && wr > 0 )) || fail_later "fio job $job: $rd reads, $wr writes (expected both)"
done <<<"$FIO_RES"
(( FIO_RC == 0 )) || fail_later "fio exited with status $FIO_RC"
(( FIO_ERR == 0 && FIO_IOERR == 0 )) || fail_later "fio: $FIO_ERR job errors, $FIO_IOERR I/O error messages"
(( FIO_VERIFY == 0 )) || fail_later "fio: $FIO_VERIFY verify failure messages (see $SOAK_OUT/fio.out)"

CJ="$SOAK_OUT/client.json"
if [[ -s $CJ ]]; then
    eval "$(/usr/bin/python3 - "$CJ" <<'PY'
import json, shlex, sys
d = json.load(open(sys.argv[1]))
v = {"C_IOS": d["ios"], "C_ERR": d["errors"] + d["connect_errors"], "C_VERIFY": d["verify_errors"],
     "C_STALL": d["max_ms"], "C_CONN": d["connects"], "C_ABW": d["abandoned_writes"],
     "C_FINAL": d["final_blocks"], "C_FIRST": "; ".join(d["first_errors"]),
     "C_DISC": "%d/%d/%d" % (d["disconnects"]["drain"], d["disconnects"]["disc"], d["disconnects"]["abrupt"])}
for k, x in v.items():
    print("%s=%s" % (k, shlex.quote(str(x))))
PY
)"
    [[ $C_ERR == 0 && $C_VERIFY == 0 ]] || fail_later "second client: $C_ERR errors, $C_VERIFY verify errors: $C_FIRST"
    [[ $C_FINAL == $((CLIENT_SIZE / 65536)) ]] || fail_later "second client: final read-back covered $C_FINAL blocks"
    (( C_CONN >= 10 )) || fail_later "second client connected only $C_CONN times"
else
    C_IOS=? C_ERR=? C_VERIFY=? C_STALL=? C_CONN=? C_DISC=? C_ABW=? C_FINAL=?
    fail_later "second client wrote no result (status $CLIENT_RC): $(tail -n 3 "$SOAK_OUT/client.out" | tr '\n' ' ')"
fi
(( CLIENT_RC == 0 )) || fail_later "second client exited with status $CLIENT_RC"

(( DAEMON_WAS_ALIVE )) || fail_later "the daemon was not alive at the end"
[[ $DAEMON_STOP == ok ]] || fail_later "daemon stop: $DAEMON_STOP (non-zero exit, KILL needed or sanitizer report)"
if [[ $FD1 != - ]]; then
    (( FD1 <= FD0 + FD_SLACK )) || fail_later "fd count grew: $FD0 -> $FD1 (bound start + $FD_SLACK)"
    (( ASAN || RSS1 <= RSS0 + RSS_SLACK_KB )) ||
        fail_later "RSS grew: $RSS0 -> $RSS1 kB (bound start + $RSS_SLACK_KB kB)"
fi
MAXS=$(awk '!/^#/ && NF == 3 { if ($2 > f) f = $2; if ($3 > r) r = $3 } END { print f + 0, r + 0 }' "$SAMPLES")
read -r FDMAX RSSMAX <<<"$MAXS"
(( ROUND >= 6 )) || fail_later "only $ROUND fault rounds ran"
for k in "${KINDS[@]}"; do
    (( COUNT[$k] > 0 )) || fail_later "no ${KIND_NAME[$k]} fault was injected"
done

# ---------------------------------------------------------------- summary
kib2mib() { [[ $1 == - ]] && echo - || awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
RESULT=PASS
(( ${#FAILS[@]} == 0 )) || RESULT=FAIL
SUM="$SOAK_OUT/summary.md"
{
    echo "# Chaos soak: $RESULT"
    echo
    echo "\`make soak SOAK_MINUTES=$SOAK_MINUTES SOAK_SEED=$SOAK_SEED\`, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores;"
    echo "4 paths (2 NICs x 2 portals, tgtd), ${SOAK_SIZE_MB} MiB LU, no_path_retry $NO_PATH_RETRY s;"
    echo "chaos phase ${CHAOS_S} s after ${SOAK_WARMUP} s of warm-up: $ROUND rounds, $DOUBLE of them with two faults at once."
    echo
    echo "| fault | injected | longest fio completion in its rounds (ms) |"
    echo "| --- | ---: | ---: |"
    for k in "${KINDS[@]}"; do echo "| ${KIND_NAME[$k]} | ${COUNT[$k]} | ${KSTALL[$k]:--} |"; done
    echo "| (no fault: warm-up, gaps, tail) | | ${KSTALL[none]:--} |"
    echo
    echo "| load | I/Os | errors | verify failures | longest completion (ms) |"
    echo "| --- | ---: | ---: | ---: | ---: |"
    while read -r job rd wr st er; do
        echo "| fio job $job ($rd reads incl. verify, $wr writes) | $((rd + wr)) | $er | - | $st |"
    done <<<"$FIO_RES"
    echo "| fio, messages in its output | | $FIO_IOERR | $FIO_VERIFY | |"
    echo "| second client ($C_CONN connections; ended drained/DISC/abrupt: $C_DISC; $C_ABW writes abandoned in flight; final read-back $C_FINAL blocks) | $C_IOS | $C_ERR | $C_VERIFY | $C_STALL |"
    echo
    echo "| daemon | after warm-up | end | max | bound |"
    echo "| --- | ---: | ---: | ---: | ---: |"
    echo "| open fds | $FD0 | $FD1 | $FDMAX | start + $FD_SLACK |"
    if (( ASAN )); then
        echo "| RSS (MiB) | $(kib2mib "$RSS0") | $(kib2mib "$RSS1") | $(kib2mib "$RSSMAX") | none (ASan build: quarantine; LeakSanitizer at exit) |"
    else
        echo "| RSS (MiB) | $(kib2mib "$RSS0") | $(kib2mib "$RSS1") | $(kib2mib "$RSSMAX") | start + $((RSS_SLACK_KB / 1024)) |"
    fi
    echo
    echo "Daemon alive at the end: $( ((DAEMON_WAS_ALIVE)) && echo yes || echo no); stop (SIGTERM): $DAEMON_STOP."
    echo "Traffic per path (NIC:portal, both directions, target side): $PATH_MIB."
    if (( ${#FAILS[@]} )); then
        echo
        echo "Failures:"
        for f in "${FAILS[@]}"; do echo "- $f"; done
        echo
        echo "Logs: $SOAK_OUT (timeline.log, daemon.log, tgtd.log, fio.out, client.out)."
    fi
} >"$SUM"
cat "$SUM"
if (( ${#FAILS[@]} )); then
    echo "# last timeline entries:" >&2
    tail -n 25 "$TIMELINE" | sed 's/^/#   /' >&2
    echo "# daemon log, last warnings and errors:" >&2
    grep -E '\[(warn|err)' "$DAEMON_LOG" | tail -n 25 | sed 's/^/#   /' >&2 || true
    die "chaos soak failed (seed $SOAK_SEED): ${FAILS[*]}"
fi
echo "soak: PASS (seed $SOAK_SEED, $ROUND rounds, $((FIO_IOS + C_IOS)) I/Os, 0 errors)"
