#!/usr/bin/env bash
# e2e: CHAP against tgtd and LIO: one-way, mutual and discovery logins work; a wrong secret is refused with one clear error and no retry storm; no secret reaches a log, --check-config or the control socket.
#
# tgtd (2 paths): one-way CHAP, mutual CHAP (at debug log level), a wrong secret (one error
# line per path and one refused login per path at the target within 5 s: the 30 s hold),
# fixed secrets file + restart, a wrong mutual secret, SendTargets discovery with CHAP
# (right and wrong secret), --check-config's refusals (open mode, unknown user). LIO (one
# path, booted once): one-way and mutual CHAP with I/O, a wrong secret refused. At the end
# every log and output the test made is searched for every secret.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/tgt.sh
. tests/targets/lio/lio.sh
need_root
need_tool qemu-io qemu-utils
need_tool od coreutils
need_tool nbdinfo libnbd-bin
ADM=$BUILD/bin/mpiscsiadm
DAEMON_TIMEOUT=${DAEMON_TIMEOUT:-15}   # logins here take well under a second: fail fast
[[ -x $ADM ]] || die "$ADM not built (run: make all)"

tgt_setup 2 16
SOCK=$FIX_DIR/nbd.sock
CONF=$FIX_DIR/mpiscsi.conf
SECRETS=$FIX_DIR/chap-secrets
URI=$(nbd_uri "$SOCK")
OUT=$FIX_LOGDIR/outputs      # everything the daemon and the tools printed, searched at the end
mkdir -p "$OUT"

rnd() { od -An -tx1 -N8 /dev/urandom | tr -d ' \n'; }
IN_SECRET="in-$(rnd)" OUT_SECRET="out-$(rnd)" DISC_SECRET="disc-$(rnd)" WRONG_SECRET="wrong-$(rnd)"
LIO_SECRET="lio-$(rnd)" LIO_MSECRET="liom-$(rnd)"
ALL_SECRETS=("$IN_SECRET" "$OUT_SECRET" "$DISC_SECRET" "$WRONG_SECRET" "$LIO_SECRET" "$LIO_MSECRET")

# write_secrets "USER SECRET"...: the secrets file, root's, mode 600
write_secrets() {
    (umask 077 && printf '# CHAP secrets for t_66\n' >"$SECRETS" && printf '%s\n' "$@" >>"$SECRETS")
    chmod 600 "$SECRETS"
}
# write_conf TARGET LUN "PORTALS" DISK_LINES: the daemon's config (disk0), checked
write_conf() {
    local p
    {
        printf '[global]\ninitiator_name = iqn.2026-11.org.mpiscsi.test:ini-%s\nsecrets = %s\n' "$TGT_SUF" "$SECRETS"
        printf '[disk disk0]\ntarget = %s\nlun = %s\n' "$1" "$2"
        for p in $3; do printf 'portal = %s\n' "$p"; done
        printf '%s\n' "$4"
    } >"$CONF"
}
SEQ=0
check_config() {   # the effective config: user names shown, secrets not
    SEQ=$((SEQ + 1))
    "$BUILD/bin/mpiscsid" --check-config -c "$CONF" >"$OUT/check-config-$SEQ.txt" 2>&1 ||
        { cat "$OUT/check-config-$SEQ.txt" >&2; die "--check-config refused $CONF"; }
    grep -q "^secrets = $SECRETS  # [0-9]* CHAP secret(s): \*\*\*\*\*\*\*\*$" "$OUT/check-config-$SEQ.txt" ||
        { cat "$OUT/check-config-$SEQ.txt" >&2; die "--check-config does not show the secrets file as expected"; }
}
# the daemon in the background, not waiting for its disk (never exported while CHAP fails)
start_daemon_bg() {
    DAEMON_LOG=$FIX_LOGDIR/daemon.log
    DAEMON_CTL=$FIX_DIR/control.sock
    rm -f "$SOCK"
    # (ip itself, not the ini_exec function: a function in the background is a subshell, and
    # its PID would not be the daemon's)
    ip netns exec "$INI_NS" "$BUILD/bin/mpiscsid" -f --nbd "unix:$SOCK" --control "$DAEMON_CTL" -c "$CONF" "$@" \
        >"$DAEMON_LOG" 2>&1 &
    DAEMON_PID=$!
    fixture_trap_add "fixture_kill $DAEMON_PID"
}
# stop the daemon and keep its log under a name (start_daemon reuses daemon.log)
stop_keep() {
    stop_daemon
    cp "$DAEMON_LOG" "$OUT/daemon-$1.log"
}
logged_in_paths() { grep -c ': logged in to ' "$DAEMON_LOG" || true; }
io_ok() {   # WHAT: a 256 KiB write and its read-back through the export
    qio_ok -c "write -P 0x5a 0 256k" -c "read -P 0x5a 0 256k" || die "I/O through the CHAP session failed ($1)"
}
read_ok() {   # WHAT: a read through the export
    qio_ok -c "read 0 256k" || die "a read through the CHAP session failed ($1)"
}
show_via_control() {   # what the control socket tells: no secret either
    "$ADM" -s "$DAEMON_CTL" show config >"$OUT/show-config-$1.txt" 2>&1 || die "mpiscsiadm show config failed"
    "$ADM" -s "$DAEMON_CTL" --json show config >"$OUT/show-config-$1.json" 2>&1 || die "mpiscsiadm --json show config failed"
    "$ADM" -s "$DAEMON_CTL" --json show paths >"$OUT/show-paths-$1.json" 2>&1 || die "mpiscsiadm --json show paths failed"
    grep -q 'chap_user' "$OUT/show-config-$1.txt" || die "show config does not list chap_user"
}

T() { tgtadm -C "$TGT_CTL" --lld iscsi "$@"; }
T --mode account --op new --user inuser --password "$IN_SECRET"
T --mode account --op new --user outuser --password "$OUT_SECRET"
T --mode account --op new --user discuser --password "$DISC_SECRET"
T --mode account --op bind --tid 1 --user inuser

# ---- 1. tgtd, one-way CHAP, both paths
write_secrets "inuser $IN_SECRET" "outuser $OUT_SECRET" "discuser $DISC_SECRET"
write_conf "$TGT_IQN" 1 "$TGT_PORTALS" $'auth = chap\nchap_user = inuser'
check_config
DAEMON_ARGS=(-c "$CONF")
start_daemon "$SOCK"
wait_until 10 eval '(( $(logged_in_paths) >= 2 ))' || die "one-way CHAP: not both paths logged in; log: $DAEMON_LOG"
io_ok "tgtd one-way"
show_via_control oneway
stop_keep oneway
log "ok: tgtd one-way CHAP, 2 paths, I/O"

# ---- 2. tgtd, mutual CHAP (debug logging: libiscsi's own log lines are searched too)
T --mode account --op bind --tid 1 --user outuser --outgoing
write_conf "$TGT_IQN" 1 "$TGT_PORTALS" $'auth = mutual\nchap_user = inuser\nchap_mutual_user = outuser'
check_config
DAEMON_ARGS=(-c "$CONF" --log-level debug)
start_daemon "$SOCK"
wait_until 10 eval '(( $(logged_in_paths) >= 2 ))' || die "mutual CHAP: not both paths logged in; log: $DAEMON_LOG"
io_ok "tgtd mutual"
show_via_control mutual
stop_keep mutual
log "ok: tgtd mutual CHAP, 2 paths, I/O"

# ---- 3. a wrong secret: one clear error per path, no retry storm, at our end and at the target's
write_secrets "inuser $WRONG_SECRET" "outuser $OUT_SECRET" "discuser $DISC_SECRET"
write_conf "$TGT_IQN" 1 "$TGT_PORTALS" $'auth = chap\nchap_user = inuser'
# tgtd logs each refused CHAP login, without a newline: count matches, not lines
tgt_refusals() { { grep -o 'CHAP initiator auth\.: authentication of [^ ]* failed' "$TGT_LOG" || true; } | wc -l; }
tgt_fail0=$(tgt_refusals)
start_daemon_bg
MSG='CHAP authentication failed (check chap_user/secret)'
wait_until 10 grep -qF "$MSG" "$DAEMON_LOG" || { tail "$DAEMON_LOG" >&2; die "wrong secret: no '$MSG' line"; }
for k in 1 2; do
    wait_until 5 grep -qF "disk disk0: target $TGT_IQN, portal 198.18.$k.2:3260: $MSG" "$DAEMON_LOG" ||
        { tail "$DAEMON_LOG" >&2; die "wrong secret: the error does not name disk, target and portal $k"; }
done
grep -qF 'next login in 30 s' "$DAEMON_LOG" || die "wrong secret: the error does not say when the next login is"
sleep 5   # an observation window, not a readiness wait: count the login attempts in it
n=$(grep -cF "$MSG" "$DAEMON_LOG" || true)
tgt_fail=$(( $(tgt_refusals) - tgt_fail0 ))
log "wrong secret: $n error line(s), $tgt_fail refused login(s) at tgtd in ~5 s over 2 paths"
(( n >= 1 && n <= 2 )) || { grep -F "$MSG" "$DAEMON_LOG" >&2; die "wrong secret: $n error lines in 5 s (retry storm?)"; }
(( tgt_fail == n )) || die "wrong secret: tgtd saw $tgt_fail failed logins in 5 s (retry storm?)"
# The listeners are open, but disk0 is not served: a client is told it is not ready yet.
out=$(LIBNBD_DEBUG=1 timeout 20 nbdinfo --size "$URI" 2>&1) && die "wrong secret: disk0 is served"
grep -q 'disk disk0 is not ready yet' <<<"$out" || die "wrong secret: a client is not told disk0 is not ready: $(tail -n 3 <<<"$out")"
stop_keep wrong
log "ok: wrong secret refused: $(grep -F "$MSG" "$OUT/daemon-wrong.log" | head -n 1 | sed 's/.*disk disk0/disk disk0/')"

# ---- 4. the secrets file fixed, the daemon restarted: it works
write_secrets "inuser $IN_SECRET" "outuser $OUT_SECRET" "discuser $DISC_SECRET"
DAEMON_ARGS=(-c "$CONF")
start_daemon "$SOCK"
io_ok "after fixing the secret"
stop_keep fixed
log "ok: fixed secrets file + restart: logged in"

# ---- 5. a wrong mutual secret: the target does not prove itself
write_secrets "inuser $IN_SECRET" "outuser $WRONG_SECRET" "discuser $DISC_SECRET"
write_conf "$TGT_IQN" 1 "$TGT_PORTALS" $'auth = mutual\nchap_user = inuser\nchap_mutual_user = outuser'
start_daemon_bg
MSG='mutual CHAP authentication failed (check chap_mutual_user/secret)'
wait_until 10 grep -qF "disk disk0: target $TGT_IQN, portal 198.18.1.2:3260: $MSG" "$DAEMON_LOG" ||
    { tail "$DAEMON_LOG" >&2; die "wrong mutual secret: no clear error"; }
stop_keep mutual-wrong
log "ok: wrong mutual secret refused"

# ---- 6. SendTargets discovery with CHAP (tgtd: an account bound without --tid guards discovery)
T --mode account --op bind --user discuser
write_secrets "inuser $IN_SECRET" "outuser $OUT_SECRET" "discuser $DISC_SECRET"
write_conf "$TGT_IQN" 1 "" $'discovery = 198.18.1.2:3260\ndiscovery_auth = chap\ndiscovery_chap_user = discuser\nauth = mutual\nchap_user = inuser\nchap_mutual_user = outuser'
check_config
grep -q '^discovery_chap_user = discuser$' "$OUT/check-config-$SEQ.txt" || die "--check-config lacks discovery_chap_user"
DAEMON_ARGS=(-c "$CONF")
start_daemon "$SOCK"
grep -q 'discovery via 198.18.1.2:3260: 1 portal(s)' "$DAEMON_LOG" || die "discovery with CHAP found no portal"
io_ok "discovered path"
stop_keep discovery
write_secrets "inuser $IN_SECRET" "outuser $OUT_SECRET" "discuser $WRONG_SECRET"
start_daemon_bg
wait_until 10 grep -qF 'CHAP authentication failed (libiscsi: ' "$DAEMON_LOG" ||
    { tail "$DAEMON_LOG" >&2; die "wrong discovery secret: no clear error"; }
grep -qF '(check discovery_chap_user/secret); next discovery in 30 s' "$DAEMON_LOG" ||
    { tail "$DAEMON_LOG" >&2; die "wrong discovery secret: no hint or no 30 s hold"; }
stop_keep discovery-wrong
log "ok: discovery with CHAP; wrong discovery secret refused"

# ---- 7. the daemon refuses a secrets file others can read, and a user it does not hold
chmod 644 "$SECRETS"
rc=0; "$BUILD/bin/mpiscsid" --check-config -c "$CONF" >"$OUT/refuse-mode.txt" 2>&1 || rc=$?
(( rc == 2 )) || die "--check-config accepted a secrets file with mode 644 (exit $rc)"
grep -qF "mpiscsid: $SECRETS: mode 0644 lets group or others access it" "$OUT/refuse-mode.txt" ||
    { cat "$OUT/refuse-mode.txt" >&2; die "mode 644: unclear message"; }
write_secrets "inuser $IN_SECRET"
rc=0; "$BUILD/bin/mpiscsid" --check-config -c "$CONF" >"$OUT/refuse-user.txt" 2>&1 || rc=$?
(( rc == 2 )) || die "--check-config accepted an unknown CHAP user (exit $rc)"
grep -qF "[disk disk0]: chap_mutual_user 'outuser' has no secret in $SECRETS" "$OUT/refuse-user.txt" ||
    { cat "$OUT/refuse-user.txt" >&2; die "unknown user: unclear message"; }
log "ok: mode 644 and unknown user refused: $(cat "$OUT/refuse-mode.txt"); $(cat "$OUT/refuse-user.txt")"

# ---- 8. LIO in a QEMU guest (booted once): one-way and mutual CHAP, a wrong secret
tgt_cleanup
TGT_PID=
lio_setup 1 16
URI=$(nbd_uri "$SOCK")
lio_chap 1 liouser "$LIO_SECRET"
write_secrets "liouser $LIO_SECRET" "liotarget $LIO_MSECRET"
write_conf "$LIO_IQN" 0 "198.18.1.2:3260" $'auth = chap\nchap_user = liouser'
check_config
DAEMON_ARGS=(-c "$CONF")
start_daemon "$SOCK"
read_ok "LIO one-way"
stop_keep lio-oneway
lio_chap 1 liouser "$LIO_SECRET" liotarget "$LIO_MSECRET"
write_conf "$LIO_IQN" 0 "198.18.1.2:3260" $'auth = mutual\nchap_user = liouser\nchap_mutual_user = liotarget'
check_config
start_daemon "$SOCK"
read_ok "LIO mutual"
stop_keep lio-mutual
write_secrets "liouser $WRONG_SECRET" "liotarget $LIO_MSECRET"
start_daemon_bg
MSG='CHAP authentication failed (check chap_user/secret)'
wait_until 15 grep -qF "disk disk0: target $LIO_IQN, portal 198.18.1.2:3260: $MSG" "$DAEMON_LOG" ||
    { tail "$DAEMON_LOG" >&2; die "LIO wrong secret: no clear error"; }
stop_keep lio-wrong
log "ok: LIO one-way and mutual CHAP with reads; wrong secret refused"

# ---- 9. no secret anywhere in what the daemon and the tools wrote, nor in this test's output
# (the targets' own logs, tgtd.log and the LIO console, are theirs and are not searched)
files=("$OUT"/*)
[[ -n ${E2E_LOGDIR:-} && -f ${E2E_LOGDIR%/}.log ]] && files+=("${E2E_LOGDIR%/}.log")
for s in "${ALL_SECRETS[@]}"; do
    if grep -lF -- "$s" "${files[@]}" >&2; then
        die "a CHAP secret appears in the file(s) above"
    fi
done
log "ok: none of ${#ALL_SECRETS[@]} secrets in ${#files[@]} logs and outputs"
echo "PASS: t_66_chap"
