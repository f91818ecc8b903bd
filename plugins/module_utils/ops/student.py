# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One student's whole part of a stand in one module run (the logic behind pve_stand_student):
user, pool and ACLs (access.UserPool), then every machine side by side, each in its own thread
(machine.MachineRun, then machine.configure_ecorouter for an EcoRouter before it starts), each machine from
its MachineSpec (and EcoRouterSpec), built from the plan's machine.

Why one run: a module run costs the controller about a second of CPU (Python start-up, imports,
Ansible's task machinery), so a student done in one run instead of machines + 2 lets a class go as
fast as PVE clones (docs/performance.md). The cluster is listed once per student, not once per VM."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading
from dataclasses import dataclass, field, replace
from typing import Dict, List, Optional

from ansible_collections.deploystand.proxmox.plugins.module_utils.argspecs import DEFAULTS, default
from ansible_collections.deploystand.proxmox.plugins.module_utils.ops.user_pool import (
    UserPool, UserPoolError, check_params,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.ops.machine import (
    EcoRouterSpec, MachineFailed, MachineRun, MachineSpec, ModuleSpec, configure_ecorouter, remove_own_vm,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.client import PveApiError
from ansible_collections.deploystand.proxmox.plugins.module_utils.errors import RunFailed, StandError
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.allocation import machine_nics
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.names import ECOROUTER, stand_name_problem
from ansible_collections.deploystand.proxmox.plugins.module_utils.ops import vm as V
from ansible_collections.deploystand.proxmox.plugins.module_utils.ops.lifecycle import baseline_after_deploy


class StudentFailed(RunFailed):
    """The student's run failed: the message (every failed part), and the result so far."""


@dataclass
class StudentSpec(ModuleSpec):
    """One student's part of a stand as pve_stand_student's options give it (the module's own for one student, or
    a `students` entry merged with them, class_run.student_params): what StudentRun, its machines' specs and its
    user and pool step read. from_params takes the options a module has and the others keep pve_stand_student's
    defaults: pve_stand_snapshot's reset re-creates machines from its own options."""
    stand: str
    userid: str
    pool: Optional[str] = None
    node: Optional[str] = None
    machines: List[dict] = field(default_factory=list)      # the plan's students[].machines, as they are
    bridges: Dict[str, str] = field(default_factory=dict)    # alias -> bridge (or VNet)
    stale_bridges: List[str] = field(default_factory=list)
    own_vms: List[dict] = field(default_factory=list)
    student_vms: str = DEFAULTS['student_vms']
    vmid_range: List[int] = field(default_factory=lambda: default('vmid_range'))
    start: bool = DEFAULTS['start']
    baseline: Optional[dict] = None
    management_bridge: str = DEFAULTS['management_bridge']
    mac_prefix: str = DEFAULTS['mac_prefix']
    role: str = DEFAULTS['role']
    pool_audit_role: str = DEFAULTS['pool_audit_role']
    bridge_role: str = DEFAULTS['bridge_role']
    password: Optional[str] = field(default=None, repr=False)     # never in a repr (a log, a traceback)
    update_password: str = DEFAULTS['update_password']
    password_length: int = DEFAULTS['password_length']
    expire: Optional[int] = None
    since: Optional[str] = None
    bridge_zone: Optional[str] = None
    clone_slots: int = DEFAULTS['clone_slots']
    lock_retries: int = DEFAULTS['lock_retries']
    timeout: int = DEFAULTS['timeout']
    shutdown_timeout: int = DEFAULTS['shutdown_timeout']
    state: str = DEFAULTS['state']


def access_params(s):
    """pve_user_pool's options, from a StudentSpec."""
    params = dict((key, getattr(s, key)) for key in ('stand', 'userid', 'pool', 'role', 'pool_audit_role',
                                                     'bridge_role', 'password', 'update_password', 'password_length',
                                                     'state', 'expire', 'since', 'bridge_zone'))
    params['bridges'] = sorted(set((s.bridges or {}).values()))
    params['stale_bridges'] = list(s.stale_bridges or [])
    return params


def machine_spec(s, machine):
    """The MachineSpec (pve_stand_clone's options) of one machine of the plan."""
    ecorouter = machine['device_type'] == ECOROUTER
    if ecorouter or s.state == 'absent':
        nics = None
    else:
        nics = [dict(nic, mac=None) for nic in machine_nics(machine['networks'], s.bridges)]
    if s.state == 'absent':
        state = 'absent'
    else:
        # an EcoRouter starts only once its NICs are set (configure_ecorouter)
        state = 'started' if s.start and not ecorouter else 'present'
    return MachineSpec(
        name=machine['name'], pool=s.pool, stand=s.stand, node=machine.get('node') or s.node,
        template=machine.get('template'), template_vmid=machine.get('template_vmid'),
        template_node=machine.get('template_node'), clone='full' if machine.get('full') else 'linked',
        storage=machine.get('storage'), format=machine.get('format'),
        vmid=machine.get('vmid') or machine.get('preferred_vmid'), vmid_range=s.vmid_range,
        tags=[ECOROUTER] if ecorouter else [], nics=nics, state=state, timeout=s.timeout,
        shutdown_timeout=s.shutdown_timeout, clone_slots=s.clone_slots, lock_retries=s.lock_retries)


def ecorouter_spec(s, machine, vmid, node):
    """The EcoRouterSpec (pve_ecorouter_nic's options) of an EcoRouter machine, once it exists as `vmid` on
    `node`."""
    data = [net for net in machine['networks'] if not net.get('management')]
    return EcoRouterSpec(
        vmid=vmid, node=node, stand=s.stand, management_bridge=s.management_bridge,
        bridges=[nic['bridge'] for nic in machine_nics(data, s.bridges)], mac_prefix=s.mac_prefix,
        state='started' if s.start else 'present', timeout=s.timeout, shutdown_timeout=s.shutdown_timeout)


def input_problems(s):
    """Every problem with the input, before anything is read or written."""
    problems = list(check_params(access_params(s)))
    stand_problem = stand_name_problem(s.stand)      # in check_params' list already: not again per machine
    names = set()
    for index, machine in enumerate(s.machines):
        label = 'machines[{0}] ({1})'.format(index, machine['name'])
        if machine['name'] in names:
            problems.append('{0}: the name is given twice'.format(label))
        names.add(machine['name'])
        found = []
        try:
            spec = machine_spec(s, machine)
            if machine['device_type'] == ECOROUTER and s.state != 'absent':
                found.extend(ecorouter_spec(s, machine, 0, '').problems())
        except StandError as exc:      # a network alias without a bridge
            found.append(str(exc))
            spec = machine_spec(replace(s, state='absent'), machine)   # the other options, without NICs
        found.extend(problem for problem in spec.problems() if problem != stand_problem)
        problems.extend('{0}: {1}'.format(label, problem) for problem in found)
    return problems


def _entry_after(result, pool):
    """The /cluster/resources view of a machine after its MachineRun (for configure_ecorouter)."""
    return {'vmid': result['vmid'], 'name': result['name'], 'node': result['node'], 'pool': pool,
            'tags': list(result['tags']), 'template': False, 'status': result['status'], 'lock': None}


class StudentRun(object):
    """present() / absent() of one student; both return the result or raise StudentFailed."""

    def __init__(self, client, params, check_mode=False, warn=None, network_ready=None):
        self.client = client
        self.spec = StudentSpec.from_params(params)
        self.network_ready = network_ready      # bridges.NodeApplies.ready: a machine waits for its node's bridges
        self.check_mode = check_mode
        self._warn = warn or (lambda msg: None)
        self._warn_lock = threading.Lock()
        self.result = dict(changed=False, userid=self.spec.userid, pool=self.spec.pool, node=self.spec.node,
                           bridges=dict(self.spec.bridges or {}), machines=[])
        # diff mode: the user, pool and ACLs (pve_user_pool's view) and each machine (pve_stand_clone's)
        self.before = {'user': None, 'pool': None, 'acl': [], 'machines': {}}
        self.after = {'user': None, 'pool': None, 'acl': [], 'machines': {}}

    def warn(self, msg):
        with self._warn_lock:
            self._warn(msg)

    # ------------------------------------------------------------------ parts

    def _access(self, state):
        work = UserPool(self.client, access_params(replace(self.spec, state=state)), check_mode=self.check_mode,
                        warn=self.warn)
        try:
            access = work.present() if state == 'present' else work.absent()
        except (PveApiError, UserPoolError, StandError) as exc:
            self._keep_access(work.result)
            raise StudentFailed('user, pool and access of {0}: {1}'.format(
                self.spec.userid, getattr(exc, 'message', None) or str(exc)), self.result)
        self._keep_access(access)
        for side in ('before', 'after'):
            getattr(self, side).update(access['diff'][side])
        return access

    def _keep_access(self, access):
        """The user/pool outcome, the password set in this run included (it cannot be read back later)."""
        for key in ('pool', 'user_created', 'user_owned', 'password_set', 'password', 'pool_created',
                    'acls_added', 'acls_removed', 'pool_deleted', 'user_deleted', 'user_kept', 'user_marked',
                    'user_shared_with', 'expire', 'expire_managed', 'expire_shared_with', 'expire_set',
                    'pool_updated', 'password_confirmed', 'password_kept'):
            if key in access:
                self.result[key] = access[key]
        if access.get('changed') or (not self.check_mode and any(access.get(k) for k in (
                'user_created', 'password_set', 'pool_created', 'acls_added', 'acls_removed', 'user_marked',
                'expire_set', 'pool_updated'))):
            self.result['changed'] = True

    def _machine(self, machine, entries):
        """One machine, start to end; returns (result, failure message or None)."""
        spec = machine_spec(self.spec, machine)
        run = MachineRun(self.client, spec, check_mode=self.check_mode, warn=self.warn, entries=entries,
                         pool_known=self.spec.state == 'present', network_ready=self.network_ready)
        try:
            result = run.run()
            if machine['device_type'] == ECOROUTER and spec.state != 'absent' and result['vmid'] is not None \
                    and not (self.check_mode and result['created']):
                # in check mode a router that does not exist yet has no NICs to predict
                seen = dict(entries)
                seen[result['vmid']] = _entry_after(result, self.spec.pool)
                router = configure_ecorouter(self.client, ecorouter_spec(self.spec, machine, result['vmid'],
                                                                         result['node']),
                                             check_mode=self.check_mode, warn=self.warn, entries=seen)
                diff = dict(before=result['diff']['before'], after=router['diff']['after'])
                result = dict(result, changed=result['changed'] or router['changed'], nics=router['nics'],
                              status=router['status'], diff=diff)
            return result, None
        except MachineFailed as exc:
            return dict(run.result, **exc.result), exc.message
        except PveApiError as err:
            return run.result, err.message
        except StandError as exc:
            return run.result, str(exc)

    def _machines(self):
        """Every machine in its own thread; PVE's storage locks and the clone slots keep the pace."""
        entries = V.Vms(self.client).entries()
        outcomes = [None] * len(self.spec.machines)

        def work(index, machine):
            try:
                outcomes[index] = self._machine(machine, entries)
            except Exception as exc:  # pylint: disable=broad-except
                # a thread's exception would be lost: report it with the others
                outcomes[index] = ({'name': machine['name'], 'vmid': machine.get('vmid'), 'changed': False},
                                   'unexpected error: {0!r}'.format(exc))

        threads = [threading.Thread(target=work, args=(index, machine))
                   for index, machine in enumerate(self.spec.machines)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        failures = []
        for machine, (result, failure) in zip(self.spec.machines, outcomes):
            diff = result.pop('diff', None) or {'before': {}, 'after': {}}
            self.before['machines'][machine['name']] = diff['before']
            self.after['machines'][machine['name']] = diff['after']
            self.result['machines'].append(result)
            self.result['changed'] = self.result['changed'] or bool(result.get('changed'))
            if failure:
                failures.append('{0}: {1}'.format(machine['name'], failure))
        return failures

    def _own_vms(self):
        """The VMs the student made in its stand pool: removed (after a soft shutdown) unless
        student_vms=keep; either way the result and a warning say which. Returns failure messages."""
        own = self.spec.own_vms or []
        self.result['own_vms'] = []
        if not own:
            return []
        if self.spec.student_vms == 'keep':
            self.result['own_vms'] = [dict(vm, action='kept') for vm in own]
            self.warn('{0}: kept {1} (made by the student in its pool {2}; student_vms=keep): the pool, the user and '
                      'the bridges those VMs use stay'.format(self.spec.userid, _vm_list(own), self.spec.pool))
            return []
        vms = V.Vms(self.client, timeout=self.spec.timeout, warn=self.warn)
        failures = []
        for vm in own:
            try:
                done = remove_own_vm(vms, vm, self.spec.pool, self.spec.shutdown_timeout, self.check_mode)
            except PveApiError as err:
                failures.append('{0} (made by the student): {1}'.format(vm.get('name'), err.message))
                continue
            self.result['own_vms'].append(done)
            self.result['changed'] = self.result['changed'] or done['action'] == 'removed'
        removed = [vm for vm in self.result['own_vms'] if vm['action'] == 'removed']
        if removed:
            self.warn('{0}: removed {1}, made by the student in its pool {2} (student_vms=keep keeps them)'.format(
                self.spec.userid, _vm_list(removed), self.spec.pool))
        return failures

    def _fail_on(self, failures):
        if failures:
            raise StudentFailed('{0}: {1}'.format(self.spec.userid, '; '.join(failures)), self.result)

    # ------------------------------------------------------------------ runs

    def _with_diff(self):
        self.result['diff'] = {'before': self.before, 'after': self.after}
        return self.result

    def present(self):
        self._access('present')
        self._fail_on(self._machines())
        # stand.baseline: the snapshot of every machine created in this run (lifecycle.baseline_after_deploy)
        self._fail_on(baseline_after_deploy(self.client, self.spec, self.result['machines'], self.check_mode,
                                            self.warn))
        return self._with_diff()

    def run(self):
        """present() or absent(), as O(state) says (a class run calls this for each student)."""
        return self.present() if self.spec.state == 'present' else self.absent()

    def absent(self):
        """The machines first (the stand's, then those the student made in its pool); the pool, ACLs and
        user only once every machine is gone. A pool that keeps VMs keeps its owner (access.UserPool)."""
        self._fail_on(self._machines() + self._own_vms())
        self._access('absent')
        return self._with_diff()


def _vm_list(vms):
    return ', '.join('VM {0} ({1})'.format(vm['vmid'], vm.get('name')) for vm in vms)
