#!/usr/bin/env bash
# e2e: the kernel NBD front end (frontend = nbd-device) in the hostvm guest (one boot), 2 paths to
# tgtd on the host side.
# 1. Bad input: nbd-device while the nbd module is not loaded, and naming a /dev/nbdN another
#    program holds (qemu-nbd -c): one clear error naming the disk and what to do; the socket
#    export of the same disk still serves and the daemon keeps running.
# 2. The LU becomes /dev/nbd0 (size, backend = designator, /dev/disk/by-id/mpiscsi-<designator>
#    from etc/99-mpiscsi.rules, `show disks` device); mkfs.ext4, mount, files with SHA-256 sums;
#    fio (libaio, direct, crc32c verify) on the filesystem while the host takes NIC 1 down (and
#    up) and later silences path 2: fio 0 errors, no I/O error in the guest kernel's log, sums
#    match after umount and mount.
# 3. Daemon restart (SIGTERM, start) while fio writes to the mounted filesystem: 0 errors, the
#    device keeps its number, `show disks` lists it.
# 4. SIGKILL, started again within the dead-connection timeout: I/O resumes with 0 errors.
#    SIGKILL and no restart: a read fails with EIO after the dead-connection timeout, and the
#    mount can be torn down; a new daemon reattaches the device and the files are intact.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/tgt.sh
. tests/targets/hostvm/hostvm.sh
need_root
need_tool jq jq
need_tool qemu-nbd qemu-utils
need_tool mkfs.ext4 e2fsprogs
need_tool fio fio
need_tool udevadm udev
[[ -x $BUILD/bin/mpiscsid && -x $BUILD/bin/mpiscsiadm ]] || die "$BUILD/bin/mpiscsid, mpiscsiadm not built (run: make all)"

NBD_TIMEOUT=10        # kernel request timeout: bounds how long a request caught by a restart waits
NBD_DEAD=30           # dead-connection timeout: how long the kernel waits for a new daemon (a restart under TCG took 17 s)

HOSTVM_MEM=${HOSTVM_MEM:-768} hostvm_setup 2 128
SHARE=$(hostvm_share)
ADM=$(realpath "$BUILD/bin/mpiscsiadm")
URI="nbd+unix:///disk0?socket=$HOSTVM_NBD_SOCK"
g() { hostvm_cmd "$@"; }
adm() { g "$ADM -s /run/mpiscsi/control.sock $*"; }
# The rule first, then udevd: udevadm refuses to act in a chroot unless told (SYSTEMD_IGNORE_CHROOT).
g "cp $(realpath etc/99-mpiscsi.rules) /etc/udev/rules.d/" || die "cannot install the udev rule in the guest"
if [[ $HOSTVM_UDEV != running ]]; then
    # The fixture looks for systemd-udevd outside the chroot, where Debian's absolute symlink
    # (-> /bin/udevadm) does not resolve: start it from inside, as the fixture would.
    g 'test -x /lib/systemd/systemd-udevd' || die "no systemd-udevd for the guest: install package udev"
    g 'export SYSTEMD_IGNORE_CHROOT=1; /lib/systemd/systemd-udevd --daemon --resolve-names=never &&
       udevadm trigger --type=devices --action=add && udevadm settle --timeout=60' || die "udevd did not start in the guest"
else
    g 'SYSTEMD_IGNORE_CHROOT=1 udevadm control --reload' || die "udev did not reload its rules"
fi
socket_reads() { out=$(g "qemu-io -f raw -c 'read 0 64k' '$URI'") && ! grep -qi 'fail\|error' <<<"$out"; }

# ---- 1. bad input: no nbd module, a busy device -----------------------------------------
g 'modprobe -r nbd && ! test -e /sys/module/nbd' || die "cannot unload nbd in the guest"
hostvm_conf "$SHARE/bad1.conf" "frontend = socket
frontend = nbd-device"
: >"$SHARE/daemon.log"
hostvm_daemon_start "$SHARE/bad1.conf"
wait_until 30 grep -q 'disk disk0: .*nbd module is not loaded (run: modprobe nbd)' "$HOSTVM_DAEMON_LOG" ||
    die "no clear error for a missing nbd module: $(tail -n 5 "$HOSTVM_DAEMON_LOG")"
socket_reads || die "the socket export did not serve while nbd-device failed: $out"
hostvm_daemon_alive || die "the daemon died after the nbd-device error"
log "no nbd module: $(grep -m1 'nbd module is not loaded' "$HOSTVM_DAEMON_LOG" | sed 's/^.*\] //')"
hostvm_daemon_stop

g 'modprobe nbd nbds_max=4 && test -b /dev/nbd1' || die "modprobe nbd failed in the guest"
# (qemu-nbd -c returns before the kernel shows the connection's pid: a bounded wait for it)
g 'truncate -s 16M /tmp/busy.img && qemu-nbd -c /dev/nbd1 -f raw /tmp/busy.img &&
   for i in $(seq 100); do test -s /sys/block/nbd1/pid && exit 0; sleep 0.1; done; exit 1' ||
    die "qemu-nbd could not hold /dev/nbd1: $(g 'ls /sys/block/nbd1; dmesg | tail -5')"
hostvm_conf "$SHARE/bad2.conf" "frontend = socket
frontend = nbd-device:/dev/nbd1"
: >"$SHARE/daemon.log"
hostvm_daemon_start "$SHARE/bad2.conf"
wait_until 30 grep -q 'disk disk0: /dev/nbd1 is in use' "$HOSTVM_DAEMON_LOG" ||
    die "no clear error for a busy /dev/nbd1: $(tail -n 5 "$HOSTVM_DAEMON_LOG")"
socket_reads || die "the socket export did not serve while /dev/nbd1 was busy: $out"
hostvm_daemon_alive || die "the daemon died after the busy-device error"
[[ $(g 'cat /sys/block/nbd1/size' | tr -d '\r\n') == 32768 ]] || die "the busy device was changed"
log "busy device: $(grep -m1 'is in use' "$HOSTVM_DAEMON_LOG" | sed 's/^.*\] //')"
hostvm_daemon_stop
g 'qemu-nbd -d /dev/nbd1 >/dev/null' || die "qemu-nbd -d failed"

# ---- 2. /dev/nbd0: by-id link, filesystem, fio through path faults ------------------------
CONF="$SHARE/mpiscsi.conf"
hostvm_conf "$CONF" "no_path_retry = 30
frontend = socket
frontend = nbd-device:/dev/nbd0
nbd_connections = 2
nbd_timeout = $NBD_TIMEOUT
nbd_dead_timeout = $NBD_DEAD"
: >"$SHARE/daemon.log"
hostvm_daemon_start "$CONF"
path_states() { adm --json show paths | jq -r '.paths[] | "\(.name)=\(.state)"' | sort | tr '\n' ' '; }
path_up() { [[ " $(path_states)" =~ [\ \>]198\.18\.$1\.2:3260=up\  ]]; }
both_up() { path_up 1 && path_up 2; }
wait_until 60 both_up || die "paths not up: $(path_states)"
DES=$(adm --json show disks | jq -r '.disks[0].designator')
[[ $DES == naa.* ]] || die "designator: '$DES'"
[[ $(adm --json show disks | jq -r '.disks[0].device') == /dev/nbd0 ]] || die "show disks --json: no device /dev/nbd0: $(adm --json show disks)"
adm show disks | grep -q '^disk0 .*/dev/nbd0' || die "show disks: no /dev/nbd0: $(adm show disks)"
[[ $(g 'cat /sys/block/nbd0/backend' | tr -d '\r\n') == "$DES" ]] || die "backend of nbd0 is not $DES"
[[ $(g 'blockdev --getsize64 /dev/nbd0' | tr -d '\r\n') == "$TGT_SIZE" ]] || die "nbd0 size is not $TGT_SIZE"
grep -q 'attached as /dev/nbd0 .*2 connection(s)' "$HOSTVM_DAEMON_LOG" || die "no attach line in the daemon log"
wait_until 60 g "test \"\$(readlink -f /dev/disk/by-id/mpiscsi-$DES)\" = /dev/nbd0" ||
    die "no /dev/disk/by-id/mpiscsi-$DES -> nbd0: $(g 'ls -l /dev/disk/by-id/ 2>&1 | tail -5')"
log "disk0 is /dev/nbd0 ($TGT_SIZE bytes, backend $DES, /dev/disk/by-id/mpiscsi-$DES)"

HOSTVM_CMD_TIMEOUT=120 g 'mkfs.ext4 -q -F /dev/nbd0 && mkdir -p /mnt/t && mount /dev/nbd0 /mnt/t' || die "mkfs/mount failed"
HOSTVM_CMD_TIMEOUT=120 g 'for i in 1 2 3 4 5 6; do head -c 1M /dev/urandom >/mnt/t/f$i; done; sync; cd /mnt/t && sha256sum f? >/tmp/sums' ||
    die "writing files failed"
DMESG0=$(g 'dmesg | wc -l' | tr -d '\r\n')

# fio_start NAME SECONDS: verified random writes on the filesystem in the background
fio_start() {
    rm -f "$SHARE/$1.out" "$SHARE/$1.rc"
    g "setsid bash -c 'fio --name=$1 --filename=/mnt/t/$1.dat --size=16M --ioengine=libaio --direct=1 \
        --rw=randwrite --bs=4k --iodepth=8 --verify=crc32c --verify_backlog=512 --verify_fatal=1 \
        --time_based --runtime=$2 --output=/mnt/share/$1.out; echo \$? >/mnt/share/$1.rc' </dev/null >/dev/null 2>&1 &" ||
        die "fio $1 did not start"
}
# fio_check NAME TIMEOUT: it finished with status 0 and no error
fio_check() {
    wait_until "$2" test -s "$SHARE/$1.rc" || die "fio $1 did not finish within $2 s: $(tail -n 5 "$SHARE/$1.out" 2>/dev/null)"
    [[ $(cat "$SHARE/$1.rc") == 0 ]] || die "fio $1 failed: $(grep -iE 'err|verify' "$SHARE/$1.out" | head -5)"
    grep -q 'err= 0' "$SHARE/$1.out" || die "fio $1 reported errors: $(grep -i 'err=' "$SHARE/$1.out")"
}
fio_ios() { g "grep -o 'issued rwts: total=[0-9]*,[0-9]*' /mnt/share/$1.out" | sed 's/.*,//' | tr -d '\r\n'; }

fio_start faults 45
wait_until 120 g 'test -s /mnt/t/faults.dat' || die "fio did not start writing"
hostvm_nic_down 1
wait_until 60 eval '! path_up 1' || die "path 1 still up after NIC 1 went down: $(path_states)"
hostvm_cmd 'sleep 5'
hostvm_nic_up 1
wait_until 60 both_up || die "path 1 not back: $(path_states)"
hostvm_silent_on 2
wait_until 60 eval '! path_up 2' || die "the daemon did not notice path 2 went silent: $(path_states)"
hostvm_cmd 'sleep 5'
hostvm_silent_off 2
wait_until 60 both_up || die "path 2 not back: $(path_states)"
fio_check faults 120
log "fio on /dev/nbd0's filesystem through NIC 1 down and path 2 silent: $(fio_ios faults) writes, 0 errors"
HOSTVM_CMD_TIMEOUT=120 g 'umount /mnt/t && mount /dev/nbd0 /mnt/t && cd /mnt/t && sha256sum -c --quiet /tmp/sums' ||
    die "files changed across the faults"
g "dmesg | tail -n +$((DMESG0 + 1)) | grep -iE 'I/O error|blk_update_request|Buffer I/O|EXT4-fs error|nbd0: .*timed out'" &&
    die "the guest kernel logged I/O errors (above)"
log "sums match after umount/mount; no I/O error in the guest kernel log"

# ---- 3. restart (SIGTERM, start) under fio ------------------------------------------------
fio_start restart 30
wait_until 120 g 'test -s /mnt/t/restart.dat' || die "fio did not start writing"
hostvm_cmd 'sleep 3'
t0=$(date +%s%N)
hostvm_daemon_stop
hostvm_daemon_start "$CONF"
log "daemon restarted in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
grep -q '/dev/nbd0 reattached' "$HOSTVM_DAEMON_LOG" || die "the new daemon did not reattach /dev/nbd0: $(tail -n 5 "$HOSTVM_DAEMON_LOG")"
[[ $(adm --json show disks | jq -r '.disks[0].device') == /dev/nbd0 ]] || die "show disks after the restart: $(adm show disks)"
fio_check restart 120
g "mountpoint -q /mnt/t && test \"\$(cat /sys/block/nbd0/backend)\" = '$DES'" || die "the mount or the device's backend went away"
g "dmesg | tail -n +$((DMESG0 + 1)) | grep -iE 'I/O error|Buffer I/O|EXT4-fs error'" && die "I/O errors in the guest kernel log across the restart"
log "restart under fio: $(fio_ios restart) writes, 0 errors; still /dev/nbd0, mounted"

# ---- 4. SIGKILL: restarted in time, then not at all --------------------------------------
fio_start kill 30
wait_until 120 g 'test -s /mnt/t/kill.dat' || die "fio did not start writing"
hostvm_cmd 'sleep 3'
g "kill -KILL $HOSTVM_DAEMON_PID"
wait_until 60 eval '! hostvm_daemon_alive' || die "the daemon survived SIGKILL"
hostvm_daemon_start "$CONF"
fio_check kill 120
log "SIGKILL and a start within $NBD_DEAD s: fio $(fio_ios kill) writes, 0 errors"

HOSTVM_CMD_TIMEOUT=60 g 'sync' || die "sync failed"
g "kill -KILL $HOSTVM_DAEMON_PID"
wait_until 60 eval '! hostvm_daemon_alive' || die "the daemon survived SIGKILL"
t0=$(date +%s%N)
out=$(HOSTVM_CMD_TIMEOUT=$((NBD_TIMEOUT + NBD_DEAD + 60)) g 'dd if=/dev/nbd0 of=/dev/null bs=4k count=1 skip=1000 iflag=direct 2>&1; echo rc=$?')
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
grep -q 'rc=0' <<<"$out" && die "a read succeeded with no daemon: $out"
grep -qi 'input/output error' <<<"$out" || die "no EIO with the daemon gone: $out"
(( ms >= (NBD_DEAD - 2) * 1000 )) || die "EIO after $ms ms, before the dead-connection timeout ($NBD_DEAD s)"
log "no daemon: EIO after $ms ms (dead-connection timeout $NBD_DEAD s)"
t0=$(date +%s%N)
HOSTVM_CMD_TIMEOUT=300 g 'umount /mnt/t; ! mountpoint -q /mnt/t' || die "the mount could not be torn down"
log "umount without a daemon took $(( ($(date +%s%N) - t0) / 1000000 )) ms"
hostvm_daemon_start "$CONF"
grep -c '/dev/nbd0 reattached' "$HOSTVM_DAEMON_LOG" | grep -qx 3 || die "the device was not reattached after the outage"
HOSTVM_CMD_TIMEOUT=120 g 'mount /dev/nbd0 /mnt/t && cd /mnt/t && sha256sum -c --quiet /tmp/sums && cd / && umount /mnt/t' ||
    die "the files are not intact after the outage"
log "a new daemon reattached /dev/nbd0; the files are intact"

# ---- 5. removal: a reload without nbd-device drains the disk and disconnects the device ----
hostvm_conf "$CONF" "no_path_retry = 30
frontend = socket"
g "kill -HUP $HOSTVM_DAEMON_PID" || die "SIGHUP failed"
wait_until 60 grep -q 'disk disk0: /dev/nbd0 disconnected' "$HOSTVM_DAEMON_LOG" ||
    die "no disconnect after the reload: $(tail -n 5 "$HOSTVM_DAEMON_LOG")"
wait_until 60 g 'test ! -e /sys/block/nbd0/backend && test "$(cat /sys/block/nbd0/size)" = 0' ||
    die "/dev/nbd0 still attached after its disk was removed: $(g 'ls /sys/block/nbd0; cat /sys/block/nbd0/size')"
wait_until 60 socket_reads || die "the socket export does not serve after the reload: $out"
log "reload without nbd-device: disk drained, /dev/nbd0 disconnected, the socket export serves"
hostvm_daemon_stop
g 'dmesg' >"$FIX_LOGDIR/guest-dmesg.log" || true
echo "PASS: t_93_nbd_dev"
