#!/usr/bin/env bash
# e2e: the LIO (Linux kernel target) fixture with ALUA, in a QEMU guest: boots it with 2 paths
# and checks from the initiator namespace, with libiscsi's tools and tests/helpers/scsi_cmd,
# that INQUIRY reports TPGS=3, VPD 0x83 carries the relative target port and target port
# group of each portal, SendTargets lists both portals, both answer READ, REPORT TARGET PORT
# GROUPS lists both groups, and that the fixture's controls work: group B standby makes READ on
# portal 2 fail with NOT READY 04/0B (after UNIT ATTENTION 2A/06), transitioning (trans delay)
# gives 04/0A, port offline 04/12, a disabled TPG refuses logins, an added LUN has another
# identity, CHAP is enforced. Prints the guest's boot-to-ready time.
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/lib/tgt.sh
. tests/targets/lio/lio.sh
need_root
need_tool iscsi-inq libiscsi-bin
need_tool iscsi-ls libiscsi-bin
need_tool timeout coreutils
need_tool qemu-io qemu-utils
SC=$BUILD/tests/scsi_cmd
[[ -x $SC ]] || die "$SC not built (run: make all)"

lio_setup 2 32
echo "# LIO guest boot-to-ready: $LIO_BOOT_MS ms"
U1=$(lio_url 1) U2=$(lio_url 2)

sc() { ini_exec timeout -k 2 30 "$SC" "$@"; }
# byte N (decimal) of the "data HEX" line of scsi_cmd output in $1
byte() { local d; d=$(sed -n 's/^data //p' <<<"$1"); echo $(( 16#${d:$(( $2 * 2 )):2} )); }
# last status / sense of scsi_cmd output (after UNIT ATTENTION retries)
last_status() { grep '^status' <<<"$1" | tail -n 1 | cut -d' ' -f2; }
last_sense() { grep '^sense' <<<"$1" | tail -n 1 | cut -d' ' -f2; }
hexstr() { printf '%b' "$(sed 's/../\\x&/g' <<<"$1")" | tr -d '\0 '; }
READ10="28 00 00000000 00 0001 00"
RTPG="a3 0a 00000000 00001000 00 00"

expect_read() {   # URL STATUS [SENSE]
    local out
    out=$(sc -u 3 "$1" "$READ10" 512) || die "scsi_cmd READ on $1 failed (exit $?)"
    [[ $(last_status "$out") == "$2" ]] || die "READ on $1: expected status $2, got: $out"
    [[ -z ${3:-} || $(last_sense "$out") == "$3" ]] || die "READ on $1: expected sense $3, got: $out"
}
# RTPG: print "group_id:state" for every descriptor
rtpg_states() {
    local out d i len n
    out=$(sc -u 3 "$1" "$RTPG" 4096) || die "RTPG on $1 failed"
    [[ $(last_status "$out") == 0x00 ]] || die "RTPG on $1: $out"
    d=$(sed -n 's/^data //p' <<<"$out")
    len=$(( 16#${d:0:8} + 4 )); i=4
    while (( i + 8 <= len )); do
        n=$(( 16#${d:$(( (i + 7) * 2 )):2} ))
        printf '%d:%d ' $(( 16#${d:$(( (i + 2) * 2 )):4} )) $(( 16#${d:$(( i * 2 )):2} & 15 ))
        i=$(( i + 8 + 4 * n ))
    done
    echo
}

# ---- SendTargets lists the IQN on both portals
out=$(ini_exec timeout 30 iscsi-ls -s "iscsi://198.18.1.2:3260") || die "iscsi-ls failed: $out"
log "iscsi-ls: $(tr '\n' ' ' <<<"$out")"
for k in 1 2; do
    grep -q "$LIO_IQN.*198\.18\.$k\.2:3260" <<<"$out" || die "SendTargets does not list portal $k: $out"
done

for k in 1 2; do
    U=$(lio_url "$k")
    # ---- standard INQUIRY: TPGS = 3 (implicit and explicit ALUA)
    out=$(ini_exec timeout 30 iscsi-inq "$U") || die "iscsi-inq on portal $k failed: $out"
    grep -qx 'TPGS:3' <<<"$out" || die "iscsi-inq portal $k: no TPGS:3"
    out=$(sc "$U" "12 00 00 0024 00" 36) || die "INQUIRY on portal $k failed"
    (( ( $(byte "$out" 5) >> 4 & 3 ) == 3 )) || die "portal $k: INQUIRY byte 5 TPGS != 3: $out"
    # ---- VPD 0x83: relative target port (type 4) and target port group (type 5) designators
    out=$(ini_exec timeout 30 iscsi-inq -e 1 -c 131 "$U") || die "iscsi-inq VPD 0x83 on portal $k failed"
    grep -q 'Designator Type:(4) RELATIVE_TARGET_PORT' <<<"$out" || die "portal $k: no relative target port designator"
    grep -q 'Designator Type:(5) TARGET_PORT_GROUP' <<<"$out" || die "portal $k: no target port group designator"
    out=$(sc "$U" "12 01 83 00ff 00" 255) || die "VPD 0x83 on portal $k failed"
    d=$(sed -n 's/^data //p' <<<"$out"); i=4; end=$(( (16#${d:4:4}) + 4 )); rtp='' tpg='' naa=''
    while (( i + 4 <= end )); do
        t=$(( 16#${d:$(( (i + 1) * 2 )):2} & 15 )); l=$(( 16#${d:$(( (i + 3) * 2 )):2} ))
        case $t in
            4) rtp=$(( 16#${d:$(( (i + 6) * 2 )):4} )) ;;
            5) tpg=$(( 16#${d:$(( (i + 6) * 2 )):4} )) ;;
            3) naa=${d:$(( (i + 4) * 2 )):$(( l * 2 ))} ;;
        esac
        i=$(( i + 4 + l ))
    done
    [[ $rtp == "$k" && $tpg == "$k" ]] || die "portal $k: VPD 0x83 relative port '$rtp', group '$tpg' (want $k, $k)"
    [[ -n $naa ]] || die "portal $k: no NAA designator"
    eval "NAA$k=\$naa"
    log "portal $k: TPGS=3, relative target port $rtp, target port group $tpg, naa $naa"
    # ---- both portals answer READ
    expect_read "$U" 0x00
done
[[ $NAA1 == "$NAA2" ]] || die "the two portals report different LUs ($NAA1 / $NAA2)"
st=$(rtpg_states "$U1"); [[ $st == "1:0 2:0 " ]] || die "RTPG: '$st' (want 1:0 2:0)"

# ---- group B standby: READ on portal 2 NOT READY 04/0B, portal 1 unaffected
lio_alua_state B 2
out=$(sc "$U2" "$READ10" 512) || die "scsi_cmd READ on portal 2 failed"
log "first READ on portal 2 after the change: $(tr '\n' ' ' <<<"$out")"
expect_read "$U2" 0x02 02/04/0b
expect_read "$U1" 0x00
st=$(rtpg_states "$U1"); [[ $st == "1:0 2:2 " ]] || die "RTPG after standby: '$st' (want 1:0 2:2)"
lio_alua_state B 3
expect_read "$U2" 0x02 02/04/0c
lio_alua_state B 0
expect_read "$U2" 0x00

# ---- transitioning: a trans delay holds the group in state 15 (04/0A) for that long
lio_trans_delay B 4000
t0=$(date +%s%N)
lio_alua_state B 1
expect_read "$U2" 0x02 02/04/0a
ok() { [[ $(last_status "$(sc -u 3 "$U2" "$READ10" 512)") == 0x00 ]]; }
wait_until 20 ok || die "group B still not usable 20 s after a 4 s transition"
log "transition 0 -> 1 with a 4000 ms delay took $(( ($(date +%s%N) - t0) / 1000000 )) ms"
st=$(rtpg_states "$U1"); [[ $st == "1:0 2:1 " ]] || die "RTPG after transition: '$st' (want 1:0 2:1)"
lio_trans_delay B 0
lio_alua_state B 0

# ---- port offline: 04/12
lio_port_offline 2 1
expect_read "$U2" 0x02 02/04/12
lio_port_offline 2 0
expect_read "$U2" 0x00

# ---- disabled TPG refuses logins
lio_tpg_enable 2 0
rc=0; sc "$U2" "$READ10" 512 >/dev/null 2>&1 || rc=$?
(( rc == 2 )) || die "login to disabled TPG 2: scsi_cmd exit $rc (want 2, login failed)"
lio_tpg_enable 2 1
wait_until 10 ok || die "TPG 2 re-enabled but READ fails"

# ---- a second LUN: another identity; remapping LUN 0 of TPG 2 to it changes portal 2's LU
lio_add_lun 1 8
out=$(sc "$(lio_url 1 1)" "12 01 80 00ff 00" 255) || die "VPD 0x80 on LUN 1 failed"
d=$(sed -n 's/^data //p' <<<"$out"); sn=$(hexstr "${d:8}")
[[ $sn == "${LIO_SERIAL}l1" ]] || die "LUN 1 serial '$sn' (want ${LIO_SERIAL}l1)"
lio_map_lun 2 0 1
out=$(sc "$U2" "12 01 80 00ff 00" 255) || die "VPD 0x80 on remapped portal 2 failed"
d=$(sed -n 's/^data //p' <<<"$out"); sn=$(hexstr "${d:8}")
[[ $sn == "${LIO_SERIAL}l1" ]] || die "remapped LUN 0 on portal 2: serial '$sn' (want ${LIO_SERIAL}l1)"
lio_map_lun 2 0 0
expect_read "$U2" 0x00

# ---- CHAP on TPG 1
lio_chap 1 mpiuser mpisecret12345
rc=0; sc "$U1" "$READ10" 512 >/dev/null 2>&1 || rc=$?
(( rc == 2 )) || die "TPG 1 with CHAP accepted a login without credentials (exit $rc)"
expect_read "iscsi://mpiuser%mpisecret12345@198.18.1.2:3260/$LIO_IQN/0" 0x00
lio_chap 1 -
expect_read "$U1" 0x00

# ---- the operator tool against LIO: discovery (no daemon), node login/logout through the daemon
ADM=$BUILD/bin/mpiscsiadm
need_tool jq jq
out=$(ini_exec timeout 30 "$ADM" -m discovery -t sendtargets -p 198.18.1.2) || die "mpiscsiadm discovery on LIO failed"
for k in 1 2; do
    grep -qx "198.18.$k.2:3260,$k $LIO_IQN" <<<"$out" || die "mpiscsiadm discovery: portal $k missing: $out"
done
SOCK=$FIX_DIR/nbd.sock
start_daemon "$SOCK" "$U1"
adm() { ini_exec timeout 30 "$ADM" -s "$DAEMON_CTL" "$@"; }
wait_until 20 test -S "$SOCK" || die "daemon did not attach to LIO"
adm -m node -T "$LIO_IQN" -p 198.18.2.2:3260 --login >/dev/null || die "node login to LIO portal 2 failed"
wait_until 15 eval '[[ $(adm --json show disks | jq ".disks[0].paths_usable") == 2 ]]' ||
    die "LIO portal 2 did not join the disk: $(adm show topology)"
[[ $(adm -m session | grep -c "^tcp: .* $LIO_IQN (logged-in, 1 LUN(s))") == 2 ]] ||
    die "-m session on LIO: $(adm -m session)"
adm show topology >&2
adm -m node -T "$LIO_IQN" -p 198.18.2.2:3260 --logout >/dev/null || die "node logout of LIO portal 2 failed"
[[ $(adm --json show disks | jq ".disks[0].paths_total") == 1 ]] || die "logout left: $(adm show topology)"
timeout 60 qemu-io -f raw -c 'write -P 0x3c 0 64k' -c 'read -P 0x3c 0 64k' "$(nbd_uri "$SOCK")" |
    grep -qi 'failed\|error' && die "I/O through the daemon on LIO failed"
stop_daemon
log "ok: mpiscsiadm -m discovery, -m node --login/--logout, -m session against LIO"

lio_show >&2
echo "# LIO guest boot-to-ready: $LIO_BOOT_MS ms"
echo "PASS: t_80_lio_smoke"
