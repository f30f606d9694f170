#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# test-migrate-cancel: migrate-cancel in the middle of pre-copy. With
# max-bandwidth at 20 MB/s the first pass over 192 MiB takes ~10 s; once
# 20 MB are across, cancel. The migration ends "cancelled", the source keeps
# running (heartbeats go on, new sweeps find nothing corrupt, query-status
# says running), the half-fed destination exits non-zero without ever
# running the guest. Then a second migration of the same source, at full
# speed, completes and the guest lost nothing. Faults other than cancel:
# test-migrate-faults.sh.
set -euo pipefail
. "$(dirname "$0")/functions.sh"
. "$(dirname "$0")/migration-lib.sh"
requires_kvm

# wait_running_for NAME MS TIMEOUT: query-migrate shows the migration
# active for at least MS ms; its answer then is in $QUERY.
wait_running_for() {
	local name=$1 deadline

	now_ms
	deadline=$((REPLY + $3 * 1000))
	while :; do
		QUERY=$(qmp "$T/$name.sock" '{"execute":"query-migrate"}' return)
		[[ $QUERY == *'"status": "active"'* || $QUERY == *'"status":"active"'* ]] ||
			fail "$name: migration not active: $QUERY"
		[ "$(jq_field "$QUERY" total-time)" -ge "$2" ] && return 0
		now_ms
		[ "$REPLY" -lt "$deadline" ] || fail "$name: not $2 ms into the migration after $3 s"
		sleep 0.1
	done
}

# jq_field JSON DOTTED.PATH
jq_field() {
	python3 -S -c 'import json, sys
v = json.loads(sys.argv[1])
for k in sys.argv[2].split("."):
    v = v[k]
print(v)' "$1" "$2"
}

guest_boot src 1 "fill=192 rate=20"
mig_set src '{"max-bandwidth":20000000}'
[ "$(qmp "$T/src.sock" '{"execute":"query-migrate-parameters"}' return.max-bandwidth)" = 20000000 ] ||
	fail "max-bandwidth not taken"
port=$(free_port)
start_dest dst1 "tcp:127.0.0.1:$port"
migrate src "tcp:127.0.0.1:$port"
wait_status src active 10
wait_running_for src 2000 10
sent=$(jq_field "$QUERY" ram.transferred)
reply=$(qmp "$T/src.sock" '{"execute":"migrate-cancel"}')
[ "$reply" = '{"return":{}}' ] || fail "migrate-cancel: $reply"
wait_final src cancelled 10
wait_status src cancelling 1
[ "$(qmp "$T/src.sock" '{"execute":"query-migrate"}' return.status)" = cancelled ] ||
	fail "query-migrate does not say cancelled"
log "cancelled after $(jq_field "$QUERY" total-time) ms: $MIG_SUMMARY"

# The source runs on, intact; the destination is gone and never ran it.
[ "$(qmp "$T/src.sock" '{"execute":"query-status"}' return.status)" = running ] ||
	fail "source not running after the cancel"
sweeps=$(grep -ac '^V[0-9]* ' "$T/src.log")
hb_grows "$T/src.log" 300 10
wait_for_log "$T/src.log" '^V[0-9]+ ' 20 $((sweeps + 2))
guest_intact "$T/src.log"
vmm_wait dst1 20
[ "$VMM_STATUS" -ne 0 ] || fail "the destination of the cancelled migration exited 0"
no_guest "$T/dst1.log"
log "source runs on (H$(hb_whole "$T/src.log"), $SWEEPS sweeps, corrupt=0);" \
	"destination exited $VMM_STATUS: $(grep -a '^pgr-vmm: ' "$T/dst1.err" || tail -n 1 "$T/dst1.err")"

# Again, at full speed: it completes.
mig_set src '{"max-bandwidth":0}'
start_dest dst2 "unix:$T/dst2.mig"
mig_events dst2
migrate_ok src dst2 "unix:$T/dst2.mig"
swept_after_move "$T/dst2.log"
qmp "$T/dst2.sock" '{"execute":"quit"}' >/dev/null
expect_exit dst2 0 10
guest_intact "$T/src.log" "$T/dst2.log"
log "second migration: $MIG_SUMMARY; $HEARTBEATS heartbeats contiguous, $SWEEPS sweeps, corrupt=0"

# Progress during a pass: 2 s into a 20 MB/s first pass, query-migrate must
# show bytes sent (checked last, so that the cancel is judged either way).
[ "$sent" -gt $((20 << 20)) ] ||
	fail "query-migrate 2 s into a 20 MB/s first pass says ram.transferred=$sent: no progress shown"
