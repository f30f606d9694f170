#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
#
# report.py: print the Markdown tables of bench/README.md again from the raw
# results (bench/results/boot.json, migrate.json), with the conditions they
# were measured in. It measures nothing; boot.py and migrate.py do.
#
#   bench/report.py [RESULTS_DIR]
import json
import os
import sys

import benchlib as bl
import boot
import migrate


def conditions(env, runs):
    loads = [r.get('loadavg_1m') for r in runs if r.get('loadavg_1m') is not None]
    load = bl.summary(loads)
    return (f'{env["date"]}, {env["git"]} ({env["qemu"]}), {env["cpus"]} CPUs, '
            f'1-min load average during the runs {bl.fmt(load, "", 1)}')


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else bl.RESULTS
    path = os.path.join(d, 'boot.json')
    if os.path.exists(path):
        doc = json.load(open(path))
        print(f'## Boot\n\n{conditions(doc["environment"], doc["runs"])}')
        sizes = sorted({r['mem_mib'] for r in doc['runs'] if not r['probe_hb_ms']})
        fill = doc['runs'][0]['fill_mib']
        boot.print_table(doc['summary'], ['peregrine', 'qemu'], sizes, fill)
    path = os.path.join(d, 'migrate.json')
    if os.path.exists(path):
        doc = json.load(open(path))
        print(f'\n## Migration\n\n{conditions(doc["environment"], doc["runs"])}')
        cases = [c for c in migrate.CASES if any(r['case'] == c for r in doc['runs'])]
        monitors = sorted({r['monitor'] for r in doc['runs']})
        summ = migrate.summarize(doc['runs'], monitors, cases)   # derived rows too
        migrate.print_table(summ, cases, doc['converge_timeout_s'])


if __name__ == '__main__':
    main()
