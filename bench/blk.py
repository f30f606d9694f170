#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
#
# blk.py: virtio-blk throughput, pgr-vmm against QEMU, with the same test
# guest, the same image file (one path on one file system, made empty and
# sparse again before every boot) and the same cache mode, in the same run,
# for cache=none, writeback and writethrough.
#
# Per run and cache mode, two boots of each monitor:
# - blk=write: the guest writes the whole region (64 MiB) sequentially in
#   64 KiB requests, 8 in flight, flushes, then reads it all back and checks
#   every word. Its own BW1 and BV1 lines (TSC-timed) give the sequential
#   write and read + check MiB/s.
# - blk=mix: after the same write pass and flush, random writes of 1-8
#   4 KiB blocks take turns with sequential 64 KiB reads, for ever. Over a
#   window the host reads the monitor's block counters (pgr-vmm
#   query-block, QEMU query-blockstats): write requests/s, their mean size,
#   and the read MiB/s beside them. The guest has no pure 4 KiB random-write
#   mode; this is the nearest it does.
# A run is invalid if the guest reports BLKERR, BLKCORRUPT, BLKSTALL or a
# memory CORRUPT/FAULT line. It does not check durability (the system test
# test-virtio-blk.sh does) and never runs from `make check`.
#
# QEMU twice for writethrough: as configured by default, and with
# config-wce=off. By default QEMU offers VIRTIO_BLK_F_FLUSH (WCE) even with
# cache=writethrough, and a driver that takes it without CONFIG_WCE — this
# guest — switches QEMU's write cache on (virtio_blk_set_status): QEMU then
# writes back and syncs only on the guest's flushes. With config-wce=off
# FLUSH is not offered and QEMU syncs after every write. The runs record
# what QEMU's query-block said (inserted.cache.writeback) once the guest ran.
#
#   bench/blk.py [--runs N] [--caches none,writeback,writethrough]
#                [--monitors peregrine,qemu,qemu-wce-off] [--window S] [--dir D]
#                [--out blk]
import argparse
import json
import os
import re
import sys
import time

import benchlib as bl

BLK_MIB = 64                     # the guest uses at most 64 MiB of a disk
MEM_MIB = 256
BW = re.compile(r'^BW1 blocks=(\d+) ms=(\d+)$')
BV = re.compile(r'^BV1 blocks=(\d+) errors=(\d+) ms=(\d+)$')
BAD = ('BLKERR', 'BLKCORRUPT', 'BLKSTALL', 'CORRUPT', 'FAULT', 'FATAL')


class PeregrineDisk(bl.Peregrine):
    def disk_argv(self, path, cache):
        return ['--disk', f'path={path},cache={cache}', '--paused']

    def counters(self, q):
        s = q.cmd('query-block')[0]['stats']
        return {'wr_ops': s['wr_operations'], 'wr_bytes': s['wr_bytes'],
                'rd_ops': s['rd_operations'], 'rd_bytes': s['rd_bytes'],
                'flush_ops': s['flush_operations'], 'sync_ops': s.get('sync_operations')}


class QemuDisk(bl.Qemu):
    device = 'virtio-blk-pci,drive=d0,disable-legacy=on'

    def disk_argv(self, path, cache):
        return ['-device', self.device,
                '-drive', f'if=none,id=d0,file={path},format=raw,cache={cache}', '-S']

    def write_cache(self, q):
        """Does QEMU cache writes now, whatever cache= said? (A driver that
        takes VIRTIO_BLK_F_FLUSH without CONFIG_WCE turns it on.)"""
        for dev in q.cmd('query-block'):
            if dev.get('device') == 'd0':
                return dev['inserted']['cache']['writeback']
        return None

    def counters(self, q):
        for dev in q.cmd('query-blockstats'):
            if dev.get('device') == 'd0':
                s = dev['stats']
                return {'wr_ops': s['wr_operations'], 'wr_bytes': s['wr_bytes'],
                        'rd_ops': s['rd_operations'], 'rd_bytes': s['rd_bytes'],
                        'flush_ops': s['flush_operations'], 'sync_ops': None}
        raise RuntimeError('query-blockstats: no device d0')


class QemuWceOff(QemuDisk):
    """QEMU with config-wce=off: VIRTIO_BLK_F_FLUSH is offered only if the
    write cache is on, so with cache=writethrough the guest gets no FLUSH
    and QEMU keeps writing through (a flush after every write)."""
    name = 'qemu-wce-off'
    device = QemuDisk.device + ',config-wce=off'


MONITORS = {'peregrine': PeregrineDisk(), 'qemu': QemuDisk(), 'qemu-wce-off': QemuWceOff()}
# Which monitors run which cache modes (qemu-wce-off differs only in writethrough).
CACHES_OF = {'qemu-wce-off': ('writethrough',)}



def boot(mon, guest, img, run, cache, mode, seed):
    """Start a monitor paused on the image, made empty again, attach, continue."""
    with open(img, 'wb') as f:          # empty and sparse: nothing of it in the page cache
        f.truncate(BLK_MIB << 20)
    serial, api = run.path(f'{mode}.serial'), run.path(f'{mode}.api')
    append = f'fill=16 verify=16 blk={mode} blkseed={seed} blkmib={BLK_MIB}'
    argv = mon.boot_argv(guest, serial, api, MEM_MIB, 1, append) + mon.disk_argv(img, cache)
    p = run.spawn(argv, f'{mode}.monitor.log')
    hub = bl.SerialHub()
    hub.attach('g', serial, proc=p)
    q = bl.Qmp(api, 60, p)
    mon.prepare(q)
    if hub.wait_attached('g', 30) is None:
        raise RuntimeError('cannot attach to the console')
    q.cmd('cont')
    return p, hub, q


def match(hub, rx, timeout, what):
    ln = hub.wait(lambda ln: rx.match(ln[2]) or ln[2].startswith(BAD), timeout)
    if not ln:
        raise RuntimeError(f'no {what} line within {timeout} s')
    if not rx.match(ln[2]):
        raise RuntimeError(f'guest: {ln[2]}')
    return rx.match(ln[2])


def bad_lines(hub):
    return [text for _, _, text in hub.snapshot() if text.startswith(BAD)]


def stop(mon, run, p, hub, q):
    try:
        q.cmd('quit', timeout=10)
    except Exception:
        p.kill()
    q.close()
    run.reap(p)
    hub.close()


def seq_run(mon, guest, img, run, cache):
    """blk=write: sequential write and read + check, the guest's figures."""
    p, hub, q = boot(mon, guest, img, run, cache, 'write', 21)
    try:
        bw = match(hub, BW, 180, 'BW1')
        bv = match(hub, BV, 180, 'BV1')
        c = mon.counters(q)
        wc = mon.write_cache(q) if hasattr(mon, 'write_cache') else None
        bad = bad_lines(hub)
    finally:
        stop(mon, run, p, hub, q)
    if bad:
        raise RuntimeError(f'guest: {bad[0]}')
    blocks, ms = int(bw.group(1)), int(bw.group(2))
    vblocks, verr, vms = (int(x) for x in bv.groups())
    if blocks != BLK_MIB * 256 or vblocks != BLK_MIB * 256 or verr:
        raise RuntimeError(f'BW1 blocks={blocks}, BV1 blocks={vblocks} errors={verr}')
    return {'seq_write_mibps': BLK_MIB / (ms / 1000) if ms else None,
            'seq_read_mibps': BLK_MIB / (vms / 1000) if vms else None,
            'seq_write_ms': ms, 'seq_read_ms': vms,
            'seq_write_reqs': c['wr_ops'], 'seq_syncs': c['sync_ops'],
            'seq_flushes': c['flush_ops'], 'qemu_write_cache_on': wc}


def mix_run(mon, guest, img, run, cache, window):
    """blk=mix: random writes beside sequential reads, host-side counters."""
    p, hub, q = boot(mon, guest, img, run, cache, 'mix', 22)
    try:
        match(hub, BW, 180, 'BW1')
        time.sleep(0.5)                    # past the flush, into the mix
        c0, t0 = mon.counters(q), bl.now()
        time.sleep(window)
        c1, t1 = mon.counters(q), bl.now()
        bad = bad_lines(hub)
    finally:
        stop(mon, run, p, hub, q)
    if bad:
        raise RuntimeError(f'guest: {bad[0]}')
    dt = t1 - t0
    wr = c1['wr_ops'] - c0['wr_ops']
    res = {'mix_window_s': dt, 'mix_write_iops': wr / dt,
           'mix_write_kib': (c1['wr_bytes'] - c0['wr_bytes']) / wr / 1024 if wr else None,
           'mix_read_mibps': (c1['rd_bytes'] - c0['rd_bytes']) / dt / (1 << 20)}
    if c0['sync_ops'] is not None and c1['sync_ops'] > c0['sync_ops']:
        res['mix_writes_per_sync'] = wr / (c1['sync_ops'] - c0['sync_ops'])
    return res


def one(mon, guest, img, cache, window):
    run = bl.Run(f'blk-{mon.name}-{cache}')
    res = {'monitor': mon.name, 'cache': cache, 'blk_mib': BLK_MIB}
    try:
        res.update(seq_run(mon, guest, img, run, cache))
        res.update(mix_run(mon, guest, img, run, cache, window))
    except Exception as e:
        res['error'] = str(e)
        bl.log(f'{mon.name} cache={cache}: {e} (kept {run.dir})')
        run.cleanup(keep=True)
        return res
    run.cleanup()
    return res


# ---- report -----------------------------------------------------------------

ROWS = [  # label, key, digits
    ('sequential write, 64 KiB x 8 (MiB/s)', 'seq_write_mibps', 0),
    ('sequential read + check, 64 KiB x 8 (MiB/s)', 'seq_read_mibps', 0),
    ('random writes 1-8 x 4 KiB beside reads (req/s)', 'mix_write_iops', 0),
    ('  their mean size (KiB)', 'mix_write_kib', 1),
    ('  sequential reads beside them (MiB/s)', 'mix_read_mibps', 0),
    ('  writes per fdatasync (Peregrine)', 'mix_writes_per_sync', 1),
]


def summarize(runs, monitors, caches):
    out = {}
    for m in monitors:
        for c in caches:
            rs = [r for r in runs if r['monitor'] == m and r['cache'] == c and 'error' not in r]
            if rs:
                out[f'{m}/{c}'] = {key: bl.summary([r.get(key) for r in rs])
                                   for _, key, _ in ROWS}
                wc = {r.get('qemu_write_cache_on') for r in rs} - {None}
                if wc:
                    out[f'{m}/{c}']['qemu_write_cache_on'] = sorted(wc)
    return out


def print_table(summ, caches):
    for c in caches:
        others = [m for m in ('qemu', 'qemu-wce-off') if f'{m}/{c}' in summ]
        print(f'\ncache={c}, {BLK_MIB} MiB region, 1 vCPU: median (min–max)')
        head = ''.join(f' {m} | Peregrine/{m} |' for m in others)
        print(f'| figure | Peregrine |{head}\n|---|---|' + '---|---|' * len(others))
        for label, key, d in ROWS:
            p = summ.get(f'peregrine/{c}', {}).get(key)
            qs = [summ[f'{m}/{c}'].get(key) for m in others]
            if not p and not any(qs):
                continue
            row = ''.join(f' {bl.fmt(q, "", d)} | {bl.ratio(p, q)} |' for q in qs)
            print(f'| {label} | {bl.fmt(p, "", d)} |{row}')


def report(path):
    doc = json.load(open(path))
    for r in doc['runs']:          # none/writeback never sync: no writes-per-sync figure
        if r['cache'] != 'writethrough':
            r.pop('mix_writes_per_sync', None)
    runs = doc['runs']
    monitors = list(dict.fromkeys(r['monitor'] for r in runs))
    caches = list(dict.fromkeys(r['cache'] for r in runs))
    env, loads = doc['environment'], [r['loadavg_1m'] for r in runs]
    print(f'{env["date"]}, {env["git"]} ({env["qemu"]}), {env["cpus"]} CPUs, image on '
          f'{doc.get("image_fs")}, 1-min load average during the runs '
          f'{bl.fmt(bl.summary(loads), "", 1)}')
    print_table(summarize(runs, monitors, caches), caches)
    return 0


def fs_type(path):
    """The file system type holding @path, from /proc/mounts."""
    d, best, fstype = os.path.realpath(os.path.dirname(path)), '', None
    with open('/proc/mounts') as f:
        for row in f:
            mnt, typ = row.split()[1:3]
            inside = d == mnt or d.startswith(mnt.rstrip('/') + '/')
            if inside and len(mnt) >= len(best):
                best, fstype = mnt, typ
    return f'{fstype} ({best})'


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--runs', type=int, default=5)
    ap.add_argument('--caches', default='none,writeback,writethrough')
    ap.add_argument('--monitors', default='peregrine,qemu,qemu-wce-off')
    ap.add_argument('--window', type=float, default=3.0, help='seconds of blk=mix measured')
    ap.add_argument('--dir', help='directory of the image (default: under /tmp/pgr-bench)')
    ap.add_argument('--out', default='blk')
    ap.add_argument('--report', metavar='JSON', help='only print the tables of a results file')
    a = ap.parse_args()
    if a.report:
        return report(a.report)
    caches, monitors = a.caches.split(','), a.monitors.split(',')
    keep = bl.Run('blk-guest')
    guest = bl.snapshot_binaries(keep)
    # one file for every boot of every monitor
    img = os.path.join(a.dir, 'pgr-bench-blk.img') if a.dir else keep.path('disk.img')
    doc = {'environment': bl.environment(guest), 'runs': [], 'image': img,
           'image_fs': fs_type(img), 'window_s': a.window}
    for i in range(a.runs):
        for c in caches:
            for m in monitors:       # interleaved: all see the same machine state
                if c not in CACHES_OF.get(m, (c,)):
                    continue
                r = one(MONITORS[m], guest, img, c, a.window)
                r['iteration'], r['loadavg_1m'] = i, os.getloadavg()[0]
                doc['runs'].append(r)
                bl.log(f'{m} cache={c} #{i}: write {r.get("seq_write_mibps") or 0:.0f} MiB/s, '
                       f'read {r.get("seq_read_mibps") or 0:.0f} MiB/s, random writes '
                       f'{r.get("mix_write_iops") or 0:.0f}/s (load {r["loadavg_1m"]:.1f}) '
                       f'{r.get("error", "")}')
    doc['summary'] = summarize(doc['runs'], monitors, caches)
    path = bl.save_results(a.out, doc)
    keep.cleanup()
    if a.dir:
        os.unlink(img)
    print_table(doc['summary'], caches)
    print(f'\nraw: {path}')
    return 1 if any('error' in r for r in doc['runs']) else 0


if __name__ == '__main__':
    sys.exit(main())
