#!/usr/bin/env bash
# Installs (idempotently, only what is missing) every Debian package mpiscsi needs to build, test, demo and benchmark.
set -euo pipefail

PKGS=(
    # build
    build-essential pkg-config libiscsi-dev libev-dev libnl-3-dev libnl-route-3-dev
    libnl-genl-3-dev libssl-dev libcriterion-dev libjson-c-dev jq valgrind
    # fuzzing (make fuzz)
    clang libfuzzer-14-dev libclang-rt-14-dev
    # iSCSI peer and tools
    tgt libiscsi-bin
    # NBD clients and benchmarks
    qemu-utils qemu-block-extra libnbd-bin python3-libnbd fio python3
    # fixture and fault injection
    iproute2 nftables iptables procps psmisc coreutils diffutils util-linux
    # LIO (kernel target) in a QEMU guest, for ALUA
    qemu-system-x86 busybox-static
    # a bootable guest disk image (tests/targets/guest), booted by QEMU from the NBD export
    syslinux syslinux-common mtools dosfstools e2fsprogs fdisk
    # udevd in the hostvm guest: /dev/disk/by-id links of kernel front ends (etc/99-mpiscsi.rules)
    udev
    # man pages
    man-db groff-base
    # systemd-analyze verify of the installed unit (tests/e2e/t_69_systemd.sh)
    systemd
    # NBD over TLS: certificates and keys in the TLS test and benchmark
    openssl
)

missing=()
for p in "${PKGS[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [[ $status == "install ok installed" ]] || missing+=("$p")
done

if (( ${#missing[@]} == 0 )); then
    echo "deps: all ${#PKGS[@]} packages installed"
    exit 0
fi

echo "deps: missing: ${missing[*]}"
SUDO=()
if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO=(sudo -n)
    else
        echo "deps: FAIL: not root and no password-less sudo; as root run:" >&2
        echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
        exit 1
    fi
fi
command -v apt-get >/dev/null 2>&1 || { echo "deps: FAIL: apt-get not found (Debian 12 expected)" >&2; exit 1; }

"${SUDO[@]}" apt-get update
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"

still=()
for p in "${missing[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [[ $status == "install ok installed" ]] || still+=("$p")
done
(( ${#still[@]} == 0 )) || { echo "deps: FAIL: still missing after apt-get: ${still[*]}" >&2; exit 1; }
echo "deps: installed ${missing[*]}"
