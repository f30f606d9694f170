#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# test-save-bad: restore refuses a damaged save file — one flipped bit in
# the header, the definition, a RAM data page (not a hole), the RAM
# tables, a device, a vCPU, the VM section or the END marker; a file cut
# short inside the header, the definition, mid-RAM, inside a vCPU section
# or just before END; bytes after END; a wrong magic; an unknown format
# version (with its header CRC recomputed, so the version check itself
# refuses it); a foreign file, an empty file, a missing file; and payloads
# changed behind a valid CRC (what the sections' own checks must catch).
# Each time: exit status 1, a "pgr-vmm: " line naming what is wrong (and
# where), no guest run (the serial log stays empty), no API socket left;
# pgr-migdump refuses the file too. The undamaged file restores, so the
# damage is what is refused. Damage is done by tests/system/corrupt.py.
set -euo pipefail
. "$(dirname "$0")/functions.sh"
. "$(dirname "$0")/migration-lib.sh"
requires_kvm

GOOD=$T/good.save
SIZE=0

# Every case is tried; what went wrong is listed at the end.
PROBLEMS=()
problem() {
	PROBLEMS+=("$*")
	log "NOT OK: $*"
}

# refused NAME REGEX [SEMANTIC]: restoring $T/NAME.save fails as it
# should, with a message matching the extended REGEX; pgr-migdump refuses
# it too, unless SEMANTIC (damage behind a valid CRC in a payload that
# pgr-migdump does not decode). A correct refusal takes well under a
# second: the timeout only bounds a restore that wrongly runs the guest.
refused() {
	local name=$1 re=$2 rc=0 msg

	timeout -k 2 15 "$VMM" --incoming "file:$T/$name.save" --serial "file:$T/$name.log" \
		--api-socket "$T/$name.sock" >"$T/$name.out" 2>"$T/$name.err" || rc=$?
	msg=$(grep -a '^pgr-vmm: ' "$T/$name.err" | head -n 1) || true
	if [ "$rc" -ne 1 ]; then
		problem "$name: restore exited $rc, expected 1 ($(grep -av ' info: ' "$T/$name.err" | head -n 2))"
	elif [ -z "$msg" ]; then
		problem "$name: no 'pgr-vmm: ' error line: $(head -n 3 "$T/$name.err")"
	elif ! [[ $msg =~ $re ]]; then
		problem "$name: '$msg' does not say /$re/"
	else
		log "$name: ${msg#pgr-vmm: }"
	fi
	if grep -aq '^H' "$T/$name.log" 2>/dev/null; then
		problem "$name: the guest ran"
	fi
	[ ! -e "$T/$name.sock" ] || problem "$name: API socket left behind"
	if [ -z "${3:-}" ] && "$BUILD/pgr-migdump" "$T/$name.save" >"$T/$name.dump" 2>&1; then
		problem "$name: pgr-migdump accepts the file"
	fi
}

# damaged NAME REGEX CORRUPT_ARGS...: a copy of the good file, damaged by
# corrupt.py CORRUPT_ARGS (the file name goes after the first word), refused.
damaged() {
	local name=$1 re=$2 cmd=$3 semantic=
	shift 3

	cp --sparse=always "$GOOD" "$T/$name.save"
	python3 "$CORRUPT" "$cmd" "$T/$name.save" "$@" >/dev/null
	[[ " $* " == *" --fix-crc "* ]] && semantic=1
	refused "$name" "$re" "$semantic"
}

# offset_of TYPE: the offset of the first section of TYPE in the good file.
offset_of() {
	python3 "$CORRUPT" layout "$GOOD" | awk -v t="$1" '$2 == t { print $1; exit }'
}

make_good_file() {
	local kib

	guest_boot src 2 "fill=8 rate=10" --memory 64M
	migrate src "file:$GOOD"
	wait_final src completed 20
	expect_exit src 0 10
	SIZE=$(stat -c %s "$GOOD")
	kib=$(du -k "$GOOD" | cut -f1)
	log "good file: $SIZE bytes, $kib KiB on disk; $(python3 "$CORRUPT" layout "$GOOD" | wc -l) parts"
	# The control: undamaged, it restores and runs.
	cp --sparse=always "$GOOD" "$T/control.save"
	start_dest control "file:$T/control.save"
	swept_after_move "$T/control.log"
	qmp "$T/control.sock" '{"execute":"quit"}' >/dev/null
	expect_exit control 0 10
	guest_intact "$T/src.log" "$T/control.log"
}

make_good_file

# One flipped bit in each part.
damaged bit-header 'header checksum mismatch' flip header
damaged bit-magic 'bad magic' flip magic
damaged bit-definition 'section definition\[0\] at offset 68: checksum mismatch' flip definition
damaged bit-ram-data 'RAM image chunk at gpa 0x[0-9a-f]+: checksum mismatch' flip ram-data
damaged bit-ram-table 'section ram\[0\] at offset [0-9]+: RAM image region 0' flip ram-table
damaged bit-device 'section serial\[0\] at offset [0-9]+: checksum mismatch' flip device:serial
damaged bit-device-kvm 'section kvm\[0\] at offset [0-9]+: checksum mismatch' flip device:kvm
damaged bit-cpu 'section cpu\[1\] at offset [0-9]+: checksum mismatch' flip cpu:1
damaged bit-vm 'section vm\[0\] at offset [0-9]+: checksum mismatch' flip vm
damaged bit-end 'section end\[0\] at offset [0-9]+: .*(checksum mismatch|version [0-9]+ not supported)' flip end

# Cut short: the message says where the stream ends.
damaged cut-header 'truncated stream.* at offset 30$' truncate 30
damaged cut-definition "section definition\\[0\\] at offset 68: truncated stream at offset 150\$" truncate 150
cp --sparse=always "$GOOD" "$T/cut-ram.save"
mid_ram=$(python3 "$CORRUPT" truncate "$T/cut-ram.save" mid-ram | awk '{ print $3 }')
refused cut-ram "section ram\\[0\\] at offset [0-9]+: .*truncated.* $mid_ram"
cpu=$(offset_of CPU)
damaged cut-cpu "section cpu\\[0\\] at offset $cpu: truncated stream at offset $((cpu + 100))\$" truncate $((cpu + 100))
damaged cut-before-end "truncated stream: no end marker \\(stream ends at offset $((SIZE - 56))\\)" truncate before-end

# After the end marker.
cp --sparse=always "$GOOD" "$T/trailing.save"
echo "trailing garbage" >>"$T/trailing.save"
refused trailing "data after the end marker, from offset $SIZE"

# Not a save file of this format version, or not one at all.
damaged magic 'not a Peregrine migration stream \(bad magic\)' set-magic 'PGRMIX\r\n'
damaged magic-text-mode 'bad magic: line endings changed' set-magic 'PGRMIG\n\0'
damaged version 'stream format version 2 not supported \(this build reads 1\)' set-version 2
cp /bin/ls "$T/foreign.save"
refused foreign 'not a Peregrine migration stream \(bad magic\)'
: >"$T/empty.save"
refused empty '(empty|0 bytes)'
refused missing "cannot open $T/missing.save: No such file or directory"

# Damage behind a valid CRC: the payload's own checks refuse it by name.
damaged fixed-definition "definition: field '[a-z_]+': unknown key" flip definition-key --fix-crc
damaged fixed-device 'serial' flip device:serial --fix-crc

[ ${#PROBLEMS[@]} -eq 0 ] || fail "${#PROBLEMS[@]} damaged file(s) not refused as they should be:
$(printf '  %s\n' "${PROBLEMS[@]}")"
