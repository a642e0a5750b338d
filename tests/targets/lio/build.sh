#!/usr/bin/env bash
# Builds the LIO test target's guest: Debian's own kernel (downloaded with apt-get download,
# unpacked with dpkg-deb, never installed on the host; see tests/targets/kernel.sh) and an
# initramfs holding the host's static busybox, the kernel modules LIO needs, /init (init.sh)
# and its helpers (lio.fns).
#
# Usage: tests/targets/lio/build.sh [-q]      (run from anywhere; needs root only for apt)
# Output (LIO_CACHE, default build/lio-cache, git-ignored):
#   vmlinuz, vmlinux (PVH entry, boots much faster under TCG), initramfs.cpio.gz, kernel.stamp (package=version), initramfs.stamp (input hash)
#   (kernel.deb, the package itself, is kept there too: tests/targets/guest/build.sh reuses it)
# Idempotent: the kernel is fetched again only when linux-image-amd64 names another package
# or version (or the cache is incomplete); the initramfs is rebuilt only when an input changed.
# Offline (no apt lists) an existing cache is reused as it is.
# Packages: apt (apt-get, apt-cache), dpkg, busybox-static, coreutils, gzip, python3 (lzma),
# binutils (readelf; without it the slower bzImage is booted).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
CACHE=${LIO_CACHE:-$ROOT/build/lio-cache}
QUIET=0; [[ ${1:-} == -q ]] && QUIET=1
say() { (( QUIET )) || printf '# lio-build: %s\n' "$*" >&2; }
fail() { printf 'FAIL: lio-build: %s\n' "$*" >&2; exit 1; }

# Load order (TESTING.md); the rd_mcp ramdisk backstore is part of target_core_mod.
MODULES=(virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci
         failover net_failover virtio_net crct10dif_common crct10dif_generic crc32c_generic
         scsi_common crc-t10dif configfs target_core_mod target_core_file iscsi_target_mod)

BUSYBOX=${LIO_BUSYBOX:-/bin/busybox}
[[ -x $BUSYBOX ]] || fail "$BUSYBOX missing: install package busybox-static"
ldd "$BUSYBOX" >/dev/null 2>&1 && fail "$BUSYBOX is dynamically linked: install package busybox-static"
command -v dpkg >/dev/null || fail "dpkg not found (Debian expected)"
command -v gzip >/dev/null || fail "gzip not found: install package gzip"
mkdir -p "$CACHE"

# ---------------------------------------------------------------- kernel
# Fetching and unpacking Debian's kernel package is shared with the other guests (kernel.sh).
. "$HERE/../kernel.sh"
kernel_fetch "$CACHE"
kver=$(kernel_version "$CACHE")
mods_ok=1
[[ $(cat "$CACHE/modules/kver" 2>/dev/null || true) == "$kver" ]] || mods_ok=0
for m in "${MODULES[@]}"; do [[ -s $CACHE/modules/$m.ko ]] || mods_ok=0; done
if (( KERNEL_FETCHED || ! mods_ok )); then
    say "extracting ${#MODULES[@]} modules of $kver"
    rm -rf "$CACHE/modules"
    rm -rf "$CACHE/modules.tmp"
    kernel_modules "$CACHE" "$CACHE/modules.tmp" "${MODULES[@]}"
    printf '%s\n' "${MODULES[@]}" >"$CACHE/modules.tmp/order"
    printf '%s\n' "$kver" >"$CACHE/modules.tmp/kver"
    mv "$CACHE/modules.tmp" "$CACHE/modules"
    rm -f "$CACHE/vmlinux" "$CACHE/initramfs.stamp"
fi

# ---------------------------------------------------------------- PVH kernel
# Under TCG, the bzImage's real-mode setup and in-guest xz decompression take 4..15 s; qemu
# boots the uncompressed ELF vmlinux directly through its PVH entry (Xen ELF note 0x12) in
# well under a second. lio.sh uses vmlinux when present, else vmlinuz.
if [[ ! -s $CACHE/vmlinux ]]; then
    say "extracting vmlinux (PVH boot)"
    /usr/bin/python3 - "$CACHE/vmlinuz" "$CACHE/vmlinux.tmp" <<'PY' || rm -f "$CACHE/vmlinux.tmp"
import lzma, sys
d = open(sys.argv[1], "rb").read()
o = d.find(b"\xfd7zXZ\x00")
if o < 0:
    sys.exit("no xz payload in vmlinuz")
out = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(d[o:])
if out[:4] != b"\x7fELF":
    sys.exit("xz payload is not an ELF")
open(sys.argv[2], "wb").write(out)
PY
    if [[ -s $CACHE/vmlinux.tmp ]] && command -v readelf >/dev/null &&
       readelf -n "$CACHE/vmlinux.tmp" 2>/dev/null | grep -q 'note type: (0x00000012)'; then
        mv "$CACHE/vmlinux.tmp" "$CACHE/vmlinux"
    else
        rm -f "$CACHE/vmlinux.tmp"
        say "no PVH-bootable vmlinux (needs python3, binutils' readelf): booting the slower bzImage"
    fi
fi

# ---------------------------------------------------------------- initramfs
inputs_hash=$( { cat "$CACHE/kernel.stamp"; printf '%s\n' "${MODULES[@]}";
                 sha256sum "$HERE/init.sh" "$HERE/lio.fns" "$BUSYBOX" | cut -d' ' -f1; } | sha256sum | cut -d' ' -f1)
if [[ $(cat "$CACHE/initramfs.stamp" 2>/dev/null || true) == "$inputs_hash" && -s $CACHE/initramfs.cpio.gz ]]; then
    say "up to date: $CACHE ($(cat "$CACHE/kernel.stamp"))"
    exit 0
fi
say "building initramfs"
root=$(mktemp -d "$CACHE/root.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,run,lib/modules,etc}
cp "$BUSYBOX" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
cp "$HERE/init.sh" "$root/init"
cp "$HERE/lio.fns" "$root/lib/lio.fns"
chmod 755 "$root/init" "$root/bin/busybox"
for m in "${MODULES[@]}"; do cp "$CACHE/modules/$m.ko" "$root/lib/modules/"; done
printf '%s\n' "${MODULES[@]}" >"$root/lib/modules/order"
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | "$BUSYBOX" cpio -o -H newc 2>/dev/null) |
    gzip -n -6 >"$CACHE/initramfs.cpio.gz.tmp"
mv "$CACHE/initramfs.cpio.gz.tmp" "$CACHE/initramfs.cpio.gz"
rm -rf "$root"; trap - EXIT
printf '%s\n' "$inputs_hash" >"$CACHE/initramfs.stamp"
say "ready: $CACHE/vmlinuz, $CACHE/initramfs.cpio.gz ($(du -k "$CACHE/initramfs.cpio.gz" | cut -f1) KiB)"
