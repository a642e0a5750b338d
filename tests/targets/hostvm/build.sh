#!/usr/bin/env bash
# Builds the initramfs of the guest that runs the host's own programs (tests/targets/hostvm):
# the host's static busybox, /init (init.sh) and Debian's kernel modules that the guest needs,
# with every dependency resolved from a modules.dep made by `busybox depmod`. The guest has no
# image of its own: /init mounts the host's root over virtio-9p and chroots into it.
#
# Usage: tests/targets/hostvm/build.sh [-q]      (run from anywhere; needs root only for apt)
# Output (HOSTVM_CACHE, default build/hostvm-cache, git-ignored):
#   initramfs.cpio.gz, initramfs.stamp (input hash), modules/ (the resolved module tree:
#   lib/modules/KVER/kernel/..., modules.dep, modules.alias, modules.symbols; base.order and
#   test.order, the modules /init loads by default; kver)
# The kernel (vmlinuz, and vmlinux for the fast PVH boot) stays in the cache shared with the
# other guests (KERNEL_CACHE, default LIO_CACHE or build/lio-cache; see tests/targets/kernel.sh).
# Idempotent: modules are extracted again only for another kernel or module list; the
# initramfs is rebuilt only when an input changed. Offline (no apt lists) a cache is reused.
#
# Modules: BASE (always loaded: virtio transport, network, 9p) and UNDER_TEST (in the initramfs
# and loadable in the guest; loaded at boot unless the kernel command line says otherwise, see
# init.sh). Add names to UNDER_TEST (or HOSTVM_EXTRA_MODULES, space separated) as later tests
# need them; dependencies come along by themselves.
# Packages: apt (apt-get, apt-cache), dpkg, busybox-static, coreutils, gzip, findutils,
# python3 and binutils (vmlinux; without them the slower bzImage boots).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
CACHE=${HOSTVM_CACHE:-$ROOT/build/hostvm-cache}
KCACHE=${KERNEL_CACHE:-${LIO_CACHE:-$ROOT/build/lio-cache}}
QUIET=0; [[ ${1:-} == -q ]] && QUIET=1
say() { (( QUIET )) || printf '# hostvm-build: %s\n' "$*" >&2; }
fail() { printf 'FAIL: hostvm-build: %s\n' "$*" >&2; exit 1; }

BASE=(virtio_pci virtio_net 9pnet_virtio 9p)
# nbd: /dev/nbdN; uio, target_core_*, tcm_loop: TCMU (/dev/sdX through a userspace backstore);
# sd_mod, sg: SCSI disks and sg3-utils; ext4, crc32c_generic: mkfs.ext4 and mount (ext4's
# metadata checksums); crct10dif_generic: T10 PI checksums (crc-t10dif asks for it); loop: file
# disks; sch_netem: guest-side delay and loss (the host kernel has no netem)
UNDER_TEST=(nbd uio target_core_mod target_core_user target_core_file target_core_iblock tcm_loop
            sd_mod sg ext4 crc32c_generic crct10dif_generic loop sch_netem)
# shellcheck disable=SC2206
[[ -z ${HOSTVM_EXTRA_MODULES:-} ]] || UNDER_TEST+=($HOSTVM_EXTRA_MODULES)

BUSYBOX=${HOSTVM_BUSYBOX:-/bin/busybox}
[[ -x $BUSYBOX ]] || fail "$BUSYBOX missing: install package busybox-static"
ldd "$BUSYBOX" >/dev/null 2>&1 && fail "$BUSYBOX is dynamically linked: install package busybox-static"
command -v dpkg >/dev/null || fail "dpkg not found (Debian expected)"
command -v gzip >/dev/null || fail "gzip not found: install package gzip"
mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd)
mkdir -p "$KCACHE"
KCACHE=$(cd "$KCACHE" && pwd)

# ---------------------------------------------------------------- kernel (shared cache)
. "$HERE/../kernel.sh"
kernel_fetch "$KCACHE"
kver=$(kernel_version "$KCACHE")
kernel_vmlinux "$KCACHE" || say "no PVH-bootable vmlinux (needs python3, binutils' readelf): the slower bzImage boots"

# ---------------------------------------------------------------- modules and their dependencies
want_list=$(printf '%s\n' "$kver" "${BASE[@]}" -- "${UNDER_TEST[@]}")
if [[ $(cat "$CACHE/modules/list" 2>/dev/null || true) != "$want_list" ]] ||
   (( KERNEL_FETCHED )) || [[ ! -s $CACHE/modules/lib/modules/$kver/modules.dep ]]; then
    say "resolving ${#BASE[@]}+${#UNDER_TEST[@]} modules of $kver and their dependencies"
    rm -rf "$CACHE/modules" "$CACHE/modules.tmp" "$CACHE"/all.*
    all=$(mktemp -d "$CACHE/all.XXXXXX")
    trap 'rm -rf "$all" "$CACHE/modules.tmp"' EXIT
    # Every module of the package (one pass; Debian 6.1 ships them uncompressed), so that
    # busybox depmod sees every module a wanted one may depend on.
    dpkg-deb --fsys-tarfile "$KCACHE/kernel.deb" |
        tar -x -C "$all" --wildcards "./lib/modules/$kver/kernel/*" "./lib/modules/$kver/modules.*" 2>/dev/null ||
        fail "cannot unpack the modules of $KCACHE/kernel.deb"
    "$BUSYBOX" depmod -b "$all" "$kver" || fail "busybox depmod failed"
    dep="$all/lib/modules/$kver/modules.dep"
    [[ -s $dep ]] || fail "busybox depmod made no modules.dep"
    # Transitive closure over modules.dep ("path.ko: dep.ko dep.ko ..."); names compare with
    # '-' and '_' as equal, as the kernel does. Prints the paths, dependencies first.
    mapfile -t paths < <(awk -v want="${BASE[*]} ${UNDER_TEST[*]}" '
        function norm(p) { sub(/.*\//, "", p); sub(/\.ko$/, "", p); gsub(/-/, "_", p); return p }
        function visit(p,   i, n, d) {
            if (p in seen) return
            seen[p] = 1
            n = split(deps[p], d, " ")
            for (i = 1; i <= n; i++) visit(d[i])
            print p
        }
        { p = $1; sub(/:$/, "", p); $1 = ""; deps[p] = $0; path[norm(p)] = p }
        END {
            n = split(want, w, " ")
            for (i = 1; i <= n; i++) {
                m = w[i]; gsub(/-/, "_", m)
                if (!(m in path)) { print "MISSING " w[i]; continue }
                visit(path[m])
            }
        }' "$dep")
    for p in "${paths[@]}"; do [[ $p != MISSING* ]] || fail "module ${p#MISSING } not in $(cat "$KCACHE/kernel.stamp")"; done
    mod="$CACHE/modules.tmp/lib/modules/$kver"
    mkdir -p "$mod"
    for p in "${paths[@]}"; do
        p=${p#/lib/modules/$kver/}; p=${p#lib/modules/$kver/}
        mkdir -p "$mod/$(dirname "$p")"
        cp "$all/lib/modules/$kver/$p" "$mod/$p"
    done
    cp "$all/lib/modules/$kver/modules.builtin" "$all/lib/modules/$kver/modules.order" "$mod/" 2>/dev/null || true
    # the guest's index: only the modules it has
    "$BUSYBOX" depmod -b "$CACHE/modules.tmp" "$kver" || fail "busybox depmod (guest tree) failed"
    printf '%s\n' "${BASE[@]}" >"$CACHE/modules.tmp/base.order"
    printf '%s\n' "${UNDER_TEST[@]}" >"$CACHE/modules.tmp/test.order"
    printf '%s\n' "$kver" >"$CACHE/modules.tmp/kver"
    printf '%s\n' "$want_list" >"$CACHE/modules.tmp/list"
    mv "$CACHE/modules.tmp" "$CACHE/modules"
    rm -rf "$all"; trap - EXIT
    rm -f "$CACHE/initramfs.stamp"
    say "$(find "$CACHE/modules" -name '*.ko' | wc -l) modules ($(du -sk "$CACHE/modules" | cut -f1) KiB)"
fi

# ---------------------------------------------------------------- initramfs
inputs_hash=$( { cat "$KCACHE/kernel.stamp" "$CACHE/modules/list";
                 sha256sum "$HERE/init.sh" "$BUSYBOX" | cut -d' ' -f1; } | sha256sum | cut -d' ' -f1)
if [[ $(cat "$CACHE/initramfs.stamp" 2>/dev/null || true) == "$inputs_hash" && -s $CACHE/initramfs.cpio.gz ]]; then
    say "up to date: $CACHE ($(cat "$KCACHE/kernel.stamp"))"
    exit 0
fi
say "building initramfs"
root=$(mktemp -d "$CACHE/root.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,run,etc,newroot,lib}
cp "$BUSYBOX" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
cp "$HERE/init.sh" "$root/init"
chmod 755 "$root/init" "$root/bin/busybox"
cp -a "$CACHE/modules/lib/modules" "$root/lib/"
cp "$CACHE/modules/base.order" "$root/etc/hostvm.base"
cp "$CACHE/modules/test.order" "$root/etc/hostvm.modules"
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | "$BUSYBOX" cpio -o -H newc 2>/dev/null) |
    gzip -n -6 >"$CACHE/initramfs.cpio.gz.tmp"
mv "$CACHE/initramfs.cpio.gz.tmp" "$CACHE/initramfs.cpio.gz"
rm -rf "$root"; trap - EXIT
printf '%s\n' "$inputs_hash" >"$CACHE/initramfs.stamp"
say "ready: $CACHE/initramfs.cpio.gz ($(du -k "$CACHE/initramfs.cpio.gz" | cut -f1) KiB), kernel $kver"
