#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# test-save-restore: save a running test guest to a file and restore it in
# a new monitor, with 1 and 2 vCPUs; the guest loses nothing (heartbeats
# contiguous across both serial logs, a whole verify sweep after the
# restore, nothing corrupt). The save file is whole and valid for
# pgr-migdump and sparse (holes for the pages the guest never touched). A
# checkpoint ("checkpoint": true) leaves the source running, and restoring
# it gives a second, independent copy that continues from the checkpoint.
# "--incoming file: --paused" loads the guest but runs it only on "cont".
# Bad save files: test-save-bad.sh. Live migration: test-migrate-*.sh.
set -euo pipefail
. "$(dirname "$0")/functions.sh"
. "$(dirname "$0")/migration-lib.sh"
requires_kvm

RAM_KIB=$((256 * 1024))

# vm_status NAME: query-status of monitor NAME.
vm_status() {
	qmp "$T/$1.sock" '{"execute":"query-status"}' return.status
}

# wait_vm_status NAME STATUS TIMEOUT: poll query-status until it says STATUS.
wait_vm_status() {
	local name=$1 want=$2 deadline got

	now_ms
	deadline=$((REPLY + $3 * 1000))
	while got=$(vm_status "$name") && [ "$got" != "$want" ]; do
		now_ms
		[ "$REPLY" -lt "$deadline" ] || fail "$name is $got after $3 s, expected $want"
		sleep 0.05
	done
	[ "$got" = "$want" ] || fail "$name: query-status failed"
}

quit_vmm() {
	qmp "$T/$1.sock" '{"execute":"quit"}' >/dev/null
	expect_exit "$1" 0 10
}

# check_save_file FILE CPUS: pgr-migdump finds it whole, with CPUS vCPU
# sections; it is sparse; no temporary file is left beside it.
check_save_file() {
	local file=$1 cpus=$2 kib

	"$BUILD/pgr-migdump" "$file" >"$T/migdump.out" 2>&1 ||
		fail "pgr-migdump refuses ${file##*/}: $(tail -n 2 "$T/migdump.out")"
	grep -q 'stream is whole and valid' "$T/migdump.out" || fail "pgr-migdump: $(tail -n 1 "$T/migdump.out")"
	[ "$(grep -cE '^ +[0-9]+ +CPU ' "$T/migdump.out")" -eq "$cpus" ] ||
		fail "${file##*/}: expected $cpus CPU sections: $(cat "$T/migdump.out")"
	kib=$(du -k "$file" | cut -f1)
	[ "$kib" -lt $((RAM_KIB / 4)) ] ||
		fail "${file##*/} takes $kib KiB on disk for $RAM_KIB KiB of RAM, 32 MiB of it used: not sparse"
	[ ! -e "$file.partial" ] || fail "${file##*/}.partial left behind"
	SAVE_KIB=$kib
}

# save_restore CPUS: save (the source exits 0), check the file, restore.
save_restore() {
	local cpus=$1 s=save$1 r=restore$1 file=$T/vm$1.save summary

	guest_boot "$s" "$cpus" "fill=32 rate=20"
	migrate "$s" "file:$file"
	wait_final "$s" completed 20
	expect_exit "$s" 0 10
	[ -n "$MIG_DOWNTIME_MS" ] || fail "$s: no downtime in the final event"
	summary=$MIG_SUMMARY
	check_save_file "$file" "$cpus"
	start_dest "$r" "file:$file"
	swept_after_move "$T/$r.log"
	[ "$(vm_status "$r")" = running ] || fail "$r is not running"
	quit_vmm "$r"
	guest_intact "$T/$s.log" "$T/$r.log"
	log "cpus=$cpus: saved ($summary; $SAVE_KIB KiB on disk)," \
		"restored: H$(hb_whole "$T/$s.log") -> H$(hb_whole "$T/$r.log"), $SWEEPS sweeps, corrupt=0"
}

# checkpoint: the source keeps running; the checkpoint restores in a
# second monitor; both run, and the restored one continues from the point
# the checkpoint was taken.
checkpoint() {
	local c=ckpt r=ckrestore file=$T/ckpt.save before after first

	guest_boot "$c" 1 "fill=32 rate=20"
	before=$(hb_whole "$T/$c.log")
	migrate "$c" "file:$file" '"checkpoint":true'
	wait_final "$c" completed 20
	after=$(hb_whole "$T/$c.log")
	[ "$(vm_status "$c")" = running ] || fail "$c is $(vm_status "$c") after a checkpoint"
	hb_grows "$T/$c.log" 100 10
	check_save_file "$file" 1

	start_dest "$r" "file:$file"
	swept_after_move "$T/$r.log"
	hb_grows "$T/$c.log" 100 10
	hb_grows "$T/$r.log" 100 10
	first=$(grep -a -m1 '^H[0-9]*$' "$T/$r.log" | cut -c2-)
	[ "$((first - 1))" -ge "$before" ] && [ "$((first - 1))" -le "$after" ] ||
		fail "restored checkpoint starts at H$first; the checkpoint was taken between H$before and H$after"
	# The restored copy's history: the source's log up to the checkpoint.
	sed -n "1,/^H$((first - 1))\$/p" "$T/$c.log" >"$T/ckpt.prefix"
	guest_intact "$T/ckpt.prefix" "$T/$r.log"
	guest_intact "$T/$c.log"
	quit_vmm "$r"
	quit_vmm "$c"
	log "checkpoint between H$before and H$after: source ran on to H$(hb_whole "$T/$c.log")," \
		"the restored copy from H$first to H$(hb_whole "$T/$r.log"), both intact"
}

# paused FILE SOURCE_LOG: restored with --paused, the guest does not run
# until "cont"; then it continues where it was saved.
paused() {
	local p=paused file=$1 src_log=$2

	start_dest "$p" "file:$file" --paused
	wait_vm_status "$p" paused 10
	sleep 1         # a bounded look: nothing may run meanwhile
	[ "$(grep -ac '^H' "$T/$p.log")" -eq 0 ] || fail "--paused: the guest ran before cont"
	[ "$(vm_status "$p")" = paused ] || fail "--paused: $p is $(vm_status "$p") before cont"
	qmp "$T/$p.sock" '{"execute":"cont"}' >/dev/null
	wait_vm_status "$p" running 5
	swept_after_move "$T/$p.log"
	quit_vmm "$p"
	guest_intact "$src_log" "$T/$p.log"
	log "--paused: stayed paused 1 s, ran on cont from H$(($(hb_whole "$src_log") + 1))"
}

save_restore 1
save_restore 2
checkpoint
paused "$T/vm1.save" "$T/save1.log"
