#!/bin/sh
# shellcheck shell=dash
# /init of the LIO test target's initramfs (busybox sh). Kernel command line:
#   mpi.paths=K (1..16)  eth<k-1> gets 198.18.k.2/24, TPG k listens on 198.18.k.2:3260, group pg<k>
#   mpi.iqn=IQN  mpi.serial=SERIAL  mpi.size=MB (ramdisk LUN 0 = disk0)
# Prints MPI-LIO-READY (or MPI-LIO-FAIL: why, then powers off) on the console (ttyS0), then
# serves the control channel on ttyS1: a line "ID BASE64" runs the decoded text with sh (with
# /lib/lio.fns sourced, stdin /dev/null); its output (stdout+stderr) follows, then a line
# "MPI-END ID STATUS" (preceded by a newline).
/bin/busybox mkdir -p /usr/bin /usr/sbin /proc /sys /dev /tmp /run
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
say() { echo "$*" > /dev/ttyS0; }
fail() { say "MPI-LIO-FAIL: $*"; dmesg | tail -n 20 > /dev/ttyS0; poweroff -f; sleep 60; }

PATHS=2 IQN=iqn.2026-11.org.mpiscsi.lio:target SERIAL=mpilio0 SIZE=64
for w in $(cat /proc/cmdline); do
    case $w in
        mpi.paths=*) PATHS=${w#*=} ;;
        mpi.iqn=*) IQN=${w#*=} ;;
        mpi.serial=*) SERIAL=${w#*=} ;;
        mpi.size=*) SIZE=${w#*=} ;;
    esac
done
echo "$IQN" > /run/lio.iqn
echo "$PATHS" > /run/lio.paths

for m in $(cat /lib/modules/order); do
    insmod "/lib/modules/$m.ko" || fail "insmod $m"
done
mount -t configfs configfs /sys/kernel/config || fail "mount configfs"

k=1
while [ "$k" -le "$PATHS" ]; do
    n=0
    while [ ! -e "/sys/class/net/eth$((k - 1))" ]; do
        n=$((n + 1)); [ "$n" -le 100 ] || fail "no eth$((k - 1))"
        usleep 50000
    done
    ip addr add "198.18.$k.2/24" dev "eth$((k - 1))" || fail "address on eth$((k - 1))"
    ip link set "eth$((k - 1))" up || fail "eth$((k - 1)) up"
    k=$((k + 1))
done
ip link set lo up

. /lib/lio.fns
mkdir -p "$T/iscsi" || fail "iscsi fabric"
mk_disk 0 "$SIZE" "$SERIAL" || fail "disk0"
k=1
while [ "$k" -le "$PATHS" ]; do
    mk_tpg "$k" && map_lun "$k" 0 0 && tpg_enable "$k" 1 || fail "tpgt_$k"
    k=$((k + 1))
done

stty -F /dev/ttyS1 raw -echo 2>/dev/null || fail "ttyS1"
say "MPI-LIO-READY iqn=$IQN paths=$PATHS uptime=$(cut -d' ' -f1 /proc/uptime)"

exec 3<>/dev/ttyS1
while :; do
    IFS= read -r line <&3 || { usleep 100000; continue; }
    set -- $line
    [ $# -eq 2 ] || continue
    echo "$2" | base64 -d > /tmp/cmd 2>/dev/null || { printf '\nMPI-END %s 255\n' "$1" >&3; continue; }
    sh -c '. /lib/lio.fns; . /tmp/cmd' </dev/null >/tmp/out 2>&1
    rc=$?
    cat /tmp/out >&3
    printf '\nMPI-END %s %s\n' "$1" "$rc" >&3
done
