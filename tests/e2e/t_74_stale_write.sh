#!/usr/bin/env bash
# e2e: no stale writes after failover. Path 1 goes silent (nftables drop, both directions) while
# writes of pattern X are outstanding on it; the daemon fails over and completes them on path 2;
# pattern Y is then written to the same blocks (path 2); the silence is lifted while new
# connections on path 1 stay blocked for a while, so only what the old connection still holds can
# reach the target (TCP retransmits whatever its socket kept); then path 1 comes back. Every block
# must read Y. With MPISCSI_TEST_PLAIN_CLOSE=1 in the environment the daemon closes dead sessions
# gracefully, the kernel delivers the old X writes late, and this test fails: that run shows what
# the abortive close (docs/RELIABILITY.md, "Stale writes") prevents.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/tgt.sh
. tests/lib/faults.sh
need_root
need_tool nft nftables
need_tool jq jq
/usr/bin/python3 -c 'import nbd' 2>/dev/null || die "python3 libnbd bindings missing: install package python3-libnbd"

tgt_setup 2 64
SOCK=$FIX_DIR/nbd.sock
CONF=$FIX_DIR/mpiscsi.conf
printf '[global]\ninitiator_name = iqn.2026-11.org.mpiscsi.test:ini-%s\n[nbd]\nlisten = unix:%s\n' "$TGT_SUF" "$SOCK" >"$CONF"
printf '[disk disk0]\ntarget = %s\nlun = 1\nportal = 198.18.1.2:3260\nportal = 198.18.2.2:3260\n' "$TGT_IQN" >>"$CONF"
printf 'selector = round-robin\n' >>"$CONF"
DAEMON_ARGS=(-c "$CONF")
start_daemon "$SOCK"
URI=$(nbd_uri "$SOCK")
adm() { ini_exec timeout 30 "$BUILD/bin/mpiscsiadm" -s "$DAEMON_CTL" "$@"; }
up_paths() { adm --json show paths | jq '[.paths[] | select(.state == "up")] | length'; }
wait_until 15 eval '[[ $(up_paths) == 2 ]]' || die "two paths did not come up"

NBLK=256
BS=4096
# write_pattern GEN: NBLK writes of 4 KiB, all in flight at once, each block tagged (block, GEN)
write_pattern() {
    timeout 120 /usr/bin/python3 - "$URI" "$1" "$NBLK" "$BS" <<'PY'
import struct, sys, nbd
uri, gen, n, bs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
h = nbd.NBD(); h.connect_uri(uri)
cookies = [h.aio_pwrite(nbd.Buffer.from_bytearray(bytearray(struct.pack('<QQ', b, gen) * (bs // 16))), b * bs)
           for b in range(n)]
while h.aio_in_flight() > 0:
    h.poll(-1)
bad = [c for c in cookies if h.aio_command_completed(c) is False]
h.shutdown()
sys.exit(1 if bad else 0)
PY
}
# check_pattern GEN: prints the blocks that do not hold GEN (with what they hold)
check_pattern() {
    timeout 60 /usr/bin/python3 - "$URI" "$1" "$NBLK" "$BS" <<'PY'
import struct, sys, nbd
uri, gen, n, bs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
h = nbd.NBD(); h.connect_uri(uri)
wrong = []
for b in range(n):
    d = h.pread(bs, b * bs)
    if d != struct.pack('<QQ', b, gen) * (bs // 16):
        wrong.append("%d:%d" % (b, struct.unpack('<QQ', d[:16])[1]))
h.shutdown()
print(" ".join(wrong))
PY
}
path1_submitted() { adm --json show paths | jq '.paths[] | select(.id == 1) | .submitted'; }

write_pattern 1 || die "initial writes failed"
before=$(path1_submitted)
fault_silent_on 1
t0=$(date +%s%N)
write_pattern 2 || die "writes of pattern 2 failed during the failover"
log "pattern 2 written in $(( ($(date +%s%N) - t0) / 1000000 )) ms (path 1 silent)"
sent1=$(( $(path1_submitted) - before ))
(( sent1 > 0 )) || die "no write of pattern 2 was sent on path 1: the scenario did not happen"
wait_until 10 eval '[[ $(up_paths) == 1 ]]' || die "path 1 was not failed"
write_pattern 3 || die "writes of pattern 3 failed"
wrong=$(check_pattern 3)
[[ -z $wrong ]] || die "blocks without pattern 3 right after writing it: $wrong"

# Lift the silence but keep new connections on path 1 out (SYN dropped) for 12 s: only the old
# connection's retransmissions can reach the target now.
tgt_exec nft -f - <<EOF
table inet mpistale_$TGT_SUF {
    chain in { type filter hook input priority -20; policy accept;
               iifname "veth1" tcp dport 3260 tcp flags & (syn | ack) == syn drop; }
}
EOF
fixture_trap_add "ip netns exec $TGT_NS nft delete table inet mpistale_$TGT_SUF 2>/dev/null || true"
fault_silent_off 1
log "silence lifted with $sent1 write(s) sent on path 1; new connections on path 1 blocked for 12 s"
sleep 12
tgt_exec nft delete table inet "mpistale_$TGT_SUF"
wait_until 20 eval '[[ $(up_paths) == 2 ]]' || die "path 1 did not come back"
wrong=$(check_pattern 3)
[[ -z $wrong ]] || die "STALE WRITES: $(wc -w <<<"$wrong") block(s) lost pattern 3 after path 1 healed (block:generation): $wrong"
log "ok: all $NBLK blocks hold pattern 3 after path 1 healed ($sent1 writes had been sent on it)"
daemon_alive || die "daemon died"
stop_daemon
echo "t_74_stale_write: no stale write landed"
