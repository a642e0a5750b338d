#!/usr/bin/env bash
# e2e: the operator tools against tgtd. mpiscsiadm -m discovery (no daemon), -m session -P 0..3,
# -m node --login/--logout adding and removing paths and disks at run time, golden text output of
# every show command and its --json form (parsed), show config, reconfigure (and SIGHUP) adding and
# removing a disk while fio runs on another disk with zero errors, a broken config refused with
# FILE:LINE while the daemon goes on, and the documented exit statuses.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/tgt.sh
need_root
need_tool fio fio
need_tool qemu-io qemu-utils
need_tool jq jq
ADM=$BUILD/bin/mpiscsiadm
[[ -x $ADM ]] || die "$ADM not built (run: make all)"
GOLDEN=tests/e2e/golden

tgt_setup 2 64
tgt_add_lun 2 32
SOCK=$FIX_DIR/nbd.sock
CONF=$FIX_DIR/mpiscsi.conf
write_conf() {   # [EXTRA DISK SECTION TEXT]
    {
        printf '[global]\ninitiator_name = iqn.2026-11.org.mpiscsi.test:ini-%s\ncontrol_max_clients = 4\n' "$TGT_SUF"
        printf '[nbd]\nlisten = unix:%s\n' "$SOCK"
        printf '[disk disk0]\ntarget = %s\nlun = 1\nportal = 198.18.1.2:3260\nportal = 198.18.2.2:3260\n' "$TGT_IQN"
        printf '%s' "${1:-}"
    } >"$CONF"
}
write_conf
"$BUILD/bin/mpiscsid" --check-config -c "$CONF" >/dev/null || die "config refused"
DAEMON_ARGS=(-c "$CONF")
start_daemon "$SOCK"
adm() { ini_exec timeout 30 "$ADM" -s "$DAEMON_CTL" "$@"; }
wait_until 15 eval '[[ $(adm --json show paths | jq "[.paths[] | select(.state == \"up\")] | length") == 2 ]]' ||
    die "disk0's two paths did not come up: $(adm show paths 2>&1)"

# golden NAME CMD...: text output, normalized (run-specific names and numbers), equals tests/e2e/golden/NAME.txt
norm() {
    sed -e "s#$FIX_DIR#FIXDIR#g" -e "s/$TGT_SUF/SUF/g" -e 's/naa\.[0-9a-f]\{16,32\}/naa.ID/g' -e 's/ISID: 80[0-9a-f]\{10\}/ISID: 80XXXXXXXXXX/' \
        -e 's/^\(\s*Iface Netdev: \).*/\1NETDEV/' -e 's/egress=[^ ]*//' "$@"
}

# ---- 1. discovery without the daemon, text and JSON
out=$(ini_exec timeout 30 "$ADM" -m discovery -t sendtargets -p 198.18.1.2 -I veth1) || die "discovery failed"
grep -qx "198.18.1.2:3260,1 $TGT_IQN" <<<"$out" || die "discovery output: '$out'"
n=$(ini_exec timeout 30 "$ADM" -m discovery -t st -p 198.18.2.2:3260 --json | jq -r '.targets[] | "\(.portal) \(.target)"')
[[ $n == "198.18.2.2:3260 $TGT_IQN" ]] || die "discovery --json: '$n'"
rc=0; ini_exec timeout 30 "$ADM" -m discovery -t sendtargets -p 198.18.1.2:3299 --timeout 3 2>/dev/null || rc=$?
(( rc == 3 )) || die "discovery of a dead portal: exit $rc, want 3"
rc=0; "$ADM" -m discovery -p 198.18.1.2 2>/dev/null || rc=$?
(( rc == 2 )) || die "discovery without -t: exit $rc, want 2"
log "ok: -m discovery (text, --json, dead portal exit 3, usage exit 2)"

# ---- 2. golden text of every show command, and their JSON
golden topology adm show topology
golden disks adm show disks
golden session0 adm -m session
golden session1 adm -m session -P 1
golden session3 adm -m session -P 3
golden config adm show config
out=$(adm show paths) || die "show paths failed"
[[ $(head -n 1 <<<"$out") =~ ^ID\ +DISK\ +NAME\ +IFACE\ +STATE\ +PRIO ]] || die "show paths header: $(head -n 1 <<<"$out")"
[[ $(grep -c ' up ' <<<"$out") == 2 ]] || die "show paths: want 2 up paths: $out"
for cmd in "show topology" "show paths" "show disks" "show config" "version"; do
    # shellcheck disable=SC2086
    adm --json $cmd | jq -e . >/dev/null || die "$cmd --json is not JSON"
done
adm --json -m session -P 2 | jq -e '.sessions | length == 2 and all(.[]; .session_state == "logged-in" and .isid != null)' \
    >/dev/null || die "-m session --json: $(adm --json -m session)"
adm --json show topology | jq -e '.disks[0].groups[0].paths | length == 2' >/dev/null || die "topology JSON groups"
log "ok: golden text and JSON of show topology/paths/disks/config, -m session"

# ---- 3. exit statuses
rc=0; adm fail path 999 2>/dev/null || rc=$?; (( rc == 1 )) || die "fail path 999: exit $rc, want 1"
rc=0; adm no such command 2>/dev/null || rc=$?; (( rc == 2 )) || die "unknown command: exit $rc, want 2"
rc=0; "$ADM" -s "$FIX_DIR/nothing.sock" show disks 2>/dev/null || rc=$?; (( rc == 3 )) || die "no daemon: exit $rc, want 3"
log "ok: exit statuses 1 (refused), 2 (usage), 3 (unreachable)"

# ---- 3b. control socket limits: 4 idle clients (no request) do not lock mpiscsiadm out (the
# oldest is closed for it); control_max_clients = 4 clients that each had a request answered fill
# it (the next is told EBUSY); a client that sends requests and never reads its replies holds
# only its own slot
CLIENTS_PY='
import socket, sys, time
path, n, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
socks = []
for i in range(n):
    s = socket.socket(socket.AF_UNIX); s.connect(path); socks.append(s)
    if mode == "asked":            # one request answered: no longer a pending client
        s.sendall(b"{\"v\":1,\"cmd\":\"version\"}\n")
        b = b""
        while not b.endswith(b"\n"):
            d = s.recv(4096)
            if not d: raise SystemExit("closed")
            b += d
if mode == "flood":
    req = b"{\"v\":1,\"cmd\":\"show-topology\"}\n" * 2000
    socks[0].setblocking(False)
    try:
        socks[0].send(req)
    except BlockingIOError:
        pass
print("ready", flush=True)
sys.stdin.read()
'
hold_clients() {   # N MODE: start a holder, wait until it is connected; sets HOLD_PID
    coproc HOLD { exec ip netns exec "$INI_NS" /usr/bin/python3 -c "$CLIENTS_PY" "$DAEMON_CTL" "$1" "$2"; }
    HOLD_PID=$HOLD_PID
    fixture_trap_add "kill $HOLD_PID 2>/dev/null || true"
    local line; read -r -t 10 line <&"${HOLD[0]}" || die "client holder did not connect"
    [[ $line == ready ]] || die "client holder: '$line'"
}
release_clients() { kill "$HOLD_PID" 2>/dev/null || true; wait "$HOLD_PID" 2>/dev/null || true; }
hold_clients 4 idle
adm show disks >/dev/null || die "4 idle control clients (no request) locked mpiscsiadm out"
release_clients
hold_clients 4 asked
rc=0; err=$(adm show disks 2>&1) || rc=$?
(( rc == 1 )) && [[ $err == *EBUSY* ]] || die "a 5th control client with control_max_clients = 4: exit $rc, '$err'"
release_clients
wait_until 5 adm show disks >/dev/null || die "control socket not usable after the idle clients left"
hold_clients 1 flood
rss0=$(awk '/VmRSS/ {print $2}' "/proc/$DAEMON_PID/status")
for i in 1 2 3; do adm show disks >/dev/null || die "control socket blocked by a client that does not read"; done
rss1=$(awk '/VmRSS/ {print $2}' "/proc/$DAEMON_PID/status")
(( rss1 - rss0 < 8192 )) || die "daemon RSS grew by $(( rss1 - rss0 )) KiB while a client did not read its replies"
release_clients
log "ok: 4 idle control clients lock nobody out; control_max_clients = 4 (5th told EBUSY); a non-reading client with 2000 requests queued costs no one else (RSS +$(( rss1 - rss0 )) KiB)"

# ---- 4. node login / logout at run time: LUN 2 becomes a disk, gains a second path, loses it, goes
adm -m node -T "$TGT_IQN" -p 198.18.1.2:3260 --lun 2 --login >/dev/null || die "node login LUN 2 failed"
DISK2="${TGT_IQN##*:}-2"
wait_until 15 eval '[[ $(adm --json show disks | jq -r ".disks[] | select(.name == \"$DISK2\") | .ready") == true ]]' ||
    die "disk $DISK2 did not become ready: $(adm show disks)"
U2="nbd+unix:///$DISK2?socket=$SOCK"
timeout 60 qemu-io -f raw -c 'write -P 0x5a 0 1M' -c 'read -P 0x5a 0 1M' "$U2" | grep -qi 'failed\|error' &&
    die "I/O on the logged-in disk failed"
# The same (NIC, portal, target, LUNs) again: refused as iscsiadm does, nothing changes.
rc=0; err=$(adm -m node -T "$TGT_IQN" -p 198.18.1.2:3260 --lun 2 --login 2>&1) || rc=$?
(( rc == 15 )) && [[ $err == *"session already present"* ]] || die "duplicate login: exit $rc (want 15, iscsiadm's), '$err'"
adm -m node -T "$TGT_IQN" -p 198.18.2.2:3260 --lun 2 --login >/dev/null || die "second portal login failed"
wait_until 15 eval '[[ $(adm --json show disks | jq -r ".disks[] | select(.name == \"$DISK2\") | .paths_usable") == 2 ]]' ||
    die "disk $DISK2 has not 2 usable paths: $(adm show topology)"
adm -m node -T "$TGT_IQN" -p 198.18.1.2:3260 --lun 2 --logout >/dev/null || die "logout of one portal failed"
[[ $(adm --json show disks | jq -r ".disks[] | select(.name == \"$DISK2\") | .paths_total") == 1 ]] ||
    die "one portal logged out, but: $(adm show topology)"
timeout 60 qemu-io -f raw -c 'read -P 0x5a 0 1M' "$U2" | grep -qi 'failed\|error' && die "read after partial logout failed"
adm -m node -T "$TGT_IQN" --lun 2 --logout >/dev/null || die "logout of the target failed"
wait_until 15 eval '! adm --json show disks | jq -e ".disks[] | select(.name == \"$DISK2\")" >/dev/null' ||
    die "disk $DISK2 still listed after logout"
[[ $(adm --json show disks | jq '.disks | length') == 1 ]] || die "disk0 should remain: $(adm show disks)"
rc=0; adm -m node -T "$TGT_IQN" --lun 2 --logout 2>/dev/null || rc=$?; (( rc == 21 )) || die "logout of nothing: exit $rc (want 21)"
log "ok: -m node login (new disk, second path), logout (one portal, then all: disk removed)"

# ---- 5. reload under load: fio on disk0 while disk1 (LUN 2) is added and removed by reconfigure/SIGHUP
FIO_OUT=$FIX_LOGDIR/fio-reload.json
fio --name=reload --ioengine=nbd --uri="$(nbd_uri "$SOCK")" --rw=randrw --rwmixread=50 --bsrange=4k-64k \
    --iodepth=8 --size=48M --time_based --runtime=25 --verify=crc32c --do_verify=1 --verify_backlog=64 \
    --verify_fatal=1 --verify_state_save=0 --output-format=json --output="$FIO_OUT" >/dev/null 2>&1 &
FIO_PID=$!
fixture_trap_add "kill $FIO_PID 2>/dev/null || true"
sleep 2
write_conf $'[disk disk1]\ntarget = '"$TGT_IQN"$'\nlun = 2\nportal = 198.18.2.2:3260\n'
out=$(adm reconfigure) || die "reconfigure (add) failed"
[[ $out == *"1 added, 0 removed, 0 changed, 1 unchanged"* ]] || die "reconfigure (add): '$out'"
wait_until 15 eval '[[ $(adm --json show disks | jq -r ".disks[] | select(.name == \"disk1\") | .ready") == true ]]' ||
    die "disk1 did not come up after reconfigure: $(adm show disks)"
timeout 60 qemu-io -f raw -c 'read -P 0x5a 0 1M' "nbd+unix:///disk1?socket=$SOCK" | grep -qi 'failed\|error' &&
    die "disk1 does not read what was written to LUN 2"
# a broken config: refused with FILE:LINE, nothing changes
cp "$CONF" "$FIX_DIR/good.conf"
printf '[disk broken]\ntarget = %s\nlun = 7\nbogus_key = 1\n' "$TGT_IQN" >>"$CONF"
rc=0; err=$(adm reconfigure 2>&1) || rc=$?
(( rc == 1 )) || die "reconfigure of a broken config: exit $rc, want 1 ($err)"
[[ $err == *"$CONF:"*"bogus_key"* ]] || die "reconfigure error does not name file:line and key: '$err'"
[[ $(adm --json show disks | jq '.disks | length') == 2 ]] || die "a broken reload changed the disks"
# remove disk1 by SIGHUP
cp "$FIX_DIR/good.conf" "$CONF"
write_conf
kill -HUP "$DAEMON_PID"
wait_until 15 eval '[[ $(adm --json show disks | jq ".disks | length") == 1 ]]' || die "disk1 not removed after SIGHUP"
grep -q 'reload: 0 added, 1 removed, 0 changed, 1 unchanged' "$DAEMON_LOG" || die "SIGHUP reload summary missing"
rc=0; wait "$FIO_PID" || rc=$?
jq -e '.jobs[0].error == 0' "$FIO_OUT" >/dev/null && (( rc == 0 )) ||
    die "fio on disk0 failed during reloads (exit $rc): $(jq -c '.jobs[0] | {error, read: .read.io_bytes, write: .write.io_bytes}' "$FIO_OUT" 2>&1)"
log "ok: reload under load: disk1 added (reconfigure) and removed (SIGHUP), broken config refused, fio on disk0: $(jq -r '.jobs[0] | "\(.read.io_bytes + .write.io_bytes) bytes, error \(.error)"' "$FIO_OUT")"

daemon_alive || die "daemon died"
stop_daemon
echo "t_67_admin: discovery, sessions, node login/logout, golden output, reload under load: all ok"
