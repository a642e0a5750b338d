#!/usr/bin/env bash
# e2e: the daemon under a service manager. The unit `make install` writes runs the binary it
# installed and passes `systemd-analyze verify`; with NOTIFY_SOCKET set (an abstract name a
# python3 listener holds, as systemd's socket is held) READY=1 comes once the control socket
# answers, STATUS follows the disk, SIGHUP gives RELOADING=1 then READY=1, SIGTERM STOPPING=1;
# with JOURNAL_STREAM naming stderr each log line carries its priority ("<4>..."), and not when it
# names another file; --pidfile is written, refuses a second daemon naming the first one's pid,
# and is removed at exit; a daemon started with a relative -c path (it detaches and changes to /)
# still reloads its file (MPISCSI_TEST_RELATIVE_CONFIG=1, the old behaviour, shows the failure).
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/tgt.sh
need_root
need_tool systemd-analyze systemd
need_tool make make
ADM=$BUILD/bin/mpiscsiadm
[[ -x $ADM ]] || die "$ADM not built (run: make all)"
fixture_tmpdir

# ---- 1. the installed unit: its ExecStart is the installed daemon, and systemd-analyze verify is clean
for prefix in /usr/local /usr; do
    root=$FIX_DIR/root${prefix//\//_}
    # -o: install the binaries as built (a sanitizer build too), never rebuild them here
    make --no-print-directory -s install BUILD="$BUILD" DESTDIR="$root" PREFIX="$prefix" \
        -o "$BUILD/bin/mpiscsid" -o "$BUILD/bin/mpiscsiadm" >/dev/null ||
        die "make install DESTDIR=$root PREFIX=$prefix failed"
    unit=$root$prefix/lib/systemd/system/mpiscsid.service
    [[ -f $unit ]] || die "make install PREFIX=$prefix wrote no unit at $unit"
    while read -r line; do
        bin=${line#*=}; bin=${bin%% *}
        [[ $bin == "$prefix/sbin/mpiscsid" && -x $root$bin ]] ||
            die "PREFIX=$prefix: '$line' does not run the installed daemon $prefix/sbin/mpiscsid"
    done < <(grep -E '^ExecStart(Pre)?=' "$unit")
    grep -qx 'Type=notify' "$unit" || die "the unit is not Type=notify"
done
# verify with the install tree as the root: ExecStart's binary is looked up there. Two things
# the tree lacks and a real system has are supplied: /bin/kill (ExecReload; package procps) and
# the man pages' location (Documentation=man:... runs the host's man, MANPATH points it at the
# tree). --recursive-errors=no: check this unit, not the units systemd itself ships
# (sysinit.target and the rest, absent from the tree).
root=$FIX_DIR/root_usr
install -D -m 0755 "$(type -P kill)" "$root/bin/kill"
verify() { MANPATH=$root/usr/share/man systemd-analyze verify --recursive-errors=no --root="$root" "$1" 2>&1; }
rc=0; out=$(verify "$root/usr/lib/systemd/system/mpiscsid.service") || rc=$?
(( rc == 0 )) && [[ -z $out ]] || die "systemd-analyze verify on the installed unit (exit $rc): $out"
# ...and it does complain about a broken unit (the check can fail)
sed 's/^Type=notify$/Type=notyfy/' "$root/usr/lib/systemd/system/mpiscsid.service" >"$root/usr/lib/systemd/system/broken.service"
rc=0; out=$(verify "$root/usr/lib/systemd/system/broken.service") || rc=$?
[[ $out == *notyfy* ]] || die "systemd-analyze verify accepted a broken unit (exit $rc): $out"
log "ok: installed unit runs PREFIX/sbin/mpiscsid (/usr/local, /usr); systemd-analyze verify clean"

# ---- 2. a daemon under a notify socket, its stderr the "journal stream", with a pidfile
tgt_setup 1 16
SOCK=$FIX_DIR/nbd.sock
CONF=$FIX_DIR/mpiscsi.conf
write_conf() {   # INITIATOR-NAME-SUFFIX
    {
        printf '[global]\ninitiator_name = iqn.2026-11.org.mpiscsi.test:ini-%s%s\n' "$TGT_SUF" "$1"
        printf '[nbd]\nlisten = unix:%s\n' "$SOCK"
        printf '[disk disk0]\ntarget = %s\nlun = 1\nportal = 198.18.1.2:3260\n' "$TGT_IQN"
    } >"$CONF"
}
write_conf ""
NOTES=$FIX_DIR/notify.txt
NOTIFY=@mpiscsi-t69-$TGT_SUF
CTL=$FIX_DIR/control.sock
# The listener lives in the initiator's namespace (abstract socket names are per network
# namespace). It writes each datagram as one line (newlines as '|'); on READY=1 it connects to the
# control socket at once and appends ctl=ok, or the error, so the order is checked as it happens.
cat >"$FIX_DIR/notify_listener.py" <<'EOF'
import socket, sys, time
name, out, ctl = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind('\0' + name[1:])
s.settimeout(0.5)
deadline = time.monotonic() + 120
with open(out, 'a', buffering=1) as f:
    f.write('listening\n')
    while time.monotonic() < deadline:
        try:
            msg = s.recv(4096).decode(errors='replace')
        except socket.timeout:
            continue
        line = msg.replace('\n', '|')
        if 'READY=1' in msg.split('\n'):
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                c.connect(ctl)
                line += ' ctl=ok'
            except OSError as e:
                line += ' ctl=' + type(e).__name__
            finally:
                c.close()
        f.write(line + '\n')
EOF
fixture_bg LISTEN "$FIX_LOGDIR/notify-listener.log" ip netns exec "$INI_NS" /usr/bin/python3 \
    "$FIX_DIR/notify_listener.py" "$NOTIFY" "$NOTES" "$CTL"
wait_until 10 grep -qx listening "$NOTES" || die "the notify listener did not start: $(cat "$FIX_LOGDIR/notify-listener.log")"
notes() { grep -v '^listening$' "$NOTES" || true; }

PIDF=$FIX_DIR/run/mpiscsid.pid
mkdir -p "$FIX_DIR/run"
# stderr goes to DAEMON_LOG; JOURNAL_STREAM names that very file, as systemd names its stream socket
: >"$FIX_LOGDIR/daemon.log"
JOURNAL_STREAM=$(stat -c '%d:%i' "$FIX_LOGDIR/daemon.log")
export JOURNAL_STREAM NOTIFY_SOCKET=$NOTIFY
DAEMON_ARGS=(-c "$CONF" --control "$CTL" --pidfile "$PIDF")
start_daemon "$SOCK"
unset NOTIFY_SOCKET JOURNAL_STREAM
wait_until 10 eval 'notes | grep -q READY=1' || die "no READY=1 from the daemon: $(notes)"
first=$(notes | head -n 1)
[[ $first == READY=1\|STATUS=*" ctl=ok" ]] ||
    die "the first notification is not READY=1 with the control socket already answering: '$first'"
wait_until 10 eval 'notes | grep -q "STATUS=1 disk(s), 1 ready, NBD exports open"' ||
    die "no STATUS saying the disk is ready: $(notes)"
log "ok: READY=1 after the control socket answered ($first); STATUS follows the disk"

# the pidfile names the daemon; a second daemon with the same pidfile is refused, naming it
[[ $(cat "$PIDF") == "$DAEMON_PID" ]] || die "pidfile $PIDF holds '$(cat "$PIDF")', daemon pid $DAEMON_PID"
rc=0
err=$(ini_exec timeout 20 "$BUILD/bin/mpiscsid" -f -c "$CONF" --nbd "unix:$FIX_DIR/nbd-2.sock" \
      --control "$FIX_DIR/control-2.sock" --pidfile "$PIDF" 2>&1) || rc=$?
(( rc == 1 )) || die "a second daemon with the same pidfile: exit $rc, want 1 ($err)"
[[ $err == *"pidfile $PIDF"*"held by running process $DAEMON_PID"* ]] || die "refusal does not name the holder: '$err'"
[[ $(cat "$PIDF") == "$DAEMON_PID" ]] || die "the refused daemon changed the pidfile"
log "ok: pidfile written; second daemon refused: $err"

# SIGHUP: RELOADING=1, then READY=1; the changed initiator name is a warning ("<4>")
write_conf "-changed"
n0=$(notes | wc -l)
kill -HUP "$DAEMON_PID"
wait_until 10 eval 'notes | tail -n +$((n0 + 1)) | grep -q "^READY=1"' || die "no READY=1 after SIGHUP: $(notes)"
after=$(notes | tail -n +$((n0 + 1)) | grep -E '^(RELOADING|READY)=1' | cut -d'|' -f1 | tr '\n' ' ')
[[ $after == "RELOADING=1 READY=1 " ]] || die "SIGHUP notifications: '$after', want RELOADING=1 then READY=1: $(notes)"
notes | tail -n +$((n0 + 1)) | grep -q '^RELOADING=1|MONOTONIC_USEC=[0-9]\+$' || die "RELOADING=1 without MONOTONIC_USEC: $(notes)"
log "ok: SIGHUP -> $after"

# journal priorities: every line of the daemon's own log is "<N>message"
stop_daemon
wait_until 10 eval 'notes | grep -q "^STOPPING=1"' || die "no STOPPING=1 after SIGTERM: $(notes)"
[[ ! -e $PIDF ]] || die "pidfile $PIDF left after exit"
bad=$(grep -v '^<[3467]>' "$DAEMON_LOG" || true)
[[ -z $bad ]] || die "log lines without a journal priority prefix: $(head -n 3 <<<"$bad")"
grep -q '^<6>control: listening on unix:' "$DAEMON_LOG" || die "no <6> (info) line in the log"
grep -q '^<4>reload: initiator_name changes only with a restart' "$DAEMON_LOG" || die "no <4> (warning) line in the log"
log "ok: STOPPING=1, pidfile removed, log lines carry <6>/<4> priorities"

# ---- 3. JOURNAL_STREAM inherited but naming another file: plain lines; no NOTIFY_SOCKET: no notification
n0=$(notes | wc -l)
export JOURNAL_STREAM=$(stat -c '%d:%i' "$CONF")
DAEMON_ARGS=(-c "$CONF" --control "$CTL")
start_daemon "$SOCK"
unset JOURNAL_STREAM
stop_daemon
grep -q '^<' "$DAEMON_LOG" && die "priority prefixes although JOURNAL_STREAM names another file: $(head -n 2 "$DAEMON_LOG")"
grep -q 'mpiscsid\[info\]: control: listening' "$DAEMON_LOG" || die "the plain log format is gone: $(head -n 2 "$DAEMON_LOG")"
(( $(notes | wc -l) == n0 )) || die "notifications without NOTIFY_SOCKET: $(notes | tail -n +$((n0 + 1)))"
log "ok: JOURNAL_STREAM of another file: plain lines; no NOTIFY_SOCKET: nothing sent"

# ---- 4. detached daemon, relative -c: a reload still reads the file (and did not before)
# kill_pidfile FILE: stop the detached daemon FILE names (not our child: the EXIT trap does it too)
kill_pidfile() {
    local pid i
    pid=$(cat "$1" 2>/dev/null) || return 0
    [[ $pid =~ ^[0-9]+$ ]] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.05; done
    kill -KILL "$pid" 2>/dev/null || true
}
# detached_reload HOOK(0/1): start the daemon detached from $FIX_DIR with -c mpiscsi.conf (with
# MPISCSI_TEST_RELATIVE_CONFIG=1 when HOOK is 1), run mpiscsiadm reconfigure, stop it; sets
# RELOAD_OUT and RELOAD_RC (reconfigure's output and exit status).
detached_reload() {
    local pidf=$FIX_DIR/run/detached-$1.pid bin
    bin=$(realpath "$BUILD/bin/mpiscsid")
    fixture_trap_add "kill_pidfile '$pidf'"
    (cd "$FIX_DIR" && if (( $1 )); then export MPISCSI_TEST_RELATIVE_CONFIG=1; fi &&
        ini_exec "$bin" -c mpiscsi.conf --control "$CTL" --pidfile "$pidf") ||
        die "the detached daemon did not start"
    wait_until 15 eval "[[ -s '$pidf' ]] && _socket_accepts '$SOCK'" || die "detached daemon: no pidfile or NBD socket"
    RELOAD_RC=0
    RELOAD_OUT=$(ini_exec timeout 20 "$ADM" -s "$CTL" reconfigure 2>&1) || RELOAD_RC=$?
    kill_pidfile "$pidf"
    wait_until 10 eval "[[ ! -e '$pidf' ]]" || die "the detached daemon left its pidfile $pidf"
}
detached_reload 0
(( RELOAD_RC == 0 )) || die "reconfigure of a detached daemon started with -c mpiscsi.conf failed: $RELOAD_OUT"
[[ $RELOAD_OUT == *"0 added, 0 removed, 0 changed, 1 unchanged"* ]] || die "reconfigure: '$RELOAD_OUT'"
out=$RELOAD_OUT
detached_reload 1
(( RELOAD_RC != 0 )) && [[ $RELOAD_OUT == *mpiscsi.conf* ]] ||
    die "with MPISCSI_TEST_RELATIVE_CONFIG=1 the reload should fail to find mpiscsi.conf (exit $RELOAD_RC): $RELOAD_OUT"
log "ok: detached daemon with relative -c reloads ($out); the old behaviour failed: $RELOAD_OUT"
