#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# test-reset-poweroff: every way a VM restarts or ends.
#   guest `reset` (i8042)    the guest boots again, heartbeats restart at 1,
#                            the monitor stays; with --no-reboot it exits 0
#   guest `poweroff` (PM)    exit 0
#   API system-reset         boots again; while paused, stays paused until cont
#   API system-powerdown     POWERDOWN event; the test guest does not watch
#                            the power button (docs/test-guest.md), so it
#                            runs on
#   SIGTERM / SIGINT         power button, then exit 0 after --shutdown-timeout;
#                            a second signal, or a paused VM, exits at once
#   API quit                 exit 0
#   kill -9                  a new monitor starts on the same --api-socket and
#                            --serial unix: paths
set -euo pipefail
. "$(dirname "$0")/functions.sh"
requires_kvm

ARGS=(--kernel "$GUEST" --cmdline "fill=32 rate=8" --memory 256M --cpus 2)

# console_vm NAME ARGS...: a VM whose console is attached from the first
# byte ($T/NAME.log), typed into with console_send NAME.
console_vm() {
	local name=$1
	shift

	start_vmm "$name" "${ARGS[@]}" --serial "unix:$T/$name.serial" --paused "$@"
	console_attach "$name" "$T/$name.serial"
	qmp "$T/$name.sock" '{"execute":"cont"}' >/dev/null
	wait_for_log "$T/$name.log" '^READY$' 10
}

# elapsed_since START_MS: milliseconds, in $REPLY.
elapsed_since() {
	now_ms
	REPLY=$((REPLY - $1))
}

guest_ok() {
	heartbeat_check "$@"
	no_corrupt "$@"
}

# ---- guest reset ----
console_vm rb
wait_for_log "$T/rb.log" '^H50$' 5
console_send rb reset
wait_for_log "$T/rb.log" '^PGR-TESTGUEST ' 10 2
wait_for_log "$T/rb.log" '^READY$' 10 2
wait_for_log "$T/rb.log" '^V1 ' 10 2
vmm_alive rb || fail "the monitor exited on a guest reset"
[ "$(qmp "$T/rb.sock" '{"execute":"query-status"}' return.status)" = running ] || fail "not running after reset"
console_send rb poweroff
expect_exit rb 0 10
guest_ok "$T/rb.log"
[ "$BOOTS" -eq 2 ] || fail "$BOOTS boots after a reset"
log "guest reset: booted again ($HEARTBEATS heartbeats over $BOOTS boots); guest poweroff: exit 0"

console_vm nr --no-reboot
console_send nr reset
expect_exit nr 0 10
guest_ok "$T/nr.log"
[ "$BOOTS" -eq 1 ] || fail "--no-reboot: the guest booted again"
log "guest reset with --no-reboot: exit 0"

# ---- API ----
start_vmm api "${ARGS[@]}"
wait_for_log "$T/api.log" '^READY$' 10
qmp "$T/api.sock" '{"execute":"system-reset"}' >/dev/null
wait_for_log "$T/api.log" '^READY$' 10 2
qmp "$T/api.sock" '{"execute":"stop"}' >/dev/null
qmp "$T/api.sock" '{"execute":"system-reset"}' >/dev/null
sleep 0.5
[ "$(qmp "$T/api.sock" '{"execute":"query-status"}' return.status)" = paused ] ||
	fail "system-reset of a paused VM did not leave it paused"
[ "$(grep -ac '^PGR-TESTGUEST ' "$T/api.log")" -eq 2 ] || fail "a paused VM ran after system-reset"
qmp "$T/api.sock" '{"execute":"cont"}' >/dev/null
wait_for_log "$T/api.log" '^READY$' 10 3
qmp "$T/api.sock" '{"execute":"system-powerdown"}' >/dev/null
sleep 1
vmm_alive api || fail "the monitor exited on system-powerdown of a guest that ignores it"
qmp "$T/api.sock" '{"execute":"quit"}' >/dev/null
expect_exit api 0 10
guest_ok "$T/api.log"
log "API: system-reset running and paused ($BOOTS boots), powerdown ignored by the guest, quit: exit 0"

# ---- signals ----
# sig_exit NAME SIGNAL MIN_MS MAX_MS: SIGNAL makes NAME exit 0 in that window
# (generous at the top: on a loaded 2-core machine exiting can take seconds;
# the 30 s shutdown timeouts below are what the fast cases must beat).
sig_exit() {
	local start

	now_ms
	start=$REPLY
	kill "-$2" "${VMM_PID[$1]}"
	expect_exit "$1" 0 10
	elapsed_since "$start"
	[ "$REPLY" -ge "$3" ] && [ "$REPLY" -le "$4" ] ||
		fail "$1: SIG$2 -> exit after $REPLY ms, expected $3..$4 ms"
	log "SIG$2 ($1): exit 0 after $REPLY ms"
}

start_vmm term "${ARGS[@]}" --shutdown-timeout 2
wait_for_log "$T/term.log" '^READY$' 10
sig_exit term TERM 1900 7000
grep -q 'power off' "$T/term.err" || fail "SIGTERM: the monitor did not say it pressed the power button"
guest_ok "$T/term.log"

start_vmm int "${ARGS[@]}" --shutdown-timeout 2
wait_for_log "$T/int.log" '^READY$' 10
sig_exit int INT 1900 7000

start_vmm twice "${ARGS[@]}" --shutdown-timeout 30
wait_for_log "$T/twice.log" '^READY$' 10
kill -TERM "${VMM_PID[twice]}"
sleep 0.3
sig_exit twice TERM 0 5000

start_vmm zero "${ARGS[@]}" --shutdown-timeout 0
wait_for_log "$T/zero.log" '^READY$' 10
sig_exit zero TERM 0 5000

start_vmm paused "${ARGS[@]}" --shutdown-timeout 30
wait_for_log "$T/paused.log" '^READY$' 10
qmp "$T/paused.sock" '{"execute":"stop"}' >/dev/null
sig_exit paused TERM 0 5000

# ---- kill -9, then a new monitor on the same paths ----
console_vm k9
kill -9 "${VMM_PID[k9]}"
vmm_wait k9 5
console_detach k9
mv "$T/k9.log" "$T/k9-first.log"
console_vm k9
console_send k9 'echo second-life'
wait_for_log "$T/k9.log" '^ECHO second-life$' 5
qmp "$T/k9.sock" '{"execute":"quit"}' >/dev/null
expect_exit k9 0 10
guest_ok "$T/k9.log"
log "kill -9: a new monitor took over the same API and console paths"
