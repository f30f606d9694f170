#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# install-deps.sh: install the Debian packages that building, testing,
# fuzzing, benchmarking and the demo need. Idempotent and quiet: it runs
# apt-get (and `apt-get update` first) only when a package is missing.
# It never installs a guest kernel on the host; guests come from
# tests/guest/ (built by `make`) or scripts/fetch-linux.sh.
# Called by `make deps` (and so by `make check` and `make demo`).
set -euo pipefail

PACKAGES=(
	build-essential pkg-config             # compiler, make
	libjansson-dev libxml2-dev             # API JSON, domain XML
	libnbd-dev libgnutls28-dev             # NBD block backend, TLS
	clang libclang-rt-14-dev               # fuzzing (libFuzzer)
	qemu-system-x86                        # benchmarks and cross-checks
	python3 socat iproute2 tcpdump procps  # system tests (pgrep, ps), demo
	util-linux iputils-ping                # multi-host tests: nsenter, unshare, ping
	openssh-server openssh-client          # multi-host tests: pgr+ssh:// through a test sshd
	lz4 xz-utils zstd binutils             # fetch-linux.sh: unpack a stock kernel
	valgrind
)

missing=()
for p in "${PACKAGES[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null; then
	echo "install-deps: missing ${missing[*]} and no apt-get here: install them by hand" >&2
	exit 1
fi
SUDO=
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null || {
		echo "install-deps: missing ${missing[*]}: run this script as root" >&2
		exit 1
	}
	SUDO=sudo
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
