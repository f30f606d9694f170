# SPDX-License-Identifier: GPL-2.0-only
#
# netns-lib.sh: the two-namespace network the virtio-net tests share,
# sourced after functions.sh. "host" ($NS) holds a bridge br0, the
# monitors (run inside it through a wrapper that execs them there, same
# pid, so their taps are created there and join br0 with
# --net tap=...,bridge=br0) and one end of a veth pair; "peer" ($PEER)
# holds the other end with $PEER_IP/24. Everything goes with the
# namespaces when the test ends. The caller sets NS, PEER and PEER_IP.
REAL_VMM=$VMM

eval "functions_cleanup() $(declare -f cleanup | tail -n +2)"
cleanup() {
	local rc=$?

	set +e
	ip netns del "$NS" 2>/dev/null
	ip netns del "$PEER" 2>/dev/null
	(exit "$rc")
	functions_cleanup
}

net_setup() {
	ip netns add "$NS" || skip "cannot create a network namespace"
	ip netns add "$PEER"
	ip -n "$NS" link set lo up
	ip -n "$PEER" link set lo up
	ip -n "$NS" link add br0 type bridge
	ip -n "$NS" link set br0 up
	ip -n "$NS" link add vh type veth peer name vp netns "$PEER"
	ip -n "$NS" link set vh master br0 up
	ip -n "$PEER" addr add "$PEER_IP/24" dev vp
	ip -n "$PEER" link set vp up
	printf '#!/bin/sh\nexec ip netns exec %s %s "$@"\n' "$NS" "$REAL_VMM" >"$T/vmm-in-ns"
	chmod +x "$T/vmm-in-ns"
	VMM=$T/vmm-in-ns
}
