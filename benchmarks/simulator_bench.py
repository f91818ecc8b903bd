"""Simulator throughput at time_factor 0: GET /nodes requests/s and clone cycles/s, 1 and 10 clients.

    PYTHONPATH=simulator .venv/bin/python benchmarks/simulator_bench.py [--write]

--write replaces the "Simulator throughput" section of benchmarks/README.md with the figures.
"""

import argparse
import os
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'simulator'))

from proxmoxer import ProxmoxAPI  # noqa: E402

from deploystand_sim.testing import Simulator  # noqa: E402
from readme_section import replace_section  # noqa: E402


def api_for(sim):
    return ProxmoxAPI(sim.host, port=sim.port, user='root@pam', password=sim.password, verify_ssl=sim.cafile)


def run_clients(clients, work):
    errors = []

    def one(n):
        try:
            work(n)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))
    threads = [threading.Thread(target=one, args=(n,)) for n in range(clients)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - began, errors


def bench_nodes(sim, clients, per_client):
    apis = [api_for(sim) for _ in range(clients)]

    def work(n):
        for _ in range(per_client):
            apis[n].nodes.get()
    secs, errors = run_clients(clients, work)
    return clients * per_client / secs, errors


def bench_clones(sim, clients, per_client):
    apis = [api_for(sim) for _ in range(clients)]

    def work(n):
        api = apis[n]
        for i in range(per_client):
            vmid = 10000 + n * 1000 + i
            upid = api.nodes('pve1').qemu(9001).clone.post(newid=vmid)
            while api.nodes('pve1').tasks(upid).status.get()['status'] != 'stopped':
                pass
            upid = api.nodes('pve1').qemu(vmid).delete()
            while api.nodes('pve1').tasks(upid).status.get()['status'] != 'stopped':
                pass
    secs, errors = run_clients(clients, work)
    return clients * per_client / secs, errors


def measure():
    rows = []
    with Simulator('default', time_factor=0) as sim:
        for clients, per in ((1, 500), (10, 100)):
            rate, errors = bench_nodes(sim, clients, per)
            rows.append(('GET /nodes', clients, '{0:.0f} req/s'.format(rate), len(errors)))
        for clients, per in ((1, 100), (10, 20)):
            sim.reset_counters()
            rate, errors = bench_clones(sim, clients, per)
            reqs = sim.counters()['total'] / (clients * per)
            rows.append(('clone + wait + delete', clients, '{0:.1f} cycles/s ({1:.0f} requests/cycle)'.format(
                rate, reqs), len(errors)))
    return rows


def table(rows):
    lines = ['| operation | clients | throughput | errors |', '|---|---|---|---|']
    lines += ['| {0} | {1} | {2} | {3} |'.format(*row) for row in rows]
    return '\n'.join(lines)


def write(rows):
    section = ('## Simulator throughput\n\n'
               'Measured by `benchmarks/simulator_bench.py` (default scenario, time_factor 0, proxmoxer over '
               'verified TLS, client and simulator in one process on this 2-CPU machine; {0}).\n\n{1}\n'
               .format(time.strftime('%Y-%m-%d'), table(rows)))
    replace_section('Simulator throughput', section)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--write', action='store_true', help='update benchmarks/README.md')
    args = ap.parse_args()
    rows = measure()
    print(table(rows))
    if args.write:
        write(rows)


if __name__ == '__main__':
    main()
