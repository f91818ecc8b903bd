# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A student's machines between deploy and destroy: power, snapshots, reset (issue 15).

The logic behind pve_stand_power and pve_stand_snapshot. One run per student: ONE cluster read finds the
student's machines by ownership (pool + name + the stand's tags, vms.find_stand_vm; never by VMID), then the
machines go side by side in threads, in groups of `start_order` (lifecycle_input.start_waves). Every run first
decides for every machine, then writes: a refusal (a snapshot with children, a RAM snapshot whose state
storage cannot hold it, a reset without snapshot and template) fails the student with nothing changed.

Ownership of snapshots: the stand writes lifecycle_input.snapshot_marker into the description of every
snapshot it takes; a snapshot without it (the student's, an administrator's) is never replaced, deleted or
rolled back to. A write whose connection broke is decided again from what PVE shows (vms.CONNECTION_RECHECKS)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import random
import threading

from ansible_collections.deploystand.proxmox.plugins.module_utils.stand import lifecycle_input as L
from ansible_collections.deploystand.proxmox.plugins.module_utils.ops import vm as V
from ansible_collections.deploystand.proxmox.plugins.module_utils.errors import RunFailed
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.cluster import disk_storages
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.client import (
    CONNECTION, LOCKED, NOT_FOUND, TASK_FAILED, PveApiError,
)

# How often a snapshot task that failed on a lock (a config or storage lock another task held) is retried.
LOCK_RETRIES = 4


def run_side_by_side(items, work):
    """work(item) for every item, each in its own thread; returns [(item, value, error message or None)]."""
    out = [None] * len(items)

    def one(index, item):
        try:
            out[index] = (item, work(item), None)
        except RunFailed as exc:
            out[index] = (item, exc.result, exc.message)
        except PveApiError as err:
            out[index] = (item, None, err.message)
        except Exception as exc:  # pylint: disable=broad-except
            out[index] = (item, None, 'unexpected error: {0!r}'.format(exc))
    threads = [threading.Thread(target=one, args=(index, item)) for index, item in enumerate(items)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return out


def foreign_in_pool(entries, pool, stand, names):
    """VMs in the student's pool the stand does not own (hand-made, or named like a stand VM without the
    stand's tags): never touched, reported."""
    out = []
    for entry in sorted(entries.values(), key=lambda e: e['vmid']):
        if entry.get('pool') != pool or entry.get('template') or V.is_owned(entry, pool, stand):
            continue
        why = 'named like a stand VM but without the tags deploystand and stand-{0}'.format(stand) \
            if entry.get('name') in names else 'not made by the stand'
        out.append({'vmid': entry['vmid'], 'name': entry.get('name'), 'node': entry.get('node'), 'why': why})
    return out


def left_alone(result):
    """The warnings for what a student's run did not touch: the pool's foreign VMs, and machines whose VM
    (or snapshot) the stand does not own."""
    out = ['left alone: VM {0} ({1}) in pool {2} is {3}'.format(vm['vmid'], vm['name'], result['pool'], vm['why'])
           for vm in result.get('foreign', [])]
    out.extend('left alone: {0} (VM {1}): {2}'.format(m['name'], m['vmid'], m['why'])
               for m in result.get('machines', []) if m.get('action') == 'foreign')
    return out


class StudentMachines(object):
    """The student's machines as the cluster shows them: [(machine, entry or None)], and the foreign VMs."""

    def __init__(self, client, p, timeout=600, warn=None):
        self.client = client
        self.p = p
        self.warn = warn or (lambda msg: None)
        self.vms = V.Vms(client, timeout=timeout, warn=self.warn)
        self.entries = self.vms.entries()
        self.found = []
        self.conflicts = {}
        for machine in p['machines']:
            ours, conflicts, _elsewhere = V.find_stand_vm(self.entries, p['pool'], machine['name'], p['stand'])
            self.found.append((machine, ours))
            if conflicts:
                self.conflicts[machine['name']] = conflicts
        self.foreign = foreign_in_pool(self.entries, p['pool'], p['stand'], set(m['name'] for m in p['machines']))


# ======================================================================================== power

def _hard_stop(vms, node, vmid):
    vms._power_task(node, vmid, 'stop', lambda s: s != 'running', vms.timeout)  # pylint: disable=protected-access


class PowerRun(object):
    """pve_stand_power for one student: started / stopped / shutdown / restarted."""

    def __init__(self, client, p, check_mode=False, warn=None):
        self.client = client
        self.p = p
        self.check_mode = check_mode
        self.warn = warn or (lambda msg: None)
        self.result = dict(changed=False, userid=p['userid'], pool=p['pool'], state=p['state'], machines=[],
                           missing=[], foreign=[])

    def _one(self, vms, machine, entry, action):
        node, vmid = entry['node'], entry['vmid']
        status = vms.status(node, vmid)
        out = {'name': machine['name'], 'vmid': vmid, 'node': node, 'status_before': status, 'status': status,
               'changed': False, 'start_order': machine.get('start_order') or 0}
        if action == 'start' and status != 'running':
            if not self.check_mode:
                vms.start(node, vmid)
            out.update(changed=True, status='running')
        elif action in ('stop', 'shutdown') and status != 'stopped':
            if not self.check_mode:
                if action == 'shutdown' and status == 'running':
                    vms.stop(node, vmid, self.p['shutdown_timeout'])   # ACPI / agent, then a hard stop
                else:
                    _hard_stop(vms, node, vmid)
            out.update(changed=True, status='stopped')
        if out['changed'] and not self.check_mode:
            out['status'] = vms.status(node, vmid)
        return out

    def _waves(self, vms, present, action, reverse):
        done = {}
        failures = []
        for wave in L.start_waves([m for m, _e in present], reverse=reverse):
            entries = dict((m['name'], e) for m, e in present)
            outcomes = run_side_by_side(wave, lambda m: self._one(vms, m, entries[m['name']], action))
            wave_failed = False
            for machine, value, error in outcomes:
                if error:
                    failures.append('{0}: {1}'.format(machine['name'], error))
                    wave_failed = True
                    value = dict(name=machine['name'], vmid=entries[machine['name']]['vmid'], changed=False,
                                 error=error)
                previous = done.get(machine['name'])
                if previous is not None:      # restarted: the stop's result, then the start's
                    value = dict(value, status_before=previous['status_before'],
                                 changed=previous['changed'] or value['changed'])
                done[machine['name']] = value
            if wave_failed:
                # the next group waits for this one (a host must not come up before its router)
                failures.append('machines after start_order {0} were not {1}'.format(
                    wave[0].get('start_order') or 0, 'started' if action == 'start' else 'stopped'))
                break
        return done, failures

    def run(self):
        seen = StudentMachines(self.client, self.p, timeout=self.p['timeout'], warn=self.warn)
        self.result['foreign'] = seen.foreign
        present = [(m, e) for m, e in seen.found if e is not None]
        self.result['missing'] = [m['name'] for m, e in seen.found if e is None]
        state = self.p['state']
        failures = []
        done = {}
        if state in ('stopped', 'shutdown', 'restarted'):
            action = 'stop' if state == 'stopped' else 'shutdown'
            done, failures = self._waves(seen.vms, present, action, reverse=True)
        if state in ('started', 'restarted') and not failures:
            started, failures = self._waves(seen.vms, present, 'start', reverse=False)
            for name, value in started.items():
                previous = done.get(name)
                done[name] = value if previous is None else dict(
                    value, status_before=previous['status_before'], changed=True)
        order = [m['name'] for m, _e in present]
        self.result['machines'] = [done[name] for name in order if name in done]
        self.result['changed'] = any(m.get('changed') for m in self.result['machines'])
        self.result['diff'] = {
            'before': dict((m['name'], {'status': m.get('status_before')}) for m in self.result['machines']),
            'after': dict((m['name'], {'status': m.get('status')}) for m in self.result['machines'])}
        if failures:
            raise RunFailed('{0}: {1}'.format(self.p['userid'], '; '.join(failures)), self.result)
        return self.result


# ==================================================================================== snapshots

class Snapshots(object):
    """The snapshot calls of one VM, each waiting for its task; a lock or a broken connection is retried
    (bounded) after reading the state again."""

    def __init__(self, vms, stand, warn=None):
        self.vms = vms
        self.client = vms.client
        self.stand = stand
        self.warn = warn or (lambda msg: None)

    def listing(self, node, vmid):
        return L.real_snapshots(self.client.get(V.vm_path(node, vmid, 'snapshot')))

    def _task(self, node, vmid, send, settled, lock):
        """send() -> UPID; on a lock failure retry with backoff; on a broken connection, settled() tells
        whether PVE took the request (then wait for the VM's lock to go)."""
        locks = connections = 0
        while True:
            try:
                upid = send()
                if upid:
                    self.client.wait_task(upid, timeout=self.vms.timeout)
                return
            except PveApiError as err:
                cause = err.cause if err.kind == TASK_FAILED else err.kind
                if cause == LOCKED and locks < LOCK_RETRIES:
                    locks += 1
                    self.vms._sleep(min(10.0, 0.5 * (2 ** locks)) * (0.5 + random.random()))  # pylint: disable=protected-access
                    continue
                if err.kind == CONNECTION and connections < V.CONNECTION_RECHECKS:
                    connections += 1
                    try:
                        self.vms.wait_unlocked(vmid, node, lock=lock)
                    except PveApiError as again:
                        if again.kind not in (CONNECTION, NOT_FOUND):
                            raise
                    if settled():
                        return
                    continue
                raise

    def create(self, node, vmid, name, vmstate, purpose):
        description = L.stand_snapshot_description(self.stand, purpose)

        def send():
            return self.client.post(V.vm_path(node, vmid, 'snapshot'), snapname=name, vmstate=1 if vmstate else 0,
                                    description=description)

        def settled():
            found = self.listing(node, vmid).get(name)
            return found is not None and not found.get('snapstate')
        self._task(node, vmid, send, settled, 'snapshot')

    def delete(self, node, vmid, name):
        def send():
            return self.client.delete(V.vm_path(node, vmid, 'snapshot/' + name))

        def settled():
            return name not in self.listing(node, vmid)
        self._task(node, vmid, send, settled, 'snapshot-delete')

    def rollback(self, node, vmid, name):
        def send():
            return self.client.post(V.vm_path(node, vmid, 'snapshot/{0}/rollback'.format(name)))
        # a rollback leaves nothing to read back: sending it again gives the same state
        self._task(node, vmid, send, lambda: False, 'rollback')


def node_storages(client, node):
    """{storage id: {type, shared, active}} of the storages `node` lists."""
    return dict((s['storage'], s) for s in client.get('nodes/{0}/storage'.format(node)) or [])


def vmstate_problem(client, vms, node, vmid, cache):
    """Why PVE could not save the RAM of VM `vmid` (its state storage cannot hold the file), or None."""
    config = vms.config(node, vmid)
    if node not in cache:
        cache[node] = node_storages(client, node)
    sid = L.vmstate_storage(config, cache[node], disk_storages(config))
    problem = L.vmstate_storage_problem(sid, cache[node])
    return 'a RAM snapshot (vmstate) needs its state file on {0}: {1}'.format(sid, problem) if problem else None


class SnapshotRun(object):
    """pve_stand_snapshot state=present|absent for one student."""

    def __init__(self, client, p, check_mode=False, warn=None):
        self.client = client
        self.p = p
        self.check_mode = check_mode
        self.warn = warn or (lambda msg: None)
        self.result = dict(changed=False, userid=p['userid'], pool=p['pool'], snapshot=p['name'], state=p['state'],
                           machines=[], missing=[], foreign=[])
        self._vms = None

    def _decide(self, snaps, machine, entry, status, storage_cache):
        """(action, problem): action create|replace|delete|keep|none|foreign."""
        name = self.p['name']
        found = snaps.get(name)
        ours = found is not None and L.is_stand_snapshot(found, self.p['stand'])
        if self.p['state'] == 'present':
            if found is None:
                action = 'create'
            elif not ours:
                return 'foreign', None
            else:
                action = 'replace' if self.p['replace'] else 'keep'
        else:
            if found is None:
                return 'none', None
            if not ours:
                return 'foreign', None
            action = 'delete'
        if action in ('replace', 'delete'):
            children = L.snapshot_children(snaps.values(), name)
            if children and not self.p['force']:
                return action, ('snapshot {0} of VM {1} has child snapshots ({2}); {3} it only with force (the '
                                'children are kept and re-parented by PVE)'.format(
                                    name, entry['vmid'], ', '.join(children),
                                    'replacing' if action == 'replace' else 'deleting'))
        if action in ('create', 'replace') and self.p['vmstate'] and status == 'running':
            return action, vmstate_problem(self.client, self._vms, entry['node'], entry['vmid'], storage_cache)
        return action, None

    def run(self):
        seen = StudentMachines(self.client, self.p, timeout=self.p['timeout'], warn=self.warn)
        self._vms = seen.vms
        snapshots = Snapshots(seen.vms, self.p['stand'], self.warn)
        self.result['foreign'] = seen.foreign
        self.result['missing'] = [m['name'] for m, e in seen.found if e is None]
        present = [(m, e) for m, e in seen.found if e is not None]
        storage_cache = {}
        plans = []
        problems = []
        for machine, entry in present:
            snaps = snapshots.listing(entry['node'], entry['vmid'])
            status = seen.vms.status(entry['node'], entry['vmid'])
            action, problem = self._decide(snaps, machine, entry, status, storage_cache)
            if problem:
                problems.append('{0}: {1}'.format(machine['name'], problem))
            plans.append((machine, entry, snaps, status, action))
        if problems:
            raise RunFailed('{0}: nothing was changed: {1}'.format(self.p['userid'], '; '.join(problems)),
                            self.result)
        name = self.p['name']

        def work(item):
            machine, entry, snaps, status, action = item
            node, vmid = entry['node'], entry['vmid']
            ram = bool(self.p['vmstate'] and status == 'running')
            out = {'name': machine['name'], 'vmid': vmid, 'node': node, 'action': action, 'status': status,
                   'changed': action in ('create', 'replace', 'delete'),
                   'vmstate': ram if action in ('create', 'replace') else bool(snaps.get(name, {}).get('vmstate'))}
            if action == 'foreign':
                out['why'] = 'snapshot {0} exists but was not taken by the stand: left alone'.format(name)
            if self.p['vmstate'] and action in ('create', 'replace') and not ram:
                out['why'] = 'VM is {0}: PVE saves no RAM of a stopped VM, the snapshot holds the disks only'.format(
                    status)
            before = sorted(snaps)
            after = list(before)
            if action == 'create':
                after = sorted(before + [name])
            elif action == 'delete':
                after = [s for s in before if s != name]
            out['diff'] = {'before': {'snapshots': before}, 'after': {'snapshots': after}}
            if self.check_mode or not out['changed']:
                return out
            if action in ('replace', 'delete'):
                snapshots.delete(node, vmid, name)
            if action in ('create', 'replace'):
                snapshots.create(node, vmid, name, ram, self.p['description'])
            return out

        outcomes = run_side_by_side(plans, work)
        failures = self._collect(outcomes)
        if failures:
            raise RunFailed('{0}: {1}'.format(self.p['userid'], '; '.join(failures)), self.result)
        return self.result

    def _collect(self, outcomes):
        failures = []
        diff = {'before': {}, 'after': {}}
        for item, value, error in outcomes:
            machine = item[0]
            if error:
                failures.append('{0}: {1}'.format(machine['name'], error))
                value = {'name': machine['name'], 'vmid': item[1]['vmid'], 'changed': False, 'error': error}
            part = value.pop('diff', None)
            if part:
                diff['before'][machine['name']] = part['before']
                diff['after'][machine['name']] = part['after']
            self.result['machines'].append(value)
        self.result['changed'] = any(m.get('changed') for m in self.result['machines'])
        self.result['diff'] = diff
        return failures


def baseline_after_deploy(client, student, results, check_mode=False, warn=None):
    """stand.baseline: the snapshot of each machine the deploy created in this run (results of
    student.StudentRun; `created` says so). A machine that existed before gets none: a re-run never takes
    it, and a deploy interrupted before the snapshot leaves the machine without one (the next reset then
    re-clones it). `student` is the run's student.StudentSpec. Returns failure messages; each result gets
    `baseline` (the snapshot name) when taken."""
    baseline = student.baseline
    if not baseline:
        return []
    created = [r for r in results if r.get('created') and r.get('vmid') is not None]
    if not created:
        return []
    vms = V.Vms(client, timeout=student.timeout, warn=warn)
    snapshots = Snapshots(vms, student.stand, warn)
    cache = {}

    def work(result):
        if check_mode:
            return baseline['snapshot']
        ram = bool(baseline.get('vmstate')) and vms.status(result['node'], result['vmid']) == 'running'
        if ram:
            problem = vmstate_problem(client, vms, result['node'], result['vmid'], cache)
            if problem:
                raise RunFailed(problem, None)
        if baseline['snapshot'] not in snapshots.listing(result['node'], result['vmid']):
            snapshots.create(result['node'], result['vmid'], baseline['snapshot'], ram, 'baseline taken by the deploy')
        return baseline['snapshot']
    failures = []
    for result, value, error in run_side_by_side(created, work):
        if error:
            failures.append('{0}: baseline snapshot: {1}'.format(result['name'], error))
        else:
            result['baseline'] = value
    return failures
