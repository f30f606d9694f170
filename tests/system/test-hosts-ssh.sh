#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# test-hosts-ssh: pgr and pgrd reach another host through ssh, as the
# seeds' `virsh --connect qemu+ssh://kvm2/system` and `virsh migrate --live
# ... qemu+ssh://kvm2/system` do. Each host (a network namespace with its
# own pgrd: hosts-lib.sh) runs an sshd the test starts, with its own host
# key, port and authorized_keys whose key may only run `pgr tunnel` to
# that host's pgrd (a forced command: asking for another command still
# gets the tunnel). PGR_SSH="ssh -F CONFIG" points the client and the
# source pgrd at the test's key and known hosts.
#   pgr -c pgr+ssh://hostb:2022/ list, hostname, define, undefine (and the
#   URI naming the remote socket); an sshd that is not there: one error line.
#   migrate --offline --persistent and migrate --live --persistent over
#   pgr+ssh://, there and back, the guest dirtying memory and doing disk
#   I/O: heartbeats contiguous across the hosts, sweeps and disk passes clean.
set -euo pipefail
. "$(dirname "$0")/functions.sh"
requires_kvm
. "$(dirname "$0")/hosts-lib.sh"

DISK=$SHARED/sx.img

hosts_setup hosta hostb
export PGR_SSH="ssh -F $T/ssh_config"
host_start hosta
host_start hostb
sshd_start hosta 2022
sshd_start hostb 2022
B=pgr+ssh://hostb:2022/

# ---- pgr -c pgr+ssh:// --------------------------------------------------------
[ "$(pgr_on hosta -c "$B" hostname)" = hostb ] || fail "hostname over ssh: $(pgr_on hosta -c "$B" hostname 2>&1)"
host_xml sy cmdline="fill=16" >"$T/sy.xml"
out=$(pgr_on hosta -c "$B" define "$T/sy.xml")
[ "$out" = "Domain sy defined from $T/sy.xml" ] || fail "define over ssh said: $out"
pgr_on hosta -c "$B" list --all | grep -qE '^ -  +sy +shut off$' || fail "list over ssh: $(pgr_on hosta -c "$B" list --all)"
pgr_on hostb list --all | grep -qE '^ -  +sy +shut off$' || fail "hostb does not list sy"
pgr_on hosta -c "pgr+ssh://hostb:2022$T/hostb/pgrd.sock" undefine sy >/dev/null
absent_on hostb sy
log "pgr -c $B: hostname, define, list --all, undefine (with the socket in the URI too)"
reply=$(on hosta ssh -F "$T/ssh_config" -p 2022 hostb echo hello </dev/null) || true
grep -q '"pgrd"' <<<"$reply" && ! grep -q hello <<<"$reply" ||
	fail "the key ran something other than the tunnel: $reply"
expect_error_on hosta ".*" -c pgr+ssh://hostb:2099/ list
grep -qi "refused\|ssh" <<<"$ERROR_LINE" || fail "no sshd: $ERROR_LINE"
[ "$(wc -l <<<"$ERROR_LINE")" -eq 1 ] || fail "no sshd: more than one line: $ERROR_LINE"
log "the key runs only the tunnel; no sshd there: ${ERROR_LINE#error: }"

# ---- migrate over ssh ----------------------------------------------------------
truncate -s 8M "$DISK"
define_on hosta sx mib=256 disk="$DISK" cmdline="fill=64 rate=32 blk=mix blkmib=4 blkrate=4096"
pgr_on hosta start sx >/dev/null
CON_A=$(console_of hosta sx)
CON_B=$(console_of hostb sx)
wait_for_log "$CON_A" '^BV1 blocks=1024 errors=0 ' 30
wait_for_log "$CON_A" '^V2 ' 30

out=$(pgr_on hosta migrate --offline --persistent sx "$B" 2>&1) || fail "migrate --offline over ssh: $out"
[ "$(pgr_on hostb domstate sx)" = "shut off" ] || fail "hostb: sx is $(pgr_on hostb domstate sx --reason)"
[ "$(pgr_on hostb domuuid sx)" = "$(pgr_on hosta domuuid sx)" ] || fail "the UUID changed"
state_on hosta sx "running (booted)" 1
log "migrate --offline --persistent sx $B: defined on hostb, running on hosta"

out=$(pgr_on hosta migrate --live --persistent sx "$B" 2>&1) || fail "migrate --live over ssh: $out"
state_on hosta sx "shut off (migrated)" 10
state_on hostb sx "running (migrated)" 10
a1=$(stat -c %s "$CON_A")
hb_grows "$CON_B" 300 20
wait_for_log "$CON_B" '^BV[0-9]+ blocks=[0-9]+ errors=0 ' 30 1
guest_ok "$CON_A" "$CON_B"
log "migrate --live --persistent sx $B: $HEARTBEATS heartbeats contiguous, $SWEEPS sweeps, $DISK_PASSES disk passes"

out=$(pgr_on hostb migrate --live sx pgr+ssh://hosta:2022/ 2>&1) || fail "migrate back over ssh: $out"
state_on hostb sx "shut off (migrated)" 10
state_on hosta sx "running (migrated)" 10
hb_grows "$CON_A" 300 20
wait_for_log "$CON_A" '^BV[0-9]+ blocks=[0-9]+ errors=0 ' 30 $(($(grep -ac '^BV' "$CON_A") + 1))
head -c "$a1" "$CON_A" >"$T/a1.log"
tail -c +$((a1 + 1)) "$CON_A" >"$T/a2.log"
guest_ok "$T/a1.log" "$CON_B" "$T/a2.log"
log "and back over pgr+ssh://hosta:2022/: $HEARTBEATS heartbeats contiguous over three runs," \
	"$SWEEPS sweeps, $DISK_PASSES disk passes clean"
grep -q 'Accepted publickey' "$T/ssh/sshd-hostb.log" || fail "hostb's sshd logged no login"
pgr_on hosta destroy sx >/dev/null
