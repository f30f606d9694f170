#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# test-migrate-bad-stream: an incoming monitor (--incoming tcp:) fed by a
# fake source (tests/system/migproxy.py replay) refuses what is not a
# whole, valid stream: garbage, nothing at all, a stream cut in the header,
# mid-RAM or just before END, one flipped bit in the definition, a RAM page,
# a round marker or a vCPU section, an unknown format version (header CRC
# recomputed), and a save file where a live stream belongs. Each time it
# exits 1 with a "pgr-vmm: " line naming the problem and never runs the
# guest. The streams are a real migration recorded by migproxy.py relay
# --record and then damaged by tests/system/corrupt.py; as a control, the
# undamaged recording replayed with GO resumes the guest exactly where its
# source left off. Damaged save files: test-save-bad.sh.
set -euo pipefail
. "$(dirname "$0")/functions.sh"
. "$(dirname "$0")/migration-lib.sh"
requires_kvm

REC=$T/recorded.stream
PROBLEMS=()

problem() {
	PROBLEMS+=("$*")
	log "NOT OK: $*"
}

# record: migrate a small guest through the relay, keeping the stream.
record() {
	local port proxy

	guest_boot src 1 "fill=16 rate=10" --memory 64M
	port=$(free_port)
	start_dest dst "tcp:127.0.0.1:$port"
	mig_events dst
	python3 -u "$MIGPROXY" relay "tcp:127.0.0.1:$port" --record "$REC" >"$T/proxy.out" 2>&1 &
	wait_for_log "$T/proxy.out" '^listening ' 20
	proxy=tcp:$(sed -n 's/^listening //p' "$T/proxy.out")
	migrate_ok src dst "$proxy"
	wait_for_log "$T/proxy.out" '^closed' 10
	qmp "$T/dst.sock" '{"execute":"quit"}' >/dev/null
	expect_exit dst 0 10
	python3 "$CORRUPT" truncate "$REC" after-end >/dev/null   # the commit frames
	"$BUILD/pgr-migdump" "$REC" >"$T/recorded.dump" 2>&1 ||
		fail "the recorded stream is not valid: $(tail -n 2 "$T/recorded.dump")"
	log "recorded $(stat -c %s "$REC") bytes: $(tail -n 1 "$T/recorded.dump")"
}

# replay NAME FILE [ARGS]: a fresh destination, fed FILE by the fake source.
replay() {
	local name=$1 file=$2 port
	shift 2

	port=$(free_port)
	start_dest "$name" "tcp:127.0.0.1:$port"
	python3 "$MIGPROXY" replay "$file" "tcp:127.0.0.1:$port" "$@" >"$T/$name.replay" 2>&1
}

# control: the undamaged recording, with GO, resumes the guest where the
# recorded source stopped; then it is saved, for the save-file case.
control() {
	replay control "$REC" --go
	grep -q '^DONE' "$T/control.replay" || fail "control: $(tr '\n' ' ' <"$T/control.replay")"
	swept_after_move "$T/control.log"
	migrate control "file:$T/saved.save"
	wait_final control completed 20
	expect_exit control 0 10
	guest_intact "$T/src.log" "$T/control.log"
	log "control: replayed and resumed from H$(($(hb_whole "$T/src.log") + 1)), intact"
}

# refused NAME FILE REGEX: the destination fed FILE exits 1, saying REGEX,
# without running the guest.
refused() {
	local name=$1 file=$2 re=$3 msg

	replay "$name" "$file"
	vmm_wait "$name" 20
	msg=$(grep -a '^pgr-vmm: ' "$T/$name.err" | head -n 1) || true
	if [ "$VMM_STATUS" -ne 1 ]; then
		problem "$name: the destination exited $VMM_STATUS, expected 1"
	elif ! [[ $msg =~ $re ]]; then
		problem "$name: '$msg' does not say /$re/"
	else
		log "$name: ${msg#pgr-vmm: } (the source heard: $(tail -n 1 "$T/$name.replay"))"
	fi
	if grep -aq '^H' "$T/$name.log" 2>/dev/null; then
		problem "$name: the guest ran"
	fi
}

# damaged NAME REGEX CORRUPT_ARGS...: the recording damaged by corrupt.py.
damaged() {
	local name=$1 re=$2 cmd=$3
	shift 3

	cp "$REC" "$T/$name.stream"
	python3 "$CORRUPT" "$cmd" "$T/$name.stream" "$@" >/dev/null
	refused "$name" "$T/$name.stream" "$re"
}

record
control

head -c 65536 /dev/urandom >"$T/garbage.stream"
refused garbage "$T/garbage.stream" 'not a Peregrine migration stream \(bad magic\)'
: >"$T/nothing.stream"
refused nothing "$T/nothing.stream" '(empty|0 bytes)'
damaged cut-header 'truncated stream.* at offset 40$' truncate 40
damaged cut-ram 'section ram\[0\] at offset [0-9]+: truncated stream at offset [0-9]+$' truncate mid-ram
damaged cut-before-end 'truncated stream: no end marker' truncate before-end
damaged bit-definition 'section definition\[0\] at offset 68: checksum mismatch' flip definition
damaged bit-ram 'section ram\[0\] at offset [0-9]+: checksum mismatch' flip ram-data
damaged bit-round 'section round\[0\] at offset [0-9]+: checksum mismatch' flip round
damaged bit-cpu 'section cpu\[0\] at offset [0-9]+: checksum mismatch' flip cpu:0
damaged version 'stream format version 7 not supported \(this build reads 1\)' set-version 7

refused save-file "$T/saved.save" 'RAM_IMAGE|save file|not a live'

[ ${#PROBLEMS[@]} -eq 0 ] || fail "${#PROBLEMS[@]} bad stream(s) not refused as they should be:
$(printf '  %s\n' "${PROBLEMS[@]}")"
