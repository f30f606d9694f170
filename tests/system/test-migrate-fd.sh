#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# test-migrate-fd: the migration channel handed to the monitors as file
# descriptors, as two pgrds do (docs/relocation.md): a dirtying guest moves
# over a TCP connection made beforehand (the destination started with
# --incoming fd:3, the source given the other end with getfd and told
# migrate fd:migration), then on over a unix socketpair (what ssh
# carries). Each move completes, the source exits 0 and the destination
# runs; the guest loses nothing over the three monitors. Around that, the
# refusals: getfd without an fd, a bad fdname, closefd of nothing, migrate
# fd:unknown and fd:NAME naming /dev/null (the source runs on each time),
# --incoming fd:99 (not open) and fd:0 on /dev/null (exit 2, one clear
# line); fds that no getfd claims are closed with their connection, and a
# reused name replaces (closes) the old fd. CPU features: --print-cpu-features
# lists fpu and sse2, and without cx16 under --cpu host,-cx16; the guest,
# started with that --cpu, reports the same list with query-cpu-features —
# and still does on the monitors it moves to, which have no --cpu.
set -euo pipefail
. "$(dirname "$0")/functions.sh"
. "$(dirname "$0")/migration-lib.sh"
requires_kvm

FDPASS=$ROOT/tests/system/fdpass.py

# expect REPLY PATTERN: the reply contains PATTERN.
expect() {
	[[ $1 == *"$2"* ]] || fail "expected $2 in: $1"
}

# send NAME JSON [--fd PATH]: one request to monitor NAME, optionally with
# PATH's fd as SCM_RIGHTS; prints the reply.
send() {
	local name=$1
	shift
	"$PYTHON" "$FDPASS" send "$T/$name.sock" "$@"
}

# nfds NAME: how many fds monitor NAME has open, once that number has held
# still for 0.2 s (a connection just closed is closed a moment later).
nfds() {
	local pid=${VMM_PID[$1]} a b=-1 i

	for ((i = 0; i < 50; i++)); do
		a=$(ls "/proc/$pid/fd" | wc -l)
		[ "$a" -eq "$b" ] && break
		b=$a
		sleep 0.2
	done
	echo "$a"
}

# fd_dest SRC DST [--unix]: a connected pair; one end named "migration" in
# SRC with getfd, the other fd 3 of DST's monitor (--incoming fd:3).
fd_dest() {
	local src=$1 dst=$2

	"$PYTHON" "$FDPASS" pair "$T/$src.sock" migration ${3:-} -- \
		"$VMM" --name "$dst" --serial "file:$T/$dst.log" --api-socket "$T/$dst.sock" \
		--incoming fd:3 <&0 >"$T/$dst.out" 2>"$T/$dst.err" &
	VMM_PID[$dst]=$!
	wait_for_log "$T/$dst.err" '^fdpass: getfd migration: ' 10
	grep -qF 'fdpass: getfd migration: {"return":{}}' "$T/$dst.err" ||
		fail "getfd on $src: $(grep -a '^fdpass' "$T/$dst.err")"
	mig_events "$dst"
}

# move SRC DST: migrate over the fd named "migration"; checked.
move() {
	local src=$1 dst=$2

	migrate_ok "$src" "$dst" fd:migration
	[ "$MIG_ROUNDS" -ge 1 ] && [ "$MIG_SENT" -gt 0 ] ||
		fail "$src: $MIG_ROUNDS rounds, $MIG_SENT bytes sent"
	grep -q 'migration stream on fd:3' "$T/$dst.err" || fail "$dst did not log its fd channel"
	swept_after_move "$T/$dst.log"
	log "  $src -> $dst: $MIG_SUMMARY"
}

log "--incoming fd:N that is not an open stream socket: exit 2, one line"
rc=0
"$VMM" --incoming fd:99 99<&- 2>"$T/fd99.err" || rc=$?
[ $rc -eq 2 ] || fail "--incoming fd:99: exit $rc, expected 2"
grep -qx 'pgr-vmm: --incoming fd:99: not an open stream socket (not open)' "$T/fd99.err" ||
	fail "--incoming fd:99: $(cat "$T/fd99.err")"
rc=0
"$VMM" --incoming fd:0 </dev/null 2>"$T/fd0.err" || rc=$?
[ $rc -eq 2 ] || fail "--incoming fd:0 on /dev/null: exit $rc, expected 2"
grep -qx 'pgr-vmm: --incoming fd:0: not an open stream socket (a character device)' \
	"$T/fd0.err" || fail "--incoming fd:0: $(cat "$T/fd0.err")"
rc=0
"$VMM" --incoming fd:x 2>"$T/fdx.err" || rc=$?
[ $rc -eq 2 ] && grep -q "expected fd:N" "$T/fdx.err" || fail "--incoming fd:x: $(cat "$T/fdx.err")"

log "--print-cpu-features"
"$VMM" --print-cpu-features >"$T/cpu-host" || fail "--print-cpu-features: exit $?"
"$VMM" --cpu host,-cx16,-sse4_2 --print-cpu-features >"$T/cpu-masked" ||
	fail "--cpu host,-cx16,-sse4_2 --print-cpu-features: exit $?"
for f in fpu sse2 cx16; do
	grep -qx "$f" "$T/cpu-host" || fail "--print-cpu-features lacks $f: $(tr '\n' ' ' <"$T/cpu-host")"
done
sort -c "$T/cpu-host" || fail "--print-cpu-features is not sorted"
grep -qxE 'cx16|sse4_2' "$T/cpu-masked" && fail "--cpu host,-cx16,-sse4_2 still lists cx16 or sse4_2"
[ "$(grep -vxE 'cx16|sse4_2' "$T/cpu-host")" = "$(cat "$T/cpu-masked")" ] ||
	fail "-cx16,-sse4_2 took away more than cx16 and sse4_2: $(diff "$T/cpu-host" "$T/cpu-masked")"
rc=0
"$VMM" --cpu host,-nosuch --print-cpu-features 2>"$T/cpu-bad.err" || rc=$?
[ $rc -eq 2 ] && grep -q "'-nosuch'" "$T/cpu-bad.err" || fail "--cpu host,-nosuch: exit $rc"
"$VMM" --cpu host,-cx16 --print-cpu-features >"$T/cpu-guest"

# guest_cpu NAME: monitor NAME's query-cpu-features is $T/cpu-guest's list.
guest_cpu() {
	local got

	got=$(qmp "$T/$1.sock" '{"execute":"query-cpu-features"}' return.features |
		"$PYTHON" -c 'import json, sys; print("\n".join(json.load(sys.stdin)))')
	[ "$got" = "$(cat "$T/cpu-guest")" ] ||
		fail "$1: query-cpu-features differs from --cpu host,-cx16 --print-cpu-features: $got"
}

log "boot a guest (--cpu host,-cx16) dirtying 100 MiB/s"
guest_boot a 1 "fill=128 rate=100" --cpu host,-cx16
guest_cpu a

log "getfd and closefd refusals; the source runs on"
expect "$(send a '{"execute":"getfd","arguments":{"fdname":"migration"},"id":1}')" \
	'{"error":{"class":"GenericError","desc":"getfd: no file descriptor received with the command"},"id":1}'
expect "$(send a '{"execute":"getfd","arguments":{"fdname":"a b"}}' --fd /dev/null)" \
	"getfd: 'fdname' must be"
expect "$(send a '{"execute":"closefd","arguments":{"fdname":"nothing"}}')" \
	"closefd: no file descriptor named 'nothing'"
expect "$(send a '{"execute":"migrate","arguments":{"uri":"fd:unknown"}}')" \
	"migrate: no file descriptor named 'unknown' (send it with getfd)"
expect "$(send a '{"execute":"getfd","arguments":{"fdname":"null"}}' --fd /dev/null)" '{"return":{}}'
expect "$(send a '{"execute":"migrate","arguments":{"uri":"fd:null"}}')" \
	"migrate: file descriptor 'null': not an open stream socket (a character device)"
expect "$(send a '{"execute":"migrate","arguments":{"uri":"fd:null"}}')" \
	"no file descriptor named 'null'"
[ "$(qmp "$T/a.sock" '{"execute":"query-status"}' return.status)" = running ] ||
	fail "the source is not running after the refused migrations"
[ -z "$(mig_final a)" ] || fail "a refused migrate left a migration behind: $(mig_final a)"
hb_grows "$T/a.log" 5 10

log "fds: unclaimed ones closed with their connection, a reused name replaces"
n0=$(nfds a)
expect "$(send a '{"execute":"query-status"}' --fd /dev/null)" '"status":"running"'
[ "$(nfds a)" -eq "$n0" ] || fail "an unclaimed fd stayed open ($n0 -> $(nfds a))"
expect "$(send a '{"execute":"getfd","arguments":{"fdname":"x"}}' --fd /dev/null)" '{"return":{}}'
expect "$(send a '{"execute":"getfd","arguments":{"fdname":"x"}}' --fd /dev/zero)" '{"return":{}}'
[ "$(nfds a)" -eq $((n0 + 1)) ] || fail "two getfd x: $n0 -> $(nfds a) fds, expected one more"
expect "$(send a '{"execute":"closefd","arguments":{"fdname":"x"}}')" '{"return":{}}'
[ "$(nfds a)" -eq "$n0" ] || fail "closefd x: $(nfds a) fds, expected $n0"

log "a -> b over TCP (--incoming fd:3, migrate fd:migration)"
fd_dest a b
move a b
guest_cpu b

log "b -> c over a unix socketpair"
fd_dest b c --unix
move b c
guest_cpu c

qmp "$T/c.sock" '{"execute":"quit"}' >/dev/null
expect_exit c 0 10
guest_intact "$T/a.log" "$T/b.log" "$T/c.log"
log "intact: $HEARTBEATS heartbeats, $SWEEPS sweeps, corrupt=0"
