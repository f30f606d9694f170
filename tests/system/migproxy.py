#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
#
# migproxy.py: a TCP relay that breaks migrations on purpose, and a fake
# migration source, for tests/system/test-migrate-faults.sh and
# test-migrate-bad-stream.sh. It knows the commit handshake's framing
# (migration/channel.h: "PGRC", u32 kind, u32 length, text) but nothing of
# the stream itself (tests/system/corrupt.py edits recorded streams).
#
#   relay TARGET [options]   listen on 127.0.0.1 (a free port, printed as
#                            "listening 127.0.0.1:PORT"), accept one
#                            connection, connect to TARGET (tcp:HOST:PORT or
#                            unix:PATH) and relay both ways until one side
#                            closes or a fault is injected:
#       --cut-after N        forward N bytes towards the destination, then cut
#       --cut-on-reply       cut when the destination first answers (the ACK)
#       --cut-after-go       relay the ACK and the source's GO, then cut before
#                            the destination's DONE gets back
#       --drop-go            relay the ACK, then swallow the source's GO and cut
#       --stall-after N      after N bytes, stop relaying but keep both
#                            connections open (a black hole)
#       --cut-after-round N  cut one byte after the Nth ROUND section: inside
#                            round N+1, or in stop-and-copy if round N was
#                            the last (max-iterations N)
#       --stall-after-round N  the same, stalling instead
#       --record FILE        write what the source sends to FILE
#     SIGUSR1 cuts at once, SIGUSR2 stalls at once. A cut is abrupt: both
#     sockets are reset (SO_LINGER 0), as a peer that vanished.
#   replay FILE TARGET [--go | --hold]
#                            act as a source: connect, send FILE, half-close,
#                            print the destination's answer ("ACK",
#                            "NACK <reason>", "EOF"). --go: do not half-close,
#                            answer an ACK with GO and print the DONE;
#                            --hold: do not half-close, wait (a stalled
#                            source). Exit 0 whatever the destination said
#                            (the test judges it).
#
# Progress and faults are printed one line each on stdout, flushed, so a
# test can wait for them. It never times out by itself: the test kills it.
import os
import select
import signal
import socket
import struct
import sys
import time

FRAME = struct.Struct('<4sII')
STREAM_HEADER = 68
SECTION_HEADER = 52
ROUND, END = 7, 8
KINDS = {1: 'ACK', 2: 'NACK', 3: 'GO', 4: 'DONE'}
CHUNK = 65536


def say(text):
    print(text, flush=True)


def connect(target):
    kind, _, rest = target.partition(':')
    if kind == 'unix':
        s = socket.socket(socket.AF_UNIX)
        s.connect(rest)
    elif kind == 'tcp':
        host, _, port = rest.rpartition(':')
        s = socket.create_connection((host.strip('[]'), int(port)), timeout=10)
        s.settimeout(None)
    else:
        sys.exit(f'migproxy.py: {target}: expected tcp:HOST:PORT or unix:PATH')
    return s


class Fault(Exception):
    """Raised (from a signal or a trigger) to cut or stall the relay."""

    def __init__(self, action, reason):
        super().__init__(reason)
        self.action, self.reason = action, reason


def on_signal(signum, _frame):
    if signum == signal.SIGUSR1:
        raise Fault('cut', 'SIGUSR1')
    raise Fault('stall', 'SIGUSR2')


class Sections:
    """Follows the section framing of what the source sends, to find where
    the Nth ROUND section ends."""

    def __init__(self, rounds):
        self.want, self.rounds = rounds, 0
        self.pos, self.next_hdr, self.hdr = 0, STREAM_HEADER, b''
        self.trigger_at = None

    def _header_done(self):
        kind, = struct.unpack_from('<I', self.hdr, 0)
        length, = struct.unpack_from('<Q', self.hdr, 44)
        end = self.next_hdr + SECTION_HEADER + length + 4
        if kind == ROUND:
            self.rounds += 1
            if self.rounds == self.want:
                self.trigger_at = end + 1
        self.next_hdr = end if kind != END else float('inf')
        self.hdr = b''

    def feed(self, data):
        """(bytes of data to forward, whether the trigger point is reached)."""
        done = 0
        while done < len(data) and not self.hit():
            limit = len(data) - done
            if self.trigger_at is not None:
                limit = min(limit, self.trigger_at - self.pos)
            if self.pos < self.next_hdr:
                step = min(limit, self.next_hdr - self.pos)
            else:
                step = min(limit, SECTION_HEADER - len(self.hdr))
                self.hdr += data[done:done + step]
            self.pos += step
            done += step
            if len(self.hdr) == SECTION_HEADER:
                self._header_done()
        return done, self.hit()

    def hit(self):
        return self.trigger_at is not None and self.pos >= self.trigger_at


class Relay:
    def __init__(self, opts):
        self.opts = opts
        self.to_dst = self.to_src = 0     # bytes forwarded each way
        self.acked = False                 # the destination has answered
        self.after_ack = 0                 # bytes to the destination since
        self.record = open(opts['record'], 'wb') if opts.get('record') else None
        key = next((k for k in ('cut-after-round', 'stall-after-round') if k in opts), None)
        self.sections = Sections(opts[key]) if key else None
        self.round_action = key.split('-')[0] if key else None

    def limit(self):
        """Bytes the source may still send before a byte-count trigger."""
        for key in ('cut-after', 'stall-after'):
            if key in self.opts:
                return self.opts[key] - self.to_dst, key
        return None, None

    def from_src(self, src, dst):
        room, key = self.limit()
        if room is not None and room <= 0:
            raise Fault(key.split('-')[0], f'{key} {self.opts[key]}')
        data = src.recv(min(CHUNK, room) if room is not None else CHUNK)
        if not data:
            return False
        if self.acked and self.opts.get('drop-go'):
            raise Fault('cut', 'GO dropped')
        hit = False
        if self.sections:
            n, hit = self.sections.feed(data)
            data = data[:n]
        if self.record:
            self.record.write(data)
        dst.sendall(data)
        self.to_dst += len(data)
        if hit:
            raise Fault(self.round_action, f'after round {self.sections.want}')
        if self.acked:
            self.after_ack += len(data)
            if self.opts.get('cut-after-go') and self.after_ack >= FRAME.size:
                raise Fault('cut', 'after GO')
        room, key = self.limit()
        if room is not None and room <= 0:
            raise Fault(key.split('-')[0], f'{key} {self.opts[key]}')
        return True

    def from_dst(self, dst, src):
        data = dst.recv(CHUNK)
        if not data:
            return False
        if not self.acked:
            self.acked = True
            kind = FRAME.unpack_from(data)[1] if len(data) >= FRAME.size else 0
            say(f'reply {KINDS.get(kind, "?")} after {self.to_dst} bytes')
            if self.opts.get('cut-on-reply'):
                raise Fault('cut', 'on the reply')
        src.sendall(data)
        self.to_src += len(data)
        return True

    def run(self, src, dst):
        open_src = open_dst = True
        while open_src or open_dst:
            ready, _, _ = select.select([s for s, o in ((src, open_src), (dst, open_dst)) if o],
                                        [], [])
            if src in ready and open_src and not self.from_src(src, dst):
                open_src = False
                dst.shutdown(socket.SHUT_WR)
            if dst in ready and open_dst and not self.from_dst(dst, src):
                open_dst = False
                src.shutdown(socket.SHUT_WR)

    def counts(self):
        return f'{self.to_dst} bytes to the destination, {self.to_src} back'


def reset(*socks):
    for s in socks:
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
            s.close()
        except OSError:
            pass


def parse_relay_opts(args):
    opts, i = {}, 0
    while i < len(args):
        key = args[i].lstrip('-')
        if key in ('cut-after', 'stall-after', 'cut-after-round', 'stall-after-round'):
            opts[key] = int(args[i + 1])
            i += 2
        elif key == 'record':
            opts[key] = args[i + 1]
            i += 2
        elif key in ('cut-on-reply', 'cut-after-go', 'drop-go'):
            opts[key] = True
            i += 1
        else:
            sys.exit(f'migproxy.py relay: unknown option {args[i]}')
    return opts


def relay(target, *args):
    relay_state = Relay(parse_relay_opts(list(args)))
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(('127.0.0.1', 0))
    lsock.listen(1)
    signal.signal(signal.SIGUSR1, on_signal)
    signal.signal(signal.SIGUSR2, on_signal)
    say(f'listening 127.0.0.1:{lsock.getsockname()[1]}')
    src = dst = None
    try:
        src, _ = lsock.accept()
        lsock.close()
        dst = connect(target)
        say('connected')
        relay_state.run(src, dst)
        say(f'closed: {relay_state.counts()}')
    except Fault as f:
        if f.action == 'cut':
            reset(src, dst)
            say(f'cut ({f.reason}): {relay_state.counts()}')
        else:
            say(f'stalled ({f.reason}): {relay_state.counts()}')
            signal.signal(signal.SIGUSR2, signal.SIG_IGN)
            stall(src, dst)
    except OSError as e:
        say(f'closed ({e.strerror}): {relay_state.counts()}')
    if relay_state.record:
        relay_state.record.close()


def stall(src, dst):
    """Hold both connections open, reading nothing, until SIGUSR1 or a kill."""
    try:
        while True:
            time.sleep(3600)
    except Fault:
        reset(src, dst)
        say('cut (SIGUSR1) after a stall')


def read_frame(s):
    head = b''
    while len(head) < FRAME.size:
        more = s.recv(FRAME.size - len(head))
        if not more:
            return None, ''
        head += more
    magic, kind, length = FRAME.unpack(head)
    text = b''
    while len(text) < length:
        more = s.recv(length - len(text))
        if not more:
            break
        text += more
    if magic != b'PGRC':
        return '?', head.hex()
    return KINDS.get(kind, f'kind {kind}'), text.decode('utf-8', 'replace')


def replay(path, target, *opts):
    s, sent = connect(target), 0
    with open(path, 'rb') as f:
        try:
            while chunk := f.read(CHUNK):
                s.sendall(chunk)
                sent += len(chunk)
        except OSError as e:
            say(f'send: {e.strerror}')
    say(f'sent {sent} bytes')
    try:
        if '--go' not in opts and '--hold' not in opts:
            s.shutdown(socket.SHUT_WR)
        kind, text = read_frame(s)
        say(f'{kind} {text}'.rstrip() if kind else 'EOF')
        if kind == 'ACK' and '--go' in opts:
            s.sendall(FRAME.pack(b'PGRC', 3, 0))
            kind, text = read_frame(s)
            say(f'{kind} {text}'.rstrip() if kind else 'EOF')
    except OSError as e:
        say(f'EOF ({e.strerror})')
    s.close()


def main():
    cmds = {'relay': (relay, 1), 'replay': (replay, 2)}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds or len(sys.argv) < 2 + cmds[sys.argv[1]][1]:
        sys.exit('usage: migproxy.py relay TARGET [options] | replay FILE TARGET [--go|--hold]')
    cmds[sys.argv[1]][0](*sys.argv[2:])


if __name__ == '__main__':
    main()
