#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# demo.sh: `make demo` — what Peregrine is for, in about a minute: a guest
# moved live from one host to another while it works, and proof that it
# lost nothing.
#
# Two hosts on this machine (network namespaces joined by a switch, each
# with its own pgrd and relocation server on port 8002, names from their
# own hosts file: tests/system/hosts-lib.sh); a disk image on storage both
# see. On hosta, `pgr define` and `pgr start` the test guest (tests/guest/,
# docs/test-guest.md: 2 vCPUs, 1 GiB, a memory workload that checks every
# word and a disk workload that checks every block, a heartbeat every
# millisecond); its console scrolls. `pgr suspend`/`resume`. Then
# `pgr migrate --live --verbose web pgr+tcp://hostb/` on hosta, the
# console carrying on from hostb, `pgr domjobinfo` with the downtime; and
# back to hosta without --live (paused, moved, resumed); `pgr save` and
# `pgr restore --lazy` there. `poweroff` typed on its console. Last, both hosts' console logs read as one stream: heartbeats
# numbered without a gap or a repeat, every memory sweep and disk pass
# clean. Exit 0 only if every step did what it said.
#
# Each step is a function; the main sequence at the bottom lists them. The
# helpers come from the tests (functions.sh, hosts-lib.sh), so the demo
# cleans up after itself exactly as they do.
set -euo pipefail
. "$(dirname "$0")/../tests/system/functions.sh"
. "$(dirname "$0")/../tests/system/hosts-lib.sh"

VM=web
FILL=256
DISK=$SHARED/$VM.img

say() {
	printf '\n\033[1m%s\033[0m\n' "$*"
}

# show_console SECONDS [FROM]: the console as it scrolls (from line FROM,
# default: what comes next), thinned for reading: every line but heartbeats
# and sweeps, a heartbeat every 0.5 s, a sweep every 1.5 s (the guest aims
# at a heartbeat every millisecond).
show_console() {
	local next_h=0 next_v=0 line

	timeout "$1" tail -n "${2:-0}" -f "${CONSOLE:-$LOG}" | while IFS= read -r line; do
		now_ms
		case $line in
		H[0-9]*)
			[ "$REPLY" -ge "$next_h" ] || continue
			next_h=$((REPLY + 500)) ;;
		V[0-9]*)
			[ "$REPLY" -ge "$next_v" ] || continue
			next_v=$((REPLY + 1500)) ;;
		esac
		printf '   | %s\n' "$line"
	done || true
}

step_hosts() {
	say "1. Two hosts, hosta and hostb: network namespaces on one switch, each"
	echo "   with its own pgrd and relocation server (port 8002), allowing only the other."
	hosts_setup hosta hostb
	host_start hosta
	host_start hostb
	truncate -s 16M "$DISK"
	echo "   hostb's host UUID, asked from hosta with pgr -c pgr+tcp://hostb/ sysinfo:"
	pgr_on hosta -c pgr+tcp://hostb/ sysinfo | grep -E 'uuid' | sed '/^$/d; s/^/   | /'
	echo "   A 16 MiB disk image in $SHARED, which both hosts see (shared storage)."
}

step_boot() {
	say "2. pgr define + pgr start on hosta: 2 vCPUs, 1 GiB, the disk with cache=none."
	echo "   The guest fills $FILL MiB, rewrites it at 20 MiB/s and verifies every word;"
	echo "   it writes and reads back its disk; its console follows for 4 seconds."
	define_on hosta "$VM" mib=1024 cpus=2 disk="$DISK" \
		cmdline="fill=$FILL rate=20 blk=mix blkmib=1 blkrate=2048 blkseed=7"
	pgr_on hosta start "$VM" | sed '/^$/d; s/^/   $ /'
	CONSOLE=$(console_of hosta "$VM")
	wait_for_log "$CONSOLE" '^H1$' 20
	show_console 4 +1
	wait_for_log "$CONSOLE" '^V1 ' 20
	pgr_on hosta list --all | sed '/^$/d; s/^/   | /'
}

step_pause_resume() {
	local before after

	say "3. pgr suspend for 2 seconds, then pgr resume."
	pgr_on hosta suspend "$VM" | sed '/^$/d; s/^/   $ /'
	before=$(hb_last "$CONSOLE")
	sleep 2
	after=$(hb_last "$CONSOLE")
	[ "$after" -le $((before + 1)) ] || fail "heartbeats went on while suspended (H$before -> H$after)"
	echo "   Last heartbeat H$after; 2 seconds later still H$after: nothing runs while paused."
	pgr_on hosta resume "$VM" | sed '/^$/d; s/^/   $ /'
	wait_for_log "$CONSOLE" "^H$((after + 1))\$" 5
	echo "   H$((after + 1)) followed H$after: no beat lost, none replayed."
}

step_migrate() {
	local last first

	say "4. On hosta: pgr migrate --live --verbose $VM pgr+tcp://hostb/"
	echo "   hostb's pgrd checks the guest fits (memory, CPU features, the disk path),"
	echo "   starts a pgr-vmm on the same connection, and the memory streams across"
	echo "   while the guest runs; it stops only for the last few pages."
	pgr_on hosta migrate --live --verbose "$VM" pgr+tcp://hostb/ 2>&1 | tr '\r' '\n' |
		grep -v '^$' | tail -n 3 | sed '/^$/d; s/^/   | /'
	state_on hostb "$VM" "running (migrated)" 10
	state_on hosta "$VM" "shut off (migrated)" 10
	echo "   hosta: $(pgr_on hosta domstate "$VM" --reason | head -n 1); hostb: $(pgr_on hostb domstate "$VM" --reason | head -n 1)"
	pgr_on hosta domjobinfo "$VM" | grep -E 'Time elapsed|Memory total|Total downtime|Data processed' |
		sed 's/^/   | /'
	CONSOLE_B=$(console_of hostb "$VM")
	wait_for_log "$CONSOLE_B" '^H[0-9]+$' 10
	last=$(hb_done "$CONSOLE")
	first=$(grep -a -m1 '^H[0-9]*$' "$CONSOLE_B")
	echo "   Last heartbeat on hosta: H$last; first on hostb: $first."
	[ "$first" = "H$((last + 1))" ] ||
		echo "   (H$((last + 1)) was being written as the guest moved: it starts in one log and ends in the other.)"
	CONSOLE=$CONSOLE_B show_console 3
}

step_back() {
	say "5. And back: pgr migrate $VM hosta (no --live: paused, moved, resumed; as xm migrate)."
	pgr_on hostb migrate "$VM" hosta | sed '/^$/d; s/^/   $ /'
	state_on hosta "$VM" "running (migrated)" 10
	CONSOLE_A2=$(console_of hosta "$VM")
	hb_grows "$CONSOLE_A2" 500 10
	echo "   hosta: $(pgr_on hosta domstate "$VM" --reason | head -n 1); the guest counts on: H$(hb_last "$CONSOLE_A2")."
}

step_save_restore() {
	local log

	say "6. pgr save $VM, then pgr restore --lazy on hosta: the guest runs again before"
	echo "   its memory is read, each 2 MiB checked against its CRC as it is first used."
	pgr_on hosta save "$VM" "$SHARED/$VM.save" | sed '/^$/d; s/^/   $ /'
	pgr_on hosta restore "$SHARED/$VM.save" --lazy | sed '/^$/d; s/^/   $ /'
	state_on hosta "$VM" "running (restored)" 10
	log=$(dirname "$CONSOLE_A2")/$VM.log
	hb_grows "$CONSOLE_A2" 500 10
	echo "   pgr-vmm: $(grep -ao 'resumed [0-9.]* ms after the stream ended' "$log" | tail -n 1);" \
		"$(grep -ao 'RAM image verified and in place [0-9.]* ms' "$log" | tail -n 1)."
	echo "   The guest counts on: H$(hb_last "$CONSOLE_A2")."
}

step_shutdown() {
	say "7. Typing 'poweroff' on its console (pgr console $VM, on hosta): the guest"
	echo "   powers itself off (the test guest ignores the power button of pgr shutdown)."
	printf 'poweroff\n' | pgr_on hosta console "$VM" >/dev/null
	state_on hosta "$VM" "shut off (shutdown)" 20
	pgr_on hosta list --all | sed '/^$/d; s/^/   | /'
}

step_verdict() {
	say "8. What the guest's consoles prove, hosta, hostb and hosta again read as one:"
	head -c "$A_OFFSET" "$CONSOLE_A2" >"$T/hosta-1.console"
	tail -c +$((A_OFFSET + 1)) "$CONSOLE_A2" >"$T/hosta-2.console"
	guest_ok "$T/hosta-1.console" "$CONSOLE_B" "$T/hosta-2.console"
	[ "$SWEEPS" -ge 3 ] || fail "only $SWEEPS memory sweeps"
	echo "   $HEARTBEATS heartbeats, numbered 1 to $HEARTBEATS without a gap or a repeat"
	echo "   across both moves and the save and restore; $SWEEPS complete sweeps over $FILL MiB, every one with"
	echo "   corrupt=0; $DISK_PASSES disk verify passes with errors=0."
}

requires_kvm
step_hosts
step_boot
step_pause_resume
step_migrate
# hosta's console log grows again when the guest returns: split it there.
A_OFFSET=$(stat -c %s "$(console_of hosta "$VM")")
step_back
step_save_restore
step_shutdown
step_verdict
say "Demo finished: everything shown worked."
