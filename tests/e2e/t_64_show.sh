#!/usr/bin/env bash
# e2e: mpiscsiadm's multipathd-style show commands against tgtd. Two disks: disk0 over 2 NICs x 2
# portals with "prio = veth1 80" (groups 80 and 50), disk1 (LUN 2) over one path. Checks: show maps
# (golden text; JSON with numbers as numbers), show topology NAME (golden; unknown name exits 1),
# show paths NAME (only that disk; path objects with target/portal/iface/lun/state/alua_state/prio/id
# typed), --json and -s/--control after the command words, group status across faults (80 active
# and 50 enabled; veth1 down: 80 failed, 50 active; operator fail of group 80's paths: disabled),
# and reconfigure's JSON counts (a disk removed, then added).
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/tgt.sh
. tests/lib/faults.sh
need_root
need_tool jq jq
ADM=$BUILD/bin/mpiscsiadm
[[ -x $ADM ]] || die "$ADM not built (run: make all)"
GOLDEN=tests/e2e/golden

tgt_setup_cross 2 2 64
tgt_add_lun 2 32
SOCK="$FIX_DIR/nbd.sock"
CONF="$FIX_DIR/mpiscsi.conf"
DISK1=$'[disk disk1]\ntarget = '"$TGT_IQN"$'\nlun = 2\nportal = 198.18.2.2:3260\ninterface = veth2'
write_conf() {   # [disk1 too: 1]
    write_cross_conf "$CONF" "$SOCK" "prio = veth1 80
failback = immediate${1:+
$DISK1}"
}
write_conf 1
DAEMON_ARGS=(-c "$CONF")
start_daemon "$SOCK"
adm() { ini_exec timeout 30 "$ADM" "$@"; }
CTL=$DAEMON_CTL
up_paths() { adm -s "$CTL" --json show paths | jq '[.paths[] | select(.state == "up")] | length'; }
wait_until 20 eval '[[ $(up_paths) == 5 ]]' || die "not 5 paths up: $(adm -s "$CTL" show paths 2>&1)"

norm() { sed -e "s/$TGT_SUF/SUF/g" -e 's/naa\.[0-9a-f]\{16,32\}/naa.ID/g' "$@"; }

# ---- 1. show maps, show topology NAME, show paths NAME (text)
golden show_maps adm -s "$CTL" show maps
golden show_topology_disk0 adm -s "$CTL" show topology disk0
out=$(adm -s "$CTL" show topology disk1) || die "show topology disk1 failed"
[[ $out == disk1\ * && $out != *disk0* ]] || die "show topology disk1 shows more than disk1: $out"
rc=0; err=$(adm -s "$CTL" show topology nosuch 2>&1) || rc=$?
(( rc == 1 )) && [[ $err == *ENOENT*nosuch* ]] || die "show topology of an unknown disk: exit $rc, '$err'"
rc=0; adm -s "$CTL" show paths nosuch >/dev/null 2>&1 || rc=$?
(( rc == 1 )) || die "show paths of an unknown disk: exit $rc, want 1"
out=$(adm -s "$CTL" show paths disk1) || die "show paths disk1 failed"
[[ $(wc -l <<<"$out") == 2 && $(tail -n 1 <<<"$out") == *" disk1 "* ]] || die "show paths disk1: $out"
log "ok: show maps, show topology NAME (unknown: exit 1), show paths NAME"

# ---- 2. options after the command words; JSON types
for form in "show paths --json" "--json show paths" "show paths -j" "show --json paths"; do
    # shellcheck disable=SC2086
    n=$(ini_exec timeout 30 "$ADM" $form --control "$CTL" | jq '.paths | length') || die "'$form' failed"
    [[ $n == 5 ]] || die "'$form': $n paths, want 5"
done
adm show topology disk0 --socket "$CTL" --json | jq -e '.disks | length == 1' >/dev/null ||
    die "--socket and --json after 'show topology disk0'"
adm -s "$CTL" switchgroup disk0 80 --json | jq -e '.active_prio == 80' >/dev/null || die "switchgroup ... --json"
adm -s "$CTL" --json show maps >"$FIX_DIR/maps.json" || die "show maps --json failed"
adm -s "$CTL" show paths disk0 --json >"$FIX_DIR/paths.json" || die "show paths disk0 --json failed"
adm -s "$CTL" show topology --json >"$FIX_DIR/topo.json" || die "show topology --json failed"
/usr/bin/python3 - "$FIX_DIR" "$TGT_IQN" <<'PY' || die "JSON field checks failed (FAIL lines above)"
import json, sys
d, iqn = sys.argv[1], sys.argv[2]
maps = json.load(open(d + "/maps.json"))["maps"]
paths = json.load(open(d + "/paths.json"))["paths"]
topo = json.load(open(d + "/topo.json"))["disks"]
bad = []
def check(c, what):
    if not c:
        bad.append(what); print("FAIL: " + what)
def is_int(v): return isinstance(v, int) and not isinstance(v, bool)
check([m["name"] for m in maps] == ["disk0", "disk1"], "maps names %r" % [m.get("name") for m in maps])
for m in maps:
    check(isinstance(m["wwid"], str) and m["wwid"].startswith("naa."), "map wwid %r" % m.get("wwid"))
    for k in ("size_bytes", "paths", "paths_up", "paths_usable", "queued", "active_prio"):
        check(is_int(m.get(k)), "map %s.%s is a number (%r)" % (m["name"], k, m.get(k)))
    check(m["state"] == "ok", "map %s state %r" % (m["name"], m.get("state")))
check(maps[0]["size_bytes"] == 64 << 20 and maps[1]["size_bytes"] == 32 << 20, "map sizes")
check(maps[0]["paths"] == 4 and maps[1]["paths"] == 1, "map path counts")
check(len(paths) == 4 and all(p["disk"] == "disk0" for p in paths), "show paths disk0 lists only disk0's 4 paths")
for p in paths:
    for k in ("id", "prio", "lun", "inflight", "submitted", "completed", "errors", "lat_ewma_us"):
        check(is_int(p.get(k)), "path %s.%s is a number (%r)" % (p.get("id"), k, p.get(k)))
    for k in ("name", "iface", "portal", "target", "state"):
        check(isinstance(p.get(k), str), "path %s.%s is a string (%r)" % (p.get("id"), k, p.get(k)))
    check("alua_state" in p and p["alua_state"] is None, "path %s alua_state null (tgtd has no ALUA)" % p.get("id"))
    check(p["target"] == iqn and p["lun"] == 1, "path %s target/lun %r/%r" % (p["id"], p["target"], p["lun"]))
    check(p["portal"] in ("198.18.1.2:3260", "198.18.2.2:3260"), "path %s portal %r" % (p["id"], p["portal"]))
    check(p["prio"] == (80 if p["iface"] == "veth1" else 50), "path %s prio %r on %r" % (p["id"], p["prio"], p["iface"]))
    check(p["name"] == "%s->%s" % (p["iface"], p["portal"]), "path %s name %r" % (p["id"], p["name"]))
check(sorted(p["portal"] for p in paths) == ["198.18.1.2:3260"] * 2 + ["198.18.2.2:3260"] * 2, "portals")
g = topo[0]["groups"]
check([(x["prio"], x["status"], x["paths_total"], x["paths_usable"]) for x in g] ==
      [(80, "active", 2, 2), (50, "enabled", 2, 2)], "disk0 groups %r" % [(x["prio"], x["status"]) for x in g])
check(all(is_int(x["prio"]) for x in g), "group prio numbers")
sys.exit(1 if bad else 0)
PY
log "ok: --json/-j/--control/--socket after the command words; JSON fields typed (maps, paths, groups)"

# ---- 3. group status across failures
group_status() {   # "PRIO:STATUS PRIO:STATUS" of disk0
    adm -s "$CTL" show topology disk0 --json | jq -r '[.disks[0].groups[] | "\(.prio):\(.status)"] | join(" ")'
}
fault_nic_down 1
wait_until 15 eval '[[ $(group_status) == "80:failed 50:active" ]]' ||
    die "veth1 down: groups '$(group_status)', want 80:failed 50:active"
out=$(adm -s "$CTL" show topology disk0)
grep -q -- '-+- prio=80 status=failed' <<<"$out" && grep -q -- '-+- prio=50 status=active' <<<"$out" ||
    die "text topology after veth1 down: $out"
[[ $(adm -s "$CTL" --json show maps | jq -r '.maps[0] | "\(.state) \(.paths_up) \(.active_prio)"') == "degraded 2 50" ]] ||
    die "show maps after veth1 down: $(adm -s "$CTL" show maps)"
fault_nic_up 1
wait_until 20 eval '[[ $(group_status) == "80:active 50:enabled" ]]' ||
    die "veth1 up again: groups '$(group_status)', want 80:active 50:enabled"
# The operator fails both paths of group 80: logged in, but none may take I/O.
ids=$(adm -s "$CTL" show paths disk0 --json | jq -r '.paths[] | select(.prio == 80) | .id')
for id in $ids; do adm -s "$CTL" fail path "$id" >/dev/null || die "fail path $id"; done
[[ $(group_status) == "80:disabled 50:active" ]] || die "group 80 failed by the operator: '$(group_status)'"
for id in $ids; do adm -s "$CTL" reinstate path "$id" >/dev/null || die "reinstate path $id"; done
wait_until 10 eval '[[ $(group_status) == "80:active 50:enabled" ]]' || die "after reinstate: '$(group_status)'"
log "ok: group status: active/enabled, veth1 down -> failed/active, operator fail -> disabled/active, back"

# ---- 4. reconfigure's JSON: counts, numbers
write_conf
out=$(adm -s "$CTL" reconfigure --json) || die "reconfigure (remove disk1) failed"
jq -e '.added == 0 and .removed == 1 and .changed == 0 and .unchanged == 1 and .failed == 0 and
       (.result | type == "string")' <<<"$out" >/dev/null || die "reconfigure (remove) JSON: $out"
wait_until 15 eval '[[ $(adm -s "$CTL" --json show maps | jq ".maps | length") == 1 ]]' || die "disk1 not removed"
write_conf 1
out=$(adm -s "$CTL" --json reconfigure) || die "reconfigure (add disk1) failed"
jq -e '.added == 1 and .removed == 0 and .changed == 0 and .unchanged == 1 and .failed == 0' <<<"$out" >/dev/null ||
    die "reconfigure (add) JSON: $out"
out=$(adm -s "$CTL" reconfigure) || die "reconfigure (text) failed"
[[ $out == "ok: 0 added, 0 removed, 0 changed, 2 unchanged" ]] || die "reconfigure text: '$out'"
log "ok: reconfigure JSON counts (removed 1, then added 1) and text"

daemon_alive || die "daemon died"
stop_daemon
echo "t_64_show: show maps/topology NAME/paths NAME, options after the command, typed JSON, group status, reconfigure counts: all ok"
