"""Durations, the storage lock, faults and request counters.

Durations are PVE seconds; fakepve's `time_scale` (our `time_factor`) turns them into real ones,
and 0 makes every task finish before its request returns. The storage lock follows
pve-storage Plugin::cluster_lock_storage: a node-local flock for local storage, the pmxcfs lock
`storage-<id>` for shared storage, each waited for at most 10 s.
"""

import asyncio
import collections
import random

from fakepve.model import TaskError

# Real-PVE values (measured orders of magnitude on a small cluster); see docs/simulator.md.
DURATIONS = {
    'linked_clone': 3.0,        # per clone
    'full_clone': 40.0,         # for a 10 GiB disk; scaled by the disks' total size
    'start': 2.0,
    'stop': 2.0,
    'shutdown': 2.0,
    'destroy': 1.0,
    'network_apply': 3.0,
    'sdn_apply': 1.0,           # per node: the SDN apply's pvesh call before that node's reload (network_apply)
    'migrate': 60.0,            # copying 10 GiB of local disk in a migration; scaled by the local disks' size
    'migrate_memory': 8.0,      # an online migration, per GiB of the VM's memory
    'migrate_overhead': 2.0,    # every migration: checks, the config move, cleanup
    'ha_delay': 10.0,           # the HA manager acting on a request (start, stop, migrate)
    'request_latency': 0.02,    # added to every response
    'storage_lock_hold': 0.5,   # per disk allocation under the storage lock
    'storage_lock_wait': 10.0,  # PVE's lock_file / cfs_lock acquire timeout
    # The VM lifecycle between deploy and destroy (lifecycle.py, agent.py).
    'snapshot': 2.0,            # qmsnapshot: the volume snapshots of one VM
    'snapshot_vmstate': 4.0,    # saving (or, on rollback, loading) the RAM: per GiB of configured memory
    'rollback': 3.0,            # qmrollback: the volumes back to the snapshot
    'snapshot_delete': 2.0,     # qmdelsnapshot: the volume snapshots removed
    'reboot': 2.0,              # qmreboot: the guest going down; the start that follows is `start`
    'guest_boot': 15.0,         # from a start until the guest agent answers
}
FULL_CLONE_REFERENCE = 10 * 1024 ** 3

FAULTS = {
    'drop_rate': 0.0,        # share of requests whose connection is reset (fakepve's flaky_network)
    'error_rate': 0.0,       # share of GET requests answered 503
    'sdn_apply_fail_rate': 0.0,   # share of SDN applies whose commit fails (HTTP 500, nothing committed)
    'sdn_reload_fail_rate': 0.0,  # share of node reloads inside an SDN apply that fail (the apply still ends OK)
    'sdn_foreign_lock': 0.0,      # non-zero: someone else holds the SDN lock (until cleared or force-released)
    'task_fail_rate': 0.0,   # share of tasks that end with a PVE-like error
    'slow_factor': 1.0,      # multiplies every task duration
    'lock_contention': 0.0,  # share of clones that find the storage lock held past the wait
    'seed': None,            # makes the draws above repeatable
}

# Worker type -> durations key, paused before the task's work. qmshutdown, qmreboot and the snapshot
# tasks time themselves (lifecycle.py): their duration depends on the timeout, the guest and the RAM.
TASK_DURATION = {'qmstart': 'start', 'qmstop': 'stop', 'qmdestroy': 'destroy',
                 'srvreload': 'network_apply'}


def lock_text(vmid):
    return "can't lock file '/var/lock/qemu-server/lock-{0}.conf' - got timeout".format(vmid)


def failure_text(ttype, tid):
    """The exit status an injected task failure carries: what PVE prints for a common failure of that task."""
    if ttype == 'srvreload':
        return "command 'ifreload -a' failed: exit code 1"
    if ttype == 'qmstart':
        return 'start failed: QEMU exited with code 1'
    if ttype.startswith('qm'):
        return lock_text(tid)
    return "command '{0}' failed: exit code 1".format(ttype)


def storage_lock_text(sid, shared):
    if shared:
        return "cfs-lock 'storage-{0}' error: got lock request timeout".format(sid)
    return "can't lock file '/var/lock/pve-manager/pve-storage-{0}' - got timeout".format(sid)


def check_keys(kind, known, given):
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise ValueError('unknown {0}: {1} (known: {2})'.format(kind, ', '.join(unknown), ', '.join(sorted(known))))


class Timing(object):
    """Mixin of LabPve: durations, faults, the storage lock and the counters."""

    def _init_timing(self, time_factor, durations, faults):
        self.time_scale = float(time_factor)
        self.durations = dict(DURATIONS)
        self.faults = dict(FAULTS)
        self.fault_rng = random.Random()
        self._storage_locks = {}
        self.request_counts = collections.Counter()
        self.set_durations(**(durations or {}))
        self.set_faults(**(faults or {}))

    @property
    def time_factor(self):
        return self.time_scale

    def set_durations(self, **durations):
        check_keys('duration', DURATIONS, durations)
        self.durations.update((k, float(v)) for k, v in durations.items())
        self.network['latency'] = self.durations['request_latency']

    def set_faults(self, **faults):
        """Switch faults on or off while running; a new seed restarts the draws."""
        check_keys('fault', FAULTS, faults)
        self.faults.update(faults)
        if 'seed' in faults:
            self.fault_rng.seed(faults['seed'])
            self._random.seed(faults['seed'])
        self.network['drop_rate'] = float(self.faults['drop_rate'])

    def roll(self, fault):
        rate = float(self.faults.get(fault) or 0)
        return rate > 0 and self.fault_rng.random() < rate

    def task_secs(self, key, scale=1.0):
        return self.durations[key] * scale * float(self.faults['slow_factor'] or 1)

    # ------------------------------------------------------------- counters

    def count(self, method, template):
        self.request_counts[(method, template)] += 1

    def counters(self):
        by_path = dict(('{0} {1}'.format(m, t), n) for (m, t), n in sorted(self.request_counts.items()))
        return {'total': sum(self.request_counts.values()), 'requests': by_path}

    def reset_counters(self):
        self.request_counts.clear()

    # --------------------------------------------------------- storage lock

    async def storage_lock(self, node, sid):
        """Take and hold the storage lock for one disk allocation, or raise PVE's timeout."""
        shared = bool(self.storages.get(sid, {}).get('shared'))
        key = ('cluster', sid) if shared else (node, sid)
        wait = self.durations['storage_lock_wait']
        if self.roll('lock_contention'):
            # Someone else (another node's clone, a backup) holds it past our wait.
            await self.pause(wait)
            raise TaskError(storage_lock_text(sid, shared))
        lock = self._storage_locks.setdefault(key, asyncio.Lock())
        if lock.locked():
            if not self.time_scale:
                raise TaskError(storage_lock_text(sid, shared))
            try:
                await asyncio.wait_for(lock.acquire(), wait * self.time_scale)
            except asyncio.TimeoutError:
                raise TaskError(storage_lock_text(sid, shared)) from None
        else:
            await lock.acquire()
        try:
            await self.pause(self.task_secs('storage_lock_hold'))
        finally:
            lock.release()
