#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# test-api: every command of the monitor's API socket (docs/api.md) on a
# running 3-vCPU guest: --paused starts in "prelaunch" with the guest not
# yet running; cont, stop, cont move it running -> paused -> running, with
# the events each emits, and heartbeats stop while paused and resume after;
# queries report what was given; ids come back as sent; an unknown command
# is CommandNotFound and malformed requests get an error without closing
# the connection; system-reset reboots the guest; quit exits 0. The guest
# loses nothing throughout.
set -euo pipefail
. "$(dirname "$0")/functions.sh"
requires_kvm

S=$T/api.sock
LOG=$T/api.log

# expect REPLY PATTERN: the reply contains PATTERN (compact JSON).
expect() {
	[[ $1 == *"$2"* ]] || fail "expected $2 in: $1"
}

start_vmm api --kernel "$GUEST" --cmdline "fill=32 rate=8" --memory 256M --cpus 3 --paused

log "--paused: prelaunch, guest not started"
expect "$(qmp "$S" '{"execute":"query-status","id":1}')" \
	'{"return":{"status":"prelaunch","running":false,"singlestep":false},"id":1}'
sleep 1
[ "$(hb_last "$LOG")" -eq 0 ] || fail "heartbeats while prelaunch"

log "queries"
expect "$(qmp "$S" '{"execute":"qmp_capabilities","id":2}')" '{"return":{},"id":2}'
cpus=$(qmp "$S" '{"execute":"query-cpus","id":3}' return)
"$PYTHON" -c 'import json,sys; c=json.loads(sys.argv[1]); assert [x["cpu-index"] for x in c] == [0,1,2], c' \
	"$cpus" || fail "query-cpus: $cpus"
[ "$(qmp "$S" '{"execute":"query-cpus-fast"}' return.2.cpu-index)" = 2 ] || fail "query-cpus-fast"
[ "$(qmp "$S" '{"execute":"query-memory","id":4}' return.base-memory)" = $((256 << 20)) ] ||
	fail "query-memory base-memory is not 256 MiB"
[ "$(qmp "$S" '{"execute":"query-memory-size-summary"}' return.base-memory)" = $((256 << 20)) ] ||
	fail "query-memory-size-summary"

log "cont: running, heartbeats start"
qmp_session "$S" >"$T/cont.out" <<<'{"execute":"cont","id":"c1"}'
grep -q '"event":"RESUME"' "$T/cont.out" || fail "no RESUME event: $(cat "$T/cont.out")"
grep -qF '{"return":{},"id":"c1"}' "$T/cont.out" || fail "cont: $(cat "$T/cont.out")"
wait_for_log "$LOG" '^H1$' 5
wait_for_log "$LOG" '^READY$' 10
[ "$(qmp "$S" '{"execute":"query-status"}' return.status)" = running ] || fail "not running after cont"

log "stop: paused, heartbeats stop"
qmp_session "$S" >"$T/stop.out" <<<'{"execute":"stop","id":{"n":[1,"x"]}}'
grep -q '"event":"STOP"' "$T/stop.out" || fail "no STOP event: $(cat "$T/stop.out")"
grep -qF '{"return":{},"id":{"n":[1,"x"]}}' "$T/stop.out" || fail "stop: $(cat "$T/stop.out")"
expect "$(qmp "$S" '{"execute":"query-status","id":5}')" '"status":"paused","running":false'
before=$(hb_last "$LOG")
sleep 1
after=$(hb_last "$LOG")
[ $((after - before)) -le 1 ] || fail "heartbeats went on while paused: H$before -> H$after"
expect "$(qmp "$S" '{"execute":"stop","id":6}')" '{"return":{},"id":6}'

log "cont: heartbeats resume after H$after"
expect "$(qmp "$S" '{"execute":"cont","id":7}')" '{"return":{},"id":7}'
wait_for_log "$LOG" "^H$((after + 20))\$" 5
expect "$(qmp "$S" '{"execute":"cont","id":8}')" '{"return":{},"id":8}'

log "errors: unknown command, malformed requests; the connection survives"
qmp_session "$S" >"$T/errors.out" <<-'EOF'
	{"execute":"no-such-command","id":"u"}
	{"execute":
	[1,2,3]
	{"id":9}
	{"execute":"stop","arguments":[],"id":10}
	{"execute":"query-status","id":11}
EOF
grep -qF '{"error":{"class":"CommandNotFound","desc":"The command no-such-command has not been found"},"id":"u"}' \
	"$T/errors.out" || fail "unknown command: $(cat "$T/errors.out")"
[ "$(grep -c '"error":{"class":"GenericError"' "$T/errors.out")" -eq 4 ] ||
	fail "malformed requests: $(cat "$T/errors.out")"
grep -q '"error":.*"id":9}' "$T/errors.out" || fail "error without the request's id"
grep -qF '"status":"running"' "$T/errors.out" || fail "connection unusable after errors"
"$PYTHON" - "$S" <<-'EOF' || fail "an over-long request line"
	import socket, sys
	s = socket.socket(socket.AF_UNIX)
	s.connect(sys.argv[1])
	s.settimeout(10)
	try:
	    s.sendall(b'{"execute":"' + b'x' * (2 << 20))
	    reply = s.makefile('rb').read()
	    assert b'too long' in reply, reply
	except (BrokenPipeError, ConnectionResetError):
	    pass       # it hung up at its 1 MiB limit, before we finished
EOF
[ "$(qmp "$S" '{"execute":"query-status"}' return.status)" = running ] || fail "not running after a long line"

log "system-powerdown: POWERDOWN event (the test guest ignores the button)"
qmp_session "$S" >"$T/powerdown.out" <<<'{"execute":"system-powerdown","id":12}'
grep -q '"event":"POWERDOWN"' "$T/powerdown.out" || fail "no POWERDOWN event"
grep -qF '{"return":{},"id":12}' "$T/powerdown.out" || fail "system-powerdown: $(cat "$T/powerdown.out")"
sleep 0.5
[ "$(qmp "$S" '{"execute":"query-status"}' return.status)" = running ] || fail "not running after powerdown"

log "system-reset: the guest boots again"
qmp_session "$S" >"$T/reset.out" <<<'{"execute":"system-reset","id":13}'
grep -q '"event":"RESET"' "$T/reset.out" || fail "no RESET event"
wait_for_log "$LOG" '^PGR-TESTGUEST ' 10 2
wait_for_log "$LOG" '^V2 ' 20 2

log "quit: reply, then exit 0"
expect "$(qmp "$S" '{"execute":"quit","id":14}')" '{"return":{},"id":14}'
expect_exit api 0 10
[ ! -e "$S" ] || fail "API socket left behind"

heartbeat_check "$LOG"
no_corrupt "$LOG"
[ "$BOOTS" -eq 2 ] || fail "$BOOTS boots, expected 2"
log "ok: $BOOTS boots, $HEARTBEATS heartbeats, $SWEEPS sweeps, corrupt=0"
