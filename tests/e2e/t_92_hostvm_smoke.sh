#!/usr/bin/env bash
# e2e: the hostvm fixture (tests/targets/hostvm): one QEMU guest on Debian's kernel that runs
# the host's own programs over virtio-9p, as the initiator of tgtd on the host side, 2 paths.
# In the guest: the kernel front ends' modules are there (/dev/nbd0, target_core_user, tcm_loop;
# modprobe -r / modprobe of nbd works), the host's build/bin/mpiscsid runs from a config in the
# writable share (LUN 1 over both paths, socket export) and qemu-io in the guest writes and reads
# back patterns through it; while a guest reader verifies the pattern in a loop, the host takes
# path 1's link down (tap1): reads go on over path 2 with no error, the daemon's control socket
# shows path 1 down, then up again after the link is back. Faults: silent path and TCP reset
# rules exist on the host side and the guest's NIC carrier follows QEMU's set_link. The daemon
# stops cleanly on SIGTERM; its log is read from the share. Prints the boot-to-ready time.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/tgt.sh
. tests/targets/hostvm/hostvm.sh
need_root
need_tool qemu-io qemu-utils
need_tool jq jq
[[ -x $BUILD/bin/mpiscsid && -x $BUILD/bin/mpiscsiadm ]] || die "$BUILD/bin/mpiscsid, mpiscsiadm not built (run: make all)"

hostvm_setup 2 64
echo "# hostvm guest boot-to-ready: $HOSTVM_BOOT_MS ms (udev: $HOSTVM_UDEV)"
SHARE=$(hostvm_share)
ADM=$(realpath "$BUILD/bin/mpiscsiadm")
URI="nbd+unix:///disk0?socket=$HOSTVM_NBD_SOCK"
g() { hostvm_cmd "$@"; }

# ---- the guest: host root, share both ways, modules under test
[[ $(g 'cat /proc/sys/kernel/osrelease' | tr -d '\r\n') == "$HOSTVM_KVER" ]] || die "guest kernel is not $HOSTVM_KVER"
g "test -x $(realpath "$BUILD/bin/mpiscsid")" || die "the guest does not see the host's build folder"
echo "from-host-$$" >"$SHARE/in"
[[ $(g 'cat /mnt/share/in' | tr -d '\r\n') == "from-host-$$" ]] || die "the guest does not read the share"
g "echo from-guest > $SHARE/out" || die "the guest cannot write to the share at its host path"
[[ $(cat "$SHARE/out") == from-guest ]] || die "the guest's write did not reach the host"
g 'touch /usr/bin/hostvm-probe 2>/dev/null' && die "the host's root is writable from the guest"
g 'test -b /dev/nbd0 && test -d /sys/module/target_core_user && test -d /sys/module/tcm_loop && test -d /sys/module/uio' ||
    die "guest: /dev/nbd0 or target_core_user/tcm_loop/uio missing: $(g 'ls /dev/nbd* | head -3; lsmod')"
g 'modprobe -r nbd && ! test -e /dev/nbd0 && modprobe nbd nbds_max=4 && test -b /dev/nbd3 && ! test -e /dev/nbd4' ||
    die "guest: modprobe -r nbd / modprobe nbd nbds_max=4 did not work"
g 'ip -br addr show eth0 | grep -q "198\.18\.1\.1/24" && ip -br addr show eth1 | grep -q "198\.18\.2\.1/24"' ||
    die "guest NICs: $(g 'ip -br addr')"
log "guest: kernel $HOSTVM_KVER, host root read-only, share read/write, nbd, uio, target_core_user, tcm_loop"

# ---- the host's own mpiscsid in the guest, LUN 1 over both paths
hostvm_conf "$SHARE/mpiscsi.conf" "no_path_retry = 30"
hostvm_daemon_start "$SHARE/mpiscsi.conf"
adm() { g "$ADM -s /run/mpiscsi/control.sock $*"; }
path_states() {   # "name=state ..." (a path's name holds its portal), sorted
    adm --json show paths | jq -r '.paths[] | "\(.name)=\(.state)"' | sort | tr '\n' ' '
}
# path_up K: the path to 198.18.K.2 is up
path_up() { [[ " $(path_states)" =~ [\ \>]198\.18\.$1\.2:3260=up\  ]]; }
both_up() { local s; s=$(path_states); [[ " $s" =~ [\ \>]198\.18\.1\.2:3260=up\  && " $s" =~ [\ \>]198\.18\.2\.2:3260=up\  ]]; }
wait_until 60 both_up || die "the guest daemon did not bring both paths up: $(path_states)"
out=$(g "qemu-io -f raw -c 'write -P 0x5a 0 4M' -c 'read -P 0x5a 0 4M' -c 'write -P 0xa5 8M 1M' '$URI'") ||
    die "qemu-io in the guest failed: $out"
grep -qi 'fail\|error\|mismatch' <<<"$out" && die "qemu-io in the guest: $out"
cmp <(dd if="$TGT_BACKING" bs=1M count=4 status=none) <(head -c 4M /dev/zero | tr '\0' '\132') ||
    die "the pattern written in the guest is not in tgtd's backing file"
log "qemu-io in the guest wrote and read back 5 MiB through the daemon; tgtd's backing file has it"

# ---- path 1's link down on the host side while the guest reads
cat >"$SHARE/reader.sh" <<'EOF'
#!/bin/bash
# reads the 4 MiB pattern back until /mnt/share/stop exists (at most 300 rounds); one line a round
n=0
while [ ! -e /mnt/share/stop ] && [ $n -lt 300 ]; do
    n=$((n + 1))
    out=$(qemu-io -f raw -c 'read -P 0x5a 0 4M' "$1" 2>&1)
    if [ $? -ne 0 ] || echo "$out" | grep -qi 'fail\|error\|mismatch'; then
        echo "FAIL $n $(echo $out)"
    else
        echo "ok $n"
    fi
done
echo "end $n"
EOF
rm -f "$SHARE/stop" "$SHARE/reader.log"
g "setsid bash /mnt/share/reader.sh '$URI' </dev/null >/mnt/share/reader.log 2>&1 &" || die "reader did not start"
rounds() { grep -c '^ok ' "$SHARE/reader.log" 2>/dev/null || true; }
wait_until 60 eval '(( $(rounds) >= 2 ))' || die "guest reader: no 2 rounds in 60 s: $(cat "$SHARE/reader.log")"
b1=$(hostvm_tap_bytes 1) b2=$(hostvm_tap_bytes 2)
r0=$(rounds)
hostvm_link_down 1
t_down=$(date +%s%N)
wait_until 60 eval '! path_up 1' || die "the guest daemon still has path 1 up 60 s after its link went down: $(path_states)"
log "path 1 seen down by the daemon $(( ($(date +%s%N) - t_down) / 1000000 )) ms after the link went down: $(path_states)"
r1=$(rounds)
wait_until 60 eval '(( $(rounds) >= r1 + 3 ))' || die "guest reader stalled with path 1 down: $(tail -n 5 "$SHARE/reader.log")"
c2=$(hostvm_tap_bytes 2)
(( c2 - b2 > 3 * 4 * 1024 * 1024 )) || die "path 2 carried only $((c2 - b2)) bytes while path 1 was down"
hostvm_link_up 1
wait_until 60 both_up || die "path 1 not back 60 s after its link came up: $(path_states)"
touch "$SHARE/stop"
wait_until 60 grep -q '^end ' "$SHARE/reader.log" || die "guest reader did not stop"
grep '^FAIL' "$SHARE/reader.log" >&2 && die "guest reader saw errors while path 1 was down (above)"
log "guest reader: $(rounds) rounds of 4 MiB, $((r1 - r0)) before the daemon saw path 1 down, none failed; path 1 back up"
(( $(hostvm_tap_bytes 1) > b1 )) || die "no traffic on path 1 at all"

# ---- the other host-side faults and the guest NIC carrier
hostvm_silent_on 2
out=$(ip netns exec "$TGT_NS" nft list table inet "mpihv_${TGT_SUF}_s2") || die "no silent table"
grep -q 'iifname "tap2" drop' <<<"$out" && grep -q 'oifname "tap2" drop' <<<"$out" || die "silent rules missing: $out"
hostvm_reset_on 1
out=$(ip netns exec "$TGT_NS" nft list table inet "mpihv_${TGT_SUF}_r1") || die "no reset table"
grep -q 'iifname "tap1" .*reject with tcp reset' <<<"$out" || die "reset rule missing: $out"
hostvm_heal_all
out=$(ip netns exec "$TGT_NS" nft list tables)
! grep "mpihv_${TGT_SUF}_" <<<"$out" || die "hostvm_heal_all left rules"
hostvm_nic_down 2
g 'grep -qx 0 /sys/class/net/eth1/carrier' || die "guest eth1 still has its carrier after set_link off"
wait_until 30 eval '! path_up 2' || die "the daemon missed eth1's carrier loss: $(path_states)"
hostvm_nic_up 2
g 'grep -qx 1 /sys/class/net/eth1/carrier' || die "guest eth1 has no carrier after set_link on"
wait_until 60 both_up || die "path 2 not back after the carrier: $(path_states)"
log "host-side silent/reset rules set and healed; guest NIC carrier off/on followed by the daemon"

# ---- clean stop, log from the share
out=$(g "qemu-io -f raw -c 'read -P 0xa5 8M 1M' '$URI'") && ! grep -qi 'fail\|error\|mismatch' <<<"$out" ||
    die "final read in the guest: $out"
hostvm_daemon_stop
[[ -s $HOSTVM_DAEMON_LOG ]] || die "no daemon log in the share"
grep -qi '198\.18\.1\.2' "$HOSTVM_DAEMON_LOG" || die "the daemon log in the share does not mention path 1"
g 'dmesg' >"$FIX_LOGDIR/guest-dmesg.log" || true
log "daemon log in the share: $(wc -l <"$HOSTVM_DAEMON_LOG") lines"
echo "# hostvm guest boot-to-ready: $HOSTVM_BOOT_MS ms"
echo "PASS: t_92_hostvm_smoke"
