# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reset one student's machines to the stand's snapshot (pve_stand_snapshot state=reset, stand_reset.yml).

Per machine, decided for all of them before anything is written:
- `rollback`: the VM carries the stand's snapshot (lifecycle_input.is_stand_snapshot) -> roll back to it;
- `reclone`: the VM exists without it -> its NIC MACs are read, the VM is stopped and destroyed, and cloned
  again from its template with the same VMID, name, pool, tags, NICs and MACs (an EcoRouter's slot MACs
  follow the VMID, stand-model.md §6), then the snapshot is taken (disk-only), so the next reset rolls back;
- `recreate`: the machine is missing -> made as the deploy makes it (machine.MachineRun), then the snapshot.
Refused, nothing changed: a re-clone or re-creation without a template, a VM holding snapshots the stand did
not make (a re-clone would delete them), a VM of the machine's name in the pool without the stand's tags.
Then every machine goes to the power state the stand wants (stand.start), in start order (a RAM snapshot's
rollback leaves the VM running, a disk-only one stopped: qemu-server `snapshot_rollback`).

A reset killed between the destroy and the clone leaves the machine missing: the next run re-creates it
(the plan's preferred VMID, a new MAC for a Linux NIC); no duplicate, and no half-made VM, since a clone an
interrupted run left is adopted by its pending marker (vms.PENDING_MARKER) or waited for by the plan."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.deploystand.proxmox.plugins.module_utils.stand import lifecycle_input as L
from ansible_collections.deploystand.proxmox.plugins.module_utils.ops import vm as V
from ansible_collections.deploystand.proxmox.plugins.module_utils.ops.lifecycle import (
    PowerRun, Snapshots, StudentMachines, run_side_by_side,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.ops.machine import (
    MachineFailed, MachineRun, configure_ecorouter,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.errors import RunFailed, StandError
from ansible_collections.deploystand.proxmox.plugins.module_utils.ops.student import (
    StudentSpec, ecorouter_spec, machine_spec,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.names import ECOROUTER


def _student_spec(p):
    """The StudentSpec student.machine_spec reads, from pve_stand_snapshot's options: the machines stay stopped
    here (the power step follows), and are never removed."""
    return StudentSpec.from_params(dict(p, state='present', start=False))


class ResetRun(object):

    def __init__(self, client, p, check_mode=False, warn=None):
        self.client = client
        self.p = p
        self.check_mode = check_mode
        self.warn = warn or (lambda msg: None)
        self.result = dict(changed=False, userid=p['userid'], pool=p['pool'], snapshot=p['name'], state='reset',
                           machines=[], missing=[], foreign=[])

    # ------------------------------------------------------------ decide

    def _decide(self, seen, snapshots, machine, entry):
        """(path, snapshots of the VM, problem or None)."""
        name = self.p['name']
        if entry is None:
            conflicts = [vm for vm in seen.conflicts.get(machine['name'], []) if not self._pending(seen.vms, vm)]
            if conflicts:
                vm = conflicts[0]
                return 'recreate', {}, ('VM {0} ({1}) is in pool {2} without the tags deploystand and stand-{3}: a '
                                        'look-alike; rename or remove it (nothing was changed)'.format(
                                            vm['vmid'], machine['name'], self.p['pool'], self.p['stand']))
            problem = None if machine.get('template_vmid') is not None or machine.get('template') else \
                'it is missing and has no template to make it from'
            return 'recreate', {}, problem
        snaps = snapshots.listing(entry['node'], entry['vmid'])
        found = snaps.get(name)
        if found is not None and L.is_stand_snapshot(found, self.p['stand']):
            return 'rollback', snaps, None
        if machine.get('template_vmid') is None and not machine.get('template'):
            return 'reclone', snaps, ('VM {0} has no snapshot {1} taken by the stand and its template cannot be cloned '
                                      'to node {2} (or no longer exists): it can be neither rolled back nor re-cloned'
                                      .format(entry['vmid'], name, entry['node']))
        others = sorted(snaps)
        if others:
            return 'reclone', snaps, ('VM {0} has no snapshot {1} taken by the stand, and re-cloning it would delete '
                                      'the snapshots it holds ({2}), which the stand did not take; delete them, or take '
                                      'the stand\'s snapshot first (stand_snapshot.yml)'.format(
                                          entry['vmid'], name, ', '.join(others)))
        return 'reclone', snaps, None

    def _pending(self, vms, vm):
        """A clone an interrupted run made and did not tag yet (its notes carry the pending marker): the
        re-creation adopts it (machine.MachineRun.find), so it is no look-alike."""
        try:
            config = vms.config(vm['node'], vm['vmid'])
        except Exception:  # pylint: disable=broad-except
            return False
        return V.has_pending_marker(config.get('description'), self.p['stand'])

    # ------------------------------------------------------------- paths

    def _rollback(self, snapshots, machine, entry):
        snapshots.rollback(entry['node'], entry['vmid'], self.p['name'])
        return entry['vmid'], entry['node']

    def _make(self, machine, vmid, macs):
        """Clone the machine as the deploy does, with `vmid` and, for a Linux machine, the NICs' `macs`."""
        student = _student_spec(self.p)
        spec = machine_spec(student, dict(machine, vmid=vmid))
        if spec.nics is not None and macs:
            spec.nics = [dict(nic, mac=macs[index] if index < len(macs) else None)
                         for index, nic in enumerate(spec.nics)]
        run = MachineRun(self.client, spec, check_mode=self.check_mode, warn=self.warn, pool_known=True)
        try:
            result = run.run()
        except MachineFailed as exc:
            raise RunFailed(exc.message, None)
        except StandError as exc:
            raise RunFailed(str(exc), None)
        if machine['device_type'] == ECOROUTER and not self.check_mode:
            try:
                configure_ecorouter(self.client, ecorouter_spec(student, machine, result['vmid'], result['node']),
                                    warn=self.warn)
            except MachineFailed as exc:
                raise RunFailed(exc.message, None)
        return result['vmid'], result['node']

    def _reclone(self, vms, machine, entry):
        node, vmid = entry['node'], entry['vmid']
        config = vms.config(node, vmid)
        macs = [nic['mac'] for nic in V.nics_of(config)]
        if machine['device_type'] == ECOROUTER:
            macs = []                 # slot MACs follow the VMID (configure_ecorouter)
        else:
            macs = macs[len([n for n in machine['networks'] if n.get('management')]):]
        if vms.status(node, vmid) != 'stopped':
            vms._power_task(node, vmid, 'stop', lambda s: s != 'running', vms.timeout)  # pylint: disable=protected-access
        vms.destroy(node, vmid)
        return self._make(machine, vmid, macs)

    # --------------------------------------------------------------- run

    def run(self):
        seen = StudentMachines(self.client, self.p, timeout=self.p['timeout'], warn=self.warn)
        vms = seen.vms
        snapshots = Snapshots(vms, self.p['stand'], self.warn)
        self.result['foreign'] = seen.foreign
        plans, problems = [], []
        for machine, entry in seen.found:
            path, snaps, problem = self._decide(seen, snapshots, machine, entry)
            if problem:
                problems.append('{0}: {1}'.format(machine['name'], problem))
            plans.append((machine, entry, path, snaps))
        if problems:
            raise RunFailed('{0}: nothing was changed: {1}'.format(self.p['userid'], '; '.join(problems)),
                            self.result)
        self.result['missing'] = [m['name'] for m, e, path, _s in plans if path == 'recreate']

        def work(item):
            machine, entry, path, snaps = item
            out = {'name': machine['name'], 'path': path, 'changed': True,
                   'vmid': entry['vmid'] if entry else machine.get('preferred_vmid'),
                   'node': entry['node'] if entry else self.p['node'],
                   'snapshots_before': sorted(snaps)}
            if self.check_mode:
                return out
            if path == 'rollback':
                vmid, node = self._rollback(snapshots, machine, entry)
            elif path == 'reclone':
                vmid, node = self._reclone(vms, machine, entry)
            else:
                vmid, node = self._make(machine, machine.get('vmid') or machine.get('preferred_vmid'), [])
            if path != 'rollback':
                snapshots.create(node, vmid, self.p['name'], False, 'taken by the reset after re-cloning')
            out.update(vmid=vmid, node=node)
            return out

        failures = []
        done = {}
        for machine, value, error in run_side_by_side(plans, work):
            if error:
                failures.append('{0}: {1}'.format(machine[0]['name'], error))
                value = {'name': machine[0]['name'], 'path': machine[2], 'changed': False, 'error': error}
            done[value['name']] = value
        self.result['machines'] = [done[m['name']] for m, _e, _p, _s in plans]
        self.result['changed'] = any(m.get('changed') for m in self.result['machines'])
        if failures:
            raise RunFailed('{0}: {1}'.format(self.p['userid'], '; '.join(failures)), self.result)
        self._power()
        self.result['diff'] = {
            'before': dict((m['name'], {'vmid': m.get('vmid'), 'snapshots': m.get('snapshots_before')})
                           for m in self.result['machines']),
            'after': dict((m['name'], {'vmid': m.get('vmid'), 'path': m.get('path'), 'status': m.get('status')})
                          for m in self.result['machines'])}
        return self.result

    def _power(self):
        """The power state the stand wants, in start order (PowerRun reads the machines again)."""
        want = 'started' if self.p['start'] else 'stopped'
        if self.check_mode:
            for machine in self.result['machines']:
                machine['status'] = 'running' if want == 'started' else 'stopped'
            return
        power = PowerRun(self.client, dict(self.p, state=want), warn=self.warn)
        try:
            result = power.run()
        except RunFailed as exc:
            raise RunFailed(exc.message, self.result)
        status = dict((m['name'], m.get('status')) for m in result['machines'])
        for machine in self.result['machines']:
            machine['status'] = status.get(machine['name'])
