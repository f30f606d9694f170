#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
#
# net.py: virtio-net round trips, pgr-vmm against QEMU 7.2, with the same
# test guest on the same tap, in the same run, monitors interleaved.
#
# The network is one private namespace: a bridge br0 holding the host's
# address (NET.1) and one persistent tap that both monitors open in turn
# (pgr-vmm `--net tap=`, QEMU `-netdev tap,ifname=`, userspace virtio-net:
# this machine has no /dev/vhost-net). The monitors run inside the
# namespace. The guest (1 vCPU, 256 MiB, fill=16 verify=16 hb=100: the CPU
# mostly polls; heartbeats every 100 ms keep the serial line quiet) answers
# ARP, ICMP echo and UDP echo (port 7) at NET.2.
#
# Per run and monitor, one boot, then:
# - host -> guest ICMP echo: `ping -i 0.002 -c COUNT` from the namespace,
#   every reply's time: median, 90th and 99th percentile, max, lost;
# - host -> guest UDP echo, one request outstanding (like netperf's
#   UDP_RR), 64-byte and 1400-byte payloads, for WINDOW seconds each:
#   transactions per second and the median round trip;
# - guest -> host ICMP echo: the guest's own `ping` command (serial line)
#   GUEST_PINGS times, its TSC-timed `PONG ... us=` figures.
# A run is invalid if a reply is lost or the guest prints CORRUPT/FAULT.
# Never part of `make check`; needs root (network namespaces).
#
#   bench/net.py [--runs N] [--count N] [--window S] [--monitors peregrine,qemu]
#                [--out net] [--report JSON]
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

import benchlib as bl

NS = 'pgrbench-net'
NET = '10.78.0'
TAP = 'pgrbn0'
MAC = '52:54:00:78:00:02'
MEM_MIB = 256
PING_TIME = re.compile(r'icmp_seq=(\d+) ttl=\d+ time=([0-9.]+) ms')
PONG = re.compile(r'^PONG ip=\S+ seq=\d+ us=(\d+)$')
BAD = ('CORRUPT', 'FAULT', 'FATAL', 'PING timeout')

UDP_RR = r'''
import json, socket, sys, time
dst, size, window = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect((dst, 7))
s.settimeout(1.0)
payload, rtts, lost = b'p' * size, [], 0
end = time.monotonic() + window
while time.monotonic() < end:
    t = time.monotonic()
    s.send(payload)
    try:
        data = s.recv(4096)
    except socket.timeout:
        lost += 1
        continue
    if data != payload:
        print(json.dumps({'error': 'UDP echo: wrong payload (%d bytes)' % len(data)}))
        sys.exit(0)
    rtts.append(time.monotonic() - t)
print(json.dumps({'rtts': rtts, 'lost': lost, 'window': window}))
'''


def sh(*argv, check=True):
    r = subprocess.run(argv, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f'{" ".join(argv)}: {r.stderr.strip() or r.returncode}')
    return r.stdout


def in_ns(argv):
    return ['ip', 'netns', 'exec', NS] + list(argv)


def net_setup():
    if NS in sh('ip', 'netns', 'list'):
        sh('ip', 'netns', 'del', NS)
    sh('ip', 'netns', 'add', NS)
    ipn = ('ip', '-n', NS)
    sh(*ipn, 'link', 'set', 'lo', 'up')
    sh(*ipn, 'link', 'add', 'br0', 'type', 'bridge')
    sh(*ipn, 'addr', 'add', f'{NET}.1/24', 'dev', 'br0')
    sh(*ipn, 'link', 'set', 'br0', 'up')
    sh(*ipn, 'tuntap', 'add', 'dev', TAP, 'mode', 'tap')
    sh(*ipn, 'link', 'set', TAP, 'master', 'br0', 'up')


def net_teardown():
    sh('ip', 'netns', 'del', NS, check=False)


def net_argv(mon):
    """The NIC, and start paused (continued once the console is attached)."""
    if mon.name == 'qemu':
        return ['-S', '-net', 'none',
                '-netdev', f'tap,id=n0,ifname={TAP},script=no,downscript=no',
                '-device', f'virtio-net-pci,netdev=n0,disable-legacy=on,mac={MAC}']
    return ['--paused', '--net', f'tap={TAP},mac={MAC}']


def boot(mon, guest, run):
    serial, api = run.path('g.serial'), run.path('g.api')
    append = f'fill=16 verify=16 hb=100 ip={NET}.2'
    argv = mon.boot_argv(guest, serial, api, MEM_MIB, 1, append) + net_argv(mon)
    p = run.spawn(in_ns(argv), 'monitor.log')
    hub = bl.SerialHub()
    hub.attach('g', serial, proc=p)
    q = bl.Qmp(api, 60, p)
    mon.prepare(q)
    if hub.wait_attached('g', 30) is None:
        raise RuntimeError('cannot attach to the console')
    q.cmd('cont')
    if not hub.wait(lambda ln: ln[2] == 'READY', 60):
        raise RuntimeError('no READY from the guest')
    if not hub.wait(lambda ln: ln[2].startswith('NET up'), 10):
        raise RuntimeError('no NET up from the guest')
    return p, hub, q


def percentile(vals, p):
    s = sorted(vals)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def host_ping(count):
    """ICMP echo from the namespace's br0, 2 ms apart: RTTs in us."""
    sh(*in_ns(['ping', '-c', '3', '-i', '0.2', '-W', '1', f'{NET}.2']))   # ARP, caches
    out = sh(*in_ns(['ping', '-c', str(count), '-i', '0.002', '-W', '1', f'{NET}.2']),
             check=False)
    rtts = [float(m.group(2)) * 1000 for m in PING_TIME.finditer(out)]
    if not rtts:
        raise RuntimeError(f'ping: no replies: {out.strip()[-200:]}')
    return {'ping_us': statistics.median(rtts), 'ping_p90_us': percentile(rtts, 90),
            'ping_p99_us': percentile(rtts, 99), 'ping_max_us': max(rtts),
            'ping_lost': count - len(rtts)}


def udp_rr(size, window):
    out = sh(*in_ns([sys.executable, '-c', UDP_RR, f'{NET}.2', str(size), str(window)]))
    r = json.loads(out)
    if 'error' in r:
        raise RuntimeError(r['error'])
    if not r['rtts']:
        raise RuntimeError(f'UDP echo ({size} bytes): no answer')
    return {f'udp{size}_tps': len(r['rtts']) / r['window'],
            f'udp{size}_us': statistics.median(r['rtts']) * 1e6,
            f'udp{size}_lost': r['lost']}


def guest_ping(hub, count):
    """The guest's `ping` command, one at a time: its own RTTs in us."""
    rtts = []
    for _ in range(count):
        t = bl.now()
        hub.send('g', f'ping {NET}.1')
        ln = hub.wait(lambda ln: ln[0] >= t and ln[2].startswith(('PONG', 'PING timeout')), 5)
        if not ln or not PONG.match(ln[2]):
            raise RuntimeError(f'guest ping: {ln[2] if ln else "no answer"}')
        rtts.append(int(PONG.match(ln[2]).group(1)))
        time.sleep(0.02)
    return {'guest_ping_us': statistics.median(rtts),
            'guest_ping_p90_us': percentile(rtts, 90)}


def one(mon, guest, a):
    run = bl.Run(f'net-{mon.name}')
    res = {'monitor': mon.name}
    p = hub = q = None
    try:
        p, hub, q = boot(mon, guest, run)
        res.update(host_ping(a.count))
        for size in (64, 1400):
            res.update(udp_rr(size, a.window))
        res.update(guest_ping(hub, a.guest_pings))
        bad = [t for _, _, t in hub.snapshot() if t.startswith(BAD)]
        lost = res['ping_lost'] + res['udp64_lost'] + res['udp1400_lost']
        if bad or lost:
            raise RuntimeError(f'guest: {bad[0]}' if bad else f'{lost} replies lost')
    except Exception as e:
        res['error'] = str(e)
        bl.log(f'{mon.name}: {e} (kept {run.dir})')
    finally:
        stop(run, p, hub, q)
    if 'error' not in res:
        run.cleanup()
    return res


def stop(run, p, hub, q):
    if q is not None:
        try:
            q.cmd('quit', timeout=10)
        except Exception:
            p.kill()
        q.close()
    if p is not None:
        run.reap(p)
    if hub is not None:
        hub.close()


# ---- report -----------------------------------------------------------------

ROWS = [  # label, key, digits
    ('host -> guest ping, median (us)', 'ping_us', 0),
    ('  90th percentile (us)', 'ping_p90_us', 0),
    ('  99th percentile (us)', 'ping_p99_us', 0),
    ('  largest (us)', 'ping_max_us', 0),
    ('UDP echo 64 B, one outstanding (transactions/s)', 'udp64_tps', 0),
    ('  median round trip (us)', 'udp64_us', 0),
    ('UDP echo 1400 B, one outstanding (transactions/s)', 'udp1400_tps', 0),
    ('  median round trip (us)', 'udp1400_us', 0),
    ('guest -> host ping, median (us, guest TSC)', 'guest_ping_us', 0),
    ('  90th percentile (us)', 'guest_ping_p90_us', 0),
]


def summarize(runs, monitors):
    out = {}
    for m in monitors:
        rs = [r for r in runs if r['monitor'] == m and 'error' not in r]
        if rs:
            out[m] = {key: bl.summary([r.get(key) for r in rs]) for _, key, _ in ROWS}
    return out


def print_table(summ):
    print('\nmedian over runs (min–max); lower is better for times, higher for rates')
    print('| figure | Peregrine | QEMU | Peregrine/QEMU |\n|---|---|---|---|')
    for label, key, d in ROWS:
        p = summ.get('peregrine', {}).get(key)
        q = summ.get('qemu', {}).get(key)
        print(f'| {label} | {bl.fmt(p, "", d)} | {bl.fmt(q, "", d)} | {bl.ratio(p, q)} |')


def report(path):
    doc = json.load(open(path))
    env, runs = doc['environment'], doc['runs']
    loads = [r['loadavg_1m'] for r in runs]
    print(f'{env["date"]}, {env["git"]} ({env["qemu"]}), {env["cpus"]} CPUs, '
          f'{len(runs)} boots, 1-min load average {bl.fmt(bl.summary(loads), "", 1)}')
    print_table(summarize(runs, list(dict.fromkeys(r['monitor'] for r in runs))))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--runs', type=int, default=5)
    ap.add_argument('--count', type=int, default=1000, help='host pings per run')
    ap.add_argument('--guest-pings', type=int, default=50)
    ap.add_argument('--window', type=float, default=3.0, help='seconds per UDP echo case')
    ap.add_argument('--monitors', default='peregrine,qemu')
    ap.add_argument('--out', default='net')
    ap.add_argument('--report', metavar='JSON', help='only print the tables of a results file')
    a = ap.parse_args()
    if a.report:
        return report(a.report)
    monitors = a.monitors.split(',')
    keep = bl.Run('net-guest')
    guest = bl.snapshot_binaries(keep)
    doc = {'environment': bl.environment(guest), 'runs': [], 'count': a.count,
           'window_s': a.window, 'guest_pings': a.guest_pings}
    net_setup()
    try:
        for i in range(a.runs):
            for m in monitors:
                r = one(bl.MONITORS[m], guest, a)
                r['iteration'], r['loadavg_1m'] = i, os.getloadavg()[0]
                doc['runs'].append(r)
                bl.log(f'{m} #{i}: ping {r.get("ping_us") or 0:.0f} us, UDP '
                       f'{r.get("udp64_tps") or 0:.0f}/s, guest ping '
                       f'{r.get("guest_ping_us") or 0:.0f} us {r.get("error", "")}')
    finally:
        net_teardown()
    doc['summary'] = summarize(doc['runs'], monitors)
    path = bl.save_results(a.out, doc)
    keep.cleanup()
    print_table(doc['summary'])
    print(f'\nraw: {path}')
    return 1 if any('error' in r for r in doc['runs']) else 0


if __name__ == '__main__':
    sys.exit(main())
