#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# test-hosts-migrate: `pgr migrate` between two hosts (network namespaces,
# each with its own pgrd and relocation server: hosts-lib.sh), the seeds'
# workflows, with a guest dirtying memory and doing disk I/O on storage
# both hosts see:
#   migrate --offline --persistent: hostb gets the definition, shut off;
#   the guest runs on at hosta.
#   migrate --live --persistent --verbose pgr+tcp://hostb/ and back with
#   migrate --live hosta: the guest moves, "shut off (migrated)" where it
#   was, "running (migrated)" where it is.
#   migrate without --live (xm migrate): suspended, moved, resumed there;
#   a paused guest stays paused.
#   migrate --undefinesource: the source forgets it.
# After each move the guest lost nothing: its serial line read across
# every host it ran on has heartbeats contiguous (one boot), memory sweeps
# clean, disk verify passes clean after the move, and it runs on there.
set -euo pipefail
. "$(dirname "$0")/functions.sh"
requires_kvm
. "$(dirname "$0")/hosts-lib.sh"

DISK=$SHARED/mig.img
# The guest's console, in pieces: the part of each host's log written
# while it ran there, in order (a host's log grows across its runs).
PIECES=()
declare -A CUT=([hosta]=0 [hostb]=0)

# piece HOST: the part of HOST's console written since the last cut.
piece() {
	local con size

	con=$(console_of "$1" mig)
	size=$(stat -c %s "$con")
	tail -c +$((CUT[$1] + 1)) "$con" | head -c $((size - CUT[$1])) >"$T/piece-${#PIECES[@]}.log"
	PIECES+=("$T/piece-${#PIECES[@]}.log")
	CUT[$1]=$size
}

# intact_now HOST: the guest, running on HOST, lost nothing over its whole
# trip (the pieces, then HOST's console since the last cut).
intact_now() {
	tail -c +$((CUT[$1] + 1)) "$(console_of "$1" mig)" >"$T/now.log"
	guest_ok "${PIECES[@]}" "$T/now.log"
}

# moved FROM TO WHAT: after a migration of mig from FROM to TO: states, and
# the guest runs on at TO having lost nothing.
moved() {
	local from=$1 to=$2 con

	con=$(console_of "$to" mig)
	state_on "$from" mig "shut off (migrated)" 10
	state_on "$to" mig "running (migrated)" 10
	piece "$from"
	hb_grows "$con" 300 20
	wait_for_log "$con" '^BV[0-9]+ ' 30 $(($(grep -ac '^BV' "$con") + 1))
	wait_for_log "$con" '^V[0-9]+ ' 30 $(($(grep -ac '^V' "$con") + 1))
	intact_now "$to"
	log "$3 $from -> $to: $HEARTBEATS heartbeats contiguous over ${#PIECES[@]} earlier run(s) and this" \
		"one, $SWEEPS sweeps, $DISK_PASSES disk passes, nothing lost"
}

hosts_setup hosta hostb
host_start hosta
host_start hostb
truncate -s 8M "$DISK"
define_on hosta mig mib=256 disk="$DISK" cmdline="fill=64 rate=32 blk=mix blkmib=4 blkrate=4096 blkseed=5"
uuid=$(pgr_on hosta domuuid mig)
pgr_on hosta start mig >/dev/null
wait_for_log "$(console_of hosta mig)" '^BV1 blocks=1024 errors=0 ' 30
wait_for_log "$(console_of hosta mig)" '^V2 ' 30
log "mig runs on hosta: memory dirtied at 32 MiB/s, disk I/O on shared storage"

# ---- offline: the definition only -------------------------------------------
out=$(pgr_on hosta migrate --offline --persistent mig hostb 2>&1) || fail "migrate --offline: $out"
[ -z "$out" ] || fail "migrate --offline printed: $out"
[ "$(pgr_on hostb domstate mig)" = "shut off" ] || fail "hostb: mig is $(pgr_on hostb domstate mig)"
[ "$(pgr_on hostb domuuid mig)" = "$uuid" ] || fail "hostb: uuid $(pgr_on hostb domuuid mig), expected $uuid"
pgr_on hostb dominfo mig | grep -qE '^Persistent: +yes$' || fail "hostb: the definition is not persistent"
state_on hosta mig "running (booted)" 1
pgr_on hosta dumpxml --inactive mig >"$T/a.xml"
pgr_on hostb dumpxml mig >"$T/b.xml"
cmp -s "$T/a.xml" "$T/b.xml" || fail "the definitions differ: $(diff "$T/a.xml" "$T/b.xml")"
log "migrate --offline --persistent: defined on hostb (same XML, uuid), still running on hosta"

# ---- live, there and back ---------------------------------------------------
pgr_on hosta migrate --live --persistent --verbose mig pgr+tcp://hostb/ >"$T/verbose.out" 2>&1 ||
	fail "migrate --live: $(cat "$T/verbose.out")"
tr '\r' '\n' <"$T/verbose.out" | grep -q 'Migration: \[100 %\]' ||
	fail "migrate --verbose drew no 100 %: $(tr '\r' '\n' <"$T/verbose.out" | tail -n 3)"
grep -q "mig: live migration to hostb" "$T/hosta/pgrd.err" || fail "hosta's pgrd logged no live migration"
moved hosta hostb "live (pgr+tcp://hostb/, --verbose: $(tr '\r' '\n' <"$T/verbose.out" | grep -c 'Migration:') progress lines):"
pgr_on hosta dominfo mig | grep -qE '^Persistent: +yes$' || fail "hosta forgot mig without --undefinesource"

pgr_on hostb migrate --live mig hosta >"$T/back.out" 2>&1 || fail "migrate back: $(cat "$T/back.out")"
moved hostb hosta "live, back (HOST form):"

# ---- without --live: suspended, moved, resumed -----------------------------
pgr_on hosta migrate --persistent mig hostb >"$T/paused.out" 2>&1 || fail "migrate: $(cat "$T/paused.out")"
moved hosta hostb "without --live:"
grep -q "mig: paused migration to hostb" "$T/hosta/pgrd.err" ||
	fail "without --live, hosta's pgrd did not run a paused migration: $(grep 'migration to' "$T/hosta/pgrd.err")"
pgr_on hostb suspend mig >/dev/null
state_on hostb mig "paused (user)" 5
pgr_on hostb migrate mig hosta >"$T/paused.out" 2>&1 || fail "migrate a paused guest: $(cat "$T/paused.out")"
state_on hostb mig "shut off (migrated)" 10
[ "$(pgr_on hosta domstate mig)" = paused ] || fail "a guest paused on hostb is $(pgr_on hosta domstate mig --reason) on hosta"
h=$(hb_last "$(console_of hosta mig)")
sleep 0.5
[ "$(hb_last "$(console_of hosta mig)")" = "$h" ] || fail "the guest migrated paused runs on hosta"
piece hostb
pgr_on hosta resume mig >/dev/null
hb_grows "$(console_of hosta mig)" 300 20
intact_now hosta
log "without --live, paused on hostb: paused on hosta until resumed; nothing lost"

# ---- --undefinesource -------------------------------------------------------
pgr_on hosta migrate --live --persistent --undefinesource mig hostb >"$T/undef.out" 2>&1 ||
	fail "migrate --undefinesource: $(cat "$T/undef.out")"
state_on hostb mig "running (migrated)" 10
absent_on hosta mig
piece hosta
pgr_on hostb dominfo mig | grep -qE '^Persistent: +yes$' || fail "hostb: mig is not persistent"
hb_grows "$(console_of hostb mig)" 300 20
intact_now hostb
log "--undefinesource: hosta forgot mig; on hostb it runs persistent; over the whole trip" \
	"$HEARTBEATS heartbeats contiguous, $SWEEPS sweeps, $DISK_PASSES disk passes clean"
pgr_on hostb destroy mig >/dev/null
