#!/usr/bin/env bash
# Runs every tests/e2e/t_*.sh (or the ones named as arguments) against real tgtd and NBD clients.
#
# Environment: BUILD (default build), E2E_TEST_TIMEOUT (seconds per test, default 600),
# E2E_BRIDGE=qemu-nbd (validate the test logic against qemu-nbd instead of mpiscsid).
# Logs: $BUILD/e2e/<test>.log (script output) and $BUILD/e2e/<test>/ (tgtd, daemon logs).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
export BUILD
TIMEOUT=${E2E_TEST_TIMEOUT:-600}

if [[ $(id -u) -ne 0 ]]; then
    echo "FAIL: the end-to-end tests need root (network namespaces, tgtd): sudo make e2e" >&2
    echo "0 passed, 1 failed"
    exit 1
fi

# Every peer the tests use: command -> Debian package.
missing=()
need() { command -v "$1" >/dev/null 2>&1 || missing+=("'$1' (package $2)"); }
need tgtd tgt
need tgtadm tgt
need ip iproute2
need ss iproute2
need qemu-img qemu-utils
need qemu-io qemu-utils
need qemu-nbd qemu-utils
need nbdinfo libnbd-bin
need nbdcopy libnbd-bin
need fio fio
need cmp diffutils
need timeout coreutils
need pgrep procps
[[ -x /usr/bin/python3 ]] || missing+=("'/usr/bin/python3' (package python3)")
if [[ ${E2E_BRIDGE:-mpiscsid} == qemu-nbd ]]; then
    compgen -G '/usr/lib/*/qemu/block-iscsi.so' >/dev/null || missing+=("qemu iSCSI driver (package qemu-block-extra)")
    echo "# WARNING: E2E_BRIDGE=qemu-nbd: these runs test qemu-nbd, NOT mpiscsid"
else
    [[ -x $BUILD/bin/mpiscsid ]] || missing+=("'$BUILD/bin/mpiscsid' (run: make all)")
fi
if (( ${#missing[@]} )); then
    for m in "${missing[@]}"; do echo "FAIL: missing $m; make deps installs the packages" >&2; done
    echo "0 passed, 1 failed"
    exit 1
fi

if (( $# )); then
    tests=()
    for a in "$@"; do
        t=tests/e2e/${a%.sh}.sh
        [[ -f $t ]] || { echo "FAIL: no such test: $a" >&2; exit 1; }
        tests+=("$t")
    done
else
    mapfile -t tests < <(find tests/e2e -maxdepth 1 -name 't_*.sh' | sort)
fi
(( ${#tests[@]} )) || { echo "FAIL: no tests/e2e/t_*.sh found" >&2; echo "0 passed, 1 failed"; exit 1; }

LOGROOT=$(realpath -m "$BUILD/e2e")
mkdir -p "$LOGROOT"
pass=0 fail=0
current=""
on_signal() {
    if [[ -n $current ]]; then
        kill -TERM -- "-$current" 2>/dev/null || true
        # let the test's EXIT trap remove its fixture (bounded), then kill what is left
        local i
        for ((i = 0; i < 300; i++)); do
            kill -0 "$current" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL -- "-$current" 2>/dev/null || true
    fi
    echo "interrupted"
    exit 130
}
trap on_signal INT TERM

for t in "${tests[@]}"; do
    name=$(basename "$t" .sh)
    logf="$LOGROOT/$name.log"
    rm -rf "${LOGROOT:?}/$name"
    mkdir -p "$LOGROOT/$name"
    t0=$(date +%s%N)
    # timeout runs the test in its own process group (pgid = its pid) and signals the
    # whole group on expiry; the test's EXIT trap then removes its fixture.
    E2E_LOGDIR="$LOGROOT/$name" timeout -k 30 "$TIMEOUT" bash "$t" >"$logf" 2>&1 &
    current=$!
    rc=0; wait "$current" || rc=$?
    secs=$(awk -v ns=$(( $(date +%s%N) - t0 )) 'BEGIN { printf "%.1f", ns / 1e9 }')
    # Leak check: the namespaces the fixture recorded, processes left in the test's group.
    leaks=""
    if [[ -f $LOGROOT/$name/fixture.ns ]]; then
        for ns in $(cat "$LOGROOT/$name/fixture.ns"); do
            if [[ -e /run/netns/$ns ]]; then
                leaks+=" namespace left: $ns;"
                ip netns del "$ns" 2>/dev/null || true
            fi
        done
    fi
    left=$(pgrep -g "$current" 2>/dev/null | tr '\n' ' ' || true)
    if [[ -n $left ]]; then
        leaks+=" processes left: $left;"
        kill -KILL -- "-$current" 2>/dev/null || true
    fi
    current=""
    if (( rc == 0 )) && [[ -z $leaks ]]; then
        printf 'ok   %-20s %6ss\n' "$name" "$secs"
        pass=$((pass + 1))
    else
        (( rc == 124 || rc == 137 )) && why="timed out after ${TIMEOUT}s" || why="status $rc"
        printf 'FAIL %-20s %6ss  (%s%s) log: %s\n' "$name" "$secs" "$why" "$leaks" "$logf"
        tail -n 25 "$logf" | sed 's/^/    | /'
        # CI keeps only what is printed: the daemon's warnings and errors too (the last 40).
        for dl in "$LOGROOT/$name"/daemon*.log; do
            [[ -f $dl ]] || continue
            echo "    | --- ${dl##*/}: last warnings and errors"
            grep -E '\[(warn|err)\]|ERROR|runtime error' "$dl" | tail -n 40 | cut -c1-240 | sed 's/^/    | /'
        done
        # a LIO fixture's network check (lio_diag), if the test ran it
        if grep -qE '^# lio_diag' "$logf"; then
            echo "    | --- lio_diag (last)"
            grep -E '^# lio_diag|^#   (path [0-9]|host tap|guest: )' "$logf" | tail -n 30 | sed 's/^/    | /'
        fi
        # a LIO or host guest's kernel complaints (its console)
        for cl in "$LOGROOT/$name"/*-console.log; do
            [[ -f $cl ]] || continue
            echo "    | --- ${cl##*/}: kernel warnings"
            grep -aiE 'warn|error|fail|stall|oom|timeout|bug|tainted|reset|link' "$cl" | tail -n 15 | cut -c1-200 |
                sed 's/^/    | /'
        done
        fail=$((fail + 1))
    fi
done
echo "$pass passed, $fail failed"
(( fail == 0 ))
