#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# test-pgr-remote: pgr's side of remote connections and migration, on one
# host (docs/pgr.md, docs/relocation.md).
#   pgr+ssh://: an "ssh" ($PGR_SSH, a script here) that checks the options
#   pgr gives it, drops them and the host, and runs the remote command
#   locally — so `pgr tunnel` and the client's socketpair are exercised end
#   to end (a real sshd: test-hosts-*.sh); list, define, start, console,
#   uri through it; an ssh that fails, a missing remote socket, no ssh at
#   all: one clear error line each. `pgr tunnel` by itself.
#   pgr+tcp://: a pgrd whose relocation server listens on 127.0.0.1 and a
#   free port; a refused port; a server whose allow-list refuses us (its
#   one error line). $PGR_DEFAULT_URI and -c over it; `pgr uri` canonical.
#   migrate: argument errors (exclusive options, storage copy, numbers, the
#   destination URI), then for real to a second pgrd (another host UUID)
#   on pgr+unix:// — --verbose draws progress ending at 100 %, through
#   ssh; Ctrl-C cancels (the guest runs on at the source); domjobinfo
#   without a job says None, during one shows the figures; domjobabort.
#   --help for each new command.
set -euo pipefail
. "$(dirname "$0")/functions.sh"
requires_kvm

. "$(dirname "$0")/pgrd-lib.sh"

SOCK=$PGR_SOCKET
SSH_URI=pgr+ssh://localhost$SOCK

# The stand-in for ssh: the options pgr passes go to $T/ssh.args, then
# "-o X", "-p N", "-l U", "-F FILE", "-T" and the host are dropped and the rest (pgr
# tunnel [SOCKET]) runs here, with $BUILD's pgr first in PATH.
cat >"$T/ssh" <<EOF
#!/bin/bash
echo "\$*" >>"$T/ssh.args"
while [ \$# -gt 0 ]; do
	case \$1 in
	-o|-p|-l|-F) shift 2 ;;
	-*) shift ;;
	*) shift; break ;;
	esac
done
PATH="$BUILD:\$PATH" exec "\$@"
EOF
cat >"$T/ssh-fail" <<'EOF'
#!/bin/bash
echo "ssh: connect to host nohost port 22: Connection refused" >&2
exit 255
EOF
chmod +x "$T/ssh" "$T/ssh-fail"
export PGR_SSH=$T/ssh

# free_port: a TCP port nobody listens on now, in $REPLY.
free_port() {
	REPLY=$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
}

# pgrd2_start NAME ARGS...: another pgrd (state, socket and log under
# $T/NAME), with its own host UUID; killed by functions.sh's cleanup.
pgrd2_start() {
	local name=$1 i
	shift

	mkdir -p "$T/$name"
	printf 'host_uuid = "%s"\n' "$("$PYTHON" -c 'import uuid; print(uuid.uuid4())')" >"$T/$name/conf"
	"$PGRD" --foreground --config "$T/$name/conf" --state-dir "$T/$name/state" \
		--socket "$T/$name/pgrd.sock" "$@" </dev/null >>"$T/$name/pgrd.err" 2>&1 &
	for ((i = 0; i < 400; i++)); do
		PGR_SOCKET=$T/$name/pgrd.sock "$PGR" list >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	fail "pgrd $name did not start: $(tail -n 3 "$T/$name/pgrd.err")"
}

# one_error REGEX CMD...: as expect_error, and nothing else on stderr.
one_error() {
	local out

	expect_error "$@"
	shift
	out=$("$@" 2>&1 >/dev/null) || true
	[ "$(wc -l <<<"$out")" -eq 1 ] || fail "$*: more than one line: $out"
}

pgrd_start

# ---- ssh --------------------------------------------------------------------
"$PGR" list --all >"$T/list.local"
"$PGR" -c "$SSH_URI" list --all >"$T/list.ssh" || fail "list through ssh failed"
cmp -s "$T/list.local" "$T/list.ssh" || fail "list through ssh differs: $(cat "$T/list.ssh")"
grep -qxF -- "-o BatchMode=yes -T localhost pgr tunnel $SOCK" "$T/ssh.args" ||
	fail "ssh was run as: $(cat "$T/ssh.args")"
: >"$T/ssh.args"
"$PGR" -c "pgr+ssh://ops@localhost:2222$SOCK" list >/dev/null || fail "user and port"
grep -qxF -- "-o BatchMode=yes -T -p 2222 -l ops localhost pgr tunnel $SOCK" "$T/ssh.args" ||
	fail "ssh with user and port was run as: $(cat "$T/ssh.args")"
[ "$("$PGR" -c "pgr+ssh://ops@localhost:2222$SOCK" uri | head -n 1)" = \
  "pgr+ssh://ops@localhost:2222$SOCK" ] || fail "uri through ssh"
PGR_SSH="$T/ssh -F /dev/null" "$PGR" -c "$SSH_URI" list >/dev/null || fail "\$PGR_SSH with options"
grep -qxF -- "-F /dev/null -o BatchMode=yes -T localhost pgr tunnel $SOCK" "$T/ssh.args" ||
	fail "\$PGR_SSH's own options: $(tail -n 1 "$T/ssh.args")"
log "list through ssh and pgr tunnel: same as the local one; ssh's options as documented"

guest_xml rm >"$T/rm.xml"
out=$("$PGR" -c "$SSH_URI" define "$T/rm.xml")
[ "$out" = "Domain rm defined from $T/rm.xml" ] || fail "define through ssh said: $out"
"$PGR" -c "$SSH_URI" start rm >/dev/null
state_is rm "running (booted)" 5
wait_for_log "$STATE/log/rm.console" '^READY$' 20
printf 'echo through-ssh\n' | "$PGR" -c "$SSH_URI" console rm >"$T/console.out"
wait_for_log "$STATE/log/rm.console" '^ECHO through-ssh$' 15
log "define, start and console through ssh"

one_error "failed to connect to pgrd at 'pgr\+ssh://nohost/': ssh exited with status 255: ssh: connect to host nohost port 22: Connection refused$" \
	env PGR_SSH="$T/ssh-fail" "$PGR" -c pgr+ssh://nohost/ list
one_error "failed to connect to pgrd at 'pgr\+ssh://localhost$T/none.sock': ssh exited with status 1: failed to connect to pgrd at '$T/none.sock': No such file or directory" \
	"$PGR" -c "pgr+ssh://localhost$T/none.sock" list
one_error "failed to connect to pgrd at 'pgr\+ssh://localhost/': ssh exited with status 127: cannot run '$T/nossh': No such file" \
	env PGR_SSH="$T/nossh" "$PGR" -c pgr+ssh://localhost/ list
one_error "URI 'pgr\+ssh://localhost/tmp/a;reboot': ';' in the socket path" \
	"$PGR" -c 'pgr+ssh://localhost/tmp/a;reboot' list
log "ssh failures: one line each (ssh's exit and its words; the remote pgr's; no ssh)"

# pgr tunnel on its own: the greeting and an answer, status 0 when pgrd closes
printf '{"execute":"domain-list","id":1}\n' | "$PGR" tunnel "$SOCK" >"$T/tunnel.out" ||
	fail "pgr tunnel exited $?"
head -n 1 "$T/tunnel.out" | grep -q '^{"pgrd":' && sed -n 2p "$T/tunnel.out" | grep -q '"name":"rm"' ||
	fail "pgr tunnel: $(cat "$T/tunnel.out")"
printf '{"execute":"host-info","id":1}\n' | "$PGR" tunnel >"$T/tunnel2.out" ||
	fail "pgr tunnel (default socket: \$PGR_SOCKET) exited $?"
grep -q '"return"' "$T/tunnel2.out" || fail "pgr tunnel without SOCKET: $(cat "$T/tunnel2.out")"
one_error "failed to connect to pgrd at '$T/none.sock': No such file or directory" \
	"$PGR" tunnel "$T/none.sock"
log "pgr tunnel: copies both ways, ends when pgrd closes"

# ---- TCP --------------------------------------------------------------------
free_port
TCP_PORT=$REPLY
pgrd2_start tcp --relocation-address 127.0.0.1 --relocation-port "$TCP_PORT"
TCP_URI=pgr+tcp://127.0.0.1:$TCP_PORT/
"$PGR" -c "$TCP_URI" list --all >"$T/list.tcp" || fail "list over TCP failed"
[ "$(grep -c . "$T/list.tcp")" -eq 2 ] || fail "list over TCP: $(cat "$T/list.tcp")"
[ "$("$PGR" -c "$TCP_URI" uri | head -n 1)" = "$TCP_URI" ] || fail "uri over TCP"
[ "$(PGR_DEFAULT_URI=$TCP_URI "$PGR" uri | head -n 1)" = "$TCP_URI" ] || fail "\$PGR_DEFAULT_URI"
[ "$(PGR_DEFAULT_URI=$TCP_URI "$PGR" -c "$SSH_URI" uri | head -n 1)" = "$SSH_URI" ] ||
	fail "-c does not win over \$PGR_DEFAULT_URI"
[ "$(PGR_DEFAULT_URI=$TCP_URI "$PGR" list --all --name)" = "" ] || fail "\$PGR_DEFAULT_URI not used"
[ "$("$PGR" uri | head -n 1)" = "pgr:///system" ] || fail "uri without -c"
free_port
one_error "failed to connect to pgrd at '127.0.0.1:$REPLY': Connection refused" \
	"$PGR" -c "pgr+tcp://127.0.0.1:$REPLY/" list
free_port
DENY_PORT=$REPLY
pgrd2_start deny --relocation-address 127.0.0.1 --relocation-port "$DENY_PORT" \
	--relocation-hosts-allow '^nothing-matches$'
one_error "host .*is not allowed to connect to .*relocation_hosts_allow" \
	"$PGR" -c "pgr+tcp://127.0.0.1:$DENY_PORT/" list
log "TCP: list and uri on port $TCP_PORT, \$PGR_DEFAULT_URI, refused port, allow-list refusal"

# ---- migrate ----------------------------------------------------------------
expect_error "--live and --offline are mutually exclusive" "$PGR" migrate --live --offline rm h2
expect_error "--copy-storage-all and --copy-storage-inc are mutually exclusive" \
	"$PGR" migrate --copy-storage-all --copy-storage-inc rm h2
expect_error "failed to migrate domain 'rm': .*not supported yet" \
	"$PGR" migrate --live --copy-storage-all rm "pgr+unix://$T/tcp/pgrd.sock"
expect_error "--timeout: 'abc' is not a number" "$PGR" migrate --timeout abc rm h2
expect_error "--bandwidth: '-5' is not a number" "$PGR" migrate --bandwidth -5 rm h2
expect_error "--max-downtime: 0 is out of range \(1-2000000\)" "$PGR" migrate --max-downtime 0 rm h2
expect_error "--timeout: 99999999999999999999 is out of range" "$PGR" migrate --timeout 99999999999999999999 rm h2
expect_error "URI 'pgr\+tcp://h2/x': unexpected path" "$PGR" migrate rm pgr+tcp://h2/x
expect_error "missing desturi" "$PGR" migrate rm
expect_error "failed to get domain 'nope'" "$PGR" migrate nope "pgr+unix://$T/tcp/pgrd.sock"
"$PGR" list | grep -qE ' rm +running$' || fail "rm stopped after refused migrations"
log "migrate: argument errors refused, the guest untouched"

out=$("$PGR" domjobinfo rm)
[ "$(head -n 1 <<<"$out")" = "Job type:         None" ] || fail "domjobinfo without a job: $out"
expect_error "failed to get domain 'nope'" "$PGR" domjobinfo nope
expect_error "failed to abort the job of domain 'rm': " "$PGR" domjobabort rm

# For real, through ssh, to the second pgrd (its own host UUID) on its socket
DEST=pgr+unix://$T/tcp/pgrd.sock
"$PGR" -c "$SSH_URI" migrate --live --verbose --bandwidth 100 rm "$DEST" \
	>"$T/mig.out" 2>"$T/mig.err" || fail "migrate: $(tr '\r' '\n' <"$T/mig.err")"
[ ! -s "$T/mig.out" ] || fail "migrate printed on stdout: $(cat "$T/mig.out")"
tr '\r' '\n' <"$T/mig.err" | grep -v '^$' >"$T/mig.lines"
[ "$(tail -n 1 "$T/mig.lines")" = "Migration: [100 %]" ] && [ "$(tail -c 1 "$T/mig.err" | od -An -c | tr -d ' ')" = '\n' ] ||
	fail "--verbose did not end at 100 %: $(cat "$T/mig.lines")"
grep -vxE 'Migration: \[ *[0-9]+ %\]' "$T/mig.lines" && fail "--verbose printed more: $(cat "$T/mig.lines")"
grep -qE 'Migration: \[ *[1-9][0-9]? %\]' "$T/mig.lines" || fail "no progress before 100 %: $(cat "$T/mig.lines")"
PGR_SOCKET=$T/tcp/pgrd.sock state_is rm "running (migrated)" 10
state_is rm "shut off (migrated)" 10
log "migrated through ssh with --verbose: $(wc -l <"$T/mig.lines") progress lines, stdout empty"

# Back, slowly; domjobinfo meanwhile; then Ctrl-C
export PGR_SOCKET=$T/tcp/pgrd.sock
"$PGR" migrate --live --bandwidth 20 rm "pgr+unix://$SOCK" 2>"$T/mig2.err" &
mig=$!
for ((i = 0; i < 100; i++)); do
	"$PGR" domjobinfo rm >"$T/job" && grep -qE '^Memory processed: +[1-9]' "$T/job" && break
	sleep 0.05
done
grep -qE '^Job type: +Unbounded$' "$T/job" && grep -qE '^Operation: +Outgoing migration$' "$T/job" &&
	grep -qE '^Memory total: +128\.000 MiB$' "$T/job" &&
	grep -qE '^Memory processed: +[0-9.]+ (B|KiB|MiB)$' "$T/job" || fail "domjobinfo during a migration: $(cat "$T/job")"
"$PGR" domjobabort rm || fail "domjobabort during a migration"
wait "$mig" && fail "an aborted migration succeeded"
grep -q "^error: failed to migrate domain 'rm': .*cancel" "$T/mig2.err" || fail "aborted: $(cat "$T/mig2.err")"
"$PGR" list | grep -qE ' rm +running$' || fail "rm does not run on after domjobabort: $("$PGR" list --all)"
log "domjobinfo during a migration, domjobabort: cancelled, the guest runs on"

"$PGR" migrate --live --verbose --bandwidth 20 rm "pgr+unix://$SOCK" 2>"$T/mig3.err" &
mig=$!
wait_for_log "$T/mig3.err" 'Migration: \[ *[1-9]' 10
kill -INT "$mig"
rc=0
wait "$mig" || rc=$?
[ "$rc" -eq 1 ] || fail "migrate after Ctrl-C exited $rc: $(cat "$T/mig3.err")"
tr '\r' '\n' <"$T/mig3.err" | grep -q "^error: failed to migrate domain 'rm': .*cancel" ||
	fail "Ctrl-C: $(cat "$T/mig3.err")"
"$PGR" list | grep -qE ' rm +running$' || fail "rm does not run on after Ctrl-C: $("$PGR" list --all)"
export PGR_SOCKET=$SOCK
log "Ctrl-C during migrate --verbose: the job cancelled, the guest runs on"

# ---- help -------------------------------------------------------------------
for c in migrate domjobinfo domjobabort tunnel; do
	"$PGR" "$c" --help | grep -q "^Usage: pgr $c" || fail "$c --help"
	"$PGR" help "$c" | grep -q "^Usage: pgr $c" || fail "help $c"
done
"$PGR" --help | grep -q 'pgr+ssh://' || fail "pgr --help does not mention pgr+ssh://"
log "--help for migrate, domjobinfo, domjobabort, tunnel"
