# shellcheck shell=bash
# Sourceable helper for the QEMU guests' builds (tests/targets/lio, tests/targets/guest): Debian's
# own kernel package, fetched with apt-get download into a git-ignored cache and never installed
# on the host.
#
# Source from a `set -euo pipefail` script that defines fail MSG (exits) and say MSG (progress).
#
# API
#   kernel_fetch CACHE          make CACHE/vmlinuz the kernel that linux-image-amd64 names now;
#                               CACHE/kernel.stamp says which ("linux-image-6.1.0-N-amd64=VERSION").
#                               The package itself is kept as CACHE/kernel.deb (for kernel_modules).
#                               Sets KERNEL_FETCHED=1 when it (re)fetched, else 0. Offline (no apt
#                               lists) a cached kernel is reused as it is.
#   kernel_modules CACHE DEST MODULE...   copy MODULE.ko (decompressed if the package has .ko.xz or
#                               .ko.zst) for each MODULE into DEST, from CACHE/kernel.deb (fetched
#                               again if missing or of another version than kernel.stamp). Fails
#                               naming a module the package does not have.
#   kernel_version CACHE        print the kernel release (6.1.0-N-amd64) of the cached kernel
#   kernel_vmlinux CACHE        make CACHE/vmlinux (the uncompressed ELF inside vmlinuz, which qemu
#                               boots through its PVH entry in well under a second under TCG, where
#                               the bzImage's setup and xz decompression take 4..15 s) unless it is
#                               there; true if it is there afterwards. kernel_fetch removes a stale
#                               one. Needs python3 (lzma) and binutils' readelf.
# Both take an exclusive lock on CACHE/.kernel.lock (flock, 600 s at most), so builds that share
# a cache may run at the same time.
# Packages: apt (apt-get, apt-cache), dpkg, tar, xz-utils / zstd (only for compressed modules),
# util-linux (flock).

# _kernel_lock CACHE: open and lock CACHE/.kernel.lock on fd _KERNEL_LOCK_FD
_kernel_lock() {
    mkdir -p "$1"
    command -v flock >/dev/null || fail "flock not found: install package util-linux"
    exec {_KERNEL_LOCK_FD}>"$1/.kernel.lock"
    flock -w 600 "$_KERNEL_LOCK_FD" || fail "kernel cache $1 locked by another build for 600 s"
}
_kernel_unlock() { exec {_KERNEL_LOCK_FD}>&-; }

# Prints "linux-image-6.1.0-N-amd64=VERSION" as apt resolves linux-image-amd64 now, or nothing.
_kernel_want() {
    command -v apt-cache >/dev/null || return 0
    local dep pkg ver
    # one apt-cache call (each takes ~1 s): "Depends: linux-image-6.1.0-N-amd64 (= VERSION)"
    dep=$(apt-cache show --no-all-versions linux-image-amd64 2>/dev/null |
          sed -n 's/^Depends: .*\(linux-image-[0-9][^ ,]*-amd64\) (= \([^)]*\)).*/\1=\2/p' | head -n 1)
    if [[ -n $dep ]]; then
        printf '%s\n' "$dep"
        return 0
    fi
    pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
          awk '/Depends: linux-image-[0-9].*-amd64$/ {print $2; exit}')
    [[ -n $pkg ]] || return 0
    ver=$(apt-cache policy "$pkg" 2>/dev/null | awk '/Candidate:/ {print $2; exit}')
    [[ -z $ver || $ver == "(none)" ]] || printf '%s=%s\n' "$pkg" "$ver"
}

# _kernel_download CACHE PKG=VER: CACHE/kernel.deb := that package (atomically)
_kernel_download() {
    local cache=$1 want=$2 tmp deb
    command -v apt-get >/dev/null || fail "apt-get not found (Debian expected)"
    say "fetching $want"
    tmp=$(mktemp -d "$cache/fetch.XXXXXX")
    # apt-get download as root writes as _apt when it can; let it write into tmp
    chmod 755 "$tmp"
    if ! (cd "$tmp" && apt-get download -q "$want" >/dev/null 2>"$tmp/apt.err"); then
        cat "$tmp/apt.err" >&2
        rm -rf "$tmp"
        fail "apt-get download $want failed (apt-get update?)"
    fi
    deb=$(ls "$tmp"/*.deb)
    mv "$deb" "$cache/kernel.deb"
    rm -rf "$tmp"
}

# _kernel_deb_is CACHE PKG=VER: true if CACHE/kernel.deb is that package
_kernel_deb_is() {
    [[ -s $1/kernel.deb ]] || return 1
    [[ "$(dpkg-deb -f "$1/kernel.deb" Package)=$(dpkg-deb -f "$1/kernel.deb" Version)" == "$2" ]]
}

kernel_version() {
    local s; s=$(cat "$1/kernel.stamp" 2>/dev/null) || fail "no kernel in $1 (kernel_fetch first)"
    s=${s%%=*}
    printf '%s\n' "${s#linux-image-}"
}

kernel_fetch() {
    local cache=$1 want have kver tmp
    command -v dpkg-deb >/dev/null || fail "dpkg-deb not found (Debian expected)"
    KERNEL_FETCHED=0
    _kernel_lock "$cache"
    want=$(_kernel_want)
    have=$(cat "$cache/kernel.stamp" 2>/dev/null || true)
    if [[ -z $want ]]; then
        [[ -n $have && -s $cache/vmlinuz ]] ||
            fail "cannot resolve linux-image-amd64 (run: apt-get update) and no cached kernel in $cache"
        say "apt lists unavailable: reusing cached $have"
        _kernel_unlock
        return 0
    fi
    if [[ $have != "$want" || ! -s $cache/vmlinuz ]]; then
        _kernel_deb_is "$cache" "$want" || _kernel_download "$cache" "$want"
        kver=${want%%=*}; kver=${kver#linux-image-}
        tmp=$(mktemp -d "$cache/x.XXXXXX")
        dpkg-deb --fsys-tarfile "$cache/kernel.deb" | tar -x -C "$tmp" "./boot/vmlinuz-$kver" 2>/dev/null ||
            { rm -rf "$tmp"; fail "no boot/vmlinuz-$kver in $want"; }
        rm -f "$cache/kernel.stamp" "$cache/vmlinux"
        mv "$tmp/boot/vmlinuz-$kver" "$cache/vmlinuz"
        rm -rf "$tmp"
        printf '%s\n' "$want" >"$cache/kernel.stamp"
        KERNEL_FETCHED=1
    fi
    _kernel_unlock
}

kernel_modules() {
    local cache=$1 dest=$2; shift 2
    local want kver tmp m f
    want=$(cat "$cache/kernel.stamp" 2>/dev/null) || fail "no kernel in $cache (kernel_fetch first)"
    kver=$(kernel_version "$cache")
    _kernel_lock "$cache"
    _kernel_deb_is "$cache" "$want" || _kernel_download "$cache" "$want"
    tmp=$(mktemp -d "$cache/x.XXXXXX")
    local -a pats=()
    for m in "$@"; do pats+=("*/$m.ko" "*/$m.ko.xz" "*/$m.ko.zst"); done
    # one pass over the package's ~400 MB of modules; tar returns non-zero for the patterns that
    # match nothing (the compressed variants), so success is judged per module below
    dpkg-deb --fsys-tarfile "$cache/kernel.deb" |
        tar -x -C "$tmp" --wildcards "${pats[@]}" 2>/dev/null || true
    mkdir -p "$dest"
    for m in "$@"; do
        f=$(find "$tmp/lib/modules/$kver" \( -name "$m.ko" -o -name "$m.ko.xz" -o -name "$m.ko.zst" \) 2>/dev/null | head -n 1)
        [[ -n $f ]] || { rm -rf "$tmp"; _kernel_unlock; fail "module $m not found in $want"; }
        case $f in
            *.xz) xz -dc "$f" >"$dest/$m.ko" ;;
            *.zst) zstd -qdc "$f" >"$dest/$m.ko" ;;
            *) cp "$f" "$dest/$m.ko" ;;
        esac
    done
    rm -rf "$tmp"
    _kernel_unlock
}

kernel_vmlinux() {
    local cache=$1 tmp
    [[ -s $cache/vmlinux ]] && return 0
    [[ -s $cache/vmlinuz ]] || fail "no kernel in $cache (kernel_fetch first)"
    command -v readelf >/dev/null || return 1
    [[ -x /usr/bin/python3 ]] || return 1
    _kernel_lock "$cache"
    if [[ ! -s $cache/vmlinux ]]; then
        tmp=$(mktemp "$cache/vmlinux.XXXXXX")
        /usr/bin/python3 - "$cache/vmlinuz" "$tmp" <<'PY' || : >"$tmp"
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
        # PVH entry: the Xen ELF note 0x12
        if [[ -s $tmp ]] && readelf -n "$tmp" 2>/dev/null | grep -q 'note type: (0x00000012)'; then
            chmod 644 "$tmp"
            mv "$tmp" "$cache/vmlinux"
        else
            rm -f "$tmp"
        fi
    fi
    _kernel_unlock
    [[ -s $cache/vmlinux ]]
}
