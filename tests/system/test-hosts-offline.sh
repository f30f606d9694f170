#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# test-hosts-offline: moving a guest between two hosts (network namespaces,
# each with its own pgrd: tests/system/hosts-lib.sh) the ways that need no
# migration protocol, as the seeds' chapters do them by hand.
#   Manual offline migration (virsh dumpxml on kvm1, define on kvm2, start
#   there): the guest's disk is on storage both hosts see ($SHARED); it is
#   written by the guest on hosta, checked by the guest on hostb (every
#   block verified, and the same sha256 before and after); the UUID comes
#   along; hosta keeps its definition, shut off.
#   Cold migration (xm save, copy the save file and the disk, xm restore):
#   the disk is on hosta's local storage, which hostb cannot see until it
#   is copied; the guest, dirtying memory and doing disk I/O, is saved on
#   hosta and restored on hostb, and goes on from where it was: one boot,
#   heartbeats contiguous over both hosts' console logs, memory sweeps and
#   disk verify passes clean after the move.
set -euo pipefail
. "$(dirname "$0")/functions.sh"
requires_kvm
. "$(dirname "$0")/hosts-lib.sh"

hosts_setup hosta hostb
host_start hosta
host_start hostb
[ "$(on hosta hostname)" = hosta ] && [ "$(on hostb getent hosts hosta | awk '{print $1}')" = "$HOSTS_NET.1" ] ||
	fail "hosts: hostname on hosta '$(on hosta hostname)', hosta from hostb '$(on hostb getent hosts hosta)'"
on hosta ping -c 1 -W 5 hostb >/dev/null || fail "hosta cannot ping hostb"
log "hosta and hostb up, each with its pgrd; hosta pings hostb by name"

# ---- manual offline migration, shared storage -------------------------------
DISK=$SHARED/web.img
truncate -s 8M "$DISK"
# The disk's contents: a first guest writes the pattern (blk=write) and
# powers off; "web" checks it wherever it boots (blk=verify).
host_xml prep disk="$DISK" cmdline="fill=16 blk=write blkmib=4" >"$T/prep.xml"
pgr_on hosta create "$T/prep.xml" >/dev/null
wait_for_log "$(console_of hosta prep)" '^BV1 blocks=1024 errors=0 ' 30
printf 'poweroff\n' | pgr_on hosta console prep >/dev/null
define_on hosta web disk="$DISK" cmdline="fill=32 rate=8 blk=verify blkmib=4"
uuid=$(pgr_on hosta domuuid web)
pgr_on hosta start web >/dev/null
CON_A=$(console_of hosta web)
wait_for_log "$CON_A" '^BV1 blocks=1024 errors=0 ' 30
wait_for_log "$CON_A" '^V2 ' 30
log "web runs on hosta; its disk on shared storage verified by the guest"

# Stop it, carry the definition over, start it there.
printf 'poweroff\n' | pgr_on hosta console web >/dev/null
state_on hosta web "shut off (shutdown)" 10
sum_a=$(on hosta sha256sum "$DISK" | cut -d' ' -f1)
pgr_on hosta dumpxml web >"$T/web-dump.xml"
out=$(pgr_on hostb define "$T/web-dump.xml")
[ "$out" = "Domain web defined from $T/web-dump.xml" ] || fail "define on hostb said: $out"
pgr_on hostb list --all | grep -qE '^ -  +web +shut off$' || fail "hostb: $(pgr_on hostb list --all)"
[ "$(on hostb sha256sum "$DISK" | cut -d' ' -f1)" = "$sum_a" ] || fail "hostb sees another disk"
out=$(pgr_on hostb start web)
[ "$out" = "Domain web started" ] || fail "start on hostb said: $out"
state_on hostb web "running (booted)" 5
CON_B=$(console_of hostb web)
wait_for_log "$CON_B" '^BV1 blocks=1024 errors=0 ' 30
wait_for_log "$CON_B" '^V2 ' 30
[ "$(pgr_on hostb domuuid web)" = "$uuid" ] || fail "the UUID changed on the way: $(pgr_on hostb domuuid web)"
pgr_on hosta list --all | grep -qE '^ -  +web +shut off$' || fail "hosta: $(pgr_on hosta list --all)"
guest_ok "$CON_B"
guest_ok --boots 2 "$CON_A" "$CON_B"
log "manual offline migration: defined and started on hostb (uuid $uuid kept), disk sha256" \
	"${sum_a:0:12}... and every block verified by the guest there; $SWEEPS sweeps clean"
pgr_on hostb destroy web >/dev/null

# ---- cold migration, local storage ------------------------------------------
on hosta truncate -s 8M "$LOCAL/cold.img"
on hostb test ! -e "$LOCAL/cold.img" || fail "hostb sees hosta's local storage"
define_on hosta cold disk="$LOCAL/cold.img" cmdline="fill=32 rate=16 blk=mix blkmib=4 blkrate=2048 blkseed=7"
pgr_on hosta start cold >/dev/null
CON_A=$(console_of hosta cold)
wait_for_log "$CON_A" '^BV1 blocks=1024 errors=0 ' 30
wait_for_log "$CON_A" '^V2 ' 30
out=$(pgr_on hosta save cold "$LOCAL/cold.save")
printf '%s' "$out" | grep -q "Domain cold saved to $LOCAL/cold.save" || fail "save said: $out"
state_on hosta cold "shut off (saved)" 5
h_saved=$(hb_done "$CON_A")
now_ms
t_saved=$REPLY
# Copy the save file and the disk from hosta's local storage to hostb's.
for f in cold.save cold.img; do
	on hosta cat "$LOCAL/$f" | on hostb sh -c 'cat >"$1"' sh "$LOCAL/$f"
	[ "$(on hosta sha256sum "$LOCAL/$f" | cut -d' ' -f1)" = \
		"$(on hostb sha256sum "$LOCAL/$f" | cut -d' ' -f1)" ] || fail "copying $f changed it"
done
size=$(on hostb stat -c %s "$LOCAL/cold.save")
now_ms
gap=$((REPLY - t_saved))
out=$(pgr_on hostb restore "$LOCAL/cold.save")
[ "$out" = "Domain restored from $LOCAL/cold.save" ] || fail "restore on hostb said: $out"
state_on hostb cold "running (restored)" 5
CON_B=$(console_of hostb cold)
wait_for_log "$CON_B" '^BV[0-9]+ blocks=[0-9]+ errors=0 ' 30 2
hb_grows "$CON_B" 300 20
wait_for_log "$CON_B" '^V[0-9]+ ' 30 2
guest_ok --gap "$gap" "$CON_A" "$CON_B"
pgr_on hostb dominfo cold | grep -qE '^Persistent: +no$' || fail "a restored guest unknown here is not transient"
pgr_on hosta list --all | grep -qE '^ -  +cold +shut off$' || fail "hosta: $(pgr_on hosta list --all)"
log "cold migration: saved at H$h_saved on hosta ($((size / 1024)) KiB), save file and disk copied ($gap ms)," \
	"restored on hostb: one boot, $HEARTBEATS heartbeats contiguous over both hosts," \
	"$SWEEPS memory sweeps and $DISK_PASSES disk passes clean"
pgr_on hostb destroy cold >/dev/null
