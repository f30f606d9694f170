#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# test-migrate-live: live migration of the test guest, idle (rate=0) and
# dirtying 100 MiB/s, with 1 and 2 vCPUs: each guest moves over unix: to a
# second monitor and from there over tcp:127.0.0.1 to a third. Every move:
# the source's last event is MIGRATION "completed" with its statistics
# (downtime, rounds >= 1, bytes sent), the source exits 0, the destination
# is running; the guest loses nothing (heartbeats contiguous over the three
# serial logs, a whole verify sweep after each move, nothing corrupt).
# Failures and cancel: test-migrate-cancel.sh, test-migrate-faults.sh.
set -euo pipefail
. "$(dirname "$0")/functions.sh"
. "$(dirname "$0")/migration-lib.sh"
requires_kvm

# check_stats NAME: the final event of a completed migration on NAME
# (wait_final read it into MIG_*), and the last: SHUTDOWN.
check_stats() {
	local name=$1

	[[ $MIG_DOWNTIME_MS =~ ^[0-9]+$ ]] || fail "$name: no downtime in the final event: $(mig_final "$name")"
	[[ $MIG_ROUNDS =~ ^[0-9]+$ ]] && [ "$MIG_ROUNDS" -ge 1 ] ||
		fail "$name: rounds '$MIG_ROUNDS', expected >= 1"
	[[ $MIG_SENT =~ ^[0-9]+$ ]] && [ "$MIG_SENT" -gt 0 ] ||
		fail "$name: ram.transferred '$MIG_SENT', expected > 0"
	wait_event "$name" '"event":"SHUTDOWN"' 5
	[ "$(tail -n 1 "$T/$name.events" | grep -c '"event":"SHUTDOWN"')" -eq 1 ] ||
		fail "$name: the last event is not SHUTDOWN: $(tail -n 1 "$T/$name.events")"
}

# move SRC DST URI: SRC to the waiting DST; checked.
move() {
	local src=$1 dst=$2 uri=$3

	migrate_ok "$src" "$dst" "$uri"
	check_stats "$src"
	swept_after_move "$T/$dst.log"
	log "  ${uri%%:*}: $src -> $dst $MIG_SUMMARY"
}

# chain CPUS RATE: boot, then move over unix: and over tcp:.
chain() {
	local cpus=$1 rate=$2 a=a$1-$2 b=b$1-$2 c=c$1-$2 port

	log "cpus=$cpus rate=$rate MiB/s:"
	guest_boot "$a" "$cpus" "fill=128 rate=$rate"
	start_dest "$b" "unix:$T/$b.mig"
	mig_events "$b"
	move "$a" "$b" "unix:$T/$b.mig"
	port=$(free_port)
	start_dest "$c" "tcp:127.0.0.1:$port"
	mig_events "$c"
	move "$b" "$c" "tcp:127.0.0.1:$port"
	qmp "$T/$c.sock" '{"execute":"quit"}' >/dev/null
	expect_exit "$c" 0 10
	guest_intact "$T/$a.log" "$T/$b.log" "$T/$c.log"
	log "  intact: $HEARTBEATS heartbeats, $SWEEPS sweeps, corrupt=0"
}

chain 1 0
chain 1 100
chain 2 0
chain 2 100
