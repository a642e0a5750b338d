# shellcheck shell=bash
# Sourceable fixture: QEMU (TCG) guests that boot through their firmware from a disk image built
# by tests/targets/guest/build.sh, and the workload of its init.sh (see there).
#
# Source tests/lib/tgt.sh first (die, log, need_tool, fixture_tmpdir, fixture_trap_add,
# fixture_kill, wait_until), then this file, from a `set -euo pipefail` root script.
# Every qemu is killed by PID in the EXIT trap, also when the caller fails.
#
# API
#   guest_build                 build or reuse the image; sets GUEST_IMG (do not write to it: copy
#                               it, e.g. qemu-img convert onto a disk)
#   guest_start NAME SETTINGS QEMU_DISK_ARGS...   (NAME: letters, digits, _)
#                               start qemu-system-x86_64 (-accel tcg, q35, SeaBIOS, 256 MiB, no
#                               NIC, no -kernel: the firmware boots the disk) with the given disk
#                               options; SETTINGS "rounds=until-stop round_kib=4096" become
#                               -fw_cfg name=opt/org.mpiscsi/KEY,string=VALUE. Console (ttyS0) in
#                               $FIX_LOGDIR/NAME.console, control (ttyS1) through a FIFO pair.
#                               Sets GUEST_PID_<NAME>, GUEST_T0_<NAME> (start, ms). With
#                               GUEST_NETNS set, qemu runs in that network namespace.
#   guest_console NAME          print the console log's path
#   guest_wait NAME REGEX TIMEOUT   wait until a console line matches REGEX (grep -E); false after
#                               TIMEOUT s or as soon as qemu exited without such a line
#   guest_line_ms NAME REGEX    ms from qemu's start to the first console line matching REGEX,
#                               taken from the console's arrival times (guest_start records each
#                               line's host time in NAME.times)
#   guest_rounds NAME           number of "ROUND n PASS" lines so far
#   guest_wait_rounds NAME N TIMEOUT   wait until N rounds passed; dies on a failed round, on
#                               qemu's exit or after TIMEOUT s, printing the console's tail
#   guest_stop NAME             send "stop" on the control port (ends an until-stop workload)
#   guest_wait_exit NAME TIMEOUT    wait for qemu to exit; its status in GUEST_RC
#   guest_kill NAME             kill qemu now (TERM, then KILL)
#   guest_check NAME            die unless the console holds "RESULT PASS", no failed ROUND or
#                               VERIFY, no KERNEL (kernel I/O error) line and no I/O error text
# Packages: qemu-system-x86 (qemu-system-x86_64, SeaBIOS), qemu-utils, coreutils.

GUEST_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${GUEST_MEM:=256}"

guest_build() {
    need_tool qemu-system-x86_64 qemu-system-x86
    [[ -e /usr/share/seabios/bios-256k.bin || -e /usr/share/qemu/bios-256k.bin ]] ||
        die "SeaBIOS missing: install package seabios (qemu-system-x86 depends on it)"
    "$GUEST_SRC/build.sh" -q || die "guest image build failed (tests/targets/guest/build.sh)"
    GUEST_IMG=${GUEST_CACHE:-$GUEST_SRC/../../../build/guest-cache}/guest.img
    GUEST_IMG=$(realpath "$GUEST_IMG")
    [[ -s $GUEST_IMG ]] || die "no $GUEST_IMG after the build"
}

guest_console() { printf '%s\n' "$FIX_LOGDIR/$1.console"; }

# The console reader: copies the console stream (argv[1], a FIFO qemu writes) to argv[2] and,
# per line, "MS LINE" to argv[2].times (ms since the epoch when the line arrived), so that boot
# times come from the console itself. Ends at the FIFO's end of file (qemu exited).
_guest_reader_py() {
    [[ -f $FIX_DIR/guest_console.py ]] && return 0
    cat >"$FIX_DIR/guest_console.py" <<'PY'
import sys, time
src, dst = sys.argv[1], sys.argv[2]
fin = open(src, "rb", buffering=0)
with open(dst, "wb", buffering=0) as out, open(dst + ".times", "w", buffering=1) as times:
    line = b""
    while True:
        b = fin.read(4096)
        if not b:
            break
        out.write(b)
        line += b
        while b"\n" in line:
            l, line = line.split(b"\n", 1)
            times.write("%d %s\n" % (time.time_ns() // 1000000, l.decode("utf-8", "replace").rstrip("\r")))
    if line:
        times.write("%d %s\n" % (time.time_ns() // 1000000, line.decode("utf-8", "replace")))
PY
}

guest_start() {
    local name=$1 settings=$2; shift 2
    [[ $name =~ ^[A-Za-z0-9_]+$ ]] || die "guest_start: NAME '$name' must be letters, digits, _"
    fixture_tmpdir
    _guest_reader_py
    local con="$FIX_LOGDIR/$name.console" fifo="$FIX_DIR/$name.ctl" s k v
    local -a fw=()
    for s in $settings; do
        k=${s%%=*}; v=${s#*=}
        fw+=(-fw_cfg "name=opt/org.mpiscsi/$k,string=$v")
    done
    rm -f "$con" "$con.times" "$fifo.in" "$fifo.out" "$FIX_DIR/$name.serial"
    mkfifo "$fifo.in" "$fifo.out" "$FIX_DIR/$name.serial"
    # qemu writes the console into a FIFO; a reader stamps each line with its arrival time
    /usr/bin/python3 -u "$FIX_DIR/guest_console.py" "$FIX_DIR/$name.serial" "$con" &
    local rpid=$!
    fixture_trap_add "fixture_kill $rpid"
    printf -v "GUEST_T0_$name" '%s' "$(date +%s%3N)"
    ${GUEST_NETNS:+ip netns exec "$GUEST_NETNS"} qemu-system-x86_64 -name "mpiscsi-$name" -nodefaults -machine q35 -accel tcg -cpu max \
        -m "$GUEST_MEM" -display none -no-reboot \
        -serial "file:$FIX_DIR/$name.serial" \
        -chardev "pipe,id=ctl,path=$fifo" -serial chardev:ctl \
        "${fw[@]}" "$@" >"$FIX_LOGDIR/$name.qemu.log" 2>&1 &
    local pid=$!
    printf -v "GUEST_PID_$name" '%s' "$pid"
    printf -v "GUEST_RPID_$name" '%s' "$rpid"
    fixture_trap_add "fixture_kill $pid"
    log "guest $name: qemu pid $pid, console $con"
}

_guest_pid() { local v="GUEST_PID_$1"; printf '%s\n' "${!v:-}"; }
_guest_gone() { local p; p=$(_guest_pid "$1"); [[ -z $p ]] || ! kill -0 "$p" 2>/dev/null ||
    [[ $(awk '{print $3}' "/proc/$p/stat" 2>/dev/null) == Z ]]; }
_guest_has() { grep -qE "$2" "$FIX_LOGDIR/$1.console" 2>/dev/null; }
_guest_has_or_gone() { _guest_has "$1" "$2" || _guest_gone "$1"; }

guest_wait() {
    local name=$1 re=$2 t=$3
    wait_until "$t" _guest_has_or_gone "$name" "$re" || return 1
    # qemu may have exited right after printing it
    _guest_has "$name" "$re"
}

guest_line_ms() {
    local name=$1 re=$2 t0v="GUEST_T0_$1"
    awk -v t0="${!t0v}" -v re="$re" '{ ms = $1; sub(/^[0-9]+ /, ""); if ($0 ~ re) { print ms - t0; exit } }' \
        "$FIX_LOGDIR/$name.console.times"
}

guest_rounds() { grep -cE 'mpiscsi-guest: ROUND [0-9]+ PASS' "$FIX_LOGDIR/$1.console" 2>/dev/null || true; }

_guest_tail() { tail -n "${2:-15}" "$FIX_LOGDIR/$1.console" | tr -d '\r' | sed 's/^/#   console| /' >&2; }

_guest_rounds_ge() {
    _guest_gone "$1" && return 0
    grep -qE 'mpiscsi-guest: (ROUND [0-9]+ FAIL|RESULT)' "$FIX_LOGDIR/$1.console" 2>/dev/null && return 0
    (( $(guest_rounds "$1") >= $2 ))
}
guest_wait_rounds() {
    local name=$1 n=$2 t=$3
    if ! wait_until "$t" _guest_rounds_ge "$name" "$n"; then
        _guest_tail "$name"
        die "guest $name: $(guest_rounds "$name") round(s) passed, not $n within $t s (console above)"
    fi
    if grep -qE 'mpiscsi-guest: (ROUND [0-9]+ FAIL|RESULT)' "$FIX_LOGDIR/$name.console" || _guest_gone "$name" ||
       (( $(guest_rounds "$name") < n )); then
        _guest_tail "$name"
        die "guest $name: workload failed or ended before round $n (console above)"
    fi
}

guest_stop() {
    local name=$1
    _guest_gone "$name" && die "guest $name: qemu exited before it was told to stop"
    # qemu holds the FIFO open for reading, so this open does not block; bounded anyway
    timeout 10 sh -c 'echo stop >"$1"' sh "$FIX_DIR/$name.ctl.in" ||
        die "guest $name: could not write to its control port"
}

guest_wait_exit() {
    local name=$1 t=$2 pid
    pid=$(_guest_pid "$name")
    if ! wait_until "$t" _guest_gone "$name"; then
        _guest_tail "$name"
        die "guest $name: qemu (pid $pid) still running $t s later (console above)"
    fi
    GUEST_RC=0
    wait "$pid" 2>/dev/null || GUEST_RC=$?
    # the console reader ends at the FIFO's EOF
    local rv="GUEST_RPID_$name"
    wait_until 5 _guest_pid_gone "${!rv}" || true
}
_guest_pid_gone() { ! kill -0 "$1" 2>/dev/null || [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) == Z ]]; }

guest_kill() { fixture_kill "$(_guest_pid "$1")"; }

guest_check() {
    local name=$1 con bad
    con=$FIX_LOGDIR/$name.console
    bad=$(tr -d '\r' <"$con" | grep -iE 'mpiscsi-guest: (ROUND [0-9]+ FAIL|VERIFY .* FAILED|KERNEL:|RESULT FAIL)|i/o error|blk_update_request|buffer i/o|ext4-fs error|kernel panic' || true)
    if [[ -n $bad ]]; then
        sed 's/^/#   console| /' <<<"$bad" >&2
        die "guest $name: I/O errors or failed checks in the guest (lines above; console: $con)"
    fi
    grep -q 'mpiscsi-guest: RESULT PASS' "$con" || { _guest_tail "$name"; die "guest $name: no RESULT PASS line (console: $con)"; }
    (( ${GUEST_RC:-0} == 0 )) || die "guest $name: qemu exited with status $GUEST_RC (log: $FIX_LOGDIR/$name.qemu.log)"
}
