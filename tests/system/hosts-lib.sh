# SPDX-License-Identifier: GPL-2.0-only
#
# hosts-lib.sh: several hosts on one machine, for the multi-host tests
# (test-hosts-*.sh); sourced after functions.sh. A host is a network
# namespace with its own pgrd, and looks like a machine to the software:
#
#   switch ns $HOSTS_ID-sw      bridge sw0: the "LAN"; one veth port per host
#   host ns   $HOSTS_ID-NAME    eth0 (the veth's other end) enslaved to br0,
#                               10.88.0.N/24 on br0 (a host whose NIC is
#                               bridged, so guests' taps on br0 share the LAN)
#
# Names resolve through the test's own files: `ip netns exec` bind-mounts
# /etc/netns/NS/hosts and nsswitch.conf ("hosts: files", so no DNS query
# ever leaves) over /etc's; every host knows every other by name, and
# "hostlo" resolves to 127.0.0.1. They are removed when the test ends.
#
# Each pgrd (host_start) runs in its host's namespace under `unshare --uts
# --mount`: its hostname is the host's name, and $LOCAL is its own
# directory ($T/NAME/local bind-mounted there), which no other host sees —
# local storage — while $SHARED is seen by all, like an NFS export.
# Its config: its own host_uuid, relocation_address (its address),
# relocation_port 8002, relocation_hosts_allow ($HOSTS_ALLOW, the test's
# host names by default), plus any lines the test adds. State, socket and
# log under $T/NAME/. `on NAME CMD...` runs a command on a host (in its
# pgrd's namespaces: network, mount, hostname) with PGR_SOCKET set, so
# `pgr_on hosta migrate ...` is pgr typed on hosta.
#
# Also: domain XML for the test guest (host_xml), waiting for states
# (state_on), expected errors (expect_error_on), what the guest lost
# across hosts (guest_ok), an sshd in a host (sshd_start), and pinging a
# guest from a host (pinger_start/pinger_stop). Single-host pgrd tests use
# pgrd-lib.sh instead; docs/testing.md, "Multi-host tests", tells more.
PGRD=$BUILD/pgrd
PGR=$BUILD/pgr
HOSTS_ID=pgrh$$
HOSTS_NET=10.88.0
SWITCH=$HOSTS_ID-sw
SHARED=$T/shared
LOCAL=$T/local
HOSTS=()
declare -A HOST_NS=() HOST_IP=() HOST_PID=() HOST_UUID=() SSHD_PID=() PINGER=()
[ -x "$PGRD" ] && [ -x "$PGR" ] || fail "$PGRD or $PGR missing: run make"
[ "$(id -u)" -eq 0 ] || skip "network namespaces need root"
requires ip nsenter unshare

# ---- the network -----------------------------------------------------------

# hosts_setup NAME...: the switch and one namespace per host, the Nth
# with $HOSTS_NET.N; a hosts file naming them all.
hosts_setup() {
	local name i=0

	mkdir -p "$SHARED" "$LOCAL"
	ip netns add "$SWITCH" || fail "cannot create a network namespace"
	HOSTS_CREATED+=("$SWITCH")
	ip -n "$SWITCH" link add sw0 type bridge
	ip -n "$SWITCH" link set sw0 up
	{
		echo "127.0.0.1 localhost"
		echo "127.0.0.1 hostlo"
		for name; do
			i=$((i + 1))
			echo "$HOSTS_NET.$i $name"
		done
	} >"$T/hosts"
	i=0
	for name; do
		i=$((i + 1))
		host_add "$name" "$HOSTS_NET.$i" "p$i"
	done
}
HOSTS_CREATED=()

host_add() {
	local name=$1 ip=$2 port=$3 ns=$HOSTS_ID-$1

	ip netns add "$ns"
	HOSTS_CREATED+=("$ns")
	HOSTS+=("$name")
	HOST_NS[$name]=$ns
	HOST_IP[$name]=$ip
	HOST_UUID[$name]=$(cat /proc/sys/kernel/random/uuid)
	mkdir -p "/etc/netns/$ns" "$T/$name/local"
	cp "$T/hosts" "/etc/netns/$ns/hosts"
	printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files\n' \
		>"/etc/netns/$ns/nsswitch.conf"
	# Unused while nsswitch says "files"; a test that adds "dns" gets a
	# server that never answers (nothing has .250): a lookup that hangs.
	printf 'nameserver %s.250\noptions timeout:2 attempts:1\n' "$HOSTS_NET" \
		>"/etc/netns/$ns/resolv.conf"
	ip -n "$ns" link set lo up
	ip -n "$ns" link add eth0 type veth peer name "$port" netns "$SWITCH"
	ip -n "$SWITCH" link set "$port" master sw0 up
	# br0 keeps eth0's MAC: a bridge left to choose takes its ports' lowest,
	# so a guest's tap coming or going would change the host's MAC under
	# its neighbours' ARP caches (hostb then cannot reach hosta for a while).
	ip -n "$ns" link add br0 address "$(ip -n "$ns" -br link show eth0 | awk '{ print $3 }')" type bridge
	ip -n "$ns" link set eth0 master br0 up
	ip -n "$ns" addr add "$ip/24" dev br0
	ip -n "$ns" link set br0 up
}

# ---- pgrd on each host -----------------------------------------------------

# host_start NAME [CONFIG_LINE...]: NAME's pgrd, ready for pgr.
# HOSTS_ALLOW (default: every host's name) fills relocation_hosts_allow.
host_start() {
	local name=$1 dir=$T/$1 allow="" h i
	shift

	for h in "${HOSTS[@]}"; do
		allow+="^$h\$ "
	done
	mkdir -p "$dir/state"
	{
		echo "host_uuid = ${HOST_UUID[$name]}"
		echo "relocation_address = ${HOST_IP[$name]}"
		echo "relocation_port = 8002"
		echo "relocation_hosts_allow = ${HOSTS_ALLOW:-$allow}"
		printf '%s\n' "$@"
	} >"$dir/pgrd.conf"
	rm -f "$dir/pgrd.sock"
	ip netns exec "${HOST_NS[$name]}" unshare --uts --mount --propagation private \
		sh -c 'hostname "$1" && mount --bind "$2" "$3" && shift 3 && exec "$@"' \
		sh "$name" "$dir/local" "$LOCAL" \
		"$PGRD" --foreground --config "$dir/pgrd.conf" --state-dir "$dir/state" \
		--socket "$dir/pgrd.sock" </dev/null >>"$dir/pgrd.out" 2>>"$dir/pgrd.err" &
	HOST_PID[$name]=$!
	for ((i = 0; i < 400; i++)); do        # 20 s: a loaded machine is slow
		[ -S "$dir/pgrd.sock" ] && PGR_SOCKET=$dir/pgrd.sock "$PGR" list >/dev/null 2>&1 &&
			return 0
		kill -0 "${HOST_PID[$name]}" 2>/dev/null ||
			fail "pgrd of $name exited: $(tail -n 3 "$dir/pgrd.err")"
		sleep 0.05
	done
	fail "pgrd of $name did not answer in 20 s: $(tail -n 3 "$dir/pgrd.err")"
}

# host_stop NAME: SIGTERM to NAME's pgrd (its domains run on).
host_stop() {
	local pid=${HOST_PID[$1]}

	kill -TERM "$pid"
	wait "$pid" || fail "pgrd of $1 exited with status $? on SIGTERM"
	HOST_PID[$1]=
}

# on NAME CMD...: run CMD on host NAME, with PGR_SOCKET its pgrd's socket.
# In the pgrd's own namespaces when it runs (its $LOCAL, its hostname),
# else in the host's network namespace only.
on() {
	local name=$1
	shift

	if [ -n "${HOST_PID[$name]:-}" ]; then
		PGR_SOCKET=$T/$name/pgrd.sock nsenter -t "${HOST_PID[$name]}" -n -m -u -- "$@"
	else
		PGR_SOCKET=$T/$name/pgrd.sock ip netns exec "${HOST_NS[$name]}" "$@"
	fi
}

# on_exec NAME CMD...: as on, but exec'ing CMD: for a background job
# `(on_exec ...) &` whose pid is CMD's, so the exit trap's kill reaches it.
on_exec() {
	local name=$1
	shift

	export PGR_SOCKET=$T/$name/pgrd.sock
	if [ -n "${HOST_PID[$name]:-}" ]; then
		exec nsenter -t "${HOST_PID[$name]}" -n -m -u -- "$@"
	fi
	exec ip netns exec "${HOST_NS[$name]}" "$@"
}

# pgr_on NAME ARGS...: pgr typed on host NAME.
pgr_on() {
	local name=$1
	shift

	on "$name" "$PGR" "$@"
}

# console_of NAME DOM: the file where NAME's pgrd logs DOM's serial line.
console_of() {
	echo "$T/$1/state/log/$2.console"
}

# host_monitor_pid NAME DOM: DOM's pgr-vmm on host NAME.
host_monitor_pid() {
	"$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' \
		"$T/$1/state/run/$2.json"
}

# state_on NAME DOM "STATE (REASON)" TIMEOUT: wait for domstate --reason on NAME.
state_on() {
	local deadline got

	now_ms
	deadline=$((REPLY + $4 * 1000))
	while got=$(pgr_on "$1" domstate "$2" --reason 2>&1 | head -n 1) && [ "$got" != "$3" ]; do
		now_ms
		[ "$REPLY" -lt "$deadline" ] || fail "$2 on $1 is '$got' after $4 s, expected '$3'"
		sleep 0.05
	done
	[ "$got" = "$3" ] || fail "$2 on $1: domstate: $got"
}

# absent_on NAME DOM: NAME knows no domain DOM.
absent_on() {
	pgr_on "$1" list --all --name | grep -qx "$2" && fail "$2 is still known on $1" || true
}

# expect_error_on NAME REGEX ARGS...: pgr ARGS on NAME fails with status 1
# and one "error: " line matching REGEX; the line is in $ERROR_LINE.
expect_error_on() {
	local name=$1 re=$2 out rc=0
	shift 2

	out=$(pgr_on "$name" "$@" 2>&1 >/dev/null) || rc=$?
	[ "$rc" -eq 1 ] || fail "pgr $* on $name exited $rc, expected 1 ($out)"
	grep -qE -- "^error: $re" <<<"$out" || fail "pgr $* on $name: expected /error: $re/, got: $out"
	ERROR_LINE=$out
}

# ---- guests ----------------------------------------------------------------

# host_xml NAME [KEY=VALUE...]: the test guest as domain XML. Keys: uuid,
# mib (128), cpus (1), cmdline ("fill=32 rate=8"), disk (a path), cache
# (none), mac (a NIC), bridge (the NIC's: br0), kernel (the test guest's path).
host_xml() {
	local name=$1 kv uuid="" mib=128 cpus=1 cmdline="fill=32 rate=8" disk="" cache=none mac=""
	local kernel=$GUEST bridge=br0
	shift

	for kv; do
		case $kv in
		uuid=*) uuid=${kv#*=} ;;
		mib=*) mib=${kv#*=} ;;
		cpus=*) cpus=${kv#*=} ;;
		cmdline=*) cmdline=${kv#*=} ;;
		disk=*) disk=${kv#*=} ;;
		cache=*) cache=${kv#*=} ;;
		mac=*) mac=${kv#*=} ;;
		kernel=*) kernel=${kv#*=} ;;
		bridge=*) bridge=${kv#*=} ;;
		*) fail "host_xml: unknown key in '$kv'" ;;
		esac
	done
	echo "<domain type='kvm'>"
	echo "  <name>$name</name>"
	[ -z "$uuid" ] || echo "  <uuid>$uuid</uuid>"
	echo "  <memory unit='MiB'>$mib</memory>"
	echo "  <vcpu>$cpus</vcpu>"
	echo "  <os>"
	echo "    <type arch='x86_64'>hvm</type>"
	echo "    <kernel>$kernel</kernel>"
	echo "    <cmdline>$cmdline</cmdline>"
	echo "  </os>"
	echo "  <devices>"
	if [ -n "$disk" ]; then
		echo "    <disk type='file' device='disk'>"
		echo "      <driver name='qemu' type='raw' cache='$cache'/>"
		echo "      <source file='$disk'/>"
		echo "      <target dev='vda' bus='virtio'/>"
		echo "    </disk>"
	fi
	if [ -n "$mac" ]; then
		echo "    <interface type='bridge'>"
		echo "      <mac address='$mac'/>"
		echo "      <source bridge='$bridge'/>"
		echo "      <model type='virtio'/>"
		echo "    </interface>"
	fi
	echo "  </devices>"
	echo "</domain>"
}

# define_on NAME DOM [KEY=VALUE...]: define the test guest DOM on NAME.
define_on() {
	local name=$1 dom=$2
	shift 2

	host_xml "$dom" "$@" >"$T/$dom.xml"
	pgr_on "$name" define "$T/$dom.xml" >/dev/null
}

# guest_ok [--boots N] [--gap MS] LOG...: what the guest printed, over its
# consoles on every host it lived on (in order, read as one stream), shows
# that it lost nothing: heartbeats contiguous (in each of N boots, default
# 1), every memory sweep corrupt=0, and no disk error (BLKCORRUPT, BLKERR,
# BLKSTALL, a verify pass with errors). Sets BOOTS, HEARTBEATS, SWEEPS,
# DISK_PASSES. --gap: the guest was stopped for at least MS ms (a cold
# migration): a BLKSTALL of MS ms or more is that pause, not a lost request
# (the guest times a request from its last completion, which came before
# the pause: tests/guest/vblk.c check_stall), and is only logged.
guest_ok() {
	local boots=1 gap="" stalls

	while [ $# -gt 0 ]; do
		case $1 in
		--boots) boots=$2 ;;
		--gap) gap=$2 ;;
		*) break ;;
		esac
		shift 2
	done
	# One serial line, one byte stream: a line the guest was writing when
	# it moved starts in one host's log and ends in the next one's.
	cat "$@" >"$T/guest-joined.log"
	heartbeat_check "$T/guest-joined.log"
	[ "$BOOTS" -eq "$boots" ] || fail "the consoles show $BOOTS boots, expected $boots"
	no_corrupt "$T/guest-joined.log"
	grep -a '^BLKSTALL' "$T/guest-joined.log" >"$T/stalls.txt" || true
	if [ -n "$gap" ] && [ -s "$T/stalls.txt" ]; then
		stalls=$(awk -v gap="$gap" '{ sub(/.*ms=/, ""); if ($0 + 0 < gap) print }' "$T/stalls.txt")
		if [ -z "$stalls" ]; then
			log "the guest counted the ${gap}+ ms pause as a stall: $(tr '\n' ' ' <"$T/stalls.txt")"
			: >"$T/stalls.txt"
		fi
	fi
	if grep -aE '^(BLKCORRUPT|BLKERR)|^BV[0-9]+ .* errors=[1-9]' "$T/guest-joined.log" >&2 ||
		grep -a . "$T/stalls.txt" >&2; then
		fail "the disk workload reported errors"
	fi
	DISK_PASSES=$(grep -acE '^BV[0-9]+ .* errors=0 ' "$T/guest-joined.log") || true
}

# hb_done LOG: the last heartbeat LOG holds whole (a move may have cut the
# last line short: its end is in the next host's log).
hb_done() {
	local h

	if [ -n "$(tail -c 1 "$1")" ]; then
		h=$(head -n -1 "$1" | grep -a '^H[0-9]*$' | tail -n 1) || true
	else
		h=$(grep -a '^H[0-9]*$' "$1" | tail -n 1) || true
	fi
	echo "${h:-H0}" | cut -c2-
}

# hb_grows LOG N TIMEOUT: N more heartbeats in LOG (the guest runs there).
hb_grows() {
	wait_for_log "$1" "^H$(($(hb_last "$1") + $2))\$" "$3"
}

# ---- ssh -------------------------------------------------------------------

# sshd_start NAME PORT: an sshd on NAME's address and PORT, with its own
# host key, authorized_keys whose key may only run `pgr tunnel` to NAME's
# pgrd, and a client config $T/ssh_config (key, known host) for PGR_SSH.
sshd_start() {
	local name=$1 port=$2 dir=$T/ssh i

	requires sshd ssh ssh-keygen
	mkdir -p "$dir" /run/sshd
	[ -e "$dir/id" ] || ssh-keygen -q -t ed25519 -N '' -C pgr-test -f "$dir/id"
	ssh-keygen -q -t ed25519 -N '' -f "$dir/host-$name"
	printf 'command="%s tunnel %s",no-port-forwarding,no-pty,no-agent-forwarding,no-X11-forwarding %s\n' \
		"$PGR" "$T/$name/pgrd.sock" "$(cat "$dir/id.pub")" >>"$dir/authorized_keys-$name"
	cat >"$dir/sshd-$name.conf" <<-EOF
		ListenAddress ${HOST_IP[$name]}
		Port $port
		HostKey $dir/host-$name
		AuthorizedKeysFile $dir/authorized_keys-$name
		PidFile $dir/sshd-$name.pid
		PermitRootLogin forced-commands-only
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		UsePAM no
		StrictModes no
		LogLevel VERBOSE
	EOF
	echo "$name $(cut -d' ' -f1-2 "$dir/host-$name.pub")" >>"$dir/known_hosts"
	echo "[$name]:$port $(cut -d' ' -f1-2 "$dir/host-$name.pub")" >>"$dir/known_hosts"
	cat >"$T/ssh_config" <<-EOF
		Host *
		  User root
		  IdentityFile $dir/id
		  IdentitiesOnly yes
		  UserKnownHostsFile $dir/known_hosts
		  GlobalKnownHostsFile /dev/null
		  StrictHostKeyChecking yes
		  ConnectTimeout 10
	EOF
	ip netns exec "${HOST_NS[$name]}" "$(command -v sshd)" -D -e -f "$dir/sshd-$name.conf" \
		</dev/null >>"$dir/sshd-$name.log" 2>&1 &
	SSHD_PID[$name]=$!
	for ((i = 0; i < 200; i++)); do
		grep -q 'Server listening' "$dir/sshd-$name.log" 2>/dev/null && return 0
		kill -0 "${SSHD_PID[$name]}" 2>/dev/null || fail "sshd on $name: $(tail -n 3 "$dir/sshd-$name.log")"
		sleep 0.05
	done
	fail "sshd on $name did not listen in 10 s"
}

# ---- pinging a guest -------------------------------------------------------

# pinger_start ID HOST IP: ping IP from HOST every 10 ms (ICMP echo) until
# pinger_stop ID, which sets SENT RECV LOST GAP_MS (the longest time
# without a reply) QUIET_MS (since the last reply) and logs "ping: N sent,
# M lost".
pinger_start() {
	rm -f "$T/$1.stop"
	(on_exec "$2" "$PYTHON" - "$3" "$T/$1.stop") >"$T/$1.ping" 2>&1 <<-'EOF' &
		import os, select, socket, struct, sys, time
		dst, stop = sys.argv[1], sys.argv[2]
		def csum(b):
		    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
		    while s >> 16:
		        s = (s & 0xffff) + (s >> 16)
		    return ~s & 0xffff
		s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
		ident, sent, got, seq = os.getpid() & 0xffff, {}, [], 0
		start = last = time.time()
		deadline = start + 150
		while not os.path.exists(stop) and time.time() < deadline:
		    now = time.time()
		    if now - last >= 0.01 or seq == 0:
		        seq += 1
		        hdr = struct.pack('!BBHHH', 8, 0, 0, ident, seq & 0xffff) + b'pgr-ping'
		        s.sendto(struct.pack('!BBHHH', 8, 0, csum(hdr), ident, seq & 0xffff) + b'pgr-ping', (dst, 0))
		        sent[seq & 0xffff] = last = now
		    r, _, _ = select.select([s], [], [], max(0, last + 0.01 - time.time()))
		    if not r:
		        continue
		    data, addr = s.recvfrom(2048)
		    icmp = data[(data[0] & 15) * 4:]
		    if addr[0] == dst and icmp[0] == 0 and struct.unpack('!H', icmp[4:6])[0] == ident:
		        q = struct.unpack('!H', icmp[6:8])[0]
		        if q in sent:
		            sent.pop(q)
		            got.append(time.time())
		end = time.time()
		times = [start] + got + [end]
		gap = max(b - a for a, b in zip(times, times[1:]))
		print('SENT=%d RECV=%d LOST=%d GAP_MS=%d QUIET_MS=%d' % (
		    seq, len(got), seq - len(got), gap * 1000, (end - times[-2]) * 1000))
	EOF
	PINGER[$1]=$!
}

pinger_stop() {
	touch "$T/$1.stop"
	wait "${PINGER[$1]}" || fail "pinger $1: $(cat "$T/$1.ping")"
	eval "$(tail -n 1 "$T/$1.ping")"
	log "ping: $SENT sent, $LOST lost (longest gap $GAP_MS ms, last reply $QUIET_MS ms before the end)"
}

# ---- the end ---------------------------------------------------------------

# sanitizer_reports: after a passing test, each pgrd stops as it should
# (SIGTERM: under ASan its leaks are reported then) and no pgrd or monitor
# log holds a sanitizer's report (make check-asan). Fails if one does.
sanitizer_reports() {
	local name pid i stat f bad=""

	for name in "${HOSTS[@]}"; do
		pid=${HOST_PID[$name]:-}
		[ -n "$pid" ] || continue
		kill -TERM "$pid" 2>/dev/null
		for ((i = 0; i < 200; i++)); do
			stat=$(cat "/proc/$pid/stat" 2>/dev/null) && [[ $stat != *") Z "* ]] || break
			sleep 0.05
		done
	done
	for f in "$T"/*/pgrd.err "$T"/*/state/log/*.log; do
		[ -e "$f" ] || continue
		grep -HE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$f" >&2 && bad=1
	done
	[ -z "$bad" ] || echo "FAIL: a sanitizer reported errors (above)" >&2
	[ -z "$bad" ]
}

# Every monitor (they run in their own sessions), every pgrd and sshd, the
# namespaces and their /etc/netns files. A failed test shows each pgrd's
# and monitor's last lines. Returns the test's status (a sanitizer's
# report fails a test that passed).
hosts_teardown() {
	local rc=$1 name f pid

	if [ "$rc" -eq 0 ] && ! sanitizer_reports; then
		rc=1
	fi
	for name in "${HOSTS[@]}"; do
		for f in "$T/$name"/state/run/*.json; do
			[ -e "$f" ] || continue
			pid=$(host_monitor_pid "$name" "$(basename "$f" .json)") || continue
			kill -9 -- "-$pid" "$pid" 2>/dev/null
		done
		for pid in "${HOST_PID[$name]:-}" "${SSHD_PID[$name]:-}"; do
			[ -n "$pid" ] || continue
			kill -9 "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
		done
	done
	# Anything else of this test's (a monitor with no runtime record yet),
	# by its command line naming $T, one pid at a time.
	for pid in $(pgrep -f -- "$T/"); do
		[ "$pid" = $$ ] || [ "$pid" = "$BASHPID" ] || kill -9 "$pid" 2>/dev/null
	done
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
		for name in "${HOSTS[@]}"; do
			for f in "$T/$name/pgrd.err" "$T/$name"/state/log/*.log "$T/ssh/sshd-$name.log"; do
				[ -s "$f" ] && { echo "--- ${f#"$T"/}:"; tail -n 12 "$f"; }
			done
		done >&2
	fi
	for f in "${HOSTS_CREATED[@]}"; do
		ip netns del "$f" 2>/dev/null
		rm -rf "/etc/netns/$f"
	done
	return "$rc"
}

eval "functions_cleanup() $(declare -f cleanup | tail -n +2)"
cleanup() {
	local rc=$?

	set +e
	hosts_teardown "$rc"
	rc=$?
	(exit "$rc")
	functions_cleanup
}
