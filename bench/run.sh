#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# run.sh: run the benchmarks against QEMU, by hand: `bench/run.sh` runs them
# all, `bench/run.sh boot` or `bench/run.sh migrate` one. Each writes
# bench/results/NAME.json and prints its tables (bench/README.md says what
# they measure and holds the last results).
#
# It does not build the working tree (run `make` first) and is never part
# of `make check`: the figures want an otherwise idle machine and take
# ~20 minutes (more on a loaded one).
#
#   BENCH_REV=COMMIT    measure that commit instead of the tree's build/: it is
#                       exported (git archive) and built in a private
#                       directory, so others' edits in the tree cannot change
#                       the binaries halfway or break the build
#   BENCH_RUNS=N        runs per case (default 5; the 4 GiB cases use 3)
#   BENCH_QUICK=1       one run of everything, to try the scripts
#   BENCH_MONITORS=...  peregrine,qemu (default) or one of them
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
	echo "usage: [BENCH_REV=COMMIT] bench/run.sh [boot|migrate]..." >&2
	exit 2
}

need() {
	[ -e "$1" ] || { echo "bench: $1 is missing: $2" >&2; exit 1; }
}

# Export and build COMMIT under /tmp/pgr-bench/src-SHA; prints the build dir.
build_rev() {
	local sha dir

	sha=$(git rev-parse --verify "$1^{commit}") || { echo "bench: no commit $1" >&2; exit 1; }
	dir=/tmp/pgr-bench/src-${sha:0:12}
	if [ ! -x "$dir/build/pgr-vmm" ] || [ ! -f "$dir/build/guest/pgr-testguest.elf" ]; then
		rm -rf "$dir"
		mkdir -p "$dir"
		git archive "$sha" | tar -x -C "$dir"
		make -C "$dir" -j2 build/pgr-vmm build/guest/pgr-testguest.elf >&2
	fi
	echo "$dir/build"
}

names=("$@")
[ ${#names[@]} -eq 0 ] && names=(boot migrate)
for n in "${names[@]}"; do
	case "$n" in
	boot|migrate) ;;
	*) usage ;;
	esac
done

if [ -n "${BENCH_REV:-}" ]; then
	BENCH_BUILD=$(build_rev "$BENCH_REV")
	BENCH_REV_DESC=$(git describe --always "$BENCH_REV")
	export BENCH_BUILD BENCH_REV_DESC
fi
build=${BENCH_BUILD:-build}
need "$build/pgr-vmm" "run make first"
need "$build/guest/pgr-testguest.elf" "run make first"
need /dev/kvm "the benchmarks need KVM"
command -v qemu-system-x86_64 >/dev/null ||
	{ echo "bench: qemu-system-x86_64 is not installed" >&2; exit 1; }

args=()
if [ -n "${BENCH_QUICK:-}" ]; then
	args+=(--runs 1 --runs-large 1)
elif [ -n "${BENCH_RUNS:-}" ]; then
	args+=(--runs "$BENCH_RUNS")
fi
[ -n "${BENCH_MONITORS:-}" ] && args+=(--monitors "$BENCH_MONITORS")

status=0
for n in "${names[@]}"; do
	echo "== bench/$n.py ${args[*]:-} ($build; load average: $(cut -d' ' -f1-3 /proc/loadavg))"
	python3 "bench/$n.py" "${args[@]}" || status=1
done
exit $status
