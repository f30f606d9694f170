#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
#
# migrate.py: live migration over loopback TCP, save and restore, pgr-vmm
# against QEMU with the same test guest, parameters and machine, in one run.
#
# One chain per run and monitor and guest size, so that a guest is booted and
# filled once: boot (fill=768 in 1 GiB, or fill=3584 in 4 GiB), then for each
# case set the guest's dirty rate over its serial line ("rate N"), watch a
# quiet period (the noise floor, and the dirty rate the guest really reaches,
# from its STATS lines), start a destination with an incoming tcp: URI,
# migrate (no bandwidth cap, default downtime limit: 300 ms in both), and
# watch the destination through two verify sweeps (the second one entirely
# after the switch); the destination is the next case's source. Then save
# the guest to a file, restore it in a fresh process and watch that through
# two sweeps too. Every serial line of every process is timestamped in this
# one process as it arrives (benchlib.SerialHub): gaps across processes are
# on one clock. A case is invalid if a heartbeat is missing or repeated
# across its switch, or the guest prints CORRUPT/FAULT.
#
# A migration that has not converged after --converge-timeout seconds is
# cancelled and reported as such; the chain goes on from the source.
# It does not tune either monitor beyond lifting QEMU's default 128 MiB/s
# bandwidth cap, and it never runs from `make check`.
#
#   bench/migrate.py [--runs N] [--runs-large N] [--chains small,large]
import argparse
import os
import re
import sys
import time

import benchlib as bl

CASES = {                        # name: (RAM MiB, fill MiB, dirty MiB/s)
    'idle': (1024, 768, 0),
    'r100': (1024, 768, 100),
    'r500': (1024, 768, 500),
    'r1500': (1024, 768, 1500),
    'idle4g': (4096, 3584, 0),
    'save': (1024, 768, 0),
    'save4g': (4096, 3584, 0),
}
CHAINS = {
    'small': (1024, 768, ['idle', 'r100', 'r500', 'r1500'], 'save'),
    'large': (4096, 3584, ['idle4g'], 'save4g'),
    'saves': (1024, 768, [], 'save'),          # save and restore only
    'saves4g': (4096, 3584, [], 'save4g'),
}
SMALL = {'small', 'saves'}                     # chains run --runs times
QUIET_S = 2.0
VERIFY_MIB_S = 1000              # the guest's default verify rate
STATS = re.compile(r'^STATS hb=(\d+) sweeps=(\d+) dirtied=(\d+) corrupt=(\d+)$')
SWEEP = re.compile(r'^V\d+ pages=\d+ ms=(\d+)')
FINAL = {'completed', 'failed', 'cancelled'}


class Chain:
    """The processes of one chain; each migration or save is a 'hop' from
    process tag p<k> to p<k+1> and gets its own result record."""

    def __init__(self, mon, guest, mem, fill, converge_timeout):
        self.mon, self.guest, self.mem, self.fill = mon, guest, mem, fill
        self.converge_timeout = converge_timeout
        self.run = bl.Run(f'mig-{mon.name}-{mem}')
        self.hub = bl.SerialHub()
        self.append = f'fill={fill} rate=0'
        self.procs = {}
        self.k = 0

    @property
    def tag(self):
        return f'p{self.k}'

    def spawn(self, tag, uri=None):
        serial, api = self.run.path(f'{tag}.serial'), self.run.path(f'{tag}.api')
        if uri:
            argv = self.mon.incoming_argv(self.guest, serial, api, self.mem, 1,
                                          self.append, uri)
        else:
            argv = self.mon.boot_argv(self.guest, serial, api, self.mem, 1, self.append)
        p = self.run.spawn(argv, f'{tag}.log')
        p.api, p.qmp = api, None
        self.procs[tag] = p
        self.hub.attach(tag, serial, timeout=600, proc=p)
        return p

    def qmp(self, tag):
        p = self.procs[tag]
        if p.qmp is None:
            p.qmp = bl.Qmp(p.api, 60, p)
            self.mon.prepare(p.qmp)
        return p.qmp

    def line_after(self, tag, t, regex, timeout):
        return self.hub.wait(lambda ln: ln[1] == tag and ln[0] > t and regex.match(ln[2]),
                             timeout)

    def command(self, tag, text, reply):
        t = bl.now()
        self.hub.send(tag, text)
        ln = self.line_after(tag, t, reply, 10)
        if not ln:
            raise RuntimeError(f'{tag}: no reply to "{text}"')
        return ln

    def stats(self, tag):
        ln = self.command(tag, 'stats', STATS)
        return ln[0], [int(x) for x in STATS.match(ln[2]).groups()]

    def sweeps_after(self, tag, t, n, timeout):
        """Wait for @n V lines on @tag after time @t; returns their guest ms."""
        out = []
        for _ in range(n):
            ln = self.line_after(tag, t, SWEEP, timeout)
            if not ln:
                raise RuntimeError(f'{tag}: no verify sweep within {timeout:.0f} s')
            t = ln[0]
            out.append(int(SWEEP.match(ln[2]).group(1)))
        return out

    def stop_all(self):
        for tag, p in self.procs.items():
            if p.poll() is None:
                try:
                    self.qmp(tag).cmd('quit', timeout=5)
                except Exception:
                    p.kill()
                self.run.reap(p)


# ---- the phases ---------------------------------------------------------------

def boot(c, rec):
    src = c.spawn(c.tag)
    ready = c.hub.wait(lambda ln: ln[1] == c.tag and ln[2] == 'READY', 600)
    if not ready:
        raise RuntimeError('source: no READY')
    rec['boot_ready_s'] = ready[0] - src.t_spawn
    c.hub.wait(lambda ln: ln[1] == c.tag and ln[2].startswith('TIMES '), 5)
    rec['guest_times'] = bl.guest_times(c.hub.snapshot(), c.tag)
    q = c.qmp(c.tag)
    rec['parameters'] = q.cmd('query-migrate-parameters')
    c.line_after(c.tag, ready[0], SWEEP, 60)     # the workload is running


def vcpu_tid(c, tag):
    cpus = c.qmp(tag).cmd('query-cpus-fast')
    return cpus[0].get('thread-id') if cpus else None


def quiet_period(c, rec, rate):
    tag, p = c.tag, c.procs[c.tag]
    c.command(tag, f'rate {rate}', re.compile(rf'^OK rate={rate}$'))
    time.sleep(0.5)
    tid = vcpu_tid(c, tag)
    t0, s0 = c.stats(tag)
    cpu = bl.CpuSampler({'src': p.pid})
    time.sleep(QUIET_S)
    share = cpu.stop()
    t1, s1 = c.stats(tag)
    hbs = bl.heartbeats(c.hub.snapshot(), {tag}, t0, t1)
    rec['noise_floor_ms'] = bl.max_gap(hbs)[0]
    rec['quiet_hb_rate_per_s'] = bl.rate(hbs)
    rec['dirty_rate_achieved_mib_s'] = (s1[2] - s0[2]) * 4096 / 2**20 / (t1 - t0)
    rec['quiet_vcpu_cpu_share'] = bl.thread_share(share, 'src', tid)
    rec['quiet_vcpu_wait_share'] = bl.thread_share(share, 'src', tid, 2)
    rec['vcpu_tid'] = tid


def start_destination(c, tag):
    port = bl.free_port()
    uri = f'tcp:127.0.0.1:{port}'
    dst = c.spawn(tag, uri)
    if not bl.wait_until(lambda: bl.tcp_listening(port) or dst.poll() is not None, 60):
        raise RuntimeError(f'{tag}: not listening on {uri}')
    if dst.poll() is not None:
        raise RuntimeError(f'{tag}: exited with {dst.returncode} before listening')
    c.hub.successor[c.tag] = tag
    return dst, uri


def qemu_final_stats(q):
    """QEMU 7.2 sends the 'completed' event before it computes total-time and
    downtime (both read 0 for a moment): ask until they are filled in."""
    deadline = bl.now() + 5
    while True:
        data = q.cmd('query-migrate')
        if data.get('total-time') or data.get('status') != 'completed' or bl.now() > deadline:
            return data
        time.sleep(0.01)


def record_stats(rec, data):
    ram = data.get('ram', {})
    rec['reported'] = data
    rec.update({'total_ms': data.get('total-time'), 'downtime_ms': data.get('downtime'),
                'setup_ms': data.get('setup-time'), 'bytes': ram.get('transferred'),
                'rounds': ram.get('dirty-sync-count', data.get('rounds'))})
    if rec['bytes'] is not None:
        rec['bytes_mib'] = rec['bytes'] / 2**20


def cancel(c, q, rec):
    """Gave up waiting for convergence: cancel; the source runs on."""
    record_stats(rec, q.cmd('query-migrate'))
    q.cmd(c.mon.cancel_cmd)
    ev = q.wait_event(bl.migration_event(FINAL), 60)
    rec['converged'] = False
    rec['cancel_status'] = ev[1]['data']['status'] if ev else None


def migrate(c, rec):
    src_tag, dst_tag = c.tag, f'p{c.k + 1}'
    src = c.procs[src_tag]
    dst, uri = start_destination(c, dst_tag)
    q = c.qmp(src_tag)
    cpu = bl.CpuSampler({'src': src.pid, 'dst': dst.pid}, period=0.01, follow=rec.get('vcpu_tid'))
    c.vcpu_series = cpu.series
    t_cmd = bl.now()
    q.cmd('migrate', uri=uri)
    ev = q.wait_event(bl.migration_event(FINAL), c.converge_timeout)
    rec['cpu_during_migration'] = cpu.stop()
    if not ev:
        cancel(c, q, rec)
        c.run.reap(dst, 30)
        rec['host_total_ms'] = None
        return None
    data = ev[1]['data']
    if data['status'] != 'completed':
        raise RuntimeError(f'migration {data["status"]}: {data}')
    rec['pass_events_ms'] = [round((t - t_cmd) * 1000, 1) for t, e in q.events
                             if e.get('event') == 'MIGRATION_PASS' and t >= t_cmd]
    rec['converged'] = True
    rec['host_total_ms'] = (ev[0] - t_cmd) * 1000
    record_stats(rec, qemu_final_stats(q) if c.mon.name == 'qemu' else data)
    if c.mon.name == 'qemu':
        q.cmd('quit')
    c.run.reap(src, 30)
    c.k += 1
    return t_cmd


def switch_figures(c, rec, a, b, t_cmd, prefix):
    """Gaps around the move of the guest from process @a to process @b,
    once @b has run for a second."""
    first = c.hub.wait(lambda ln: ln[1] == b and bl.HB.match(ln[2]), 600)
    if not first:
        raise RuntimeError(f'{b}: no heartbeat')
    time.sleep(max(0.0, first[0] + 1.05 - bl.now()))
    lines = c.hub.snapshot()
    ha, hb = bl.heartbeats(lines, {a}), bl.heartbeats(lines, {b})
    if not ha:
        raise RuntimeError(f'{a}: no heartbeats')
    last, first = ha[-1], hb[0]
    rec[f'{prefix}outside_gap_ms'] = (first[0] - last[0]) * 1000
    rec[f'{prefix}seq_across'] = [last[1], first[1]]
    pre = [h for h in ha if h[0] >= t_cmd]
    gap, at = bl.max_gap(pre) if len(pre) > 1 else (None, None)
    rec[f'{prefix}stall_before_ms'] = gap
    rec[f'{prefix}stall_before_at_ms'] = (at[0] - t_cmd) * 1000 if at else None
    if at and prefix == 'mig_' and getattr(c, 'vcpu_series', None):
        stall_causes(c, rec, pre, at, gap)
    rec[f'{prefix}switch_at_ms'] = (last[0] - t_cmd) * 1000
    post = [h for h in hb if h[0] < first[0] + 1.0]
    rec[f'{prefix}stall_after_ms'] = bl.max_gap(post)[0]
    attached = c.hub.wait_attached(b, 1)
    rec[f'{prefix}console_attached_before_first_hb_ms'] = \
        (first[0] - attached) * 1000 if attached else None
    return first[0]


def stall_causes(c, rec, pre, at, gap):
    """What the source vCPU thread did during its heartbeat gaps: on a CPU
    (e.g. stuck in KVM), runnable but waiting for a CPU (host contention),
    or blocked (a lock or a sleep: the monitor's doing). The largest gap's
    split, and the most blocked time in any gap over 5 ms (10 ms samples, so
    each window widens by up to 20 ms)."""
    rec['mig_stall_vcpu'] = bl.window_split(c.vcpu_series, at[0], at[0] + gap / 1000)
    blocked = 0.0
    for a, b in zip(pre, pre[1:]):
        if b[0] - a[0] > 0.005:
            w = bl.window_split(c.vcpu_series, a[0], b[0])
            if w:
                blocked = max(blocked, min(w['blocked_s'], b[0] - a[0]))
    rec['mig_blocked_stall_ms'] = blocked * 1000


def sweep_timeout(c, slow=1.0):
    return 60 + slow * 3 * c.fill / VERIFY_MIB_S


def save_and_restore(c, rec):
    tag, rst_tag = c.tag, f'p{c.k + 1}'
    q = c.qmp(tag)
    path = c.run.path('guest.save')
    cpu = bl.CpuSampler({'saver': c.procs[tag].pid}, period=0.01)
    t0 = bl.now()
    if c.mon.name == 'qemu':
        q.cmd('stop')
    q.cmd('migrate', uri=c.mon.save_uri(path))
    ev = q.wait_event(bl.migration_event(FINAL), 600)
    if not ev or ev[1]['data']['status'] != 'completed':
        raise RuntimeError(f'save failed: {ev}')
    rec['cpu_during_save'] = cpu.stop()
    data = qemu_final_stats(q) if c.mon.name == 'qemu' else ev[1]['data']
    rec['save_host_ms'] = (ev[0] - t0) * 1000
    rec['save_reported_ms'] = data.get('total-time')
    rec['save_reported'] = data
    if c.mon.name == 'qemu':
        q.cmd('quit')
    c.run.reap(c.procs[tag], 60)
    st = os.stat(path)
    rec['save_file_apparent_mib'] = st.st_size / 2**20
    rec['save_file_du_mib'] = st.st_blocks * 512 / 2**20
    c.hub.successor[tag] = rst_tag
    rst = c.spawn(rst_tag, c.mon.restore_uri(path))
    cpu = bl.CpuSampler({'restorer': rst.pid}, period=0.01)
    if c.mon.name == 'qemu':
        cont_after_incoming(c, rst_tag, rec)
    c.hub.wait(lambda ln: ln[1] == rst_tag and bl.HB.match(ln[2]), 600)
    rec['cpu_during_restore'] = cpu.stop()
    c.k += 1
    first = switch_figures(c, rec, tag, rst_tag, t0, 'restore_')
    rec['restore_first_hb_ms'] = (first - rst.t_spawn) * 1000
    rec['restore_sweeps_ms'] = c.sweeps_after(rst_tag, first, 2, sweep_timeout(c, 10))
    os.unlink(path)


def cont_after_incoming(c, tag, rec):
    """QEMU keeps a guest that was saved while stopped paused after loading
    it (libvirt's restore then says 'cont', and so do we); ours resumes it."""
    q = c.qmp(tag)
    while True:
        st = q.cmd('query-status')['status']
        if st != 'inmigrate':
            break
        time.sleep(0.002)
    rec['restore_loaded_ms'] = (bl.now() - c.procs[tag].t_spawn) * 1000
    if st == 'paused':
        q.cmd('cont')


def validate(c, rec, a, b):
    """Heartbeats run on with no gap in the sequence across a -> b; no
    CORRUPT/FAULT from either."""
    lines = [ln for ln in c.hub.snapshot() if ln[1] in (a, b)]
    hbs = sorted(bl.heartbeats(lines), key=lambda h: h[0])
    bad = bl.sequence_problems(hbs) + bl.corrupt_lines(lines)
    rec['problems'] = bad[:10]
    rec['valid'] = not bad and 'error' not in rec


def monitor_logs(c, rec, tags):
    """The monitors' own last lines (timings they log)."""
    out = {}
    for tag in tags:
        try:
            with open(c.run.path(f'{tag}.log'), errors='replace') as f:
                out[tag] = [ln.rstrip() for ln in f if ln.strip()][-8:]
        except OSError:
            pass
    rec['monitor_log'] = out


# ---- one chain ------------------------------------------------------------------

def new_record(c, case, i):
    mem, fill, rate = CASES[case]
    return {'monitor': c.mon.name, 'case': case, 'iteration': i, 'mem_mib': mem,
            'fill_mib': fill, 'rate_mib_s': rate, 'loadavg_1m': os.getloadavg()[0]}


def hop(c, rec, case):
    a = c.tag
    quiet_period(c, rec, CASES[case][2])
    t_cmd = migrate(c, rec)
    if t_cmd is None:
        rec['hop'] = [a, a]
        return
    b = c.tag
    rec['hop'] = [a, b]
    first = switch_figures(c, rec, a, b, t_cmd, 'mig_')
    rec['post_switch_sweeps_ms'] = c.sweeps_after(b, first, 2, sweep_timeout(c))


def chain_once(mon, guest, chain, i, converge_timeout):
    mem, fill, cases, save_case = CHAINS[chain]
    c = Chain(mon, guest, mem, fill, converge_timeout)
    recs = []
    try:
        boot_rec = new_record(c, (cases or [save_case])[0], i)
        boot(c, boot_rec)
        for case in cases + [save_case]:
            rec = boot_rec if not recs else new_record(c, case, i)
            rec['case'] = case
            recs.append(rec)
            a = c.tag
            if case == save_case:
                c.command(a, 'rate 0', re.compile(r'^OK rate=0$'))
                save_and_restore(c, rec)
            else:
                hop(c, rec, case)
            validate(c, rec, a, c.tag)
            monitor_logs(c, rec, rec.get('hop', [a, c.tag]))
            log_record(rec)
    except Exception as e:
        if not recs:
            recs.append(new_record(c, (cases or [save_case])[0], i))
        recs[-1]['error'] = str(e)
        recs[-1]['valid'] = False
        log_record(recs[-1])
    keep = any(not r.get('valid') for r in recs)
    if keep:
        c.hub.dump(c.run.path('serial-transcript.txt'))
        bl.log(f'{mon.name} {chain}: kept {c.run.dir}')
    c.stop_all()
    c.hub.close()
    c.run.cleanup(keep=keep)
    return recs


def log_record(r):
    def f(key, unit=' ms'):
        v = r.get(key)
        return 'n/a' if v is None else f'{v:.0f}{unit}' if isinstance(v, float) else f'{v}{unit}'
    if r['case'].startswith('save'):
        msg = (f'save {f("save_host_ms")}, restore to H {f("restore_first_hb_ms")}, '
               f'file {f("save_file_du_mib", " MiB")}')
    else:
        msg = (f'total {f("host_total_ms")}, rounds {f("rounds", "")}, gap '
               f'{f("mig_outside_gap_ms")}, stall {f("mig_stall_before_ms")}, '
               f'noise {f("noise_floor_ms")}, dirty {f("dirty_rate_achieved_mib_s", " MiB/s")}')
    bl.log(f'{r["monitor"]} {r["case"]} #{r["iteration"]}: {msg}, valid {r.get("valid")} '
           f'{r.get("error", "")} {r.get("problems") or ""}')


# ---- report -----------------------------------------------------------------

FIGURES = [   # label, key, unit, digits
    ('total time (host)', 'host_total_ms', ' ms', 0),
    ('total time (reported)', 'total_ms', ' ms', 0),
    ('bytes sent', 'bytes_mib', ' MiB', 0),
    ('rounds', 'rounds', '', 0),
    ('downtime (reported)', 'downtime_ms', ' ms', 0),
    ('outside gap', 'mig_outside_gap_ms', ' ms', 1),
    ('noise floor', 'noise_floor_ms', ' ms', 1),
    ('largest pre-copy stall', 'mig_stall_before_ms', ' ms', 1),
    ('  vCPU waiting for a CPU in it', 'mig_stall_wait_ms', ' ms', 0),
    ('largest vCPU-blocked time in a pre-copy gap', 'mig_blocked_stall_ms', ' ms', 0),
    ('largest stall, 1st s after', 'mig_stall_after_ms', ' ms', 1),
    ('CPU used by the migration, both ends', 'migration_cpu_s', ' s', 2),
    ('dirty rate reached', 'dirty_rate_achieved_mib_s', ' MiB/s', 0),
    ('heartbeats/s, quiet', 'quiet_hb_rate_per_s', '', 0),
    ('vCPU on a CPU, share', 'quiet_vcpu_cpu_share', '', 2),
    ('vCPU waiting for a CPU, share', 'quiet_vcpu_wait_share', '', 2),
]
SAVE_FIGURES = [
    ('save time (host)', 'save_host_ms', ' ms', 0),
    ('save time (reported)', 'save_reported_ms', ' ms', 0),
    ('CPU used by the save', 'save_cpu_s', ' s', 2),
    ('file size, apparent', 'save_file_apparent_mib', ' MiB', 0),
    ('file size, du', 'save_file_du_mib', ' MiB', 0),
    ('restore to first heartbeat', 'restore_first_hb_ms', ' ms', 1),
    ('CPU used until then', 'restore_cpu_s', ' s', 2),
    ('largest stall, 1st s after restore', 'restore_stall_after_ms', ' ms', 1),
    ('1st full sweep after restore (guest)', 'restore_full_sweep_ms', ' ms', 0),
]


def cpu_total(sample, skip=None):
    """CPU seconds of every sampled thread but @skip (the running vCPU)."""
    if not sample:
        return None
    return sum(row[1] for name, rows in sample.items() if name != 'wall_s'
               for row in rows if row[0] != skip)


def summarize(runs, monitors, cases):
    for r in runs:
        if r.get('restore_sweeps_ms'):
            r['restore_full_sweep_ms'] = r['restore_sweeps_ms'][-1]
        r['migration_cpu_s'] = cpu_total(r.get('cpu_during_migration'), r.get('vcpu_tid'))
        if r.get('mig_stall_vcpu'):
            r['mig_stall_wait_ms'] = min(r['mig_stall_vcpu']['wait_s'] * 1000,
                                         r['mig_stall_before_ms'])
        r['save_cpu_s'] = cpu_total(r.get('cpu_during_save'))
        r['restore_cpu_s'] = cpu_total(r.get('cpu_during_restore'))
    out = {}
    keys = [f[1] for f in FIGURES + SAVE_FIGURES]
    for m in monitors:
        for case in cases:
            mine = [r for r in runs if r['monitor'] == m and r['case'] == case]
            ok = [r for r in mine if r.get('valid') and r.get('converged', True)]
            s = {k: bl.summary([r.get(k) for r in ok]) for k in keys}
            s['runs'] = len(mine)
            s['valid_converged'] = len(ok)
            s['not_converged'] = len([r for r in mine if r.get('converged') is False])
            s['invalid'] = len([r for r in mine if not r.get('valid')])
            out[f'{m}/{case}'] = s
    return out


def print_table(summ, cases, converge_timeout, monitors):
    ours = [m for m in monitors if m != 'qemu']
    names = {'peregrine': 'Peregrine', 'peregrine-lazy': 'Peregrine --lazy', 'qemu': 'QEMU'}
    for case in cases:
        mem, fill, rate = CASES[case]
        save = case.startswith('save')
        cols = [m for m in ours if save or m == 'peregrine'] + ['qemu']
        s = {m: summ.get(f'{m}/{case}', {}) for m in cols}
        print(f'\n{case}: {mem} MiB, fill={fill}, rate={rate} MiB/s: median (min–max)')
        print('| figure | ' + ' | '.join(names[m] for m in cols) + ' | ' +
              ' | '.join(f'QEMU/{names[m]}' for m in cols[:-1]) + ' |')
        print('|---' * (2 * len(cols)) + '|')
        for label, key, unit, d in (SAVE_FIGURES if save else FIGURES):
            print(f'| {label} | ' + ' | '.join(bl.fmt(s[m].get(key), unit, d) for m in cols) +
                  ' | ' + ' | '.join(bl.ratio(s['qemu'].get(key), s[m].get(key))
                                     for m in cols[:-1]) + ' |')
        print(f'| runs: valid+converged / not converged in {converge_timeout:.0f} s / invalid | ' +
              ' | '.join(f'{s[m].get("valid_converged")} / {s[m].get("not_converged")} / '
                         f'{s[m].get("invalid")}' for m in cols) + ' |' * len(cols))


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--runs', type=int, default=5)
    ap.add_argument('--runs-large', type=int, default=3)
    ap.add_argument('--chains', default='small,large')
    ap.add_argument('--monitors', default='peregrine,qemu')
    ap.add_argument('--converge-timeout', type=float, default=30.0)
    ap.add_argument('--retries', type=int, default=1,
                    help='run a chain again when it broke off with an error')
    ap.add_argument('--out', default='migrate')
    a = ap.parse_args()
    chains, monitors = a.chains.split(','), a.monitors.split(',')
    keep = bl.Run('mig-guest')
    guest = bl.snapshot_binaries(keep)
    doc = {'environment': bl.environment(guest), 'cases': CASES, 'chains': CHAINS,
           'converge_timeout_s': a.converge_timeout, 'runs': []}
    cases = []
    for chain in chains:
        cases += CHAINS[chain][2] + [CHAINS[chain][3]]
        n = a.runs if chain in SMALL else a.runs_large
        for i in range(n):
            for m in monitors:      # interleaved: both see the same machine state
                for attempt in range(1 + a.retries):
                    recs = chain_once(bl.MONITORS[m], guest, chain, i, a.converge_timeout)
                    for r in recs:
                        r['attempt'] = attempt
                    doc['runs'] += recs
                    if not any('error' in r for r in recs):
                        break
    doc['summary'] = summarize(doc['runs'], monitors, cases)
    path = bl.save_results(a.out, doc)
    keep.cleanup()
    print_table(doc['summary'], cases, a.converge_timeout, monitors)
    print(f'\nraw: {path}')
    return 1 if any(not r.get('valid') for r in doc['runs']) else 0


if __name__ == '__main__':
    sys.exit(main())
