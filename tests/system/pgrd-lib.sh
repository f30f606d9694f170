# SPDX-License-Identifier: GPL-2.0-only
#
# pgrd-lib.sh: a private pgrd for each test-pgr*.sh (state directory and
# socket under the test's temp dir), the pgr command pointed at it, and
# the domain XML for the test guest; sourced after functions.sh.
PGRD=$BUILD/pgrd
PGR=$BUILD/pgr
STATE=$T/state
export PGR_SOCKET=$T/pgrd.sock
PGRD_PID=
[ -x "$PGRD" ] && [ -x "$PGR" ] || fail "$PGRD or $PGR missing: run make"

# pgrd_start: a pgrd on $STATE and $PGR_SOCKET (PGR_VMM picks another monitor).
pgrd_start() {
	local i

	[ -z "${PGR_VMM:-}" ] || echo "vmm_path = \"$PGR_VMM\"" >"$T/pgrd.conf"
	"$PGRD" --foreground --state-dir "$STATE" --socket "$PGR_SOCKET" \
		${PGR_VMM:+--config "$T/pgrd.conf"} </dev/null >>"$T/pgrd.out" 2>>"$T/pgrd.err" &
	PGRD_PID=$!
	for ((i = 0; i < 400; i++)); do        # 20 s: a loaded machine is slow
		[ -S "$PGR_SOCKET" ] && "$PGR" list >/dev/null 2>&1 && return 0
		kill -0 "$PGRD_PID" 2>/dev/null || fail "pgrd exited: $(tail -n 3 "$T/pgrd.err")"
		sleep 0.05
	done
	fail "pgrd did not answer on $PGR_SOCKET in 20 s: $(tail -n 3 "$T/pgrd.err")"
}

# monitor_pid NAME: the pid of NAME's pgr-vmm, from its runtime record.
monitor_pid() {
	"$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' \
		"$STATE/run/$1.json"
}

# The monitors run in their own sessions, out of functions.sh's reach.
pgrd_cleanup() {
	local f pid

	# Also those of other pgrds a test started under $T/NAME/state.
	for f in "$STATE"/run/*.json "$T"/*/state/run/*.json; do
		[ -e "$f" ] || continue
		pid=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' \
			"$f") || continue
		kill -9 -- "-$pid" "$pid" 2>/dev/null || true
	done
	if [ -n "$PGRD_PID" ]; then
		kill -9 "$PGRD_PID" 2>/dev/null || true
		wait "$PGRD_PID" 2>/dev/null || true
	fi
	if [ "$1" -ne 0 ] && [ "$1" -ne 77 ]; then
		for f in "$T/pgrd.err" "$STATE"/log/*.log; do
			[ -s "$f" ] && { echo "--- ${f#"$T"/}:"; tail -n 12 "$f"; }
		done >&2
	fi
	return 0
}
trap 'rc=$?; pgrd_cleanup $rc; set +e; (exit $rc); cleanup' EXIT   # cleanup reads $?

# guest_xml NAME [CMDLINE] [MIB] [CPUS]: the test guest as domain XML.
guest_xml() {
	cat <<-XML
	<domain type='kvm'>
	  <name>$1</name>
	  <memory unit='MiB'>${3:-128}</memory>
	  <vcpu>${4:-1}</vcpu>
	  <os>
	    <type arch='x86_64'>hvm</type>
	    <kernel>$GUEST</kernel>
	    <cmdline>${2:-fill=64}</cmdline>
	  </os>
	</domain>
	XML
}

# state_is NAME "STATE (REASON)" TIMEOUT: wait for domstate --reason to say so.
state_is() {
	local deadline got

	now_ms
	deadline=$((REPLY + $3 * 1000))
	while got=$("$PGR" domstate "$1" --reason 2>&1 | head -n 1) && [ "$got" != "$2" ]; do
		now_ms
		[ "$REPLY" -lt "$deadline" ] || fail "$1 is '$got' after $3 s, expected '$2'"
		sleep 0.05
	done
	[ "$got" = "$2" ] || fail "$1: domstate: $got"
}

# expect_error REGEX CMD...: CMD fails with status 1 and one "error: " line matching REGEX.
expect_error() {
	local re=$1 out rc=0
	shift

	out=$("$@" 2>&1 >/dev/null) || rc=$?
	[ "$rc" -eq 1 ] || fail "$* exited $rc, expected 1 ($out)"
	grep -qE -- "^error: $re" <<<"$out" || fail "$*: expected /error: $re/, got: $out"
}
