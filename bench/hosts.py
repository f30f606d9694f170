#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
#
# hosts.py: `pgr migrate --live` between two namespaced hosts, against the
# bare monitors moving the same guest over the same link, with a third
# host pinging the guest throughout.
#
# Three hosts are network namespaces on one bridge (hostslib.py): hosta and
# hostb each run a pgrd (own state dir and socket, relocation server on
# port 8002 of its address, an allow-list naming the other host), hostc
# only pings. The guest is migrate.py's small one (1 GiB, fill=768) with a
# virtio NIC on br0 at 10.89.0.100. For each kind, in turn, per run:
#
#   pgr    defined and started on hosta through pgrd; for each dirty rate a
#          quiet period, then `pgr migrate --live --persistent web
#          pgr+tcp://hostb/` and back. Figures: the pgr command's wall time,
#          the daemon's total_ms / downtime_ms / transferred
#          (domain-job-info on the source after the move, the same figures
#          domain-migrate answers), both pgrds' CPU.
#   bare   pgr-vmm in hosta, `pgr-vmm --incoming tcp:HOSTB:PORT` in hostb,
#          `migrate` on the source's API socket, and back: migrate.py's
#          figures (reported total-time and downtime, migrate to completed,
#          and destination spawn to source exit: what pgrd's move also
#          spans).
#   qemu   the same with QEMU 7.2 (taps made beforehand; QEMU does not
#          bridge), bandwidth cap lifted as in migrate.py.
#
# The guest's serial line is stamped on one clock (time.monotonic()) as its
# bytes arrive here: for pgr from each host's STATE/log/web.console as pgrd
# appends to it (inotify), for bare and qemu from the monitors' serial
# sockets (benchlib.SerialHub). The pinger's send and reply times are on
# the same clock. A move is invalid if a heartbeat is missing or repeated
# across it, or the guest reports corruption; each move is followed by two
# verify sweeps on the new host (the second one entirely after the move).
#
#   bench/hosts.py [--runs N] [--kinds pgr,bare,qemu] [--rates 0,100,500] [--disk]
#
# --disk adds a 16 MiB image on storage both hosts see (cache=none) with
# the guest's blk=mix workload running on it throughout (random writes of
# 4-32 KiB beside sequential verify passes, every block checked): a move is
# invalid if the workload reports an error, a corrupt block or a request
# posted before the move and not done after it.
import argparse
import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import time

import benchlib as bl
import hostslib as hl
import migrate as mg

MEM, FILL = 1024, 768
# --disk: a 16 MiB image both hosts see, cache=none, the guest's blk=mix on
# it (random writes beside sequential verify passes, every block checked)
DISK_MIB = 16
BLK = 'blk=mix blkmib=4 blkrate=4096 blkseed=7'
DISK = None                      # the image's path, with --disk
DISK_PASS = re.compile(r'^BV\d+ blocks=\d+ errors=\d+ ')
DOM = 'web'
MAC = '52:54:00:89:00:64'
GUEST_IP = f'{hl.NET}.100'
HOSTS = ('hosta', 'hostb')
PINGER_HOST = 'hostc'
QUIET_S = 2.0
AFTER_S = 1.0                  # watched after the first heartbeat on the new host
MOVE_TIMEOUT_S = 90
BARE_PORT = 4444
VMM_TAP, QEMU_TAP = 'pgrbv0', 'pgrbq0'
HB = bl.HB
PHASE = re.compile(r'^(\d+\.\d+) pgr-vmm\S* migration: info: migration (setup|device|completed)$')
RESUMED = re.compile(r'^(\d+\.\d+) pgr-vmm\S* incoming: info: resumed ')
EPOCH = time.time() - time.monotonic()     # monitors log wall-clock times; ours are monotonic
STATS = re.compile(r'^STATS hb=(\d+) sweeps=(\d+) dirtied=(\d+) corrupt=(\d+)( rx=\d+ tx=\d+)?$')


def other(host):
    return HOSTS[1] if host == HOSTS[0] else HOSTS[0]


class Bench:
    """What lives for the whole run: namespaces, pgrds, pinger, binaries."""

    def __init__(self, run, bins):
        self.run, self.bins = run, bins
        self.net = hl.Net(HOSTS + (PINGER_HOST,))
        self.hosts, self.pinger = {}, None

    def start(self):
        self.net.setup()
        for h in HOSTS:
            self.net.add_tap(h, QEMU_TAP)
            self.hosts[h] = hl.Host(self.run, self.net, h, [other(h)],
                                    self.bins['pgrd'], bl.VMM)
        self.pinger = hl.Pinger(self.run, self.net, PINGER_HOST, GUEST_IP)

    def stop(self):
        self.pinger_cpu_s = None
        if self.pinger:
            try:
                self.pinger_cpu_s = sum(bl.user_sys(self.pinger.proc.pid))
            except OSError:
                pass
            self.pinger.stop()
        for h in self.hosts.values():
            h.stop()
        self.net.teardown()


# ---- the guest under pgrd ------------------------------------------------------

class PgrGuest:
    kind = 'pgr'

    def __init__(self, b, guest):
        self.b, self.guest, self.tag = b, guest, HOSTS[0]
        self.hub = hl.ConsoleTail({h: b.hosts[h].console_path(DOM) for h in HOSTS})

    def boot(self, rec):
        a = self.b.hosts[self.tag]
        xml = hl.domain_xml(DOM, self.guest, MEM, cmdline(), MAC, DISK)
        a.api.cmd('domain-define', xml=xml)
        t0 = bl.now()
        a.api.cmd('domain-start', timeout=60, domain=DOM)
        return t0

    def send(self, text):
        self.b.hosts[self.tag].console_send(DOM, text)

    def move(self, rec):
        src, dst = self.tag, other(self.tag)
        hs, hd = self.b.hosts[src], self.b.hosts[dst]
        cpu0 = [bl.user_sys(h.proc.pid) for h in (hs, hd)]
        self.hub.moving(src, dst)
        env = dict(os.environ, PGR_SOCKET=hs.sock)
        argv = [self.b.bins['pgr'], 'migrate', '--live', '--persistent', DOM,
                f'pgr+tcp://{dst}/']
        t_cmd = bl.now()
        r = subprocess.run(argv, env=env, capture_output=True, text=True,
                           timeout=MOVE_TIMEOUT_S)
        t_end = bl.now()
        cpu1 = [bl.user_sys(h.proc.pid) for h in (hs, hd)]
        rec['pgrd_cpu_s'] = sum(sum(b) - sum(a) for a, b in zip(cpu0, cpu1))
        rec['pgr_output'] = (r.stdout + r.stderr).strip()
        if r.returncode != 0:
            raise RuntimeError(f'pgr migrate {src} -> {dst}: {rec["pgr_output"]}')
        rec['wall_ms'] = (t_end - t_cmd) * 1000
        job = hs.api.cmd('domain-job-info', domain=DOM)
        rec['job_info'] = job
        rec['total_ms'] = job.get('elapsed_ms')
        if job.get('status') == 'completed':
            rec.update({'downtime_ms': job.get('downtime_ms'),
                        'bytes': job.get('memory_processed'), 'rounds': job.get('iteration')})
        else:
            # pgrd kept a query-migrate answer from before the end (seen:
            # 'status': 'active', no downtime): not the move's figures.
            rec.update({'downtime_ms': None, 'bytes': None, 'rounds': None,
                        'daemon_figures_stale': True})
        if rec['bytes'] is not None:
            rec['bytes_mib'] = rec['bytes'] / 2**20
        stream_phases(rec, os.path.join(hs.state, 'log', f'{DOM}.log'), t_cmd, t_end)
        rec['console_late_src_lines'] = self.hub.late_lines
        rec['dest_resumed_t'] = log_time(os.path.join(hd.state, 'log', f'{DOM}.log'),
                                         RESUMED, t_cmd)
        self.tag = dst
        self.wait_running(hd)
        rec['hop'] = [src, dst]
        return t_cmd, t_end

    @staticmethod
    def wait_running(h):
        deadline = bl.now() + 20
        while bl.now() < deadline:
            i = h.info(DOM)
            if i and i.get('state') == 'running':
                return i
            time.sleep(0.05)
        raise RuntimeError(f'{DOM} not running on {h.name}: {h.info(DOM)}')

    def stop(self):
        for h in HOSTS:
            api = self.b.hosts[h].api
            for cmd in ('domain-destroy', 'domain-undefine'):
                try:
                    api.cmd(cmd, timeout=10, domain=DOM)
                except RuntimeError:
                    pass
        self.hub.close()


# ---- the bare monitors ----------------------------------------------------------

class BareGuest:
    """pgr-vmm or QEMU processes p0, p1, ... alternating between the hosts."""

    def __init__(self, b, guest, mon):
        self.b, self.guest, self.mon = b, guest, bl.MONITORS[mon]
        self.kind = 'bare' if mon == 'peregrine' else 'qemu'
        self.hub = bl.SerialHub()
        self.procs, self.where, self.k = {}, {}, 0
        self.append = cmdline()

    @property
    def tag(self):
        return f'p{self.k}'

    def argv(self, tag, uri):
        serial, api = self.b.run.path(f'{tag}.serial'), self.b.run.path(f'{tag}.api')
        if self.mon.name == 'qemu':
            argv = self.mon.boot_argv(self.guest, serial, api, MEM, 1, self.append) + [
                '-net', 'none',
                '-netdev', f'tap,id=n0,ifname={QEMU_TAP},script=no,downscript=no',
                '-device', f'virtio-net-pci,netdev=n0,disable-legacy=on,mac={MAC}']
            if DISK:
                argv += ['-drive', f'if=none,id=d0,file={DISK},format=raw,cache=none',
                         '-device', 'virtio-blk-pci,drive=d0,disable-legacy=on']
            return argv + (['-incoming', uri] if uri else [])
        if uri:
            argv = self.mon.incoming_argv(self.guest, serial, api, MEM, 1, self.append, uri)
        else:
            argv = self.mon.boot_argv(self.guest, serial, api, MEM, 1, self.append)
        disk = ['--disk', f'path={DISK},cache=none'] if DISK else []
        return argv + ['--net', f'tap={VMM_TAP},mac={MAC},bridge=br0'] + disk

    def spawn(self, tag, host, uri=None):
        p = self.b.run.spawn(self.b.net.exec_argv(host, self.argv(tag, uri)), f'{tag}.log')
        p.api, p.qmp = self.b.run.path(f'{tag}.api'), None
        self.procs[tag], self.where[tag] = p, host
        self.hub.attach(tag, self.b.run.path(f'{tag}.serial'), timeout=120, proc=p)
        return p

    def qmp(self, tag):
        p = self.procs[tag]
        if p.qmp is None:
            p.qmp = bl.Qmp(p.api, 60, p)
            self.mon.prepare(p.qmp)
        return p.qmp

    def boot(self, rec):
        p = self.spawn(self.tag, HOSTS[0])
        self.qmp(self.tag)
        return p.t_spawn

    def send(self, text):
        self.hub.send(self.tag, text)

    def move(self, rec):
        src, dst = self.tag, f'p{self.k + 1}'
        src_host = self.where[src]
        dst_host = other(src_host)
        port = BARE_PORT + self.k % 100
        uri = f'tcp:{self.b.net.ip[dst_host]}:{port}'
        d = self.spawn(dst, dst_host, uri)
        if not bl.wait_until(lambda: listening(d.pid, self.b.net.ip[dst_host], port)
                             or d.poll() is not None, 60):
            raise RuntimeError(f'{dst}: not listening on {uri}')
        rec['dest_listening_ms'] = (bl.now() - d.t_spawn) * 1000
        if d.poll() is not None:
            raise RuntimeError(f'{dst}: exited with {d.returncode}: {log_tail(self.b.run, dst)}')
        self.hub.successor[src] = dst
        q = self.qmp(src)
        t_cmd = bl.now()
        q.cmd('migrate', uri=uri)
        ev = q.wait_event(bl.migration_event(mg.FINAL), MOVE_TIMEOUT_S)
        if not ev or ev[1]['data']['status'] != 'completed':
            raise RuntimeError(f'{src} -> {dst}: {ev[1]["data"] if ev else "no end in time"}')
        rec['host_total_ms'] = (ev[0] - t_cmd) * 1000
        data = mg.qemu_final_stats(q) if self.mon.name == 'qemu' else ev[1]['data']
        mg.record_stats(rec, data)
        if self.mon.name == 'qemu':
            q.cmd('quit')
        t_end = wait_exit(self.procs[src], 30)
        rec['src_exit_after_event_ms'] = (t_end - ev[0]) * 1000
        rec['wall_ms'] = (t_end - d.t_spawn) * 1000
        rec['cmd_to_exit_ms'] = (t_end - t_cmd) * 1000
        stream_phases(rec, self.b.run.path(f'{src}.log'), d.t_spawn, t_end)
        rec['dest_resumed_t'] = log_time(self.b.run.path(f'{dst}.log'), RESUMED, t_cmd)
        attached = self.hub.wait_attached(dst, 1)
        rec['dest_console_attached_ms'] = (attached - d.t_spawn) * 1000 if attached else None
        rec['hop'] = [f'{src}@{src_host}', f'{dst}@{dst_host}']
        self.k += 1
        return t_cmd, t_end

    def stop(self):
        for tag, p in self.procs.items():
            if p.poll() is None:
                try:
                    self.qmp(tag).cmd('quit', timeout=5)
                except Exception:
                    p.kill()
                self.b.run.reap(p)
        self.hub.close()


def stream_phases(rec, log, t0, t1):
    """Split the move [t0, t1] (our clock) at the source monitor's own
    'migration setup' and 'migration completed' log lines (wall clock, ms):
    before the stream (for pgr: the CLI, both pgrds, the destination's
    checks and monitor; bare: the destination's start), the stream, after
    it (the source monitor's exit, and for pgr the answer)."""
    seen = {}
    for what in ('setup', 'device', 'completed'):
        t = log_time(log, PHASE, t0, what)
        if t is not None:
            seen[what] = t
    rec['src_paused_t'] = seen.get('device')
    if 'setup' in seen and 'completed' in seen:
        rec['before_stream_ms'] = (seen['setup'] - t0) * 1000
        rec['stream_ms'] = (seen['completed'] - seen['setup']) * 1000
        rec['after_stream_ms'] = (t1 - seen['completed']) * 1000


def wait_exit(p, timeout):
    """Wait for @p to exit (a pidfd: the moment it does, not the next
    poll); returns when, on our clock."""
    try:
        fd = os.pidfd_open(p.pid)
    except OSError:
        p.wait(timeout)
        return bl.now()
    try:
        sel = selectors.DefaultSelector()
        sel.register(fd, selectors.EVENT_READ)
        sel.select(timeout)
        t = bl.now()
        sel.close()
    finally:
        os.close(fd)
    p.wait(5)
    return t


def log_time(log, regex, t0, what=None):
    """Our-clock time of the first line of a monitor's log matching
    @regex (group 2 == @what, if given) logged at or after @t0."""
    try:
        with open(log, errors='replace') as f:
            for line in f:
                m = regex.match(line.strip())
                if m and (what is None or m.group(2) == what) and \
                        float(m.group(1)) - EPOCH >= t0 - 0.002:
                    return float(m.group(1)) - EPOCH
    except OSError:
        pass
    return None


def listening(pid, ip, port):
    """Something listens on ip:port in @pid's network namespace."""
    a = ''.join(f'{int(x):02X}' for x in reversed(ip.split('.')))
    want = f'{a}:{port:04X}'
    try:
        with open(f'/proc/{pid}/net/tcp') as f:
            rows = f.readlines()[1:]
    except OSError:
        return False
    return any(r.split()[1] == want and r.split()[3] == '0A' for r in rows)


def log_tail(run, tag, n=3):
    try:
        with open(run.path(f'{tag}.log'), errors='replace') as f:
            return ' | '.join(f.read().splitlines()[-n:])
    except OSError:
        return ''


# ---- the phases ------------------------------------------------------------------

def line_after(g, tag, t, regex, timeout):
    return g.hub.wait(lambda ln: ln[1] == tag and ln[0] > t and regex.match(ln[2]), timeout)


def command(g, text, reply):
    t = bl.now()
    g.send(text)
    ln = line_after(g, g.tag, t, reply, 10)
    if not ln:
        raise RuntimeError(f'{g.kind}: no reply to "{text}"')
    return ln


def boot(g, rec):
    t0 = g.boot(rec)
    ready = g.hub.wait(lambda ln: ln[1] == g.tag and ln[2] == 'READY', 300)
    if not ready:
        raise RuntimeError(f'{g.kind}: no READY')
    rec['boot_ready_s'] = ready[0] - t0
    if not line_after(g, g.tag, ready[0], mg.SWEEP, 60):
        raise RuntimeError(f'{g.kind}: no verify sweep after READY')


def quiet_period(g, rec, rate):
    command(g, f'rate {rate}', re.compile(rf'^OK rate={rate}$'))
    time.sleep(0.5)
    ln0 = command(g, 'stats', STATS)
    time.sleep(QUIET_S)
    t1 = bl.now()          # the noise floor stops here: typing a command is no noise
    ln1 = command(g, 'stats', STATS)
    s0, s1 = ([int(x) for x in STATS.match(ln[2]).groups()[:4]] for ln in (ln0, ln1))
    hbs = bl.heartbeats(g.hub.snapshot(), {g.tag}, ln0[0], t1)
    rec['noise_floor_ms'] = bl.max_gap(hbs)[0]
    rec['quiet_hb_rate_per_s'] = bl.rate(hbs)
    rec['dirty_rate_achieved_mib_s'] = (s1[2] - s0[2]) * 4096 / 2**20 / (ln1[0] - ln0[0])
    rec['quiet_ping'] = g.b.pinger.window(ln0[0], ln1[0])


def move(g, rec):
    """One move and what the guest and the pinger saw of it."""
    a = g.tag
    t_cmd, t_end = g.move(rec)
    b = g.tag
    first = g.hub.wait(lambda ln: ln[1] == b and ln[0] > t_cmd and HB.match(ln[2]), 60)
    if not first:
        raise RuntimeError(f'{g.kind}: no heartbeat on {b} after the move')
    time.sleep(max(0.0, first[0] + AFTER_S + 0.05 - bl.now()))
    lines = g.hub.snapshot()
    ha = bl.heartbeats(lines, {a}, t_cmd - 1.0, first[0])
    hb = bl.heartbeats(lines, {b}, first[0], first[0] + AFTER_S)
    if not ha:
        raise RuntimeError(f'{g.kind}: no heartbeats on {a} during the move')
    rec['outside_gap_ms'] = (hb[0][0] - ha[-1][0]) * 1000
    # Where the gap goes, on the monitors' own (ms) log times: the source's
    # last heartbeat seen here to its pause, and its destination's resume
    # to the first heartbeat seen here (the console path's delay included).
    if rec.get('src_paused_t') is not None:
        rec['last_hb_to_pause_ms'] = (rec['src_paused_t'] - ha[-1][0]) * 1000
    if rec.get('dest_resumed_t') is not None:
        rec['resume_to_first_hb_ms'] = (hb[0][0] - rec['dest_resumed_t']) * 1000
    rec['seq_across'] = [ha[-1][1], hb[0][1]]
    pre = [h for h in ha if h[0] >= t_cmd]
    gap, at = bl.max_gap(pre) if len(pre) > 1 else (None, None)
    rec['stall_before_ms'] = gap
    rec['stall_before_at_ms'] = (at[0] - t_cmd) * 1000 if at else None
    rec['switch_at_ms'] = (ha[-1][0] - t_cmd) * 1000
    rec['first_hb_after_cmd_end_ms'] = (hb[0][0] - t_end) * 1000
    rec['stall_after_ms'] = bl.max_gap(hb)[0]
    sweeps = []
    t = first[0]
    for _ in range(2):
        ln = line_after(g, b, t, mg.SWEEP, 60)
        if not ln:
            raise RuntimeError(f'{g.kind}: no verify sweep on {b} after the move')
        t = ln[0]
        sweeps.append(int(mg.SWEEP.match(ln[2]).group(1)))
    # Pings sent from the command until a second after the guest is back
    # (their replies, if any, have long come by the end of the sweeps).
    rec['ping'] = g.b.pinger.window(t_cmd, max(t_end, first[0]) + AFTER_S)
    for k in ('lost', 'lost_run_ms', 'reply_gap_ms'):
        rec[f'ping_{k}'] = rec['ping'][k]
    rec['post_switch_sweeps_ms'] = sweeps
    if DISK:       # a whole disk verify pass on the new host, begun after the move
        for _ in range(2):
            ln = line_after(g, b, t if _ else first[0], DISK_PASS, 60)
            if not ln:
                raise RuntimeError(f'{g.kind}: no disk verify pass on {b} after the move')
            t = max(t, ln[0])
    validate(g, rec, a, b, t_cmd - 1.0, t)


def cmdline():
    return f'fill={FILL} rate=0 ip={GUEST_IP}' + (f' {BLK}' if DISK else '')


def disk_problems(lines):
    """The disk workload's complaints: a block read wrong, a request that
    failed, or one that stalled (posted before a move, not done after)."""
    return [f'{tag}: {text}' for _, tag, text in lines
            if text.startswith(('BLKERR', 'BLKCORRUPT', 'BLKSTALL'))
            or re.match(r'^BV\d+ .*errors=[1-9]', text)]


def validate(g, rec, a, b, t0, t1):
    lines = [ln for ln in g.hub.snapshot() if ln[1] in (a, b) and t0 <= ln[0] <= t1]
    hbs = sorted(bl.heartbeats(lines), key=lambda h: (h[2] != a, h[0]))   # a's, then b's
    bad = bl.sequence_problems(hbs) + bl.corrupt_lines(lines) + disk_problems(lines)
    rec['disk_passes'] = sum(1 for _, tag, text in lines if tag == b and text.startswith('BV'))
    rec['problems'] = bad[:10]
    rec['valid'] = not bad and 'error' not in rec


def new_guest(b, kind, guest):
    if kind == 'pgr':
        return PgrGuest(b, guest)
    return BareGuest(b, guest, 'peregrine' if kind == 'bare' else 'qemu')


def chain_once(b, kind, guest, i, rates):
    g = new_guest(b, kind, guest)
    recs = []

    def record(case, rate):
        r = {'kind': kind, 'case': case, 'rate_mib_s': rate, 'iteration': i,
             'mem_mib': MEM, 'fill_mib': FILL, 'loadavg_1m': os.getloadavg()[0]}
        recs.append(r)
        return r
    try:
        rec = record('boot', 0)
        boot(g, rec)
        for rate in rates:
            case = case_name(rate)
            quiet = {}
            quiet_period(g, quiet, rate)
            for _ in range(2):                       # there and back
                rec = record(case, rate)
                rec.update(quiet)
                move(g, rec)
                log_record(rec)
    except Exception as e:
        rec = recs[-1] if recs else record('boot', 0)
        rec['error'], rec['valid'] = str(e), False
        log_record(rec)
        g.hub.dump(b.run.path(f'serial-{kind}-{i}.txt'))
        bl.log(f'{kind} #{i}: kept {b.run.path(f"serial-{kind}-{i}.txt")}')
    finally:
        g.stop()
    return recs


def case_name(rate):
    return 'idle' if rate == 0 else f'r{rate}'


def log_record(r):
    def f(key, unit=' ms'):
        v = r.get(key)
        return 'n/a' if v is None else f'{v:.0f}{unit}' if isinstance(v, float) else f'{v}{unit}'
    if r['case'] == 'boot' and 'error' not in r:
        return
    bl.log(f'{r["kind"]} {r["case"]} #{r["iteration"]} {"->".join(r.get("hop", []))}: '
           f'wall {f("wall_ms")}, total {f("total_ms")}, downtime {f("downtime_ms")}, '
           f'gap {f("outside_gap_ms")}, stall {f("stall_before_ms")}, '
           f'ping lost {f("ping_lost", "")} (run {f("ping_lost_run_ms")}), '
           f'valid {r.get("valid")} {r.get("error", "")} {r.get("problems") or ""}')


# ---- report -----------------------------------------------------------------

FIGURES = [   # label, key, unit, digits
    ('wall time: `pgr migrate` / dest spawn to source exit', 'wall_ms', ' ms', 0),
    ('  before the stream (ms resolution)', 'before_stream_ms', ' ms', 0),
    ('  the stream: source monitor setup to completed', 'stream_ms', ' ms', 0),
    ('  after: source exit (pgr: and the answer)', 'after_stream_ms', ' ms', 0),
    ('migrate command to completed (bare)', 'host_total_ms', ' ms', 0),
    ('total time (reported)', 'total_ms', ' ms', 0),
    ('downtime (reported)', 'downtime_ms', ' ms', 0),
    ('bytes sent', 'bytes_mib', ' MiB', 0),
    ('rounds', 'rounds', '', 0),
    ('outside gap (heartbeats)', 'outside_gap_ms', ' ms', 1),
    ('  last heartbeat seen to the source pausing', 'last_hb_to_pause_ms', ' ms', 0),
    ('  destination resuming to its first heartbeat seen', 'resume_to_first_hb_ms', ' ms', 0),
    ('noise floor', 'noise_floor_ms', ' ms', 1),
    ('largest pre-copy stall', 'stall_before_ms', ' ms', 1),
    ('largest stall, 1st s after', 'stall_after_ms', ' ms', 1),
    ('pings lost (10 ms apart)', 'ping_lost', '', 0),
    ('longest run of lost pings', 'ping_lost_run_ms', ' ms', 0),
    ('longest time without a reply', 'ping_reply_gap_ms', ' ms', 0),
    ('pgrd CPU, both hosts', 'pgrd_cpu_s', ' s', 2),
    ('dirty rate reached', 'dirty_rate_achieved_mib_s', ' MiB/s', 0),
]
KIND_LABEL = {'pgr': '`pgr migrate`', 'bare': 'bare pgr-vmm', 'qemu': 'QEMU 7.2'}


def summarize(runs, kinds, cases):
    out = {}
    for k in kinds:
        for case in cases:
            mine = [r for r in runs if r['kind'] == k and r['case'] == case]
            ok = [r for r in mine if r.get('valid')]
            s = {key: bl.summary([r.get(key) for r in ok]) for _, key, _, _ in FIGURES}
            s['moves'], s['valid'] = len(mine), len(ok)
            out[f'{k}/{case}'] = s
    return out


def print_table(summ, kinds, cases, loadavg):
    print('\nload average (1, 5, 15 min) at the start / end: ' + ' / '.join(
        ', '.join(f'{x:.2f}' for x in la) for la in loadavg))
    for case in cases:
        cols = [summ.get(f'{k}/{case}', {}) for k in kinds]
        print(f'\n{case}: {MEM} MiB, fill={FILL}: median (min–max) over valid moves')
        head = ' | '.join(KIND_LABEL[k] for k in kinds)
        ratio = 'pgr/bare' if 'pgr' in kinds and 'bare' in kinds else ''
        print(f'| figure | {head} | {ratio} |\n|---|{"---|" * len(kinds)}---|')
        for label, key, unit, d in FIGURES:
            vals = ' | '.join(bl.fmt(c.get(key), unit, d) for c in cols)
            p, q = summ.get(f'pgr/{case}', {}).get(key), summ.get(f'bare/{case}', {}).get(key)
            # A ratio of counts near zero (0 of 1 lost ping) says nothing.
            ok = ratio and p and q and p['median'] > 0 and q['median'] > 0
            rt = bl.ratio(p, q) if ok else 'n/a' if ratio else ''
            print(f'| {label} | {vals} | {rt} |')
        moves = ' | '.join(f'{c.get("valid")} / {c.get("moves")}' for c in cols)
        print(f'| moves: valid / all | {moves} | |')


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--runs', type=int, default=5, help='round trips per rate and kind')
    ap.add_argument('--kinds', default='pgr,bare,qemu')
    ap.add_argument('--rates', default='0,100,500', help='dirty rates, MiB/s')
    ap.add_argument('--out', default=None, help='results name (default hosts-DATE)')
    ap.add_argument('--keep', action='store_true', help='keep the work directory (logs)')
    ap.add_argument('--disk', action='store_true',
                    help='a shared disk (cache=none) with the guest\'s blk=mix workload on it')
    ap.add_argument('--report', metavar='JSON', help='print the tables of a results file again')
    a = ap.parse_args()
    if a.report:
        import json
        with open(a.report) as f:
            doc = json.load(f)
        env = doc['environment']
        print_table(doc['summary'], doc['kinds'], [case_name(r) for r in doc['rates']],
                    (env['loadavg_start'], env['loadavg_end']))
        return 0
    kinds = a.kinds.split(',')
    rates = [int(x) for x in a.rates.split(',')]
    cases = [case_name(r) for r in rates]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    run = bl.Run('hosts')
    guest = bl.snapshot_binaries(run)
    bins = {}
    for name in ('pgrd', 'pgr'):
        bins[name] = run.path(name)
        shutil.copy2(os.path.join(bl.BUILD, name), bins[name])
    if a.disk:
        global DISK
        DISK = run.path('disk.img')
        with open(DISK, 'wb') as f:
            f.truncate(DISK_MIB << 20)
    doc = {'environment': bl.environment(guest), 'kinds': kinds, 'rates': rates,
           'mem_mib': MEM, 'fill_mib': FILL, 'disk': BLK if a.disk else None, 'runs': []}
    doc['environment']['pgrd_sha256'] = bl.sha256(bins['pgrd'])
    b = Bench(run, bins)
    keep = False
    try:
        b.start()
        for i in range(a.runs):
            for k in kinds:        # interleaved: every kind sees the same machine
                doc['runs'] += chain_once(b, k, guest, i, rates)
    except KeyboardInterrupt:
        bl.log('interrupted')
        keep = True
    finally:
        b.stop()
    doc['environment']['pinger_cpu_s'] = b.pinger_cpu_s
    moves = [r for r in doc['runs'] if r['case'] != 'boot']
    failed = keep or any(not r.get('valid') for r in doc['runs'] if 'valid' in r or 'error' in r)
    doc['summary'] = summarize(moves, kinds, cases)
    name = a.out or f'hosts-{time.strftime("%Y%m%d-%H%M")}'
    path = bl.save_results(name, doc)
    env = doc['environment']
    print_table(doc['summary'], kinds, cases, (env['loadavg_start'], env['loadavg_end']))
    print(f'\nraw: {path}')
    keep = failed or a.keep
    run.cleanup(keep=keep)
    if keep:
        print(f'kept {run.dir}')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
