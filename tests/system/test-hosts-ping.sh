#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# test-hosts-ping: the seeds' experiment (Xen's chapter pings a domain
# while `xm migrate --live` moves it). The guest's NIC is a tap on br0 of
# the host it runs on; every host's br0 is bridged to one LAN (hosts-lib.sh),
# so the guest keeps its address wherever it runs. hostc pings it every
# 10 ms while it migrates live from hosta to hostb and back; after each
# move it announces itself (the monitor's RARP, the guest's gratuitous ARP
# on ANNOUNCE), the LAN learns where it is, and the pings are answered
# from the new host. Logged: "ping: N sent, M lost"; the test fails only
# if the pings never resume (or the guest lost anything: heartbeats
# contiguous across the hosts, sweeps clean).
set -euo pipefail
. "$(dirname "$0")/functions.sh"
requires_kvm
requires tcpdump
. "$(dirname "$0")/hosts-lib.sh"

MAC=52:54:00:88:00:64
GUEST_IP=$HOSTS_NET.100

# announced FROM: RARP or gratuitous ARP from the guest's MAC seen at hostc
# past line FROM of the capture; prints what was seen.
announced() {
	local rarp garp deadline

	now_ms
	deadline=$((REPLY + 5000))
	while :; do
		rarp=$(tail -n +$(($1 + 1)) "$T/arp.txt" | grep -ac "$MAC > ff:ff:ff:ff:ff:ff, ethertype Reverse ARP") || true
		garp=$(tail -n +$(($1 + 1)) "$T/arp.txt" | grep -ac "$MAC > ff:ff:ff:ff:ff:ff, .*Request who-has $GUEST_IP tell $GUEST_IP") || true
		[ "$((rarp + garp))" -gt 0 ] && break
		now_ms
		[ "$REPLY" -lt "$deadline" ] || fail "hostc saw no RARP or gratuitous ARP from $MAC after the move"
		sleep 0.1
	done
	echo "$rarp RARP, $garp gratuitous ARP"
}

# move_pinged FROM TO: live-migrate the guest while hostc pings it.
move_pinged() {
	local from=$1 to=$2 before seen

	pinger_start "p-$to" hostc "$GUEST_IP"
	sleep 1
	before=$(wc -l <"$T/arp.txt")
	pgr_on "$from" migrate --live web "$to" >"$T/mig.out" 2>&1 || fail "migrate to $to: $(cat "$T/mig.out")"
	state_on "$to" web "running (migrated)" 10
	if [ "$from" = hosta ]; then
		state_on hosta web "shut off (migrated)" 10    # defined there
	else
		absent_on "$from" web                         # transient there: gone
	fi
	seen=$(announced "$before")
	sleep 1
	pinger_stop "p-$to"
	[ "$RECV" -gt 0 ] && [ "$QUIET_MS" -lt 500 ] ||
		fail "pings did not resume after the move to $to ($RECV of $SENT answered, none for the last $QUIET_MS ms)"
	log "moved $from -> $to under ping: answered again from $to; announced: $seen;" \
		"the guest said ANNOUNCE $(grep -ac '^ANNOUNCE$' "$(console_of "$to" web)") time(s) there"
}

hosts_setup hosta hostb hostc
host_start hosta
host_start hostb
ip netns exec "${HOST_NS[hostc]}" tcpdump -l -n -e -i br0 'arp or rarp' >"$T/arp.txt" 2>"$T/tcpdump.err" &
wait_for_log "$T/tcpdump.err" 'listening on' 10

define_on hosta web mib=256 mac="$MAC" cmdline="fill=64 rate=32 ip=$GUEST_IP"
pgr_on hosta start web >/dev/null
CON_A=$(console_of hosta web)
CON_B=$(console_of hostb web)
wait_for_log "$CON_A" "^NET up mac=$MAC ip=$GUEST_IP\$" 20
wait_for_log "$CON_A" '^V2 ' 30
on hostc ping -c 3 -i 0.2 -W 2 "$GUEST_IP" >"$T/ping0.txt" || fail "hostc cannot ping the guest on hosta: $(tail -n 2 "$T/ping0.txt")"
log "web on hosta answers hostc's pings at $GUEST_IP ($(tail -n 1 "$T/ping0.txt"))"

move_pinged hosta hostb
a1=$(stat -c %s "$CON_A")
hb_grows "$CON_B" 300 20
guest_ok "$CON_A" "$CON_B"

move_pinged hostb hosta
hb_grows "$CON_A" 300 20
head -c "$a1" "$CON_A" >"$T/a1.log"
tail -c +$((a1 + 1)) "$CON_A" >"$T/a2.log"
guest_ok "$T/a1.log" "$CON_B" "$T/a2.log"
on hostc ping -c 3 -i 0.2 -W 2 "$GUEST_IP" >/dev/null || fail "hostc cannot ping the guest back on hosta"
log "there and back: $HEARTBEATS heartbeats contiguous, $SWEEPS sweeps clean"
pgr_on hosta destroy web >/dev/null
