# Sourceable test fixture: network namespaces, veth paths, a tgtd iSCSI target and the mpiscsid daemon.
#
# Source it from a bash script that runs `set -euo pipefail` as root. Everything it starts
# (namespaces, veths, tgtd, daemons, helper processes, temp files) is removed by name/PID in
# the EXIT trap, also when the caller fails. Only 127.0.0.0/8 and 198.18.0.0/15 are used.
#
# API
#   die MSG...                  print "FAIL: MSG" to stderr and exit 1
#   log MSG...                  print "# MSG" to stderr (progress notes)
#   need_root                   fail unless uid 0
#   need_tool CMD PACKAGE       fail naming PACKAGE unless CMD is on PATH
#   fixture_trap_add CMD        add CMD (a string, eval'd) to the EXIT cleanup chain; the
#                               chain runs in reverse order, every step even if one fails,
#                               and keeps the script's exit status. INT/TERM exit the script.
#   fixture_tmpdir              creates $FIX_DIR (mktemp -d, removed at exit) and sets
#                               $FIX_LOGDIR ($E2E_LOGDIR if set, kept; else $FIX_DIR)
#   wait_until TIMEOUT CMD...   run CMD every 50 ms until it succeeds (return 0) or TIMEOUT
#                               seconds pass (return 1). Bounded.
#   golden NAME CMD...          CMD's output through the test's norm() equals tests/e2e/golden/NAME.txt
#                               (GOLDEN_UPDATE=1 rewrites it)
#   wait_for_socket PATH TIMEOUT  wait until the Unix socket PATH exists and accepts a connection
#   wait_for_export SOCK NAME [TIMEOUT]  wait (default 30 s) until the NBD server on the Unix socket
#                               SOCK serves export NAME (nbdinfo --size succeeds); 1 on timeout
#   fixture_bg NAME LOG CMD...  start CMD in the background (stdout+stderr to LOG), remember
#                               its PID as FIX_PID_<NAME> and kill it (TERM, then KILL) at exit
#   fixture_kill PID            TERM PID, wait up to 5 s, then KILL; quiet if already gone
#   tgt_setup K SIZE_MB         K (1..32) paths, SIZE_MB MiB sparse LU; exports:
#        TGT_SUF      unique suffix          INI_NS / TGT_NS  namespace names (mpi-ini-$SUF / mpi-tgt-$SUF)
#        TGT_CTL      tgtd control port      TGT_PID          tgtd's PID
#        TGT_IQN      iqn.2026-11.org.mpiscsi.test:$SUF (tid 1, LUN 1)
#        TGT_BACKING  backing file (/dev/shm/mpi-$SUF.img)   TGT_SIZE  its size in bytes
#        TGT_PATHS    K                      TGT_PORTALS      "198.18.1.2:3260 198.18.2.2:3260 ..."
#        TGT_LOG      tgtd's log file
#      Path k: veth<k> in both namespaces, 198.18.k.1/24 (ini) <-> 198.18.k.2/24 (tgt).
#   tgt_setup_cross NICS PORTALS SIZE_MB
#                               like tgt_setup, but every initiator NIC reaches every portal:
#                               NICS veths (1..16), PORTALS portals (1..NICS) 198.18.p.2 on the
#                               target's veth<p>; NICS x PORTALS paths. Host routes in the
#                               initiator namespace: 198.18.p.2/32 dev veth<p> (metric 0, what an
#                               unbound socket uses) and, for every NIC k != p, 198.18.p.2/32 via
#                               198.18.k.2 dev veth<k> metric 10 (what a socket bound to veth<k>
#                               uses). The target answers from any local address over the veth
#                               the packet came in on (its connected /24); rp_filter is 0 on both
#                               sides. Extra exports: TGT_NICS, TGT_NPORTALS, TGT_CROSS=1.
#                               (tgt_setup K sets TGT_NICS = TGT_NPORTALS = K, TGT_CROSS=0.)
#   tgt_routes K                (re)add NIC K's host routes (cross topology; no-op otherwise).
#                               `ip link set down` flushes them: tgt_nic_up calls it.
#   tgt_add_lun N SIZE_MB       add LUN N (2..) to tid 1, backed by a new sparse file
#                               /dev/shm/mpi-$SUF-lunN.img (removed at exit; re-added by tgt_start)
#   tgt_new_identity SIZE_MB    make the next tgt_start serve LUN 1 from a NEW backing file with a
#                               new scsi_id/scsi_sn (TGT_SCSI_ID, TGT_SCSI_SN): a target whose LU
#                               changed identity behind the same IQN/LUN. Old file kept until exit.
#   write_cross_conf FILE SOCK [EXTRA]  daemon config: disk0 over every NIC x portal of the fixture
#   start_cross_daemon N P MB [EXTRA]  tgt_setup_cross + write_cross_conf + start_daemon; sets SOCK CONF URI
#   qio ARGS / qio_ok ARGS      qemu-io on $URI / and it reported no failure
#   tgt_url K [LUN]             print iscsi://198.18.K.2:3260/$TGT_IQN/LUN (LUN default 1)
#   tgt_cleanup                 stop tgtd (tgtadm delete system, KILL as last resort), delete
#                               both namespaces and the backing file (registered by tgt_setup)
#   tgt_stop / tgt_start        stop tgtd / start it again with the same LU (target restart fault)
#   tgt_nic_down K / tgt_nic_up K   set the initiator side veth<K> down / up (up re-adds routes)
#   ini_exec CMD...             run CMD inside the initiator namespace
#   tgt_exec CMD...             run CMD inside the target namespace
#   start_daemon SOCK [URL...]  start "$BUILD/bin/mpiscsid -f --nbd unix:SOCK URL..." in the
#                               initiator namespace (extra daemon options: $DAEMON_ARGS, a bash
#                               array or string; with -c/--config FILE there, URLs may be omitted;
#                               --nbd on the command line overrides the file's [nbd] listen),
#                               log to $DAEMON_LOG, PID in $DAEMON_PID; wait
#                               (DAEMON_TIMEOUT, default 30 s) until SOCK accepts (at once: the
#                               listeners open at start) and the daemon is ready: with
#                               DAEMON_WAIT_EXPORTS unset, until it logs that every configured
#                               disk is attached and exported; with DAEMON_WAIT_EXPORTS="A B",
#                               until exports A and B are served (wait_for_export), and
#                               DAEMON_WAIT_EXPORTS="" (an empty start, a disk that must not
#                               attach) waits for the socket only. On death or timeout fail
#                               with the last log lines. No URL and no -c: an empty start.
#                               E2E_BRIDGE=qemu-nbd replaces the daemon by qemu-nbd (export
#                               disk0, first URL only) to validate test logic; it says so loudly.
#   DAEMON_CTL                  the daemon's control socket (next to SOCK), for mpiscsiadm -s
#   stop_daemon                 TERM the daemon and wait (10 s); fail if it needed KILL, exited
#                               non-zero, or its log holds a sanitizer report
#   nbd_uri SOCK                print nbd+unix:///disk0?socket=SOCK
#   daemon_alive                true while $DAEMON_PID runs

: "${BUILD:=build}"
# The peers are Debian's: their Python bindings (nbdsh, python3-libnbd) live in /usr/bin's
# python3, so system directories go first (a pyenv/venv python3 on PATH lacks them).
PATH=/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH
export PATH

log() { printf '# %s\n' "$*" >&2; }
die() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

need_root() {
    [[ $(id -u) -eq 0 ]] || die "must run as root (network namespaces, tgtd); try: sudo $0"
}

need_tool() {
    command -v "$1" >/dev/null 2>&1 || die "'$1' not found: install package '$2' (make deps)"
}

# ---------------------------------------------------------------- exit trap chain
FIX_TRAPS=()
_fixture_run_traps() {
    local rc=$? i
    set +e
    # Ignore further INT/TERM (timeout and run.sh may send several): cleanup must finish.
    trap - EXIT
    trap '' INT TERM
    for ((i = ${#FIX_TRAPS[@]} - 1; i >= 0; i--)); do
        eval "${FIX_TRAPS[i]}" || printf '# cleanup step failed: %s\n' "${FIX_TRAPS[i]}" >&2
    done
    FIX_TRAPS=()
    exit "$rc"
}
fixture_trap_add() {
    FIX_TRAPS+=("$1")
    trap _fixture_run_traps EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# ---------------------------------------------------------------- waiting
wait_until() {
    local timeout=$1; shift
    local deadline=$((SECONDS + timeout)) t0
    t0=$(date +%s%N)
    while :; do
        "$@" >/dev/null 2>&1 && return 0
        # SECONDS has 1 s resolution: also check the nanosecond clock
        (( SECONDS > deadline )) && return 1
        (( ($(date +%s%N) - t0) / 1000000000 >= timeout )) && return 1
        sleep 0.05
    done
}

_socket_accepts() {
    [[ -S $1 ]] || return 1
    /usr/bin/python3 - "$1" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(2)
s.connect(sys.argv[1])
s.close()
EOF
}
wait_for_socket() { wait_until "$2" _socket_accepts "$1"; }
# The NBD server at SOCK serves export NAME (a client selecting it gets its size).
_export_served() { timeout 5 nbdinfo --size "nbd+unix:///$2?socket=$1" >/dev/null 2>&1; }
wait_for_export() { need_tool nbdinfo libnbd-bin; wait_until "${3:-30}" _export_served "$1" "$2"; }
# The daemon's log says every disk it was configured with is attached and exported.
_daemon_all_ready() { grep -qE 'all [0-9]+ disk\(s\) attached and exported' "$DAEMON_LOG"; }

# ---------------------------------------------------------------- processes
fixture_kill() {
    local pid=$1 i
    [[ -n $pid ]] || return 0
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    kill -TERM "$pid" 2>/dev/null
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        # reap if it is our child, so kill -0 stops seeing a zombie
        if ! [[ -e /proc/$pid ]] || [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) == Z ]]; then
            break
        fi
        sleep 0.05
    done
    if kill -0 "$pid" 2>/dev/null && [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) != Z ]]; then
        log "pid $pid ignored SIGTERM for 5 s: SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true   # it may have been reaped since the check
    fi
    wait "$pid" 2>/dev/null || true
    return 0
}

fixture_bg() {
    local name=$1 logf=$2; shift 2
    "$@" >"$logf" 2>&1 &
    local pid=$!
    printf -v "FIX_PID_$name" '%s' "$pid"
    fixture_trap_add "fixture_kill $pid"
}

fixture_tmpdir() {
    if [[ -z ${FIX_DIR:-} ]]; then
        FIX_DIR=$(mktemp -d /tmp/mpiscsi-test.XXXXXX)
        fixture_trap_add "rm -rf '$FIX_DIR'"
    fi
    FIX_LOGDIR=${E2E_LOGDIR:-$FIX_DIR}
    mkdir -p "$FIX_LOGDIR"
}

# ---------------------------------------------------------------- tgtd fixture
ini_exec() { ip netns exec "$INI_NS" "$@"; }
tgt_exec() { ip netns exec "$TGT_NS" "$@"; }
# write_cross_conf FILE SOCK [EXTRA_DISK_LINES]: a daemon config for the fixture: disk0 on
# LUN 1 with every portal and (for tgt_setup_cross) every NIC, so NICS x PORTALS paths;
# EXTRA_DISK_LINES (newline-separated) are appended to [disk disk0].
write_cross_conf() {
    local file=$1 sock=$2 extra=${3:-} k p
    {
        printf '[global]\ninitiator_name = iqn.2026-11.org.mpiscsi.test:ini-%s\n' "$TGT_SUF"
        printf '[nbd]\nlisten = unix:%s\n' "$sock"
        printf '[disk disk0]\ntarget = %s\nlun = 1\n' "$TGT_IQN"
        for ((p = 1; p <= ${TGT_NPORTALS:-$TGT_PATHS}; p++)); do printf 'portal = 198.18.%d.2:3260\n' "$p"; done
        for ((k = 1; k <= ${TGT_NICS:-0}; k++)); do printf 'interface = veth%d\n' "$k"; done
        [[ -z $extra ]] || printf '%s\n' "$extra"
    } >"$file"
    ini_exec "$BUILD/bin/mpiscsid" --check-config -c "$file" >/dev/null || die "config refused: $file"
}

# start_cross_daemon NICS PORTALS SIZE_MB [EXTRA_DISK_LINES]: tgt_setup_cross, then the daemon
# on disk0 over every NIC x portal (write_cross_conf); sets SOCK, CONF and URI.
start_cross_daemon() {
    tgt_setup_cross "$1" "$2" "$3"
    SOCK="$FIX_DIR/nbd.sock"
    CONF="$FIX_DIR/mpiscsi.conf"
    write_cross_conf "$CONF" "$SOCK" "${4:-}"
    DAEMON_ARGS=(-c "$CONF")
    start_daemon "$SOCK"
    URI=$(nbd_uri "$SOCK")
}

# qio ARGS...: qemu-io on $URI (bounded). qio_ok ARGS...: it succeeded — qemu-io reports a
# failed command on stdout ("read failed: ...") and, in recent versions, with exit status 1:
# both are looked at.
qio() { timeout 60 qemu-io -f raw "$@" "$URI"; }
qio_ok() { local out; out=$(qio "$@" 2>&1) && ! grep -qi 'failed\|error' <<<"$out"; }

tgt_url() { printf 'iscsi://198.18.%s.2:3260/%s/%s\n' "$1" "$TGT_IQN" "${2:-1}"; }
tgt_nic_down() { ip -n "$INI_NS" link set "veth$1" down; }
tgt_nic_up() { ip -n "$INI_NS" link set "veth$1" up && tgt_routes "$1"; }

# Host routes of initiator NIC K in the cross topology (see tgt_setup_cross). Idempotent
# (`ip route replace`); a NIC that is down gets none (the kernel refuses them; tgt_nic_up adds
# them again).
tgt_routes() {
    local k=$1 p
    [[ ${TGT_CROSS:-0} == 1 ]] || return 0
    ip -n "$INI_NS" link show "veth$k" 2>/dev/null | grep -q '[<,]UP[,>]' || return 0
    for ((p = 1; p <= TGT_NPORTALS; p++)); do
        if (( p == k )); then
            ip -n "$INI_NS" route replace "198.18.$p.2/32" dev "veth$k" metric 0
        else
            ip -n "$INI_NS" route replace "198.18.$p.2/32" via "198.18.$k.2" dev "veth$k" metric 10
        fi
    done
}
_tgtadm() { tgtadm -C "$TGT_CTL" "$@"; }

_tgt_pick_ctl() {
    # tgtd's control channel is /var/run/tgtd/socket.N (a Unix socket, shared by all
    # namespaces): pick an N derived from our PID that no other tgtd uses.
    # tgtd accepts 1..32767; stay in 10000..31999.
    local n=$(( 10000 + ($$ * 7 + RANDOM) % 22000 )) i
    for ((i = 0; i < 2000; i++)); do
        if [[ ! -e /var/run/tgtd/socket.$n && ! -e /var/run/tgtd/socket.$n.lock ]]; then
            TGT_CTL=$n; return 0
        fi
        n=$(( 10000 + (n - 10000 + 1) % 22000 ))
    done
    die "no free tgtd control port found"
}

_tgt_listening() {
    local k
    for ((k = 1; k <= ${TGT_NPORTALS:-$TGT_PATHS}; k++)); do
        ip netns exec "$TGT_NS" ss -Hltn "src 198.18.$k.2:3260" | grep -q LISTEN || return 1
    done
}

# ready: tgtadm answers, or tgtd is gone (so wait_until stops at once; the caller checks)
_tgt_ready() {
    kill -0 "$TGT_PID" 2>/dev/null || return 0
    [[ $(awk '{print $3}' "/proc/$TGT_PID/stat" 2>/dev/null) == Z ]] && return 0
    _tgtadm --op show --mode system
}

tgt_start() {
    local portals="" k
    for ((k = 1; k <= ${TGT_NPORTALS:-$TGT_PATHS}; k++)); do
        portals+="${portals:+,}portal=198.18.$k.2:3260"
    done
    mkdir -p /var/run/tgtd
    _tgt_pick_ctl
    ip netns exec "$TGT_NS" tgtd -f -C "$TGT_CTL" --iscsi "$portals" >>"$TGT_LOG" 2>&1 &
    TGT_PID=$!
    if ! wait_until 15 _tgt_ready; then
        tail -n 20 "$TGT_LOG" >&2
        kill -0 "$TGT_PID" 2>/dev/null || die "tgtd (control port $TGT_CTL) exited at start; log above"
        die "tgtd (pid $TGT_PID, control port $TGT_CTL) not ready after 15 s"
    fi
    wait_until 15 _tgt_listening || { tail -n 20 "$TGT_LOG" >&2; die "tgtd does not listen on all portals"; }

    if ! kill -0 "$TGT_PID" 2>/dev/null || [[ $(awk '{print $3}' "/proc/$TGT_PID/stat" 2>/dev/null) == Z ]]; then
        tail -n 20 "$TGT_LOG" >&2
        die "tgtd (control port $TGT_CTL) exited at start; log above"
    fi
    _tgtadm --lld iscsi --op new --mode target --tid 1 -T "$TGT_IQN"
    _tgtadm --lld iscsi --op new --mode logicalunit --tid 1 --lun 1 -b "$TGT_BACKING"
    _tgtadm --lld iscsi --op update --mode logicalunit --tid 1 --lun 1 \
        --params "thin_provisioning=1,scsi_sn=${TGT_SCSI_SN:-mpi$TGT_SUF},scsi_id=${TGT_SCSI_ID:-mpiscsi-$TGT_SUF}"
    local l
    for l in ${TGT_EXTRA_LUNS:-}; do
        _tgtadm --lld iscsi --op new --mode logicalunit --tid 1 --lun "$l" -b "/dev/shm/mpi-$TGT_SUF-lun$l.img"
        _tgtadm --lld iscsi --op update --mode logicalunit --tid 1 --lun "$l" \
            --params "thin_provisioning=1,scsi_sn=mpi${TGT_SUF}l$l,scsi_id=mpiscsi-$TGT_SUF-lun$l"
    done
    local p
    for p in MaxRecvDataSegmentLength MaxXmitDataSegmentLength MaxBurstLength FirstBurstLength; do
        _tgtadm --lld iscsi --op update --mode target --tid 1 -n "$p" -v 262144
    done
    _tgtadm --lld iscsi --op bind --mode target --tid 1 -I ALL
}

tgt_stop() {
    [[ -n ${TGT_PID:-} ]] || return 0
    if kill -0 "$TGT_PID" 2>/dev/null; then
        # tgtd ignores SIGTERM and refuses "delete system" while targets exist: delete
        # every target first (--force drops live sessions), then the system.
        local tid
        for tid in $(tgtadm -C "$TGT_CTL" --lld iscsi --op show --mode target 2>/dev/null |
                     sed -n 's/^Target \([0-9]*\):.*/\1/p'); do
            # under load tgtd may answer "busy" (exit 22): retried below, never fatal here
            tgtadm -C "$TGT_CTL" --lld iscsi --op delete --mode target --tid "$tid" --force >/dev/null 2>&1 || true
        done
        # 1 s for an orderly stop; tgtd with busy sessions often needs SIGKILL (a crash-like
        # restart, which is what the target-restart fault means anyway)
        local i
        for ((i = 0; i < 20; i++)); do
            kill -0 "$TGT_PID" 2>/dev/null || break
            [[ $(awk '{print $3}' "/proc/$TGT_PID/stat" 2>/dev/null) == Z ]] && break
            # ask again every 0.5 s until it goes (targets that were busy are deleted by now)
            if (( i % 10 == 0 )); then
                for tid in $(tgtadm -C "$TGT_CTL" --lld iscsi --op show --mode target 2>/dev/null |
                             sed -n 's/^Target \([0-9]*\):.*/\1/p'); do
                    tgtadm -C "$TGT_CTL" --lld iscsi --op delete --mode target --tid "$tid" --force \
                        >/dev/null 2>&1 || true
                done
                tgtadm -C "$TGT_CTL" --op delete --mode system >/dev/null 2>&1 || true
            fi
            sleep 0.05
        done
        if kill -0 "$TGT_PID" 2>/dev/null && [[ $(awk '{print $3}' "/proc/$TGT_PID/stat" 2>/dev/null) != Z ]]; then
            log "tgtd $TGT_PID did not stop within 1 s: SIGKILL"
            kill -KILL "$TGT_PID" 2>/dev/null
        fi
    fi
    wait "$TGT_PID" 2>/dev/null || true
    rm -f "/var/run/tgtd/socket.$TGT_CTL" "/var/run/tgtd/socket.$TGT_CTL.lock"
    TGT_PID=
}

tgt_cleanup() {
    tgt_stop
    [[ -n ${INI_NS:-} ]] && ip netns del "$INI_NS" 2>/dev/null
    [[ -n ${TGT_NS:-} ]] && ip netns del "$TGT_NS" 2>/dev/null
    [[ -n ${TGT_BACKING:-} ]] && rm -f "$TGT_BACKING"
    [[ -n ${TGT_SUF:-} ]] && rm -f "/dev/shm/mpi-$TGT_SUF-lun"*.img "/dev/shm/mpi-$TGT_SUF-id"*.img
    return 0
}

tgt_add_lun() {
    local n=$1 size_mb=$2
    [[ $n =~ ^[0-9]+$ ]] && (( n >= 2 && n <= 255 )) || die "tgt_add_lun: N must be 2..255"
    [[ $size_mb =~ ^[0-9]+$ ]] && (( size_mb >= 1 )) || die "tgt_add_lun: SIZE_MB must be a positive integer"
    [[ " ${TGT_EXTRA_LUNS:-} " != *" $n "* ]] || die "tgt_add_lun: LUN $n exists"
    truncate -s "${size_mb}M" "/dev/shm/mpi-$TGT_SUF-lun$n.img"
    _tgtadm --lld iscsi --op new --mode logicalunit --tid 1 --lun "$n" -b "/dev/shm/mpi-$TGT_SUF-lun$n.img"
    _tgtadm --lld iscsi --op update --mode logicalunit --tid 1 --lun "$n" \
        --params "thin_provisioning=1,scsi_sn=mpi${TGT_SUF}l$n,scsi_id=mpiscsi-$TGT_SUF-lun$n"
    TGT_EXTRA_LUNS="${TGT_EXTRA_LUNS:-}${TGT_EXTRA_LUNS:+ }$n"
    export TGT_EXTRA_LUNS
}

tgt_new_identity() {
    local size_mb=$1
    [[ $size_mb =~ ^[0-9]+$ ]] && (( size_mb >= 1 )) || die "tgt_new_identity: SIZE_MB must be a positive integer"
    TGT_ID_GEN=$(( ${TGT_ID_GEN:-0} + 1 ))
    TGT_BACKING="/dev/shm/mpi-$TGT_SUF-id$TGT_ID_GEN.img"
    truncate -s "${size_mb}M" "$TGT_BACKING"
    TGT_SIZE=$((size_mb * 1024 * 1024))
    TGT_SCSI_SN="mpi${TGT_SUF}g$TGT_ID_GEN"
    TGT_SCSI_ID="mpiscsi-$TGT_SUF-gen$TGT_ID_GEN"
    export TGT_BACKING TGT_SIZE TGT_SCSI_SN TGT_SCSI_ID TGT_ID_GEN
}

_veth_up() {
    ip -n "$INI_NS" link show "veth$1" | grep -q LOWER_UP &&
        ip -n "$TGT_NS" link show "veth$1" | grep -q LOWER_UP
}

tgt_setup() {
    local k_paths=$1 size_mb=$2
    [[ $k_paths =~ ^[0-9]+$ ]] && (( k_paths >= 1 && k_paths <= 32 )) || die "tgt_setup: K must be 1..32"
    _tgt_setup "$k_paths" "$k_paths" "$size_mb" 0
}

tgt_setup_cross() {
    local nics=$1 nportals=$2 size_mb=$3
    [[ $nics =~ ^[0-9]+$ ]] && (( nics >= 1 && nics <= 16 )) || die "tgt_setup_cross: NICS must be 1..16"
    [[ $nportals =~ ^[0-9]+$ ]] && (( nportals >= 1 && nportals <= nics )) ||
        die "tgt_setup_cross: PORTALS must be 1..NICS"
    _tgt_setup "$nics" "$nportals" "$size_mb" 1
}

_tgt_setup() {
    local nics=$1 nportals=$2 size_mb=$3 cross=$4 k k_paths
    [[ $size_mb =~ ^[0-9]+$ ]] && (( size_mb >= 1 )) || die "tgt_setup: SIZE_MB must be a positive integer"
    if (( cross )); then k_paths=$((nics * nportals)); else k_paths=$nics; fi
    need_root
    need_tool tgtd tgt
    need_tool tgtadm tgt
    need_tool ip iproute2
    need_tool ss iproute2
    [[ -x /usr/bin/python3 ]] || die "/usr/bin/python3 missing: install package python3"
    fixture_tmpdir

    TGT_SUF="$$$(printf '%04x' $((RANDOM % 65536)))"
    INI_NS="mpi-ini-$TGT_SUF"
    TGT_NS="mpi-tgt-$TGT_SUF"
    TGT_IQN="iqn.2026-11.org.mpiscsi.test:$TGT_SUF"
    TGT_BACKING="/dev/shm/mpi-$TGT_SUF.img"
    TGT_SIZE=$((size_mb * 1024 * 1024))
    TGT_PATHS=$k_paths
    TGT_NICS=$nics
    TGT_NPORTALS=$nportals
    TGT_CROSS=$cross
    TGT_EXTRA_LUNS=
    TGT_SCSI_SN=
    TGT_SCSI_ID=
    TGT_LOG="$FIX_LOGDIR/tgtd.log"
    TGT_PID=
    : >"$TGT_LOG"
    fixture_trap_add tgt_cleanup

    printf '%s %s\n' "$INI_NS" "$TGT_NS" >>"$FIX_LOGDIR/fixture.ns"
    ip netns add "$INI_NS"
    ip netns add "$TGT_NS"
    ip -n "$INI_NS" link set lo up
    ip -n "$TGT_NS" link set lo up
    TGT_PORTALS=""
    if (( cross )); then
        # packets for 198.18.p.2 arrive over veth<k> (k != p) and replies leave over veth<k>
        # with source 198.18.p.2: no reverse-path filtering on either side
        local ns
        for ns in "$INI_NS" "$TGT_NS"; do
            ip netns exec "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
        done
    fi
    for ((k = 1; k <= nics; k++)); do
        ip -n "$INI_NS" link add "veth$k" type veth peer name "veth$k" netns "$TGT_NS"
        ip -n "$INI_NS" addr add "198.18.$k.1/24" dev "veth$k"
        ip -n "$TGT_NS" addr add "198.18.$k.2/24" dev "veth$k"
        ip -n "$INI_NS" link set "veth$k" up
        ip -n "$TGT_NS" link set "veth$k" up
        (( k > nportals )) || TGT_PORTALS+="${TGT_PORTALS:+ }198.18.$k.2:3260"
    done
    # IPv4 on veth needs no DAD; wait for the carrier on both ends
    for ((k = 1; k <= nics; k++)); do
        wait_until 10 _veth_up "$k" || die "path $k: veth$k has no carrier"
        tgt_routes "$k"
    done

    truncate -s "${size_mb}M" "$TGT_BACKING"
    tgt_start
    export TGT_SUF INI_NS TGT_NS TGT_IQN TGT_BACKING TGT_SIZE TGT_PATHS TGT_PORTALS TGT_CTL TGT_PID TGT_LOG
    export TGT_NICS TGT_NPORTALS TGT_CROSS TGT_EXTRA_LUNS
    log "fixture: $k_paths path(s) ($nics NIC(s) x $nportals portal(s)$( ((cross)) && echo ', cross-routed')), ${size_mb} MiB LU $TGT_IQN, tgtd pid $TGT_PID ctl $TGT_CTL, ns $INI_NS/$TGT_NS"
}

# ---------------------------------------------------------------- the daemon
nbd_uri() { printf 'nbd+unix:///disk0?socket=%s\n' "$1"; }
daemon_alive() { [[ -n ${DAEMON_PID:-} ]] && kill -0 "$DAEMON_PID" 2>/dev/null &&
    [[ $(awk '{print $3}' "/proc/$DAEMON_PID/stat" 2>/dev/null) != Z ]]; }

stop_daemon() {
    [[ -n ${DAEMON_PID:-} ]] || return 0
    local pid=$DAEMON_PID rc=0 i
    DAEMON_PID=
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 200; i++)); do
        [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || echo gone) =~ ^(Z|gone)$ ]] && break
        sleep 0.05
    done
    if kill -0 "$pid" 2>/dev/null && [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) != Z ]]; then
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        die "daemon (pid $pid) did not stop within 10 s of SIGTERM; log: $DAEMON_LOG"
    fi
    wait "$pid" 2>/dev/null || rc=$?
    # A sanitizer build reports leaks and undefined behaviour in the log and in the exit status.
    if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$DAEMON_LOG" 2>/dev/null; then
        grep -m5 -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$DAEMON_LOG" >&2
        die "sanitizer report in the daemon log: $DAEMON_LOG"
    fi
    [[ ${E2E_BRIDGE:-mpiscsid} == qemu-nbd ]] || (( rc == 0 )) ||
        die "daemon exited with status $rc after SIGTERM; log: $DAEMON_LOG"
}

start_daemon() {
    local sock=$1; shift
    fixture_tmpdir
    DAEMON_SOCK=$sock
    DAEMON_LOG="$FIX_LOGDIR/daemon.log"
    local -a extra=()
    if declare -p DAEMON_ARGS 2>/dev/null | grep -q '^declare -a'; then
        extra=("${DAEMON_ARGS[@]}")
    elif [[ -n ${DAEMON_ARGS:-} ]]; then
        read -r -a extra <<<"$DAEMON_ARGS"
    fi
    local a has_conf=0 has_ctl=0
    for a in "${extra[@]}"; do
        [[ $a == -c || $a == --config || $a == --config=* ]] && has_conf=1
        [[ $a == --control || $a == --control=* ]] && has_ctl=1
    done
    [[ ${E2E_BRIDGE:-mpiscsid} != qemu-nbd ]] || (( $# >= 1 )) ||
        die "E2E_BRIDGE=qemu-nbd needs an iscsi:// URL (it reads no config file)"
    rm -f "$sock"
    if [[ ${E2E_BRIDGE:-mpiscsid} == qemu-nbd ]]; then
        log "WARNING: E2E_BRIDGE=qemu-nbd: testing qemu-nbd, NOT mpiscsid (test-logic validation only)"
        need_tool qemu-nbd qemu-utils
        [[ -e /usr/lib/x86_64-linux-gnu/qemu/block-iscsi.so ]] || ls /usr/lib/*/qemu/block-iscsi.so >/dev/null 2>&1 ||
            die "qemu iSCSI block driver missing: install package qemu-block-extra"
        local u=${1#iscsi://} portal target lun
        portal=${u%%/*}; u=${u#*/}; target=${u%/*}; lun=${u##*/}
        ip netns exec "$INI_NS" qemu-nbd --image-opts \
            "driver=raw,file.driver=iscsi,file.transport=tcp,file.portal=$portal,file.target=$target,file.lun=$lun" \
            -k "$sock" -x disk0 --cache=none --aio=threads --discard=unmap --shared=16 --persistent \
            >"$DAEMON_LOG" 2>&1 &
        DAEMON_PID=$!
    else
        local bin="$BUILD/bin/mpiscsid"
        [[ -x $bin ]] || die "$bin not built (run: make all)"
        # (a --control in DAEMON_ARGS wins; DAEMON_CTL is then the caller's business)
        DAEMON_CTL="$(dirname "$sock")/control.sock"
        (( has_ctl )) || extra=(--control "$DAEMON_CTL" "${extra[@]}")
        ip netns exec "$INI_NS" "$bin" -f --nbd "unix:$sock" "${extra[@]}" "$@" >"$DAEMON_LOG" 2>&1 &
        DAEMON_PID=$!
    fi
    fixture_trap_add "fixture_kill $DAEMON_PID"
    # What "ready" means: the socket, then every configured disk (the daemon's log line) or
    # the exports the caller names. qemu-nbd serves its one export as soon as it listens.
    local what="its NBD socket $sock accepted" all_logged=0
    local -a wait_exports=()
    if [[ ${E2E_BRIDGE:-mpiscsid} != qemu-nbd ]]; then
        if [[ -v DAEMON_WAIT_EXPORTS ]]; then
            read -r -a wait_exports <<<"$DAEMON_WAIT_EXPORTS"
            (( ${#wait_exports[@]} == 0 )) || what="it served export(s) ${wait_exports[*]}"
        else
            all_logged=1 what="it logged every configured disk attached and exported"
        fi
        (( ${#wait_exports[@]} == 0 )) || need_tool nbdinfo libnbd-bin
    fi
    local deadline=$((SECONDS + ${DAEMON_TIMEOUT:-30})) e ready
    while :; do
        ready=0
        if _socket_accepts "$sock" 2>/dev/null; then
            ready=1
            (( all_logged )) && ! _daemon_all_ready && ready=0
            for e in "${wait_exports[@]}"; do
                (( ready )) && ! _export_served "$sock" "$e" && ready=0
            done
        fi
        (( ready )) && break
        if ! daemon_alive; then
            local rc=0; wait "$DAEMON_PID" 2>/dev/null || rc=$?
            tail -n 30 "$DAEMON_LOG" >&2
            DAEMON_PID=
            die "daemon exited (status $rc) before $what; log: $DAEMON_LOG"
        fi
        if (( SECONDS > deadline )); then
            tail -n 30 "$DAEMON_LOG" >&2
            die "daemon (pid $DAEMON_PID): not ready within ${DAEMON_TIMEOUT:-30} s (waited until $what); log: $DAEMON_LOG"
        fi
        sleep 0.05
    done
    log "daemon pid $DAEMON_PID serves $(nbd_uri "$sock")"
}

# golden NAME CMD...: CMD's text output, passed through the test's own norm() (a sed that
# replaces run-specific names and ids), must equal $GOLDEN/NAME.txt (GOLDEN defaults to
# tests/e2e/golden); GOLDEN_UPDATE=1 rewrites the file instead.
golden() {
    local name=$1 out dir=${GOLDEN:-tests/e2e/golden}; shift
    out=$("$@") || die "$name: '$*' failed (exit $?)"
    if [[ ${GOLDEN_UPDATE:-0} == 1 ]]; then
        norm <<<"$out" >"$dir/$name.txt"
        log "golden: wrote $dir/$name.txt"
        return 0
    fi
    [[ -f $dir/$name.txt ]] || die "no golden file $dir/$name.txt (GOLDEN_UPDATE=1 writes it)"
    diff -u "$dir/$name.txt" <(norm <<<"$out") >&2 || die "$name: output differs from $dir/$name.txt (above)"
    log "ok: golden $name"
}
