# SPDX-License-Identifier: GPL-2.0-only
#
# hostslib.py: the machinery of bench/hosts.py — hosts as network
# namespaces on one bridge (as tests/system/hosts-lib.sh builds them), a
# pgrd per host, a reader that stamps the guest's console as pgrd writes it
# to STATE/log/NAME.console on each host (inotify, one thread, one clock:
# time.monotonic(), as benchlib.SerialHub does for monitors' sockets), and a
# pinger in a third namespace that reports every request and reply on the
# same clock.
#
#   switch ns  pgrb-sw   bridge sw0, one veth port per host
#   host ns    pgrb-X    eth0 (the veth's other end) in br0, 10.89.0.N/24 on
#                        br0, so guests' taps on br0 are on the LAN; names
#                        from /etc/netns/pgrb-X/hosts (hosta, hostb, hostc)
#
# It knows nothing about what is measured (hosts.py does) and never runs
# from `make check`. Everything it creates is removed by Net.teardown(),
# which hosts.py runs at exit, on Ctrl-C and on SIGTERM; a run that died
# harder leaves namespaces that the next run removes first (under a lock,
# so two runs never fight over them).
import ctypes
import fcntl
import json
import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import benchlib as bl

PREFIX = 'pgrb'
NET = '10.89.0'
SWITCH = f'{PREFIX}-sw'
PORT = 8002                    # the relocation port, as xend's
LOCK = '/tmp/pgr-bench/hosts.lock'


def sh(*argv, check=True):
    r = subprocess.run(argv, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f'{" ".join(argv)}: {r.stderr.strip() or r.returncode}')
    return r.stdout


# ---- the network -------------------------------------------------------------

class Net:
    """The switch and one namespace per host; host i (from 1) has NET.i."""

    def __init__(self, names):
        os.makedirs(os.path.dirname(LOCK), exist_ok=True)
        self.lock = open(LOCK, 'w')
        try:
            fcntl.flock(self.lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise RuntimeError(f'another bench/hosts.py holds {LOCK}')
        self.names = list(names)
        self.ip = {n: f'{NET}.{i + 1}' for i, n in enumerate(self.names)}
        self.ns = {n: f'{PREFIX}-{n[-1]}' for n in self.names}     # hosta -> pgrb-a
        self.created = []
        self.remove_stale()

    @staticmethod
    def remove_stale():
        """Namespaces an earlier run left (we hold the lock: none is in use)."""
        for line in sh('ip', 'netns', 'list').splitlines():
            ns = line.split()[0] if line.split() else ''
            if ns.startswith(f'{PREFIX}-'):
                bl.log(f'removing {ns}, left by an earlier run')
                _kill_in_netns(ns)
                sh('ip', 'netns', 'del', ns, check=False)
                shutil.rmtree(f'/etc/netns/{ns}', ignore_errors=True)

    def setup(self):
        sh('ip', 'netns', 'add', SWITCH)
        self.created.append(SWITCH)
        sh('ip', '-n', SWITCH, 'link', 'add', 'sw0', 'type', 'bridge')
        sh('ip', '-n', SWITCH, 'link', 'set', 'sw0', 'up')
        hosts = '127.0.0.1 localhost\n' + ''.join(f'{self.ip[n]} {n}\n' for n in self.names)
        for i, n in enumerate(self.names):
            self._host(n, f'p{i + 1}', hosts)

    def _host(self, name, port, hosts):
        ns = self.ns[name]
        sh('ip', 'netns', 'add', ns)
        self.created.append(ns)
        os.makedirs(f'/etc/netns/{ns}', exist_ok=True)
        with open(f'/etc/netns/{ns}/hosts', 'w') as f:
            f.write(hosts)
        with open(f'/etc/netns/{ns}/nsswitch.conf', 'w') as f:
            f.write('passwd: files\ngroup: files\nshadow: files\nhosts: files\n')
        ipn = ('ip', '-n', ns)
        sh(*ipn, 'link', 'set', 'lo', 'up')
        sh(*ipn, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', port, 'netns', SWITCH)
        sh('ip', '-n', SWITCH, 'link', 'set', port, 'master', 'sw0', 'up')
        # br0 keeps eth0's MAC (hosts-lib.sh says why: a tap coming or going
        # must not change the host's MAC under its neighbours' ARP caches).
        mac = sh(*ipn, '-br', 'link', 'show', 'eth0').split()[2]
        sh(*ipn, 'link', 'add', 'br0', 'address', mac, 'type', 'bridge')
        sh(*ipn, 'link', 'set', 'eth0', 'master', 'br0', 'up')
        sh(*ipn, 'addr', 'add', f'{self.ip[name]}/24', 'dev', 'br0')
        sh(*ipn, 'link', 'set', 'br0', 'up')

    def add_tap(self, host, tap):
        """A persistent tap on host's br0 (for QEMU, which does not bridge)."""
        ipn = ('ip', '-n', self.ns[host])
        sh(*ipn, 'tuntap', 'add', 'dev', tap, 'mode', 'tap')
        sh(*ipn, 'link', 'set', tap, 'master', 'br0', 'up')

    def exec_argv(self, host, argv):
        return ['ip', 'netns', 'exec', self.ns[host]] + list(argv)

    def teardown(self):
        for ns in reversed(self.created):
            _kill_in_netns(ns)
            sh('ip', 'netns', 'del', ns, check=False)
            shutil.rmtree(f'/etc/netns/{ns}', ignore_errors=True)
        self.created = []


def _kill_in_netns(ns):
    """SIGKILL each process still in namespace @ns, by pid (ours: monitors
    a pgrd started in their own sessions)."""
    for pid in sh('ip', 'netns', 'pids', ns, check=False).split():
        try:
            os.kill(int(pid), signal.SIGKILL)
        except (OSError, ValueError):
            pass


# ---- pgrd per host ---------------------------------------------------------------

class Api(bl.Qmp):
    """pgrd's management protocol: greeting {"pgrd": ...}, then requests
    answered {"return": ...} — QMP's framing, so benchlib's client serves."""


class Host:
    """One pgrd in its host's namespace: own state dir, socket, relocation
    server on its address, an allow-list naming the other host(s)."""

    def __init__(self, run, net, name, peers, pgrd, vmm):
        self.run, self.net, self.name = run, net, name
        self.dir = run.path(name)
        self.state = os.path.join(self.dir, 'state')
        self.sock = os.path.join(self.dir, 'pgrd.sock')
        os.makedirs(self.state, exist_ok=True)
        with open(os.path.join(self.dir, 'pgrd.conf'), 'w') as f:
            f.write(f'host_uuid = {_uuid()}\nvmm_path = {vmm}\n'
                    f'relocation_address = {net.ip[name]}\nrelocation_port = {PORT}\n'
                    f'relocation_hosts_allow = {" ".join(f"^{p}$" for p in peers)}\n')
        # Its own UTS namespace, so that its hostname (the greeting's) is the host's.
        argv = net.exec_argv(name, [
            'unshare', '--uts', 'sh', '-c', 'hostname "$1" && shift && exec "$@"', 'sh', name,
            pgrd, '--foreground', '--config', os.path.join(self.dir, 'pgrd.conf'),
            '--state-dir', self.state, '--socket', self.sock])
        self.proc = run.spawn(argv, f'{name}/pgrd.err')
        deadline = bl.now() + 20
        while not os.path.exists(self.sock):
            if self.proc.poll() is not None or bl.now() > deadline:
                raise RuntimeError(f'pgrd of {name} did not start: {self.err_tail()}')
            time.sleep(0.02)
        self.api = Api(self.sock, 10, self.proc)
        self.api.cmd('domain-list')

    def err_tail(self, n=3):
        try:
            with open(os.path.join(self.dir, 'pgrd.err'), errors='replace') as f:
                return ' | '.join(f.read().splitlines()[-n:])
        except OSError:
            return ''

    def console_path(self, dom):
        return os.path.join(self.state, 'log', f'{dom}.console')

    def monitor_pids(self):
        out = []
        rundir = os.path.join(self.state, 'run')
        for f in os.listdir(rundir) if os.path.isdir(rundir) else []:
            if f.endswith('.json'):
                try:
                    with open(os.path.join(rundir, f)) as fp:
                        out.append(int(json.load(fp)['pid']))
                except (OSError, ValueError, KeyError):
                    pass
        return out

    def info(self, dom):
        try:
            return self.api.cmd('domain-info', domain=dom)
        except RuntimeError:
            return None

    def console_send(self, dom, text):
        """Type a line on the guest's serial (a domain-console session,
        forced, closed again: pgrd's log keeps the output either way)."""
        s = bl.connect_unix(self.sock, 5)
        if s is None:
            raise RuntimeError(f'{self.name}: cannot connect to pgrd')
        with s:
            f = s.makefile('rb')
            f.readline()                                   # greeting
            s.sendall(json.dumps({'execute': 'domain-console',
                                  'arguments': {'domain': dom, 'force': True}}).encode() + b'\n')
            reply = json.loads(f.readline() or b'{}')
            if 'return' not in reply:
                raise RuntimeError(f'{self.name}: domain-console: {reply}')
            s.sendall(text.encode() + b'\n')
            time.sleep(0.05)          # input waits for the guest; let it go out

    def stop(self):
        """Every domain destroyed, then pgrd; a monitor that is left is killed."""
        if self.proc.poll() is None:
            try:
                for d in self.api.cmd('domain-list', timeout=5):
                    if d.get('id', -1) >= 0:
                        self.api.cmd('domain-destroy', timeout=10, domain=d['name'])
            except Exception:
                pass
            self.proc.send_signal(signal.SIGTERM)
            self.run.reap(self.proc, 5)
        for pid in self.monitor_pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        self.api.close()


def _uuid():
    with open('/proc/sys/kernel/random/uuid') as f:
        return f.read().strip()


def domain_xml(name, kernel, mib, cmdline, mac, disk=None):
    disk_xml = '' if not disk else f"""
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw' cache='none'/>
      <source file='{disk}'/>
      <target dev='vda' bus='virtio'/>
    </disk>"""
    return f"""<domain type='kvm'>
  <name>{name}</name>
  <memory unit='MiB'>{mib}</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64'>hvm</type>
    <kernel>{kernel}</kernel>
    <cmdline>{cmdline}</cmdline>
  </os>
  <devices>{disk_xml}
    <interface type='bridge'>
      <mac address='{mac}'/>
      <source bridge='br0'/>
      <model type='virtio'/>
    </interface>
  </devices>
</domain>
"""


# ---- the guest's console, as pgrd logs it on each host ---------------------------

_libc = ctypes.CDLL(None, use_errno=True)
IN_MODIFY, IN_CREATE = 0x2, 0x100
IN_NONBLOCK, IN_CLOEXEC = 0o4000, 0o2000000


class ConsoleTail:
    """Lines (t, host, text) of STATE/log/DOM.console on each host, stamped
    as pgrd writes them: inotify on each log directory wakes one thread,
    which reads every file to its end. Same interface as benchlib.SerialHub
    (lines, wait, snapshot). A line the guest was writing when it moved
    ends in the next host's file: call moving(src, dst) before a move, and
    the fragment at the end of src's stint is joined to dst's first line —
    also when src's pgrd writes that fragment after dst's pgrd has written
    the rest (seen: the source's pgrd relays its monitor's last bytes late,
    while it handles the migration's end)."""

    def __init__(self, files):
        self.files = dict(files)           # host -> path
        self.off = {h: _size(p) for h, p in files.items()}   # what is new from now on
        self.partial = {h: b'' for h in files}
        self.fp = {}                       # host -> the file, open once it exists
        self.move = None                   # (src, dst) of the move in progress
        self.first = None                  # index in lines of dst's first line, once known
        self.late_lines = 0                # whole lines of src's written after dst's first
        self.lines = []
        self.cond = threading.Condition()
        self.fd = _libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), 'inotify_init1')
        for path in self.files.values():
            d = os.path.dirname(path)
            os.makedirs(d, exist_ok=True)
            if _libc.inotify_add_watch(self.fd, d.encode(), IN_MODIFY | IN_CREATE) < 0:
                raise OSError(ctypes.get_errno(), f'inotify_add_watch {d}')
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.fd, selectors.EVENT_READ)
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop:
            if self.sel.select(timeout=0.1):
                try:
                    os.read(self.fd, 1 << 16)
                except BlockingIOError:
                    pass
            self._read_all(bl.now())

    def moving(self, src, dst):
        with self.cond:
            self.move, self.first, self.late_lines = (src, dst), None, 0
            self.partial[dst] = b''    # a fragment never completed: nothing to join it to

    def _read_all(self, t):
        src = self.move[0] if self.move else None
        for h in sorted(self.files, key=lambda h: h != src):     # the source first
            f = self.fp.get(h)
            if f is None:
                try:
                    f = self.fp[h] = open(self.files[h], 'rb')
                except OSError:
                    continue
                f.seek(self.off[h])
            data = f.read()
            if data:
                with self.cond:
                    self._feed(h, data, t)
                    self.cond.notify_all()

    def _feed(self, h, data, t):
        src, dst = self.move or (None, None)
        if h == dst and self.first is None:
            self.first = len(self.lines)               # dst's first line comes next
            data, self.partial[src] = self.partial[src] + data, b''
        elif h == src and self.first is not None:
            # The source's last bytes, written after dst's first ones.
            buf = self.partial[src] + data
            *done, frag = buf.split(b'\n')
            self.partial[src] = b''
            self.late_lines += len(done)
            for raw in done:
                self.lines.append((t, h, raw.decode('latin-1').rstrip('\r')))
            if frag:
                self._join_late(frag.decode('latin-1'))
            return
        buf = self.partial[h] + data
        *done, self.partial[h] = buf.split(b'\n')
        for raw in done:
            self.lines.append((t, h, raw.decode('latin-1').rstrip('\r')))

    def _join_late(self, frag):
        src, dst = self.move
        if self.first < len(self.lines):
            tl, tag, text = self.lines[self.first]
            self.lines[self.first] = (tl, tag, frag + text)
        else:
            self.partial[dst] = frag.encode('latin-1') + self.partial[dst]

    def wait(self, pred, timeout):
        return bl.SerialHub.wait(self, pred, timeout)

    def snapshot(self):
        with self.cond:
            return list(self.lines)

    def dump(self, path):
        with open(path, 'w') as f:
            for t, tag, text in self.snapshot():
                f.write(f'{t:.6f} {tag} {text}\n')

    def close(self):
        self.stop = True
        self.thread.join(2)
        os.close(self.fd)
        for f in self.fp.values():
            f.close()


def _size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


# ---- pings from a third host --------------------------------------------------------

PINGER = r'''
import os, select, socket, struct, sys, time
dst = sys.argv[1]
def csum(b):
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
ident, seq, nxt, full = os.getpid() & 0xffff, 0, time.monotonic(), {}
out = sys.stdout
while True:
    now = time.monotonic()
    if now >= nxt:
        seq += 1
        hdr = struct.pack('!BBHHH', 8, 0, 0, ident, seq & 0xffff) + b'pgr-bench!'
        s.sendto(struct.pack('!BBHHH', 8, 0, csum(hdr), ident, seq & 0xffff) + b'pgr-bench!', (dst, 0))
        full[seq & 0xffff] = seq
        out.write('S %d %.6f\n' % (seq, now))
        nxt = max(nxt + 0.01, now)
    r, _, _ = select.select([s, sys.stdin], [], [], max(0.0, nxt - time.monotonic()))
    if sys.stdin in r and not os.read(0, 64):
        break
    if s in r:
        data, addr = s.recvfrom(2048)
        t = time.monotonic()
        icmp = data[(data[0] & 15) * 4:]
        if addr[0] == dst and icmp[0] == 0 and struct.unpack('!H', icmp[4:6])[0] == ident:
            q = full.get(struct.unpack('!H', icmp[6:8])[0])
            if q is not None:
                out.write('R %d %.6f\n' % (q, t))
    out.flush()
'''


class Pinger:
    """ICMP echo to @ip from @host every 10 ms for as long as it runs; the
    send and reply times (CLOCK_MONOTONIC, the harness's clock) come back
    on a pipe and are kept here."""

    def __init__(self, run, net, host, ip):
        argv = net.exec_argv(host, [sys.executable, '-u', '-c', PINGER, ip])
        self.err = run.path('pinger.err')
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=open(self.err, 'wb'),
                                     preexec_fn=bl._die_with_parent)
        bl._LIVE.append(self.proc)
        self.sent, self.recv = {}, {}
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.proc.stdout:
            kind, seq, t = line.split()
            with self.lock:
                (self.sent if kind == b'S' else self.recv).setdefault(int(seq), float(t))

    def window(self, t0, t1):
        """Requests sent in [t0, t1): sent, lost, the longest run of
        consecutive lost requests (count, and ms from the first lost one's
        send to the next answered one's), and the longest time between
        replies (ms) over the window."""
        if self.proc.poll() is not None:
            with open(self.err, errors='replace') as f:
                raise RuntimeError(f'the pinger exited: {f.read().strip()[-300:]}')
        with self.lock:
            sent = sorted((t, q) for q, t in self.sent.items() if t0 <= t < t1)
            got = sorted(t for q, t in self.recv.items() if q in self.sent and
                         t0 <= self.sent[q] < t1)
            answered = {q for q in self.recv}
        lost = [q for _, q in sent if q not in answered]
        run, best, best_ms, start = 0, 0, 0.0, None
        end = sent[-1][0] + 0.01 if sent else t1       # a run lost at the very end
        for t, q in sent + [(end, None)]:
            if q is not None and q not in answered:
                if run == 0:
                    start = t
                run += 1
            else:
                if run > best:
                    best, best_ms = run, (t - start) * 1000
                run = 0
        times = [t0] + got + [t1]
        gap, at = max((b - a, a) for a, b in zip(times, times[1:]))
        return {'sent': len(sent), 'lost': len(lost), 'lost_run': best,
                'lost_run_ms': best_ms, 'reply_gap_ms': gap * 1000,
                'reply_gap_from_ms': (at - t0) * 1000}

    def stop(self):
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
