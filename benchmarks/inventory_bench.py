"""The stand listing and the inventory plugin for a class of 100 students x 3 VMs: wall time and API requests.

    .venv/bin/python benchmarks/inventory_bench.py [--students 10,100] [--time-factor 1] [--write]

The cluster is the one-node `tiny` scenario with the class's stand already in it (users, pools, 3 running
VMs each, a private bridge each: deploystand_sim.stand_scenario, no deploy needed), every VM's guest agent
answering. At time factor 1 every request costs the scenario's 20 ms of latency, as on a real cluster.
Runs, each timed from the outside (process start to exit):

- `playbooks/stand_list.yml` without and with addresses (one pve_stand_info run);
- `ansible-inventory --list` with the plugin (addresses on), then the same with the cache warm;
- `read_stands` in-process, without and with addresses (the reader alone, no Ansible start-up).

--write replaces the "Stand listing and inventory" section of benchmarks/README.md with the figures.
"""

import argparse
import json
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, 'simulator'), os.path.join(ROOT, 'collections')]

from deploystand_sim.stand_scenario import stand_scenario, with_agents  # noqa: E402
from deploystand_sim.testing import Simulator  # noqa: E402
from bench_support import ansible  # noqa: E402
from readme_section import replace_section  # noqa: E402

BIN = os.path.dirname(sys.executable)
MACHINES = ('router', 'host1', 'host2')


def cluster_and_agent_calls(counters):
    requests = counters['requests']
    agent = sum(n for k, n in requests.items() if '/agent/' in k)
    login = sum(n for k, n in requests.items() if 'access/ticket' in k)
    return counters['total'] - agent - login, agent, login


def timed(sim, run):
    sim.reset_counters()
    began = time.perf_counter()
    run()
    secs = time.perf_counter() - began
    return secs, cluster_and_agent_calls(sim.counters())


def measure(students, time_factor):
    rows = []
    work = tempfile.mkdtemp(prefix='inventory-bench-')
    config = os.path.join(work, 'bench.stands.yml')
    with open(config, 'w') as fh:
        json.dump({'plugin': 'deploystand.proxmox.stands', 'cache': True, 'cache_plugin': 'ansible.builtin.jsonfile',
                   'cache_connection': os.path.join(work, 'cache')}, fh)
    with Simulator(stand_scenario({'netlab': students}, machines=MACHINES), time_factor=time_factor) as sim:
        vms = sim.call(with_agents, 'netlab')
        listing = os.path.join(BIN, 'ansible-playbook'), 'playbooks/stand_list.yml', '-e', 'stand_list_dir=' + work
        inventory = os.path.join(BIN, 'ansible-inventory'), '-i', config, '--list'
        runs = [
            ('stand_list.yml', lambda: ansible(sim, work, *listing)),
            ('stand_list.yml, addresses', lambda: ansible(sim, work, *(listing + ('-e', 'stand_list_addresses=true')))),
            ('ansible-inventory --list (addresses)', lambda: ansible(sim, work, *(inventory + ('--flush-cache',)))),
            ('ansible-inventory --list, cache warm', lambda: ansible(sim, work, *inventory)),
        ]
        from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.client import PveClient
        from ansible_collections.deploystand.proxmox.plugins.module_utils.ops.stand_reader import read_stands
        client = PveClient(sim.host, port=sim.port, user='root@pam', password=sim.password, ca_path=sim.cafile)
        runs += [('read_stands in-process', lambda: read_stands(client, created=True)),
                 ('read_stands in-process, addresses', lambda: read_stands(client, addresses=True))]
        for label, run in runs:
            secs, (cluster, agent, login) = timed(sim, run)
            rows.append((students, label, '{0:.1f} s'.format(secs), cluster, agent, login))
    return rows, vms


def table(rows):
    lines = ['| students | run | wall | cluster reads | agent calls | logins |', '|---|---|---|---|---|---|']
    lines += ['| {0} | {1} | {2} | {3} | {4} | {5} |'.format(*row) for row in rows]
    return '\n'.join(lines)


def write(rows, sizes, vms, time_factor, load):
    section = (
        '## Stand listing and inventory\n\n'
        'Measured {0} by `benchmarks/inventory_bench.py` on this 2-CPU machine (load average {1} before the '
        'runs): classes of {2} students x {3} running VMs, every VM with a guest agent that answers ({4} at the '
        'largest size), on the `tiny` scenario, '
        'time factor {5} (each request pays the scenario\'s 20 ms latency x the factor). "cluster reads" are the '
        'requests other than agent calls and the login (/sim/counters).\n\n{6}\n\n'
        'Target (issue 16): a constant number of cluster reads plus at most one agent call per running VM - '
        'the reads are resources, pools, users, one bridge list per online node and, for `created`, one '
        'content list per storage holding disks, whatever the class size; the agent calls run 8 at a time.\n'
        .format(time.strftime('%Y-%m-%d %H:%M'), load, ' and '.join(str(n) for n in sizes), len(MACHINES), vms,
                time_factor, table(rows)))
    replace_section('Stand listing and inventory', section)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--students', default='10,100', help='class sizes, comma-separated')
    ap.add_argument('--time-factor', type=float, default=1.0)
    ap.add_argument('--write', action='store_true', help='update benchmarks/README.md')
    args = ap.parse_args()
    load = '{0:.1f} / {1:.1f} / {2:.1f}'.format(*os.getloadavg())
    sizes = [int(n) for n in args.students.split(',')]
    rows, vms = [], 0
    for size in sizes:
        size_rows, vms = measure(size, args.time_factor)
        rows += size_rows
    print('load average before: ' + load)
    print(table(rows))
    if args.write:
        write(rows, sizes, vms, args.time_factor, load)


if __name__ == '__main__':
    main()
