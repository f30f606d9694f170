#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# test-pgr-lifecycle: a domain's life through pgr and pgrd, on one host.
#   define, list --all, dominfo, dumpxml (define(dumpxml(x)) == x, byte for
#   byte), start, domstate --reason, console (typed input reaches the guest),
#   suspend (heartbeats stop) and resume (they go on), shutdown (the power
#   button: the test guest ignores it, as it does not watch it) then the
#   guest's own poweroff (shut off, reason shutdown), start/destroy, create
#   (a transient domain, gone when destroyed), undefine while running (it
#   runs on as transient), sysinfo/nodeinfo (the host UUID), and the errors:
#   bad XML, unknown domains, wrong states, conflicting definitions, bad
#   arguments, an unresolvable remote URI, migrate's storage copy (not
#   yet), no pgrd to talk to.
# Save/restore: test-pgr-save-restore.sh; pgrd restarts and monitor deaths:
# test-pgrd-restart.sh.
set -euo pipefail
. "$(dirname "$0")/functions.sh"
requires_kvm

. "$(dirname "$0")/pgrd-lib.sh"

CONSOLE=$STATE/log/lc.console

pgrd_start
"$PGR" list --all >"$T/list0"
[ "$(grep -c . "$T/list0")" -eq 2 ] || fail "a new pgrd lists domains: $(cat "$T/list0")"

# define, list, dominfo, dumpxml round trip
guest_xml lc >"$T/lc.xml"
out=$("$PGR" define "$T/lc.xml")
[ "$out" = "Domain lc defined from $T/lc.xml" ] || fail "define said: $out"
"$PGR" list --all | grep -qE '^ -  +lc +shut off$' || fail "list --all: $("$PGR" list --all)"
"$PGR" list | grep -q lc && fail "list without --all shows a shut-off domain"
"$PGR" dominfo lc >"$T/info"
grep -qE '^Persistent: +yes$' "$T/info" && grep -qE '^State: +shut off$' "$T/info" &&
	grep -qE '^Max memory: +131072 KiB$' "$T/info" || fail "dominfo: $(cat "$T/info")"
"$PGR" dumpxml lc >"$T/dump1.xml"
"$PGR" define "$T/dump1.xml" >/dev/null
"$PGR" dumpxml lc >"$T/dump2.xml"
cmp -s "$T/dump1.xml" "$T/dump2.xml" || fail "define(dumpxml(x)) differs: $(diff "$T/dump1.xml" "$T/dump2.xml")"
cmp -s "$T/dump1.xml" "$STATE/domains/lc.xml" || fail "dumpxml is not the stored definition"
uuid=$("$PGR" domuuid lc)
log "defined; dumpxml round trip identical (uuid $uuid)"

# start, state, console
out=$("$PGR" start lc)
[ "$out" = "Domain lc started" ] || fail "start said: $out"
state_is lc "running (booted)" 5
"$PGR" list | grep -qE '^ 1 +lc +running$' || fail "list: $("$PGR" list)"
[ "$("$PGR" domid lc)" = 1 ] && [ "$("$PGR" domname 1)" = lc ] &&
	[ "$("$PGR" domname "$uuid")" = lc ] || fail "domid/domname disagree"
wait_for_log "$CONSOLE" '^READY$' 20
"$PGR" dominfo 1 | grep -qE '^CPU time: +[0-9.]+s$' || fail "dominfo of a running domain: no CPU time"
expect_error "failed to start domain 'lc': domain is already running" "$PGR" start lc
printf 'echo hello-from-pgr\n' | "$PGR" console lc >"$T/console.out"
head -n 2 "$T/console.out" | tr '\n' '|' | grep -qx 'Connected to domain lc|Escape character is ^]|' ||
	fail "console banner: $(head -n 2 "$T/console.out")"
wait_for_log "$CONSOLE" '^ECHO hello-from-pgr$' 15
# Typed and gone at once, while the guest writes: pgrd can find the client
# gone on a write before reading what it typed; that input still counts.
for i in $(seq 1 40); do printf 'echo burst-%s\n' "$i" | "$PGR" console lc >/dev/null; done
wait_for_log "$CONSOLE" '^ECHO burst-[0-9]+$' 15 40
# On a terminal: raw mode, the guest's answer on screen, Ctrl-] detaches.
"$PYTHON" - "$PGR" <<-'PY' || fail "console on a terminal: see above"
	import os, pty, select, sys, time
	pid, fd = pty.fork()
	if pid == 0:
	    os.execv(sys.argv[1], [sys.argv[1], 'console', 'lc'])
	def until(what, timeout=15):
	    buf, end = b'', time.time() + timeout
	    while what not in buf:
	        if time.time() > end or not select.select([fd], [], [], end - time.time())[0]:
	            sys.exit(f'console on a pty: no {what!r} in {buf[-300:]!r}')
	        buf += os.read(fd, 65536)
	until(b'Escape character is ^]')
	os.write(fd, b'echo on-a-pty\n')
	until(b'ECHO on-a-pty')
	os.write(fd, b'\x1d')
	for _ in range(100):
	    done, status = os.waitpid(pid, os.WNOHANG)
	    if done:
	        sys.exit(0 if os.waitstatus_to_exitcode(status) == 0 else f'pgr console: {status}')
	    time.sleep(0.05)
	sys.exit('pgr console did not detach on Ctrl-]')
	PY
log "started; console input reached the guest (piped, and on a terminal until Ctrl-])"

# suspend, resume
out=$("$PGR" suspend lc)
[ "$out" = "Domain lc suspended" ] || fail "suspend said: $out"
state_is lc "paused (user)" 2
sleep 0.3
h1=$(hb_last "$CONSOLE")
sleep 0.5
h2=$(hb_last "$CONSOLE")
[ "$h1" = "$h2" ] || fail "heartbeats went on while suspended: H$h1 -> H$h2"
expect_error "failed to resume domain 'nope'|failed to get domain 'nope'" "$PGR" resume nope
"$PGR" resume lc >/dev/null
state_is lc "running (unpaused)" 2
wait_for_log "$CONSOLE" "^H$((h2 + 200))\$" 20
expect_error "failed to resume domain 'lc': domain is already running" "$PGR" resume lc
log "suspended at H$h2 (no heartbeat for 0.5 s), resumed"

# the power button, then the guest's own power-off
out=$("$PGR" shutdown lc)
[ "$out" = "Domain lc is being shutdown" ] || fail "shutdown said: $out"
sleep 0.5
state_is lc "running (unpaused)" 1          # the test guest ignores the button
printf 'poweroff\n' | "$PGR" console lc >/dev/null
state_is lc "shut off (shutdown)" 10
[ ! -e "$STATE/run/lc.json" ] || fail "runtime record left after power-off"
grep -q 'shutting down, reason=shutdown' "$STATE/log/lc.log" || fail "no stop line in lc.log"
log "power button ignored by the guest; its poweroff: shut off (shutdown)"

# start again, destroy
"$PGR" start lc >/dev/null
state_is lc "running (booted)" 5
[ "$("$PGR" domid lc)" = 2 ] || fail "second start: id $("$PGR" domid lc), expected 2"
pid=$(monitor_pid lc)
out=$("$PGR" destroy lc)
[ "$out" = "Domain lc destroyed" ] || fail "destroy said: $out"
state_is lc "shut off (destroyed)" 1
kill -0 "$pid" 2>/dev/null && fail "monitor $pid still there after destroy"
expect_error "failed to destroy domain 'lc': domain is not running" "$PGR" destroy lc
expect_error "failed to suspend domain 'lc': domain is not running" "$PGR" suspend lc
log "destroyed (monitor $pid gone)"

# a transient domain
guest_xml tr >"$T/tr.xml"
out=$("$PGR" create "$T/tr.xml")
[ "$out" = "Domain tr created from $T/tr.xml" ] || fail "create said: $out"
state_is tr "running (booted)" 5
"$PGR" dominfo tr | grep -qE '^Persistent: +no$' || fail "a created domain is persistent"
expect_error "failed to undefine domain 'tr': cannot undefine transient" "$PGR" undefine tr
"$PGR" destroy tr >/dev/null
"$PGR" list --all | grep -q ' tr ' && fail "a destroyed transient domain is still listed"
expect_error "failed to get domain 'tr'" "$PGR" dominfo tr
log "transient domain: created, destroyed, forgotten"

# undefine while running: it runs on as transient, and goes when it stops
"$PGR" start lc >/dev/null
state_is lc "running (booted)" 5
out=$("$PGR" undefine lc)
[ "$out" = "Domain lc has been undefined" ] || fail "undefine said: $out"
[ ! -e "$STATE/domains/lc.xml" ] || fail "undefine left the definition file"
"$PGR" dominfo lc | grep -qE '^Persistent: +no$' || fail "undefined domain still persistent"
"$PGR" destroy lc >/dev/null
expect_error "failed to get domain 'lc'" "$PGR" domstate lc
log "undefined while running: transient until destroyed"

# host
host_uuid=$(cat "$STATE/host-uuid")
"$PGR" sysinfo | grep -qF "<entry name='uuid'>$host_uuid</entry>" || fail "sysinfo: $("$PGR" sysinfo)"
"$PGR" nodeinfo | grep -qE "^CPU\(s\): +$(nproc)$" || fail "nodeinfo: $("$PGR" nodeinfo)"

# errors
printf '<domain type="kvm"><name>bad</name>' >"$T/bad.xml"
expect_error "failed to define domain from $T/bad.xml: .*line" "$PGR" define "$T/bad.xml"
guest_xml bad >"$T/bad2.xml"
sed -i 's|<os>|<os><loader>/x.fd</loader>|' "$T/bad2.xml"
expect_error "failed to define domain from $T/bad2.xml: .*loader" "$PGR" define "$T/bad2.xml"
sed 's|<kernel>.*</kernel>|<kernel>relative/guest.elf</kernel>|' "$T/lc.xml" >"$T/rel.xml"
expect_error "failed to define domain from .*must be absolute" "$PGR" define "$T/rel.xml"
expect_error "failed to read '$T/none.xml'" "$PGR" define "$T/none.xml"
guest_xml c1 >"$T/c1.xml"
"$PGR" define "$T/c1.xml" >/dev/null
sed 's|<name>c1</name>|<name>c2</name>|; s|<name>|<uuid>'"$("$PGR" domuuid c1)"'</uuid><name>|' \
	"$T/c1.xml" >"$T/c2.xml"
expect_error "failed to define domain from .*domain 'c1' already exists with uuid" "$PGR" define "$T/c2.xml"
expect_error "failed to get domain 'nope'" "$PGR" start nope
expect_error "failed to get domain '42'" "$PGR" dominfo 42
"$PGR" dumpxml c1 | sed 's|<kernel>.*</kernel>|<kernel>/nonexistent/guest.elf</kernel>|' >"$T/c1b.xml"
"$PGR" define "$T/c1b.xml" >/dev/null
expect_error "failed to start domain 'c1': --kernel: cannot read '/nonexistent/guest.elf'" "$PGR" start c1
state_is c1 "shut off (failed)" 1
expect_error "missing domain" "$PGR" start
expect_error "unexpected argument 'y'" "$PGR" dominfo x y
expect_error "unknown option '--bogus'" "$PGR" list --bogus
expect_error "unknown command: 'frobnicate'" "$PGR" frobnicate
"$PGR" start --help | grep -q '^Usage: pgr start DOMAIN' || fail "start --help"
expect_error "failed to connect to pgrd at 'nohost.invalid:8002': cannot resolve" \
	"$PGR" -c pgr+tcp://nohost.invalid/ list
expect_error "failed to migrate domain 'c1': copying storage \(--copy-storage-all\) is not supported yet" \
	"$PGR" migrate --live --persistent --undefinesource --copy-storage-all --verbose \
	--timeout 30 --bandwidth 100 --max-downtime 300 c1 pgr+ssh://kvm2/system
PGR_SOCKET=$T/nobody.sock expect_error "failed to connect to pgrd at '$T/nobody.sock'" "$PGR" list
"$PGR" -c "pgr+unix://$PGR_SOCKET" list --all --name | grep -qx c1 || fail "pgr+unix:// URI"
log "errors: bad XML, relative paths, conflicts, unknown domains, bad kernel, usage, URIs"

kill -TERM "$PGRD_PID"
wait "$PGRD_PID" || fail "pgrd exited with status $? on SIGTERM"
PGRD_PID=
[ ! -e "$PGR_SOCKET" ] || fail "pgrd left its socket behind"
log "pgrd stopped on SIGTERM"
