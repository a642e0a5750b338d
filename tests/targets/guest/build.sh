#!/usr/bin/env bash
# Builds the boot-test guest: a raw disk image that a PC firmware (QEMU's SeaBIOS) boots by
# itself, so a QEMU guest can boot from an mpiscsi NBD export.
#
#   MBR (syslinux-common's mbr.bin, DOS partition table, made by sfdisk)
#   partition 1  FAT, 32 MiB, active: syslinux (ldlinux.sys), syslinux.cfg, Debian's kernel
#                (vmlinuz, the bzImage of linux-image-amd64) and initrd.gz (busybox-static, the
#                virtio/ext4/fw_cfg modules, /init = init.sh)
#   partition 2  ext4 "data", the rest: the workload's file area (empty; init.sh fills it)
#
# Built without mounting anything (no loop devices, no root needed except for apt): mkfs.fat
# and mke2fs format partition-sized files, mtools copies files into the FAT one, syslinux
# installs its boot sector and ldlinux.sys into it, dd places both into the image.
#
# Usage: tests/targets/guest/build.sh [-q]
# Output (GUEST_CACHE, default build/guest-cache, git-ignored): guest.img (sparse raw image,
#   GUEST_IMG_MB MiB, default 128), initrd.gz, guest.stamp (hash of every input).
# The kernel comes from the cache shared with the LIO guest (KERNEL_CACHE, default LIO_CACHE or
# build/lio-cache; see tests/targets/kernel.sh). Idempotent: rebuilt only when an input changed.
# Packages: syslinux, syslinux-common, mtools, dosfstools, e2fsprogs, fdisk (sfdisk),
# busybox-static, dpkg, apt, gzip, coreutils.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
CACHE=${GUEST_CACHE:-$ROOT/build/guest-cache}
KCACHE=${KERNEL_CACHE:-${LIO_CACHE:-$ROOT/build/lio-cache}}
IMG_MB=${GUEST_IMG_MB:-128}
BOOT_MB=32
QUIET=0; [[ ${1:-} == -q ]] && QUIET=1
say() { (( QUIET )) || printf '# guest-build: %s\n' "$*" >&2; }
fail() { printf 'FAIL: guest-build: %s\n' "$*" >&2; exit 1; }

# Load order: virtio transport, the disk, ext4 and its helpers (crc32c for metadata checksums),
# fw_cfg (the workload's settings).
MODULES=(virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk
         crc16 mbcache jbd2 crc32c_generic ext4 qemu_fw_cfg)
# no_timer_check: under TCG on a busy host the IO-APIC timer check can miss its window and
# panic ("IO-APIC + timer doesn't work"); a virtual machine does not need it
APPEND="console=ttyS0,115200 quiet panic=-1 no_timer_check"

SYSLINUX_DIR=/usr/lib/syslinux
BUSYBOX=${GUEST_BUSYBOX:-/bin/busybox}
need() { command -v "$1" >/dev/null 2>&1 || fail "'$1' not found: install package $2 (make deps)"; }
need syslinux syslinux
need mcopy mtools
need mkfs.fat dosfstools
need mke2fs e2fsprogs
need sfdisk fdisk
need gzip gzip
[[ -s $SYSLINUX_DIR/mbr/mbr.bin ]] || fail "$SYSLINUX_DIR/mbr/mbr.bin missing: install package syslinux-common"
[[ -x $BUSYBOX ]] || fail "$BUSYBOX missing: install package busybox-static"
ldd "$BUSYBOX" >/dev/null 2>&1 && fail "$BUSYBOX is dynamically linked: install package busybox-static"
(( IMG_MB >= BOOT_MB + 32 )) || fail "GUEST_IMG_MB must be at least $((BOOT_MB + 32))"
mkdir -p "$CACHE"

# ---------------------------------------------------------------- kernel (shared cache)
. "$HERE/../kernel.sh"
kernel_fetch "$KCACHE"
kver=$(kernel_version "$KCACHE")

# ---------------------------------------------------------------- up to date?
inputs_hash=$( { cat "$KCACHE/kernel.stamp"; printf '%s\n' "${MODULES[@]}" "$APPEND" "$IMG_MB";
                 dpkg-query -W -f='${Version}\n' syslinux syslinux-common 2>/dev/null || true;
                 sha256sum "$HERE/init.sh" "$HERE/build.sh" "$BUSYBOX" "$KCACHE/vmlinuz" | cut -d' ' -f1; } |
               sha256sum | cut -d' ' -f1)
if [[ $(cat "$CACHE/guest.stamp" 2>/dev/null || true) == "$inputs_hash" && -s $CACHE/guest.img ]]; then
    say "up to date: $CACHE/guest.img ($kver)"
    exit 0
fi
rm -f "$CACHE/guest.stamp"
work=$(mktemp -d "$CACHE/work.XXXXXX")
trap 'rm -rf "$work"' EXIT

# ---------------------------------------------------------------- initramfs
say "initramfs: busybox, ${#MODULES[@]} modules of $kver, init.sh"
root=$work/root
mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,run,data,lib/modules}
cp "$BUSYBOX" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
# the applets init.sh uses, as links (busybox sh runs applets by name, but insmod/poweroff/...
# from PATH are clearer in the console output)
for a in awk cat dd dmesg echo grep insmod ls mkdir mount mv poweroff rm sha256sum sleep stty sync umount uname; do
    ln -s busybox "$root/bin/$a"
done
cp "$HERE/init.sh" "$root/init"
chmod 755 "$root/init" "$root/bin/busybox"
kernel_modules "$KCACHE" "$root/lib/modules" "${MODULES[@]}"
printf '%s\n' "${MODULES[@]}" >"$root/lib/modules/order"
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | "$BUSYBOX" cpio -o -H newc 2>/dev/null) |
    gzip -n -6 >"$work/initrd.gz"

# ---------------------------------------------------------------- partition 1: FAT + syslinux
say "partition 1: FAT ${BOOT_MB} MiB, syslinux, vmlinuz, initrd.gz"
cat >"$work/syslinux.cfg" <<EOF
SERIAL 0 115200
DEFAULT guest
PROMPT 0
TIMEOUT 0
LABEL guest
  LINUX /vmlinuz
  INITRD /initrd.gz
  APPEND $APPEND
EOF
boot_start=2048                                  # sectors: partition 1 at 1 MiB
boot_sectors=$((BOOT_MB * 2048))
data_start=$((boot_start + boot_sectors))
data_sectors=$((IMG_MB * 2048 - data_start))
truncate -s "${BOOT_MB}M" "$work/boot.fat"
# -h: hidden sectors = the partition's start, which the FAT boot sector adds to its LBAs
mkfs.fat -n MPIBOOT -h "$boot_start" "$work/boot.fat" >/dev/null
export MTOOLS_SKIP_CHECK=1
mcopy -i "$work/boot.fat" "$KCACHE/vmlinuz" ::/vmlinuz
mcopy -i "$work/boot.fat" "$work/initrd.gz" ::/initrd.gz
mcopy -i "$work/boot.fat" "$work/syslinux.cfg" ::/syslinux.cfg
syslinux --install "$work/boot.fat"
mdir -i "$work/boot.fat" -a ::/ | grep -q -i 'ldlinux *sys' || fail "syslinux did not install ldlinux.sys"

# ---------------------------------------------------------------- partition 2: ext4
say "partition 2: ext4 $(( data_sectors / 2048 )) MiB"
truncate -s $((data_sectors * 512)) "$work/data.ext4"
# initialised in full now, so the guest's kernel starts no lazy-init writer on first mount
mke2fs -q -F -t ext4 -L data -E lazy_itable_init=0,lazy_journal_init=0 "$work/data.ext4"

# ---------------------------------------------------------------- the disk
say "disk: ${IMG_MB} MiB, MBR"
truncate -s "${IMG_MB}M" "$work/guest.img"
sfdisk -q "$work/guest.img" <<EOF
label: dos
start=$boot_start, size=$boot_sectors, type=c, bootable
start=$data_start, size=$data_sectors, type=83
EOF
dd if="$SYSLINUX_DIR/mbr/mbr.bin" of="$work/guest.img" bs=440 count=1 conv=notrunc status=none
dd if="$work/boot.fat" of="$work/guest.img" bs=1M seek=1 conv=notrunc,sparse status=none
dd if="$work/data.ext4" of="$work/guest.img" bs=1M seek=$((data_start / 2048)) conv=notrunc,sparse status=none
sfdisk -d "$work/guest.img" | grep -q "start= *$data_start" || fail "partition table not as written"

mv "$work/initrd.gz" "$CACHE/initrd.gz"
mv "$work/guest.img" "$CACHE/guest.img"
rm -rf "$work"; trap - EXIT
printf '%s\n' "$inputs_hash" >"$CACHE/guest.stamp"
say "ready: $CACHE/guest.img (${IMG_MB} MiB, kernel $kver, initrd $(du -k "$CACHE/initrd.gz" | cut -f1) KiB)"
