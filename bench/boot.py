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
# and RSS minus the guest RAM mapping(s) from /proc/PID/smaps.
#
# A line-cost probe prices one heartbeat line on the guest's own clock: the
# guest verifies as fast as it can (verify=0) and reports each sweep's time
# (V lines); with hb=1 the printing steals c ms of every 1 ms period, so
# c = 1 ms * (1 - T(hb=1000) / T(hb=1)), medians over ~2 s of sweeps.
#
# It does not check the guest's memory (the migration benchmark and the
# system tests do) and it never runs from `make check`: bench/run.sh runs it.
#
#   bench/boot.py [--runs N] [--sizes 1024,4096] [--fill 64] [--monitors ...]
import argparse
import re
import statistics
import sys
import time

import benchlib as bl


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
        ready = hub.wait(lambda ln: ln[2] == 'READY', 180)
        if not ready:
            raise RuntimeError('no READY within 180 s')
        hub.wait(lambda ln: ln[2].startswith('TIMES '), 5)
        cpu = bl.CpuSampler({'vmm': p.pid})
        time.sleep(2.5 if hb else 1.3)
        sample = cpu.stop()
        res['vcpu_cpu_share'] = bl.thread_share(sample, 'vmm', None)
        res['vcpu_wait_share'] = bl.thread_share(sample, 'vmm', None, 2)
        if not hb:
            res.update(bl.overhead(p.pid, mem))
        lines = hub.snapshot()
        res.update(measure(lines, p.t_spawn, ready[0], hb))
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


def first(lines, pred):
    for ln in lines:
        if pred(ln[2]):
            return ln[0]
    return None


def measure(lines, t_spawn, t_ready, hb):
    ms = lambda t: (t - t_spawn) * 1000 if t is not None else None
    times = bl.guest_times(lines)
    banner = first(lines, lambda s: s.startswith('PGR-TESTGUEST '))
    fill_hbs = bl.heartbeats(lines, t1=t_ready)
    res = {
        'first_line_ms': ms(lines[0][0]) if lines else None,
        'banner_ms': ms(banner),
        'first_hb_ms': ms(first(lines, lambda s: bl.HB.match(s))),
        'ready_ms': ms(t_ready),
        'guest_times': times,
        'hb_during_fill': len(fill_hbs),
    }
    if banner and times:
        own = (times['supervisor_us'] + times['calibrate_us'] + times['smp_us']) / 1000
        res['before_guest_entry_ms'] = ms(banner) - own
        res['ready_minus_fill_ms'] = ms(t_ready) - times['fill_ms']
    if hb:
        res['sweep_ms'] = [int(m.group(1)) for t, _, text in lines if t > t_ready + 0.3
                           for m in [re.match(r'^V\d+ pages=\d+ ms=(\d+)', text)] if m]
    else:
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

def summarize(runs, monitors, sizes):
    out = {}
    keys = ('first_hb_ms', 'banner_ms', 'ready_ms', 'before_guest_entry_ms',
            'ready_minus_fill_ms', 'overhead_mib', 'overhead_private_mib',
            'rss_guest_ram_mib', 'hb_rate_per_s', 'quiet_max_gap_ms', 'vcpu_cpu_share',
            'vcpu_wait_share')
    for m in monitors:
        for size in sizes:
            rs = [r for r in runs if r['monitor'] == m and r['mem_mib'] == size
                  and not r['probe_hb_ms'] and 'error' not in r]
            s = {k: bl.summary([r.get(k) for r in rs]) for k in keys}
            for k in ('supervisor_us', 'calibrate_us', 'smp_us', 'fill_ms'):
                s['guest_' + k] = bl.summary([r['guest_times'].get(k) for r in rs])
            out[f'{m}/{size}'] = s
        out[f'{m}/line_cost'] = line_cost(runs, m)
    return out


def line_cost(runs, m):
    """Cost of one heartbeat line (ms) from the probe boots' sweep times.
    Each boot contributes its fastest sweep: host contention only ever
    lengthens a sweep, so the minimum is the least disturbed one."""
    def sweeps(hb):
        return [min(r['sweep_ms']) for r in runs
                if r['monitor'] == m and r['probe_hb_ms'] == hb and r.get('sweep_ms')]
    t1, t0 = sweeps(1), sweeps(1000)
    if not t1 or not t0:
        return None
    base = min(t0)
    return {'sweep_ms_hb1000': bl.summary(t0), 'sweep_ms_hb1': bl.summary(t1),
            'ms_per_line': bl.summary([1 - base / t for t in t1])}


def print_table(summ, monitors, sizes, a_fill):
    rows = [('first heartbeat (ms)', 'first_hb_ms', 1),
            ('READY (ms)', 'ready_ms', 1),
            ('guest fill_ms (own)', 'guest_fill_ms', 0),
            ('READY - fill (ms)', 'ready_minus_fill_ms', 1),
            ('before guest entry, est. (ms)', 'before_guest_entry_ms', 1),
            ('monitor overhead RSS (MiB)', 'overhead_mib', 2),
            ('  of which private (MiB)', 'overhead_private_mib', 2),
            ('guest RAM resident (MiB)', 'rss_guest_ram_mib', 1),
            ('heartbeats/s after READY', 'hb_rate_per_s', 0),
            ('vCPU on a CPU, share', 'vcpu_cpu_share', 2),
            ('vCPU waiting for a CPU, share', 'vcpu_wait_share', 2)]
    for size in sizes:
        print(f'\n{size} MiB, fill as given, 1 vCPU: median (min–max)')
        print(f'| figure | Peregrine | QEMU | QEMU/Peregrine |')
        for label, key, d in rows:
            p = summ.get(f'peregrine/{size}', {}).get(key)
            q = summ.get(f'qemu/{size}', {}).get(key)
            print(f'| {label} | {bl.fmt(p, "", d)} | {bl.fmt(q, "", d)} | {bl.ratio(q, p)} |')
    for m in monitors:
        lc = summ.get(f'{m}/line_cost')
        if lc:
            print(f'{m}: one heartbeat line costs {bl.fmt(lc["ms_per_line"], " ms", 3)} '
                  f'(sweep of {a_fill} MiB: {bl.fmt(lc["sweep_ms_hb1000"], " ms", 0)} with '
                  f'hb=1000, {bl.fmt(lc["sweep_ms_hb1"], " ms", 0)} with hb=1)')


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--runs', type=int, default=5)
    ap.add_argument('--runs-large', type=int, default=3)
    ap.add_argument('--sizes', default='1024,4096')
    ap.add_argument('--fill', type=int, default=64)
    ap.add_argument('--monitors', default='peregrine,qemu')
    ap.add_argument('--no-line-cost', action='store_true')
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
    if not a.no_line_cost:
        plan += [(i, sizes[0], hb) for i in range(a.runs_large) for hb in (1, 1000)]
    for i, size, hb in plan:
        for m in monitors:       # interleaved: both see the same machine state
            r = boot_once(bl.MONITORS[m], guest, size, a.fill, hb)
            r['iteration'] = i
            doc['runs'].append(r)
            bl.log(f'{m} {size} MiB probe={hb} #{i}: first H {r.get("first_hb_ms") or 0:.1f} ms, '
                   f'READY {r.get("ready_ms") or 0:.1f} ms, fill '
                   f'{r.get("guest_times", {}).get("fill_ms")} ms, overhead '
                   f'{r.get("overhead_mib") or 0:.2f} MiB {r.get("error", "")}')
    doc['summary'] = summarize(doc['runs'], monitors, sizes)
    path = bl.save_results(a.out, doc)
    keep.cleanup()
    print_table(doc['summary'], monitors, sizes, a.fill)
    print(f'\nraw: {path}')
    return 1 if any('error' in r for r in doc['runs']) else 0


if __name__ == '__main__':
    sys.exit(main())
