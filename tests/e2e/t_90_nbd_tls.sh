#!/usr/bin/env bash
# e2e: NBD over TCP with TLS (X.509 with client certificates, PSK; qemu-img and libnbd clients), refusals, multi-conn, key file modes, insecure.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/tgt.sh
need_root
need_tool openssl openssl
need_tool qemu-img qemu-utils
need_tool nbdinfo libnbd-bin
need_tool nbdcopy libnbd-bin
need_tool cmp diffutils
need_tool timeout coreutils
/usr/bin/python3 -c 'import nbd' 2>/dev/null || die "python3 module nbd missing: install package python3-libnbd (make deps)"
[[ ${E2E_BRIDGE:-mpiscsid} != qemu-nbd ]] || die "t_90 tests mpiscsid's own TLS configuration; E2E_BRIDGE=qemu-nbd can not stand in for it"

M=$((1024 * 1024))
PORT=10809          # inside the test's own network namespace: no host port is used
BIN="$BUILD/bin/mpiscsid"
[[ -x $BIN ]] || die "$BIN not built (run: make all)"

tgt_setup 1 64
PKI="$FIX_DIR/pki"
mkdir -p "$PKI"

# ---------------------------------------------------------------- credentials
# One CA that the daemon and the good clients trust, and a rogue CA nobody trusts.
mkcert() {  # mkcert NAME CN ISSUER EXTENSIONS...   (ISSUER "" = self-signed CA)
    local name=$1 cn=$2 issuer=$3; shift 3
    printf '%s\n' "$@" >"$PKI/$name.ext"
    if [[ -z $issuer ]]; then
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=$cn" \
            -keyout "$PKI/$name-key.pem" -out "$PKI/$name-cert.pem" \
            -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
    else
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$cn" \
            -keyout "$PKI/$name-key.pem" -out "$PKI/$name.csr" 2>/dev/null
        openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/$issuer-cert.pem" -CAkey "$PKI/$issuer-key.pem" \
            -set_serial "$((RANDOM + 2))" -days 2 -extfile "$PKI/$name.ext" -out "$PKI/$name-cert.pem" 2>/dev/null
    fi
    chmod 600 "$PKI/$name-key.pem"
}
log "generating a CA, server and client certificates, a rogue CA and client, PSK files"
mkcert ca "mpiscsi test CA" ""
mkcert rogue "rogue CA" ""
mkcert server localhost ca basicConstraints=CA:FALSE keyUsage=critical,digitalSignature \
    extendedKeyUsage=serverAuth subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost
mkcert client client1 ca basicConstraints=CA:FALSE keyUsage=critical,digitalSignature extendedKeyUsage=clientAuth
mkcert rclient client1 rogue basicConstraints=CA:FALSE keyUsage=critical,digitalSignature extendedKeyUsage=clientAuth

# Client credential directories in the layout qemu's tls-creds-x509 and libnbd's tls-certificates read.
cli_dir() {  # cli_dir NAME CA[+CA2] [CLIENT]
    mkdir -p "$PKI/$1"
    local ca
    for ca in ${2//+/ }; do cat "$PKI/$ca-cert.pem"; done >"$PKI/$1/ca-cert.pem"
    if [[ -n ${3:-} ]]; then
        cp "$PKI/$3-cert.pem" "$PKI/$1/client-cert.pem"
        cp "$PKI/$3-key.pem" "$PKI/$1/client-key.pem"
    fi
}
# (qemu checks its own certificate against its ca-cert.pem before it connects: each directory
# is consistent in itself, so that the refusal comes from the other side.)
cli_dir good ca client              # trusts the server, has a client certificate the daemon trusts
cli_dir nocert ca                   # trusts the server, no client certificate
cli_dir roguecert ca+rogue rclient  # trusts the server, client certificate from the rogue CA
cli_dir untrusting rogue rclient    # does not trust the server's CA
mkdir -p "$PKI/psk" "$PKI/badpsk"
printf 'alice:%s\n' "$(openssl rand -hex 32)" >"$PKI/psk/keys.psk"
printf 'alice:%s\n' "$(openssl rand -hex 32)" >"$PKI/badpsk/keys.psk"
chmod 600 "$PKI/psk/keys.psk" "$PKI/badpsk/keys.psk"

# ---------------------------------------------------------------- daemon
DAEMON_LOG="$FIX_LOGDIR/daemon.log"
SOCK="$FIX_DIR/nbd.sock"

write_conf() {  # write_conf FILE [NBD_LINES...]
    local f=$1; shift
    {
        printf '[global]\ninitiator_name = iqn.2026-11.org.mpiscsi.test:ini-%s\n' "$TGT_SUF"
        printf '[nbd]\n'
        printf '%s\n' "$@"
        printf '[disk disk0]\ntarget = %s\nlun = 1\nportal = 198.18.1.2:3260\n' "$TGT_IQN"
    } >"$f"
}

_tcp_listening() { grep -q "nbd: listening on tcp:127.0.0.1:$PORT" "$DAEMON_LOG"; }

start_tls_daemon() {  # start_tls_daemon CONF LOGNAME: the daemon with that config, until its listeners are up
    DAEMON_LOG="$FIX_LOGDIR/$2"
    rm -f "$SOCK"
    ip netns exec "$INI_NS" "$BIN" -f -c "$1" --control "$FIX_DIR/control.sock" >"$DAEMON_LOG" 2>&1 &
    DAEMON_PID=$!
    fixture_trap_add "fixture_kill $DAEMON_PID"
    local deadline=$((SECONDS + 30))
    until _socket_accepts "$SOCK" 2>/dev/null && _tcp_listening; do
        daemon_alive || { tail -n 20 "$DAEMON_LOG" >&2; die "daemon exited before listening"; }
        (( SECONDS <= deadline )) || { tail -n 20 "$DAEMON_LOG" >&2; die "daemon not listening after 30 s"; }
        sleep 0.05
    done
    log "daemon pid $DAEMON_PID listens on unix:$SOCK and tcp:127.0.0.1:$PORT"
}

# A daemon start that must fail: prints its stderr; fails the test if it started.
must_refuse_start() {  # must_refuse_start CONF EXPECTED_TEXT
    local out rc=0
    out=$(ip netns exec "$INI_NS" timeout 20 "$BIN" -f -c "$1" --control "$FIX_DIR/refused.sock" 2>&1) || rc=$?
    (( rc != 0 && rc != 124 )) || die "daemon started (status $rc) with $1; expected a refusal: $2"
    grep -qF -- "$2" <<<"$out" || { printf '%s\n' "$out" >&2; die "refusal message lacks: $2"; }
    log "refused at start (status $rc): $(grep -F -- "$2" <<<"$out" | head -1)"
}

# ---------------------------------------------------------------- clients (all inside the namespace)
TCP_URI="nbds://127.0.0.1:$PORT/disk0"
X509_URI="$TCP_URI?tls-certificates=$PKI/good"
PSK_URI="nbds://alice@127.0.0.1:$PORT/disk0?tls-psk-file=$PKI/psk/keys.psk"
qopts() {  # qopts KIND DIR [PRIORITY]: qemu --object and --image-opts arguments
    local kind=$1 dir=$2 prio=${3:+,priority=$3}
    if [[ $kind == x509 ]]; then
        printf '%s\n' --object "tls-creds-x509,id=tls0,endpoint=client,dir=$dir$prio"
    else
        printf '%s\n' --object "tls-creds-psk,id=tls0,endpoint=client,dir=$dir,username=alice$prio"
    fi
}
QNBD="driver=nbd,server.type=inet,server.host=127.0.0.1,server.port=$PORT,export=disk0,tls-creds=tls0"
q() { ini_exec timeout 60 qemu-img "$@"; }
n() { ini_exec timeout 60 "$@"; }
count() { grep -c -- "$1" "$DAEMON_LOG" || true; }

must_fail() {  # must_fail WHAT CMD...: the client must not get through
    local what=$1 rc=0; shift
    "$@" >"$FIX_DIR/refused.out" 2>&1 || rc=$?
    (( rc != 0 )) || { cat "$FIX_DIR/refused.out" >&2; die "$what: the client got through"; }
    (( rc != 124 )) || die "$what: the client hung (timeout) instead of being refused"
    (( rc != 126 && rc != 127 )) || { cat "$FIX_DIR/refused.out" >&2; die "$what: the client did not run"; }
    log "refused as expected: $what (...$(tail -n 1 "$FIX_DIR/refused.out" | tail -c 110))"
}

# ---------------------------------------------------------------- 1: X.509 + client certificates + PSK
CONF="$FIX_DIR/tls.conf"
write_conf "$CONF" "listen = unix:$SOCK" "listen = tcp:127.0.0.1:$PORT" "listen = tcp:[::1]:$PORT" \
    "tls_cert = $PKI/server-cert.pem" "tls_key = $PKI/server-key.pem" "tls_ca = $PKI/ca-cert.pem" \
    "tls_psk_file = $PKI/psk/keys.psk"
"$BIN" --check-config -c "$CONF" >"$FIX_DIR/check.out" || die "--check-config refused $CONF"
grep -q "^listen = tcp:127.0.0.1:$PORT  # TLS required" "$FIX_DIR/check.out" || die "--check-config: TCP not TLS-required"
grep -q "^listen = unix:$SOCK  # TLS optional" "$FIX_DIR/check.out" || die "--check-config: Unix socket not TLS-optional"
grep -q "^tls_psk_file = $PKI/psk/keys.psk" "$FIX_DIR/check.out" || die "--check-config does not show the PSK file"
psk_hex=$(cut -d: -f2 "$PKI/psk/keys.psk")
! grep -qi -- "$psk_hex" "$FIX_DIR/check.out" || die "--check-config printed PSK key material"
! grep -q -- "PRIVATE KEY" "$FIX_DIR/check.out" || die "--check-config printed a private key"
start_tls_daemon "$CONF" daemon.log

log "nbdinfo over TLS (X.509, client certificate): multi-conn advertised"
n nbdinfo --json "$X509_URI" >"$FIX_DIR/info.json" || die "nbdinfo $X509_URI failed"
/usr/bin/python3 - "$FIX_DIR/info.json" "$TGT_SIZE" <<'PY' || die "nbdinfo --json checks failed"
import json, sys
j = json.load(open(sys.argv[1]))
e = j["exports"][0]
ok = j.get("TLS") is True and e.get("can_multi_conn") is True and e.get("export-size") == int(sys.argv[2])
print(("ok   " if ok else "FAIL ") + "TLS=%r can_multi_conn=%r size=%r" % (j.get("TLS"), e.get("can_multi_conn"), e.get("export-size")), file=sys.stderr)
sys.exit(0 if ok else 1)
PY
[[ $(count "TLS established: TLSv1.3 .*client certificate /CN=client1") -ge 1 ]] || die "no TLS 1.3 client-certificate session in the log"
grep -q "nbd: listening on tcp:\[::1\]:$PORT (TLS required)" "$DAEMON_LOG" || die "no TLS-required listener on [::1]"
n nbdinfo --size "nbds://[::1]:$PORT/disk0?tls-certificates=$PKI/good" >/dev/null || die "nbdinfo over TLS on [::1] failed"

log "qemu-img convert: 32 MiB of random data in over TLS 1.3 with X.509"
head -c $((32 * M)) /dev/urandom >"$FIX_DIR/a.raw"
mapfile -t qo < <(qopts x509 "$PKI/good")
q convert -n -f raw "${qo[@]}" --target-image-opts "$FIX_DIR/a.raw" "$QNBD" || die "qemu-img convert over TLS failed"

log "nbdcopy --connections=4 over TLS (PSK): read it back"
before=$(count "PSK identity 'alice'")
n nbdcopy --connections=4 --threads=4 --requests=16 "$PSK_URI" "$FIX_DIR/back.raw" || die "nbdcopy from $PSK_URI failed"
sessions=$(( $(count "PSK identity 'alice'") - before ))
(( sessions >= 4 )) || die "nbdcopy --connections=4 opened $sessions TLS session(s), expected 4 (multi-conn not used?)"
cmp -n $((32 * M)) "$FIX_DIR/a.raw" "$FIX_DIR/back.raw" || die "data read back over TLS differs from data written"
cmp -n $((32 * M)) "$FIX_DIR/a.raw" "$TGT_BACKING" || die "target's backing file differs from data written over TLS"

log "nbdcopy --connections=4 over TLS (X.509) writes, qemu-img (PSK, TLS 1.3) compares"
head -c $((32 * M)) /dev/urandom >"$FIX_DIR/b.raw"
truncate -s "$TGT_SIZE" "$FIX_DIR/b.raw"
before=$(count "client certificate /CN=client1")
n nbdcopy --connections=4 --threads=4 --requests=16 "$FIX_DIR/b.raw" "$X509_URI" || die "nbdcopy to $X509_URI failed"
(( $(count "client certificate /CN=client1") - before >= 4 )) || die "nbdcopy --connections=4 did not open 4 TLS connections"
mapfile -t qo < <(qopts psk "$PKI/psk")
rc=0; q compare -f raw "${qo[@]}" --image-opts "$FIX_DIR/b.raw" "$QNBD" >/dev/null 2>&1 || rc=$?
# compare mixes a file and image-opts badly in some qemu versions: fall back to a convert and cmp
if (( rc != 0 )); then
    q convert -O raw "${qo[@]}" --image-opts "$QNBD" "$FIX_DIR/b.back" || die "qemu-img convert from TLS (PSK) failed"
    cmp "$FIX_DIR/b.raw" "$FIX_DIR/b.back" || die "data written by nbdcopy over 4 TLS connections differs when read back"
fi
cmp "$FIX_DIR/b.raw" "$TGT_BACKING" || die "target's backing file differs from what nbdcopy wrote over 4 connections"
[[ $(count "TLS established: TLSv1.3 .*PSK identity 'alice'") -ge 1 ]] || die "no TLS 1.3 PSK session in the log"

log "TLS 1.2: qemu-img with PSK and with X.509 (GnuTLS priority without TLS 1.3)"
for kind in psk x509; do
    dir=$PKI/psk; [[ $kind == x509 ]] && dir=$PKI/good
    mapfile -t qo < <(qopts "$kind" "$dir" "NORMAL:-VERS-TLS1.3")
    q convert -O raw "${qo[@]}" --image-opts "$QNBD" "$FIX_DIR/c.raw" || die "qemu-img over TLS 1.2 ($kind) failed"
    cmp "$FIX_DIR/b.raw" "$FIX_DIR/c.raw" || die "TLS 1.2 ($kind): data differs"
done
[[ $(count "TLS established: TLSv1.2 .*PSK identity 'alice'") -ge 1 ]] || die "no TLS 1.2 PSK session in the log"
[[ $(count "TLS established: TLSv1.2 .*client certificate") -ge 1 ]] || die "no TLS 1.2 X.509 session in the log"

log "the Unix socket offers TLS optionally: plain and TLS (PSK) clients both work"
n nbdinfo --size "nbd+unix:///disk0?socket=$SOCK" >/dev/null || die "plain client on the Unix socket refused"
n nbdinfo --json "nbds+unix://alice@/disk0?socket=$SOCK&tls-psk-file=$PKI/psk/keys.psk" >"$FIX_DIR/u.json" ||
    die "TLS client on the Unix socket refused"
grep -q '"TLS": true' "$FIX_DIR/u.json" || die "TLS over the Unix socket not negotiated"

# ---------------------------------------------------------------- 2: refusals, while a good client works
log "a good client (python3-libnbd, PSK) writes, flushes and verifies in a loop meanwhile"
cat >"$FIX_DIR/good_client.py" <<'PY'
import nbd, os, sys, time
psk, stop, countf = sys.argv[1:4]  # and the port, argv[4]
h = nbd.NBD()
h.set_tls(nbd.TLS_REQUIRE)
h.set_tls_username("alice")
h.set_tls_psk_file(psk)
h.set_export_name("disk0")
h.connect_tcp("127.0.0.1", sys.argv[4])
deadline = time.monotonic() + 120
n = 0
while not os.path.exists(stop) and time.monotonic() < deadline:
    off = (48 + n % 8) * 1024 * 1024
    buf = os.urandom(65536)
    h.pwrite(buf, off)
    h.flush()
    if h.pread(65536, off) != buf:
        print("FAIL: read back differs at offset %d (iteration %d)" % (off, n))
        sys.exit(1)
    n += 1
    with open(countf + ".tmp", "w") as f:
        f.write(str(n))
    os.rename(countf + ".tmp", countf)
h.shutdown()
print("good client: %d verified write/flush/read rounds" % n)
sys.exit(0 if n > 0 else 1)
PY
STOP="$FIX_DIR/good.stop"
COUNTF="$FIX_DIR/good.count"
fixture_bg GOOD "$FIX_LOGDIR/good_client.log" ip netns exec "$INI_NS" /usr/bin/python3 "$FIX_DIR/good_client.py" \
    "$PKI/psk/keys.psk" "$STOP" "$COUNTF" "$PORT"
_good_rounds() { [[ -s $COUNTF ]] && (( $(cat "$COUNTF") >= $1 )); }
wait_until 30 _good_rounds 1 || { cat "$FIX_LOGDIR/good_client.log" >&2; die "the good client made no progress"; }
c1=$(cat "$COUNTF")
exports_before=$(count "export 'disk0' size")

mapfile -t qo < <(qopts psk "$PKI/badpsk")
must_fail "wrong PSK (libnbd)" n nbdinfo --size "nbds://alice@127.0.0.1:$PORT/disk0?tls-psk-file=$PKI/badpsk/keys.psk"
must_fail "wrong PSK (qemu)" q info "${qo[@]}" --image-opts "$QNBD"
mapfile -t qo < <(qopts x509 "$PKI/untrusting")
must_fail "client does not trust the server's CA (libnbd)" n nbdinfo --size "$TCP_URI?tls-certificates=$PKI/untrusting"
must_fail "client does not trust the server's CA (qemu)" q info "${qo[@]}" --image-opts "$QNBD"
mapfile -t qo < <(qopts x509 "$PKI/nocert")
must_fail "no client certificate (libnbd)" n nbdinfo --size "$TCP_URI?tls-certificates=$PKI/nocert"
must_fail "no client certificate (qemu)" q info "${qo[@]}" --image-opts "$QNBD"
mapfile -t qo < <(qopts x509 "$PKI/roguecert")
must_fail "client certificate from another CA (libnbd)" n nbdinfo --size "$TCP_URI?tls-certificates=$PKI/roguecert"
must_fail "client certificate from another CA (qemu)" q info "${qo[@]}" --image-opts "$QNBD"
must_fail "plaintext client over TCP (libnbd)" n nbdinfo --size "nbd://127.0.0.1:$PORT/disk0"
must_fail "plaintext client over TCP (qemu)" q info "nbd://127.0.0.1:$PORT/disk0"

log "raw protocol before TLS: LIST gets NBD_REP_ERR_TLS_REQD, EXPORT_NAME is hung up on"
n /usr/bin/python3 - "$PORT" <<'PY' || die "raw FORCEDTLS checks failed"
import socket, struct, sys
def conn():
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
    g = b""
    while len(g) < 18:
        g += s.recv(18 - len(g))
    assert g[:16] == b"NBDMAGICIHAVEOPT", g
    s.sendall(struct.pack(">I", 3))  # fixed newstyle, no zeroes
    return s
def recvn(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            return b
        b += c
    return b
s = conn()
s.sendall(b"IHAVEOPT" + struct.pack(">II", 3, 0))  # NBD_OPT_LIST
h = recvn(s, 20)
magic, opt, typ, ln = struct.unpack(">QIII", h)
recvn(s, ln)
ok1 = opt == 3 and typ == 0x80000005
print(("ok   " if ok1 else "FAIL ") + "LIST before TLS -> reply type 0x%x (want 0x80000005 TLS_REQD)" % typ, file=sys.stderr)
s.close()
s = conn()
s.sendall(b"IHAVEOPT" + struct.pack(">II", 1, 5) + b"disk0")  # NBD_OPT_EXPORT_NAME
ok2 = recvn(s, 1) == b""
print(("ok   " if ok2 else "FAIL ") + "EXPORT_NAME before TLS -> connection closed", file=sys.stderr)
sys.exit(0 if ok1 and ok2 else 1)
PY

# No refused client got as far as an export, and the daemon says why it refused.
got=$(( $(count "export 'disk0' size") - exports_before ))
(( got == 0 )) || die "$got refused client(s) reached the transmission phase"
grep -q "TLS read failed during the handshake: binder does not verify" "$DAEMON_LOG" ||
    die "no log line for the wrong PSK"
grep -q "TLS read failed during the handshake: peer did not return a certificate" "$DAEMON_LOG" ||
    die "no log line for the client without a certificate"
grep -q "refused: TLS is required on this address" "$DAEMON_LOG" || die "no log line for the refused plaintext client"
grep -q "closing: EXPORT_NAME without TLS" "$DAEMON_LOG" || die "no log line for EXPORT_NAME before TLS"
daemon_alive || die "daemon died during the refusals"

log "the good client kept working during the refusals"
wait_until 30 _good_rounds $((c1 + 5)) || die "the good client stalled during the refusals (at $(cat "$COUNTF"), was $c1)"
touch "$STOP"
rc=0; wait "$FIX_PID_GOOD" || rc=$?
cat "$FIX_LOGDIR/good_client.log" >&2
(( rc == 0 )) || die "the good client failed (status $rc)"
stop_daemon

# ---------------------------------------------------------------- 3: refused configurations
log "secret files that group or others may read are refused at start"
cp "$PKI/server-key.pem" "$PKI/key644.pem"; chmod 644 "$PKI/key644.pem"
write_conf "$FIX_DIR/k644.conf" "listen = tcp:127.0.0.1:$PORT" "tls_cert = $PKI/server-cert.pem" "tls_key = $PKI/key644.pem"
must_refuse_start "$FIX_DIR/k644.conf" "TLS key file $PKI/key644.pem: group or others may access it (mode 0644): chmod 600 $PKI/key644.pem"
rc=0; "$BIN" --check-config -c "$FIX_DIR/k644.conf" >/dev/null 2>&1 || rc=$?
(( rc == 2 )) || die "--check-config accepted a key file with mode 0644 (status $rc)"
cp "$PKI/psk/keys.psk" "$PKI/psk644.psk"; chmod 644 "$PKI/psk644.psk"
write_conf "$FIX_DIR/p644.conf" "listen = tcp:127.0.0.1:$PORT" "tls_psk_file = $PKI/psk644.psk"
must_refuse_start "$FIX_DIR/p644.conf" "TLS PSK file $PKI/psk644.psk: group or others may access it (mode 0644)"

log "TCP without TLS is refused; insecure = yes only on loopback"
write_conf "$FIX_DIR/plain.conf" "listen = tcp:127.0.0.1:$PORT"
must_refuse_start "$FIX_DIR/plain.conf" "listen: 'tcp:127.0.0.1:$PORT' needs TLS"
write_conf "$FIX_DIR/insecure-net.conf" "listen = tcp:198.18.1.1:$PORT" "insecure = yes"
must_refuse_start "$FIX_DIR/insecure-net.conf" "insecure = yes, but listen 'tcp:198.18.1.1:$PORT' is not a loopback address"

log "insecure = yes on loopback: plain NBD over TCP works, STARTTLS is refused"
write_conf "$FIX_DIR/insecure.conf" "listen = unix:$SOCK" "listen = tcp:127.0.0.1:$PORT" "insecure = yes"
start_tls_daemon "$FIX_DIR/insecure.conf" daemon-insecure.log
n nbdinfo --json "nbd://127.0.0.1:$PORT/disk0" >"$FIX_DIR/plain.json" || die "plain client refused with insecure = yes"
grep -q '"TLS": false' "$FIX_DIR/plain.json" || die "plain TCP session reports TLS"
must_fail "TLS client where no TLS is offered" n nbdinfo --size "$PSK_URI"
daemon_alive || die "daemon died"
stop_daemon
echo "t_90_nbd_tls: X.509 (client certs) and PSK over TLS 1.3 and 1.2 with qemu-img and libnbd, multi-conn x4, 10 refusals while a client ran, key modes and insecure checked"
