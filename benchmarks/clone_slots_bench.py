"""Clone slots vs the storage lock: N simultaneous linked clones onto one node's local storage, for several slot counts.

    .venv/bin/python benchmarks/clone_slots_bench.py [--clones 42] [--slots 2 4 8 12 0] [--time-factor 1.0]

One simulator process (default scenario, PVE-like durations: storage lock hold 0.5 s per disk, wait 10 s,
linked clone 3 s); N client threads each take a clone slot (module_utils/pve/clone_slots.py, the bound
pve_stand_clone uses; 0 = no bound), submit one clone of linux-tpl on pve1, wait for the task and release
the slot, with no retry, so every lock timeout shows. Reports the makespan, the ideal (N x hold + clone),
and the clones that failed on the storage lock. No Ansible, so machine load matters little.
"""

import argparse
import os
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:0] = [HERE, os.path.join(ROOT, 'collections')]

from run import DURATIONS, Sim, ensure_collection_link  # noqa: E402

ensure_collection_link()

from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.clone_slots import (
    CloneSlots, slot_scope,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.client import PveApiError, PveClient


def one_round(sim, clones, slots, first_id, slot_dir):
    failures = []
    waits = []

    def work(i):
        client = PveClient(sim.env['PROXMOX_HOST'], port=sim.env['PROXMOX_PORT'], user='root@pam',
                           password=sim.env['PROXMOX_PASSWORD'], ca_path=sim.env['PROXMOX_CA_PATH'])
        began = time.perf_counter()
        scope = slot_scope(client.host, client.port)
        with CloneSlots(scope, ['local-lvm@pve1'], slots=slots, timeout=600, directory=slot_dir) as held:
            waits.append(time.perf_counter() - began)
            try:
                client.run_task('POST', 'nodes/pve1/qemu/9001/clone', newid=first_id + i,
                                name='bench{0}'.format(first_id + i))
            except PveApiError as err:
                failures.append(err.message)
            del held
    threads = [threading.Thread(target=work, args=(i,)) for i in range(clones)]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - began, failures


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--clones', type=int, default=42, help='clones at once on one node (42: pve1 at 30 students)')
    ap.add_argument('--slots', type=int, nargs='+', default=[2, 4, 8, 12, 0])
    ap.add_argument('--time-factor', type=float, default=1.0)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix='deploystand-slots-')
    sim = Sim(work, args.time_factor)
    d = DURATIONS
    ideal = (args.clones * d['storage_lock_hold'] + d['linked_clone']) * args.time_factor
    print('| clone slots | {0} clones on one node | ideal (lock-bound) | lock-timeout failures |'.format(args.clones))
    print('|---|---|---|---|')
    try:
        first = 30000
        for slots in args.slots:
            secs, failures = one_round(sim, args.clones, slots, first, os.path.join(work, 'slots-{0}'.format(slots)))
            first += 1000
            print('| {0} | {1:.1f} s | {2:.1f} s | {3} |'.format(slots or 'unbounded', secs, ideal, len(failures)),
                  flush=True)
    finally:
        sim.stop()


if __name__ == '__main__':
    main()
