#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# test-save-lazy: "--incoming file:PATH --lazy" resumes a saved guest
# before its RAM is read; each 2 MiB chunk is checked against its CRC when
# first touched or by the background pass, and disk and network requests
# wait until all of it has checked out (docs/migration.md).
#   - A guest busy on memory (2 vCPUs) and on a disk is saved and restored
#     lazily: it loses nothing (heartbeats contiguous, a whole memory sweep
#     and two disk verify passes after the restore, nothing corrupt), and
#     the monitor reports the whole image checked and in place.
#   - The same file with one bit flipped in its last RAM data page: the
#     guest runs until that chunk is reached, then the monitor exits 1
#     naming the chunk; the guest never read the bad page (no CORRUPT) and
#     its disk requests meanwhile never reached the disk (same checksum).
#   - While RAM is still arriving, migrate is refused, and a reset ends
#     the restore and boots the guest afresh.
#   - --lazy without a file: URI is a usage error.
set -euo pipefail
. "$(dirname "$0")/functions.sh"
. "$(dirname "$0")/migration-lib.sh"
requires_kvm

DISK=$T/disk.img
CORRUPT=$ROOT/tests/system/corrupt.py
truncate -s 16M "$DISK"

guest_boot src 2 "fill=64 rate=20 blk=mix blkmib=4 blkrate=4096 blkseed=5" --disk "path=$DISK"
wait_for_log "$T/src.log" '^BV1 blocks=[0-9]+ errors=0 ' 30
migrate src "file:$T/vm.save"
wait_final src completed 20
expect_exit src 0 10
cp --sparse=always "$T/vm.save" "$T/bad.save"
python3 "$CORRUPT" flip "$T/bad.save" ram-data-last >/dev/null
disk_sum=$(sha256sum <"$DISK")

# A bad chunk, found after the resume: nothing left the guest.
rc=0
timeout -k 2 30 "$VMM" --incoming "file:$T/bad.save" --lazy --disk "path=$DISK" \
	--serial "file:$T/bad.log" --api-socket "$T/bad.sock" >"$T/bad.out" 2>"$T/bad.err" || rc=$?
msg=$(grep -a '^pgr-vmm: ' "$T/bad.err" | head -n 1) || true
[ "$rc" -eq 1 ] || fail "bad file, --lazy: exit $rc, expected 1: $(tail -n 3 "$T/bad.err")"
[[ $msg =~ RAM\ image\ chunk\ at\ gpa\ 0x[0-9a-f]+:\ checksum\ mismatch ]] ||
	fail "bad file, --lazy: '$msg'"
grep -aq 'resumed' "$T/bad.err" || fail "bad file, --lazy: the guest was never resumed"
ran=$(grep -ac '^H' "$T/bad.log") || true
grep -a '^CORRUPT' "$T/bad.log" && fail "bad file, --lazy: the guest read the bad page"
[ "$(sha256sum <"$DISK")" = "$disk_sum" ] || fail "bad file, --lazy: the disk changed"
log "bad chunk: ${msg#pgr-vmm: } after $ran heartbeats; disk untouched, no CORRUPT"

# The good file: restored lazily, nothing lost.
start_dest rst "file:$T/vm.save" --lazy --disk "path=$DISK"
wait_for_log "$T/rst.err" 'RAM image verified and in place' 20
swept_after_move "$T/rst.log"
wait_for_log "$T/rst.log" '^BV[0-9]+ blocks=[0-9]+ errors=0 ' 30 2
qmp "$T/rst.sock" '{"execute":"quit"}' >/dev/null
expect_exit rst 0 10
guest_intact "$T/src.log" "$T/rst.log"
if grep -aE '^(BLKCORRUPT|BLKERR)|^BV[0-9]+ .* errors=[1-9]' "$T/src.log" "$T/rst.log" >&2; then
	fail "the disk workload reported errors"
fi
log "restored lazily: $(grep -ao 'in place .*' "$T/rst.err"), H$(hb_whole "$T/src.log") ->" \
	"H$(hb_whole "$T/rst.log"), $SWEEPS sweeps, disk passes clean"

# While RAM is still arriving: no migration out (the copy here is not all
# checked yet); a reset stops the restore (the rest of the file is not
# read) and boots the guest afresh, which then runs as any other.
guest_boot big 1 "fill=768" --memory 1G
migrate big "file:$T/big.save"
wait_final big completed 30
expect_exit big 0 10
start_dest bigr "file:$T/big.save" --lazy
reply=$(qmp "$T/bigr.sock" '{"execute":"migrate","arguments":{"uri":"file:'"$T"'/again.save"}}')
[[ $reply == *"still being restored (--lazy)"* ]] || fail "migrate during a lazy restore: $reply"
reply=$(qmp "$T/bigr.sock" '{"execute":"system-reset"}')
[ "$reply" = '{"return":{}}' ] || fail "system-reset during a lazy restore: $reply"
wait_for_log "$T/bigr.err" 'reset before the restore.s RAM was all in place' 10
wait_for_log "$T/bigr.log" '^READY$' 30
wait_for_log "$T/bigr.log" '^V[0-9]+ ' 30 2
no_corrupt "$T/bigr.log"
grep -aq 'RAM image verified and in place' "$T/bigr.err" &&
	fail "the lazy restore went on after the reset"
qmp "$T/bigr.sock" '{"execute":"quit"}' >/dev/null
expect_exit bigr 0 10
log "during a lazy restore: migrate refused; a reset stopped it and the guest booted afresh"

expect_error_line() {
	local rc=0 out

	out=$("$VMM" "$@" 2>&1 >/dev/null) || rc=$?
	[ "$rc" -eq 2 ] && [[ $out == "pgr-vmm: --lazy: "* ]] || fail "pgr-vmm $*: exit $rc, '$out'"
}
expect_error_line --kernel "$GUEST" --lazy
expect_error_line --incoming "unix:$T/x.sock" --lazy
log "--lazy without --incoming file: refused"
