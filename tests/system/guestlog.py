#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
#
# guestlog.py: check what the test guest printed on its serial line
# (format: docs/test-guest.md). Given one or more logs, read as one
# concatenation (a migrated guest's source log, then its destination's):
#
#   heartbeats LOG...  H<seq> lines run 1, 2, 3... with no gap or repeat;
#                      a banner (a boot or reboot) restarts the count at 1.
#                      Prints "BOOTS=B HEARTBEATS=N".
#   intact LOG...      no CORRUPT, FAULT or FATAL line, every V sweep
#                      corrupt=0.
#                      Prints "SWEEPS=S".
#   console SOCK LOG FIFO
#                      attach to a --serial unix:SOCK console (retrying for
#                      5 s), append what the guest prints to LOG (created
#                      once attached) and type what is written to FIFO.
#
# A last line without its newline is still being written: it is ignored.
# Exit 0 when the check holds, 1 with one line naming the first problem.
# functions.sh wraps it for the shell tests.
import os
import re
import select
import socket
import sys
import time

HB = re.compile(r'^H(\d+)$')
SWEEP = re.compile(r'^V(\d+) pages=\d+ ms=\d+ corrupt=(\d+)$')


def lines(paths):
    for path in paths:
        with open(path, 'rb') as f:
            data = f.read().decode('latin-1')
        complete = data if data.endswith('\n') else data[:data.rfind('\n') + 1]
        for n, line in enumerate(complete.splitlines(), 1):
            yield f'{path}:{n}', line.rstrip('\r')


def heartbeats(paths):
    want, boots, count = 1, 0, 0
    for where, line in lines(paths):
        if line.startswith('PGR-TESTGUEST '):
            want, boots = 1, boots + 1
            continue
        m = HB.match(line)
        if not m:
            continue
        seq = int(m.group(1))
        if seq != want:
            kind = 'repeated' if seq < want else f'{seq - want} missing'
            return f'{where}: H{seq} where H{want} was expected ({kind})'
        want, count = want + 1, count + 1
    print(f'BOOTS={boots} HEARTBEATS={count}')
    return None


def intact(paths):
    sweeps = 0
    for where, line in lines(paths):
        if line.startswith(('CORRUPT', 'FAULT', 'FATAL')):
            return f'{where}: {line}'
        if line.startswith('V'):
            m = SWEEP.match(line)
            if m and int(m.group(2)) != 0:
                return f'{where}: {line}'
            sweeps += bool(m)
    print(f'SWEEPS={sweeps}')
    return None


def connect(path):
    deadline = time.time() + 5
    while True:
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(path)
            return s
        except OSError:
            s.close()
            if time.time() > deadline:
                raise
            time.sleep(0.05)


def console(sock_path, log_path, fifo_path):
    sock = connect(sock_path)
    fifo = os.open(fifo_path, os.O_RDWR)    # never sees EOF
    with open(log_path, 'ab', buffering=0) as log:
        while True:
            ready, _, _ = select.select([sock, fifo], [], [])
            if fifo in ready:
                sock.sendall(os.read(fifo, 4096))
            if sock in ready:
                data = sock.recv(65536)
                if not data:
                    return
                log.write(data)


def main():
    if len(sys.argv) == 5 and sys.argv[1] == 'console':
        console(*sys.argv[2:])
        return
    checks = {'heartbeats': heartbeats, 'intact': intact}
    if len(sys.argv) < 3 or sys.argv[1] not in checks:
        sys.exit('usage: guestlog.py heartbeats|intact LOG...')
    problem = checks[sys.argv[1]](sys.argv[2:])
    if problem:
        print(problem)
        sys.exit(1)


if __name__ == '__main__':
    main()
