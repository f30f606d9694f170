# SPDX-License-Identifier: GPL-2.0-only
#
# benchlib.py: what the benchmarks share — one reader thread that
# timestamps every serial line of every attached guest console on one clock
# (time.monotonic(), as the bytes arrive), a small QMP client (QEMU's and
# pgr-vmm's API socket speak the same framing), how to start each monitor
# with the same guest and parameters, /proc/PID/smaps accounting, heartbeat
# statistics, and the JSON results file.
#
# It deliberately knows nothing about what a benchmark measures: boot.py and
# migrate.py (its neighbours in bench/) drive the monitors; run.sh runs them.
# It is not a test helper: nothing here runs from `make check`.
import atexit
import ctypes
import hashlib
import json
import os
import platform
import re
import resource
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get('BENCH_BUILD') or os.path.join(ROOT, 'build')   # run.sh BENCH_REV
VMM = os.path.join(BUILD, 'pgr-vmm')
GUEST = os.path.join(BUILD, 'guest', 'pgr-testguest.elf')
QEMU = shutil.which('qemu-system-x86_64') or 'qemu-system-x86_64'
RESULTS = os.path.join(ROOT, 'bench', 'results')
HB = re.compile(r'^H(\d+)$')
_T0 = time.monotonic()


def now():
    return time.monotonic()


def log(msg):
    print(f'[{time.strftime("%H:%M:%S")}] {msg}', flush=True)


# ---- serial consoles ------------------------------------------------------

class SerialHub:
    """Reads every attached console in one thread; lines are (t, tag, text)."""

    def __init__(self):
        self.sel = selectors.DefaultSelector()
        self.lines = []
        self.cond = threading.Condition()
        self.socks = {}
        self.partial = {}
        self.eof_partial = {}
        self.attached_at = {}
        self.successor = {}
        self.pending = []
        self.wake_r, self.wake_w = socket.socketpair()
        self.sel.register(self.wake_r, selectors.EVENT_READ, None)
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def attach(self, tag, path, timeout=60.0, proc=None):
        """Connect to a unix console as soon as it exists, in the background."""
        def attacher():
            s = connect_unix(path, timeout, proc)
            with self.cond:
                self.pending.append((tag, s))
                self.attached_at[tag] = now() if s else None
                self.cond.notify_all()
            self.wake_w.send(b'x')
        threading.Thread(target=attacher, daemon=True).start()

    def _register_pending(self):
        with self.cond:
            pending, self.pending = self.pending, []
        for tag, s in pending:
            if s is None:
                continue
            s.setblocking(False)
            self.socks[tag] = s
            self.partial[tag] = b''
            self.sel.register(s, selectors.EVENT_READ, tag)

    def _read(self, key):
        tag = key.data
        try:
            data = key.fileobj.recv(1 << 16)
        except BlockingIOError:
            return
        except OSError:
            data = b''
        t = now()
        if not data:
            self.sel.unregister(key.fileobj)
            if self.partial[tag]:
                with self.cond:
                    self.eof_partial[tag] = (t, self.partial[tag].decode('latin-1'))
            return
        buf = self.partial[tag] + data
        *done, self.partial[tag] = buf.split(b'\n')
        if done:
            with self.cond:
                for raw in done:
                    text = raw.decode('latin-1').rstrip('\r')
                    self.lines.append((t, tag, text))
                self.cond.notify_all()

    def _run(self):
        while not self.stop:
            for key, _ in self.sel.select(timeout=0.1):
                if key.data is None:
                    self.wake_r.recv(64)
                    self._register_pending()
                else:
                    self._read(key)

    def send(self, tag, text):
        s = self.socks.get(tag)
        if s:
            s.setblocking(True)
            s.sendall(text.encode() + b'\n')
            s.setblocking(False)

    def wait(self, pred, timeout):
        """Wait until pred(line) holds for a line seen from now on or before.
        Returns the first matching (t, tag, text) or None."""
        deadline = now() + timeout
        i = 0
        with self.cond:
            while True:
                for line in self.lines[i:]:
                    if pred(line):
                        return line
                i = len(self.lines)
                left = deadline - now()
                if left <= 0:
                    return None
                self.cond.wait(min(left, 0.5))

    def wait_attached(self, tag, timeout):
        deadline = now() + timeout
        with self.cond:
            while tag not in self.attached_at and now() < deadline:
                self.cond.wait(0.1)
            return self.attached_at.get(tag)

    def snapshot(self):
        """All lines so far. A line a process left unfinished when its
        console closed (it was paused mid-line, then saved or migrated) is
        joined to the first line of the process that took over from it,
        given as self.successor[tag], at the time the line was completed."""
        with self.cond:
            lines = list(self.lines)
            joins = {a: (self.eof_partial[a], b) for a, b in self.successor.items()
                     if a in self.eof_partial}
        for a, ((t, text), b) in joins.items():
            for i, (tb, tag, tx) in enumerate(lines):
                if tag == b:
                    lines[i] = (tb, b, text + tx)
                    break
        return lines

    def dump(self, path):
        with open(path, 'w') as f:
            for t, tag, text in self.snapshot():
                f.write(f'{t:.6f} {tag} {text}\n')
            for tag, (t, text) in self.eof_partial.items():
                f.write(f'{t:.6f} {tag} (unfinished at close) {text}\n')

    def close(self):
        self.stop = True
        self.wake_w.send(b'x')
        self.thread.join(2)
        for s in self.socks.values():
            s.close()


def connect_unix(path, timeout, proc=None):
    """Connect to a unix socket, polling every 0.5 ms until it accepts."""
    deadline = now() + timeout
    while now() < deadline:
        if proc is not None and proc.poll() is not None:
            return None
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            return s
        except OSError:
            s.close()
            time.sleep(0.0005)
    return None


# ---- QMP ------------------------------------------------------------------

class Qmp:
    """Line-based QMP client; events are kept with their arrival time."""

    def __init__(self, path, timeout=60.0, proc=None):
        self.sock = connect_unix(path, timeout, proc)
        if self.sock is None:
            raise RuntimeError(f'cannot connect to the API socket {path}')
        self.buf = b''
        self.events = []
        self.closed = False
        self.greeting = self._recv(timeout)

    def _recv(self, timeout):
        deadline = now() + timeout
        while b'\n' not in self.buf:
            left = deadline - now()
            if left <= 0 or self.closed:
                return None
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(1 << 16)
            except socket.timeout:
                return None
            except OSError:
                data = b''
            if not data:
                self.closed = True
                return None
            self.buf += data
        line, self.buf = self.buf.split(b'\n', 1)
        return json.loads(line)

    def _next(self, timeout):
        msg = self._recv(timeout)
        if msg is not None and 'event' in msg:
            self.events.append((now(), msg))
        return msg

    def cmd(self, name, timeout=30.0, **args):
        req = {'execute': name}
        if args:
            req['arguments'] = args
        self.sock.sendall(json.dumps(req).encode() + b'\n')
        deadline = now() + timeout
        while now() < deadline:
            msg = self._next(deadline - now())
            if msg is None:
                break
            if 'return' in msg:
                return msg['return']
            if 'error' in msg:
                raise RuntimeError(f'{name}: {msg["error"].get("desc")}')
        raise RuntimeError(f'{name}: no reply')

    def wait_event(self, pred, timeout):
        """Returns (t, event) for the first event (old or new) matching pred."""
        deadline = now() + timeout
        seen = 0
        while True:
            for ev in self.events[seen:]:
                if pred(ev[1]):
                    return ev
            seen = len(self.events)
            left = deadline - now()
            if left <= 0 or self.closed:
                return None
            self._next(min(left, 0.5))

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def migration_event(status_set):
    return lambda e: (e.get('event') == 'MIGRATION' and
                      e.get('data', {}).get('status') in status_set)


# ---- monitors --------------------------------------------------------------

_LIVE = []                      # every process spawned, for the exit handler


def _kill_leftovers():
    for p in _LIVE:
        if p.poll() is None:
            p.kill()
            p.wait()


atexit.register(_kill_leftovers)
_libc = ctypes.CDLL(None, use_errno=True)
PR_SET_PDEATHSIG = 1


def _die_with_parent():
    """In the child: SIGKILL when the benchmark dies, however it dies."""
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class Run:
    """A work directory and the processes started in it."""

    def __init__(self, name):
        os.makedirs('/tmp/pgr-bench', exist_ok=True)
        self.dir = tempfile.mkdtemp(prefix=f'{name}.', dir='/tmp/pgr-bench')
        self.procs = []

    def path(self, name):
        return os.path.join(self.dir, name)

    def spawn(self, argv, logname):
        out = open(self.path(logname), 'wb')
        t = now()
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                             stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        out.close()
        _LIVE.append(p)
        p.t_spawn = t
        p.argv = argv
        self.procs.append(p)
        return p

    def reap(self, p, timeout=10.0):
        try:
            return p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            return p.wait()

    def cleanup(self, keep=False):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
                p.wait()
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)


class Peregrine:
    name = 'peregrine'
    cancel_cmd = 'migrate-cancel'

    def boot_argv(self, guest, serial, api, mem_mib, cpus, append):
        return [VMM, '--serial', f'unix:{serial}', '--api-socket', api,
                '--kernel', guest, '--cmdline', append,
                '--memory', f'{mem_mib}M', '--cpus', str(cpus)]

    def incoming_argv(self, guest, serial, api, mem_mib, cpus, append, uri):
        return [VMM, '--incoming', uri, '--serial', f'unix:{serial}',
                '--api-socket', api]

    def save_uri(self, path):
        return f'file:{path}'

    def restore_uri(self, path):
        return f'file:{path}'

    def prepare(self, qmp):
        qmp.cmd('qmp_capabilities')


class Qemu:
    name = 'qemu'
    cancel_cmd = 'migrate_cancel'

    def boot_argv(self, guest, serial, api, mem_mib, cpus, append):
        return [QEMU, '-enable-kvm', '-cpu', 'host', '-m', f'{mem_mib}M',
                '-smp', str(cpus), '-kernel', guest, '-append', append,
                '-serial', f'unix:{serial},server=on,wait=off',
                '-qmp', f'unix:{api},server=on,wait=off', '-display', 'none']

    def incoming_argv(self, guest, serial, api, mem_mib, cpus, append, uri):
        return self.boot_argv(guest, serial, api, mem_mib, cpus, append) + \
            ['-incoming', uri]

    def save_uri(self, path):
        return f'exec:cat > {path}'

    def restore_uri(self, path):
        return f'exec:cat {path}'

    def prepare(self, qmp):
        """Events on; QEMU's default 128 MiB/s bandwidth cap lifted (as
        libvirt does for save): the benchmarks run with no cap at all."""
        qmp.cmd('qmp_capabilities')
        qmp.cmd('migrate-set-capabilities',
                capabilities=[{'capability': 'events', 'state': True}])
        qmp.cmd('migrate-set-parameters', **{'max-bandwidth': NO_CAP})


class PeregrineLazy(Peregrine):
    """Restores with --lazy: resumed before RAM is read, each chunk checked
    on first touch (docs/migration.md)."""
    name = 'peregrine-lazy'

    def incoming_argv(self, guest, serial, api, mem_mib, cpus, append, uri):
        argv = super().incoming_argv(guest, serial, api, mem_mib, cpus, append, uri)
        return argv + ['--lazy'] if uri.startswith('file:') else argv


NO_CAP = 10**12         # bytes/s, 1 TB/s: no cap on loopback
MONITORS = {'peregrine': Peregrine(), 'peregrine-lazy': PeregrineLazy(), 'qemu': Qemu()}


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def tcp_listening(port):
    """True once something listens on 127.0.0.1:port (read from /proc, so
    that checking does not use up a one-shot incoming connection)."""
    want = f'0100007F:{port:04X}'
    for table in ('/proc/net/tcp',):
        with open(table) as f:
            for row in f.readlines()[1:]:
                cols = row.split()
                if cols[1] == want and cols[3] == '0A':
                    return True
    return False


def wait_until(pred, timeout, step=0.001):
    deadline = now() + timeout
    while now() < deadline:
        if pred():
            return True
        time.sleep(step)
    return False


# ---- memory accounting ----------------------------------------------------

def smaps(pid):
    """[(start, size_kib, rss_kib, private_kib, name)] of /proc/PID/smaps."""
    maps, cur = [], None
    with open(f'/proc/{pid}/smaps') as f:
        for line in f:
            head = line.split()
            if re.match(r'^[0-9a-f]+-[0-9a-f]+ ', line):
                lo, hi = (int(x, 16) for x in head[0].split('-'))
                cur = {'start': lo, 'size': (hi - lo) // 1024, 'rss': 0,
                       'private': 0, 'name': head[5] if len(head) > 5 else ''}
                maps.append(cur)
            elif head[0] == 'Rss:':
                cur['rss'] = int(head[1])
            elif head[0] in ('Private_Clean:', 'Private_Dirty:'):
                cur['private'] += int(head[1])
    return maps


def overhead(pid, ram_mib):
    """Monitor RSS minus the guest RAM mapping(s), in MiB. The RAM mappings
    are the anonymous ones of at least 128 MiB; their sizes must add up to
    the guest's RAM (within 8 MiB of alignment slack) or this raises."""
    maps = smaps(pid)
    ram = [m for m in maps if m['size'] >= 128 * 1024 and not m['name'].startswith('/')]
    ram_kib = sum(m['size'] for m in ram)
    if abs(ram_kib - ram_mib * 1024) > 8 * 1024:
        raise RuntimeError(f'pid {pid}: large mappings add up to {ram_kib} KiB, '
                           f'not the guest RAM {ram_mib} MiB')
    total = sum(m['rss'] for m in maps)
    guest = sum(m['rss'] for m in ram)
    private = sum(m['private'] for m in maps) - sum(m['private'] for m in ram)
    return {'rss_total_mib': total / 1024, 'rss_guest_ram_mib': guest / 1024,
            'overhead_mib': (total - guest) / 1024,
            'overhead_private_mib': private / 1024,
            'ram_mappings_mib': [m['size'] / 1024 for m in ram]}


class CpuSampler:
    """Time on CPU and time runnable but waiting for a CPU (schedstat) of
    every thread of some processes and their children over an interval, sampled every @period
    s (a process that exits keeps its last sample): which thread did the
    work, and how much the host's other load held each thread back."""

    def __init__(self, pids, period=0.05, follow=None):
        self.pids, self.period = dict(pids), period
        self.first, self.last = {}, {}
        self.follow, self.series = follow, []   # (t, run s, wait s) of tid @follow
        self.stop_flag = False
        self.t0 = now()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    @staticmethod
    def _tree(pid):
        """@pid's threads and those of its descendants (QEMU's exec: URI
        runs sh and cat: their work is the save's work too)."""
        out, todo = [], [pid]
        while todo:
            p = todo.pop()
            try:
                tids = os.listdir(f'/proc/{p}/task')
            except OSError:
                continue
            for tid in tids:
                out.append((p, tid))
                try:
                    with open(f'/proc/{p}/task/{tid}/children') as f:
                        todo += [int(c) for c in f.read().split()]
                except OSError:
                    pass
        return out

    def _sample(self):
        for name, pid in self.pids.items():
            for p, tid in self._tree(pid):
                try:
                    with open(f'/proc/{p}/task/{tid}/schedstat') as f:
                        run_ns, wait_ns = (int(x) for x in f.read().split()[:2])
                except (OSError, ValueError):
                    continue
                key = (name, int(tid))
                self.first.setdefault(key, (run_ns, wait_ns))
                self.last[key] = (run_ns, wait_ns)
                if self.follow is not None and int(tid) == self.follow:
                    self.series.append((now(), run_ns / 1e9, wait_ns / 1e9))

    def _run(self):
        while not self.stop_flag:
            self._sample()
            time.sleep(self.period)

    def stop(self):
        """{name: [[tid, cpu s, wait s], ...] busiest first, 'wall_s': ...}"""
        self.stop_flag = True
        self.thread.join(2)
        out = {'wall_s': now() - self.t0}
        for (name, tid), (run_ns, wait_ns) in self.last.items():
            r0, w0 = self.first[(name, tid)]
            out.setdefault(name, []).append(
                [tid, round((run_ns - r0) / 1e9, 3), round((wait_ns - w0) / 1e9, 3)])
        for name in self.pids:
            out.setdefault(name, []).sort(key=lambda x: -x[1])
        return out


def user_sys(pid):
    """(user, system) CPU seconds of a whole process so far."""
    with open(f'/proc/{pid}/stat') as f:
        stat = f.read()
    fields = stat[stat.rindex(')') + 2:].split()
    tick = os.sysconf('SC_CLK_TCK')
    return int(fields[11]) / tick, int(fields[12]) / tick


def window_split(series, t0, t1):
    """How a followed thread spent [t0, t1] (widened to the samples around
    it): seconds on a CPU, waiting for one, and neither (blocked)."""
    before = [x for x in series if x[0] <= t0]
    after = [x for x in series if x[0] >= t1]
    if not before or not after:
        return None
    a, b = before[-1], after[0]
    wall = b[0] - a[0]
    run, wait = b[1] - a[1], b[2] - a[2]
    return {'window_s': wall, 'run_s': run, 'wait_s': wait,
            'blocked_s': max(0.0, wall - run - wait)}


def thread_share(sample, name, tid, column=1):
    """Seconds per wall second of thread @tid (None: the busiest) in a
    CpuSampler result: column 1 on a CPU, column 2 waiting for one."""
    for row in sample.get(name, []):
        if tid is None or row[0] == tid:
            return row[column] / sample['wall_s']
    return None


# ---- heartbeat statistics -------------------------------------------------

def heartbeats(lines, tags=None, t0=None, t1=None):
    """[(t, seq, tag)] of the H lines of @tags within [t0, t1)."""
    out = []
    for t, tag, text in lines:
        if tags is not None and tag not in tags:
            continue
        if (t0 is not None and t < t0) or (t1 is not None and t >= t1):
            continue
        m = HB.match(text)
        if m:
            out.append((t, int(m.group(1)), tag))
    return out


def max_gap(hbs):
    """Largest gap between consecutive heartbeats, in ms, and where."""
    best, at = 0.0, None
    for a, b in zip(hbs, hbs[1:]):
        if b[0] - a[0] > best:
            best, at = b[0] - a[0], a
    return best * 1000, at


def rate(hbs):
    if len(hbs) < 2 or hbs[-1][0] == hbs[0][0]:
        return 0.0
    return (len(hbs) - 1) / (hbs[-1][0] - hbs[0][0])


def sequence_problems(hbs):
    """Missing or repeated heartbeat numbers, as short strings."""
    bad = []
    for a, b in zip(hbs, hbs[1:]):
        if b[1] != a[1] + 1:
            bad.append(f'H{a[1]}({a[2]}) then H{b[1]}({b[2]})')
    return bad


def corrupt_lines(lines):
    return [f'{tag}: {text}' for _, tag, text in lines
            if text.startswith(('CORRUPT', 'FAULT', 'FATAL'))
            or re.match(r'^V\d+ .*corrupt=[1-9]', text)]


def guest_times(lines, tag=None):
    """The guest's own TIMES line, as a dict of integers."""
    for _, t, text in lines:
        if text.startswith('TIMES ') and (tag is None or t == tag):
            return {k: int(v) for k, v in re.findall(r'(\w+)=(\d+)', text)}
    return {}


# ---- summaries and results --------------------------------------------------

def summary(values):
    vals = [v for v in values if v is not None]
    if not vals:
        return None
    return {'median': statistics.median(vals), 'min': min(vals), 'max': max(vals),
            'n': len(vals)}


def fmt(s, unit='', digits=1):
    if not s:
        return 'n/a'
    f = f'{{:.{digits}f}}'
    return f'{f.format(s["median"])}{unit} ({f.format(s["min"])}–{f.format(s["max"])})'


def ratio(q, p):
    if not q or not p or not p['median']:
        return 'n/a'
    return f'{q["median"] / p["median"]:.1f}x'


def sha256(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        h.update(f.read())
    return h.hexdigest()


def snapshot_binaries(run):
    """Copy pgr-vmm and the guest, so that a rebuild during the run (others
    work in the same tree) cannot change what is measured halfway. Returns
    the guest's copy; pgr-vmm's copy replaces VMM for this process."""
    global VMM
    vmm = run.path('pgr-vmm')
    shutil.copy2(VMM, vmm)
    VMM = vmm
    guest = run.path('pgr-testguest.elf')
    shutil.copyfile(GUEST, guest)
    return guest


def environment(guest_copy):
    def out(argv):
        try:
            return subprocess.run(argv, capture_output=True, text=True,
                                  cwd=ROOT).stdout.strip()
        except OSError:
            return None
    return {
        'date': time.strftime('%Y-%m-%d %H:%M:%S %z'),
        'host': platform.node(), 'kernel': platform.release(),
        'cpus': os.cpu_count(), 'loadavg_start': os.getloadavg(),
        'git': os.environ.get('BENCH_REV_DESC') or out(['git', 'describe', '--always', '--dirty']),
        'build': BUILD,
        'qemu': out([QEMU, '--version']).splitlines()[0],
        'pgr_vmm_sha256': sha256(VMM), 'guest_sha256': sha256(guest_copy),
    }


def save_results(name, doc):
    os.makedirs(RESULTS, exist_ok=True)
    doc['environment']['loadavg_end'] = os.getloadavg()
    ru = resource.getrusage(resource.RUSAGE_SELF)
    doc['environment']['harness_cpu_s'] = ru.ru_utime + ru.ru_stime   # this script's own
    doc['environment']['harness_wall_s'] = now() - _T0
    path = name if '/' in name else os.path.join(RESULTS, f'{name}.json')
    with open(path + '.tmp', 'w') as f:
        json.dump(doc, f, indent=1, sort_keys=True)
    os.replace(path + '.tmp', path)
    return path
