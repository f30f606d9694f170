#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# demo.sh: `make demo` — Peregrine's monitor running a guest, in under a
# minute. It boots the test guest (tests/guest/, docs/test-guest.md) with 2
# vCPUs and 1 GiB, shows its console live (banner, heartbeats, memory
# sweeps), pauses and resumes it through the API socket, powers it off
# from its console, then checks from the log that the guest lost nothing.
# Exit 0 only if every step did what it said.
#
# Then it live-migrates the running guest to a second pgr-vmm over TCP
# (what two hosts do, on one machine), shows the console carrying on
# there with the migration's figures, and checks that the guest lost
# nothing across both monitors.
#
# Each step is a function; the main sequence at the bottom lists them.
# (Two pgrd hosts and `pgr migrate --live --verbose` join when the
# daemon's migration lands.) The helpers come from tests/system/
# functions.sh and migration-lib.sh, so the demo cleans up after itself
# exactly as the tests do.
set -euo pipefail
. "$(dirname "$0")/../tests/system/functions.sh"
. "$(dirname "$0")/../tests/system/migration-lib.sh"

VM=guest
LOG=$T/$VM.out            # --serial stdio: the console is the monitor's stdout
API=$T/$VM.sock
FILL=128

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

step_boot() {
	say "1. Booting the test guest under pgr-vmm: 2 vCPUs, 1 GiB of RAM."
	echo "   It fills $FILL MiB with a pattern, rewrites pages at 20 MiB/s and"
	echo "   verifies every word continuously; its console follows for 5 seconds."
	mkfifo "$T/console.in"
	exec 3<>"$T/console.in"
	now_ms
	BOOT_START=$REPLY
	start_vmm "$VM" --kernel "$GUEST" --cmdline "fill=$FILL rate=20" \
		--memory 1G --cpus 2 --serial stdio <"$T/console.in" 3>&-
	wait_for_log "$LOG" '^H1$' 10
	now_ms
	FIRST_HB_MS=$((REPLY - BOOT_START))
	show_console 5 +1
	wait_for_log "$LOG" '^V1 ' 10
	banner=$(grep -a -m1 '^PGR-TESTGUEST ' "$LOG")
	[[ $banner == *" cpus=2 mem=1024 "* ]] || fail "the banner does not show 2 CPUs and 1 GiB: $banner"
	echo "   The guest saw 2 CPUs and 1024 MiB, and its first heartbeat came $FIRST_HB_MS ms after the monitor started."
}

step_pause_resume() {
	local before after resumed_ms start

	say "2. Pausing it through the API socket ({\"execute\":\"stop\"}) for 2 seconds."
	qmp "$API" '{"execute":"stop"}' >/dev/null
	echo "   query-status: $(qmp "$API" '{"execute":"query-status"}' return.status)"
	before=$(hb_last "$LOG")
	sleep 2
	after=$(hb_last "$LOG")
	[ "$after" -le $((before + 1)) ] || fail "heartbeats went on while paused (H$before -> H$after)"
	echo "   Last heartbeat H$after; 2 seconds later still H$after: nothing runs while paused."

	say "3. Resuming it ({\"execute\":\"cont\"})."
	now_ms
	start=$REPLY
	qmp "$API" '{"execute":"cont"}' >/dev/null
	wait_for_log "$LOG" "^H$((after + 1))\$" 5
	now_ms
	resumed_ms=$((REPLY - start))
	echo "   query-status: $(qmp "$API" '{"execute":"query-status"}' return.status)"
	grep -a -A3 "^H$after\$" "$LOG" | sed 's/^/   | /'
	echo "   H$((after + 1)) followed H$after, ${resumed_ms} ms after cont: no beat lost, none replayed."
	show_console 2
}

step_migrate() {
	local port last first

	say "4. Live-migrating the running guest to a second pgr-vmm over TCP."
	echo "   The destination starts with only --incoming: the definition travels in"
	echo "   the stream. On two hosts it would listen on tcp:HOST:PORT."
	port=$(free_port)
	mkfifo "$T/console2.in"
	exec 4<>"$T/console2.in"
	start_dest dst "tcp:127.0.0.1:$port" --serial stdio <"$T/console2.in" 3>&- 4>&-
	migrate "$VM" "tcp:127.0.0.1:$port"
	wait_final "$VM" completed 60
	expect_exit "$VM" 0 20
	echo "   Source: $MIG_SUMMARY; then its pgr-vmm exited 0."
	echo "   Destination: $(qmp "$T/dst.sock" '{"execute":"query-status"}' return.status)"
	wait_for_log "$T/dst.out" '^H[0-9]+$' 10
	last=$(grep -a '^H[0-9]*$' "$LOG" | tail -n 1)
	first=$(grep -a -m1 '^H[0-9]*$' "$T/dst.out")
	echo "   Last heartbeat on the source: $last; first on the destination: $first."
	CONSOLE=$T/dst.out show_console 3
	swept_after_move "$T/dst.out" 20
}

step_poweroff() {
	say "5. Typing 'poweroff' on the guest's console, now on the destination."
	echo poweroff >&4
	expect_exit dst 0 10
	echo "   The guest powered off through its PM port; that pgr-vmm exited with status 0."
}

step_verdict() {
	say "6. What the guest's logs prove, source and destination together:"
	guest_intact "$LOG" "$T/dst.out"
	[ "$SWEEPS" -ge 3 ] || fail "only $SWEEPS memory sweeps"
	echo "   $HEARTBEATS heartbeats, numbered 1 to $HEARTBEATS without a gap or a repeat"
	echo "   across the move; $SWEEPS complete sweeps over $FILL MiB, every one with corrupt=0."
}

requires_kvm
step_boot
step_pause_resume
step_migrate
step_poweroff
step_verdict
say "Demo finished: everything shown worked."
