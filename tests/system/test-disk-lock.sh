#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# test-disk-lock: one VM writes a disk image, or any number only read it
# (block/lock.c, docs/block.md). A second monitor on a disk another one
# writes is refused with one line (exit 1), whether it would write or only
# read it, and nothing of it runs; two read-only users share one. A live
# migration hands the image over (the source lets go before GO, the
# destination takes it), after which the destination holds it; a
# checkpoint of a running VM cannot be restored beside it on the same disk.
set -euo pipefail
. "$(dirname "$0")/functions.sh"
. "$(dirname "$0")/migration-lib.sh"
requires_kvm

DISK=$T/disk.img
BASE=$T/base.img
truncate -s 8M "$DISK" "$BASE"
BLK="blk=mix blkmib=2 blkrate=2048 blkseed=9"

# refused NAME ARGS...: pgr-vmm exits 1 with the "in use" line, the guest never ran.
refused() {
	local name=$1 rc=0
	shift

	timeout -k 2 20 "$VMM" --name "$name" --serial "file:$T/$name.log" "$@" \
		>"$T/$name.out" 2>"$T/$name.err" || rc=$?
	[ "$rc" -eq 1 ] || fail "$name: exit $rc, expected 1: $(tail -n 2 "$T/$name.err")"
	grep -q "^pgr-vmm: .*disk .* is in use by another VM" "$T/$name.err" ||
		fail "$name: $(grep '^pgr-vmm' "$T/$name.err" || tail -n 2 "$T/$name.err")"
	no_guest "$T/$name.log"
}

guest_boot a 1 "fill=16 $BLK" --disk "path=$DISK"
refused b --kernel "$GUEST" --cmdline "fill=16" --disk "path=$DISK"
refused c --kernel "$GUEST" --cmdline "fill=16" --disk "path=$DISK,readonly=on"
log "a disk written by one VM: refused to a second writer and to a reader: $(grep -o 'disk .* is in use[^;]*' "$T/b.err")"

guest_boot r1 1 "fill=16" --disk "path=$BASE,readonly=on"
guest_boot r2 1 "fill=16" --disk "path=$BASE,readonly=on"
refused w --kernel "$GUEST" --cmdline "fill=16" --disk "path=$BASE"
log "two read-only users share an image; a writer is refused beside them"

# A checkpoint restored beside the running VM would write the same disk.
migrate a "file:$T/ck.save" '"checkpoint":true'
wait_final a completed 20
refused ck --incoming "file:$T/ck.save" --disk "path=$DISK"
log "a checkpoint cannot be restored while its VM runs on the same disk"

# Live migration hands the image over.
start_dest d "unix:$T/mig.sock" --disk "path=$DISK"
migrate_ok a d "unix:$T/mig.sock"
refused e --kernel "$GUEST" --cmdline "fill=16" --disk "path=$DISK"
wait_for_log "$T/d.log" '^BV[0-9]+ blocks=[0-9]+ errors=0 ' 30 2
guest_intact "$T/a.log" "$T/d.log"
if grep -aE '^(BLKCORRUPT|BLKERR|BLKSTALL)|^BV[0-9]+ .* errors=[1-9]' "$T/a.log" "$T/d.log" >&2; then
	fail "the disk workload reported errors"
fi
log "live migration: the destination took the disk over ($MIG_SUMMARY); a third VM is refused"
for n in d r1 r2; do
	qmp "$T/$n.sock" '{"execute":"quit"}' >/dev/null
	expect_exit "$n" 0 10
done
