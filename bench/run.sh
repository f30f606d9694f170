#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# run.sh: run the benchmarks against QEMU, by hand: `bench/run.sh` runs them
# all, `bench/run.sh boot` or `bench/run.sh migrate` one. Each writes
# bench/results/NAME.json and prints its tables (bench/README.md says what
# they measure and holds the last results).
#
# It does not build (run `make` first) and is never part of `make check`:
# the figures need an otherwise idle machine and take ~20 minutes.
#
#   BENCH_RUNS=N        runs per case (default 5; the 4 GiB cases use 3)
#   BENCH_QUICK=1       one run of everything, to try the scripts
#   BENCH_MONITORS=...  peregrine,qemu (default) or one of them
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
	echo "usage: bench/run.sh [boot|migrate]..." >&2
	exit 2
}

need() {
	[ -e "$1" ] || { echo "bench: $1 is missing: $2" >&2; exit 1; }
}

need build/pgr-vmm "run make first"
need build/guest/pgr-testguest.elf "run make first"
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

names=("$@")
[ ${#names[@]} -eq 0 ] && names=(boot migrate)
for n in "${names[@]}"; do
	case "$n" in
	boot|migrate) ;;
	*) usage ;;
	esac
done

status=0
for n in "${names[@]}"; do
	echo "== bench/$n.py ${args[*]:-} (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
	python3 "bench/$n.py" "${args[@]}" || status=1
done
exit $status
