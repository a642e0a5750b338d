#!/usr/bin/env bash
# e2e: the NBD server's limits hold and cost no one else. [nbd] max_clients = 8: a flood of 40 idle
# connections holds at most 8 slots (newcomers evict the oldest pending handshake) and a good
# client is served meanwhile; 8 clients in transmission hold the limit: a 9th is closed at accept,
# and served once they are gone. max_inflight = 16 / max_inflight_mib = 4: a client that sends 400 writes and never reads
# its replies is no longer read, the daemon's RSS stays bounded and other clients go on.
# max_request_kib = 256: the export's maximum block size says 256 KiB, a 512 KiB READ is refused
# with an error and a 512 KiB WRITE closes that connection, while other clients go on.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/tgt.sh
need_root
need_tool nbdinfo libnbd-bin
need_tool jq jq
/usr/bin/python3 -c 'import nbd' 2>/dev/null || die "python3 libnbd bindings missing: install package python3-libnbd"

tgt_setup 1 64
SOCK=$FIX_DIR/nbd.sock
CONF=$FIX_DIR/mpiscsi.conf
{
    printf '[global]\ninitiator_name = iqn.2026-11.org.mpiscsi.test:ini-%s\n' "$TGT_SUF"
    printf '[nbd]\nlisten = unix:%s\nmax_clients = 8\nmax_inflight = 16\nmax_inflight_mib = 4\nmax_request_kib = 256\n' "$SOCK"
    printf '[disk disk0]\ntarget = %s\nlun = 1\nportal = 198.18.1.2:3260\n' "$TGT_IQN"
} >"$CONF"
"$BUILD/bin/mpiscsid" --check-config -c "$CONF" | grep -q '^max_clients = 8$' || die "--check-config does not show max_clients"
DAEMON_ARGS=(-c "$CONF")
start_daemon "$SOCK"
URI=$(nbd_uri "$SOCK")
rss() { awk '/VmRSS/ {print $2}' "/proc/$DAEMON_PID/status"; }
good_client() {   # a verified write + read on its own range, bounded
    timeout 30 /usr/bin/python3 - "$URI" "$1" <<'PY'
import os, sys, nbd
h = nbd.NBD(); h.connect_uri(sys.argv[1])
off = int(sys.argv[2]) * 65536
data = os.urandom(65536)
h.pwrite(data, off); h.flush()
assert h.pread(65536, off) == data
h.shutdown()
PY
}

# ---- block size: the limit is what the client is told, and what is enforced
max=$(nbdinfo --json "$URI" | jq '.exports[0]["block_size_maximum"]')
(( max == 262144 )) || die "export's maximum block size is $max, want 262144 (max_request_kib = 256)"
out=$(timeout 30 /usr/bin/python3 - "$URI" <<'PY'
import sys, nbd
h = nbd.NBD(); h.set_strict_mode(0); h.connect_uri(sys.argv[1])
try:
    h.pread(524288, 0); print("read-ok")
except nbd.Error as e:
    print("read-refused", e.errno)
h.pread(4096, 0)     # the connection goes on after a refused READ
print("still-connected")
try:
    h.pwrite(b"\0" * 524288, 0); print("write-ok")
except nbd.Error as e:
    print("write-failed")
PY
) || true
grep -q '^read-refused' <<<"$out" || die "a 512 KiB READ was not refused: $out"
grep -q '^still-connected' <<<"$out" || die "the connection did not survive a refused READ: $out"
grep -q '^write-failed' <<<"$out" || die "a 512 KiB WRITE was accepted: $out"
good_client 1 || die "a good client failed after the oversized requests"
log "ok: max_request_kib = 256: block_size_maximum 262144, 512 KiB READ refused, 512 KiB WRITE cut off"

# ---- max_clients = 8: a flood of 40 idle connections holds at most 8 slots and locks nobody out
# (each newcomer takes the place of the oldest pending handshake: t_53 floods harder); 8 clients in
# transmission hold the limit, and a 9th is closed at accept.
FLOOD_PY='
import socket, sys, time
path, n = sys.argv[1], int(sys.argv[2])
socks = []
for i in range(n):
    s = socket.socket(socket.AF_UNIX); s.connect(path); socks.append(s)
time.sleep(1.0)
kept = 0
for s in socks:            # still open: no EOF after what was sent (the greeting); the rest were closed
    s.setblocking(False)
    try:
        while s.recv(4096):
            pass
    except BlockingIOError:
        kept += 1
    except OSError:
        pass
print(kept, flush=True)
sys.stdin.read()
'
coproc FLOOD { exec /usr/bin/python3 -c "$FLOOD_PY" "$SOCK" 40; }
FLOOD_PID_=$FLOOD_PID
fixture_trap_add "kill $FLOOD_PID_ 2>/dev/null || true"
read -r -t 30 kept <&"${FLOOD[0]}" || die "flood client did not report"
(( kept == 8 )) || die "max_clients = 8, but $kept of 40 idle flood connections are open"
good_client 2 || die "a good client was locked out by 8 idle connections"
kill "$FLOOD_PID_"; wait "$FLOOD_PID_" 2>/dev/null || true
HOLD_PY='
import sys, nbd
hs = []
for i in range(8):
    h = nbd.NBD(); h.connect_uri(sys.argv[1]); hs.append(h)
print(len(hs), flush=True)
sys.stdin.read()
'
coproc HOLD { exec timeout 60 /usr/bin/python3 -c "$HOLD_PY" "$URI"; }
HOLD_PID_=$HOLD_PID
fixture_trap_add "kill $HOLD_PID_ 2>/dev/null || true"
read -r -t 30 held <&"${HOLD[0]}" || die "the 8 holding clients did not connect"
(( held == 8 )) || die "only $held of 8 holding clients connected"
rc=0; good_client 3 2>/dev/null || rc=$?
(( rc != 0 )) || die "a 9th client was served while 8 clients in transmission held the limit"
kill "$HOLD_PID_"; wait "$HOLD_PID_" 2>/dev/null || true
wait_until 10 good_client 3 || die "good client still refused after the holding clients left"
grep -q 'clients connected, refusing another' "$DAEMON_LOG" || die "refusals not logged"
log "ok: max_clients = 8: 8 of 40 idle connections open at most, a good client served meanwhile; 8 in transmission: the 9th refused"

# ---- a client that never reads its replies: bounded by max_inflight / max_inflight_mib
r0=$(rss)
SLOW_PY='
import socket, struct, sys, time
path = sys.argv[1]
s = socket.socket(socket.AF_UNIX); s.connect(path)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
def rd(n):
    b = b""
    while len(b) < n:
        d = s.recv(n - len(b))
        if not d: raise SystemExit("closed")
        b += d
    return b
rd(18)                                                   # NBDMAGIC IHAVEOPT flags
s.sendall(struct.pack(">I", 1))                          # FIXED_NEWSTYLE
name = b"disk0"
s.sendall(struct.pack(">QII", 0x49484156454f5054, 7, 4 + len(name) + 2) + struct.pack(">I", len(name)) + name + struct.pack(">H", 0))
while True:                                              # option replies until ACK
    magic, opt, typ, ln = struct.unpack(">QIII", rd(20)); rd(ln)
    if typ == 1: break
# 400 READs of 256 KiB (100 MiB of replies) that are never read: once the socket buffers are
# full the server cannot write replies, so requests stay in flight and it must stop reading.
# (one buffer: on a Unix socket each small send costs a whole skb of the send budget; and if
# the server has stopped reading, the send may block: that is the behaviour under test)
reqs = b"".join(struct.pack(">IHHQQI", 0x25609513, 0, 0, i, (i % 64) * 262144, 262144) for i in range(400))
s.settimeout(5)
try:
    s.sendall(reqs)
except socket.timeout:
    pass
time.sleep(3)
hdr_i, sent = 400, 400 * 28
print(hdr_i, sent, flush=True)
sys.stdin.read()
'
coproc SLOW { exec /usr/bin/python3 -c "$SLOW_PY" "$SOCK"; }
SLOW_PID_=$SLOW_PID
fixture_trap_add "kill $SLOW_PID_ 2>/dev/null || true"
read -r -t 30 nreq nbytes <&"${SLOW[0]}" || die "slow client did not report"
r1=$(rss)
for i in 4 5 6; do good_client "$i" || die "a good client failed while another did not read its replies"; done
# Had the server read all 400, it would hold 100 MiB of read buffers; bounded it holds at most
# max_inflight_mib (4 MiB) plus what the socket buffers took.
(( r1 - r0 < 32768 )) || die "daemon RSS grew by $(( (r1 - r0) / 1024 )) MiB for one client that does not read its replies"
kill "$SLOW_PID_"; wait "$SLOW_PID_" 2>/dev/null || true
log "ok: a client that never reads 100 MiB of READ replies: daemon RSS +$(( (r1 - r0) / 1024 )) MiB, other clients served"

good_client 7 || die "good client failed at the end"
daemon_alive || die "daemon died"
stop_daemon
echo "t_52_limits: max_clients, max_inflight(_mib), max_request_kib hold without hurting other clients"
