#!/usr/bin/env bash
# Benchmark: NBD over TCP with TLS vs without, same daemon, same listener, fio's nbd engine, runs interleaved.
#
# One daemon exports a tgtd LU on tcp:127.0.0.1:10809 (inside the fixture's namespace) with
# tls = on and insecure = yes, so the same listener serves plain clients and TLS clients.
# fio --ioengine=nbd connects with nbd://... (plain) or nbds://... (X.509). libnbd 1.14 refuses
# the URI parameters that name local files (tls-certificates, tls-psk-file) unless the program
# allows them, and fio's engine does not; without them libnbd reads the CA (and a client
# certificate, if any) from $HOME/.pki/libnbd/, so fio runs with HOME set to a directory of
# the fixture that holds our CA there. Each workload runs BENCH_RUNS times per mode,
# alternating plain and TLS so that drift on a shared machine hits both alike; the table
# has the median of the runs and the ratio TLS/plain.
#
# Environment: BUILD (default build), BENCH_SECONDS (per run, default 5), BENCH_RUNS (default 3),
# BENCH_SIZE_MB (LU size, default 512). Results: stdout and $BUILD/bench/tls.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/tgt.sh
need_root
need_tool fio fio
need_tool openssl openssl
[[ -x /usr/bin/python3 ]] || die "/usr/bin/python3 missing: install package python3"
[[ ${E2E_BRIDGE:-mpiscsid} == mpiscsid ]] || die "unset E2E_BRIDGE: the benchmark must measure the real daemon"

SECS=${BENCH_SECONDS:-5}
RUNS=${BENCH_RUNS:-3}
SIZE_MB=${BENCH_SIZE_MB:-512}
PORT=10809
BIN="$BUILD/bin/mpiscsid"
[[ $SECS =~ ^[0-9]+$ && $SECS -ge 1 ]] || die "BENCH_SECONDS must be a positive integer"
[[ $RUNS =~ ^[0-9]+$ && $RUNS -ge 1 && $RUNS -le 20 ]] || die "BENCH_RUNS must be 1..20"
[[ -x $BIN ]] || die "$BIN not built (make all)"
OUT="$BUILD/bench"
mkdir -p "$OUT"
OUT=$(realpath "$OUT")

tgt_setup 1 "$SIZE_MB"
log "warm-up: writing the whole ${SIZE_MB} MiB LU once (backing file on /dev/shm)"
dd if=/dev/urandom of="$TGT_BACKING" bs=1M count="$SIZE_MB" conv=notrunc,fsync status=none

# A CA and a server certificate for 127.0.0.1; the client directory holds the CA only.
PKI="$FIX_DIR/pki"
mkdir -p "$PKI/home/.pki/libnbd"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=bench CA" \
    -keyout "$PKI/ca-key.pem" -out "$PKI/ca-cert.pem" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
    -keyout "$PKI/server-key.pem" -out "$PKI/server.csr" 2>/dev/null
printf '%s\n' basicConstraints=CA:FALSE keyUsage=critical,digitalSignature extendedKeyUsage=serverAuth \
    subjectAltName=IP:127.0.0.1 >"$PKI/server.ext"
openssl x509 -req -in "$PKI/server.csr" -CA "$PKI/ca-cert.pem" -CAkey "$PKI/ca-key.pem" -set_serial 2 \
    -days 2 -extfile "$PKI/server.ext" -out "$PKI/server-cert.pem" 2>/dev/null
chmod 600 "$PKI/server-key.pem"
cp "$PKI/ca-cert.pem" "$PKI/home/.pki/libnbd/ca-cert.pem"

CONF="$FIX_DIR/bench-tls.conf"
cat >"$CONF" <<EOF
[global]
initiator_name = iqn.2026-11.org.mpiscsi.test:bench-$TGT_SUF
[nbd]
listen = unix:$FIX_DIR/nbd.sock
listen = tcp:127.0.0.1:$PORT
tls = on
tls_cert = $PKI/server-cert.pem
tls_key = $PKI/server-key.pem
insecure = yes
[disk disk0]
target = $TGT_IQN
lun = 1
portal = 198.18.1.2:3260
EOF
DAEMON_LOG="$FIX_LOGDIR/daemon-bench-tls.log"
ip netns exec "$INI_NS" "$BIN" -f -c "$CONF" --control "$FIX_DIR/control.sock" >"$DAEMON_LOG" 2>&1 &
DAEMON_PID=$!
fixture_trap_add "fixture_kill $DAEMON_PID"
_up() { _socket_accepts "$FIX_DIR/nbd.sock" && grep -q "listening on tcp:127.0.0.1:$PORT" "$DAEMON_LOG"; }
wait_until 30 _up || { tail -n 20 "$DAEMON_LOG" >&2; die "daemon not listening within 30 s"; }

declare -A URI=(
    [plain]="nbd://127.0.0.1:$PORT/disk0"
    [tls]="nbds://127.0.0.1:$PORT/disk0"
)
TICK=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# fio_run MODE NAME RW BS DEPTH -> "iops mbps cpu_s_per_100k"
fio_run() {
    local mode=$1 name=$2 rw=$3 bs=$4 depth=$5 c0 c1 rc=0
    kill -0 "$DAEMON_PID" 2>/dev/null || die "the daemon (pid $DAEMON_PID) is gone"
    c0=$(cpu_ticks "$DAEMON_PID")
    ip netns exec "$INI_NS" env HOME="$PKI/home" timeout $((SECS + 60)) fio --name="$name" --ioengine=nbd --uri="${URI[$mode]}" \
        --rw="$rw" --bs="$bs" --iodepth="$depth" --time_based --runtime="$SECS" \
        --output-format=json --output="$OUT/tls-$mode-$name.json" >"$OUT/tls-$mode-$name.out" 2>&1 || rc=$?
    c1=$(cpu_ticks "$DAEMON_PID")
    (( rc == 0 )) || { cat "$OUT/tls-$mode-$name.out" >&2; die "fio $name ($mode) failed (status $rc)"; }
    /usr/bin/python3 - "$OUT/tls-$mode-$name.json" "$(( c1 - c0 ))" "$TICK" <<'PY' || die "fio $name ($mode): bad result"
import json, sys
j = json.load(open(sys.argv[1]))["jobs"][0]
if j["error"]:
    sys.exit("fio job error %d" % j["error"])
ios = j["read"]["total_ios"] + j["write"]["total_ios"]
if ios == 0:
    sys.exit("no I/O done")
iops = j["read"]["iops"] + j["write"]["iops"]
bw = (j["read"]["bw_bytes"] + j["write"]["bw_bytes"]) / 1e6
print("%.0f %.1f %.2f" % (iops, bw, int(sys.argv[2]) / int(sys.argv[3]) / ios * 100000))
PY
}

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

WORKLOADS=("seqread1m read 1m 4" "seqwrite1m write 1m 4" "randread4k randread 4k 16" "randwrite4k randwrite 4k 16")
declare -A IOPS MBPS CPU
for spec in "${WORKLOADS[@]}"; do
    read -r w rw bs depth <<<"$spec"
    for ((r = 1; r <= RUNS; r++)); do
        for mode in plain tls; do
            log "$w $mode run $r/$RUNS (${SECS}s, bs $bs, iodepth $depth)"
            res=$(fio_run "$mode" "$w-$r" "$rw" "$bs" "$depth")  # fails the script if fio failed
            read -r i m c <<<"$res"
            IOPS[$mode,$w]+="$i "
            MBPS[$mode,$w]+="$m "
            CPU[$mode,$w]+="$c "
        done
    done
done
sessions=$(grep -c "TLS established" "$DAEMON_LOG" || true)
(( sessions >= ${#WORKLOADS[@]} * RUNS )) || die "only $sessions TLS sessions in the daemon log: the TLS runs were not TLS"
tls_line=$(grep -m1 "TLS established" "$DAEMON_LOG" | sed 's/.*TLS established: //')

{
    echo "## NBD over TLS vs plain TCP: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, tgtd LU ${SIZE_MB} MiB on /dev/shm, 1 path"
    echo
    echo "Command: \`make bench-tls\` (tests/bench/tls.sh; BENCH_SECONDS=$SECS, BENCH_RUNS=$RUNS). One daemon, one TCP"
    echo "listener on 127.0.0.1 (tls = on, insecure = yes: plain and TLS clients on the same port), fio $(fio --version)"
    echo "--ioengine=nbd; plain: nbd://, TLS: nbds:// (X.509, CA from HOME/.pki/libnbd; $tls_line)."
    echo "Median of $RUNS runs of ${SECS} s each, plain and TLS alternating. MB/s = 10^6 bytes/s. CPU = the daemon's"
    echo "utime+stime per 100k I/Os."
    echo
    echo "| workload | plain MB/s | TLS MB/s | TLS/plain | plain IOPS | TLS IOPS | plain CPU s/100k | TLS CPU s/100k | runs plain MB/s | runs TLS MB/s |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |"
    for spec in "${WORKLOADS[@]}"; do
        read -r w _ <<<"$spec"
        # shellcheck disable=SC2086
        pm=$(median ${MBPS[plain,$w]}); tm=$(median ${MBPS[tls,$w]})
        # shellcheck disable=SC2086
        pi=$(median ${IOPS[plain,$w]}); ti=$(median ${IOPS[tls,$w]})
        # shellcheck disable=SC2086
        pc=$(median ${CPU[plain,$w]}); tc=$(median ${CPU[tls,$w]})
        ratio=$(awk -v a="$tm" -v b="$pm" 'BEGIN { printf "%.2f", b ? a / b : 0 }')
        echo "| $w | $pm | $tm | $ratio | $pi | $ti | $pc | $tc | ${MBPS[plain,$w]% } | ${MBPS[tls,$w]% } |"
    done
} >"$OUT/tls.md"
cat "$OUT/tls.md"
echo
echo "written to $OUT/tls.md (raw fio JSON next to it)"
stop_daemon
