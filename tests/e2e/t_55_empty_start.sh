#!/usr/bin/env bash
# e2e: empty start and per-disk readiness against tgtd (2 portals). The daemon starts with no disk
# (no URL and no -c; then -c naming a file that does not exist): its NBD socket is there at once and
# lists nothing; -m node --login adds a disk that qemu-io then writes and reads; the file written
# later is read by a reload, and a reload after it is removed again is refused (its disk runs).
# A config with one good disk and broken ones (a wrong IQN
# on both portals, a wrong IQN shared by four disk sections, an unreachable portal): the good disk
# is served within seconds while the broken ones keep failing; a client asking for a broken one is
# told it is not ready yet, naming it; every log line about a session names its disk(s).
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/tgt.sh
need_root
need_tool nbdinfo libnbd-bin
need_tool qemu-io qemu-utils
need_tool qemu-img qemu-utils
need_tool jq jq
[[ ${E2E_BRIDGE:-mpiscsid} != qemu-nbd ]] || die "t_55 tests mpiscsid's start-up and readiness; qemu-nbd can not stand in"
ADM=$BUILD/bin/mpiscsiadm
[[ -x $ADM ]] || die "$ADM not built (run: make all)"

tgt_setup 2 32
tgt_add_lun 2 16
SOCK=$FIX_DIR/nbd.sock
adm() { ini_exec timeout 30 "$ADM" -s "$DAEMON_CTL" "$@"; }
# exports SOCK: the export names nbdinfo --list shows, one a line
exports() { timeout 10 nbdinfo --list --json "nbd+unix://?socket=$1" | jq -r '.exports[]."export-name"'; }
ms() { echo $(( $(date +%s%N) / 1000000 )); }

# ---- 1. empty start: no disk, no config file (a missing file is an empty configuration)
DAEMON_WAIT_EXPORTS=""   # nothing to wait for but the socket
start_daemon "$SOCK"     # no URL, no -c: what the issue tried
list=$(exports "$SOCK") || die "nbdinfo --list on the bare empty daemon failed"
[[ -z $list ]] || die "the bare empty daemon lists exports: $list"
stop_daemon
ABSENT=$FIX_DIR/etc/mpiscsi.conf
out=$("$BUILD/bin/mpiscsid" --check-config -c "$ABSENT" 2>"$FIX_DIR/check.err") ||
    die "--check-config of a missing file failed: $(cat "$FIX_DIR/check.err")"
grep -q '^\[nbd\]$' <<<"$out" && ! grep -q '^\[disk' <<<"$out" || die "--check-config of a missing file printed: $out"
grep -qF "$ABSENT does not exist: an empty configuration" "$FIX_DIR/check.err" ||
    die "--check-config does not say the file is missing: $(cat "$FIX_DIR/check.err")"
DAEMON_ARGS=(-c "$ABSENT")
t0=$(ms)
start_daemon "$SOCK"
t_sock=$(( $(ms) - t0 ))
log "empty daemon: NBD socket accepted after $t_sock ms"
(( t_sock < 5000 )) || die "the NBD socket of an empty daemon took $t_sock ms"
list=$(exports "$SOCK") || die "nbdinfo --list on the empty daemon failed"
[[ -z $list ]] || die "the empty daemon lists exports: $list"
grep -q 'no disk configured' "$DAEMON_LOG" || die "the empty daemon does not say it has no disk"

adm -m node -T "$TGT_IQN" -p 198.18.1.2:3260 --lun 1 --login >/dev/null || die "-m node --login on the empty daemon failed"
wait_until 20 eval '[[ -n $(exports "$SOCK") ]]' || die "no export after --login: $(tail -n 5 "$DAEMON_LOG")"
NODE=$(exports "$SOCK")
[[ $(wc -l <<<"$NODE") == 1 ]] || die "one login, exports: $NODE"
NURI="nbd+unix:///$NODE?socket=$SOCK"
[[ $(nbdinfo --size "$NURI") == $((32 << 20)) ]] || die "export $NODE: size $(nbdinfo --size "$NURI")"
out=$(timeout 60 qemu-io -f raw -c 'write -P 0x5e 0 1M' -c 'read -P 0x5e 0 1M' "$NURI" 2>&1) &&
    ! grep -qi 'failed\|error' <<<"$out" || die "I/O on the logged-in disk $NODE: $out"
cmp -n $((1 << 20)) "$TGT_BACKING" <(head -c $((1 << 20)) /dev/zero | tr '\0' '\136') ||
    die "the target's LU does not hold what was written through $NODE"
# The file appears: a reload reads it and its disk joins the logged-in one. The file goes
# again: that reload is refused and both disks stay.
mkdir -p "$(dirname "$ABSENT")"
printf '[disk cfg]\ntarget = %s\nlun = 2\nportal = 198.18.2.2:3260\n' "$TGT_IQN" >"$ABSENT"
adm reconfigure >/dev/null || die "reconfigure after writing $ABSENT failed"
wait_for_export "$SOCK" cfg 20 || die "disk cfg from the new file was not exported: $(tail -n 5 "$DAEMON_LOG")"
rm -f "$ABSENT"
rc=0; out=$(adm reconfigure 2>&1) || rc=$?
(( rc != 0 )) || die "a reload with the file gone (its disk cfg running) was accepted: $out"
grep -q "reload: $ABSENT does not exist (disk cfg came from it); the running configuration stays" "$DAEMON_LOG" ||
    die "the refused reload is not explained: $(tail -n 3 "$DAEMON_LOG")"
[[ $(exports "$SOCK" | sort | tr '\n' ' ') == $(printf '%s\n' "$NODE" cfg | sort | tr '\n' ' ') ]] || die "exports after the refused reload: $(exports "$SOCK" | tr '\n' ' ')"
stop_daemon
log "ok: empty start (no config / missing config file): socket in $t_sock ms, no export; --login added '$NODE', qemu-io wrote and read it; the file written later: reload added 'cfg'; removed: reload refused"

# ---- 2. one good disk, broken ones: the good one is served at once, the broken ones keep failing
BADIQN="$TGT_IQN-nosuch"
MANYIQN="$TGT_IQN-many"
CONF=$FIX_DIR/mpiscsi.conf
{
    printf '[global]\ninitiator_name = iqn.2026-11.org.mpiscsi.test:ini-%s\n' "$TGT_SUF"
    printf '[disk bad]\ntarget = %s\nlun = 1\nportal = 198.18.1.2:3260\nportal = 198.18.2.2:3260\n' "$BADIQN"
    for m in 1 2 3 4; do
        printf '[disk many%s]\ntarget = %s\nlun = %s\nportal = 198.18.1.2:3260\n' "$m" "$MANYIQN" "$m"
    done
    # nothing routes to 198.18.3.0/24 in the initiator's namespace: every connect fails
    printf '[disk far]\ntarget = %s\nlun = 2\nportal = 198.18.3.2:3260\n' "$TGT_IQN"
    printf '[disk good]\ntarget = %s\nlun = 1\nportal = 198.18.1.2:3260\nportal = 198.18.2.2:3260\n' "$TGT_IQN"
} >"$CONF"
"$BUILD/bin/mpiscsid" --check-config -c "$CONF" >/dev/null || die "--check-config refused $CONF"
DAEMON_ARGS=(-c "$CONF")
DAEMON_WAIT_EXPORTS="good"
DAEMON_TIMEOUT=20
t0=$(ms)
start_daemon "$SOCK"
t_good=$(( $(ms) - t0 ))
log "good disk served $t_good ms after start, beside 6 broken ones"
(( t_good < 10000 )) || die "the good disk took $t_good ms to be served"
[[ $(exports "$SOCK") == good ]] || die "nbdinfo --list should show only 'good': $(exports "$SOCK" | tr '\n' ' ')"
URI="nbd+unix:///good?socket=$SOCK"
out=$(timeout 60 qemu-io -f raw -c 'write -P 0x3c 1M 1M' -c 'read -P 0x3c 1M 1M' "$URI" 2>&1) &&
    ! grep -qi 'failed\|error' <<<"$out" || die "I/O on 'good' beside broken disks: $out"
qemu-img info -f raw "$URI" >"$FIX_DIR/good.info" 2>&1 || die "qemu-img info good: $(cat "$FIX_DIR/good.info")"
log "ok: 'good' exported in $t_good ms and writable while 6 broken disks keep failing"

# A client asking for a broken disk is told it is not ready yet, and which disk it is.
not_ready() {   # NAME WANT: qemu-img info NAME fails with WANT in its message
    local out rc=0
    out=$(timeout 20 qemu-img info -f raw "nbd+unix:///$1?socket=$SOCK" 2>&1) || rc=$?
    (( rc != 0 )) || die "qemu-img info $1 succeeded on a broken disk: $out"
    [[ $out == *"$2"* ]] || die "qemu-img info $1: the error does not say '$2': $out"
    log "ok: asking for '$1': $(grep -o "server reported: .*" <<<"$out" || tr '\n' ' ' <<<"$out")"
}
not_ready bad "disk bad is not ready yet: not logged in to $BADIQN"
not_ready many3 "disk many3 is not ready yet: not logged in to $MANYIQN"
not_ready far "disk far is not ready yet: not logged in to $TGT_IQN"
# The same in libnbd's words (its debug output carries the server's message).
out=$(LIBNBD_DEBUG=1 timeout 20 nbdinfo "nbd+unix:///bad?socket=$SOCK" 2>&1) && die "nbdinfo bad succeeded: $out"
grep -q 'disk bad is not ready yet' <<<"$out" || die "nbdinfo (libnbd) does not see the not-ready message: $(tail -n 5 <<<"$out")"
# A name no disk has is still simply unknown.
out=$(timeout 20 qemu-img info -f raw "nbd+unix:///nosuchdisk?socket=$SOCK" 2>&1) && die "qemu-img info of an unknown name succeeded"
[[ $out == *"no such export"* && $out != *"not ready"* ]] || die "an unknown name: $out"

# The broken ones keep trying (and keep failing) while 'good' works; the log names them.
login_fails() { grep -c "disk bad: session [0-9]* 198.18.1.2:3260: login to $BADIQN failed" "$DAEMON_LOG" || true; }
wait_until 10 eval '(( $(login_fails) >= 1 ))' ||
    die "no login failure line naming disk bad: $(grep -F "$BADIQN" "$DAEMON_LOG" | tail -n 3)"
n1=$(login_fails)
wait_until 15 eval '(( $(login_fails) > n1 ))' || die "disk bad stopped retrying its login ($n1 failure lines)"
grep -q "disks many1, many2 and 2 more: session [0-9]* 198.18.1.2:3260: login to $MANYIQN failed" "$DAEMON_LOG" ||
    die "the session shared by many1..many4 does not name them (short): $(grep -F "$MANYIQN" "$DAEMON_LOG" | tail -n 2)"
grep -q "disk far: session [0-9]* 198.18.3.2:3260: reconnect failed" "$DAEMON_LOG" ||
    die "the unreachable portal's session does not name disk far: $(grep -F 198.18.3.2 "$DAEMON_LOG" | tail -n 2)"
# Every line about a session names its disk(s) first.
unnamed=$(grep -E 'session [0-9]+' "$DAEMON_LOG" | grep -vE '^[0-9:.]+ mpiscsid\[[a-z]+\]: disks? ' || true)
[[ -z $unnamed ]] || die "log lines about a session without its disk: $(head -n 3 <<<"$unnamed")"
# Still only 'good', which still works.
[[ $(exports "$SOCK") == good ]] || die "exports changed: $(exports "$SOCK" | tr '\n' ' ')"
out=$(timeout 60 qemu-io -f raw -c 'read -P 0x3c 1M 1M' "$URI" 2>&1) && ! grep -qi 'failed\|error' <<<"$out" ||
    die "read on 'good' later: $out"
grep -qE 'all [0-9]+ disk\(s\) attached and exported' "$DAEMON_LOG" &&
    die "the daemon says every disk is exported although 6 cannot be"
stop_daemon
log "ok: broken disks: $(login_fails) login failures of 'bad' logged naming it; the shared session names 'disks many1, many2 and 2 more'"

echo "t_55_empty_start: empty start + node login; good disk served beside broken ones; not-ready answers; log lines name disks: all ok"
