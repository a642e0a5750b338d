#!/usr/bin/env bash
# e2e: failback policies with two path groups. 2 NICs x 2 portals; prio = veth1 80 (veth2's
# paths keep the default 50). A libnbd client keeps 8 random 4 KiB I/Os (reads and verified
# pattern writes) in flight; where I/O goes is read from target-side per-path byte counters
# (nftables), path states from mpiscsiadm --json show paths.
#   immediate   veth1 down -> I/O on group 50; veth1 up -> back on group 80 within 3 s
#   manual      ... stays on 50 (3 s) until mpiscsiadm switchgroup disk0 80
#   followover  veth1 down/up -> back on 80 (the group's first path became active);
#               switchgroup 50 -> stays on 50; one group-80 path failed and reinstated
#               (not the group's first active path) -> still stays on 50
#   failback=2  back on 80 only after ~2 s (not within 1.2 s of the paths being up, by 6 s)
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/tgt.sh
. tests/lib/faults.sh
need_root
ctl_available || die "mpiscsid has no --control or mpiscsiadm no -s (build: make all)"

tgt_setup_cross 2 2 64
count_on
SOCK="$FIX_DIR/nbd.sock"
URI=$(nbd_uri "$SOCK")
G80=1 G50=2          # target-side path specs: NIC 1's paths (prio 80), NIC 2's paths (prio 50)

start_policy() {
    local policy=$1
    write_cross_conf "$FIX_DIR/$policy.conf" "$SOCK" "prio = veth1 80
failback = $policy
no_path_retry = 10"
    DAEMON_ARGS=(-c "$FIX_DIR/$policy.conf")
    start_daemon "$SOCK"
    CTL=$DAEMON_CTL
    wait_until 10 ctl_nic_up "$CTL" 1 2 && wait_until 10 ctl_nic_up "$CTL" 2 2 ||
        { ctl_paths "$CTL" >&2; die "$policy: not all 4 paths up"; }
    probe_start "load_$policy" "$URI" 8 4096 rw
    wait_paths_busy 10 $G80 || { count_show 1 1 2 >&2; die "$policy: no I/O on group 80 at start"; }
    paths_idle 1 $G50 || { count_show 1 1 2 >&2; die "$policy: group 50 carries I/O while group 80 is up"; }
}

stop_policy() {
    local policy=$1
    probe_stop "load_$policy" || die "$policy: client I/O failed: $PROBE_RESULT"
    log "$policy: client: $PROBE_RESULT"
    daemon_alive || die "$policy: daemon died"
    stop_daemon
}

# veth1 down -> group 50; veth1 up; prints the heal time (ms)
fail_over_and_heal() {
    local policy=$1
    fault_nic_down 1
    wait_paths_busy 5 $G50 || { count_show 1 1 2 >&2; die "$policy: no failover to group 50"; }
    paths_idle 1 $G80 || die "$policy: group 80 still carries I/O with veth1 down"
    fault_nic_up 1
    T_HEAL=$(fault_ts_ms)
}

on_group() {   # on_group POLICY PRIO WHAT: I/O on group PRIO now (1 s window), the other idle
    local policy=$1 prio=$2 what=$3 busy idle
    if [[ $prio == 80 ]]; then busy=$G80 idle=$G50; else busy=$G50 idle=$G80; fi
    wait_paths_busy 3 $busy && paths_idle 1 $idle || {
        count_show 1 1 2 >&2; ctl_paths "$CTL" >&2; die "$policy: $what: I/O is not on group $prio"; }
}

# ---------------------------------------------------------------- immediate
start_policy immediate
fail_over_and_heal immediate
wait_paths_busy 3 $G80 || { count_show 1 1 2 >&2; ctl_paths "$CTL" >&2; die "immediate: no failback to group 80 within 3 s of healing"; }
log "immediate: I/O back on group 80 $(( $(fault_ts_ms) - T_HEAL )) ms after veth1 came up"
on_group immediate 80 "after failback"
stop_policy immediate

# ---------------------------------------------------------------- manual
start_policy manual
fail_over_and_heal manual
wait_until 10 ctl_nic_up "$CTL" 1 2 || die "manual: veth1's paths not up again"
paths_idle 3 $G80 || { count_show 1 1 2 >&2; die "manual: I/O failed back to group 80 by itself"; }
on_group manual 50 "3 s after veth1's paths are up"
"$BUILD/bin/mpiscsiadm" -s "$CTL" switchgroup disk0 80 || die "manual: mpiscsiadm switchgroup disk0 80 failed"
on_group manual 80 "after switchgroup disk0 80"
stop_policy manual

# ---------------------------------------------------------------- followover
start_policy followover
fail_over_and_heal followover
wait_paths_busy 4 $G80 || { count_show 1 1 2 >&2; ctl_paths "$CTL" >&2; die "followover: no failback when group 80's first path became active"; }
log "followover: I/O back on group 80 $(( $(fault_ts_ms) - T_HEAL )) ms after veth1 came up"
on_group followover 80 "after the group came back"
"$BUILD/bin/mpiscsiadm" -s "$CTL" switchgroup disk0 50 || die "followover: switchgroup disk0 50 failed"
on_group followover 50 "after switchgroup disk0 50"
paths_idle 3 $G80 || die "followover: I/O went back to group 80 after an operator's switchgroup 50"
P=$(ctl_paths "$CTL" | awk '$2 == "veth1" { print $1; exit }')
[[ -n $P ]] || die "followover: no veth1 path id"
"$BUILD/bin/mpiscsiadm" -s "$CTL" fail path "$P" || die "followover: fail path $P"
"$BUILD/bin/mpiscsiadm" -s "$CTL" reinstate path "$P" || die "followover: reinstate path $P"
paths_idle 3 $G80 || die "followover: a reinstated path (not the group's first active one) pulled I/O back to group 80"
on_group followover 50 "after fail/reinstate of path $P"
stop_policy followover

# ---------------------------------------------------------------- deferred (2 s)
start_policy 2
fail_over_and_heal 2
wait_until 10 ctl_nic_up "$CTL" 1 2 || die "failback=2: veth1's paths not up again"
T_UP=$(fault_ts_ms)
paths_idle 1.2 $G80 || { count_show 1 1 2 >&2; die "failback=2: I/O back on group 80 within 1.2 s of the paths being up"; }
wait_paths_busy 5 $G80 || { count_show 1 1 2 >&2; ctl_paths "$CTL" >&2; die "failback=2: no failback within 6 s"; }
D=$(( $(fault_ts_ms) - T_UP ))
log "failback=2: I/O back on group 80 $D ms after veth1's paths were up"
on_group 2 80 "after the deferred failback"
stop_policy 2

echo "t_71_failback: immediate, manual, followover, deferred: ok"
