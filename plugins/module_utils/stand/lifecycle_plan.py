# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plans of the day-2 playbooks (pve_stand_plan purpose power, snapshot, reset): pure, like stand.py.

- power and snapshot work on what the stand owns (stand.plan_removal: the VMs in the student's pool tagged
  stand-<stand>), so a template removed since the deploy blocks nothing; each machine gets its `start_order`
  from the stand (0 for a machine the stand no longer lists).
- reset needs the deploy's plan (templates, bridges, VMIDs) to re-clone or re-create a machine:
  stand.build_plan without the memory check (nothing new runs that did not run before), refusing students
  that were never deployed or whose private bridges are gone (nothing of the student but its machines changes).
- Every purpose adds its privileges to the preflight (lifecycle_input.LIFECYCLE_PRIVILEGE_ROWS)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.deploystand.proxmox.plugins.module_utils.errors import StandError
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.facts import _vm_by_id, _vm_tags
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.inputs import (
    normalize_stand, normalize_users,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.names import (
    stand_tag, vm_name, vm_name_problem,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.plan import _derive_plan, build_plan
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.privileges import (
    _machine_needs, _need, missing_privileges, privilege_errors, unlisted_paths,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.removal import plan_removal

PURPOSES = ('power', 'snapshot', 'reset')


def _order_of(stand, student):
    return dict((vm_name(student['userid'], m['name']), m.get('start_order') or 0) for m in stand['machines']
                if not vm_name_problem(student['userid'], m['name']))


def _owned_machines(stand, student, cluster):
    """The plan_removal machines that carry the stand's tag (not the untagged same-name VMs it also lists for
    an interrupted deploy's clean-up), with their start_order."""
    tag = stand_tag(stand['name'])
    order = _order_of(stand, student)
    out = []
    for machine in student['machines']:
        vm = _vm_by_id(cluster, machine['vmid']) or {}  # pylint: disable=protected-access
        if tag not in _vm_tags(vm):  # pylint: disable=protected-access
            continue
        out.append(dict(machine, start_order=order.get(machine['name'], 0)))
    return sorted(out, key=lambda m: (m['start_order'], m['name']))


def _needs(purpose, stand, students, cluster):
    """The privilege needs of a power or snapshot run (the plan_removal students)."""
    key = 'vm_power_day2' if purpose == 'power' else 'vm_snapshot'
    needs = [_need('user_read', ['/access/groups'])]  # pylint: disable=protected-access
    for student in students:
        needs.append(_need('pool_audit', ['/pool/%s' % student['pool']]))  # pylint: disable=protected-access
        for machine in student['machines']:
            path = '/vms/%s' % machine['vmid']
            needs += [_need('vm_audit', [path]), _need(key, [path])]  # pylint: disable=protected-access
    return needs


def _reset_needs(stand, cluster):
    def extra(planned, needs):
        needs = list(needs)
        for student in planned:
            pool = '/pool/%s' % student['pool']
            for machine in student['machines']:
                if machine['vmid'] is None:
                    continue          # a missing machine is created: the deploy's needs cover it
                path = '/vms/%s' % machine['vmid']
                needs += [_need(key, [path]) for key in ('vm_rollback', 'vm_power_day2', 'vm_reclone')]  # pylint: disable=protected-access
                if machine['template_vmid'] is not None:
                    # a re-clone needs what a new VM needs (the same VMID again)
                    as_new = dict(machine, vmid=None, preferred_vmid=machine['vmid'])
                    needs += _machine_needs(stand, student, as_new, cluster, pool)  # pylint: disable=protected-access
        return needs
    return extra


def _reset_refusals(plan):
    """Students the reset cannot do without changing more than their machines."""
    errors = []
    for student in plan['students']:
        if not student['pool_exists']:
            errors.append('%s: has no stand yet (no pool %s): deploy it first (deploy_stand.yml)'
                          % (student['userid'], student['pool']))
            continue
        planned = dict(((b['userid'], b['alias']), b) for node in plan['nodes'].values() for b in node)
        for bridge in student['bridges']:
            entry = planned.get((student['userid'], bridge['alias']))
            if entry is not None and not entry['exists']:
                errors.append('%s: its private network %s has no bridge (%s would be made): run deploy_stand.yml, '
                              'a reset changes nothing but the machines' % (student['userid'], bridge['alias'],
                                                                            entry['iface']))
    return errors


def plan_lifecycle(purpose, stand_raw, users_raw, cluster):
    """(plan, errors) for pve_stand_plan purpose power|snapshot|reset; plan None on errors."""
    if purpose == 'reset':
        stand, _errors = normalize_stand(stand_raw)
        extra = _reset_needs(stand, cluster) if stand is not None else None
        plan, errors = build_plan(stand_raw, users_raw, cluster, capacity=False, extra_needs=extra)
        if errors:
            return None, errors
        refusals = _reset_refusals(plan)
        if refusals:
            return None, refusals
        plan['purpose'] = purpose
        return plan, []
    plan, errors = plan_removal(stand_raw, users_raw, cluster)
    if errors:
        return None, errors
    stand, _errors = normalize_stand(stand_raw)
    for student in plan['students']:
        student['machines'] = _owned_machines(stand, student, cluster)
        student['missing'] = sorted(set(_order_of(stand, student)) - set(m['name'] for m in student['machines']))
    missing = missing_privileges(_needs(purpose, stand, plan['students'], cluster), cluster)
    if missing:
        return None, privilege_errors(missing, cluster)
    plan['purpose'] = purpose
    plan['baseline'] = stand.get('baseline')
    return plan, []


def lifecycle_paths_to_verify(purpose, stand_raw, users_raw, cluster):
    """The paths a refusal of plan_lifecycle judged by inheritance: pve_stand_plan asks PVE for each exactly
    and plans again, so a refusal never rests on a guess."""
    if cluster.get('permissions') is None:
        return []
    if purpose == 'reset':
        stand, _errors = normalize_stand(stand_raw)
        students, _user_errors = normalize_users(users_raw)
        if stand is None or not students:
            return []
        missing = []
        try:
            _derive_plan(stand, students, cluster, missing, capacity=False,  # pylint: disable=protected-access
                         extra_needs=_reset_needs(stand, cluster))
        except StandError:
            return []
        return unlisted_paths(missing, cluster)
    plan, errors = plan_removal(stand_raw, users_raw, cluster)
    if errors:
        return []
    stand, _errors = normalize_stand(stand_raw)
    for student in plan['students']:
        student['machines'] = _owned_machines(stand, student, cluster)
    missing = missing_privileges(_needs(purpose, stand, plan['students'], cluster), cluster)
    return unlisted_paths(missing, cluster)
