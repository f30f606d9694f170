#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# test-boot: the test guest boots under pgr-vmm with 1, 2 and 4 vCPUs and
# 256 MiB, 1 GiB and 4 GiB (RAM split around the PCI hole), sees what it
# was given (banner cpus= and mem=, one "CPU n up" per AP, an e820 map that
# adds up and skips the hole), beats within 5 s of the monitor's start, and
# verifies its memory in sweeps with nothing corrupt. And the check sees
# corruption: a guest told to flip a word (selftest-corrupt) fails it.
set -euo pipefail
. "$(dirname "$0")/functions.sh"
requires_kvm

# check_e820 LOG MIB: usable RAM adds up to MIB (less the hole below 1 MiB)
# and, beyond 3 GiB, continues at 4 GiB.
check_e820() {
	local log=$1 mib=$2 start end type usable=0 top=0 want_top

	while read -r _ start end type; do
		[ "$type" = 1 ] || continue
		usable=$((usable + end - start))
		[ $((end)) -gt "$top" ] && top=$((end))
		if [ $((start)) -lt $((4 << 30)) ] && [ $((end)) -gt $((3 << 30)) ]; then
			fail "e820: usable RAM $start-$end inside the 32-bit PCI hole"
		fi
	done < <(grep -a '^E820 ' "$log")
	[ $(((mib << 20) - usable)) -ge 0 ] && [ $(((mib << 20) - usable)) -lt $((1 << 20)) ] ||
		fail "e820: $usable bytes usable for --memory ${mib}M"
	want_top=$((mib << 20))
	[ "$mib" -gt 3072 ] && want_top=$(((mib + 1024) << 20))
	[ "$top" -eq "$want_top" ] || fail "e820: RAM ends at $top, expected $want_top"
}

# boot_one CPUS MIB: boot, wait for heartbeats and 3 sweeps, quit, check.
boot_one() {
	local cpus=$1 mib=$2 name=vm$1 banner start ms

	now_ms
	start=$REPLY
	start_vmm "$name" --kernel "$GUEST" --cmdline "fill=32 rate=8" \
		--memory "${mib}M" --cpus "$cpus"
	wait_for_log "$T/$name.log" '^H1$' 5
	now_ms
	ms=$((REPLY - start))
	wait_for_log "$T/$name.log" '^V3 ' 20
	qmp "$T/$name.sock" '{"execute":"quit"}' >/dev/null
	expect_exit "$name" 0 10

	banner=$(grep -a -m1 '^PGR-TESTGUEST ' "$T/$name.log")
	[[ $banner =~ ^PGR-TESTGUEST\ 1\ cpus=([0-9]+)\ mem=([0-9]+)\ fill=32\ .*cmdline=\"fill=32\ rate=8\"$ ]] ||
		fail "banner: $banner"
	[ "${BASH_REMATCH[1]}" -eq "$cpus" ] || fail "banner says cpus=${BASH_REMATCH[1]}, given $cpus"
	[ "${BASH_REMATCH[2]}" -eq "$mib" ] || fail "banner says mem=${BASH_REMATCH[2]}, given $mib MiB"
	[ "$(grep -ac '^CPU [0-9]* up$' "$T/$name.log")" -eq $((cpus - 1)) ] ||
		fail "expected $((cpus - 1)) 'CPU n up' lines"
	check_e820 "$T/$name.log" "$mib"
	heartbeat_check "$T/$name.log"
	no_corrupt "$T/$name.log"
	[ "$SWEEPS" -ge 3 ] || fail "$SWEEPS sweeps"
	log "cpus=$cpus mem=${mib}M: first heartbeat after $ms ms; $HEARTBEATS heartbeats, $SWEEPS sweeps, corrupt=0"
}

boot_one 1 256
boot_one 2 1024
boot_one 4 4096

start_vmm bad --kernel "$GUEST" --cmdline "fill=32 selftest-corrupt" --memory 256M
wait_for_log "$T/bad.log" '^V2 pages=[0-9]+ ms=[0-9]+ corrupt=[1-9]' 20
qmp "$T/bad.sock" '{"execute":"quit"}' >/dev/null
expect_exit bad 0 10
! "$PYTHON" "$GUESTLOG" intact "$T/bad.log" >/dev/null || fail "a flipped word went unnoticed"
grep -aq '^CORRUPT page=0 .* word=7 ' "$T/bad.log" || fail "no CORRUPT line for the flipped word"
log "selftest-corrupt: the flipped word is reported, and no_corrupt would fail"
