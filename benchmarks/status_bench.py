"""The status page of a class of 30 students x 3 VMs: wall time and API requests, at time factor 1 and 0.

    .venv/bin/python benchmarks/status_bench.py [--students 30] [--time-factors 1,0] [--write]

The cluster is the one-node `tiny` scenario with the class's stand already in it (users, pools, 3 running
VMs each, a private bridge each: deploystand_sim.stand_scenario, no deploy needed), every VM's guest agent
answering and one snapshot `baseline` per VM. At time factor 1 every request costs the scenario's 20 ms of
latency, as on a real cluster. Runs, each timed from the outside (process start to exit):

- `playbooks/stand_status.yml` (one pve_stand_status run: cluster read, per-VM config, snapshot list and
  agent call 8 at a time, the table and the three report files);
- the same with `stand_status_addresses=false`;
- `read_status` in-process (the reader alone, no Ansible start-up);
- for reference, a playbook of one `ansible.builtin.ping` task (no request): the cost of starting
  ansible-playbook with one module run on this machine at this load.

Target (issue 15): status of 30 students <= 5 s. --write replaces the "Status page" section of
benchmarks/README.md with the figures.
"""

import argparse
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
# the stand stand_scenario builds: each machine with NICs on vmbr0 and the student's private bridge `lan`
STAND = {'name': 'netlab', 'machines': [{'name': m, 'template': 'linux-tpl', 'networks': ['vmbr0', 'lan']}
                                        for m in MACHINES]}
TARGET = 5.0


def with_snapshots(pve, stand, name='baseline'):
    """One disk-only snapshot per VM of the stand, as stand_snapshot.yml would take it."""
    for vm in pve.vms:
        if 'stand-' + stand in str(vm.config.get('tags') or '').split(';'):
            vm.snapshots[name] = dict(vm.config, snaptime=int(time.time()), description='', snapstate=None)


def kinds(counters):
    requests = counters['requests']

    def count(word):
        return sum(n for k, n in requests.items() if word in k)
    agent, snapshot, login = count('/agent/'), count('/snapshot'), count('access/ticket')
    config = sum(n for k, n in requests.items() if k.endswith('/config') and k.startswith('GET'))
    return {'cluster': counters['total'] - agent - snapshot - config - login, 'config': config,
            'snapshot': snapshot, 'agent': agent, 'login': login, 'total': counters['total']}


def measure(students, time_factor):
    import json
    work = tempfile.mkdtemp(prefix='status-bench-')
    users = os.path.join(work, 'users.json')
    with open(users, 'w') as fh:
        json.dump({'users': ['student{0}@pve'.format(n) for n in range(1, students + 1)], 'stand': STAND}, fh)
    rows = []
    with Simulator(stand_scenario({'netlab': students}, machines=MACHINES), time_factor=time_factor) as sim:
        vms = sim.call(with_agents, 'netlab')
        sim.call(with_snapshots, 'netlab')
        ping = os.path.join(work, 'ping.yml')
        with open(ping, 'w') as fh:
            fh.write('- hosts: localhost\n  gather_facts: false\n  tasks:\n    - ansible.builtin.ping:\n')
        status = (os.path.join(BIN, 'ansible-playbook'), 'playbooks/stand_status.yml', '-e', '@' + users,
                  '-e', 'stand_status_dir=' + os.path.join(work, 'reports'))
        from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.client import PveClient
        from ansible_collections.deploystand.proxmox.plugins.module_utils.ops.status_reader import read_status
        client = PveClient(sim.host, port=sim.port, user='root@pam', password=sim.password, ca_path=sim.cafile)
        runs = [('stand_status.yml', lambda: ansible(sim, work, *status)),
                ('stand_status.yml, no addresses',
                 lambda: ansible(sim, work, *(status + ('-e', 'stand_status_addresses=false')))),
                ('read_status in-process', lambda: read_status(client, STAND, json.load(open(users))['users'])),
                # ansible-playbook with one module run and no request: what the machine's load costs any playbook
                ('reference: one ping task', lambda: ansible(sim, work, os.path.join(BIN, 'ansible-playbook'), ping))]
        for label, run in runs:
            sim.reset_counters()
            began = time.perf_counter()
            run()
            secs = time.perf_counter() - began
            rows.append(dict(kinds(sim.counters()), students=students, label=label, secs=secs,
                             factor=time_factor))
        report = json.load(open(os.path.join(work, 'reports', 'netlab-status.json')))
        assert report['summary']['ok'] == students and report['summary']['drift'] == 0, report['summary']
    return rows, vms


def table(rows):
    lines = ['| students | time factor | run | wall | target | cluster reads | VM configs | snapshot lists | '
             'agent calls | logins | all requests |', '|---|---|---|---|---|---|---|---|---|---|---|']
    lines += ['| {students} | {factor:g} | {label} | {secs:.1f} s | {ok} | {cluster} | {config} | {snapshot} | '
              '{agent} | {login} | {total} |'.format(ok='met' if r['secs'] <= TARGET else 'MISSED', **r)
              for r in rows]
    return '\n'.join(lines)


def write(rows, vms, load_before, load_after):
    section = (
        '## Status page\n\n'
        'Measured {0} by `benchmarks/status_bench.py` on this 2-CPU machine (load average {1} before the runs, '
        '{2} after; the machine was shared with other jobs): a class of {3} students x {4} running VMs, every VM '
        'with a guest agent that answers ({5} VMs) and one snapshot, on the `tiny` scenario. At time factor 1 each '
        'request pays the scenario\'s 20 ms latency; at 0 none. "cluster reads" are the requests other than the '
        'per-VM config, snapshot and agent calls and the login (/sim/counters).\n\n{6}\n\n'
        'Target (issue 15): the status of 30 students in at most 5 s. The cluster is read once for the class '
        '(resources, pools, users, one bridge list per online node), then each VM costs a config read, a snapshot '
        'list and, running, one agent call, 8 VMs at a time. Most of the playbook\'s wall time is ansible-playbook '
        'starting: compare the in-process row (the reads alone) and the reference row (one ping task, no '
        'request, measured in the same minute).\n'
        .format(time.strftime('%Y-%m-%d %H:%M'), load_before, load_after, rows[0]['students'], len(MACHINES), vms,
                table(rows)))
    replace_section('Status page', section)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--students', type=int, default=30)
    ap.add_argument('--time-factors', default='1,0', help='comma-separated')
    ap.add_argument('--write', action='store_true', help='update benchmarks/README.md')
    args = ap.parse_args()
    load = '{0:.1f} / {1:.1f} / {2:.1f}'.format(*os.getloadavg())
    rows, vms = [], 0
    for factor in [float(f) for f in args.time_factors.split(',')]:
        factor_rows, vms = measure(args.students, factor)
        rows += factor_rows
    after = '{0:.1f} / {1:.1f} / {2:.1f}'.format(*os.getloadavg())
    print('load average before: {0}, after: {1}'.format(load, after))
    print(table(rows))
    if args.write:
        write(rows, vms, load, after)


if __name__ == '__main__':
    main()
