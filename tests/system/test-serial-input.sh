#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# test-serial-input: typing reaches the guest. Over --serial unix:PATH the
# guest answers its commands (echo, rate, verify, stats, an unknown one),
# lines may end in CR or LF, 200 lines pasted at once all arrive in order,
# a second client is told the console is busy, and a client that detaches
# and comes back can type again. Over --serial stdio, a pipe feeds the
# guest and its output comes out on stdout; EOF on the pipe stops nothing.
# A unix client that stops reading for 1.5 s loses no line (they wait in
# the monitor, up to 64 KiB); one that is not reading when the VM is saved
# still gets every line before the monitor exits; lines written while no
# client was attached move with the saved guest to the restored one's
# client (heartbeats contiguous across save and restore, both cases).
set -euo pipefail
. "$(dirname "$0")/functions.sh"
requires_kvm

# ---- unix: ----
CON=$T/con.serial
# Paused until the console is attached: output with no client is dropped.
start_vmm con --kernel "$GUEST" --cmdline "fill=32" --memory 256M --cpus 2 --serial "unix:$CON" --paused
console_attach con "$CON"
qmp "$T/con.sock" '{"execute":"cont"}' >/dev/null
wait_for_log "$T/con.log" '^READY$' 10

console_send con 'echo hello-123'
wait_for_log "$T/con.log" '^ECHO hello-123$' 5
console_send con 'rate 50'
wait_for_log "$T/con.log" '^OK rate=50$' 5
console_send con 'verify 500'
wait_for_log "$T/con.log" '^OK verify=500$' 5
console_send con 'stats'
wait_for_log "$T/con.log" '^STATS hb=[0-9]+ sweeps=[0-9]+ dirtied=[0-9]+ corrupt=0$' 5
console_send con 'frobnicate now'
wait_for_log "$T/con.log" '^ERR unknown command: frobnicate now$' 5
printf 'echo cr-1\recho cr-2\r\n' >"$T/con.in"
wait_for_log "$T/con.log" '^ECHO cr-2$' 5
grep -aq '^ECHO cr-1$' "$T/con.log" || fail "CR did not end a line"
log "unix: echo, rate, verify, stats, unknown command, CR and LF"

for i in $(seq 1 200); do echo "echo paste-$i"; done >"$T/con.in"
wait_for_log "$T/con.log" '^ECHO paste-200$' 20
diff <(seq 1 200 | sed 's/^/ECHO paste-/') <(grep -a '^ECHO paste-' "$T/con.log") >&2 ||
	fail "pasted lines lost or reordered"
log "unix: 200 lines pasted at once all arrived, in order"

busy=$("$PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(5)
print(s.recv(200).decode().strip())' "$CON")
[[ $busy == *busy* ]] || fail "a second console client was not told the console is busy: '$busy'"

no_corrupt "$T/con.log"
heartbeat_check "$T/con.log"
console_detach con
mv "$T/con.log" "$T/con-first.log"
console_attach con "$CON"
console_send con 'echo again'
wait_for_log "$T/con.log" '^ECHO again$' 5
log "unix: busy for a second client; detach and re-attach: $HEARTBEATS heartbeats, $SWEEPS sweeps, corrupt=0"
qmp "$T/con.sock" '{"execute":"quit"}' >/dev/null
expect_exit con 0 10

# ---- stdio ----
# fd 3 writes into the guest's stdin; opened read-write so that neither end
# blocks, and closed for the monitor so that closing it here means EOF.
mkfifo "$T/sio.in"
exec 3<>"$T/sio.in"
start_vmm sio --kernel "$GUEST" --cmdline "fill=32" --memory 256M --serial stdio <"$T/sio.in" 3>&-
wait_for_log "$T/sio.out" '^READY$' 10
echo 'echo via-stdio' >&3
wait_for_log "$T/sio.out" '^ECHO via-stdio$' 5
echo 'rate 20' >&3
wait_for_log "$T/sio.out" '^OK rate=20$' 5
exec 3>&-
before=$(hb_last "$T/sio.out")
wait_for_log "$T/sio.out" "^H$((before + 50))\$" 5
qmp "$T/sio.sock" '{"execute":"quit"}' >/dev/null
expect_exit sio 0 10
heartbeat_check "$T/sio.out"
no_corrupt "$T/sio.out"
log "stdio: a pipe feeds the guest, output on stdout, EOF harmless: $HEARTBEATS heartbeats"

# ---- unix: a client that stops reading for a while loses nothing ----
# (pgrd's console log write can stall on a busy disk: the guest's lines
# wait in the monitor, up to 64 KiB, instead of being dropped.)
SLOW=$T/slow.serial
start_vmm slow --kernel "$GUEST" --cmdline "fill=16" --memory 128M --serial "unix:$SLOW" --paused
"$PYTHON" - "$SLOW" "$T/slow.sock" >"$T/slow.out" <<-'PY' || fail "slow client: $(tail -n 2 "$T/slow.out")"
	import json, socket, sys, time
	path, api = sys.argv[1:3]
	for _ in range(200):
	    try:
	        s = socket.socket(socket.AF_UNIX); s.connect(path); break
	    except OSError:
	        time.sleep(0.05)
	q = socket.socket(socket.AF_UNIX); q.connect(api); q.sendall(b'{"execute":"cont"}\n')
	out = b''
	def read_for(secs):
	    global out
	    s.settimeout(0.05); end = time.time() + secs
	    while time.time() < end:
	        try:
	            out += s.recv(65536)
	        except socket.timeout:
	            pass
	read_for(1.0)
	time.sleep(1.5)             # not reading: ~1500 lines come meanwhile
	read_for(1.0)
	sys.stdout.write(out.decode(errors='replace'))
	PY
qmp "$T/slow.sock" '{"execute":"quit"}' >/dev/null
expect_exit slow 0 10
heartbeat_check "$T/slow.out"
[ "$HEARTBEATS" -ge 2500 ] || fail "slow client: only $HEARTBEATS heartbeats in 3.5 s"
log "unix: a client that did not read for 1.5 s lost nothing: $HEARTBEATS heartbeats in order"

# ---- unix: the guest's last lines when the monitor exits ----
# hb_across NAME LOG...: heartbeats contiguous over the logs read as one
# stream (a line cut by the save ends one log and ends in the next).
hb_across() {
	local name=$1
	shift
	cat "$@" >"$T/$name.all"
	heartbeat_check "$T/$name.all"
	[ "$BOOTS" -eq 1 ] || fail "$name: $BOOTS boots"
}

# A client that is not reading when the VM is saved: the monitor gives it
# the lines still waiting for it before it exits (they used to go with the
# process), and the restored guest goes on with the next heartbeat.
start_vmm xs --kernel "$GUEST" --cmdline "fill=16" --memory 128M --serial "unix:$T/xs.serial" --paused
"$PYTHON" - "$T/xs.serial" "$T/xs.sock" "file:$T/xs.save" >"$T/xs-client.log" <<-'PY' ||
	import json, socket, sys, time
	path, api, uri = sys.argv[1:4]
	for _ in range(200):
	    try:
	        s = socket.socket(socket.AF_UNIX); s.connect(path); break
	    except OSError:
	        time.sleep(0.05)
	q = socket.socket(socket.AF_UNIX); q.connect(api); q.sendall(b'{"execute":"cont"}\n')
	out = b''
	s.settimeout(0.05); end = time.time() + 0.5
	while time.time() < end:
	    try:
	        out += s.recv(65536)
	    except socket.timeout:
	        pass
	time.sleep(1.0)             # not reading: ~1000 lines wait in the monitor
	q.sendall(json.dumps({'execute': 'migrate', 'arguments': {'uri': uri}}).encode() + b'\n')
	time.sleep(0.5)             # saved: the monitor waits for us to take them
	s.settimeout(10)
	while True:
	    d = s.recv(65536)
	    if not d:
	        break
	    out += d
	sys.stdout.write(out.decode('latin-1'))
	PY
	fail "slow client at exit: $(tail -n 2 "$T/xs-client.log")"
expect_exit xs 0 10
start_vmm xr --incoming "file:$T/xs.save" --serial "unix:$T/xr.serial"
console_attach xr "$T/xr.serial"
wait_for_log "$T/xr.log" '^H[0-9]+$' 10 100
qmp "$T/xr.sock" '{"execute":"quit"}' >/dev/null
expect_exit xr 0 10
console_detach xr
hb_across xs "$T/xs-client.log" "$T/xr.log"
log "unix: a client not reading at the save got every line before the monitor exited: $HEARTBEATS heartbeats across save and restore"

# No client at all when the VM is saved: what waited for the next client
# goes with the guest and reaches the restored monitor's first client.
start_vmm ns --kernel "$GUEST" --cmdline "fill=16" --memory 128M --serial "unix:$T/ns.serial" --paused
console_attach ns "$T/ns.serial"
qmp "$T/ns.sock" '{"execute":"cont"}' >/dev/null
wait_for_log "$T/ns.log" '^READY$' 10
qmp "$T/ns.sock" '{"execute":"stop"}' >/dev/null
sleep 0.3                   # the client takes all there is, then goes
console_detach ns
qmp "$T/ns.sock" '{"execute":"cont"}' >/dev/null
sleep 0.3                   # ~300 lines for nobody
qmp "$T/ns.sock" '{"execute":"migrate","arguments":{"uri":"file:'"$T/ns.save"'"}}' >/dev/null
expect_exit ns 0 10
start_vmm nr --incoming "file:$T/ns.save" --serial "unix:$T/nr.serial"
console_attach nr "$T/nr.serial"
wait_for_log "$T/nr.log" '^H[0-9]+$' 10 400
qmp "$T/nr.sock" '{"execute":"quit"}' >/dev/null
expect_exit nr 0 10
console_detach nr
hb_across ns "$T/ns.log" "$T/nr.log"
log "unix: lines written while no client was attached moved with the saved guest: $HEARTBEATS heartbeats across save and restore"
