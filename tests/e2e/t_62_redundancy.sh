#!/usr/bin/env bash
# e2e: the redundancy audit against tgtd (3 NICs x 3 portals, 4 LUNs, one daemon): a disk on one
# NIC and two portals (single_nic), a disk on two NICs made to look like the ports of one card by
# a fake sysfs root (single_card), a disk on one portal (single_portal), a disk with one path
# (single_path and the rest) that a `-m node --login -I` makes redundant (the notices), and a NIC
# going down and up (single_nic starts and clears); show redundancy in text and JSON; each warning
# and notice logged once per disk and condition.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/tgt.sh
. tests/lib/faults.sh
need_root
need_tool jq jq
ADM=$BUILD/bin/mpiscsiadm
[[ -x $ADM ]] || die "$ADM not built (run: make all)"

tgt_setup_cross 3 3 16
tgt_add_lun 2 8
tgt_add_lun 3 8
tgt_add_lun 4 8
P1=198.18.1.2:3260 P2=198.18.2.2:3260 P3=198.18.3.2:3260

# A fake sysfs root: veth1 and veth2 are functions 0 and 1 of PCI device 0000:03:00 (a dual-port
# card), veth3 sits on another card. (In the test's namespace the real /sys shows veths without a
# device link: every veth would be a device of its own.)
SYS=$FIX_DIR/sys
mkdir -p "$SYS/class/net/veth1" "$SYS/class/net/veth2" "$SYS/class/net/veth3"
ln -s ../../../0000:03:00.0 "$SYS/class/net/veth1/device"
ln -s ../../../0000:03:00.1 "$SYS/class/net/veth2/device"
ln -s ../../../0000:04:00.0 "$SYS/class/net/veth3/device"
export MPISCSI_TEST_SYSFS_ROOT=$SYS

SOCK=$FIX_DIR/nbd.sock
CONF=$FIX_DIR/mpiscsi.conf
{
    printf '[global]\ninitiator_name = iqn.2026-11.org.mpiscsi.test:ini-%s\n' "$TGT_SUF"
    printf '[nbd]\nlisten = unix:%s\n' "$SOCK"
    # (a) one NIC, two portals
    printf '[disk nic1]\ntarget = %s\nlun = 1\nportal = %s\nportal = %s\ninterface = veth1\n' "$TGT_IQN" "$P1" "$P2"
    # (b) two NICs of one card, two portals
    printf '[disk card]\ntarget = %s\nlun = 2\nportal = %s\nportal = %s\ninterface = veth1\ninterface = veth2\n' \
        "$TGT_IQN" "$P1" "$P2"
    # (c) two NICs on two cards, one portal
    printf '[disk portal]\ntarget = %s\nlun = 3\nportal = %s\ninterface = veth1\ninterface = veth3\n' "$TGT_IQN" "$P1"
    # (d) one path, to be joined by a second one at run time
    printf '[disk grow]\ntarget = %s\nlun = 4\nportal = %s\ninterface = veth3\n' "$TGT_IQN" "$P3"
} >"$CONF"
ini_exec "$BUILD/bin/mpiscsid" --check-config -c "$CONF" >/dev/null || die "config refused: $CONF"
DAEMON_ARGS=(-c "$CONF")
start_daemon "$SOCK"
adm() { ini_exec timeout 30 "$ADM" -s "$DAEMON_CTL" "$@"; }
usable() { adm --json show redundancy | jq -r --arg d "$1" '.disks[] | select(.disk == $d) | .usable_paths'; }
conds() { adm --json show redundancy | jq -r --arg d "$1" '[.disks[] | select(.disk == $d) | .conditions[].name] | join(",")'; }
# logged TEXT: how many daemon log lines contain TEXT; logged_line TEXT: how many are exactly
# "<time> mpiscsid[<level>]: TEXT"
logged() { grep -cF -- "$1" "$DAEMON_LOG" || true; }
logged_line() { awk -v s="]: $1" 'length($0) >= length(s) && substr($0, length($0) - length(s) + 1) == s' "$DAEMON_LOG" | wc -l; }
want_usable() { [[ $(usable nic1) == 2 && $(usable card) == 4 && $(usable portal) == 2 && $(usable "$1") == "$2" ]]; }
wait_until 30 want_usable grow 1 ||
    die "paths did not come up: $(adm show redundancy 2>&1; adm show paths 2>&1)"
log "ok: nic1 2, card 4, portal 2, grow 1 usable paths"

# ---- what holds at start, in show redundancy (immediate) and in the log (once settled)
[[ $(conds nic1) == single_nic,active_group_single_nic,single_card ]] || die "nic1: $(conds nic1)"
[[ $(conds card) == single_card ]] || die "card: $(conds card)"
[[ $(conds portal) == single_portal ]] || die "portal: $(conds portal)"
[[ $(conds grow) == single_path,single_nic,active_group_single_nic,single_card,single_portal ]] || die "grow: $(conds grow)"

W_NIC1="disk nic1: redundancy: every usable path leaves through veth1"
W_CARD="disk card: redundancy: veth1 and veth2 are ports of one card (0000:03:00)"
W_PORTAL="disk portal: redundancy: every usable path goes to portal $P1"
W_GROW="disk grow: redundancy: only one usable path: through veth3 to $P3"
all_warned() { [[ $(logged_line "$W_NIC1") == 1 && $(logged_line "$W_CARD") == 1 && $(logged_line "$W_PORTAL") == 1 &&
                  $(logged_line "$W_GROW") == 1 ]]; }
wait_until 10 all_warned || { grep redundancy "$DAEMON_LOG" >&2; die "start-up warnings missing (above)"; }
(( $(logged "disk nic1: redundancy: every usable path leaves through veth1, on card 0000:03:00") == 1 )) ||
    die "nic1: single_card warning missing"
(( $(logged "disk grow: redundancy:") == 5 )) || die "grow: want 5 warnings: $(grep 'disk grow: redundancy' "$DAEMON_LOG")"
(( $(logged "disk card: redundancy:") == 1 && $(logged "disk portal: redundancy:") == 1 )) ||
    die "card/portal: one warning each: $(grep redundancy "$DAEMON_LOG")"
(( $(logged "redundancy restored") == 0 )) || die "a notice at start: $(grep 'redundancy restored' "$DAEMON_LOG")"
grep -qE 'mpiscsid\[warn\]: disk nic1: redundancy: every usable path leaves through veth1$' "$DAEMON_LOG" ||
    die "the warning is not logged at warning level"
log "ok: (a) single_nic, (b) single_card via the fake sysfs root, (c) single_portal, (d) single_path: one warning each"

# ---- show redundancy: text and JSON
out=$(adm show redundancy) || die "show redundancy failed"
grep -qx 'nic1 single_nic,active_group_single_nic,single_card (2 usable paths)' <<<"$out" || die "text: $out"
grep -qx '  single_nic: every usable path leaves through veth1' <<<"$out" || die "text reason: $out"
grep -qx 'card single_card (4 usable paths)' <<<"$out" || die "text: $out"
grep -qx '  single_card: veth1 and veth2 are ports of one card (0000:03:00)' <<<"$out" || die "text reason: $out"
grep -qx "  single_portal: every usable path goes to portal $P1" <<<"$out" || die "text reason: $out"
grep -qx 'grow single_path,single_nic,active_group_single_nic,single_card,single_portal (1 usable path)' <<<"$out" ||
    die "text: $out"
# 4 disk lines, 3 + 1 + 1 + 5 condition lines
[[ $(wc -l <<<"$out") == 14 ]] || die "text: one line per disk and per condition: $out"
adm --json show redundancy | jq -e '.disks | length == 4 and all(.[]; .ok == false and (.conditions | length) >= 1
    and all(.conditions[]; (.name | type) == "string" and (.reason | length) > 0))' >/dev/null ||
    die "JSON: $(adm --json show redundancy)"
log "ok: show redundancy (text, --json)"

# ---- (d) a second path for grow, through veth2 (the other card) to another portal: all clear
adm -m node -T "$TGT_IQN" -p "$P2" -I veth2 --lun 4 --login >/dev/null || die "node login failed"
wait_until 20 want_usable grow 2 || die "grow's second path did not come up: $(adm show paths)"
[[ $(adm --json show redundancy | jq -r '.disks[] | select(.disk == "grow") | .ok') == true ]] ||
    die "grow not ok with 2 paths: $(adm show redundancy)"
grep -qx 'grow ok (2 usable paths)' <<<"$(adm show redundancy)" || die "text: $(adm show redundancy)"
grow_cleared() {
    local c
    for c in single_path single_nic active_group_single_nic single_card single_portal; do
        [[ $(logged_line "disk grow: redundancy restored: $c no longer holds") == 1 ]] || return 1
    done
}
wait_until 10 grow_cleared || { grep 'disk grow' "$DAEMON_LOG" >&2; die "grow: notices missing (above)"; }
grep -qE 'mpiscsid\[info\]: disk grow: redundancy restored: single_path no longer holds$' "$DAEMON_LOG" ||
    die "the notice is not logged at info level"
(( $(logged "disk grow: redundancy:") == 5 )) || die "grow: warned again: $(grep 'disk grow' "$DAEMON_LOG")"
log "ok: (d) a path added with -m node --login -I: five notices, verdict ok"

# ---- a NIC goes down and comes back: card's paths all leave through veth1, then not
fault_nic_down 2
wait_until 20 eval '[[ $(usable card) == 2 && $(usable grow) == 1 ]]' || die "veth2 down: $(adm show redundancy)"
[[ $(conds card) == single_nic,active_group_single_nic,single_card ]] || die "card with veth2 down: $(conds card)"
W_CARD_NIC="disk card: redundancy: every usable path leaves through veth1"
wait_until 10 eval '[[ $(logged_line "$W_CARD_NIC") == 1 ]]' || die "card: single_nic warning missing"
fault_nic_up 2
wait_until 30 eval '[[ $(usable card) == 4 && $(usable grow) == 2 ]]' || die "veth2 up: $(adm show redundancy)"
wait_until 10 eval '[[ $(logged_line "disk card: redundancy restored: single_nic no longer holds") == 1 ]]' ||
    die "card: single_nic notice missing"
(( $(logged_line "disk card: redundancy restored: active_group_single_nic no longer holds") == 1 )) ||
    die "card: active_group_single_nic notice missing"
(( $(logged_line "$W_CARD") == 1 )) || die "card: single_card warned again while it held all along"
(( $(logged_line "$W_CARD_NIC") == 1 && $(logged_line "$W_NIC1") == 1 )) || die "a warning logged twice"
(( $(logged "disk card: redundancy restored: single_card") == 0 )) || die "card: single_card cannot clear"
log "ok: NIC down: single_nic on card; NIC up: cleared, once each"

stop_daemon
log "PASS"
