#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# test-bad-input: pgr-vmm refuses what it cannot run, with one line that
# names the culprit. A bad flag value: exit 2 and one line naming the flag,
# before any VM exists. A file that is not a bootable kernel: exit 1 and one
# line naming the file, no guest started, no API socket left behind.
set -euo pipefail
. "$(dirname "$0")/functions.sh"

# run_bad STATUS WORD ARGS...: pgr-vmm ARGS exits STATUS, prints one line
# on stderr containing WORD and nothing on stdout.
run_bad() {
	local want=$1 word=$2 rc=0
	shift 2

	timeout -k 2 10 "$VMM" "$@" >"$T/stdout" 2>"$T/stderr" || rc=$?
	[ "$rc" -eq "$want" ] || fail "pgr-vmm $*: exit $rc, expected $want; said: $(cat "$T/stderr")"
	[ "$(wc -l <"$T/stderr")" -eq 1 ] || fail "pgr-vmm $*: expected one line, got: $(cat "$T/stderr")"
	grep -qF -- "$word" "$T/stderr" || fail "pgr-vmm $*: '$(cat "$T/stderr")' does not name $word"
	[ ! -s "$T/stdout" ] || fail "pgr-vmm $*: printed on stdout: $(cat "$T/stdout")"
	log "ok: $(cat "$T/stderr")"
}

bad_flag() {
	local flag=$1
	shift

	run_bad 2 "$flag" "$@"
}

base=(--kernel "$GUEST" --serial null)

# Flag values: refused while parsing, no KVM needed.
bad_flag --memory "${base[@]}" --memory 12X
bad_flag --memory "${base[@]}" --memory 0
bad_flag --memory "${base[@]}" --memory 15M
bad_flag --memory "${base[@]}" --memory 2T
bad_flag --memory "${base[@]}" --memory 4097
bad_flag --memory "${base[@]}" --memory
bad_flag --cpus "${base[@]}" --cpus 0
bad_flag --cpus "${base[@]}" --cpus 65
bad_flag --cpus "${base[@]}" --cpus 2x
bad_flag --cpus "${base[@]}" --cpus ''
bad_flag --serial "${base[@]}" --serial bogus
bad_flag --serial "${base[@]}" --serial file:
bad_flag --kernel --kernel /nonexistent --serial null
bad_flag --kernel --serial null --memory 256M
bad_flag --initrd "${base[@]}" --initrd /nonexistent
bad_flag --bogus "${base[@]}" --bogus
bad_flag stray-word "${base[@]}" stray-word
bad_flag --uuid "${base[@]}" --uuid not-a-uuid
bad_flag --name "${base[@]}" --name 'a/b'
bad_flag --shutdown-timeout "${base[@]}" --shutdown-timeout -1
bad_flag --incoming --serial null --incoming bogus:
bad_flag --log-file "${base[@]}" --log-file /nonexistent/dir/log

# Files that are not kernels: refused when loading, which needs KVM.
requires_kvm
"$PYTHON" - "$GUEST" "$T" <<-'EOF'
	import struct, sys
	guest, t = sys.argv[1], sys.argv[2]
	elf = open(guest, 'rb').read()
	# Cut the ELF inside its last loadable segment's file contents.
	phoff, = struct.unpack_from('<Q', elf, 0x20)
	phentsize, phnum = struct.unpack_from('<HH', elf, 0x36)
	end = 0
	for i in range(phnum):
	    p_type, _, p_offset, _, _, p_filesz = struct.unpack_from('<IIQQQQ', elf, phoff + i * phentsize)
	    if p_type == 1:
	        end = max(end, p_offset + p_filesz)
	open(f'{t}/truncated-segment.elf', 'wb').write(elf[:end - 64])
	open(f'{t}/truncated-headers.elf', 'wb').write(elf[:100])
	# A bzImage header of boot protocol 2.00: too old for the 64-bit entry.
	bz = bytearray(8192)
	bz[0x1f1] = 4
	bz[0x1fe:0x200] = b'\x55\xaa'
	bz[0x200:0x202] = b'\xeb\x6a'
	bz[0x202:0x206] = b'HdrS'
	struct.pack_into('<H', bz, 0x206, 0x0200)
	open(f'{t}/old.bzImage', 'wb').write(bz)
EOF
echo 'this is not a kernel' >"$T/text"
: >"$T/empty"
mkdir "$T/dir"

for k in "$T/text" "$T/empty" "$T/dir" "$T/truncated-headers.elf" \
	"$T/truncated-segment.elf" /bin/true "$T/old.bzImage"; do
	run_bad 1 "$k" --kernel "$k" --serial null --api-socket "$T/api.sock"
	[ ! -e "$T/api.sock" ] || fail "--kernel $k: API socket left behind"
done
grep -q 'PVH' <<<"$(timeout 10 "$VMM" --kernel /bin/true --serial null 2>&1)" ||
	fail "/bin/true: the message does not say the PVH note is missing"

# A path the API socket cannot be created at is a bad --api-socket value
# (found only once the VM is built, after the loader's info line).
rc=0
timeout -k 2 10 "$VMM" "${base[@]}" --api-socket /nonexistent/dir/api.sock 2>"$T/stderr" || rc=$?
[ "$rc" -eq 2 ] || fail "--api-socket in a missing directory: exit $rc, expected 2"
tail -n 1 "$T/stderr" | grep -q -- '--api-socket /nonexistent/dir/api.sock' ||
	fail "--api-socket in a missing directory: $(cat "$T/stderr")"
log "every bad input refused"
