#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# test-migrate-faults: live migration breaks in each phase, and the guest
# never notices. Between source and destination sits tests/system/
# migproxy.py, which cuts the TCP connection (both ends reset):
#   a. during the first pass (after 30 MB);
#   b. during a dirty round (just after the second round's ROUND section,
#      MIGRATION_PASS 2; bandwidth capped and downtime-limit 1 ms so that
#      rounds go on);
#   c. during stop-and-copy (status "device": max-iterations 1, so the cut
#      just after the first ROUND section falls in the final copy);
#   d. (no proxy) the destination is killed with SIGKILL mid-way;
#   e. when the stream is complete, before the commit: the destination's
#      ACK never reaches the source;
#   f. after the commit point: GO reaches the destination, its DONE never
#      comes back;
#   g. the connection stalls (a black hole: nothing relayed, nothing closed)
#      during stop-and-copy; migrate-cancel gets the guest running again;
#   h. GO is lost on the way: the destination gives up without running the
#      guest, the source stays paused; once the destination is known gone,
#      "cont" on the source runs the guest again (as its error says).
# In a-e and g the source reports "failed" ("cancelled" in g), runs on with its memory intact (more
# heartbeats, two more verify sweeps, nothing corrupt), the destination
# exits non-zero (or was killed) without ever running the guest, and a
# retry to a fresh destination succeeds; that destination is the source of
# the next case, so the guest's heartbeats must run contiguous through all
# of them. In f the destination runs the guest and the source stays paused
# (postmigrate: never two copies), refusing a new migration. In h nobody
# runs the guest until the operator's "cont".
# Cancel: test-migrate-cancel.sh. Hostile streams: test-migrate-bad-stream.sh.
set -euo pipefail
. "$(dirname "$0")/functions.sh"
. "$(dirname "$0")/migration-lib.sh"
requires_kvm

CHAIN=()        # the serial logs the guest lived in, in order
N=0             # monitors in the chain so far: the source is vm$((N - 1))

# start_proxy CASE TARGET ARGS...: migproxy relaying to TARGET; PROXY_URI
# is where the source should connect, PROXY_PID its pid.
start_proxy() {
	local out=$T/proxy-$1.out target=$2
	shift 2

	python3 -u "$MIGPROXY" relay "$target" "$@" >"$out" 2>&1 &
	PROXY_PID=$!
	wait_for_log "$out" '^listening ' 20
	PROXY_URI=tcp:$(sed -n 's/^listening //p' "$out")
}

# bad_dest CASE: a destination that the fault will break; DST_URI.
bad_dest() {
	DST_URI=tcp:127.0.0.1:$(free_port)
	start_dest "bad-$1" "$DST_URI"
}

# survived CASE SRC [STATUS]: the migration failed (or STATUS), the source
# runs on intact and the destination is gone without having run the guest.
survived() {
	local case=$1 src=$2 bad=bad-$1 sweeps status

	wait_final "$src" "${3:-failed}" 30
	status=$(qmp "$T/$src.sock" '{"execute":"query-status"}' return.status)
	[ "$status" = running ] || fail "case $case: source $status after the failure"
	sweeps=$(grep -ac '^V[0-9]* ' "$T/$src.log")
	hb_grows "$T/$src.log" 300 10
	wait_for_log "$T/$src.log" '^V[0-9]+ ' 20 $((sweeps + 2))
	guest_intact "${CHAIN[@]}"
	vmm_wait "$bad" 20
	[ "$VMM_STATUS" -ne 0 ] || fail "case $case: the destination exited 0"
	no_guest "$T/$bad.log"
	log "$case: source: $MIG_SUMMARY: $MIG_ERROR"
	log "$case: source runs on, intact ($HEARTBEATS heartbeats, $SWEEPS sweeps);" \
		"destination exited $VMM_STATUS: $(grep -a '^pgr-vmm: ' "$T/$bad.err" | head -n 1)"
}

# retry SRC: to a fresh destination, at default settings: it completes; the
# destination is the next source.
retry() {
	local src=$1 next=vm$N

	mig_set "$src" '{"max-bandwidth":0,"downtime-limit":300,"max-iterations":29}'
	start_dest "$next" "unix:$T/$next.mig"
	mig_events "$next"
	migrate_ok "$src" "$next" "unix:$T/$next.mig"
	swept_after_move "$T/$next.log"
	CHAIN+=("$T/$next.log")
	N=$((N + 1))
	log "retry: $MIG_SUMMARY"
}

# no_event SRC REGEX: the current migration on SRC emitted no such event.
no_event() {
	if tail -n +$((${MIG_FROM[$1]} + 1)) "$T/$1.events" | grep -qE -- "$2"; then
		fail "$1: unexpected event /$2/"
	fi
}

start() {
	guest_boot vm0 1 "fill=48 rate=100"
	CHAIN=("$T/vm0.log")
	N=1
}

case_a_first_pass() {
	local src=vm$((N - 1))

	bad_dest a
	start_proxy a "$DST_URI" --cut-after 30000000
	migrate "$src" "$PROXY_URI"
	survived a "$src"
	no_event "$src" 'MIGRATION_PASS'
	retry "$src"
}

# The relay cuts one byte past the second ROUND section: round 3 is under
# way (rounds 2 and 3 cannot both shrink the set of a guest dirtying its
# memory this fast under a 1 ms downtime-limit, so there is a round 3).
case_b_dirty_round() {
	local src=vm$((N - 1))

	mig_set "$src" '{"max-bandwidth":40000000,"downtime-limit":1}'
	bad_dest b
	start_proxy b "$DST_URI" --cut-after-round 2
	migrate "$src" "$PROXY_URI"
	survived b "$src"
	wait_event "$src" '"event":"MIGRATION_PASS","data":\{"pass":2\}' 1
	no_event "$src" '"status":"device"'
	retry "$src"
}

# max-iterations 1: one pre-copy round, then stop-and-copy; the relay cuts
# one byte after that round's ROUND section, with the guest paused.
case_c_stop_and_copy() {
	local src=vm$((N - 1))

	mig_set "$src" '{"max-bandwidth":40000000,"downtime-limit":2000000,"max-iterations":1}'
	bad_dest c
	start_proxy c "$DST_URI" --cut-after-round 1
	migrate "$src" "$PROXY_URI"
	survived c "$src"
	wait_status "$src" device 1
	wait_event "$src" '"from":"finish-migrate","status":"running"' 5
	retry "$src"
}

case_d_destination_killed() {
	local src=vm$((N - 1))

	mig_set "$src" '{"max-bandwidth":40000000,"downtime-limit":1}'
	bad_dest d
	migrate "$src" "$DST_URI"
	wait_event "$src" '"event":"MIGRATION_PASS"' 20
	kill -9 "${VMM_PID[bad-d]}"
	survived d "$src"
	[[ $MIG_ERROR == "the destination closed the connection in pre-copy"* ]] ||
		fail "case d: the source's error does not say the destination went: $MIG_ERROR"
	retry "$src"
}

case_e_before_commit() {
	local src=vm$((N - 1))

	bad_dest e
	start_proxy e "$DST_URI" --cut-on-reply
	migrate "$src" "$PROXY_URI"
	survived e "$src"
	grep -q '^reply ACK' "$T/proxy-e.out" || fail "case e: the destination did not ACK: $(cat "$T/proxy-e.out")"
	retry "$src"
}

# A peer that stops reading holds the paused guest for as long as TCP
# keeps the connection (no progress timeout yet): migrate-cancel is the way
# out, and must give the guest back.
case_g_stall_in_stop_and_copy() {
	local src=vm$((N - 1)) h

	mig_set "$src" '{"max-bandwidth":40000000,"downtime-limit":2000000,"max-iterations":1}'
	bad_dest g
	start_proxy g "$DST_URI" --stall-after-round 1
	migrate "$src" "$PROXY_URI"
	wait_status "$src" device 20
	wait_for_log "$T/proxy-g.out" '^stalled' 20
	h=$(hb_whole "$T/$src.log")
	sleep 2         # a bounded look: the guest stays paused while stalled
	[ "$(hb_whole "$T/$src.log")" = "$h" ] || fail "case g: the guest ran during stop-and-copy"
	[ "$(qmp "$T/$src.sock" '{"execute":"query-migrate"}' return.status)" = device ] ||
		fail "case g: the migration left stop-and-copy while stalled"
	qmp "$T/$src.sock" '{"execute":"migrate-cancel"}' >/dev/null
	wait_final "$src" cancelled 10
	kill -USR1 "$PROXY_PID"        # the destination never hears otherwise
	survived g "$src" cancelled
	retry "$src"
}

# After GO the destination owns the guest: it runs there, and the source
# stays paused for an operator rather than risk a second copy.
case_f_after_commit() {
	local src=vm$((N - 1)) dst=vm$N status last reply

	DST_URI=tcp:127.0.0.1:$(free_port)
	start_dest "$dst" "$DST_URI"
	mig_events "$dst"
	start_proxy f "$DST_URI" --cut-after-go
	migrate "$src" "$PROXY_URI"
	wait_final "$src" failed 30
	log "f: source: $MIG_SUMMARY: $MIG_ERROR"
	status=$(qmp "$T/$src.sock" '{"execute":"query-status"}' return.status)
	[ "$status" = postmigrate ] || fail "case f: source is $status after GO, expected postmigrate"
	swept_after_move "$T/$dst.log"
	[ "$(qmp "$T/$dst.sock" '{"execute":"query-status"}' return.status)" = running ] ||
		fail "case f: the destination does not run the guest"
	last=$(hb_whole "$T/$src.log")
	hb_grows "$T/$dst.log" 300 10
	[ "$(hb_whole "$T/$src.log")" = "$last" ] || fail "case f: the source ran after GO"
	reply=$(qmp "$T/$src.sock" "{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"unix:$T/none.mig\"}}")
	[[ $reply == *postmigrate* ]] || fail "case f: migrating the paused source: $reply"
	qmp "$T/$src.sock" '{"execute":"quit"}' >/dev/null
	expect_exit "$src" 0 10
	CHAIN+=("$T/$dst.log")
	N=$((N + 1))
	guest_intact "${CHAIN[@]}"
	log "f: one copy: the destination runs on ($HEARTBEATS heartbeats), the source stayed paused"
}

# GO lost: neither side runs the guest on its own. The source says to
# check the destination before 'cont'; the destination is gone, so cont.
case_h_go_lost() {
	local src=vm$((N - 1)) status last reply

	bad_dest h
	start_proxy h "$DST_URI" --drop-go
	migrate "$src" "$PROXY_URI"
	wait_final "$src" failed 30
	log "h: source: $MIG_SUMMARY: $MIG_ERROR"
	vmm_wait bad-h 70
	[ "$VMM_STATUS" -ne 0 ] || fail "case h: the destination exited 0"
	no_guest "$T/bad-h.log"
	status=$(qmp "$T/$src.sock" '{"execute":"query-status"}' return.status)
	[ "$status" = postmigrate ] || fail "case h: source is $status, expected postmigrate"
	last=$(hb_whole "$T/$src.log")
	reply=$(qmp "$T/$src.sock" '{"execute":"cont"}')
	[ "$reply" = '{"return":{}}' ] ||
		fail "case h: the guest runs nowhere, and cont on the source says: $reply"
	hb_grows "$T/$src.log" 300 10
	guest_intact "${CHAIN[@]}"
	log "h: destination exited $VMM_STATUS without running the guest; cont on the source: runs on from H$last"
}

start
case_a_first_pass
case_b_dirty_round
case_c_stop_and_copy
case_d_destination_killed
case_e_before_commit
case_g_stall_in_stop_and_copy
case_f_after_commit
case_h_go_lost
qmp "$T/vm$((N - 1)).sock" '{"execute":"quit"}' >/dev/null
expect_exit "vm$((N - 1))" 0 10
guest_intact "${CHAIN[@]}"
log "eight faults survived: $HEARTBEATS heartbeats contiguous over $N monitors, $SWEEPS sweeps, corrupt=0"
