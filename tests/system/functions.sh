# SPDX-License-Identifier: GPL-2.0-only
#
# functions.sh: what every system test shares. Source it first thing:
#
#   set -euo pipefail
#   . "$(dirname "$0")/functions.sh"
#   requires_kvm
#
# It gives the test a private temp dir $T (sockets, logs), and an EXIT trap
# that kills every process the test started in the background — no monitor
# is ever left running — prints the guests' last lines if the test failed,
# and removes $T (kept with KEEP=1). Exit 0 pass, 77 skip, else fail.
# Helpers for the monitor (start_vmm, vmm_wait, expect_exit, qmp,
# qmp_session), the guest's serial line (wait_for_log, console_attach,
# console_send) and what the guest lost (heartbeat_check, no_corrupt;
# tests/system/guestlog.py does the parsing). Tests run from tests/run.sh;
# docs/testing.md lists every helper and tells how to write a test.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
VMM=$BUILD/pgr-vmm
GUEST=$BUILD/guest/pgr-testguest.elf
GUESTLOG=$ROOT/tests/system/guestlog.py
# Debian's python3 (install-deps.sh) starts fastest; a pyenv shim first in
# PATH costs a few tenths of a second per call.
PYTHON=${PYTHON:-$(command -v /usr/bin/python3 || command -v python3)}
TEST=$(basename "$0" .sh)
T=$(mktemp -d "${TMPDIR:-/tmp}/pgr-$TEST.XXXXXX")
START_US=${EPOCHREALTIME//[!0-9]/}
declare -A VMM_PID=() CONSOLE_PID=()
VMM_STATUS=

# log MSG: a progress line, with the seconds since the test started.
log() {
	local us=${EPOCHREALTIME//[!0-9]/}
	local ms=$(((us - START_US) / 1000))

	printf '%s [%d.%03d s]: %s\n' "$TEST" $((ms / 1000)) $((ms % 1000)) "$*"
}
# The reason is printed again after the logs are dumped, so that the last
# lines of a failed test's output (all that CI shows) say why.
FAIL_REASON=
fail() { FAIL_REASON=$*; echo "FAIL: $*" >&2; exit 1; }
skip() { echo "skip: $*"; exit 77; }

# The guests' last words (heartbeats left out), for a failed test's log.
dump_logs() {
	local f

	for f in "$T"/*.log "$T"/*.out "$T"/*.err; do
		[ -s "$f" ] || continue
		echo "--- ${f##*/}: last lines other than heartbeats; last heartbeat:" \
			"$(grep -a '^H[0-9]*$' "$f" | tail -n 1)"
		grep -av '^H[0-9]*$' "$f" | tail -n 15
	done
}

cleanup() {
	local rc=$? pid

	trap - EXIT
	set +e          # whatever fails here, the processes must still die
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
		dump_logs >&2
		[ -z "$FAIL_REASON" ] || echo "FAIL: $FAIL_REASON" >&2
	fi
	for pid in $(jobs -p) "${VMM_PID[@]}"; do
		kill -9 "$pid" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	if [ -n "${KEEP:-}" ]; then
		echo "kept $T" >&2
	else
		rm -rf "$T"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

[ -x "$VMM" ] && [ -f "$GUEST" ] || fail "$VMM or $GUEST missing: run make"

# ---- requirements ----------------------------------------------------------

requires() {
	local c

	for c; do
		command -v "$c" >/dev/null || skip "$c not installed"
	done
}

# Skip, saying why, unless this user can create a VM.
requires_kvm() {
	[ -e /dev/kvm ] || skip "/dev/kvm absent"
	[ -r /dev/kvm ] && [ -w /dev/kvm ] || skip "/dev/kvm not accessible to $(id -un)"
	"$PYTHON" - <<-'EOF' || skip "/dev/kvm present but KVM cannot create a VM"
		import fcntl, os
		fd = os.open('/dev/kvm', os.O_RDWR)
		assert fcntl.ioctl(fd, 0xAE00) == 12     # KVM_GET_API_VERSION
		os.close(fcntl.ioctl(fd, 0xAE01, 0))     # KVM_CREATE_VM
	EOF
}

# ---- time ------------------------------------------------------------------

# now_ms: milliseconds since the epoch, in $REPLY (no fork).
now_ms() {
	local us=${EPOCHREALTIME//[!0-9]/}

	REPLY=$((us / 1000))
}

# ---- the monitor -----------------------------------------------------------

# start_vmm NAME ARGS...: run pgr-vmm in the background, serial output to
# $T/NAME.log, API on $T/NAME.sock, stdout/stderr to $T/NAME.out/.err,
# stdin the caller's; later ARGS override those. Its pid: ${VMM_PID[NAME]}.
start_vmm() {
	local name=$1
	shift

	# <&0: keep the caller's stdin (bash gives background jobs /dev/null).
	"$VMM" --name "$name" --serial "file:$T/$name.log" --api-socket "$T/$name.sock" \
		"$@" <&0 >"$T/$name.out" 2>"$T/$name.err" &
	VMM_PID[$name]=$!
}

# vmm_alive NAME: the monitor has not exited (a zombie counts as exited).
vmm_alive() {
	local stat

	stat=$(cat "/proc/${VMM_PID[$1]}/stat" 2>/dev/null) || return 1
	[[ $stat != *") Z "* ]]
}

# vmm_wait NAME TIMEOUT: wait for the monitor to exit by itself; its exit
# status in $VMM_STATUS. Fails the test if it is still running after
# TIMEOUT seconds.
vmm_wait() {
	local name=$1 deadline

	now_ms
	deadline=$((REPLY + $2 * 1000))
	while vmm_alive "$name"; do
		now_ms
		[ "$REPLY" -lt "$deadline" ] || fail "$name still running after $2 s"
		sleep 0.05
	done
	VMM_STATUS=0
	wait "${VMM_PID[$name]}" || VMM_STATUS=$?
	unset "VMM_PID[$name]"
}

# expect_exit NAME STATUS TIMEOUT: the monitor exits with STATUS in time.
expect_exit() {
	vmm_wait "$1" "$3"
	[ "$VMM_STATUS" -eq "$2" ] || fail "$1 exited with status $VMM_STATUS, expected $2"
}

# qmp SOCK JSON [FIELD]: send one API command on a new connection and print
# the reply to it (the greeting and events skipped; matched by "id" when the
# request has one) — or only FIELD of it, a dotted path such as
# return.status (strings bare, anything else as JSON). Retries connecting
# for 5 s, so it can follow start_vmm at once.
qmp() {
	"$PYTHON" - "$@" <<-'EOF'
		import json, socket, sys, time
		path, req = sys.argv[1], sys.argv[2]
		try:
		    want = json.loads(req).get('id')
		except (ValueError, AttributeError):
		    want = None
		deadline = time.time() + 5
		while True:
		    s = socket.socket(socket.AF_UNIX)
		    try:
		        s.connect(path)
		        break
		    except OSError as e:
		        s.close()
		        if time.time() > deadline:
		            sys.exit(f'qmp: {path}: {e}')
		        time.sleep(0.05)
		s.settimeout(10)
		s.sendall(req.encode() + b'\n')
		for raw in s.makefile('rb'):
		    msg = json.loads(raw)
		    if 'QMP' in msg or 'event' in msg or (want is not None and msg.get('id') != want):
		        continue
		    if len(sys.argv) > 3:
		        for key in sys.argv[3].split('.'):
		            msg = msg[int(key)] if isinstance(msg, list) else msg[key]
		        raw = (msg if isinstance(msg, str) else json.dumps(msg)).encode()
		    print(raw.decode().strip())
		    sys.exit(0)
		sys.exit(f'qmp: {path}: connection closed before the reply to {req}')
	EOF
}

# qmp_session SOCK: send each JSON line read from stdin on one connection,
# each after the reply to the one before; print every line received
# (greeting, events, replies), then any event that follows within 0.3 s.
qmp_session() {
	"$PYTHON" -c '
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(10)
f = s.makefile("rb")
def line():
    raw = f.readline()
    if not raw:
        sys.exit("qmp_session: connection closed")
    print(raw.decode().strip(), flush=True)
    return json.loads(raw)
line()
for req in sys.stdin.read().splitlines():
    s.sendall(req.encode() + b"\n")
    while "event" in line():
        pass
s.settimeout(0.3)
try:
    while True:
        line()
except (socket.timeout, SystemExit):
    pass
' "$1"
}

# ---- the guest's serial line -----------------------------------------------

# wait_for_log FILE REGEX TIMEOUT [COUNT]: wait until COUNT (default 1) lines
# of FILE match the extended REGEX; fails the test after TIMEOUT seconds.
wait_for_log() {
	local file=$1 re=$2 count=${4:-1} deadline n

	now_ms
	deadline=$((REPLY + $3 * 1000))
	while :; do
		n=$(grep -acE -- "$re" "$file" 2>/dev/null) || true
		[ "${n:-0}" -ge "$count" ] && return 0
		now_ms
		[ "$REPLY" -lt "$deadline" ] ||
			fail "waited $3 s for $count line(s) matching /$re/ in ${file##*/}, saw ${n:-0}"
		sleep 0.05
	done
}

# console_attach NAME SOCK: attach to a --serial unix:SOCK console; what the
# guest prints goes to $T/NAME.log; console_send NAME TEXT types a line;
# console_detach NAME hangs up.
console_attach() {
	local i

	rm -f "$T/$1.in"
	mkfifo "$T/$1.in"
	"$PYTHON" "$GUESTLOG" console "$2" "$T/$1.log" "$T/$1.in" &
	CONSOLE_PID[$1]=$!
	for ((i = 0; i < 100; i++)); do
		[ -e "$T/$1.log" ] && return 0
		sleep 0.05
	done
	fail "cannot attach to the console at $2"
}

console_detach() {
	kill "${CONSOLE_PID[$1]}" 2>/dev/null || true
	wait "${CONSOLE_PID[$1]}" 2>/dev/null || true
	unset "CONSOLE_PID[$1]"
}

console_send() {
	printf '%s\n' "$2" >"$T/$1.in"
}

# ---- what the guest lost ---------------------------------------------------

# heartbeat_check LOG...: H<seq> contiguous from 1 in each boot, over the
# concatenation of the LOGs; sets BOOTS and HEARTBEATS.
heartbeat_check() {
	local out

	out=$("$PYTHON" "$GUESTLOG" heartbeats "$@") || fail "heartbeats: $out"
	eval "$out"
}

# no_corrupt LOG...: no CORRUPT, FAULT or FATAL line, every V sweep corrupt=0;
# sets SWEEPS.
no_corrupt() {
	local out

	out=$("$PYTHON" "$GUESTLOG" intact "$@") || fail "guest memory: $out"
	eval "$out"
}

# hb_last LOG: the last heartbeat's sequence number (0 if none), of those
# written out whole: a monitor stopped mid-line leaves a fragment such as
# "H12" of "H1234", and a running one is always writing the next.
hb_last() {
	local size h snap=$T/hb.snap.$BASHPID

	# A snapshot, without its last line if that is still being written
	# (a half-written "H1234" would read as H1 or H12).
	size=$(stat -c %s "$1" 2>/dev/null) || size=0
	head -c "$size" "$1" >"$snap" 2>/dev/null || true
	if [ -n "$(tail -c 1 "$snap")" ]; then
		h=$(head -n -1 "$snap" | grep -a '^H[0-9][0-9]*$' | tail -n 1) || true
	else
		h=$(grep -a '^H[0-9][0-9]*$' "$snap" | tail -n 1) || true
	fi
	rm -f "$snap"
	echo "${h:-H0}" | cut -c2-
}
