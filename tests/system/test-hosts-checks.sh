#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# test-hosts-checks: every check docs/relocation.md makes before a guest
# moves, between hosts that are network namespaces (hosts-lib.sh), each
# refused with its own message while nothing changes on either host (the
# guest runs on at the source, the destination does not know it):
#   the allow-list (hostc is not in hostb's relocation_hosts_allow: pgr -c
#   pgr+tcp://hostb/ and a migration from hostc are both turned away, and
#   hostb logs it); a name that does not resolve; a name resolving to
#   127.0.0.1; hosta migrating to itself by its own name (same host UUID);
#   the name, or the UUID, already running at the destination, and the name
#   defined there with another UUID; not enough memory there (a guest
#   bigger than the machine's MemAvailable, which runs because its RAM is
#   only touched lazily); a CPU feature the destination hides (its
#   cpu_mask); a disk, or a kernel, on the source's local storage, which
#   the destination cannot see; a NIC on a bridge only the source has; a writeback-cache disk without --unsafe (and with --unsafe
#   it moves, the guest intact); the arguments (--live with --offline,
#   --copy-storage-all, --offline without --persistent, a guest not running).
set -euo pipefail
. "$(dirname "$0")/functions.sh"
requires_kvm
. "$(dirname "$0")/hosts-lib.sh"

# refused DOM DEST REGEX [OPTIONS...]: migrating DOM from hosta to DEST
# fails with "failed to migrate domain 'DOM': REGEX"; DOM runs on at hosta
# and is unknown at hostb. With ARGS=1, pgr itself may refuse the
# arguments, without "failed to migrate".
refused() {
	local dom=$1 dest=$2 re="failed to migrate domain '$1': $3"

	[ -z "${ARGS:-}" ] || re="(failed to migrate domain '$1': )?.*$3"
	shift 3
	expect_error_on hosta "$re" migrate "$@" "$dom" "$dest"
	[ "$(pgr_on hosta domstate "$dom")" = running ] ||
		fail "$dom is '$(pgr_on hosta domstate "$dom" --reason)' on hosta after a refused migration"
	[ "$dom" = dup ] || absent_on hostb "$dom"
	log "refused: ${ERROR_LINE#error: }"
}

# dest_re BEFORE PREP AFTER: what hostb answers, as docs/relocation.md
# words it: "hostb: BEFORE[ here]AFTER" (PREP is not used any more).
dest_re() {
	echo "hostb: $1( here)?$3"
}

# A feature this host gives guests, for hostb to hide.
for FEATURE in gfni movdiri clwb clflushopt umip avx2 aes sse4_2 popcnt; do
	"$VMM" --print-cpu-features | grep -qx "$FEATURE" && break
done
"$VMM" --print-cpu-features | grep -qx "$FEATURE" || fail "no CPU feature to mask: $("$VMM" --print-cpu-features | tr '\n' ' ')"

HOSTS_ALLOW='^hosta$ ^hostb$'
hosts_setup hosta hostb hostc
host_start hosta
host_start hostb
host_start hostc

# ---- the arguments -----------------------------------------------------------
define_on hosta chk cmdline="fill=16 rate=4"
expect_error_on hosta "failed to migrate domain 'chk': domain is not running" migrate --live chk hostb
pgr_on hosta start chk >/dev/null
wait_for_log "$(console_of hosta chk)" '^V1 ' 30
ARGS=1 refused chk hostb "(--live.*--offline|--offline.*--live)" --live --offline
ARGS=1 refused chk hostb "copying storage.* is not supported yet" --live --copy-storage-all
ARGS=1 refused chk hostb "offline migration requires --persistent" --offline

# ---- who may connect ---------------------------------------------------------
expect_error_on hostc "host hostc \(${HOSTS_NET//./\\.}\.3\) is not allowed to connect to hostb: not in relocation_hosts_allow" \
	-c pgr+tcp://hostb/ list
grep -q "relocation: refused hostc (${HOSTS_NET}.3): not in relocation_hosts_allow" "$T/hostb/pgrd.err" ||
	fail "hostb did not log the refused connection: $(tail -n 3 "$T/hostb/pgrd.err")"
log "pgr -c pgr+tcp://hostb/ from hostc: ${ERROR_LINE#error: }"
pgr_on hosta -c pgr+tcp://hostb/ list --all >/dev/null || fail "hosta cannot list hostb's domains"

# A peer whose name lookup hangs (hostb now asks a DNS server that never
# answers) holds up nobody else: hosta is answered meanwhile, and the peer
# is turned away by address when the lookup gives up.
printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n' \
	>"/etc/netns/${HOST_NS[hostb]}/nsswitch.conf"
ip -n "${HOST_NS[hostc]}" addr add "$HOSTS_NET.77/24" dev br0
on hostc python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], 8002), timeout=20, source_address=(sys.argv[2], 0))
print(s.makefile().readline().strip())' "${HOST_IP[hostb]}" "$HOSTS_NET.77" >"$T/slowpeer.out" 2>&1 &
slow=$!
sleep 0.5
now_ms
t0=$REPLY
pgr_on hosta -c pgr+tcp://hostb/ list --all >/dev/null || fail "hosta cannot list hostb's domains"
now_ms
[ $((REPLY - t0)) -lt 1500 ] || fail "hostb took $((REPLY - t0)) ms to answer hosta while a lookup hung"
wait "$slow" || fail "the slow peer: $(cat "$T/slowpeer.out")"
grep -q "host ${HOSTS_NET//./\.}\.77 is not allowed to connect to hostb" "$T/slowpeer.out" ||
	fail "the slow peer was told: $(cat "$T/slowpeer.out")"
printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files\n' \
	>"/etc/netns/${HOST_NS[hostb]}/nsswitch.conf"
log "a peer whose name lookup hung: hostb answered hosta in $((REPLY - t0)) ms meanwhile, then refused it"
define_on hostc cx cmdline="fill=16"
pgr_on hostc start cx >/dev/null
expect_error_on hostc "failed to migrate domain 'cx': .*host hostc \(.*\) is not allowed to connect to hostb" \
	migrate --live cx hostb
[ "$(pgr_on hostc domstate cx)" = running ] || fail "cx on hostc: $(pgr_on hostc domstate cx --reason)"
log "migrating from hostc: ${ERROR_LINE#error: }"
pgr_on hostc destroy cx >/dev/null

# ---- names -------------------------------------------------------------------
refused chk nosuchhost "cannot resolve destination 'nosuchhost': Name or service not known" --live
refused chk hostlo "destination 'hostlo' resolves to a loopback address \(127\.0\.0\.1\): give a name other hosts can reach" --live
refused chk hosta "attempt to migrate guest to the same host ${HOST_UUID[hosta]}" --live
refused chk pgr+tcp://hosta/ "attempt to migrate guest to the same host ${HOST_UUID[hosta]}" --live

# ---- what already is at the destination -------------------------------------
define_on hosta dup cmdline="fill=16"
pgr_on hosta start dup >/dev/null
pgr_on hosta dumpxml dup >"$T/dup.xml"
pgr_on hostb create "$T/dup.xml" >/dev/null          # the same name and UUID
refused dup hostb "$(dest_re "domain 'dup' is already active" on "")" --live
pgr_on hostb destroy dup >/dev/null
sed "s|<name>dup</name>|<name>dup-b</name>|" "$T/dup.xml" >"$T/dup-b.xml"
pgr_on hostb create "$T/dup-b.xml" >/dev/null        # the same UUID, another name
refused dup hostb "$(dest_re "domain 'dup(-b)?' (is already active|already exists)" on ".*")" --live
pgr_on hostb destroy dup-b >/dev/null
define_on hostb dup cmdline="fill=16"                # the same name, another UUID
refused dup hostb "$(dest_re "domain 'dup' already exists" on " with uuid $(pgr_on hostb domuuid dup)")" --live
pgr_on hostb undefine dup >/dev/null
pgr_on hosta destroy dup >/dev/null

# ---- the destination's resources ---------------------------------------------
avail=$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo)
big=$((avail + 2048))
define_on hosta big mib=$big cmdline="fill=16 rate=4"
pgr_on hosta start big >/dev/null
wait_for_log "$(console_of hosta big)" '^V2 ' 30
grep -aq "^PGR-TESTGUEST .* mem=$((big - 1))\|^PGR-TESTGUEST .* mem=$big" "$(console_of hosta big)" ||
	log "banner: $(grep -a '^PGR-TESTGUEST' "$(console_of hosta big)")"
rss=$(awk '/^VmRSS:/ { print int($2 / 1024) }' "/proc/$(host_monitor_pid hosta big)/status")
[ "$rss" -lt 1024 ] || fail "a guest of $big MiB has $rss MiB resident: its RAM is not touched lazily"
log "big: $big MiB guest running on a machine with $avail MiB available ($rss MiB resident)"
refused big hostb "$(dest_re "not enough free memory" on ": the domain needs $big MiB, [0-9]+ MiB available")" --live
pgr_on hosta destroy big >/dev/null

# hostb hides a feature (and refuses guests that use it: checked after
# memory, before disks, so only for this check).
host_stop hostb
host_start hostb "cpu_mask = $FEATURE"
refused chk hostb "$(dest_re "the CPU" of " lacks features the guest uses: $FEATURE")" --live
host_stop hostb
host_start hostb

on hosta truncate -s 4M "$LOCAL/loc.img"
define_on hosta loc disk="$LOCAL/loc.img" cmdline="fill=16 blk=write blkmib=2"
pgr_on hosta start loc >/dev/null
wait_for_log "$(console_of hosta loc)" '^BV1 blocks=512 errors=0 ' 30
refused loc hostb "$(dest_re "cannot open disk $LOCAL/loc.img" on ": No such file or directory")" --live

on hosta cp "$GUEST" "$LOCAL/guest.elf"
define_on hosta kl kernel="$LOCAL/guest.elf" cmdline="fill=16"
pgr_on hosta start kl >/dev/null
wait_for_log "$(console_of hosta kl)" '^V1 ' 30
refused kl hostb "$(dest_re ".*$LOCAL/guest\.elf" "(on)?" ".*No such file or directory")" --live
pgr_on hosta destroy kl >/dev/null

ip -n "${HOST_NS[hosta]}" link add br9 type bridge      # on hosta only
define_on hosta nb mac=52:54:00:88:00:09 bridge=br9 cmdline="fill=16"
pgr_on hosta start nb >/dev/null
wait_for_log "$(console_of hosta nb)" '^V1 ' 30
refused nb hostb "$(dest_re "(interface 0: )?(no )?bridge '?br9'?" "(on)?" ".*")" --live
pgr_on hosta destroy nb >/dev/null

# ---- unsafe disks -------------------------------------------------------------
truncate -s 4M "$SHARED/wb.img"
define_on hosta wb disk="$SHARED/wb.img" cache=writeback cmdline="fill=16 rate=4 blk=mix blkmib=2 blkrate=2048"
pgr_on hosta start wb >/dev/null
wait_for_log "$(console_of hosta wb)" '^BV1 blocks=512 errors=0 ' 30
refused wb hostb "Unsafe migration: migration may lead to data corruption if disks use cache other than none \(disk $SHARED/wb.img uses cache=writeback\); use --unsafe to migrate anyway" --live
out=$(pgr_on hosta migrate --live --unsafe wb hostb 2>&1) || fail "migrate --unsafe: $out"
state_on hostb wb "running (migrated)" 10
state_on hosta wb "shut off (migrated)" 10
con=$(console_of hostb wb)
wait_for_log "$con" '^BV[0-9]+ ' 30 1
hb_grows "$con" 300 20
guest_ok "$(console_of hosta wb)" "$con"
log "wb with --unsafe: moved, $HEARTBEATS heartbeats contiguous, $SWEEPS sweeps and $DISK_PASSES disk passes clean"
pgr_on hostb destroy wb >/dev/null
