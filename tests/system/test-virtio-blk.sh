#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# test-virtio-blk: the test guest's disk workload on a virtio-blk disk.
# A pattern written in one run (blk=write, then poweroff) is intact in the
# next (blk=verify) and a wrong seed is caught; with readonly=on reads work
# and writes are refused (BLKERR op=write) and change nothing; every cache
# mode passes write + verify, adjacent requests merged into one call
# (query-block: merged_operations, while wr_operations still counts each
# request); "blk zero" and "blk discard" read back zeros;
# cache=writethrough (under strace, when installed) opens the image without
# O_DSYNC, syncs once per batch — far fewer fdatasyncs than writes, none
# missing at the end — and posts no write's completion before its sync
# returned: with every fdatasync failed (strace fault injection) every
# write and flush fails for the guest, though each pwritev succeeded;
# an I/O error (the image is sparse on a tmpfs too small for it, so writes
# past its space fail with ENOSPC) reaches the guest as BLKERR while the
# monitor runs on, counting it in query-block's failed_operations.
# The guest's lines: docs/test-guest.md. Migration: test-virtio-migrate.sh.
set -euo pipefail
. "$(dirname "$0")/functions.sh"
requires_kvm

DISK=$T/disk.img
MIB=16
BLOCKS=$((MIB * 256))
MNT=

# The tmpfs of the I/O error case is unmounted whatever happens.
eval "functions_cleanup() $(declare -f cleanup | tail -n +2)"
cleanup() {
	local rc=$?

	# pgr-vmm under strace is the child of VMM_PID, and outlives a killed strace
	for pid in "${VMM_PID[@]}"; do pkill -9 -P "$pid" 2>/dev/null || true; done
	if [ -n "$MNT" ]; then
		for pid in "${VMM_PID[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
		wait 2>/dev/null || true
		umount "$MNT" 2>/dev/null || true
	fi
	set +e
	(exit "$rc")
	functions_cleanup
}

# blk_boot NAME CMDLINE DISK_OPTS: a guest with a console, running once the
# console is attached, waited for until its disk is set up.
blk_boot() {
	local name=$1 cmdline=$2 disk=$3

	start_vmm "$name" --kernel "$GUEST" --cmdline "fill=16 $cmdline" --memory 128M \
		--cpus 1 --serial "unix:$T/$name.serial" --paused --disk "$disk"
	console_attach "$name" "$T/$name.serial"
	qmp "$T/$name.sock" '{"execute":"cont"}' >/dev/null
	wait_for_log "$T/$name.log" '^BLK ok ' 10
}

# poweroff NAME: the guest powers off; the monitor exits 0.
poweroff() {
	console_send "$1" poweroff
	expect_exit "$1" 0 10
	console_detach "$1"
}

# no_blk_errors NAME: nothing corrupt, no failed request, memory intact.
no_blk_errors() {
	if grep -aE '^(BLKCORRUPT|BLKERR|BLKSTALL)' "$T/$1.log" >&2; then
		fail "$1: the disk workload reported errors"
	fi
	no_corrupt "$T/$1.log"
}

# mibps BLOCKS MS: MiB/s, one decimal.
mibps() {
	awk -v b="$1" -v ms="$2" 'BEGIN { printf "%.1f", ms ? b * 4 / 1024 / (ms / 1000) : 0 }'
}

# bw_line NAME: "write X MiB/s, read Y MiB/s" from the BW1 and BV1 lines.
bw_line() {
	local w v

	w=$(grep -a -m1 '^BW1 ' "$T/$1.log" | sed -E 's/.*blocks=([0-9]+) ms=([0-9]+).*/\1 \2/')
	v=$(grep -a -m1 '^BV1 ' "$T/$1.log" | sed -E 's/.*blocks=([0-9]+) .*ms=([0-9]+).*/\1 \2/')
	# shellcheck disable=SC2086
	echo "write $(mibps $w) MiB/s, read+check $(mibps $v) MiB/s"
}

truncate -s "${MIB}M" "$DISK"

# ---- written in one run, intact in the next --------------------------------
blk_boot w1 "blk=write blkseed=7" "path=$DISK"
grep -aq "^BLK ok capacity=$((MIB * 2048)) ro=0 serial=pgr-vda$" "$T/w1.log" ||
	fail "w1: $(grep -a '^BLK ok' "$T/w1.log")"
wait_for_log "$T/w1.log" "^BV1 blocks=$BLOCKS errors=0 " 20
no_blk_errors w1
poweroff w1
log "blk=write: $MIB MiB written, flushed, read back intact ($(bw_line w1)); powered off"

blk_boot v1 "blk=verify blkseed=7" "path=$DISK"
wait_for_log "$T/v1.log" "^BV1 blocks=$BLOCKS errors=0 " 20
no_blk_errors v1
poweroff v1
log "blk=verify in a new VM: all $BLOCKS blocks intact"

blk_boot v2 "blk=verify blkseed=8" "path=$DISK"
wait_for_log "$T/v2.log" "^BV1 blocks=0 errors=$BLOCKS " 20
grep -aq '^BLKCORRUPT block=0 word=0 ' "$T/v2.log" || fail "v2: a wrong seed gave no BLKCORRUPT line"
poweroff v2
log "blk=verify with another seed: every block reported ($BLOCKS errors)"

# ---- readonly=on -------------------------------------------------------------
blk_boot ro1 "blk=verify blkseed=7" "path=$DISK,readonly=on"
grep -aq '^BLK ok .* ro=1 ' "$T/ro1.log" || fail "ro1: the disk is not read-only for the guest"
wait_for_log "$T/ro1.log" "^BV1 blocks=$BLOCKS errors=0 " 20
console_send ro1 'blk zero'
wait_for_log "$T/ro1.log" '^ERR blk zero: the device does not offer it$' 5
no_blk_errors ro1
poweroff ro1

blk_boot ro2 "blk=write blkseed=9" "path=$DISK,readonly=on"
wait_for_log "$T/ro2.log" '^BLKERR op=write block=0 status=1$' 10
wait_for_log "$T/ro2.log" '^BV1 blocks=0 errors=0 ' 20
poweroff ro2
blk_boot v3 "blk=verify blkseed=7" "path=$DISK"
wait_for_log "$T/v3.log" "^BV1 blocks=$BLOCKS errors=0 " 20
log "readonly=on: reads intact, writes refused (BLKERR op=write), the disk unchanged after them"

# ---- blk zero / blk discard --------------------------------------------------
console_send v3 'blk zero'
wait_for_log "$T/v3.log" '^BLKZERO ok op=zero blocks=256$' 10
console_send v3 'blk discard'
wait_for_log "$T/v3.log" '^BLKZERO ok op=discard blocks=256$' 10
no_blk_errors v3
poweroff v3
blk_boot v4 "blk=verify blkseed=7" "path=$DISK"
wait_for_log "$T/v4.log" "^BV1 blocks=$((BLOCKS - 256)) errors=256 " 20
grep -aq '^BLKCORRUPT block=0 word=0 expected=0x[0-9a-f]* got=0x0$' "$T/v4.log" ||
	fail "v4: the zeroed first MiB did not read back as zeros"
[ "$(grep -a '^BLKCORRUPT' "$T/v4.log" | sed -E 's/.*block=([0-9]+).*/\1/' | sort -un | tail -n 1)" -lt 256 ] ||
	fail "v4: blocks past the first MiB changed"
poweroff v4
log "blk zero, blk discard: the first MiB reads back as zeros, in this boot and the next; the rest intact"

# ---- cache modes ---------------------------------------------------------------
# The guest keeps 8 requests of 64 KiB in flight over adjacent blocks: they
# go out merged (query-block: merged_operations), and requests are still
# counted one by one (wr_operations: one per 64 KiB).
for cache in none writeback writethrough; do
	blk_boot "c-$cache" "blk=write blkseed=11" "path=$DISK,cache=$cache"
	wait_for_log "$T/c-$cache.log" "^BV1 blocks=$BLOCKS errors=0 " 30
	no_blk_errors "c-$cache"
	qmp "$T/c-$cache.sock" '{"execute":"query-block"}' return.0 >"$T/c-$cache.qb"
	poweroff "c-$cache"
	"$PYTHON" - "$T/c-$cache.qb" "$cache" "$((BLOCKS / 16))" <<-'PY' || fail "cache=$cache: query-block"
		import json, sys
		q = json.load(open(sys.argv[1]))
		s, want = q['stats'], int(sys.argv[3])
		assert q['cache'] == sys.argv[2], f"cache {q['cache']}"
		assert s['wr_operations'] == want, f"wr_operations {s['wr_operations']}, {want} requests"
		assert s['merged_operations'] >= want // 2, f"merged_operations {s['merged_operations']}"
		PY
	log "cache=$cache: write + verify intact ($(bw_line "c-$cache")), adjacent requests merged"
done

# ---- writethrough: one fdatasync a batch, completions only after it ------------
# wt_boot NAME STRACE_OPTS...: blk=write on a fresh image, cache=writethrough,
# pgr-vmm under strace -f (its log: $T/NAME.strace).
wt_boot() {
	local name=$1

	shift
	# (LeakSanitizer cannot run under ptrace: off for an ASan build)
	printf '#!/bin/sh\nASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \\\n' \
		>"$T/$name.sh"
	printf '\texec strace -f --seccomp-bpf -o %q %s -- %q "$@"\n' \
		"$T/$name.strace" "$*" "$VMM" >>"$T/$name.sh"
	chmod +x "$T/$name.sh"
	truncate -s 0 "$T/$name.img"
	truncate -s "${MIB}M" "$T/$name.img"
	VMM=$T/$name.sh blk_boot "$name" "blk=write blkseed=13" \
		"path=$T/$name.img,cache=writethrough"
}

if command -v strace >/dev/null; then
	REQS=$((BLOCKS / 16))            # the guest writes 64 KiB requests
	wt_boot wt -e trace=openat,pwritev,pwrite64,fdatasync
	wait_for_log "$T/wt.log" "^BV1 blocks=$BLOCKS errors=0 " 30
	console_send wt 'blk zero'
	wait_for_log "$T/wt.log" '^BLKZERO ok op=zero blocks=256$' 10
	no_blk_errors wt
	syncs=$(qmp "$T/wt.sock" '{"execute":"query-block"}' return.0.stats.sync_operations)
	poweroff wt
	open=$(grep -a "openat(.*/wt\.img\"" "$T/wt.strace") || fail "wt: no openat of the image"
	[[ $open != *O_DSYNC* ]] || fail "wt: the image is opened with O_DSYNC: $open"
	fd=${open##*= }
	writes=$(grep -ac "pwrite[v64]*($fd," "$T/wt.strace" || true)
	fsyncs=$(grep -ac "fdatasync($fd)" "$T/wt.strace" || true)
	# adjacent writes are merged: between 1 and 8 of them per pwritev
	[ "$writes" -ge $((REQS / 16)) ] && [ "$writes" -lt "$REQS" ] ||
		fail "wt: $writes pwritev calls for $REQS write requests"
	[ "$fsyncs" -ge 1 ] && [ $((fsyncs * 2)) -le "$REQS" ] ||
		fail "wt: $fsyncs fdatasync calls for $REQS write requests (want 1 to half as many)"
	[ "$syncs" -eq "$fsyncs" ] || fail "wt: query-block counts $syncs syncs, strace $fsyncs"
	last=$(grep -aE "(pwrite[v64]*|fdatasync)\($fd[,)]" "$T/wt.strace" | tail -n 1)
	[[ $last == *fdatasync* ]] || fail "wt: no fdatasync after the last write: $last"
	log "cache=writethrough: $writes writes, $fsyncs fdatasyncs, no O_DSYNC, the last" \
		"call a sync; write + verify + zero intact ($(bw_line wt))"

	# Every fdatasync fails (the writes themselves succeed): had any write's
	# completion been posted before its sync returned, it would count as done.
	wt_boot wtfail -e trace=fdatasync -e inject=fdatasync:error=EIO
	wait_for_log "$T/wtfail.log" '^BW1 blocks=0 ' 30
	grep -aq '^BLKERR op=write block=0 status=1$' "$T/wtfail.log" ||
		fail "wtfail: the first write did not fail"
	console_send wtfail 'blk zero'
	wait_for_log "$T/wtfail.log" '^BLKZERO failed op=zero$' 10
	failed=$(qmp "$T/wtfail.sock" '{"execute":"query-block"}' return.0.stats.failed_operations)
	# every write, the flush after them, the write-zeroes
	[ "$failed" -eq $((REQS + 2)) ] ||
		fail "wtfail: failed_operations=$failed, want $((REQS + 2))"
	poweroff wtfail
	log "cache=writethrough, fdatasync failing: all $REQS writes, the flush and the" \
		"write-zeroes failed for the guest (BW1 blocks=0); monitor ran on"
else
	log "writethrough sync checks skipped: strace not installed"
fi

# ---- an I/O error: ENOSPC on a full tmpfs --------------------------------------
if [ "$(id -u)" -ne 0 ]; then
	log "I/O error case skipped: mounting a tmpfs needs root"
	exit 0
fi
mkdir "$T/small"
mount -t tmpfs -o size=2m pgr-test-enospc "$T/small" || {
	log "I/O error case skipped: cannot mount a tmpfs"
	exit 0
}
MNT=$T/small
truncate -s "${MIB}M" "$MNT/disk.img"
blk_boot io "blk=write blkseed=5" "path=$MNT/disk.img"
wait_for_log "$T/io.log" '^BLKERR op=write block=[0-9]+ status=1$' 20
wait_for_log "$T/io.log" '^BV1 ' 30
vmm_alive io || fail "the monitor died on an I/O error"
[ "$(qmp "$T/io.sock" '{"execute":"query-status"}' return.status)" = running ] ||
	fail "io: not running after the I/O error"
failed=$(qmp "$T/io.sock" '{"execute":"query-block"}' return.0.stats.failed_operations)
[ "$failed" -gt 0 ] || fail "io: query-block shows failed_operations=$failed after BLKERR"
good=$(grep -a -m1 '^BV1 ' "$T/io.log" | sed -E 's/.*blocks=([0-9]+) errors=([0-9]+).*/\1 \2/')
[ "${good#* }" = 0 ] || fail "io: blocks that were written read back wrong: $(grep -a -m1 '^BV1 ' "$T/io.log")"
poweroff io
log "ENOSPC: $(grep -ac '^BLKERR op=write' "$T/io.log") BLKERR line(s), failed_operations=$failed," \
	"monitor running; ${good% *} written blocks intact"
