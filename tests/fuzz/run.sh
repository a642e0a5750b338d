#!/usr/bin/env bash
# Runs the libFuzzer targets named as arguments (built by `make fuzz-build`) and reports executions per target.
#
# Each target fuzzes FUZZ_SECONDS on a copy of tests/fuzz/corpus/<name> in
# $FUZZ_BUILD/corpus/<name>, so the committed corpus is never written to. Crash
# inputs land in $FUZZ_BUILD/artifacts/<name>/. With FUZZ_CHECK_ONLY=1 each
# target only runs its committed corpus and tests/fuzz/crashes/<name> once.
# Exit status: 0 if no target crashed, 1 otherwise.
set -uo pipefail

B=${FUZZ_BUILD:-build/fuzz}
SECS=${FUZZ_SECONDS:-60}
SRC=tests/fuzz
failed=()

for n in "$@"; do
    bin=$B/fuzz_$n
    [[ -x $bin ]] || { echo "fuzz: $bin missing (make fuzz-build)" >&2; exit 1; }
    dict=()
    [[ -f $SRC/$n.dict ]] && dict=(-dict="$SRC/$n.dict")
    mkdir -p "$B/logs" "$B/artifacts/$n"
    log=$B/logs/$n.log

    if [[ ${FUZZ_CHECK_ONLY:-0} == 1 ]]; then
        inputs=("$SRC/corpus/$n")
        [[ -d $SRC/crashes/$n ]] && inputs+=("$SRC/crashes/$n")
        if "$bin" -runs=0 -artifact_prefix="$B/artifacts/$n/" "${inputs[@]}" >"$log" 2>&1; then
            printf 'fuzz-check %-9s ok\n' "$n"
        else
            printf 'fuzz-check %-9s FAIL (see %s)\n' "$n" "$log"
            grep -E '^(==[0-9]+==ERROR|SUMMARY|.*invariant violated)' "$log" | head -5
            failed+=("$n")
        fi
        continue
    fi

    rm -rf "$B/corpus/$n"
    mkdir -p "$B/corpus"
    cp -r "$SRC/corpus/$n" "$B/corpus/$n"
    "$bin" -max_total_time="$SECS" -print_final_stats=1 -keep_seed=1 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$B/artifacts/$n/" "${dict[@]}" "$B/corpus/$n" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    if (( rc == 0 )); then
        printf 'fuzz %-9s %12s executions in %s s, ok\n' "$n" "${execs:-?}" "$SECS"
    else
        printf 'fuzz %-9s %12s executions, CRASH (exit %d, log %s)\n' "$n" "${execs:-?}" "$rc" "$log"
        grep -E '^(==[0-9]+==ERROR|SUMMARY|.*invariant violated|artifact_prefix|Test unit written)' "$log" | head -5
        failed+=("$n")
    fi
done

if (( ${#failed[@]} )); then
    echo "fuzz: FAILED: ${failed[*]}"
    exit 1
fi
echo "fuzz: ${#@} targets, no crash"
