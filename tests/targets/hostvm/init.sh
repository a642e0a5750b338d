#!/bin/sh
# shellcheck shell=dash
# /init of the hostvm guest's initramfs (busybox sh): the guest that runs the host's own
# programs. It loads the modules, mounts the host's root read-only over virtio-9p at /newroot,
# makes it livable (tmpfs /etc with a copy of the host's, /run, /var, /tmp, /mnt; devtmpfs,
# devpts, /dev/shm, proc, sysfs, configfs), mounts the writable share, configures the NICs,
# starts udevd if the host has it, then serves a control channel from inside the chroot.
#
# Kernel command line:
#   hostvm.paths=K (1..8)   NIC k (eth<k-1>, MAC 52:54:00:48:56:0k) gets 198.18.k.1/24
#   hostvm.load=LIST        modules to load at boot besides the base ones: "all" (default: every
#                           module of build.sh's UNDER_TEST), "none", or names joined by commas.
#                           The others stay loadable with modprobe in the guest.
#   hostvm.share=PATH       the writable share (9p tag "share") is mounted at /mnt/share and, when
#                           PATH is given (the host's path of the folder), at PATH too
#   hostvm.udev=0           do not start udevd even if the host has it
#   hostvm.repo=PATH        the source tree on the host: when it lies under a folder the guest covers
#                           with a tmpfs (/tmp, /run, /var, /mnt: a CI clone in /tmp), it is bound
#                           back at the same path so the guest still runs its build
#   hostvm.etc=PATH         a tar of the host's /etc (member names etc/...) at PATH on the host:
#                           the guest's /etc is unpacked from it (else copied file by file)
# Console (ttyS0): MPI-HOSTVM-READY ... (or MPI-HOSTVM-FAIL: why, then power off).
# Control channel (ttyS1), served by /run/hostvm/ctl.sh in the chroot: a line
# "ID TIMEOUT BASE64" runs the decoded text with bash (stdin /dev/null) under coreutils'
# timeout (TIMEOUT s, then TERM to its process group, KILL 5 s later); its output
# (stdout+stderr) follows, then a line "MPI-END ID STATUS" (preceded by a newline).
# PID 1 ends as busybox init, so that every orphan (a daemon started with setsid) is reaped.
/bin/busybox mkdir -p /usr/bin /usr/sbin /proc /sys /dev /tmp /run /newroot
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
say() { echo "$*" > /dev/ttyS0; }
# PHASES: uptime at the end of each boot phase, for the READY line (where boot time goes)
PHASES=
phase() { PHASES="$PHASES$1:$(cut -d' ' -f1 /proc/uptime),"; }
fail() {
    say "MPI-HOSTVM-FAIL: $*"
    dmesg | tail -n 30 > /dev/ttyS0
    echo o > /proc/sysrq-trigger
    sleep 60
}

PATHS=2 LOAD=all SHARE='' UDEV=1 ETC_TAR= REPO=
for w in $(cat /proc/cmdline); do
    case $w in
        hostvm.paths=*) PATHS=${w#*=} ;;
        hostvm.load=*) LOAD=${w#*=} ;;
        hostvm.share=*) SHARE=${w#*=} ;;
        hostvm.udev=*) UDEV=${w#*=} ;;
        hostvm.etc=*) ETC_TAR=${w#*=} ;;
        hostvm.repo=*) REPO=${w#*=} ;;
    esac
done
phase kernel
kver=$(uname -r)
[ -d "/lib/modules/$kver" ] || fail "the initramfs has modules for $(ls /lib/modules), not $kver"

# ---------------------------------------------------------------- modules
for m in $(cat /etc/hostvm.base) configfs; do
    modprobe "$m" || fail "modprobe $m"
done
case $LOAD in
    all) LOAD=$(cat /etc/hostvm.modules) ;;
    none) LOAD= ;;
    *) LOAD=$(echo "$LOAD" | tr ',' ' ') ;;
esac
for m in $LOAD; do
    modprobe "$m" || fail "modprobe $m"
done
phase modules

# ---------------------------------------------------------------- the host's root
R=/newroot
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,cache=loose,ro hostroot "$R" ||
    fail "mount hostroot over 9p"
[ -x "$R/bin/sh" ] || fail "the 9p root has no /bin/sh"
# /etc: a writable copy of the host's (hostname, mtab, daemon configs may be written). From the
# host's tar of it when there is one: one file read over 9p instead of ~1600 small ones (a few
# seconds under TCG)
if [ -n "$ETC_TAR" ] && [ -f "$R$ETC_TAR" ]; then
    mount -t tmpfs -o mode=755 etc "$R/etc" || fail "tmpfs /etc"
    tar -x -f "$R$ETC_TAR" -C "$R" etc || fail "unpacking $ETC_TAR into /etc"
else
    mkdir -p /stage
    cp -a "$R/etc" /stage/etc || fail "copy of /etc"
    mount -t tmpfs -o mode=755 etc "$R/etc" || fail "tmpfs /etc"
    cp -a /stage/etc/. "$R/etc/" || fail "copy of /etc into the tmpfs"
    rm -rf /stage
fi
echo hostvm > "$R/etc/hostname"
hostname hostvm
# The source tree may live under a folder that the tmpfs mounts below cover: keep a view of it.
case "$REPO" in
    /tmp/*|/run/*|/var/*|/mnt/*)
        mkdir -p /keep-repo
        mount --bind "$R$REPO" /keep-repo || fail "bind the source tree $REPO" ;;
    *) REPO= ;;
esac
mount -t tmpfs -o mode=755 run "$R/run" || fail "tmpfs /run"
mount -t tmpfs -o mode=755 var "$R/var" || fail "tmpfs /var"
mount -t tmpfs -o mode=1777 tmp "$R/tmp" || fail "tmpfs /tmp"
mount -t tmpfs -o mode=755 mnt "$R/mnt" || fail "tmpfs /mnt"
if [ -n "$REPO" ]; then
    mkdir -p "$R$REPO" && mount -o move /keep-repo "$R$REPO" || fail "source tree back at $REPO"
fi
mkdir -p "$R/run/lock" "$R/var/tmp" "$R/var/lib" "$R/var/log" "$R/var/cache" "$R/var/spool"
chmod 1777 "$R/var/tmp" "$R/run/lock"
ln -s /run "$R/var/run"
ln -s /run/lock "$R/var/lock"
mount -t devtmpfs devtmpfs "$R/dev" || fail "devtmpfs"
mkdir -p "$R/dev/pts" "$R/dev/shm"
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts "$R/dev/pts" || fail "devpts"
mount -t tmpfs -o mode=1777 shm "$R/dev/shm" || fail "tmpfs /dev/shm"
[ -e "$R/dev/fd" ] || ln -s /proc/self/fd "$R/dev/fd"
[ -e "$R/dev/stdin" ] || ln -s /proc/self/fd/0 "$R/dev/stdin"
[ -e "$R/dev/stdout" ] || ln -s /proc/self/fd/1 "$R/dev/stdout"
[ -e "$R/dev/stderr" ] || ln -s /proc/self/fd/2 "$R/dev/stderr"
mount -t proc proc "$R/proc" || fail "proc"
mount -t sysfs sysfs "$R/sys" || fail "sysfs"
mount -t configfs configfs "$R/sys/kernel/config" || fail "configfs"
phase root

# ---------------------------------------------------------------- the share
mkdir -p "$R/mnt/share"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,cache=none share "$R/mnt/share" ||
    fail "mount the share over 9p"
if [ -n "$SHARE" ]; then
    mkdir -p "$R$SHARE" 2>/dev/null
    mount --bind "$R/mnt/share" "$R$SHARE" || fail "bind the share at $SHARE"
fi

# ---------------------------------------------------------------- module tools in the chroot
# The host has no modules for this kernel (and maybe no kmod): modprobe & co. in the chroot run
# busybox's on the initramfs's own tree. (The kernel's own module requests run /sbin/modprobe
# of the initramfs anyway: its helpers start at the initial root, not at the chroot.)
H=$R/run/hostvm
mkdir -p "$H/initrd" "$H/bin"
mount --bind / "$H/initrd" || fail "bind the initramfs"
mount -t proc proc "$H/initrd/proc" || fail "proc in the initramfs view"
mount -t sysfs sysfs "$H/initrd/sys" || fail "sysfs in the initramfs view"
for t in modprobe rmmod lsmod modinfo depmod; do
    printf '#!/run/hostvm/initrd/bin/busybox sh\nexec /run/hostvm/initrd/bin/busybox chroot /run/hostvm/initrd /bin/busybox %s "$@"\n' "$t" >"$H/bin/$t"
    chmod 755 "$H/bin/$t"
done

# ---------------------------------------------------------------- network
ip link set lo up
k=1
while [ "$k" -le "$PATHS" ]; do
    i=$((k - 1)) n=0
    while [ ! -e "/sys/class/net/eth$i" ]; do
        n=$((n + 1)); [ "$n" -le 200 ] || fail "no eth$i"
        usleep 50000
    done
    mac=$(cat "/sys/class/net/eth$i/address")
    [ "$mac" = "52:54:00:48:56:0$k" ] || fail "eth$i has MAC $mac, not NIC $k's"
    ip addr add "198.18.$k.1/24" dev "eth$i" || fail "address on eth$i"
    ip link set "eth$i" up || fail "eth$i up"
    k=$((k + 1))
done
phase net

# ---------------------------------------------------------------- udev
# systemd's tools see that /proc/1/root is not their root and would ignore every request
# ("Running in chroot"): the chroot is this guest's real root, tell them so
export SYSTEMD_IGNORE_CHROOT=1
UDEVD=
for f in /lib/systemd/systemd-udevd /usr/lib/systemd/systemd-udevd; do
    chroot "$R" /bin/sh -c "test -x $f" 2>/dev/null && UDEVD=$f && break
done
UDEV_STATE=absent
if [ "$UDEV" = 0 ]; then
    UDEV_STATE=off
elif [ -n "$UDEVD" ]; then
    chroot "$R" "$UDEVD" --daemon --resolve-names=never >/dev/null 2>&1 || fail "systemd-udevd did not start"
    # coldplug the block devices only (nbd, loop, sd that exist now): a full trigger doubles
    # udev's share of the boot under TCG; devices made later get their own events anyway
    chroot "$R" udevadm trigger --type=devices --action=add --subsystem-match=block >/dev/null 2>&1
    chroot "$R" udevadm settle --timeout=60 || fail "udevadm settle timed out"
    UDEV_STATE=running
    phase udev
fi

# ---------------------------------------------------------------- control channel
cat > "$H/ctl.sh" <<EOF
# the control loop (busybox sh, root /newroot); see /init
BB=/run/hostvm/initrd/bin/busybox
export PATH=/run/hostvm/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=dumb LC_ALL=C.UTF-8 TMPDIR=/tmp SYSTEMD_IGNORE_CHROOT=1
SH=/bin/bash
[ -x \$SH ] || SH=/bin/sh
cd /
\$BB stty -F /dev/ttyS1 raw -echo || { echo "MPI-HOSTVM-FAIL: ttyS1" > /dev/ttyS0; exit 1; }
exec 3<>/dev/ttyS1
echo "MPI-HOSTVM-READY paths=$PATHS kernel=$kver udev=$UDEV_STATE phases=$PHASES loaded=\$(\$BB wc -l < /proc/modules) uptime=\$(\$BB cut -d' ' -f1 /proc/uptime)" > /dev/ttyS0
while :; do
    IFS= read -r line <&3 || { \$BB usleep 100000; continue; }
    set -- \$line
    [ \$# -eq 3 ] || continue
    echo "\$3" | \$BB base64 -d > /run/hostvm/cmd 2>/dev/null || { printf '\nMPI-END %s 255\n' "\$1" >&3; continue; }
    timeout -k 5 "\$2" \$SH /run/hostvm/cmd </dev/null >/run/hostvm/out 2>&1
    rc=\$?
    cat /run/hostvm/out >&3
    printf '\nMPI-END %s %s\n' "\$1" "\$rc" >&3
done
EOF
cat > /etc/inittab <<EOF
::once:/usr/sbin/chroot $R /run/hostvm/initrd/bin/busybox sh /run/hostvm/ctl.sh
EOF
exec /bin/busybox init
