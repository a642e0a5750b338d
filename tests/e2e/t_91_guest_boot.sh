#!/usr/bin/env bash
# e2e: a QEMU guest boots from the multipath disk and rides through path failures.
# tgtd LU over 2 NICs x 1 portal (2 paths), the daemon from a config file; the guest image
# (tests/targets/guest/build.sh: MBR, syslinux on a FAT partition, Debian's kernel, a busybox
# initramfs, an ext4 data partition) is copied onto the LU with qemu-img convert through the NBD
# export; qemu-system-x86_64 -accel tcg boots it through SeaBIOS from the export (no -kernel).
#  boot 1  -drive file=nbd+unix:///disk0?socket=...,if=virtio,cache=none. While the guest's
#          workload runs (rounds of: write random files, SHA-256 sums, sync, drop caches, read
#          back and verify): NIC 1 down, rounds go on over NIC 2; NIC 1 up, path 1 back in use;
#          NIC 2's path silent (nftables drop both ways), rounds go on once the daemon failed it;
#          healed, path 2 back. Then the workload stops: RESULT PASS, no failed round, no kernel
#          I/O error in the guest, daemon alive.
#  boot 2  -blockdev driver=nbd,...,reconnect-delay=30: the guest first verifies every file set
#          of boot 1 (checksums, read from the disk), then runs its workload while mpiscsid is
#          stopped and started again (same config, same socket); QEMU reconnects and resends:
#          rounds go on, RESULT PASS, no guest I/O error.
#  boots 3, 4  the daemon also listens on TCP (127.0.0.1 in its namespace) with TLS required;
#          qemu boots over it with tls-creds-x509 (client certificate), then tls-creds-psk; 2
#          workload rounds each; the daemon's log shows the TLS session. Boot 3 verifies the
#          sets boot 2 wrote across the daemon restart, boot 4 those of boot 3.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/tgt.sh
. tests/lib/faults.sh
. tests/targets/guest/guest.sh
need_root
need_tool qemu-system-x86_64 qemu-system-x86
need_tool qemu-img qemu-utils
T0=$SECONDS

guest_build
log "guest image $GUEST_IMG ($(( $(stat -c %s "$GUEST_IMG") >> 20 )) MiB)"
# 2 NICs x 1 portal; the LU is larger than the image (the guest sees the whole LU as vda)
start_cross_daemon 2 1 192 "no_path_retry = 30"
HAVE_CTL=0
ctl_available && [[ -n ${DAEMON_CTL:-} ]] && HAVE_CTL=1
(( HAVE_CTL )) || log "no control socket (mpiscsid --control / mpiscsiadm -s): path states not checked"

# both paths of NIC K (here: its one path) up in the daemon's view
paths_up() { (( ! HAVE_CTL )) || wait_until "$2" ctl_nic_up "$DAEMON_CTL" "$1" 1 ||
    { ctl_paths "$DAEMON_CTL" | sed 's/^/#   path /' >&2; die "$3"; }; }
paths_up 1 10 "path over veth1 not up at start"
paths_up 2 10 "path over veth2 not up at start"

log "copying the image onto the LU (qemu-img convert through the NBD export)"
timeout 120 qemu-img convert -n -f raw -O raw "$GUEST_IMG" "$URI" || die "qemu-img convert onto $URI failed"
timeout 60 qemu-img compare -f raw -F raw "$GUEST_IMG" "$URI" >/dev/null ||
    die "the LU does not hold the image after qemu-img convert"

# daemon_saw RE TIMEOUT WHAT: the daemon's log (from line $NLOG on) gets a line matching RE
daemon_saw() { wait_until "$2" _log_has "$1" || { tail -n 8 "$DAEMON_LOG" >&2; die "$3"; }; }
_log_has() { tail -n +"$NLOG" "$DAEMON_LOG" | grep -qE "$1"; }
# slowest round (write+sync+verify, ms) among rounds FROM..TO of boot NAME
slowest() { tr -d '\r' <"$(guest_console "$1")" | awk -v a="$2" -v b="$3" '
    /mpiscsi-guest: ROUND [0-9]+ PASS/ { n = $3; w = $0; sub(/.*write\+sync /, "", w); v = $0; sub(/.*verify /, "", v)
        if (n >= a && n <= b && w + v > m) m = w + v } END { print m + 0 }'; }

# the number of file sets a boot left on the disk, as its guest reports it
guest_sets() { tr -d '\r' <"$(guest_console "$1")" | sed -n 's/.*mpiscsi-guest: workload: .* leaves \([0-9]*\) set(s).*/\1/p'; }

WL="rounds=until-stop round_kib=4096 max_seconds=400"
ROUNDS_PER_PHASE=3      # rounds that must pass while a fault is on, and after it is healed

# ---------------------------------------------------------------- boot 1: faults
guest_start b1 "$WL" -drive "file=$URI,format=raw,if=virtio,cache=none"
guest_wait b1 'mpiscsi-guest: booted' 180 || { _guest_tail b1 30; die "boot 1: no 'booted' line from the multipath disk within 180 s"; }
log "boot 1: booted $(guest_line_ms b1 'mpiscsi-guest: booted') ms after qemu started"
guest_wait_rounds b1 2 120

n=$(guest_rounds b1)
NLOG=$(( $(wc -l <"$DAEMON_LOG") + 1 ))
fault_nic_down 1
daemon_saw 'veth1->[^ ]+ down' 10 "boot 1: the daemon did not fail the path over veth1 within 10 s of NIC 1 down"
guest_wait_rounds b1 $((n + ROUNDS_PER_PHASE)) 120
log "boot 1: $ROUNDS_PER_PHASE rounds passed with NIC 1 down (slowest round $(slowest b1 $((n + 1)) $((n + ROUNDS_PER_PHASE))) ms)"
fault_nic_up 1
paths_up 1 30 "boot 1: path over veth1 not back within 30 s of NIC 1 up"
n=$(guest_rounds b1)
guest_wait_rounds b1 $((n + 2)) 120

n=$(guest_rounds b1)
t_silent=$(fault_ts_ms)
NLOG=$(( $(wc -l <"$DAEMON_LOG") + 1 ))
fault_silent_on 2
daemon_saw 'veth2->[^ ]+ down' 20 "boot 1: the daemon did not fail the silent path over veth2 within 20 s"
log "boot 1: daemon failed the silent path: $(tail -n +"$NLOG" "$DAEMON_LOG" | grep -m1 -E 'veth2->[^ ]+ down' | cut -c1-160)"
guest_wait_rounds b1 $((n + ROUNDS_PER_PHASE)) 120
log "boot 1: $ROUNDS_PER_PHASE rounds passed with NIC 2's path silent, $(( $(fault_ts_ms) - t_silent )) ms (slowest round $(slowest b1 $((n + 1)) $((n + ROUNDS_PER_PHASE))) ms)"
fault_silent_off 2
paths_up 2 30 "boot 1: path over veth2 not back within 30 s of healing the silent path"
n=$(guest_rounds b1)
guest_wait_rounds b1 $((n + 2)) 120

daemon_alive || die "boot 1: the daemon died"
guest_stop b1
guest_wait_exit b1 120
guest_check b1
B1_ROUNDS=$(guest_rounds b1)
B1_SETS=$(guest_sets b1)
log "boot 1: PASS, $B1_ROUNDS rounds, NIC down + silent path ridden through"

# ---------------------------------------------------------------- boot 2: daemon restart
# QEMU's own NBD client, reconnecting for up to 30 s to the same socket
# (T91_RECONNECT_DELAY: for checking that the test fails without reconnection, e.g. 0)
NBD_BLOCKDEV="driver=nbd,node-name=disk0,server.type=unix,server.path=$SOCK,export=disk0,reconnect-delay=${T91_RECONNECT_DELAY:-30}"
guest_start b2 "$WL" -blockdev "$NBD_BLOCKDEV" -device virtio-blk-pci,drive=disk0,bootindex=1
guest_wait b2 'mpiscsi-guest: verified [0-9]+ earlier' 180 || { _guest_tail b2 30; die "boot 2: no verification line within 180 s"; }
ok=$(grep -c 'mpiscsi-guest: VERIFY b1/s[0-9]* OK' "$(guest_console b2)" || true)
(( ok == B1_SETS )) || { _guest_tail b2 20; die "boot 2: $ok of boot 1's $B1_SETS file sets verified OK"; }
log "boot 2: all $ok file sets of boot 1 verified (checksums)"
guest_wait_rounds b2 2 120

n=$(guest_rounds b2)
log "boot 2: restarting mpiscsid while the guest writes"
t_r=$(fault_ts_ms)
stop_daemon
mv "$DAEMON_LOG" "$FIX_LOGDIR/daemon.before-restart.log"
start_daemon "$SOCK"
log "boot 2: daemon back (pid $DAEMON_PID) $(( $(fault_ts_ms) - t_r )) ms after the stop"
NLOG=1
daemon_saw "nbd: client [0-9]+: export 'disk0'" 35 "boot 2: qemu did not reconnect to the restarted daemon within 35 s"
guest_wait_rounds b2 $((n + ROUNDS_PER_PHASE)) 120
log "boot 2: $ROUNDS_PER_PHASE rounds passed after the restart (slowest round around it $(slowest b2 $n $((n + 2))) ms)"
daemon_alive || die "boot 2: the daemon died"
guest_stop b2
guest_wait_exit b2 120
guest_check b2
B2_ROUNDS=$(guest_rounds b2)
B2_SETS=$(guest_sets b2)
log "boot 2: PASS, $B2_ROUNDS rounds across a daemon restart"

# ---------------------------------------------------------------- boots 3, 4: NBD over TCP + TLS
# The daemon again, now also listening on tcp:127.0.0.1 in its namespace with TLS required:
# X.509 (server certificate and, since tls_ca is set, client certificates from one test CA) and
# a PSK file. qemu (in the same namespace) boots with -object tls-creds-x509 / tls-creds-psk and
# -blockdev driver=nbd,server.type=inet,...,tls-creds=tls0; 2 workload rounds each. The X.509
# boot verifies boot 2's sets (written across the daemon restart), the PSK boot the X.509 boot's.
TLS_PORT=10809          # inside the test's own network namespace
PKI="$FIX_DIR/pki"
# mkcert NAME CN ISSUER|"" EXT...: EC P-256 key and certificate (self-signed CA when no ISSUER)
mkcert() {
    local name=$1 cn=$2 issuer=$3; shift 3
    printf '%s\n' "$@" >"$PKI/$name.ext"
    if [[ -z $issuer ]]; then
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=$cn" \
            -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
            -keyout "$PKI/$name-key.pem" -out "$PKI/$name-cert.pem" 2>/dev/null
    else
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$cn" \
            -keyout "$PKI/$name-key.pem" -out "$PKI/$name.csr" 2>/dev/null
        openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/$issuer-cert.pem" -CAkey "$PKI/$issuer-key.pem" \
            -set_serial "$((RANDOM + 2))" -days 2 -extfile "$PKI/$name.ext" -out "$PKI/$name-cert.pem" 2>/dev/null
    fi
    [[ -s $PKI/$name-cert.pem ]] || die "openssl could not make the $name certificate"
    chmod 600 "$PKI/$name-key.pem"
}
tls_setup() {
    need_tool openssl openssl
    mkdir -p "$PKI/x509" "$PKI/psk"
    mkcert ca "mpiscsi guest-boot CA" ""
    mkcert server localhost ca basicConstraints=CA:FALSE keyUsage=critical,digitalSignature \
        extendedKeyUsage=serverAuth subjectAltName=IP:127.0.0.1,DNS:localhost
    mkcert client guest1 ca basicConstraints=CA:FALSE keyUsage=critical,digitalSignature extendedKeyUsage=clientAuth
    # the layout of qemu's tls-creds-x509 dir= and tls-creds-psk dir= (keys.psk: "IDENTITY:HEXKEY")
    cp "$PKI/ca-cert.pem" "$PKI/x509/ca-cert.pem"
    cp "$PKI/client-cert.pem" "$PKI/x509/client-cert.pem"
    cp "$PKI/client-key.pem" "$PKI/x509/client-key.pem"
    printf 'guest:%s\n' "$(openssl rand -hex 32)" >"$PKI/psk/keys.psk"
    chmod 600 "$PKI/psk/keys.psk"
    TLS_CONF="$FIX_DIR/mpiscsi-tls.conf"
    # the fixture's config (write_cross_conf: [global], [nbd] listen, [disk disk0]) with a second
    # listener and the credentials in [nbd]
    {
        sed -n '1,/^\[nbd\]/p' "$CONF"
        printf 'listen = unix:%s\nlisten = tcp:127.0.0.1:%s\n' "$SOCK" "$TLS_PORT"
        printf 'tls_cert = %s\ntls_key = %s\n' "$PKI/server-cert.pem" "$PKI/server-key.pem"
        printf 'tls_ca = %s\ntls_psk_file = %s\n' "$PKI/ca-cert.pem" "$PKI/psk/keys.psk"
        sed -n '/^\[disk /,$p' "$CONF"
    } >"$TLS_CONF"
    ini_exec "$BUILD/bin/mpiscsid" --check-config -c "$TLS_CONF" >"$FIX_DIR/tls-check.out" || die "config refused: $TLS_CONF"
    grep -q "^listen = tcp:127.0.0.1:$TLS_PORT  # TLS required" "$FIX_DIR/tls-check.out" ||
        die "--check-config: the TCP listener is not TLS-required"
    # start_daemon's --nbd would replace the file's listeners: start it with the file only
    stop_daemon
    DAEMON_LOG="$FIX_LOGDIR/daemon-tls.log"
    rm -f "$SOCK"
    ip netns exec "$INI_NS" "$BUILD/bin/mpiscsid" -f -c "$TLS_CONF" --control "$DAEMON_CTL" >"$DAEMON_LOG" 2>&1 &
    DAEMON_PID=$!
    fixture_trap_add "fixture_kill $DAEMON_PID"
    NLOG=1
    daemon_saw "nbd: listening on tcp:127.0.0.1:$TLS_PORT" 30 "the daemon does not listen on tcp:127.0.0.1:$TLS_PORT"
    daemon_alive || die "the TLS daemon died at start"
    log "daemon pid $DAEMON_PID listens on unix:$SOCK and tcp:127.0.0.1:$TLS_PORT (TLS: X.509 with client certificates, PSK)"
}
# boot_tls KIND: KIND x509 or psk; boot name tls_KIND
boot_tls() {
    local kind=$1 name="tls_$1" creds who
    if [[ $kind == x509 ]]; then
        creds="tls-creds-x509,id=tls0,endpoint=client,dir=$PKI/x509"
        who="client certificate .*CN=guest1"
    else
        creds="tls-creds-psk,id=tls0,endpoint=client,dir=$PKI/psk,username=guest"
        who="PSK identity 'guest'"
    fi
    NLOG=$(( $(wc -l <"$DAEMON_LOG") + 1 ))
    GUEST_NETNS=$INI_NS guest_start "$name" "rounds=2 round_kib=4096" -object "$creds" \
        -blockdev "driver=nbd,node-name=disk0,server.type=inet,server.host=127.0.0.1,server.port=$TLS_PORT,export=disk0,tls-creds=tls0" \
        -device virtio-blk-pci,drive=disk0,bootindex=1
    guest_wait_exit "$name" 240
    guest_check "$name"
    _log_has "TLS established: .*$who" || { tail -n 8 "$DAEMON_LOG" >&2; die "boot over TLS ($kind): no TLS session ($who) in the daemon's log"; }
    log "boot over TCP+TLS ($kind): PASS, $(guest_rounds "$name") rounds; $(tail -n +"$NLOG" "$DAEMON_LOG" | grep -m1 'TLS established' | sed 's/.*TLS established: //')"
}
tls_setup
boot_tls x509
ok=$(grep -c 'mpiscsi-guest: VERIFY b2/s[0-9]* OK' "$(guest_console tls_x509)" || true)
(( ok == B2_SETS )) || { _guest_tail tls_x509 20; die "boot 3 (X.509): $ok of boot 2's $B2_SETS file sets verified OK"; }
log "boot 3: all $ok file sets written across the daemon restart verified"
boot_tls psk
ok=$(grep -c 'mpiscsi-guest: VERIFY b3/s[0-9]* OK' "$(guest_console tls_psk)" || true)
B3_SETS=$(guest_sets tls_x509)
(( ok == B3_SETS )) || { _guest_tail tls_psk 20; die "boot 4 (PSK): $ok of the X.509 boot's $B3_SETS file sets verified OK"; }
log "boot 4: the $ok file sets written over TLS (X.509) verified over TLS (PSK)"

daemon_alive || die "the daemon died"
stop_daemon
echo "t_91_guest_boot: 4 boots from the multipath disk in $((SECONDS - T0)) s (Unix socket, TCP+TLS X.509 and PSK); NIC down, silent path and a daemon restart under the guest's workload; no guest I/O error; data verified across boots"
