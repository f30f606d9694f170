#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# test-pgr-save-restore: pgr save and restore of a running test guest
# (xm save / xm restore, virsh save / restore). The guest loses nothing:
# pgrd logs the guest's serial line across both monitors, so its log
# shows one boot, heartbeats contiguous through the save and the restore,
# verify sweeps after it, nothing corrupt. The save file is whole for
# pgr-migdump; the domain is "shut off (saved)" in between and "running
# (restored)" after. A checkpoint (--checkpoint) leaves the guest running
# and restores to the moment it was taken; restore --paused waits for
# resume; restore --lazy answers once all RAM checked out, and a damaged
# RAM page fails it. Bad save files and conflicts are refused with one clear line.
set -euo pipefail
. "$(dirname "$0")/functions.sh"
requires_kvm

. "$(dirname "$0")/pgrd-lib.sh"

CONSOLE=$STATE/log/sr.console
SAVE=$T/sr.save

# v_count: verify sweeps in the console log so far.
v_count() {
	grep -ac '^V[0-9]' "$CONSOLE" || true
}

pgrd_start
guest_xml sr "fill=64 rate=8" >"$T/sr.xml"
"$PGR" define "$T/sr.xml" >/dev/null
"$PGR" start sr >/dev/null
wait_for_log "$CONSOLE" '^READY$' 20
wait_for_log "$CONSOLE" '^V[0-9]+ ' 20 2

# save: the guest stops, the file is whole
now_ms
t0=$REPLY
out=$("$PGR" save sr "$SAVE")
now_ms
save_ms=$((REPLY - t0))
[ "$(printf '%s' "$out" | grep -c 'Domain sr saved to')" -eq 1 ] || fail "save said: $out"
state_is sr "shut off (saved)" 2
[ ! -e "$STATE/run/sr.json" ] || fail "runtime record left after save"
h_saved=$(hb_last "$CONSOLE")
"$BUILD/pgr-migdump" "$SAVE" >"$T/migdump.out" 2>&1 && grep -q 'stream is whole and valid' "$T/migdump.out" ||
	fail "pgr-migdump: $(tail -n 2 "$T/migdump.out")"
log "saved at H$h_saved in $save_ms ms ($(du -k "$SAVE" | cut -f1) KiB on disk)"

# restore: it goes on from there
v_before=$(v_count)
now_ms
t0=$REPLY
out=$("$PGR" restore "$SAVE")
now_ms
restore_ms=$((REPLY - t0))
[ "$out" = "Domain restored from $SAVE" ] || fail "restore said: $out"
state_is sr "running (restored)" 2
wait_for_log "$CONSOLE" "^H$((h_saved + 500))\$" 20
wait_for_log "$CONSOLE" '^V[0-9]+ ' 20 $((v_before + 2))
heartbeat_check "$CONSOLE"
[ "$BOOTS" -eq 1 ] || fail "the console log shows $BOOTS boots: the guest restarted"
no_corrupt "$CONSOLE"
log "restored in $restore_ms ms: H$h_saved -> H$(hb_last "$CONSOLE"), one boot," \
	"$HEARTBEATS heartbeats contiguous, $SWEEPS sweeps, corrupt=0"
expect_error "failed to restore domain from $SAVE: domain 'sr' is already active" "$PGR" restore "$SAVE"

# checkpoint: runs on; restoring it goes back to that moment
h_before=$(hb_last "$CONSOLE")
out=$("$PGR" save sr "$T/ck.save" --checkpoint)
h_after=$(hb_last "$CONSOLE")
printf '%s' "$out" | grep -q "Domain sr saved to $T/ck.save" || fail "save --checkpoint said: $out"
state_is sr "running (restored)" 1
wait_for_log "$CONSOLE" "^H$((h_after + 300))\$" 20
"$PGR" destroy sr >/dev/null
state_is sr "shut off (destroyed)" 5
bytes=$(stat -c %s "$CONSOLE")
unfinished=$(tail -c 1 "$CONSOLE" | tr -d '\n')   # the destroyed run's last line, cut short?
"$PGR" restore "$T/ck.save" >/dev/null
state_is sr "running (restored)" 2
wait_for_log "$CONSOLE" '^H[0-9]+$' 20 $(($(grep -ac '^H' "$CONSOLE") + 100))
# The restored guest's first heartbeat; a line the destroyed run left
# unfinished runs into what the restored one writes first: skip it.
tail -c +$((bytes + 1)) "$CONSOLE" >"$T/after-ck.log"
first=$(if [ -n "$unfinished" ]; then tail -n +2 "$T/after-ck.log"; else cat "$T/after-ck.log"; fi |
	grep -a -m1 '^H[0-9]*$' | cut -c2-)
[ "$first" -gt "$h_before" ] && [ "$first" -le "$((h_after + 1))" ] ||
	fail "the checkpoint restored at H$first, but was taken between H$h_before and H$h_after"
no_corrupt "$T/after-ck.log"
log "checkpoint between H$h_before and H$h_after: the guest ran on; restored, it went on from H$first"

# restore --paused
"$PGR" destroy sr >/dev/null
"$PGR" restore "$SAVE" --paused >/dev/null
state_is sr "paused (user)" 2
h1=$(hb_last "$CONSOLE")
sleep 0.5
[ "$(hb_last "$CONSOLE")" = "$h1" ] || fail "restore --paused: the guest ran"
"$PGR" resume sr >/dev/null
state_is sr "running (unpaused)" 2
wait_for_log "$CONSOLE" '^H[0-9]+$' 20 $(($(grep -ac '^H' "$CONSOLE") + 100))
"$PGR" destroy sr >/dev/null
log "restore --paused: nothing ran until resume"

# restore --lazy: answered once all RAM checked out; a damaged RAM page
# fails the restore with the monitor's words, after the guest ran.
h1=$(grep -ac '^H' "$CONSOLE")
out=$("$PGR" restore "$SAVE" --lazy)
[ "$out" = "Domain restored from $SAVE" ] || fail "restore --lazy said: $out"
state_is sr "running (restored)" 1
grep -aq 'RAM image verified and in place' "$STATE/log/sr.log" ||
	fail "restore --lazy answered before the RAM was in place: $(tail -n 3 "$STATE/log/sr.log")"
wait_for_log "$CONSOLE" '^V[0-9]+ ' 20 $(($(v_count) + 2))
"$PGR" destroy sr >/dev/null
cp --sparse=always "$SAVE" "$T/lazybad.save"
python3 "$ROOT/tests/system/corrupt.py" flip "$T/lazybad.save" ram-data-last >/dev/null
expect_error "failed to restore domain from $T/lazybad.save: .*RAM image chunk at gpa 0x[0-9a-f]+: checksum mismatch" \
	"$PGR" restore "$T/lazybad.save" --lazy
state_is sr "shut off (failed)" 1
no_corrupt "$CONSOLE"
log "restore --lazy: $(grep -ao 'in place [0-9.]* ms' "$STATE/log/sr.log" | head -n 1); a bad RAM chunk fails it"

# bad files, conflicts
head -c 100 "$SAVE" >"$T/short.save"
expect_error "failed to restore domain from $T/short.save: .*truncated" "$PGR" restore "$T/short.save"
head -c 4096 /dev/urandom >"$T/junk.save"
expect_error "failed to restore domain from $T/junk.save: .*not a Peregrine save file" "$PGR" restore "$T/junk.save"
expect_error "failed to restore domain from $T/none.save: .*No such file" "$PGR" restore "$T/none.save"
# Damage past the definition: pgrd passes it on, the monitor refuses it.
cp --sparse=always "$SAVE" "$T/bad.save"
size=$(stat -c %s "$T/bad.save")
printf 'XXXXXXXX' | dd of="$T/bad.save" bs=1 seek=$((size - 200)) conv=notrunc status=none
expect_error "failed to restore domain from $T/bad.save: " "$PGR" restore "$T/bad.save"
state_is sr "shut off (failed)" 1
[ ! -e "$STATE/run/sr.json" ] || fail "a failed restore left a runtime record"
"$PGR" undefine sr >/dev/null
guest_xml sr >"$T/other.xml"            # the same name, another UUID
"$PGR" define "$T/other.xml" >/dev/null
expect_error "failed to restore domain from $SAVE: domain 'sr' already exists with uuid" "$PGR" restore "$SAVE"
expect_error "failed to save domain 'sr': domain is not running" "$PGR" save sr "$T/x.save"
expect_error "failed to get domain 'nope'" "$PGR" save nope "$T/x.save"
log "bad save files and conflicts refused"
