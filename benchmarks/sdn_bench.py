"""30 students in stand.network mode sdn against mode bridges (issue 17): wall time of the first deploy and of the
re-run, API requests, network applies (`PUT /cluster/sdn` for sdn, `PUT /nodes/{node}/network` for bridges) and
where the disks went (VMs per node), on the simulator's `sdn` scenario (3 nodes, the VXLAN zone `teach`).

    PYTHONPATH=simulator:collections .venv/bin/python benchmarks/sdn_bench.py [--students 30] [--time-factor 0]
        [--write]      # put the table into benchmarks/README.md ("SDN VNets against node bridges")
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, 'simulator'))
sys.path.insert(0, HERE)

from deploystand_sim.testing import Simulator  # noqa: E402
from readme_section import replace_section  # noqa: E402

DEPLOY = os.path.join(ROOT, 'playbooks', 'deploy_stand.yml')
TITLE = 'SDN VNets against node bridges'
MACHINES = [{'name': 'h1', 'template': 'linux-tpl', 'networks': ['lan']},
            {'name': 'h2', 'template': 'linux-tpl', 'networks': ['lan', 'dmz']},
            {'name': 'h3', 'template': 'linux-tpl', 'networks': ['dmz']}]


def stand(mode):
    out = {'name': 'netlab', 'vmid_range': [20000, 29999], 'machines': MACHINES}
    if mode == 'sdn':
        out['network'] = {'mode': 'sdn', 'zone': 'teach', 'vni_range': [5000, 5999]}
    return out


def playbook(sim, work, extra):
    path = os.path.join(work, 'vars-{0}.json'.format(time.time()))
    with open(path, 'w') as fh:
        json.dump(extra, fh)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), **sim.env)
    started = time.time()
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), DEPLOY,
                           '-e', '@' + path], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True)
    if proc.returncode:
        raise SystemExit(proc.stdout[-4000:])
    return time.time() - started


def applies(counters, mode):
    requests = counters['requests']
    if mode == 'sdn':
        return requests.get('PUT /cluster/sdn', 0)
    return requests.get('PUT /nodes/{node}/network', 0)


def measure(mode, students, time_factor):
    with Simulator('sdn', time_factor=time_factor) as sim:
        def commit(pve):            # the scenario's unapplied `draft` VNet: applied first, as its admin would
            pve.sdn_commit()
            for node in pve.nodes:
                pve.sdn_generate(node)
        sim.call(commit)
        work = tempfile.mkdtemp(prefix='sdn-bench-')
        extra = {'users': ['student{0}@pve'.format(n) for n in range(1, students + 1)], 'stand': stand(mode),
                 'stand_report_dir': os.path.join(work, 'reports')}
        sim.reset_counters()
        first = playbook(sim, work, extra)
        first_counters = sim.counters()
        sim.reset_counters()
        again = playbook(sim, work, extra)
        again_counters = sim.counters()
        vms = [vm for vm in sim.state()['vms'].values() if 'stand-netlab' in vm['tags']]
        per_node = dict((n, sum(1 for vm in vms if vm['node'] == n)) for n in sorted(set(vm['node'] for vm in vms)))
        spread = sum(1 for n in range(1, students + 1)
                     if len(set(vm['node'] for vm in vms if vm['pool'] == 'netlab-student{0}'.format(n))) > 1)
        return {'mode': mode, 'first': first, 'again': again, 'requests': first_counters['total'],
                'requests_again': again_counters['total'], 'applies': applies(first_counters, mode),
                'applies_again': applies(again_counters, mode), 'per_node': per_node, 'spread': spread}


def table(rows, students, time_factor):
    lines = ['## ' + TITLE, '',
             '`benchmarks/sdn_bench.py`: {0} students x 3 Linux hosts (`linux-tpl`, 1 GiB, local-lvm) on two networks '
             '(`lan`, `dmz`), the `sdn` scenario (3 nodes; mode sdn in the VXLAN zone `teach`), time factor {1}, '
             'one run each on the shared 2-core machine (other work was running: wall times are loose).'.format(
                 students, time_factor), '',
             '| mode | first deploy (s) | re-run (s) | API requests (re-run) | applies (re-run) | VMs per node | students on 2+ nodes |',
             '|---|---|---|---|---|---|---|']
    for r in rows:
        lines.append('| {mode} | {first:.0f} | {again:.0f} | {requests} ({requests_again}) | {applies} ({applies_again}) '
                     '| {nodes} | {spread} |'.format(nodes=', '.join('{0}: {1}'.format(k, v) for k, v in
                                                                    sorted(r['per_node'].items())), **r))
    lines += ['', 'Applies: `PUT /cluster/sdn` (one for the whole class) in mode sdn, `PUT /nodes/{node}/network` '
              '(one per node with new bridges) in mode bridges.', '']
    return '\n'.join(lines)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--students', type=int, default=30)
    parser.add_argument('--time-factor', type=float, default=0.0)
    parser.add_argument('--write', action='store_true')
    args = parser.parse_args()
    rows = [measure(mode, args.students, args.time_factor) for mode in ('bridges', 'sdn')]
    text = table(rows, args.students, args.time_factor)
    print(text)
    if args.write:
        replace_section(TITLE, text)


if __name__ == '__main__':
    main()
