#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
#
# migrate.py: live migration over loopback TCP, save and restore, pgr-vmm
# against QEMU with the same test guest, parameters and machine, in one run.
#
# One chain per run and monitor: boot the source (fill=MiB rate=MiB/s), wait
# for READY, watch a quiet period (the noise floor, and the dirty rate the
# guest really reaches, from its STATS lines), start the destination with an
# incoming tcp: URI, migrate with default parameters (no bandwidth cap,
# downtime limit 300 ms in both), and watch the destination through two full
# verify sweeps. For the idle cases the chain goes on: save the migrated
# guest to a file, restore it in a fresh process, and watch that one through
# two sweeps too. Every serial line of every process is timestamped in this
# one process as it arrives (benchlib.SerialHub), so gaps across processes
# are on one clock. A run is invalid if a heartbeat is missing or repeated
# across the whole chain, or the guest prints CORRUPT/FAULT.
#
# It does not tune either monitor and never runs from `make check`.
#
#   bench/migrate.py [--runs N] [--runs-large N] [--cases idle,r100,...]
import argparse
import os
import re
import sys
import time

import benchlib as bl

CASES = {                        # name: (RAM MiB, fill MiB, dirty MiB/s, save?)
    'idle': (1024, 768, 0, True),
    'r100': (1024, 768, 100, False),
    'r500': (1024, 768, 500, False),
    'r1500': (1024, 768, 1500, False),
    'idle4g': (4096, 3584, 0, True),
}
QUIET_S = 2.0
VERIFY_MIB_S = 1000              # the guest's default verify rate
STATS = re.compile(r'^STATS hb=(\d+) sweeps=(\d+) dirtied=(\d+) corrupt=(\d+)$')
SWEEP = re.compile(r'^V\d+ ')


class Chain:
    """The processes of one run and what was measured about them."""

    def __init__(self, mon, guest, case):
        self.mon, self.guest, self.case = mon, guest, case
        self.mem, self.fill, self.rate, self.save = CASES[case]
        self.run = bl.Run(f'mig-{mon.name}-{case}')
        self.hub = bl.SerialHub()
        self.res = {'monitor': mon.name, 'case': case, 'mem_mib': self.mem,
                    'fill_mib': self.fill, 'rate_mib_s': self.rate}
        self.append = f'fill={self.fill} rate={self.rate}'

    def spawn(self, tag, uri=None):
        serial, api = self.run.path(f'{tag}.serial'), self.run.path(f'{tag}.api')
        if uri:
            argv = self.mon.incoming_argv(self.guest, serial, api, self.mem, 1,
                                          self.append, uri)
        else:
            argv = self.mon.boot_argv(self.guest, serial, api, self.mem, 1, self.append)
        p = self.run.spawn(argv, f'{tag}.log')
        p.api = api
        self.res[f'{tag}_argv'] = argv
        self.hub.attach(tag, serial, timeout=600, proc=p)
        return p

    def line_after(self, tag, t, regex, timeout):
        return self.hub.wait(lambda ln: ln[1] == tag and ln[0] > t and regex.match(ln[2]),
                             timeout)

    def stats(self, tag):
        t = bl.now()
        self.hub.send(tag, 'stats')
        ln = self.line_after(tag, t, STATS, 10)
        if not ln:
            raise RuntimeError(f'{tag}: no STATS reply')
        return ln[0], [int(x) for x in STATS.match(ln[2]).groups()]

    def sweeps_after(self, tag, t, n):
        """Wait for @n V lines on @tag after time @t: the last is a full sweep
        done entirely after @t."""
        timeout = 30 + 3 * self.fill / VERIFY_MIB_S
        for _ in range(n):
            ln = self.line_after(tag, t, SWEEP, timeout)
            if not ln:
                raise RuntimeError(f'{tag}: no verify sweep within {timeout:.0f} s')
            t = ln[0]
        return t


# ---- the phases ---------------------------------------------------------------

def boot_source(c):
    src = c.spawn('src')
    ready = c.hub.wait(lambda ln: ln[1] == 'src' and ln[2] == 'READY', 600)
    if not ready:
        raise RuntimeError('source: no READY')
    c.res['source_ready_s'] = ready[0] - src.t_spawn
    c.hub.wait(lambda ln: ln[1] == 'src' and ln[2].startswith('TIMES '), 5)
    c.res['guest_times'] = bl.guest_times(c.hub.snapshot(), 'src')
    q = bl.Qmp(src.api, 30, src)
    c.mon.prepare(q)
    cpus = q.cmd('query-cpus-fast')
    c.vcpu_tid = cpus[0].get('thread-id') if cpus else None
    c.line_after('src', ready[0], SWEEP, 30)       # first sweep: dirtying is on
    return src, q


def quiet_period(c, src):
    t0, s0 = c.stats('src')
    cpu = bl.CpuSampler({'src': src.pid})
    time.sleep(QUIET_S)
    share = cpu.stop()
    t1, s1 = c.stats('src')
    c.res['quiet_vcpu_cpu_share'] = bl.thread_share(share, 'src', c.vcpu_tid)
    c.res['quiet_vcpu_wait_share'] = bl.thread_share(share, 'src', c.vcpu_tid, 2)
    hbs = bl.heartbeats(c.hub.snapshot(), {'src'}, t0, t1)
    c.res['noise_floor_ms'] = bl.max_gap(hbs)[0]
    c.res['quiet_hb_rate_per_s'] = bl.rate(hbs)
    c.res['dirty_rate_achieved_mib_s'] = (s1[2] - s0[2]) * 4096 / 2**20 / (t1 - t0)
    return t0, t1


def start_destination(c, tag):
    port = bl.free_port()
    uri = f'tcp:127.0.0.1:{port}'
    dst = c.spawn(tag, uri)
    if not bl.wait_until(lambda: bl.tcp_listening(port) or dst.poll() is not None, 60):
        raise RuntimeError(f'{tag}: not listening on {uri}')
    if dst.poll() is not None:
        raise RuntimeError(f'{tag}: exited with {dst.returncode} before listening')
    c.res['dest_listen_s'] = bl.now() - dst.t_spawn
    return dst, uri


def migrate(c, src, qs, uri):
    cpu = bl.CpuSampler({'src': src.pid, 'dst': c.dst_pid})
    t_cmd = bl.now()
    qs.cmd('migrate', uri=uri)
    ev = qs.wait_event(bl.migration_event({'completed', 'failed', 'cancelled'}), 600)
    c.res['cpu_during_migration'] = cpu.stop()
    c.res['vcpu_tid'] = c.vcpu_tid
    if not ev:
        raise RuntimeError('source: no final MIGRATION event')
    t_done, data = ev[0], ev[1]['data']
    if data['status'] != 'completed':
        raise RuntimeError(f'migration {data["status"]}: {data}')
    if c.mon.name == 'qemu':
        data = qemu_final_stats(qs)
        qs.cmd('quit')
    c.run.reap(src, 30)
    c.res['host_total_ms'] = (t_done - t_cmd) * 1000
    c.res['reported'] = data
    ram = data.get('ram', {})
    c.res.update({'total_ms': data.get('total-time'), 'downtime_ms': data.get('downtime'),
                  'setup_ms': data.get('setup-time'), 'bytes': ram.get('transferred'),
                  'rounds': ram.get('dirty-sync-count', data.get('rounds'))})
    return t_cmd, t_done


def qemu_final_stats(q):
    """QEMU 7.2 sends the 'completed' event before it computes total-time and
    downtime (both read 0 for a moment): ask until they are filled in."""
    deadline = bl.now() + 5
    while True:
        data = q.cmd('query-migrate')
        if data.get('total-time') or bl.now() > deadline:
            return data
        time.sleep(0.01)


def switch_figures(c, a, b, t_cmd, prefix):
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
    c.res[f'{prefix}_outside_gap_ms'] = (first[0] - last[0]) * 1000
    c.res[f'{prefix}_seq_across'] = [last[1], first[1]]
    c.res[f'{prefix}_last_hb_after_cmd_ms'] = (last[0] - t_cmd) * 1000
    pre = [h for h in ha if h[0] >= t_cmd]
    c.res[f'{prefix}_stall_before_ms'] = bl.max_gap(pre)[0] if len(pre) > 1 else None
    post = [h for h in hb if h[0] < first[0] + 1.0]
    c.res[f'{prefix}_stall_after_ms'] = bl.max_gap(post)[0]
    c.res[f'{prefix}_first_second_hb'] = len(post)
    return first[0]


def save_and_restore(c, dst):
    qd = bl.Qmp(dst.api, 30, dst)
    c.mon.prepare(qd)
    path = c.run.path('guest.save')
    t0 = bl.now()
    if c.mon.name == 'qemu':
        qd.cmd('stop')
    qd.cmd('migrate', uri=c.mon.save_uri(path))
    ev = qd.wait_event(bl.migration_event({'completed', 'failed'}), 600)
    if not ev or ev[1]['data']['status'] != 'completed':
        raise RuntimeError(f'save failed: {ev}')
    data = qemu_final_stats(qd) if c.mon.name == 'qemu' else ev[1]['data']
    c.res['save_host_ms'] = (ev[0] - t0) * 1000
    c.res['save_reported_ms'] = data.get('total-time')
    c.res['save_reported'] = data
    if c.mon.name == 'qemu':
        qd.cmd('quit')
    c.run.reap(dst, 60)
    st = os.stat(path)
    c.res['save_file_apparent_mib'] = st.st_size / 2**20
    c.res['save_file_du_mib'] = st.st_blocks * 512 / 2**20
    c.hub.successor['dst'] = 'rst'
    rst = c.spawn('rst', c.mon.restore_uri(path))
    if c.mon.name == 'qemu':
        cont_after_incoming(c, rst)
    first = c.hub.wait(lambda ln: ln[1] == 'rst' and bl.HB.match(ln[2]), 600)
    if not first:
        raise RuntimeError('restored guest: no heartbeat')
    c.res['restore_first_hb_ms'] = (first[0] - rst.t_spawn) * 1000
    c.res['restore_attached_ms'] = (c.hub.wait_attached('rst', 1) - rst.t_spawn) * 1000
    switch_figures(c, 'dst', 'rst', t0, 'save')
    c.sweeps_after('rst', first[0], 2)
    os.unlink(path)
    return rst


def cont_after_incoming(c, rst):
    """QEMU keeps a guest saved while stopped paused after loading it (as
    libvirt's restore does, we then 'cont'); ours resumes it by itself."""
    q = bl.Qmp(rst.api, 60, rst)
    q.cmd('qmp_capabilities')
    while True:
        st = q.cmd('query-status')['status']
        if st != 'inmigrate':
            break
        time.sleep(0.002)
    c.res['restore_loaded_ms'] = (bl.now() - rst.t_spawn) * 1000
    if st == 'paused':
        q.cmd('cont')
    rst.qmp = q


def stop(c, p):
    try:
        q = getattr(p, 'qmp', None) or bl.Qmp(p.api, 10, p)
        if not getattr(p, 'qmp', None):
            c.mon.prepare(q)
        q.cmd('quit')
    except Exception:
        p.kill()
    c.run.reap(p)


def monitor_logs(c):
    """The monitors' own lines (timings they log), a few per process."""
    out = {}
    for tag in ('src', 'dst', 'rst'):
        try:
            with open(c.run.path(f'{tag}.log'), errors='replace') as f:
                out[tag] = [ln.rstrip() for ln in f if ln.strip()][-12:]
        except OSError:
            pass
    c.res['monitor_log'] = out


def validate(c):
    monitor_logs(c)
    lines = c.hub.snapshot()
    hbs = sorted(bl.heartbeats(lines), key=lambda h: h[0])
    bad = bl.sequence_problems(hbs) + bl.corrupt_lines(lines)
    c.res['heartbeats'] = len(hbs)
    c.res['problems'] = bad[:10]
    c.res['valid'] = not bad


def chain_once(mon, guest, case):
    c = Chain(mon, guest, case)
    try:
        src, qs = boot_source(c)
        quiet_period(c, src)
        dst, uri = start_destination(c, 'dst')
        c.dst_pid = dst.pid
        c.hub.successor['src'] = 'dst'
        t_cmd, t_done = migrate(c, src, qs, uri)
        t_first = switch_figures(c, 'src', 'dst', t_cmd, 'mig')
        c.res['dst_attached_before_resume_ms'] = (t_first - c.hub.wait_attached('dst', 1)) * 1000
        c.sweeps_after('dst', t_first, 2)
        last = dst
        if c.save:
            last = save_and_restore(c, dst)
        validate(c)
        stop(c, last)
    except Exception as e:
        c.res['error'] = str(e)
        bl.log(f'{mon.name} {case}: {e} (kept {c.run.dir})')
        validate(c)
        c.hub.dump(c.run.path('serial-transcript.txt'))
        c.hub.close()
        c.run.cleanup(keep=True)
        return c.res
    if not c.res['valid']:
        c.hub.dump(c.run.path('serial-transcript.txt'))
    c.hub.close()
    c.run.cleanup(keep=not c.res['valid'])
    return c.res


# ---- report -----------------------------------------------------------------

FIGURES = [   # label, key, unit, digits
    ('total time (host)', 'host_total_ms', ' ms', 0),
    ('total time (reported)', 'total_ms', ' ms', 0),
    ('bytes sent', 'bytes_mib', ' MiB', 1),
    ('rounds', 'rounds', '', 0),
    ('downtime (reported)', 'downtime_ms', ' ms', 1),
    ('outside gap', 'mig_outside_gap_ms', ' ms', 1),
    ('noise floor', 'noise_floor_ms', ' ms', 1),
    ('largest pre-copy stall', 'mig_stall_before_ms', ' ms', 1),
    ('largest stall, 1st s after', 'mig_stall_after_ms', ' ms', 1),
    ('dirty rate reached', 'dirty_rate_achieved_mib_s', ' MiB/s', 0),
    ('heartbeats/s, quiet', 'quiet_hb_rate_per_s', '', 0),
    ('vCPU on a CPU, share, quiet', 'quiet_vcpu_cpu_share', '', 2),
    ('vCPU waiting for a CPU, share', 'quiet_vcpu_wait_share', '', 2),
]
SAVE_FIGURES = [
    ('save time (host)', 'save_host_ms', ' ms', 0),
    ('save time (reported)', 'save_reported_ms', ' ms', 0),
    ('file size, apparent', 'save_file_apparent_mib', ' MiB', 1),
    ('file size, du', 'save_file_du_mib', ' MiB', 1),
    ('restore to first heartbeat', 'restore_first_hb_ms', ' ms', 1),
    ('gap save -> restored guest', 'save_outside_gap_ms', ' ms', 0),
    ('largest stall, 1st s after restore', 'save_stall_after_ms', ' ms', 1),
]


def summarize(runs, monitors, cases):
    for r in runs:
        if r.get('bytes') is not None:
            r['bytes_mib'] = r['bytes'] / 2**20
    out = {}
    keys = [f[1] for f in FIGURES + SAVE_FIGURES]
    for m in monitors:
        for case in cases:
            rs = [r for r in runs if r['monitor'] == m and r['case'] == case
                  and r.get('valid') and 'error' not in r]
            out[f'{m}/{case}'] = {k: bl.summary([r.get(k) for r in rs]) for k in keys}
            out[f'{m}/{case}']['valid_runs'] = len(rs)
            out[f'{m}/{case}']['invalid_runs'] = len(
                [r for r in runs if r['monitor'] == m and r['case'] == case]) - len(rs)
    return out


def print_table(summ, cases):
    for case in cases:
        mem, fill, rate, save = CASES[case]
        p, q = summ.get(f'peregrine/{case}', {}), summ.get(f'qemu/{case}', {})
        print(f'\n{case}: {mem} MiB, fill={fill}, rate={rate} MiB/s; valid runs '
              f'{p.get("valid_runs")} / {q.get("valid_runs")}: median (min–max)')
        print('| figure | Peregrine | QEMU | QEMU/Peregrine |\n|---|---|---|---|')
        for label, key, unit, d in FIGURES + (SAVE_FIGURES if save else []):
            print(f'| {label} | {bl.fmt(p.get(key), unit, d)} | '
                  f'{bl.fmt(q.get(key), unit, d)} | {bl.ratio(q.get(key), p.get(key))} |')


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--runs', type=int, default=5)
    ap.add_argument('--runs-large', type=int, default=3)
    ap.add_argument('--cases', default=','.join(CASES))
    ap.add_argument('--monitors', default='peregrine,qemu')
    ap.add_argument('--out', default='migrate')
    a = ap.parse_args()
    cases, monitors = a.cases.split(','), a.monitors.split(',')
    keep = bl.Run('mig-guest')
    guest = bl.snapshot_guest(keep)
    doc = {'environment': bl.environment(guest), 'cases': CASES, 'runs': []}
    for case in cases:
        n = a.runs if CASES[case][0] <= 1024 else a.runs_large
        for i in range(n):
            for m in monitors:      # interleaved: both see the same machine state
                load = os.getloadavg()[0]
                r = chain_once(bl.MONITORS[m], guest, case)
                r['iteration'], r['loadavg_1m_before'] = i, load
                doc['runs'].append(r)
                bl.log(f'{m} {case} #{i}: total {r.get("host_total_ms") or 0:.0f} ms, '
                       f'rounds {r.get("rounds")}, gap {r.get("mig_outside_gap_ms") or 0:.1f} ms, '
                       f'stall {r.get("mig_stall_before_ms") or 0:.1f} ms, '
                       f'valid {r.get("valid")} {r.get("error", "")} {r.get("problems", "")}')
    doc['summary'] = summarize(doc['runs'], monitors, cases)
    path = bl.save_results(a.out, doc)
    keep.cleanup()
    print_table(doc['summary'], cases)
    print(f'\nraw: {path}')
    return 1 if any('error' in r or not r.get('valid') for r in doc['runs']) else 0


if __name__ == '__main__':
    sys.exit(main())
