#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# run.sh: the test runner behind `make check`. Runs every unit test
# ($BUILD/tests/test-*, built from tests/unit/test-*.c), then every system
# test (tests/system/test-*.sh), one at a time, each under a timeout, with
# its output captured to $BUILD/test-logs/<name>.log and shown on failure.
# Exit status of a test: 0 pass, 77 skip (its last "skip: REASON" line says
# why), anything else fail. A test that leaves a process behind fails.
#
# Prints one line per test and ends with "N passed, N failed, N skipped";
# writes the same per test, with seconds, to $BUILD/test-results.txt (read
# by .ci/run). Exits 1 if anything failed.
#
#   tests/run.sh                 everything
#   tests/run.sh PATTERN...      tests whose name (e.g. unit/test-stream,
#                                system/test-boot.sh) contains a PATTERN
#
# It does not build anything (make does) and runs tests sequentially: the
# machine has two cores and a guest wants one. Neighbours: tests/system/
# functions.sh (what system tests share), docs/testing.md.
set -uo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
export BUILD
UNIT_TIMEOUT=${UNIT_TIMEOUT:-120}
SYSTEM_TIMEOUT=${SYSTEM_TIMEOUT:-300}
LOGS=$BUILD/test-logs
RESULTS=$BUILD/test-results.txt

passed=0 failed=0 skipped=0
mkdir -p "$LOGS"
RESULTS_TMP=$(mktemp "$RESULTS.XXXXXX")    # another run may be writing too

selected() {
	local name=$1 p

	[ ${#PATTERNS[@]} -eq 0 ] && return 0
	for p in "${PATTERNS[@]}"; do
		[[ $name == *"$p"* ]] && return 0
	done
	return 1
}

# Processes left in the test's process group are a bug in the test (or the
# monitor): report and kill them. So are those that left the group (pgrd
# starts monitors in their own sessions) but still name the test's
# temporary directory (functions.sh: $TMPDIR/pgr-TEST.XXXXXX) on their
# command line.
reap_strays() {
	local pgid=$1 log=$2 name=$3 strays escaped

	strays=$(pgrep -d, -g "$pgid" 2>/dev/null)
	escaped=$(pgrep -d, -f "${TMPDIR:-/tmp}/pgr-$name\\." 2>/dev/null)
	[ -n "$strays$escaped" ] || return 0
	{
		echo "run.sh: processes left behind by the test:"
		ps -o pid=,args= -p "${strays}${strays:+${escaped:+,}}$escaped"
	} >>"$log" 2>&1
	[ -z "$strays" ] || kill -9 -- "-$pgid" 2>/dev/null
	[ -z "$escaped" ] || kill -9 ${escaped//,/ } 2>/dev/null
	return 1
}

# run_one NAME TIMEOUT CMD...: run, time and classify one test.
run_one() {
	local name=$1 limit=$2 log=$LOGS/$1.log start ms secs rc reason
	shift 2

	mkdir -p "$(dirname "$log")"
	start=$(date +%s%N)
	# timeout makes itself a process-group leader: its pid names the group
	# of everything the test starts.
	timeout -k 10 "$limit" "$@" </dev/null >"$log" 2>&1 &
	CURRENT=$!
	wait "$CURRENT"
	rc=$?
	if ! reap_strays "$CURRENT" "$log" "$(basename "$name" .sh)" && { [ $rc -eq 0 ] || [ $rc -eq 77 ]; }; then
		rc=99
	fi
	CURRENT=
	ms=$((($(date +%s%N) - start) / 1000000))
	secs=$((ms / 1000)).$((ms % 1000 / 100))
	case $rc in
	0)
		passed=$((passed + 1))
		echo "PASS $name"
		echo "PASS $name $secs" >>"$RESULTS_TMP" ;;
	77)
		skipped=$((skipped + 1))
		reason=$(grep -a '^skip: ' "$log" | tail -n 1 | cut -c7-)
		echo "SKIP $name: ${reason:-no reason given}"
		echo "SKIP $name $secs ${reason:-no reason given}" >>"$RESULTS_TMP" ;;
	*)
		failed=$((failed + 1))
		[ $rc -eq 124 ] && echo "run.sh: timed out after $limit s" >>"$log"
		[ $rc -eq 99 ] && echo "run.sh: the test passed but left processes behind" >>"$log"
		echo "FAIL $name (exit $rc after $secs s; full log: ${log#"$ROOT"/})"
		tail -n 60 "$log" | sed 's/^/    /'
		echo "FAIL $name $secs exit $rc" >>"$RESULTS_TMP" ;;
	esac
}

# Interrupted: stop the running test's whole group, not just timeout.
CURRENT=
trap '[ -n "$CURRENT" ] && kill -TERM -- "-$CURRENT" 2>/dev/null; rm -f "$RESULTS_TMP"; exit 130' INT TERM

PATTERNS=("$@")

for src in tests/unit/test-*.c; do
	[ -e "$src" ] || continue
	t=$(basename "$src" .c)
	selected "unit/$t" || continue
	if [ ! -x "$BUILD/tests/$t" ]; then
		failed=$((failed + 1))
		echo "FAIL unit/$t (not built: run make)"
		echo "FAIL unit/$t 0.0 not built" >>"$RESULTS_TMP"
		continue
	fi
	run_one "unit/$t" "$UNIT_TIMEOUT" "$BUILD/tests/$t"
done

for t in tests/system/test-*.sh; do
	[ -e "$t" ] || continue
	selected "system/${t##*/}" || continue
	run_one "system/${t##*/}" "$SYSTEM_TIMEOUT" bash "$t"
done

mv "$RESULTS_TMP" "$RESULTS"
echo "$passed passed, $failed failed, $skipped skipped" | tee -a "$RESULTS"
[ $failed -eq 0 ]
