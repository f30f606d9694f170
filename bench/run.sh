#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# run.sh: run the benchmarks against QEMU, by hand: `bench/run.sh` runs them
# all, `bench/run.sh boot` or `bench/run.sh migrate` one. Each writes
# bench/results/NAME.json and prints its tables (bench/README.md says what
# they measure and holds the last results). `bench/run.sh hosts` (not in
# the default set: ~8 minutes, needs root for network namespaces) runs
# `pgr migrate --live` between two namespaced hosts against the bare
# monitors, into bench/results/hosts-DATE.json. `bench/run.sh blk` (not in
# the default set either: it writes a 64 MiB image many times) measures
# virtio-blk throughput per cache mode against QEMU (bench/results/blk.json);
# `bench/run.sh net` (~3 minutes, root: a network namespace) virtio-net
# round trips against QEMU (bench/results/net.json).
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
#   BENCH_MONITORS=...  peregrine,qemu (default) or one of them (boot, migrate)
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
	echo "usage: [BENCH_REV=COMMIT] bench/run.sh [boot|migrate|hosts|blk|net]..." >&2
	exit 2
}

need() {
	[ -e "$1" ] || { echo "bench: $1 is missing: $2" >&2; exit 1; }
}

# Export and build COMMIT under /tmp/pgr-bench/src-SHA; prints the build dir.
# TARGETS: what to build there (pgr-vmm and the guest; hosts also pgrd, pgr).
build_rev() {
	local sha dir t missing=""

	sha=$(git rev-parse --verify "$1^{commit}") || { echo "bench: no commit $1" >&2; exit 1; }
	dir=/tmp/pgr-bench/src-${sha:0:12}
	for t in "${TARGETS[@]}"; do
		[ -e "$dir/$t" ] || missing=1
	done
	if [ -n "$missing" ]; then
		if [ ! -f "$dir/Makefile" ]; then
			rm -rf "$dir"
			mkdir -p "$dir"
			git archive "$sha" | tar -x -C "$dir"
		fi
		make -C "$dir" -j2 "${TARGETS[@]}" >&2
	fi
	echo "$dir/build"
}

names=("$@")
[ ${#names[@]} -eq 0 ] && names=(boot migrate)
TARGETS=(build/pgr-vmm build/guest/pgr-testguest.elf)
for n in "${names[@]}"; do
	case "$n" in
	boot|migrate|blk|net) ;;
	hosts) TARGETS+=(build/pgrd build/pgr) ;;
	*) usage ;;
	esac
done

if [ -n "${BENCH_REV:-}" ]; then
	BENCH_BUILD=$(build_rev "$BENCH_REV")
	BENCH_REV_DESC=$(git describe --always "$BENCH_REV")
	export BENCH_BUILD BENCH_REV_DESC
fi
build=${BENCH_BUILD:-build}
for t in "${TARGETS[@]}"; do
	need "$build/${t#build/}" "run make first"
done
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

# hosts.py takes --runs only (round trips per rate and kind); blk.py
# and net.py --runs and --monitors.
hosts_args=()
if [ -n "${BENCH_QUICK:-}" ]; then
	hosts_args+=(--runs 1)
elif [ -n "${BENCH_RUNS:-}" ]; then
	hosts_args+=(--runs "$BENCH_RUNS")
fi
blk_args=("${hosts_args[@]}")
[ -n "${BENCH_MONITORS:-}" ] && blk_args+=(--monitors "$BENCH_MONITORS")

status=0
for n in "${names[@]}"; do
	if [ "$n" = hosts ]; then
		set -- "${hosts_args[@]}"
	elif [ "$n" = blk ] || [ "$n" = net ]; then
		set -- "${blk_args[@]}"
	else
		set -- "${args[@]}"
	fi
	echo "== bench/$n.py ${*:-} ($build; load average: $(cut -d' ' -f1-3 /proc/loadavg))"
	python3 "bench/$n.py" "$@" || status=1
done
exit $status
