# SPDX-License-Identifier: GPL-2.0-only
#
# migration-lib.sh: what the migration system tests (test-migrate-*.sh,
# test-save-*.sh) share beyond functions.sh. Source it after functions.sh:
#
#   . "$(dirname "$0")/functions.sh"
#   . "$(dirname "$0")/migration-lib.sh"
#
# Events: mig_events records a monitor's API events in $T/NAME.events, so a
# test waits for MIGRATION / MIGRATION_PASS / RESUME by name instead of
# sleeping (wait_event), and reads the final statistics (mig_final). The
# moves: start_dest, migrate, migrate_ok. What the guest lost, across every
# monitor it lived in: guest_intact (heartbeats contiguous over the
# concatenated serial logs, nothing corrupt) and swept_after_move. Ports:
# free_port. It does not start sources (start_vmm does) nor judge
# statistics beyond status: each test checks what it is about.

MIGPROXY=$ROOT/tests/system/migproxy.py
CORRUPT=$ROOT/tests/system/corrupt.py

# A failed test also shows the monitors' last events.
eval "functions_dump_logs() $(declare -f dump_logs | tail -n +2)"
dump_logs() {
	local f

	functions_dump_logs
	for f in "$T"/*.events; do
		[ -s "$f" ] || continue
		echo "--- ${f##*/}: last events"
		tail -n 8 "$f"
	done
}

# guest_boot NAME CPUS CMDLINE [ARGS...]: a source guest with 256 MiB
# (ARGS may override), its events recorded, waited for until its workload
# runs and has verified one sweep.
guest_boot() {
	local name=$1 cpus=$2 cmdline=$3
	shift 3

	start_vmm "$name" --kernel "$GUEST" --cmdline "$cmdline" --memory 256M \
		--cpus "$cpus" "$@"
	mig_events "$name"
	wait_for_log "$T/$name.log" '^V1 ' 30
}

# mig_events NAME: record monitor NAME's events, one JSON line each, in
# $T/NAME.events, from when its API socket appears (it may not exist yet:
# an incoming monitor creates it once the source has connected). The
# greeting is the first line; migrate waits for it.
mig_events() {
	: >"$T/$1.events"
	python3 -S -u - "$T/$1.sock" >>"$T/$1.events" 2>&1 <<-'EOF' &
		import socket, sys, time
		deadline = time.time() + 60
		while True:
		    s = socket.socket(socket.AF_UNIX)
		    try:
		        s.connect(sys.argv[1])
		        break
		    except OSError:
		        s.close()
		        if time.time() > deadline:
		            sys.exit(f'events: cannot connect to {sys.argv[1]}')
		        time.sleep(0.02)
		for line in s.makefile('rb'):
		    sys.stdout.write(line.decode())
	EOF
}

# Where the current migration's events start in $T/NAME.events (set by
# migrate): wait_event, wait_final and mig_stats look only from there, so a
# second migration on one monitor is not judged by the first one's events.
declare -A MIG_FROM=()

# wait_event NAME REGEX TIMEOUT [COUNT]: COUNT (default 1) event lines of
# NAME's current migration match the extended REGEX.
wait_event() {
	local name=$1 re=$2 count=${4:-1} from=${MIG_FROM[$1]:-0} deadline n

	now_ms
	deadline=$((REPLY + $3 * 1000))
	while :; do
		n=$(tail -n +$((from + 1)) "$T/$name.events" | grep -acE -- "$re") || true
		[ "${n:-0}" -ge "$count" ] && return 0
		now_ms
		[ "$REPLY" -lt "$deadline" ] ||
			fail "waited $3 s for $count event(s) matching /$re/ from $name, saw ${n:-0}"
		sleep 0.05
	done
}

# wait_status NAME STATUS TIMEOUT: a MIGRATION event with this status.
wait_status() {
	wait_event "$1" "\"event\":\"MIGRATION\",\"data\":\\{\"status\":\"$2\"" "$3"
}

# mig_final NAME [FIELD]: the data of NAME's last terminal MIGRATION event
# (completed, failed or cancelled) as JSON, or one dotted FIELD of it
# (strings bare); empty if there is none, or if FIELD is absent.
mig_final() {
	python3 -S - "$T/$1.events" "${2:-}" "${MIG_FROM[$1]:-0}" <<-'EOF'
		import json, sys
		last = None
		for raw in open(sys.argv[1], 'rb').readlines()[int(sys.argv[3]):]:
		    try:
		        msg = json.loads(raw)
		    except ValueError:
		        continue
		    data = msg.get('data') or {}
		    if msg.get('event') == 'MIGRATION' and data.get('status') in ('completed', 'failed', 'cancelled'):
		        last = data
		if last is None:
		    sys.exit(0)
		if sys.argv[2]:
		    for key in sys.argv[2].split('.'):
		        last = last.get(key) if isinstance(last, dict) else None
		if last is not None:
		    print(last if isinstance(last, str) else json.dumps(last))
	EOF
}

# mig_stats NAME: the final event's figures as shell variables, for eval:
# MIG_STATUS, MIG_ERROR, MIG_TOTAL_MS, MIG_DOWNTIME_MS (empty if absent),
# MIG_ROUNDS, MIG_SENT (bytes); and MIG_SUMMARY, one line for the log.
mig_stats() {
	python3 -S - "$T/$1.events" "${MIG_FROM[$1]:-0}" <<-'EOF'
		import json, shlex, sys
		d = {}
		for raw in open(sys.argv[1], 'rb').readlines()[int(sys.argv[2]):]:
		    try:
		        msg = json.loads(raw)
		    except ValueError:
		        continue
		    data = msg.get('data') or {}
		    if msg.get('event') == 'MIGRATION' and data.get('status') in ('completed', 'failed', 'cancelled'):
		        d = data
		sent = d.get('ram', {}).get('transferred', '')
		v = {'STATUS': d.get('status', ''), 'ERROR': d.get('error-desc', ''),
		     'TOTAL_MS': d.get('total-time', ''), 'DOWNTIME_MS': d.get('downtime', ''),
		     'ROUNDS': d.get('rounds', ''), 'SENT': sent}
		v['SUMMARY'] = '%s: total %s ms, downtime %s ms, %s rounds, %s MiB sent' % (
		    v['STATUS'], v['TOTAL_MS'], v['DOWNTIME_MS'], v['ROUNDS'],
		    sent >> 20 if isinstance(sent, int) else '?')
		for k, x in v.items():
		    print('MIG_%s=%s' % (k, shlex.quote(str(x))))
	EOF
}

# free_port: a TCP port on 127.0.0.1 nobody listens on right now.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_dest NAME URI [ARGS...]: an incoming monitor, waited for until it
# listens (tcp:, unix:); for file: until it is running its VM.
start_dest() {
	local name=$1 uri=$2
	shift 2

	start_vmm "$name" --incoming "$uri" "$@"
	case $uri in
	file:*) ;;
	*) wait_for_log "$T/$name.err" 'waiting for the migration stream on' 20 ;;
	esac
}

# migrate NAME URI [EXTRA_JSON]: start a migration or save on monitor NAME
# (its events recorded first); EXTRA_JSON adds arguments, e.g.
# '"checkpoint":true'.
migrate() {
	local args="\"uri\":\"$2\"${3:+,$3}" reply

	[ -e "$T/$1.events" ] || mig_events "$1"
	wait_for_log "$T/$1.events" '"QMP"' 20
	MIG_FROM[$1]=$(wc -l <"$T/$1.events")
	reply=$(qmp "$T/$1.sock" "{\"execute\":\"migrate\",\"arguments\":{$args}}")
	[ "$reply" = '{"return":{}}' ] || fail "migrate $2 on $1: $reply"
}

# mig_set NAME JSON: migrate-set-parameters on NAME.
mig_set() {
	local reply

	reply=$(qmp "$T/$1.sock" "{\"execute\":\"migrate-set-parameters\",\"arguments\":$2}")
	[ "$reply" = '{"return":{}}' ] || fail "migrate-set-parameters $2 on $1: $reply"
}

# wait_final NAME STATUS TIMEOUT: the migration on NAME ends, with STATUS;
# sets the MIG_* variables of mig_stats.
wait_final() {
	local name=$1 want=$2

	wait_event "$name" '"status":"(completed|failed|cancelled)"' "$3"
	eval "$(mig_stats "$name")"
	[ "$MIG_STATUS" = "$want" ] ||
		fail "migration on $name: $MIG_STATUS, expected $want ($MIG_ERROR)"
}

# migrate_ok SRC DST URI [TIMEOUT]: live-migrate SRC to the waiting DST: it
# completes, SRC exits 0 and DST runs (query-status says so).
migrate_ok() {
	local src=$1 dst=$2 uri=$3 limit=${4:-30} status

	migrate "$src" "$uri"
	wait_final "$src" completed "$limit"
	expect_exit "$src" 0 20
	status=$(qmp "$T/$dst.sock" '{"execute":"query-status"}' return.status)
	[ "$status" = running ] || fail "$dst is $status after the migration, expected running"
}

# mig_summary NAME: one line of the final statistics, for the test's log.
mig_summary() {
	eval "$(mig_stats "$1")"
	echo "$MIG_SUMMARY"
}

# guest_intact LOG...: the guest lost nothing across the monitors it lived
# in, LOGs in order: their bytes concatenated (a line may be split where
# the guest moved) hold one boot, heartbeats contiguous from H1, no CORRUPT
# line and every sweep corrupt=0. Sets BOOTS, HEARTBEATS, SWEEPS.
guest_intact() {
	cat "$@" >"$T/guest.all"
	heartbeat_check "$T/guest.all"
	[ "$BOOTS" -eq 1 ] || fail "$BOOTS boots over $*: the guest restarted"
	no_corrupt "$T/guest.all"
}

# swept_after_move LOG [TIMEOUT]: the guest completed a whole verify sweep
# in this monitor (the first V line here may close a sweep begun before
# the move; the second cannot).
swept_after_move() {
	wait_for_log "$1" '^V[0-9]+ ' "${2:-20}" 2
}

# no_guest LOG: a monitor that must not have run the guest printed nothing.
no_guest() {
	if [ -s "$1" ]; then
		fail "${1##*/}: the guest ran here: $(head -c 200 "$1" | tr '\n' ' ')"
	fi
}

# hb_whole LOG: the last heartbeat written out whole (hb_last, which reads
# a snapshot without a line still being written); 0 if none.
hb_whole() {
	hb_last "$1"
}

# hb_grows LOG N TIMEOUT: N more heartbeats appear in LOG (the guest runs).
hb_grows() {
	local from

	from=$(hb_whole "$1")
	wait_for_log "$1" "^H$((from + $2))\$" "$3"
}
