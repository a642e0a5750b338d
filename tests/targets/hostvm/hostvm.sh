# shellcheck shell=bash
# Sourceable test fixture: a QEMU (TCG) guest, booted from Debian's kernel, that runs the HOST's
# own programs (build/bin/mpiscsid, fio, qemu-io, mkfs.ext4, sg3-utils ...) as the iSCSI
# initiator, against tgtd on the host side. For what the host kernel cannot do: kernel front
# ends (/dev/nbdN, TCMU /dev/sdX), kernel modules (nbd, uio, target_core_user, tcm_loop are
# loaded at boot), udev links.
#
# Source tests/lib/tgt.sh first (die, log, need_tool, fixture_trap_add, fixture_tmpdir,
# wait_until, tgt_start/tgt_stop/tgt_add_lun/tgt_new_identity), then this file, from a
# `set -euo pipefail` root script. Everything is removed in the EXIT trap, also on failure: qemu
# by PID, tgtd, the namespace by name (deleting it deletes the taps), the LU's backing file.
# Only 198.18.0.0/15 is used.
#
# The guest (tests/targets/hostvm/build.sh makes its initramfs, init.sh is its /init): the host's
# / read-only over virtio-9p with cache=loose (so every host path, the worktree's build/ too, is
# there at the same path), tmpfs over /etc (a copy of the host's), /run, /var, /tmp, /mnt;
# devtmpfs, devpts, /dev/shm, proc, sysfs, configfs; the writable share (9p, cache=none) at
# /mnt/share and at its host path; modprobe & co. in the guest are busybox's on the
# initramfs's module tree; systemd-udevd runs if the host has it (package udev: then
# /dev/disk/by-id links exist; block devices present at boot are coldplugged, later devices
# get their own events; HOSTVM_UDEV=0 turns it off). No KVM: TCG, 1 vCPU. The host's files
# are seen as they were when first read (cache=loose) and the guest's /tmp is its own: hand
# files over (configs, scripts, results) through the share, which the host and the guest see
# at the same path. The console log gets the guest kernel's errors (I/O errors, hung tasks).
# target_core_mod's db_root /etc/target (APTPL reservations, ALUA metadata) is the initramfs's:
# in the guest /run/hostvm/initrd/etc/target. One guest per test script.
#
# Topology (path k = 1..K): one namespace TGT_NS = mpi-tgt-$SUF holds tap<k> with 198.18.k.2/24
# and tgtd (the options of tgt.sh: tid 1 = TGT_IQN, LUN 1 on a sparse file in /dev/shm,
# thin_provisioning, 256 KiB data segments), listening on 198.18.k.2:3260 for every k; qemu runs
# in that namespace, its virtio-net NIC k (netdev n<k>, PCI slot 0x10+k, MAC 52:54:00:48:56:0k)
# on tap<k> is the guest's eth<k-1> = 198.18.k.1/24. There is no initiator namespace on the host
# (INI_NS is empty): the guest is the initiator, so tgt.sh's tgt_nic_* and faults.sh's NIC
# faults do not apply here: use the hostvm_* faults below.
#
# API
#   hostvm_setup K [SIZE_MB]    K = 1..8 paths, LU size (default 64 MiB). Builds (or reuses) the
#                               initramfs, starts tgtd, boots the guest and waits until its
#                               control channel answers (HOSTVM_BOOT_TIMEOUT s, default 180).
#                               Exports, besides tgt.sh's TGT_* (TGT_SUF, TGT_NS, TGT_IQN,
#                               TGT_BACKING, TGT_SIZE, TGT_PATHS, TGT_PORTALS, TGT_CTL, TGT_PID,
#                               TGT_LOG):
#        HOSTVM_PATHS K             HOSTVM_PID   qemu's PID
#        HOSTVM_CONSOLE  guest console log (FIX_LOGDIR/hostvm-console.log; qemu's own output in
#                        hostvm-qemu.log)
#        HOSTVM_SHARE    the writable share's host path (FIX_LOGDIR/hostvm-share, kept with the
#                        logs); the guest sees it at the same path and at /mnt/share
#        HOSTVM_CTL / HOSTVM_MON   control channel / QEMU monitor sockets
#        HOSTVM_BOOT_MS  qemu start -> control channel ready, ms
#        HOSTVM_KVER     the guest kernel's release     HOSTVM_UDEV  running | absent | off
#        HOSTVM_PHASES   guest uptime (s) at the end of each boot phase:
#                        kernel:S,modules:S,root:S,net:S[,udev:S]
#        HOSTVM_NBD_SOCK /run/mpiscsi/nbd.sock (in the guest; hostvm_conf's [nbd] listen)
#      Settings (environment, before hostvm_setup): HOSTVM_MEM (MiB, default 768), HOSTVM_SMP
#      (default 1), HOSTVM_LOAD (modules to load at boot: "all" = build.sh's UNDER_TEST, the
#      default; "none"; or names, space separated; the rest stay loadable with modprobe),
#      HOSTVM_UDEV=0, HOSTVM_APPEND (extra kernel command line words).
#   hostvm_cmd CMD...           run CMD (words joined by spaces) with bash in the guest (cwd /,
#                               PATH with the guest's modprobe first, HOME=/root read-only: write
#                               to /tmp, /run or the share); prints its stdout+stderr and returns
#                               its exit status: the guest ends it after HOSTVM_CMD_TIMEOUT s
#                               (default 60; TERM to its process group, KILL 5 s later: 124 or
#                               137); 124 also when no answer came 20 s after that, 125 when the
#                               channel is closed. Calls are serialized. Start background
#                               processes with setsid and their own output file, or they die
#                               with the command's timeout.
#   hostvm_share                print HOSTVM_SHARE
#   hostvm_conf FILE [EXTRA]    write a daemon config for the guest to FILE (a host path; use
#                               the share): [global] initiator_name; [nbd] listen =
#                               unix:$HOSTVM_NBD_SOCK; [disk disk0] = TGT_IQN LUN 1 over every
#                               portal 198.18.k.2:3260; EXTRA lines appended to [disk disk0].
#                               Checked with the host's mpiscsid --check-config.
#   hostvm_daemon_start CONF [ARGS...]  start the host's $BUILD/bin/mpiscsid in the guest
#                               (-f -c CONF --control /run/mpiscsi/control.sock ARGS, setsid),
#                               log HOSTVM_DAEMON_LOG = share/daemon.log (appended), its exit
#                               status goes to share/daemon.rc; wait (DAEMON_TIMEOUT, default
#                               60 s) until HOSTVM_NBD_SOCK accepts. Sets HOSTVM_DAEMON_PID (a
#                               guest PID). Fails with the log's tail if the daemon dies.
#   hostvm_daemon_stop          TERM it and wait (20 s); fail unless it exited with status 0
#   hostvm_daemon_kill [SIG]    send SIG (default KILL) and wait (20 s) until it is gone; its exit
#                               status (128+SIG when killed) in HOSTVM_DAEMON_RC; no other check.
#                               hostvm_daemon_start may start it again (same log, appended).
#   hostvm_daemon_alive         true while it runs
#   hostvm_link_down K / hostvm_link_up K   host side: tap<K> down / up. The guest's NIC keeps
#                               its carrier (no link event in the guest; a cut behind a switch):
#                               traffic stops both ways, TCP retransmits what it had queued.
#   hostvm_nic_down K / hostvm_nic_up K     QEMU's set_link on NIC K: the guest's eth<K-1> loses
#                               (regains) its carrier at once, as a pulled cable (netlink link
#                               event in the guest)
#   hostvm_silent_on K / hostvm_silent_off K   nftables drop of everything in and out of tap<K>
#                               in TGT_NS (table "inet mpihv_<SUF>_s<K>"): silent loss
#   hostvm_reset_on K / hostvm_reset_off K   nftables "reject with tcp reset" of TCP arriving
#                               on tap<K> (table "inet mpihv_<SUF>_r<K>"): connections reset
#   hostvm_heal_all             undo every fault above (the namespace's deletion does it at exit)
#   hostvm_tap_bytes K          rx+tx bytes of tap<K> (to see which path carries the I/O)
#   hostvm_monitor CMD...       send a command to QEMU's human monitor, print its answer
#   hostvm_kmsg_mark            write a mark into the guest kernel's log (call it in the main shell,
#                               not in $(...): it counts the marks)
#   hostvm_kmsg_errors          print the guest kernel's error lines since the last mark (or boot):
#                               messages of level err or worse (nbd's dead connections, file
#                               system errors, hung tasks) and "I/O error" / "blocked for more
#                               than" of any level. Empty: none. The whole kernel log is saved
#                               in FIX_LOGDIR/hostvm-dmesg.log.
#   hostvm_cleanup              kill qemu by PID, stop tgtd, delete the namespace and the backing
#                               file (registered by hostvm_setup)
# Target-side changes go through tgt.sh: tgt_add_lun N SIZE_MB, tgt_stop / tgt_start (target
# restart), tgt_new_identity.
# Packages: qemu-system-x86, busybox-static, tgt, iproute2, nftables, util-linux (flock),
# python3, coreutils (and what build.sh needs); in the guest, whatever the host has installed.

HOSTVM_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HOSTVM_NBD_SOCK=/run/mpiscsi/nbd.sock

hostvm_share() { printf '%s\n' "$HOSTVM_SHARE"; }

# ---------------------------------------------------------------- control channel
hostvm_cmd() {
    [[ -n ${HOSTVM_CTL:-} ]] || die "hostvm_cmd: hostvm_setup has not run"
    local t=${HOSTVM_CMD_TIMEOUT:-60}
    [[ $t =~ ^[0-9]+$ ]] && (( t >= 1 )) || die "hostvm_cmd: HOSTVM_CMD_TIMEOUT must be a positive integer"
    (
        flock -w $((t + 20)) 9 || { echo "hostvm_cmd: control channel busy" >&2; exit 124; }
        /usr/bin/python3 - "$HOSTVM_CTL" "$t" "$*" <<'PY'
import base64, os, socket, sys, time
path, t, cmd = sys.argv[1], int(sys.argv[2]), sys.argv[3]
cid = "%dx%d" % (os.getpid(), time.monotonic_ns() % 1000000)
# the guest ends the command after t s (+5 s for KILL); then its output has to cross a serial
# line: give up 20 s after t
deadline = time.monotonic() + t + 20
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
try:
    s.connect(path)
    s.sendall(("%s %d %s\n" % (cid, t, base64.b64encode(cmd.encode()).decode())).encode())
except OSError as e:
    sys.stderr.write("hostvm_cmd: %s: %s\n" % (path, e)); sys.exit(125)
marker = ("\nMPI-END %s " % cid).encode()
buf = b""
while True:
    i = buf.find(marker)
    if i >= 0:
        j = buf.find(b"\n", i + len(marker))
        if j >= 0:
            out = buf[:i]
            k = out.rfind(b"\nMPI-END ")          # drop an earlier command's late answer
            if k >= 0:
                e = out.find(b"\n", k + 1)
                out = out[e + 1:] if e >= 0 else b""
            sys.stdout.buffer.write(out)
            sys.stdout.flush()
            sys.exit(int(buf[i + len(marker):j].strip() or b"255"))
    left = deadline - time.monotonic()
    if left <= 0:
        sys.stderr.write("hostvm_cmd: no answer within %ds to: %s\n" % (t + 20, cmd)); sys.exit(124)
    s.settimeout(left)
    try:
        d = s.recv(65536)
    except socket.timeout:
        continue
    except OSError as e:
        sys.stderr.write("hostvm_cmd: %s\n" % e); sys.exit(125)
    if not d:
        sys.stderr.write("hostvm_cmd: control channel closed\n"); sys.exit(125)
    buf += d
PY
    ) 9>"$HOSTVM_CTL.lock"
}

hostvm_monitor() {
    [[ -n ${HOSTVM_MON:-} ]] || die "hostvm_monitor: hostvm_setup has not run"
    /usr/bin/python3 - "$HOSTVM_MON" "$*" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
s.connect(sys.argv[1])
def until_prompt():
    buf = b""
    deadline = time.monotonic() + 10
    while not buf.endswith(b"(qemu) "):
        if time.monotonic() > deadline:
            sys.exit("hostvm_monitor: no prompt from QEMU")
        d = s.recv(4096)
        if not d:
            sys.exit("hostvm_monitor: monitor closed")
        buf += d
    return buf
until_prompt()
s.sendall(sys.argv[2].encode() + b"\n")
out = until_prompt().decode(errors="replace").replace("\r", "")
lines = out.split("\n")[1:-1]          # drop the echoed command and the prompt
sys.stdout.write("".join(l + "\n" for l in lines))
PY
}

# ---------------------------------------------------------------- daemon in the guest
hostvm_conf() {
    local file=$1 extra=${2:-} k
    {
        printf '[global]\ninitiator_name = iqn.2026-11.org.mpiscsi.test:hostvm-%s\n' "$TGT_SUF"
        printf '[nbd]\nlisten = unix:%s\n' "$HOSTVM_NBD_SOCK"
        printf '[disk disk0]\ntarget = %s\nlun = 1\n' "$TGT_IQN"
        for ((k = 1; k <= HOSTVM_PATHS; k++)); do printf 'portal = 198.18.%d.2:3260\n' "$k"; done
        [[ -z $extra ]] || printf '%s\n' "$extra"
    } >"$file"
    "$BUILD/bin/mpiscsid" --check-config -c "$file" >/dev/null || die "config refused: $file"
}

hostvm_daemon_alive() {
    [[ -n ${HOSTVM_DAEMON_PID:-} ]] || return 1
    hostvm_cmd "kill -0 $HOSTVM_DAEMON_PID 2>/dev/null && ! grep -q '^State:.*Z' /proc/$HOSTVM_DAEMON_PID/status" >/dev/null 2>&1
}

hostvm_daemon_start() {
    local conf=$1; shift
    local bin
    bin=$(realpath "$BUILD/bin/mpiscsid") || die "$BUILD/bin/mpiscsid not built (run: make all)"
    [[ -x $bin ]] || die "$bin not built (run: make all)"
    HOSTVM_DAEMON_LOG=$HOSTVM_SHARE/daemon.log
    # a launcher in the share: it keeps the daemon's exit status (setsid: out of reach of
    # hostvm_cmd's timeout, which signals the command's process group)
    {
        printf '#!/bin/bash\n'
        printf 'mkdir -p /run/mpiscsi\nrm -f %q /run/mpiscsi/daemon.pid /mnt/share/daemon.rc\n' "$HOSTVM_NBD_SOCK"
        printf '%q -f -c %q --control /run/mpiscsi/control.sock' "$bin" "$conf"
        [[ $# -eq 0 ]] || printf ' %q' "$@"
        printf ' </dev/null >>/mnt/share/daemon.log 2>&1 &\n'
        printf 'echo $! >/run/mpiscsi/daemon.pid.tmp && mv /run/mpiscsi/daemon.pid.tmp /run/mpiscsi/daemon.pid\n'
        printf 'wait $!\necho $? >/mnt/share/daemon.rc\n'
    } >"$HOSTVM_SHARE/daemon-start.sh"
    local out
    out=$(hostvm_cmd "rm -f /run/mpiscsi/daemon.pid; setsid bash /mnt/share/daemon-start.sh </dev/null >/dev/null 2>&1 &
        for i in \$(seq 200); do [ -s /run/mpiscsi/daemon.pid ] && break; sleep 0.05; done; cat /run/mpiscsi/daemon.pid") ||
        die "starting mpiscsid in the guest failed: $out"
    HOSTVM_DAEMON_PID=$(tr -dc '0-9' <<<"$out")
    [[ -n $HOSTVM_DAEMON_PID ]] || die "mpiscsid in the guest: no PID ($out)"
    local t=${DAEMON_TIMEOUT:-60} rc=0
    HOSTVM_CMD_TIMEOUT=$((t + 10)) hostvm_cmd "/usr/bin/python3 - $HOSTVM_NBD_SOCK $HOSTVM_DAEMON_PID $t <<'PY'
import os, socket, sys, time
path, pid, t = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
deadline = time.monotonic() + t
while time.monotonic() < deadline:
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(2)
        s.connect(path)
        s.close()
        sys.exit(0)
    except OSError:
        pass
    try:
        if open('/proc/%d/stat' % pid).read().split(')')[1].split()[0] == 'Z':
            sys.exit(3)
    except OSError:
        sys.exit(3)
    time.sleep(0.05)
sys.exit(4)
PY" || rc=$?
    if (( rc != 0 )); then
        tail -n 30 "$HOSTVM_DAEMON_LOG" >&2 || true
        (( rc == 3 )) && die "mpiscsid in the guest exited before $HOSTVM_NBD_SOCK accepted; log: $HOSTVM_DAEMON_LOG"
        die "mpiscsid in the guest (pid $HOSTVM_DAEMON_PID) did not open $HOSTVM_NBD_SOCK within $t s (status $rc); log: $HOSTVM_DAEMON_LOG"
    fi
    export HOSTVM_DAEMON_PID HOSTVM_DAEMON_LOG
    log "guest daemon pid $HOSTVM_DAEMON_PID serves nbd+unix:///disk0?socket=$HOSTVM_NBD_SOCK (log $HOSTVM_DAEMON_LOG)"
}

hostvm_daemon_kill() {
    [[ -n ${HOSTVM_DAEMON_PID:-} ]] || die "hostvm_daemon_kill: no daemon started"
    local sig=${1:-KILL} pid=$HOSTVM_DAEMON_PID
    HOSTVM_DAEMON_PID=
    HOSTVM_CMD_TIMEOUT=30 hostvm_cmd "kill -$sig $pid || exit 1
        for i in \$(seq 400); do [ -s /mnt/share/daemon.rc ] && exit 0; sleep 0.05; done; exit 1" >/dev/null ||
        die "mpiscsid in the guest (pid $pid) did not end within 20 s of SIG$sig"
    HOSTVM_DAEMON_RC=$(tr -dc '0-9' <"$HOSTVM_SHARE/daemon.rc")
    export HOSTVM_DAEMON_RC
}

hostvm_daemon_stop() {
    [[ -n ${HOSTVM_DAEMON_PID:-} ]] || return 0
    local pid=$HOSTVM_DAEMON_PID rc
    HOSTVM_DAEMON_PID=
    HOSTVM_CMD_TIMEOUT=40 hostvm_cmd "kill -TERM $pid 2>/dev/null
        for i in \$(seq 400); do [ -s /mnt/share/daemon.rc ] && exit 0; sleep 0.05; done
        kill -KILL $pid; exit 1" >/dev/null ||
        die "mpiscsid in the guest (pid $pid) did not stop within 20 s of SIGTERM; log: $HOSTVM_DAEMON_LOG"
    rc=$(tr -dc '0-9' <"$HOSTVM_SHARE/daemon.rc")
    if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$HOSTVM_DAEMON_LOG" 2>/dev/null; then
        grep -m5 -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$HOSTVM_DAEMON_LOG" >&2
        die "sanitizer report in the guest daemon's log: $HOSTVM_DAEMON_LOG"
    fi
    [[ $rc == 0 ]] || die "mpiscsid in the guest exited with status '$rc' after SIGTERM; log: $HOSTVM_DAEMON_LOG"
}

# ---------------------------------------------------------------- the guest kernel's log
HOSTVM_KMSG_MARK=0
hostvm_kmsg_mark() {
    HOSTVM_KMSG_MARK=$((HOSTVM_KMSG_MARK + 1))
    hostvm_cmd "echo 'hostvm-mark-$HOSTVM_KMSG_MARK' > /dev/kmsg" || die "hostvm_kmsg_mark failed"
}
hostvm_kmsg_errors() {
    # dmesg -x: "kern  :err   : [ts] text"; keep what follows the last mark
    hostvm_cmd "dmesg -x" >"$FIX_LOGDIR/hostvm-dmesg.log" || return 1
    awk -v mark="hostvm-mark-$HOSTVM_KMSG_MARK" -v any="$HOSTVM_KMSG_MARK" '
        any > 0 && $0 ~ (mark "$") { n = 0; delete keep; next }
        /:(emerg|alert|crit|err) *:/ || /I\/O error|blocked for more than/ { keep[++n] = $0 }
        END { for (i = 1; i <= n; i++) print keep[i] }' "$FIX_LOGDIR/hostvm-dmesg.log"
}

# ---------------------------------------------------------------- faults (host side)
_hostvm_k() {
    [[ $1 =~ ^[0-9]+$ ]] && (( $1 >= 1 && $1 <= HOSTVM_PATHS )) || die "hostvm: path '$1' is not 1..$HOSTVM_PATHS"
}
hostvm_link_down() { _hostvm_k "$1"; log "fault: tap$1 down (host side)"; ip -n "$TGT_NS" link set "tap$1" down; }
hostvm_link_up() { _hostvm_k "$1"; log "fault: tap$1 up (host side)"; ip -n "$TGT_NS" link set "tap$1" up; }
hostvm_nic_down() {
    _hostvm_k "$1"; log "fault: guest NIC $1 (eth$(($1 - 1))) carrier off"
    local out; out=$(hostvm_monitor "set_link n$1 off") && [[ -z $out ]] || die "set_link n$1 off: $out"
}
hostvm_nic_up() {
    _hostvm_k "$1"; log "fault: guest NIC $1 (eth$(($1 - 1))) carrier on"
    local out; out=$(hostvm_monitor "set_link n$1 on") && [[ -z $out ]] || die "set_link n$1 on: $out"
}
_hostvm_nft() { ip netns exec "$TGT_NS" nft "$@"; }
hostvm_silent_on() {
    _hostvm_k "$1"; log "fault: path $1 silent (nftables drop on tap$1)"
    _hostvm_nft -f - <<EOF
table inet mpihv_${TGT_SUF}_s$1 {
    chain in { type filter hook input priority -10; policy accept; iifname "tap$1" drop; }
    chain out { type filter hook output priority -10; policy accept; oifname "tap$1" drop; }
}
EOF
}
hostvm_silent_off() { _hostvm_k "$1"; log "fault: path $1 heard again"; _hostvm_nft delete table inet "mpihv_${TGT_SUF}_s$1"; }
hostvm_reset_on() {
    _hostvm_k "$1"; log "fault: path $1 resets TCP (nftables reject on tap$1)"
    _hostvm_nft -f - <<EOF
table inet mpihv_${TGT_SUF}_r$1 {
    chain in { type filter hook input priority -10; policy accept; iifname "tap$1" meta l4proto tcp reject with tcp reset; }
}
EOF
}
hostvm_reset_off() { _hostvm_k "$1"; log "fault: path $1 stops resetting"; _hostvm_nft delete table inet "mpihv_${TGT_SUF}_r$1"; }
hostvm_heal_all() {
    local k t
    for t in $(_hostvm_nft list tables 2>/dev/null | awk -v p="mpihv_${TGT_SUF}_" '$3 ~ "^" p {print $3}'); do
        _hostvm_nft delete table inet "$t"
    done
    for ((k = 1; k <= HOSTVM_PATHS; k++)); do
        ip -n "$TGT_NS" link set "tap$k" up
        hostvm_monitor "set_link n$k on" >/dev/null
    done
}
hostvm_tap_bytes() {
    _hostvm_k "$1"
    ip netns exec "$TGT_NS" cat "/sys/class/net/tap$1/statistics/rx_bytes" "/sys/class/net/tap$1/statistics/tx_bytes" |
        awk '{ s += $1 } END { print s }'
}

# ---------------------------------------------------------------- set-up and clean-up
hostvm_cleanup() {
    # the guest holds nothing worth a clean shutdown; qemu may sit on SIGTERM for seconds: KILL
    # it (HOSTVM_PID is qemu itself: ip netns exec execs it)
    if [[ -n ${HOSTVM_PID:-} ]]; then
        kill -KILL "$HOSTVM_PID" 2>/dev/null
        fixture_kill "$HOSTVM_PID"
        HOSTVM_PID=
    fi
    tgt_cleanup
    [[ -n ${HOSTVM_CTL:-} ]] && rm -f "$HOSTVM_CTL" "$HOSTVM_CTL.lock"
    [[ -n ${HOSTVM_MON:-} ]] && rm -f "$HOSTVM_MON"
    return 0
}

_hostvm_state() {   # 0 ready, 1 not yet, 2 failed/dead
    grep -q 'MPI-HOSTVM-READY' "$HOSTVM_CONSOLE" 2>/dev/null && return 0
    grep -q 'MPI-HOSTVM-FAIL' "$HOSTVM_CONSOLE" 2>/dev/null && return 2
    kill -0 "$HOSTVM_PID" 2>/dev/null && [[ $(awk '{print $3}' "/proc/$HOSTVM_PID/stat" 2>/dev/null) != Z ]] || return 2
    return 1
}

hostvm_setup() {
    local k_paths=$1 size_mb=${2:-64} k
    [[ $k_paths =~ ^[0-9]+$ ]] && (( k_paths >= 1 && k_paths <= 8 )) || die "hostvm_setup: K must be 1..8"
    [[ $size_mb =~ ^[0-9]+$ ]] && (( size_mb >= 1 )) || die "hostvm_setup: SIZE_MB must be a positive integer"
    need_root
    need_tool qemu-system-x86_64 qemu-system-x86
    need_tool ip iproute2
    need_tool nft nftables
    need_tool flock util-linux
    need_tool tgtd tgt
    need_tool tgtadm tgt
    need_tool ss iproute2
    [[ -x /bin/busybox ]] && ! ldd /bin/busybox >/dev/null 2>&1 || die "static busybox missing: install package busybox-static"
    [[ -x /usr/bin/python3 ]] || die "/usr/bin/python3 missing: install package python3"
    [[ -c /dev/net/tun ]] || die "/dev/net/tun missing (tap devices for the guest)"
    fixture_tmpdir
    "$HOSTVM_SRC/build.sh" -q || die "building the hostvm initramfs failed (tests/targets/hostvm/build.sh)"
    local root kcache cache
    root=$(cd "$HOSTVM_SRC/../../.." && pwd)
    cache=${HOSTVM_CACHE:-$root/build/hostvm-cache}
    kcache=${KERNEL_CACHE:-${LIO_CACHE:-$root/build/lio-cache}}
    HOSTVM_KVER=$(cat "$cache/modules/kver")

    # tgt.sh's variables, for tgt_start / tgt_stop / tgt_add_lun / tgt_cleanup
    TGT_SUF="$$$(printf '%04x' $((RANDOM % 65536)))"
    INI_NS=
    TGT_NS="mpi-tgt-$TGT_SUF"
    TGT_IQN="iqn.2026-11.org.mpiscsi.test:$TGT_SUF"
    TGT_BACKING="/dev/shm/mpi-$TGT_SUF.img"
    TGT_SIZE=$((size_mb * 1024 * 1024))
    TGT_PATHS=$k_paths TGT_NPORTALS=$k_paths TGT_NICS=0 TGT_CROSS=0
    # shellcheck disable=SC2034  # tgt.sh's tgt_start reads them
    TGT_EXTRA_LUNS='' TGT_SCSI_SN='' TGT_SCSI_ID='' TGT_PID=
    TGT_LOG="$FIX_LOGDIR/tgtd.log"
    HOSTVM_PATHS=$k_paths
    HOSTVM_CONSOLE="$FIX_LOGDIR/hostvm-console.log"
    HOSTVM_SHARE="$FIX_LOGDIR/hostvm-share"
    HOSTVM_CTL="$FIX_DIR/hostvm-ctl.sock"
    HOSTVM_MON="$FIX_DIR/hostvm-mon.sock"
    HOSTVM_PID='' HOSTVM_DAEMON_PID=''
    HOSTVM_SHARE=$(realpath -m "$HOSTVM_SHARE")
    [[ $HOSTVM_SHARE != *[[:space:]]* ]] || die "hostvm: the share's path has a blank: $HOSTVM_SHARE"
    rm -rf "$HOSTVM_SHARE"
    mkdir -p "$HOSTVM_SHARE"
    : >"$HOSTVM_CONSOLE"
    : >"$TGT_LOG"
    fixture_trap_add hostvm_cleanup

    printf '%s\n' "$TGT_NS" >>"$FIX_LOGDIR/fixture.ns"
    ip netns add "$TGT_NS"
    ip -n "$TGT_NS" link set lo up
    TGT_PORTALS=""
    local -a nics=()
    for ((k = 1; k <= k_paths; k++)); do
        ip -n "$TGT_NS" tuntap add dev "tap$k" mode tap
        ip -n "$TGT_NS" addr add "198.18.$k.2/24" dev "tap$k"
        ip -n "$TGT_NS" link set "tap$k" up
        nics+=(-netdev "tap,id=n$k,ifname=tap$k,script=no,downscript=no"
               -device "virtio-net-pci,netdev=n$k,mac=52:54:00:48:56:0$k,addr=$(printf '0x%x' $((0x10 + k)))")
        TGT_PORTALS+="${TGT_PORTALS:+ }198.18.$k.2:3260"
    done
    truncate -s "${size_mb}M" "$TGT_BACKING"
    tgt_start

    # the guest's /etc comes from this tar (read through the 9p root; see init.sh)
    tar -C / -cf "$FIX_DIR/hostvm-etc.tar" etc 2>"$FIX_LOGDIR/hostvm-etc-tar.log" ||
        log "tar of /etc reported problems (see $FIX_LOGDIR/hostvm-etc-tar.log); the guest unpacks what it holds"
    local load=${HOSTVM_LOAD:-all}
    load=${load// /,}
    local kernel=$kcache/vmlinux t0 t1 st
    [[ -s $kernel ]] || kernel=$kcache/vmlinuz
    t0=$(date +%s%N)
    # no_timer_check: under TCG on a busy host the IO-APIC timer check can miss its window and
    # panic; net.ifnames=0: udev keeps the eth<k-1> names
    ip netns exec "$TGT_NS" qemu-system-x86_64 -nodefaults -machine q35 -accel tcg -cpu max \
        -m "${HOSTVM_MEM:-768}" -smp "${HOSTVM_SMP:-1}" -kernel "$kernel" -initrd "$cache/initramfs.cpio.gz" \
        -append "console=ttyS0 quiet panic=-1 no_timer_check net.ifnames=0 hostvm.paths=$k_paths hostvm.load=$load hostvm.share=$HOSTVM_SHARE hostvm.udev=${HOSTVM_UDEV:-1} hostvm.etc=$FIX_DIR/hostvm-etc.tar hostvm.repo=$(cd "$HOSTVM_SRC/../../.." && pwd) ${HOSTVM_APPEND:-}" \
        -display none -no-reboot \
        -monitor "unix:$HOSTVM_MON,server=on,wait=off" \
        -chardev "file,id=con,path=$HOSTVM_CONSOLE" -serial chardev:con \
        -chardev "socket,id=ctl,path=$HOSTVM_CTL,server=on,wait=off" -serial chardev:ctl \
        -fsdev local,id=root,path=/,security_model=none,readonly=on,multidevs=remap \
        -device virtio-9p-pci,fsdev=root,mount_tag=hostroot \
        -fsdev "local,id=share,path=$HOSTVM_SHARE,security_model=none,multidevs=remap" \
        -device virtio-9p-pci,fsdev=share,mount_tag=share \
        "${nics[@]}" >"$FIX_LOGDIR/hostvm-qemu.log" 2>&1 &
    HOSTVM_PID=$!
    # no "Killed" job notice when hostvm_cleanup kills it (bash still reaps it)
    disown "$HOSTVM_PID"
    local deadline=$((SECONDS + ${HOSTVM_BOOT_TIMEOUT:-180}))
    while :; do
        st=0; _hostvm_state || st=$?
        (( st == 0 )) && break
        if (( st == 2 )); then
            tail -n 40 "$HOSTVM_CONSOLE" "$FIX_LOGDIR/hostvm-qemu.log" >&2
            die "hostvm guest failed to start (console: $HOSTVM_CONSOLE)"
        fi
        if (( SECONDS > deadline )); then
            tail -n 40 "$HOSTVM_CONSOLE" >&2
            die "hostvm guest not ready within ${HOSTVM_BOOT_TIMEOUT:-180} s (console: $HOSTVM_CONSOLE)"
        fi
        sleep 0.05
    done
    t1=$(date +%s%N)
    HOSTVM_BOOT_MS=$(( (t1 - t0) / 1000000 ))
    local ready
    ready=$(grep -m1 'MPI-HOSTVM-READY' "$HOSTVM_CONSOLE" | tr -d '\r')
    HOSTVM_UDEV=$(sed -n 's/.* udev=\([a-z]*\).*/\1/p' <<<"$ready")
    HOSTVM_PHASES=$(sed -n 's/.* phases=\([^ ]*\),.*/\1/p' <<<"$ready")
    export TGT_SUF INI_NS TGT_NS TGT_IQN TGT_BACKING TGT_SIZE TGT_PATHS TGT_PORTALS TGT_CTL TGT_PID TGT_LOG
    export TGT_NICS TGT_NPORTALS TGT_CROSS TGT_EXTRA_LUNS
    export HOSTVM_PATHS HOSTVM_PID HOSTVM_CONSOLE HOSTVM_SHARE HOSTVM_CTL HOSTVM_MON HOSTVM_BOOT_MS \
        HOSTVM_KVER HOSTVM_UDEV HOSTVM_PHASES HOSTVM_NBD_SOCK
    log "hostvm fixture: $k_paths path(s), ${size_mb} MiB LU $TGT_IQN (tgtd pid $TGT_PID), guest kernel $HOSTVM_KVER, qemu pid $HOSTVM_PID, ns $TGT_NS, udev $HOSTVM_UDEV, ready in $HOSTVM_BOOT_MS ms (guest uptime at the end of: $HOSTVM_PHASES)"
}
