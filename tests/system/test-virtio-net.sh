#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# test-virtio-net: the test guest on a virtio-net NIC answers the network.
# Everything lives in two network namespaces made here and deleted at the
# end: "host" holds a bridge, the monitor (run inside it, so its tap is
# created there and joins the bridge with --net tap=...,bridge=...) and
# one end of a veth pair; "peer" holds the other end with 10.0.0.1/24.
# Checked: the guest's gratuitous ARP at start reaches the bridge; pings
# from the peer are all answered with correct checksums (small and 1400-
# byte ones); UDP echo (port 7) returns each datagram unchanged; the guest
# pings the peer ("ping 10.0.0.1" on its console); the counters (the
# guest's STATS, query-net) agree that frames went both ways.
# Migration with a NIC: test-virtio-migrate.sh.
set -euo pipefail
. "$(dirname "$0")/functions.sh"
requires_kvm
requires ip tcpdump
[ "$(id -u)" -eq 0 ] || skip "network namespaces need root"

NS=pgr-vnet-$$-h
PEER=pgr-vnet-$$-p
GUEST_IP=10.0.0.2
PEER_IP=10.0.0.1
MAC=52:54:00:12:34:56

. "$(dirname "$0")/netns-lib.sh"

# ns_ping COUNT INTERVAL_S SIZE: ICMP echo from the peer to the guest; the
# replies' IP and ICMP checksums and payload are checked. Prints shell
# variables: SENT RECV BAD RTT_MIN RTT_AVG RTT_MAX (us).
ns_ping() {
	ip netns exec "$PEER" "$PYTHON" - "$GUEST_IP" "$@" <<-'EOF'
		import os, select, socket, struct, sys, time
		dst, count, interval, size = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
		def csum(b):
		    if len(b) % 2:
		        b += b'\0'
		    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
		    while s >> 16:
		        s = (s & 0xffff) + (s >> 16)
		    return ~s & 0xffff
		s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
		ident, sent, rtts, bad = os.getpid() & 0xffff, {}, [], 0
		payload = bytes(i & 0xff for i in range(size))
		def receive(until):
		    global bad
		    while True:
		        r, _, _ = select.select([s], [], [], max(0, until - time.time()))
		        if not r:
		            return
		        data, addr = s.recvfrom(65536)
		        ihl = (data[0] & 15) * 4
		        icmp = data[ihl:]
		        if addr[0] != dst or icmp[0] != 0 or struct.unpack('!H', icmp[4:6])[0] != ident:
		            continue
		        seq = struct.unpack('!H', icmp[6:8])[0]
		        if csum(data[:ihl]) or csum(icmp) or icmp[8:] != payload or seq not in sent:
		            bad += 1
		            continue
		        rtts.append((time.time() - sent.pop(seq)) * 1e6)
		for seq in range(1, count + 1):
		    hdr = struct.pack('!BBHHH', 8, 0, 0, ident, seq)
		    pkt = struct.pack('!BBHHH', 8, 0, csum(hdr + payload), ident, seq) + payload
		    sent[seq] = time.time()
		    s.sendto(pkt, (dst, 0))
		    receive(time.time() + interval)
		receive(time.time() + 0.5)
		print('SENT=%d RECV=%d BAD=%d' % (count, len(rtts), bad))
		if rtts:
		    print('RTT_MIN=%d RTT_AVG=%d RTT_MAX=%d' % (min(rtts), sum(rtts) / len(rtts), max(rtts)))
		else:
		    print('RTT_MIN=- RTT_AVG=- RTT_MAX=-')
	EOF
}

# udp_echo SIZE...: one datagram of each size to port 7; each must come back
# unchanged. Prints the sizes echoed, or fails.
udp_echo() {
	ip netns exec "$PEER" "$PYTHON" - "$GUEST_IP" "$@" <<-'EOF'
		import os, socket, sys
		s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
		s.settimeout(2)
		for n in map(int, sys.argv[2:]):
		    msg = os.urandom(n)
		    s.sendto(msg, (sys.argv[1], 7))
		    try:
		        got, addr = s.recvfrom(65536)
		    except socket.timeout:
		        sys.exit('no UDP echo for %d bytes' % n)
		    if got != msg or addr != (sys.argv[1], 7):
		        sys.exit('UDP echo of %d bytes came back as %d bytes from %s' % (n, len(got), addr))
		print(' '.join(sys.argv[2:]))
	EOF
}

net_setup
ip netns exec "$NS" tcpdump -l -n -e -i br0 'arp or rarp' >"$T/arp.txt" 2>"$T/tcpdump.err" &
wait_for_log "$T/tcpdump.err" 'listening on' 10

start_vmm g --kernel "$GUEST" --cmdline "fill=16" --memory 128M --cpus 1 \
	--serial "unix:$T/g.serial" --paused --net "tap=pgt0,mac=$MAC,bridge=br0"
console_attach g "$T/g.serial"
qmp "$T/g.sock" '{"execute":"cont"}' >/dev/null
wait_for_log "$T/g.log" "^NET up mac=$MAC ip=$GUEST_IP\$" 10
wait_for_log "$T/arp.txt" "^.* $MAC > ff:ff:ff:ff:ff:ff, .*Request who-has $GUEST_IP tell $GUEST_IP" 5
log "guest NIC up ($(grep -a '^VIRTIO virtio-net' "$T/g.log")); its gratuitous ARP seen on the bridge"

eval "$(ns_ping 50 0.01 56)"
[ "$RECV" -eq "$SENT" ] && [ "$BAD" -eq 0 ] || fail "ping: $RECV of $SENT answered, $BAD bad"
log "ping from the peer: $RECV/$SENT answered, rtt min/avg/max $RTT_MIN/$RTT_AVG/$RTT_MAX us"
eval "$(ns_ping 20 0.01 1400)"
[ "$RECV" -eq "$SENT" ] && [ "$BAD" -eq 0 ] || fail "1400-byte ping: $RECV of $SENT answered, $BAD bad"
log "1400-byte pings: $RECV/$SENT answered, rtt avg $RTT_AVG us"

sizes=$(udp_echo 1 18 512 1472) || fail "UDP echo: $sizes"
log "UDP echo on port 7: datagrams of $sizes bytes returned unchanged"

console_send g "ping $PEER_IP"
wait_for_log "$T/g.log" "^PONG ip=$PEER_IP seq=1 us=[0-9]+\$" 5
console_send g "ping $PEER_IP"
wait_for_log "$T/g.log" "^PONG ip=$PEER_IP seq=2 us=[0-9]+\$" 5
console_send g "ping 10.0.0.99"
wait_for_log "$T/g.log" '^PING timeout ip=10.0.0.99$' 5
log "the guest pings the peer: rtt $(grep -a "^PONG" "$T/g.log" | sed -E "s/.*us=([0-9]+)/\1/" | tr "\n" " ")us;" \
	"an absent address times out"

console_send g stats
wait_for_log "$T/g.log" '^STATS .* corrupt=0 rx=[0-9]+ tx=[0-9]+$' 5
st=$(grep -a '^STATS' "$T/g.log" | tail -n 1)
rx=$(sed -E 's/.* rx=([0-9]+) .*/\1/' <<<"$st")
tx=$(sed -E 's/.* tx=([0-9]+)$/\1/' <<<"$st")
[ "$rx" -ge 75 ] && [ "$tx" -ge 75 ] || fail "guest counters too low: $st"
mon_rx=$(qmp "$T/g.sock" '{"execute":"query-net"}' return.0.stats.rx_packets)
mon_tx=$(qmp "$T/g.sock" '{"execute":"query-net"}' return.0.stats.tx_packets)
[ "$mon_rx" -ge "$rx" ] && [ "$mon_tx" -ge "$tx" ] ||
	fail "query-net rx_packets=$mon_rx tx_packets=$mon_tx vs the guest's rx=$rx tx=$tx"
no_corrupt "$T/g.log"
log "counters: guest rx=$rx tx=$tx; monitor rx_packets=$mon_rx tx_packets=$mon_tx"
