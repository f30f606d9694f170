#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# fetch-linux.sh DIR: a stock Debian 12 cloud kernel for the Linux smoke test
# (tests/system/linux-smoke.sh), as both formats pgr-vmm boots:
#   DIR/bzImage  the distribution's /boot/vmlinuz-* (64-bit boot protocol)
#   DIR/vmlinux  its decompressed payload, an ELF with a PVH note
#   DIR/version  the kernel package it came from
# The package is downloaded with apt-get download and unpacked with dpkg-deb,
# never installed. Idempotent: does nothing when both files are there.
# It does not build kernels or fetch modules/initrds.
set -euo pipefail

die() { echo "fetch-linux: $*" >&2; exit 1; }

[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
dir=$1
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

if [ -s "$dir/bzImage" ] && [ -s "$dir/vmlinux" ]; then
	echo "fetch-linux: $dir already has bzImage and vmlinux ($(cat "$dir/version" 2>/dev/null))"
	exit 0
fi

for tool in apt-get apt-cache dpkg-deb od; do
	command -v "$tool" >/dev/null || die "$tool not found (a Debian host is needed)"
done

work=$(mktemp -d "$dir/.fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT

# linux-image-cloud-amd64 is a metapackage; the real image is its dependency.
pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
	sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-cloud-amd64\)$/\1/p' | head -n1)
[ -n "$pkg" ] || die "cannot resolve linux-image-cloud-amd64 (apt-get update? Debian 12 sources?)"
echo "fetch-linux: downloading $pkg"
# (as root, apt warns that its _apt user cannot write here: harmless)
if ! (cd "$work" && apt-get download -q "$pkg") >"$work/apt.log" 2>&1; then
	cat "$work/apt.log" >&2
	die "apt-get download $pkg failed"
fi
deb=$(ls "$work"/*.deb 2>/dev/null | head -n1)
[ -n "$deb" ] || die "apt-get download $pkg left no .deb"

dpkg-deb -x "$deb" "$work/root" || die "dpkg-deb -x $deb failed"
vmlinuz=$(ls "$work"/root/boot/vmlinuz-* 2>/dev/null | head -n1)
[ -n "$vmlinuz" ] || die "$pkg has no /boot/vmlinuz-*"

# read_le FILE OFFSET BYTES: an unsigned little-endian integer
read_le() { od -An -t "u$3" -j "$2" -N "$3" "$1" | tr -d ' '; }

# The compressed vmlinux sits at payload_offset (from the protected-mode
# part) for payload_length bytes, the last 4 of which are the size the
# build appends; the compression is whatever magic starts it.
extract_vmlinux() {
	local bz=$1 out=$2 sects pm off len magic tool
	[ "$(od -An -c -j 514 -N 4 "$bz" | tr -d ' ')" = "HdrS" ] || die "$bz: not a bzImage"
	sects=$(read_le "$bz" 497 1)
	[ "$sects" -eq 0 ] && sects=4
	pm=$(( (sects + 1) * 512 ))
	off=$(read_le "$bz" 584 4)     # 0x248 payload_offset
	len=$(read_le "$bz" 588 4)     # 0x24c payload_length
	[ "$len" -gt 4 ] || die "$bz: no payload_length in its setup header"
	dd if="$bz" of="$work/payload" bs=1M iflag=skip_bytes,count_bytes \
		skip=$(( pm + off )) count=$(( len - 4 )) status=none || die "$bz: cannot read its payload"
	magic=$(od -An -t x1 -N 6 "$work/payload" | tr -d ' \n')
	case $magic in
	fd377a585a00*) tool="xz -dc" ;;
	28b52ffd*)     tool="zstd -dcq" ;;
	1f8b*)         tool="gzip -dc" ;;
	5d0000*)       tool="xz -dc --format=lzma" ;;
	425a68*)       tool="bzip2 -dc" ;;
	02214c18*)     tool="lz4 -dc" ;;
	*)             die "$bz: unknown compression (payload starts $magic)" ;;
	esac
	command -v "${tool%% *}" >/dev/null || die "${tool%% *} is needed to decompress $bz"
	$tool < "$work/payload" > "$out.tmp" || die "$tool failed on $bz"
	[ "$(od -An -c -N 4 "$out.tmp" | tr -d ' ')" = "177ELF" ] || die "$bz: payload is not an ELF"
	mv "$out.tmp" "$out"
	echo "fetch-linux: decompressed with ${tool%% *}"
}

cp "$vmlinuz" "$dir/bzImage"
extract_vmlinux "$dir/bzImage" "$dir/vmlinux"
echo "$pkg $(basename "$vmlinuz")" > "$dir/version"
if command -v readelf >/dev/null && ! readelf -n "$dir/vmlinux" | grep -q "Xen.*0x00000012\|Xen.*PHYS32_ENTRY"; then
	echo "fetch-linux: warning: $dir/vmlinux has no PVH note (CONFIG_PVH off?)" >&2
fi
echo "fetch-linux: $dir/bzImage $dir/vmlinux ($pkg)"
