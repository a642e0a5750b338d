# Sourceable test fixture: the Linux kernel iSCSI target (LIO) with ALUA, in a QEMU (TCG) guest
# booted from Debian's kernel (tests/targets/lio/build.sh makes it; lio_setup runs it).
#
# Source tests/lib/tgt.sh first (die, log, need_tool, fixture_trap_add, fixture_bg, wait_until,
# ini_exec/tgt_exec, tgt_nic_down/up), then this file, from a `set -euo pipefail` root script.
# Everything is removed in the EXIT trap, also on failure: qemu by PID, namespaces by name
# (deleting a namespace deletes its veths, bridges and taps). Only 198.18.0.0/15 is used.
#
# Topology (path k = 1..K): initiator namespace INI_NS: veth<k> 198.18.k.1/24 <-> target
# namespace TGT_NS: veth<k> and tap<k> in bridge br<k>; the guest's eth<k-1> (virtio-net on
# tap<k>) is 198.18.k.2/24, TPG k listens on 198.18.k.2:3260.
# LIO: one rd_mcp ramdisk (disk0, LUN 0 on every TPG, unit serial $LIO_SERIAL), ALUA groups
# pgA (id 1), pgB (id 2), ... one per path: TPG k's LUNs are in group number k. Demo-mode
# ACLs (any initiator), no authentication. ALUA access type implicit+explicit (STPG works).
#
# API
#   lio_setup K [SIZE_MB]       K = 1..8 paths (default LUN size 64 MiB; guest memory grows with
#                               it). Builds (or reuses) the guest, boots it, waits for readiness
#                               (LIO_BOOT_TIMEOUT s, default 90). Exports:
#        LIO_SUF / TGT_SUF      unique suffix          INI_NS / TGT_NS   mpi-ini-$SUF / mpi-tgt-$SUF
#        LIO_IQN                iqn.2026-11.org.mpiscsi.lio:$SUF       LIO_SERIAL   disk0's unit serial
#        LIO_PATHS / TGT_PATHS  K                      LIO_PORTALS  "198.18.1.2:3260 198.18.2.2:3260 ..."
#        LIO_URLS               "iscsi://198.18.1.2:3260/$LIO_IQN/0 ..."   LIO_SIZE  bytes
#        LIO_PID                qemu's PID             LIO_CONSOLE  guest console log (kept in FIX_LOGDIR)
#        LIO_CTL                control socket         LIO_BOOT_MS  qemu start -> target ready, ms
#      (TGT_NICS/TGT_NPORTALS = K, TGT_CROSS = 0: tgt_nic_down/up K and faults.sh's NIC faults work;
#       faults.sh's iptables/nftables faults on the target side do not see bridged traffic.)
#   lio_url K [LUN]             iscsi://198.18.K.2:3260/$LIO_IQN/LUN (LUN default 0)
#   lio_alua_conf FILE SOCK [EXTRA]   mpiscsid config: disk0 = LUN 0 over both portals, ALUA on
#                               (alua_explicit, alua_refresh = 5, no_path_retry = 20), checked
#   lio_cmd CMD...              run CMD (words joined by spaces) with sh in the guest, functions of
#                               tests/targets/lio/lio.fns available; prints its stdout+stderr and
#                               returns its exit status (124: no answer within LIO_CMD_TIMEOUT s,
#                               default 30; 125: control channel closed). Calls are serialized.
#   lio_alua_state GROUP STATE [DISK]  GROUP: pgA|A|1, pgB|B|2, ...; STATE: 0 active/optimized,
#                               1 active/non-optimized, 2 standby, 3 unavailable, 15 transitioning;
#                               DISK default 0. With a trans delay set it returns at once while the
#                               group transitions in the guest.
#   lio_trans_delay GROUP MS [DISK]   the group's trans_delay_msecs
#   lio_alua_get GROUP [DISK]   print the group's current access state (the number, as above;
#                               15 while a delayed transition is under way)
#   lio_alua_status GROUP [DISK]  print the group's access status as LIO reports it: "None",
#                               "Altered by Explicit STPG" or "Altered by Implicit ALUA"
#   lio_port_offline TPGT 0|1 [LUN]   alua_tg_pt_offline of LUN (default 0) on TPG TPGT
#   lio_tpg_enable TPGT 0|1     enable/disable TPG TPGT (disabled: logins refused)
#   lio_add_lun LUN [SIZE_MB]   new ramdisk disk<LUN> (serial ${LIO_SERIAL}l<LUN>, its own ALUA
#                               groups pgA.. with ids LUN*16+1 ..) mapped as LUN <LUN> on every TPG
#   lio_map_lun TPGT LUN DISK   (re)map LUN on TPG TPGT to disk<DISK> (e.g. LUN 0 of TPG 2 to
#                               disk1: "same IQN/LUN, different LU" on one path)
#   lio_chap TPGT USER PASS [MUTUAL_USER MUTUAL_PASS]   CHAP on TPG TPGT (USER "-": auth off)
#   lio_show                    print disks, groups (state, delay), TPGs and their LUNs
#   lio_tap_down K / lio_tap_up K   the guest-side link of path K (tap<K> in TGT_NS) down / up
#   LIO_APPEND                  extra kernel command line words (lio_setup)
#   lio_diag                    to stderr: can each path reach the guest (a TCP connection to the
#                               portal from the initiator namespace), the taps' counters on the host, the guest's own NIC
#                               counters (over the serial control channel, which does not use the
#                               NICs), twice 1 s apart; for a test that failed (is a NIC dead?)
#   lio_cleanup                 kill qemu, delete the namespaces (registered by lio_setup)

LIO_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

lio_url() { printf 'iscsi://198.18.%s.2:3260/%s/%s\n' "$1" "$LIO_IQN" "${2:-0}"; }

# lio_alua_conf FILE SOCK [EXTRA_DISK_LINES]: a daemon config for disk0 = LUN 0 over the two
# portals with ALUA on (alua_explicit, alua_refresh = 5, no_path_retry = 20); checked.
lio_alua_conf() {
    {
        printf '[global]\ninitiator_name = iqn.2026-11.org.mpiscsi.test:ini-%s\n' "$LIO_SUF"
        printf '[nbd]\nlisten = unix:%s\n' "$2"
        printf '[disk disk0]\ntarget = %s\nlun = 0\n' "$LIO_IQN"
        printf 'portal = 198.18.1.2:3260\nportal = 198.18.2.2:3260\n'
        printf 'alua = auto\nalua_explicit = yes\nalua_refresh = 5\nno_path_retry = 20\n'
        [[ -z ${3:-} ]] || printf '%s\n' "$3"
    } >"$1"
    "$BUILD/bin/mpiscsid" --check-config -c "$1" >/dev/null || die "config refused: $1"
}

_lio_group() {
    case $1 in
        pg[A-P]) printf '%s\n' "$1" ;;
        [A-P]) printf 'pg%s\n' "$1" ;;
        [1-9]|1[0-6]) printf 'pg%s\n' "$(echo ABCDEFGHIJKLMNOP | cut -c"$1")" ;;
        *) die "bad ALUA group '$1' (pgA|A|1 ...)" ;;
    esac
}

lio_cmd() {
    [[ -n ${LIO_CTL:-} ]] || die "lio_cmd: lio_setup has not run"
    (
        flock -w "${LIO_CMD_TIMEOUT:-30}" 9 || { echo "lio_cmd: control channel busy" >&2; exit 124; }
        /usr/bin/python3 - "$LIO_CTL" "${LIO_CMD_TIMEOUT:-30}" "$*" <<'PY'
import base64, os, socket, sys, time
path, timeout, cmd = sys.argv[1], float(sys.argv[2]), sys.argv[3]
cid = "%dx%d" % (os.getpid(), time.monotonic_ns() % 1000000)
deadline = time.monotonic() + timeout
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(timeout)
try:
    s.connect(path)
    s.sendall(("%s %s\n" % (cid, base64.b64encode(cmd.encode()).decode())).encode())
except OSError as e:
    sys.stderr.write("lio_cmd: %s: %s\n" % (path, e)); sys.exit(125)
marker = ("\nMPI-END %s " % cid).encode()
buf = b""
while True:
    i = buf.find(marker)
    if i >= 0:
        j = buf.find(b"\n", i + len(marker))
        if j >= 0:
            out = buf[:i]
            k = out.rfind(b"\nMPI-END ")          # drop a timed-out command's late answer
            if k >= 0:
                e = out.find(b"\n", k + 1)
                out = out[e + 1:] if e >= 0 else b""
            sys.stdout.buffer.write(out)
            sys.stdout.flush()
            sys.exit(int(buf[i + len(marker):j]))
    left = deadline - time.monotonic()
    if left <= 0:
        sys.stderr.write("lio_cmd: no answer within %gs to: %s\n" % (timeout, cmd)); sys.exit(124)
    s.settimeout(left)
    try:
        d = s.recv(65536)
    except socket.timeout:
        continue
    except OSError as e:
        sys.stderr.write("lio_cmd: %s\n" % e); sys.exit(125)
    if not d:
        sys.stderr.write("lio_cmd: control channel closed\n"); sys.exit(125)
    buf += d
PY
    ) 9>"$LIO_CTL.lock"
}

_lio_do() { lio_cmd "$@" >&2 || die "guest command failed: $*"; }
lio_alua_state() { _lio_do alua_state "${3:-0}" "$(_lio_group "$1")" "$2"; }
lio_trans_delay() { _lio_do trans_delay "${3:-0}" "$(_lio_group "$1")" "$2"; }
# (the guest's answer may carry a CR from its serial line: digits / printable text only)
lio_alua_get() {
    local out
    out=$(lio_cmd "cat \"\$(_disk ${2:-0})/alua/$(_lio_group "$1")/alua_access_state\"") ||
        die "guest: cannot read the state of ALUA group $1"
    out=$(tr -dc '0-9' <<<"$out")
    [[ -n $out ]] || die "guest: empty state for ALUA group $1"
    printf '%s\n' "$out"
}
lio_alua_status() {
    local out
    out=$(lio_cmd "cat \"\$(_disk ${2:-0})/alua/$(_lio_group "$1")/alua_access_status\"") ||
        die "guest: cannot read the access status of ALUA group $1"
    printf '%s\n' "$(tr -d '\r' <<<"$out" | head -n 1)"
}
lio_port_offline() { _lio_do port_offline "$1" "${3:-0}" "$2"; }
lio_tpg_enable() { _lio_do tpg_enable "$1" "$2"; }
lio_show() { lio_cmd show; }
lio_add_lun() {
    local lun=$1 mb=${2:-16} t
    [[ $lun =~ ^[0-9]+$ ]] && (( lun >= 1 && lun <= 255 )) || die "lio_add_lun: LUN must be 1..255"
    local c="mk_disk $lun $mb ${LIO_SERIAL}l$lun"
    for ((t = 1; t <= LIO_PATHS; t++)); do c+=" && map_lun $t $lun $lun"; done
    _lio_do "$c"
}
lio_map_lun() { _lio_do "{ [ ! -d \"\$(_tpg $1)/lun/lun_$2\" ] || unmap_lun $1 $2; } && map_lun $1 $2 $3"; }
lio_chap() { _lio_do chap "$1" "$2" "${3:-}" "${4:-}" "${5:-}"; }
lio_tap_down() { ip -n "$TGT_NS" link set "tap$1" down; }
lio_tap_up() { ip -n "$TGT_NS" link set "tap$1" up; }

lio_diag() {
    local k r
    {
        echo "# lio_diag: $(date +%T.%N | cut -c1-12)"
        for r in 1 2; do
            for ((k = 1; k <= LIO_PATHS; k++)); do
                if ip netns exec "$INI_NS" timeout 2 bash -c "exec 3<>/dev/tcp/198.18.$k.2/3260" 2>/dev/null; then
                    echo "#   path $k: 198.18.$k.2:3260 accepts a TCP connection"
                else
                    echo "#   path $k: 198.18.$k.2:3260 does NOT accept a TCP connection within 2 s"
                fi
                ip -n "$TGT_NS" -s link show "tap$k" 2>&1 | sed -n '3,6p' | tr -s ' ' | sed "s/^/#   host tap$k: /"
            done
            LIO_CMD_TIMEOUT=5 lio_cmd "cat /proc/net/dev | tail -n +3" 2>&1 | sed 's/^/#   guest: /'
            (( r == 1 )) && sleep 1
        done
    } >&2
    return 0
}

lio_cleanup() {
    # The guest holds nothing worth a clean shutdown (a ramdisk target), and qemu can sit on
    # SIGTERM for seconds: KILL it (LIO_PID is qemu itself: ip netns exec execs it).
    if [[ -n ${LIO_PID:-} ]]; then kill -KILL "$LIO_PID" 2>/dev/null; fixture_kill "$LIO_PID"; LIO_PID=; fi
    [[ -n ${INI_NS:-} ]] && ip netns del "$INI_NS" 2>/dev/null
    [[ -n ${TGT_NS:-} ]] && ip netns del "$TGT_NS" 2>/dev/null
    [[ -n ${LIO_CTL:-} ]] && rm -f "$LIO_CTL" "$LIO_CTL.lock"
    return 0
}

_lio_state() {   # 0 ready, 1 not yet, 2 failed/dead
    grep -q 'MPI-LIO-READY' "$LIO_CONSOLE" 2>/dev/null && return 0
    grep -q 'MPI-LIO-FAIL' "$LIO_CONSOLE" 2>/dev/null && return 2
    kill -0 "$LIO_PID" 2>/dev/null && [[ $(awk '{print $3}' "/proc/$LIO_PID/stat" 2>/dev/null) != Z ]] || return 2
    return 1
}

lio_setup() {
    local k_paths=$1 size_mb=${2:-64} k
    [[ $k_paths =~ ^[0-9]+$ ]] && (( k_paths >= 1 && k_paths <= 8 )) || die "lio_setup: K must be 1..8"
    [[ $size_mb =~ ^[0-9]+$ ]] && (( size_mb >= 1 && size_mb <= 1024 )) || die "lio_setup: SIZE_MB must be 1..1024"
    need_root
    need_tool qemu-system-x86_64 qemu-system-x86
    need_tool ip iproute2
    need_tool flock util-linux
    [[ -x /bin/busybox ]] && ! ldd /bin/busybox >/dev/null 2>&1 || die "static busybox missing: install package busybox-static"
    [[ -x /usr/bin/python3 ]] || die "/usr/bin/python3 missing: install package python3"
    [[ -c /dev/net/tun ]] || die "/dev/net/tun missing (tap devices for the guest)"
    fixture_tmpdir
    "$LIO_SRC/build.sh" -q || die "building the LIO guest failed (tests/targets/lio/build.sh)"
    local cache=${LIO_CACHE:-$(cd "$LIO_SRC/../../.." && pwd)/build/lio-cache}

    LIO_SUF="$$$(printf '%04x' $((RANDOM % 65536)))"
    TGT_SUF=$LIO_SUF
    INI_NS="mpi-ini-$LIO_SUF"
    TGT_NS="mpi-tgt-$LIO_SUF"
    LIO_IQN="iqn.2026-11.org.mpiscsi.lio:$LIO_SUF"
    LIO_SERIAL="mpilio$LIO_SUF"
    LIO_SIZE=$((size_mb * 1024 * 1024))
    LIO_PATHS=$k_paths TGT_PATHS=$k_paths TGT_NICS=$k_paths TGT_NPORTALS=$k_paths TGT_CROSS=0
    LIO_CONSOLE="$FIX_LOGDIR/lio-console.log"
    LIO_CTL="$FIX_DIR/lio-ctl.sock"
    LIO_PID=
    : >"$LIO_CONSOLE"
    fixture_trap_add lio_cleanup

    printf '%s %s\n' "$INI_NS" "$TGT_NS" >>"$FIX_LOGDIR/fixture.ns"
    ip netns add "$INI_NS"
    ip netns add "$TGT_NS"
    ip -n "$INI_NS" link set lo up
    ip -n "$TGT_NS" link set lo up
    LIO_PORTALS="" LIO_URLS=""
    local -a nics=()
    for ((k = 1; k <= k_paths; k++)); do
        ip -n "$INI_NS" link add "veth$k" type veth peer name "veth$k" netns "$TGT_NS"
        ip -n "$INI_NS" addr add "198.18.$k.1/24" dev "veth$k"
        ip -n "$TGT_NS" link add "br$k" type bridge forward_delay 0 stp_state 0
        ip -n "$TGT_NS" tuntap add dev "tap$k" mode tap
        ip -n "$TGT_NS" link set "veth$k" master "br$k"
        ip -n "$TGT_NS" link set "tap$k" master "br$k"
        ip -n "$TGT_NS" link set "br$k" up
        ip -n "$TGT_NS" link set "tap$k" up
        ip -n "$TGT_NS" link set "veth$k" up
        ip -n "$INI_NS" link set "veth$k" up
        # event_idx=off: with it on, under TCG, a guest NIC sometimes stopped transmitting for
        # good under load (lio_diag: the guest's eth TX counters frozen while it still received;
        # the daemon saw NOP-Out timeouts, then no TCP connection for the rest of the test): 1 of 4
        # runs of t_81's cases a f g h, and CI. With notifications on every buffer: 0 of 10.
        nics+=(-netdev "tap,id=n$k,ifname=tap$k,script=no,downscript=no"
               -device "virtio-net-pci,netdev=n$k,mac=52:54:00:12:$(printf '%02x' "$k"):02,event_idx=off")
        LIO_PORTALS+="${LIO_PORTALS:+ }198.18.$k.2:3260"
        LIO_URLS+="${LIO_URLS:+ }$(lio_url "$k")"
    done

    # Room for disk0's ramdisk, LUNs added later (lio_add_lun) and the network's receive buffers:
    # short of memory under load, a virtio-net queue can stop being refilled and the path looks
    # dead to the initiator (connects fail). LIO_MEM overrides.
    local mem=${LIO_MEM:-$(( 512 + size_mb * 4 ))} t0 t1 st kernel=$cache/vmlinux
    [[ -s $kernel ]] || kernel=$cache/vmlinuz
    t0=$(date +%s%N)
    ip netns exec "$TGT_NS" qemu-system-x86_64 -nodefaults -machine q35 -accel tcg -cpu max \
        -m "$mem" -smp 1 -kernel "$kernel" -initrd "$cache/initramfs.cpio.gz" \
        -append "console=ttyS0 quiet panic=-1 mpi.paths=$k_paths mpi.iqn=$LIO_IQN mpi.serial=$LIO_SERIAL mpi.size=$size_mb ${LIO_APPEND:-}" \
        -display none -no-reboot -monitor none \
        -chardev "file,id=con,path=$LIO_CONSOLE" -serial chardev:con \
        -chardev "socket,id=ctl,path=$LIO_CTL,server=on,wait=off" -serial chardev:ctl \
        "${nics[@]}" >"$FIX_LOGDIR/lio-qemu.log" 2>&1 &
    LIO_PID=$!
    local deadline=$((SECONDS + ${LIO_BOOT_TIMEOUT:-90}))
    while :; do
        st=0; _lio_state || st=$?
        (( st == 0 )) && break
        if (( st == 2 )); then
            tail -n 25 "$LIO_CONSOLE" "$FIX_LOGDIR/lio-qemu.log" >&2
            die "LIO guest failed to start (console: $LIO_CONSOLE)"
        fi
        if (( SECONDS > deadline )); then
            tail -n 25 "$LIO_CONSOLE" >&2
            die "LIO guest not ready within ${LIO_BOOT_TIMEOUT:-90} s (console: $LIO_CONSOLE)"
        fi
        sleep 0.05
    done
    t1=$(date +%s%N)
    LIO_BOOT_MS=$(( (t1 - t0) / 1000000 ))
    export LIO_SUF TGT_SUF INI_NS TGT_NS LIO_IQN LIO_SERIAL LIO_SIZE LIO_PATHS TGT_PATHS TGT_NICS \
        TGT_NPORTALS TGT_CROSS LIO_PORTALS LIO_URLS LIO_CONSOLE LIO_CTL LIO_PID LIO_BOOT_MS
    log "LIO fixture: $k_paths path(s), ${size_mb} MiB LU $LIO_IQN, qemu pid $LIO_PID, ns $INI_NS/$TGT_NS, ready in $LIO_BOOT_MS ms"
}
