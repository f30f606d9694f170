#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# test-pgrd-restart: pgrd comes and goes, the domains stay.
#   pgrd killed (-9) under a running guest, then started again: the domain
#   is still listed running with the same id and monitor, is still
#   controllable (suspend, resume, console), and the guest never stopped
#   (one boot; its heartbeat numbers advanced by the time pgrd was away).
#   SIGTERM: pgrd exits 0, removes its socket, leaves the guest running.
#   A transient domain survives a restart too.
#   A monitor killed -9, adopted or pgrd's own child: "shut off (crashed)",
#   its runtime files removed. A monitor that died while pgrd was away:
#   "shut off (unknown)" at the next start.
#   One pgrd per state directory and per socket; without --foreground pgrd
#   detaches and returns once it listens; host_uuid from the config file;
#   bad config lines stop pgrd with FILE:LINE.
set -euo pipefail
. "$(dirname "$0")/functions.sh"
requires_kvm

. "$(dirname "$0")/pgrd-lib.sh"

CONSOLE=$STATE/log/rs.console

# pgrd_kill SIGNAL: stop this test's pgrd; its exit status in $PGRD_STATUS.
pgrd_kill() {
	kill "-$1" "$PGRD_PID"
	PGRD_STATUS=0
	wait "$PGRD_PID" 2>/dev/null || PGRD_STATUS=$?
	PGRD_PID=
}

# banners: how many times the guest booted, by its console log.
banners() {
	grep -ac '^PGR-TESTGUEST ' "$CONSOLE" || true
}

pgrd_start
guest_xml rs "fill=64 rate=8" >"$T/rs.xml"
"$PGR" define "$T/rs.xml" >/dev/null
"$PGR" start rs >/dev/null
wait_for_log "$CONSOLE" '^READY$' 20
pid=$(monitor_pid rs)
id=$("$PGR" domid rs)

# pgrd killed -9 and started again
pgrd_kill KILL
h_kill=$(hb_last "$CONSOLE")
kill -0 "$pid" || fail "the monitor died with pgrd"
sleep 1.5                                # the guest runs on alone
pgrd_start
state_is rs "running (booted)" 5
[ "$(monitor_pid rs)" = "$pid" ] && [ "$("$PGR" domid rs)" = "$id" ] ||
	fail "after the restart: monitor $(monitor_pid rs), id $("$PGR" domid rs); was $pid, $id"
# What the guest wrote while no pgrd listened was kept by the monitor and
# is replayed on reconnecting: the console log has no hole, and it holds
# the heartbeats of the 1.5 s away (a running guest's counter advanced:
# a few hundred a second here).
wait_for_log "$CONSOLE" "^H$((h_kill + 50))\$" 2
# Only what was in the serial socket when pgrd was killed -9 (read by no
# one) may be missing: at most one small hole, at the kill.
hole=$("$PYTHON" - "$CONSOLE" "$h_kill" <<'EOF'
import re, sys
seq = [int(l[1:]) for l in open(sys.argv[1], errors='replace').read().split('\n')
       if re.fullmatch(r'H\d+', l)]
gaps = [(a, b) for a, b in zip(seq, seq[1:]) if b != a + 1]
kill = int(sys.argv[2])
if len(gaps) > 1 or any(b < a or b - a > 64 or abs(a - kill) > 64 for a, b in gaps):
    sys.exit(f'heartbeats {seq[0]}..{seq[-1]} with gaps {gaps[:5]} (killed at H{kill})')
print(f'{gaps[0][1] - gaps[0][0] - 1} heartbeat(s) in flight at the kill' if gaps else 'none lost')
EOF
) || fail "the console log lost more than the kill's moment: $hole"
[ "$(banners)" -eq 1 ] || fail "the guest booted $(banners) times"
log "pgrd killed at H$h_kill, back 1.5 s later: monitor $pid adopted, one boot, the away time replayed into the console log ($hole)"

# still controllable
"$PGR" suspend rs >/dev/null
state_is rs "paused (user)" 2
"$PGR" resume rs >/dev/null
state_is rs "running (unpaused)" 2
printf 'echo after-restart\n' | "$PGR" console rs >/dev/null
wait_for_log "$CONSOLE" '^ECHO after-restart$' 15
no_corrupt "$CONSOLE"
log "adopted domain suspended, resumed, typed to; memory intact ($SWEEPS sweeps)"

# SIGTERM, with a transient domain too
guest_xml tr >"$T/tr.xml"
"$PGR" create "$T/tr.xml" >/dev/null
state_is tr "running (booted)" 5
pgrd_kill TERM
[ "$PGRD_STATUS" -eq 0 ] || fail "pgrd exited with $PGRD_STATUS on SIGTERM"
[ ! -e "$PGR_SOCKET" ] || fail "pgrd left its socket"
kill -0 "$pid" || fail "SIGTERM to pgrd stopped the guest"
pgrd_start
state_is rs "running (unpaused)" 5
state_is tr "running (booted)" 5
"$PGR" dominfo tr | grep -qE '^Persistent: +no$' || fail "tr is not transient any more"
"$PGR" destroy tr >/dev/null
"$PGR" list --all | grep -q ' tr ' && fail "transient tr still listed after destroy"
log "SIGTERM: pgrd exited 0; persistent and transient domains adopted again"

# a monitor killed -9: adopted, then pgrd's own child
kill -9 "$pid"
state_is rs "shut off (crashed)" 20
for f in json xml sock serial; do
	[ ! -e "$STATE/run/rs.$f" ] || fail "run/rs.$f left after the monitor died"
done
grep -q 'shutting down, reason=crashed' "$STATE/log/rs.log" || fail "no crash line in rs.log"
"$PGR" start rs >/dev/null
state_is rs "running (booted)" 5
kill -9 "$(monitor_pid rs)"
state_is rs "shut off (crashed)" 20
grep -q 'reason=crashed (killed by signal 9 (SIGKILL))' "$STATE/log/rs.log" ||
	fail "rs.log: $(tail -n 1 "$STATE/log/rs.log")"
log "monitor killed -9, adopted and child: shut off (crashed)"

# a monitor that dies while pgrd is away
"$PGR" start rs >/dev/null
state_is rs "running (booted)" 5
pid=$(monitor_pid rs)
pgrd_kill KILL
kill -9 "$pid"
while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
pgrd_start
state_is rs "shut off (unknown)" 2
[ ! -e "$STATE/run/rs.json" ] || fail "the dead monitor's record was kept"
"$PGR" start rs >/dev/null
state_is rs "running (booted)" 5
log "monitor gone while pgrd was away: shut off (unknown), and starts again"

# one pgrd per state directory and per socket
out=$("$PGRD" --foreground --state-dir "$STATE" --socket "$T/other.sock" 2>&1) &&
	fail "a second pgrd on the same state directory started"
grep -q "state directory $STATE is in use by another pgrd" <<<"$out" || fail "second pgrd: $out"
out=$("$PGRD" --foreground --state-dir "$T/state2" --socket "$PGR_SOCKET" 2>&1) &&
	fail "a second pgrd on the same socket started"
grep -q "another pgrd is listening there" <<<"$out" || fail "second pgrd: $out"

# detached, with a config file: returns once listening
cat >"$T/pgrd.conf4" <<-'CONF'
	# as libvirtd.conf's host_uuid, for hosts cloned from one image
	host_uuid = "02000100-0300-0400-0006-000600070008"
	relocation_port = 8003         # read, not served yet
	relocation_hosts_allow = ^localhost$ '^kvm[0-9]+\.example\.com$'
	CONF
"$PGRD" --config "$T/pgrd.conf4" --state-dir "$T/state3" --socket "$T/pgrd3.sock" ||
	fail "pgrd (detached) failed to start"
dpid=$(cat "$T/state3/pgrd.lock")
PGR_SOCKET=$T/pgrd3.sock "$PGR" sysinfo >"$T/sysinfo3" || { kill "$dpid"; fail "the detached pgrd does not answer"; }
kill -TERM "$dpid"
grep -qF "<entry name='uuid'>02000100-0300-0400-0006-000600070008</entry>" "$T/sysinfo3" ||
	fail "host_uuid from the config: $(cat "$T/sysinfo3")"
[ "$(cat "$T/state3/host-uuid")" = 02000100-0300-0400-0006-000600070008 ] || fail "host-uuid file"
[ -s "$T/state3/log/pgrd.log" ] || fail "the detached pgrd does not log to STATE/log/pgrd.log"
for ((i = 0; i < 100; i++)); do
	kill -0 "$dpid" 2>/dev/null || break
	sleep 0.05
done
kill -0 "$dpid" 2>/dev/null && fail "the detached pgrd ignores SIGTERM"

# bad config files: one line naming the file and line, status 1
bad_config() {
	local out rc=0

	printf '%b' "$1" >"$T/bad.conf"
	out=$("$PGRD" --foreground --config "$T/bad.conf" --state-dir "$T/state5" \
		--socket "$T/pgrd5.sock" 2>&1) || rc=$?
	[ "$rc" -eq 1 ] && grep -qF "pgrd: $T/bad.conf:$2" <<<"$out" ||
		fail "config '$1': status $rc, said: $out"
}
bad_config 'bogus = 1\n' "1: unknown key 'bogus'"
bad_config '# ok\nhost_uuid = nope\n' "2: host_uuid = nope: not a UUID"
bad_config 'relocation_port = 99999\n' "1: relocation_port = 99999: not a port"
bad_config 'relocation_hosts_allow = (\n' "1: relocation_hosts_allow:"
bad_config 'state_dir\n' "1: expected 'key = value'"
bad_config 'vmm_path = "pgr-vmm\n' "1: vmm_path: unbalanced quotes"
log "one pgrd per state directory and socket; detached with a config file; bad configs refused"

"$PGR" destroy rs >/dev/null
