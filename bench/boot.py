#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
#
# boot.py: spawn-to-first-heartbeat and monitor memory overhead, pgr-vmm
# against QEMU, with the same test guest and parameters, in the same run.
#
# Per boot: process start (just before fork/exec) to the guest's banner, its
# first H line and READY (after fill=MiB, the guest's own work), all on the
# host clock as lines arrive on the serial socket; the guest's own TIMES
# line; the heartbeat rate and largest gap over a quiet second after READY;
# how much of that second the vCPU thread ran or waited for a CPU (host
# contention); and RSS minus the guest RAM mapping(s) from /proc/PID/smaps.
#
# A line-cost probe prices one serial line in CPU time, which host contention
# does not inflate the way it inflates wall time: the guest verifies as fast
# as it can (verify=0) with hb=1 (a line every ms) and with hb=1000; over a
# few seconds we count CPU seconds of the whole monitor process, sweeps and
# heartbeat lines (guest STATS), and c = (CPU - sweeps * S) / lines, where S
# is the CPU time of one sweep with hb=1000.
#
# It does not check the guest's memory (the migration benchmark and the
# system tests do) and it never runs from `make check`: bench/run.sh runs it.
#
#   bench/boot.py [--runs N] [--runs-large N] [--sizes 1024,4096] [--fill 64]
import argparse
import re
import statistics
import sys
import time

import benchlib as bl

STATS = re.compile(r'^STATS hb=(\d+) sweeps=(\d+) dirtied=(\d+) corrupt=(\d+)$')
PROBE_S = 3.0


def boot_once(mon, guest, mem, fill, hb):
    """One boot; hb=None is a plain boot, hb=N a line-cost probe boot."""
    run = bl.Run(f'boot-{mon.name}-{mem}')
    hub = bl.SerialHub()
    serial, api = run.path('serial.sock'), run.path('api.sock')
    append = f'fill={fill}' + (f' verify=0 hb={hb}' if hb else '')
    p = run.spawn(mon.boot_argv(guest, serial, api, mem, 1, append), 'monitor.log')
    res = {'monitor': mon.name, 'mem_mib': mem, 'fill_mib': fill, 'probe_hb_ms': hb,
           'argv': p.argv}
    try:
        hub.attach('g', serial, proc=p)
        ready = hub.wait(lambda ln: ln[2] == 'READY', 300)
        if not ready:
            raise RuntimeError('no READY within 300 s')
        hub.wait(lambda ln: ln[2].startswith('TIMES '), 5)
        if hb:
            res.update(probe(hub, p))
        else:
            cpu = bl.CpuSampler({'vmm': p.pid})
            time.sleep(1.3)
            sample = cpu.stop()
            res['vcpu_cpu_share'] = bl.thread_share(sample, 'vmm', None)
            res['vcpu_wait_share'] = bl.thread_share(sample, 'vmm', None, 2)
            res.update(bl.overhead(p.pid, mem))
        res.update(measure(hub.snapshot(), p.t_spawn, ready[0], hb))
        res['attached_ms'] = (hub.wait_attached('g', 1) - p.t_spawn) * 1000
        stop_monitor(mon, api, run, p)
    except Exception as e:
        res['error'] = str(e)
        bl.log(f'{mon.name} {mem} MiB: {e} (kept {run.dir})')
        run.cleanup(keep=True)
        hub.close()
        return res
    hub.close()
    run.cleanup()
    return res


def stats(hub):
    t = bl.now()
    hub.send('g', 'stats')
    ln = hub.wait(lambda ln: ln[0] > t and STATS.match(ln[2]), 10)
    if not ln:
        raise RuntimeError('no STATS reply')
    return [int(x) for x in STATS.match(ln[2]).groups()]


def probe(hub, p):
    time.sleep(0.5)
    s0 = stats(hub)
    u0 = bl.user_sys(p.pid)
    cpu = bl.CpuSampler({'vmm': p.pid})
    time.sleep(PROBE_S)
    sample = cpu.stop()
    u1 = bl.user_sys(p.pid)
    s1 = stats(hub)
    return {'probe_cpu_s': sum(row[1] for row in sample['vmm']),
            'probe_user_s': u1[0] - u0[0], 'probe_sys_s': u1[1] - u0[1],
            'probe_wall_s': sample['wall_s'],
            'probe_lines': s1[0] - s0[0], 'probe_sweeps': s1[1] - s0[1]}


def first(lines, pred):
    for ln in lines:
        if pred(ln[2]):
            return ln[0]
    return None


def measure(lines, t_spawn, t_ready, hb):
    def ms(t):
        return (t - t_spawn) * 1000 if t is not None else None
    times = bl.guest_times(lines)
    banner = first(lines, lambda s: s.startswith('PGR-TESTGUEST '))
    res = {
        'first_line_ms': ms(lines[0][0]) if lines else None,
        'banner_ms': ms(banner),
        'first_hb_ms': ms(first(lines, lambda s: bl.HB.match(s))),
        'ready_ms': ms(t_ready),
        'guest_times': times,
    }
    if banner and times:
        own = (times['supervisor_us'] + times['calibrate_us'] + times['smp_us']) / 1000
        res['before_guest_entry_ms'] = ms(banner) - own
        res['ready_minus_fill_ms'] = ms(t_ready) - times['fill_ms']
        res['guest_fill_ms'] = times['fill_ms']
        res['guest_calibrate_ms'] = times['calibrate_us'] / 1000
        res['guest_supervisor_ms'] = times['supervisor_us'] / 1000
    if not hb:
        quiet = bl.heartbeats(lines, t0=t_ready + 0.2, t1=t_ready + 1.2)
        res['hb_rate_per_s'] = bl.rate(quiet)
        res['quiet_max_gap_ms'] = bl.max_gap(quiet)[0]
    return res


def stop_monitor(mon, api, run, p):
    try:
        q = bl.Qmp(api, 10, p)
        mon.prepare(q)
        q.cmd('quit')
        q.close()
    except Exception as e:
        bl.log(f'{mon.name}: quit over the API failed ({e}); killing')
        p.kill()
    run.reap(p)


# ---- report -----------------------------------------------------------------

ROWS = [  # label, key, digits
    ('first heartbeat (ms)', 'first_hb_ms', 1),
    ('READY (ms)', 'ready_ms', 1),
    ('guest: fill (own, ms)', 'guest_fill_ms', 0),
    ('READY - fill (ms)', 'ready_minus_fill_ms', 1),
    ('guest: TSC calibration (own, ms)', 'guest_calibrate_ms', 1),
    ('guest: supervisor-mode setup (own, ms)', 'guest_supervisor_ms', 1),
    ('spawn to guest entry, est. (ms)', 'before_guest_entry_ms', 1),
    ('monitor overhead, RSS (MiB)', 'overhead_mib', 2),
    ('  of which private (MiB)', 'overhead_private_mib', 2),
    ('guest RAM resident (MiB)', 'rss_guest_ram_mib', 1),
    ('heartbeats/s after READY', 'hb_rate_per_s', 0),
    ('largest heartbeat gap, quiet s (ms)', 'quiet_max_gap_ms', 1),
    ('vCPU on a CPU, share', 'vcpu_cpu_share', 2),
    ('vCPU waiting for a CPU, share', 'vcpu_wait_share', 2),
]


def summarize(runs, monitors, sizes):
    out = {}
    for m in monitors:
        for size in sizes:
            rs = [r for r in runs if r['monitor'] == m and r['mem_mib'] == size
                  and not r['probe_hb_ms'] and 'error' not in r]
            out[f'{m}/{size}'] = {key: bl.summary([r.get(key) for r in rs])
                                  for _, key, _ in ROWS}
        out[f'{m}/line_cost'] = line_cost(runs, m)
    return out


def line_cost(runs, m):
    """CPU cost of one heartbeat line (µs), from the probe boots."""
    def probes(hb):
        return [r for r in runs if r['monitor'] == m and r['probe_hb_ms'] == hb
                and r.get('probe_sweeps')]
    quiet, busy = probes(1000), probes(1)
    if not quiet or not busy:
        return None
    sweep = statistics.median(r['probe_cpu_s'] / r['probe_sweeps'] for r in quiet)
    costs = [(r['probe_cpu_s'] - r['probe_sweeps'] * sweep) / r['probe_lines'] * 1e6
             for r in busy if r['probe_lines']]
    def share(rs, key):
        return bl.summary([r[key] / (r['probe_user_s'] + r['probe_sys_s']) for r in rs
                           if r['probe_user_s'] + r['probe_sys_s'] > 0])
    return {'sweep_cpu_ms_hb1000': sweep * 1000, 'us_per_line': bl.summary(costs),
            'user_share_hb1': share(busy, 'probe_user_s'),
            'user_share_hb1000': share(quiet, 'probe_user_s'),
            'lines_per_s_hb1': bl.summary([r['probe_lines'] / r['probe_wall_s'] for r in busy])}


def print_table(summ, monitors, sizes, fill):
    for size in sizes:
        print(f'\n{size} MiB, fill={fill}, 1 vCPU: median (min–max)')
        print('| figure | Peregrine | QEMU | QEMU/Peregrine |\n|---|---|---|---|')
        for label, key, d in ROWS:
            p = summ.get(f'peregrine/{size}', {}).get(key)
            q = summ.get(f'qemu/{size}', {}).get(key)
            print(f'| {label} | {bl.fmt(p, "", d)} | {bl.fmt(q, "", d)} | {bl.ratio(q, p)} |')
    print()
    for m in monitors:
        lc = summ.get(f'{m}/line_cost')
        if lc:
            print(f'- {m}: one heartbeat line costs {bl.fmt(lc["us_per_line"], " µs", 0)} of CPU '
                  f'(a {fill} MiB sweep: {lc["sweep_cpu_ms_hb1000"]:.1f} ms of CPU; lines/s '
                  f'with hb=1: {bl.fmt(lc["lines_per_s_hb1"], "", 0)}; user-mode share of its '
                  f'CPU: {bl.fmt(lc["user_share_hb1"], "", 2)} with hb=1, '
                  f'{bl.fmt(lc["user_share_hb1000"], "", 2)} with hb=1000)')


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--runs', type=int, default=5)
    ap.add_argument('--runs-large', type=int, default=3)
    ap.add_argument('--sizes', default='1024,4096')
    ap.add_argument('--fill', type=int, default=64)
    ap.add_argument('--monitors', default='peregrine,qemu')
    ap.add_argument('--probes', type=int, default=3, help='line-cost probe boots per hb')
    ap.add_argument('--out', default='boot')
    a = ap.parse_args()
    sizes = [int(s) for s in a.sizes.split(',')]
    monitors = a.monitors.split(',')
    keep = bl.Run('boot-guest')
    guest = bl.snapshot_binaries(keep)
    doc = {'environment': bl.environment(guest), 'runs': []}
    plan = []
    for size in sizes:
        n = a.runs if size <= 1024 else a.runs_large
        plan += [(i, size, None) for i in range(n)]
    plan += [(i, sizes[0], hb) for i in range(min(a.probes, a.runs)) for hb in (1, 1000)]
    for i, size, hb in plan:
        for m in monitors:       # interleaved: both see the same machine state
            r = boot_once(bl.MONITORS[m], guest, size, a.fill, hb)
            r['iteration'], r['loadavg_1m'] = i, bl.os.getloadavg()[0]
            doc['runs'].append(r)
            bl.log(f'{m} {size} MiB {"probe hb=%d" % hb if hb else "boot"} #{i}: first H '
                   f'{r.get("first_hb_ms") or 0:.1f} ms, READY {r.get("ready_ms") or 0:.1f} ms, '
                   f'fill {r.get("guest_fill_ms")} ms, overhead {r.get("overhead_mib") or 0:.2f}'
                   f' MiB {r.get("error", "")}')
    doc['summary'] = summarize(doc['runs'], monitors, sizes)
    path = bl.save_results(a.out, doc)
    keep.cleanup()
    print_table(doc['summary'], monitors, sizes, a.fill)
    print(f'\nraw: {path}')
    return 1 if any('error' in r for r in doc['runs']) else 0


if __name__ == '__main__':
    sys.exit(main())
