#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
#
# fdpass.py: hand sockets to monitors as pgrd does (docs/relocation.md),
# for tests/system/test-migrate-fd.sh.
#
#   pair API_SOCK FDNAME [--unix] -- CMD...
#       make a connected pair — TCP on 127.0.0.1 (listen on port 0,
#       connect, accept), or with --unix a socketpair, as ssh carries —
#       pass one end to the monitor at API_SOCK with getfd FDNAME (the fd
#       as SCM_RIGHTS on the request's sendmsg), print the reply on
#       stderr, then exec CMD with the other end as fd 3 (so the caller's
#       $! is CMD's pid). Exits 1 without running CMD if getfd failed.
#   send API_SOCK JSON [--fd PATH]
#       send one request, with PATH opened (a file, /dev/null, ...) as
#       SCM_RIGHTS on the same sendmsg when --fd is given, and print the
#       reply to it (events and the greeting skipped).
import json
import os
import socket
import sys
import time


def connect(path):
    deadline = time.time() + 5
    while True:
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(path)
            s.settimeout(10)
            return s
        except OSError as e:
            s.close()
            if time.time() > deadline:
                sys.exit(f'fdpass: {path}: {e}')
            time.sleep(0.05)


def request(path, req, fd=None):
    """Send @req (with @fd if given) on a new connection; the reply line."""
    s = connect(path)
    data = req.encode() + b'\n'
    if fd is None:
        s.sendall(data)
    else:
        socket.send_fds(s, [data], [fd])
    for raw in s.makefile('rb'):
        msg = json.loads(raw)
        if 'QMP' in msg or 'event' in msg:
            continue
        s.close()
        return raw.decode().strip()
    sys.exit(f'fdpass: {path}: connection closed before the reply to {req}')


def tcp_pair():
    lsn = socket.socket()
    lsn.bind(('127.0.0.1', 0))
    lsn.listen(1)
    out = socket.create_connection(lsn.getsockname())
    inc, _ = lsn.accept()
    lsn.close()
    return out, inc


def pair(argv):
    api, name = argv[0], argv[1]
    rest = argv[2:]
    unix = '--unix' in rest[:rest.index('--')]
    cmd = rest[rest.index('--') + 1:]
    out, inc = socket.socketpair() if unix else tcp_pair()
    req = json.dumps({'execute': 'getfd', 'arguments': {'fdname': name}})
    reply = request(api, req, out.fileno())
    print(f'fdpass: getfd {name}: {reply}', file=sys.stderr, flush=True)
    out.close()
    if json.loads(reply) != {'return': {}}:
        sys.exit(1)
    if inc.fileno() != 3:
        os.dup2(inc.fileno(), 3)
        inc.close()
    os.set_inheritable(3, True)
    os.execvp(cmd[0], cmd)


def send(argv):
    api, req = argv[0], argv[1]
    fd = None
    if len(argv) > 3 and argv[2] == '--fd':
        fd = os.open(argv[3], os.O_RDONLY)
    print(request(api, req, fd))


if __name__ == '__main__':
    if len(sys.argv) < 4 or sys.argv[1] not in ('pair', 'send'):
        sys.exit('usage: fdpass.py pair API_SOCK FDNAME [--unix] -- CMD... | '
                 'send API_SOCK JSON [--fd PATH]')
    (pair if sys.argv[1] == 'pair' else send)(sys.argv[2:])
