#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# test-virtio-migrate: a guest with a disk and a NIC, busy on both, is
# saved and restored, then live-migrated, and loses nothing. The guest runs
# blk=mix (random writes and sequential verify passes on a shared disk
# image, every read checked against its generation table in guest RAM)
# and the memory workload, while a peer pings it every 10 ms. Each monitor
# runs in the "host" network namespace with its own tap on one bridge (the
# restored and the destination monitor are given --net tap=OTHER --disk
# path=SAMEFILE). Checked after each move: heartbeats contiguous over all
# the serial logs, no CORRUPT, BLKCORRUPT, BLKERR or BLKSTALL, whole
# verify passes (BV) of the disk on the new monitor, pings answered again
# (longest gap and lost count logged), and the move announced on the
# bridge (the monitor's RARP and/or the guest's gratuitous ARP on
# ANNOUNCE). Namespaces as in test-virtio-net.sh.
set -euo pipefail
. "$(dirname "$0")/functions.sh"
. "$(dirname "$0")/migration-lib.sh"
requires_kvm
requires ip tcpdump
[ "$(id -u)" -eq 0 ] || skip "network namespaces need root"

NS=pgr-vmig-$$-h
PEER=pgr-vmig-$$-p
GUEST_IP=10.0.0.2
PEER_IP=10.0.0.1
MAC=52:54:00:12:34:56
DISK=$T/disk.img
CMDLINE="fill=32 rate=20 blk=mix blkmib=4 blkrate=4096 blkseed=3"

. "$(dirname "$0")/netns-lib.sh"

# pinger_start NAME: ping the guest from the peer every 10 ms until
# pinger_stop NAME, which sets SENT RECV LOST GAP_MS (the longest time
# without a reply) RTT_MAX_US.
declare -A PINGER=()
pinger_start() {
	rm -f "$T/$1.stop"
	ip netns exec "$PEER" "$PYTHON" - "$GUEST_IP" "$T/$1.stop" >"$T/$1.ping" 2>&1 <<-'EOF' &
		import os, select, socket, struct, sys, time
		dst, stop = sys.argv[1], sys.argv[2]
		def csum(b):
		    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
		    while s >> 16:
		        s = (s & 0xffff) + (s >> 16)
		    return ~s & 0xffff
		s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
		ident, sent, got, rtt_max, seq = os.getpid() & 0xffff, {}, [], 0, 0
		start = last = time.time()
		deadline = start + 120
		while not os.path.exists(stop) and time.time() < deadline:
		    now = time.time()
		    if now - last >= 0.01 or seq == 0:
		        seq = (seq + 1) & 0xffff
		        hdr = struct.pack('!BBHHH', 8, 0, 0, ident, seq) + b'pgr-ping'
		        s.sendto(struct.pack('!BBHHH', 8, 0, csum(hdr), ident, seq) + b'pgr-ping', (dst, 0))
		        sent[seq] = last = now
		    r, _, _ = select.select([s], [], [], max(0, last + 0.01 - time.time()))
		    if not r:
		        continue
		    data, addr = s.recvfrom(2048)
		    icmp = data[(data[0] & 15) * 4:]
		    if addr[0] == dst and icmp[0] == 0 and struct.unpack('!HH', icmp[4:8]) [0] == ident:
		        q = struct.unpack('!H', icmp[6:8])[0]
		        if q in sent:
		            t = time.time()
		            rtt_max = max(rtt_max, t - sent.pop(q))
		            got.append(t)
		nsent = len(got) + len(sent)
		times = [start] + got + [time.time()]
		gap = max(b - a for a, b in zip(times, times[1:]))
		print('SENT=%d RECV=%d LOST=%d GAP_MS=%d RTT_MAX_US=%d' % (
		    nsent, len(got), len(sent), gap * 1000, rtt_max * 1e6))
	EOF
	PINGER[$1]=$!
}

pinger_stop() {
	touch "$T/$1.stop"
	wait "${PINGER[$1]}" || fail "pinger $1: $(cat "$T/$1.ping")"
	eval "$(tail -n 1 "$T/$1.ping")"
}

# disk_clean LOG: the disk workload reported nothing wrong. BLKSTALL: the
# guest's requests sat in the ring for 2 s after the move, unprocessed
# until it notified the queue again.
disk_clean() {
	if grep -aE '^(BLKCORRUPT|BLKERR)|^BV[0-9]+ .* errors=[1-9]' "$1" >&2; then
		fail "${1##*/}: the disk workload reported errors"
	fi
	if grep -a '^BLKSTALL' "$1" >&2; then
		fail "${1##*/}: disk requests posted before the move were not processed after it"
	fi
}

# passes_after_move LOG: two BV lines here, so one whole verify pass of the
# disk ran on this monitor.
passes_after_move() {
	wait_for_log "$1" '^BV[0-9]+ blocks=[0-9]+ errors=0 ' 30 2
}

# announced FROM: RARP or ARP from the guest's MAC on the bridge, past line
# FROM of the capture; prints what was seen.
announced() {
	local rarp garp deadline

	now_ms
	deadline=$((REPLY + 5000))
	while :; do
		rarp=$(tail -n +$(($1 + 1)) "$T/arp.txt" | grep -ac "^.* $MAC > ff:ff:ff:ff:ff:ff, ethertype Reverse ARP") || true
		garp=$(tail -n +$(($1 + 1)) "$T/arp.txt" | grep -acE "^.* $MAC > ff:ff:ff:ff:ff:ff, .*Request who-has $GUEST_IP tell $GUEST_IP") || true
		[ "$((rarp + garp))" -gt 0 ] && break
		now_ms
		[ "$REPLY" -lt "$deadline" ] || fail "no RARP or gratuitous ARP from $MAC on the bridge after the move"
		sleep 0.1
	done
	echo "$rarp RARP, $garp gratuitous ARP"
}

net_setup
truncate -s 8M "$DISK"
ip netns exec "$NS" tcpdump -l -n -e -i br0 'arp or rarp' >"$T/arp.txt" 2>"$T/tcpdump.err" &
wait_for_log "$T/tcpdump.err" 'listening on' 10

start_vmm src --kernel "$GUEST" --cmdline "$CMDLINE" --memory 256M --cpus 1 \
	--net "tap=pgmA,mac=$MAC,bridge=br0" --disk "path=$DISK"
mig_events src
wait_for_log "$T/src.log" '^NET up ' 10
wait_for_log "$T/src.log" '^BV1 blocks=1024 errors=0 ' 30
log "source: $(grep -a '^BW1' "$T/src.log"), first verify pass clean; pinging every 10 ms"

# ---- save and restore ------------------------------------------------------
pinger_start p1
sleep 1
before=$(wc -l <"$T/arp.txt")
migrate src "file:$T/vm.save"
wait_final src completed 30
expect_exit src 0 10
saved=$MIG_SUMMARY
start_dest rst "file:$T/vm.save" --net "tap=pgmB,mac=$MAC,bridge=br0" --disk "path=$DISK"
passes_after_move "$T/rst.log"
seen=$(announced "$before")
sleep 0.5
pinger_stop p1
[ "$RECV" -gt 0 ] && [ "$LOST" -lt "$SENT" ] || fail "save/restore: no ping answered"
hb_grows "$T/rst.log" 50 10
guest_intact "$T/src.log" "$T/rst.log"
disk_clean "$T/src.log"
disk_clean "$T/rst.log"
log "save ($saved) + restore: guest intact, disk passes clean after it; pings $RECV/$SENT," \
	"$LOST lost, longest gap $GAP_MS ms (includes the save and the restore); announced: $seen;" \
	"guest $(grep -ac '^ANNOUNCE$' "$T/rst.log") ANNOUNCE"

# ---- live migration --------------------------------------------------------
start_dest dst "unix:$T/mig.sock" --net "tap=pgmA,mac=$MAC,bridge=br0" --disk "path=$DISK"
pinger_start p2
sleep 1
before=$(wc -l <"$T/arp.txt")
migrate_ok rst dst "unix:$T/mig.sock"
live=$MIG_SUMMARY
passes_after_move "$T/dst.log"
seen=$(announced "$before")
sleep 0.5
pinger_stop p2
[ "$LOST" -le 50 ] || fail "live migration: $LOST of $SENT pings lost (longest gap $GAP_MS ms)"
hb_grows "$T/dst.log" 50 10
guest_intact "$T/src.log" "$T/rst.log" "$T/dst.log"
disk_clean "$T/dst.log"
qmp "$T/dst.sock" '{"execute":"quit"}' >/dev/null
expect_exit dst 0 10
log "live migration ($live): guest intact ($SWEEPS memory sweeps), disk passes clean;" \
	"pings $RECV/$SENT, $LOST lost, longest gap $GAP_MS ms, max rtt $RTT_MAX_US us;" \
	"announced: $seen; guest $(grep -ac '^ANNOUNCE$' "$T/dst.log") ANNOUNCE"
