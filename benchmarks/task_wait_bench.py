"""How late PveClient.wait_task notices the end of a task: clone + start cycles against the simulator at time factor 1.

    PYTHONPATH=simulator:collections .venv/bin/python benchmarks/task_wait_bench.py [--cycles 5] [--max-poll 1.0 2.0]

Each cycle clones the linux template on pve2 (linked clone: storage lock hold 0.5 s + 3 s), waits for the task,
starts the VM (2 s), waits, then stops and destroys it. The lag is the measured wall time minus the simulated
durations; the requests are the task-status polls. No Ansible involved, so the figures do not depend on the
machine's load the way the playbook runs do.
"""

import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, 'simulator'), os.path.join(ROOT, 'collections')]

from deploystand_sim.testing import Simulator  # noqa: E402

from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.client import PveClient


def cycle(client, vmid, max_poll):
    polls = [0]
    real_get = client.get

    def counting_get(path, **params):
        if path.endswith('/status') and '/tasks/' in path:
            polls[0] += 1
        return real_get(path, **params)
    client.get = counting_get
    try:
        began = time.perf_counter()
        upid = client.post('nodes/pve2/qemu/9011/clone', newid=vmid, name='bench{0}'.format(vmid))
        client.wait_task(upid, max_poll=max_poll)
        cloned = time.perf_counter() - began
        began = time.perf_counter()
        upid = client.post('nodes/pve2/qemu/{0}/status/start'.format(vmid))
        client.wait_task(upid, max_poll=max_poll)
        started = time.perf_counter() - began
    finally:
        client.get = real_get
    client.run_task('POST', 'nodes/pve2/qemu/{0}/status/stop'.format(vmid))
    client.run_task('DELETE', 'nodes/pve2/qemu/{0}'.format(vmid), purge=1)
    return cloned, started, polls[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--cycles', type=int, default=5)
    ap.add_argument('--max-poll', type=float, nargs='+', default=[2.0, 1.0])
    args = ap.parse_args()
    with Simulator('default', time_factor=1.0) as sim:
        d = sim.pve.durations if hasattr(sim, 'pve') else {'linked_clone': 3, 'storage_lock_hold': 0.5, 'start': 2}
        clone_secs = d['linked_clone'] + d['storage_lock_hold']
        client = PveClient(sim.host, port=sim.port, user='root@pam', password=sim.password, ca_path=sim.cafile)
        print('| max_poll | clone wait (task {0:.1f} s) | start wait (task {1:.1f} s) | status polls per cycle |'.format(
            clone_secs, d['start']))
        print('|---|---|---|---|')
        vmid = 20000
        for max_poll in args.max_poll:
            rows = []
            for _ in range(args.cycles):
                vmid += 1
                rows.append(cycle(client, vmid, max_poll))
            n = float(len(rows))
            print('| {0:.1f} s | {1:.2f} s | {2:.2f} s | {3:.1f} |'.format(
                max_poll, sum(r[0] for r in rows) / n, sum(r[1] for r in rows) / n, sum(r[2] for r in rows) / n))


if __name__ == '__main__':
    main()
