#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# test-migrate-pingpong: one guest, dirtying 50 MiB/s, migrated ten times
# back and forth between two "sides" (A -> B -> A -> ...; a fresh monitor
# each time, as on two hosts), over unix: and tcp: in turn. Every move
# completes and the guest verifies memory between moves; at the end its
# heartbeats run contiguous over all eleven serial logs in order, and
# nothing was ever corrupt. Single moves and their statistics:
# test-migrate-live.sh.
set -euo pipefail
. "$(dirname "$0")/functions.sh"
. "$(dirname "$0")/migration-lib.sh"
requires_kvm

MOVES=10
logs=("$T/vm0.log")
total_downtime=0 max_downtime=0

guest_boot vm0 1 "fill=64 rate=50"
for ((i = 1; i <= MOVES; i++)); do
	if ((i % 2)); then
		uri="unix:$T/side-b.mig"
	else
		uri="tcp:127.0.0.1:$(free_port)"
	fi
	start_dest "vm$i" "$uri"
	mig_events "vm$i"
	migrate_ok "vm$((i - 1))" "vm$i" "$uri"
	[[ $MIG_DOWNTIME_MS =~ ^[0-9]+$ ]] || fail "move $i: no downtime in the final event"
	total_downtime=$((total_downtime + MIG_DOWNTIME_MS))
	((MIG_DOWNTIME_MS > max_downtime)) && max_downtime=$MIG_DOWNTIME_MS
	log "move $i (${uri%%:*}, side $(((i % 2)) && echo B || echo A)): $MIG_SUMMARY"
	# The guest runs and verifies here before it moves on.
	wait_for_log "$T/vm$i.log" '^V[0-9]+ ' 20
	logs+=("$T/vm$i.log")
done
swept_after_move "$T/vm$MOVES.log"
qmp "$T/vm$MOVES.sock" '{"execute":"quit"}' >/dev/null
expect_exit "vm$MOVES" 0 10
guest_intact "${logs[@]}"
log "$MOVES moves: $HEARTBEATS heartbeats contiguous over $((MOVES + 1)) logs, $SWEEPS sweeps," \
	"corrupt=0; downtime total $total_downtime ms, max $max_downtime ms"
