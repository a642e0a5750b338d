#!/usr/bin/env bash
# e2e: honest `mpiscsiadm -m node --login` against tgtd: it waits until the sessions are logged
# in and their LUNs attached, then exits 0 with iscsiadm's lines and which LUN became which disk
# (the disks read at once); an unreachable portal (exit 4/8 within --timeout, naming the portal),
# a wrong IQN (19), a CHAP target without credentials (24), the same login twice (15), a NIC that
# does not exist (7; and --check-config FILE:LINE) all fail and leave nothing behind. Logout
# honours -I (the other NIC's session stays) and echoes -I only when given. With the test hook
# MPISCSI_TEST_NO_NIC_CHECK the NIC guards are off: --check-config passes and a login over eth9
# "succeeds" unbound (the old bug), which shows what the guards refuse.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/tgt.sh
need_root
need_tool jq jq
need_tool nbdinfo libnbd-bin
ADM=$BUILD/bin/mpiscsiadm
[[ -x $ADM ]] || die "$ADM not built (run: make all)"

# Two NICs that each reach both portals: two sessions to one portal, through veth1 and veth2.
tgt_setup_cross 2 2 16
T() { tgtadm -C "$TGT_CTL" --lld iscsi "$@"; }
# tid 2: a plain target with LUNs 1 and 2 (logged in to at run time); tid 3: CHAP required.
IQN_B="$TGT_IQN-b" IQN_C="$TGT_IQN-chap"
mklu() {   # TID LUN NAME
    truncate -s 16M "/dev/shm/mpi-$TGT_SUF-lun$3.img"
    T --op new --mode logicalunit --tid "$1" --lun "$2" -b "/dev/shm/mpi-$TGT_SUF-lun$3.img"
    T --op update --mode logicalunit --tid "$1" --lun "$2" --params "scsi_sn=mpi${TGT_SUF}$3,scsi_id=mpiscsi-$TGT_SUF-$3"
}
T --op new --mode target --tid 2 -T "$IQN_B"
mklu 2 1 b1
mklu 2 2 b2
T --op bind --mode target --tid 2 -I ALL
T --op new --mode target --tid 3 -T "$IQN_C"
mklu 3 1 c1
T --op bind --mode target --tid 3 -I ALL
T --mode account --op new --user chapuser --password "chap-secret-$TGT_SUF"
T --mode account --op bind --tid 3 --user chapuser

SOCK=$FIX_DIR/nbd.sock
CONF=$FIX_DIR/mpiscsi.conf
{
    printf '[global]\ninitiator_name = iqn.2026-11.org.mpiscsi.test:ini-%s\n' "$TGT_SUF"
    printf '[nbd]\nlisten = unix:%s\n' "$SOCK"
    printf '[disk disk0]\ntarget = %s\nlun = 1\nportal = 198.18.1.2:3260\ninterface = veth1\n' "$TGT_IQN"
} >"$CONF"
ini_exec "$BUILD/bin/mpiscsid" --check-config -c "$CONF" >/dev/null || die "config refused"

# ---- 1. interface = eth9: --check-config names FILE:LINE; the hook shows it is this guard
BAD=$FIX_DIR/bad.conf
sed 's/^interface = veth1$/interface = eth9/' "$CONF" >"$BAD"
line=$(grep -n '^interface = eth9$' "$BAD" | cut -d: -f1)
rc=0; err=$(ini_exec "$BUILD/bin/mpiscsid" --check-config -c "$BAD" 2>&1) || rc=$?
(( rc == 2 )) && [[ $err == *"$BAD:$line: interface: 'eth9': no such network interface"* ]] ||
    die "--check-config of interface = eth9: exit $rc, '$err'"
ini_exec env MPISCSI_TEST_NO_NIC_CHECK=1 "$BUILD/bin/mpiscsid" --check-config -c "$BAD" >/dev/null 2>&1 ||
    die "with the NIC check off (test hook) --check-config still refuses eth9: the test does not show the guard"
log "ok: interface = eth9 refused by --check-config ($BAD:$line), accepted with the guard off"

DAEMON_ARGS=(-c "$CONF")
start_daemon "$SOCK"
adm() { ini_exec timeout 60 "$ADM" -s "$DAEMON_CTL" "$@"; }
n_disks() { adm --json show disks | jq '.disks | length'; }
n_sessions() { adm --json -m session | jq '.sessions | length'; }
wait_until 15 eval '[[ $(adm --json show disks | jq -r ".disks[0].ready") == true ]]' || die "disk0 not ready"
[[ $(n_disks) == 1 && $(n_sessions) == 1 ]] || die "start: want 1 disk and 1 session: $(adm show disks)"
nothing_left() {   # WHAT: the daemon has disk0 and its session only
    [[ $(n_disks) == 1 && $(n_sessions) == 1 ]] ||
        die "$1 left something behind: $(adm show disks; adm -m session)"
}

# ---- 2. an unreachable portal: non-zero within the timeout, the portal named, nothing left
# (in the background: meanwhile the daemon answers other requests and serves disk0 at once)
t0=$(date +%s%N)
ini_exec timeout 60 "$ADM" -s "$DAEMON_CTL" -m node -T "$IQN_B" -p 198.18.1.9:3260 --login --timeout 4 \
    >"$FIX_DIR/unreach.out" 2>&1 &
BG=$!
fixture_trap_add "kill $BG 2>/dev/null || true"
wait_until 5 grep -q 'logging in to .*198.18.1.9' "$DAEMON_LOG" || die "the unreachable login did not start"
t1=$(date +%s%N)
adm show disks >/dev/null || die "show disks failed while a login waits"
nbdinfo --size "$(nbd_uri "$SOCK")" >/dev/null || die "disk0 unreadable while a login waits"
busy_ms=$(( ($(date +%s%N) - t1) / 1000000 ))
kill -0 "$BG" 2>/dev/null || die "the login to an unreachable portal did not wait: $(cat "$FIX_DIR/unreach.out")"
(( busy_ms < 2000 )) || die "the daemon took $busy_ms ms to answer while a login waits"
rc=0; wait "$BG" || rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
err=$(cat "$FIX_DIR/unreach.out")
(( rc == 4 || rc == 8 )) || die "login to an unreachable portal: exit $rc (want 4 or 8): $err"
[[ $err == *"198.18.1.9"* ]] || die "unreachable portal not named: '$err'"
(( ms >= 3500 && ms < 9000 )) || die "unreachable portal: answered after $ms ms with --timeout 4"
nothing_left "a login to an unreachable portal"
log "ok: unreachable portal: exit $rc after $ms ms (daemon answered others in $busy_ms ms meanwhile): $(tail -n 1 <<<"$err")"

# ---- 3. a wrong IQN: target not found (19); a CHAP target without credentials (24)
t0=$(date +%s%N)
rc=0; err=$(adm -m node -T "$TGT_IQN-nosuch" -p 198.18.1.2 --login 2>&1) || rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
(( rc == 19 )) && [[ $err == *"target not found"* ]] || die "wrong IQN: exit $rc (want 19): '$err'"
(( ms < 5000 )) || die "wrong IQN: took $ms ms (a final refusal answers at once)"
nothing_left "a login to a wrong IQN"
rc=0; err=$(adm -m node -T "$IQN_C" -p 198.18.1.2 --login 2>&1) || rc=$?
(( rc == 24 )) && [[ $err == *"authentication"* ]] || die "CHAP target without credentials: exit $rc (want 24): '$err'"
nothing_left "a CHAP login without credentials"
log "ok: wrong IQN exit 19 ($ms ms), CHAP without credentials exit 24: $(tail -n 1 <<<"$err")"

# ---- 4. a good login without --lun: every LUN, named; the disks read right after exit 0
out=$(adm -m node -T "$IQN_B" -p 198.18.1.2 -I veth1 --login) || die "login to $IQN_B failed: $out"
DB="$TGT_SUF-b"
grep -qx "Logging in to \[iface: veth1, target: $IQN_B, portal: 198.18.1.2,3260\]" <<<"$out" &&
    grep -qx "Login to \[iface: veth1, target: $IQN_B, portal: 198.18.1.2,3260\] successful." <<<"$out" &&
    grep -qx "LUN 1: disk $DB-1, export $DB-1" <<<"$out" && grep -qx "LUN 2: disk $DB-2, export $DB-2" <<<"$out" ||
    die "login output: '$out'"
for l in 1 2; do
    nbdinfo --size "nbd+unix:///$DB-$l?socket=$SOCK" >"$FIX_DIR/size" 2>&1 ||
        die "disk $DB-$l not readable right after the login succeeded: $(cat "$FIX_DIR/size")"
    [[ $(cat "$FIX_DIR/size") == $((16 * 1024 * 1024)) ]] || die "disk $DB-$l size: $(cat "$FIX_DIR/size")"
done
log "ok: login without --lun: LUN 1 and 2 became $DB-1 and $DB-2, readable at once"

# ---- 5. the same login twice: 15, nothing changes
rc=0; err=$(adm -m node -T "$IQN_B" -p 198.18.1.2 -I veth1 --login 2>&1) || rc=$?
(( rc == 15 )) && [[ $err == *"session already present"* ]] || die "the same login twice: exit $rc (want 15): '$err'"
[[ $(n_sessions) == 2 ]] || die "a refused duplicate changed the sessions: $(adm -m session)"
log "ok: the same login twice: exit 15"

# ---- 6. a second NIC to the same portal; logout -I veth2 keeps veth1's session and paths
out=$(adm -m node -T "$IQN_B" -p 198.18.1.2 -I veth2 --login) || die "login via veth2 failed: $out"
grep -qx "LUN 1: disk $DB-1, export $DB-1" <<<"$out" || die "login via veth2 output: '$out'"
paths_of() { adm --json show paths | jq -r --arg d "$1" '[.paths[] | select(.disk == $d) | .iface] | sort | join(",")'; }
[[ $(paths_of "$DB-1") == veth1,veth2 ]] || die "$DB-1 paths after the veth2 login: $(adm show paths)"
out=$(adm -m node -T "$IQN_B" -p 198.18.1.2 -I veth2 --logout) || die "logout -I veth2 failed: $out"
[[ $out == "Logout of [iface: veth2, target: $IQN_B, portal: 198.18.1.2,3260] successful:"* ]] ||
    die "logout -I output: '$out'"
[[ $(paths_of "$DB-1") == veth1 && $(paths_of "$DB-2") == veth1 ]] ||
    die "logout -I veth2 touched veth1's paths: $(adm show paths)"
nbdinfo --size "nbd+unix:///$DB-1?socket=$SOCK" >/dev/null || die "$DB-1 unreadable after logout -I veth2"
rc=0; adm -m node -T "$IQN_B" -p 198.18.1.2 -I veth2 --logout >/dev/null 2>&1 || rc=$?
(( rc == 21 )) || die "logout of a session that is gone: exit $rc (want 21)"
log "ok: logout -I veth2 kept veth1's paths; again: exit 21"

# ---- 7. -I eth9: refused at once (7), nothing left
rc=0; err=$(adm -m node -T "$IQN_B" -p 198.18.2.2 -I eth9 --login 2>&1) || rc=$?
(( rc == 7 )) && [[ $err == *"eth9: no such network interface"* ]] || die "login -I eth9: exit $rc (want 7): '$err'"
[[ $(n_sessions) == 2 ]] || die "login -I eth9 left a session: $(adm -m session)"
out=$(adm -m node -T "$IQN_B" --logout) || die "logout of $IQN_B failed"
[[ $out != *"iface:"* ]] || die "logout without -I echoes an iface: '$out'"
wait_until 15 eval '[[ $(n_disks) == 1 ]]' || die "$IQN_B's disks not removed after logout"
log "ok: login -I eth9 exit 7; logout without -I does not echo an iface"

# ---- 8. the guards off (test hook): the login over eth9 goes out unbound and "succeeds"
stop_daemon
DAEMON_ARGS=(-c "$CONF")
export MPISCSI_TEST_NO_NIC_CHECK=1
start_daemon "$SOCK"
unset MPISCSI_TEST_NO_NIC_CHECK
rc=0; out=$(adm -m node -T "$IQN_B" -p 198.18.2.2 -I eth9 --login --timeout 10 2>&1) || rc=$?
(( rc == 0 )) || die "with the NIC guards off the eth9 login should log in unbound (the old bug), got exit $rc: $out"
log "ok: with MPISCSI_TEST_NO_NIC_CHECK the eth9 login logs in unbound (what the guards prevent)"

# ---- 9. the daemon stops while a login waits: it exits cleanly (the wait is dropped, no leak
# under SANITIZE=1) and the client is told the daemon went away (3)
ini_exec timeout 60 "$ADM" -s "$DAEMON_CTL" -m node -T "$IQN_B" -p 198.18.1.9:3260 --login --timeout 30 \
    >"$FIX_DIR/stopped.out" 2>&1 &
BG=$!
fixture_trap_add "kill $BG 2>/dev/null || true"
wait_until 5 eval '[[ $(grep -c "logging in to .*198.18.1.9" "$DAEMON_LOG") == 1 ]]' || die "the last login did not start"
daemon_alive || die "daemon died"
stop_daemon
rc=0; wait "$BG" || rc=$?
(( rc == 3 )) || die "a login cut short by the daemon's stop: exit $rc (want 3): $(cat "$FIX_DIR/stopped.out")"
log "ok: daemon stopped while a login waited: clean exit, client exit 3"
echo "t_63_login: honest node logins (wait, exit statuses, nothing left behind), logout -I, NIC checks: all ok"
