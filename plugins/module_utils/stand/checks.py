# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validation of the stand against the cluster: nodes, templates, names, users, foreign VMs in the
VMID range. Each problem is a message; nothing raises. Pure: standard library only.
"""
from __future__ import absolute_import, division, print_function

import difflib

from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.facts import (
    _managed_by_deploystand, _node_info, _online_nodes, _templates_named, _vm_by_id, _vms,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.inputs import normalize_stand
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.names import (
    _marker_tokens, parse_marker, pool_id, pool_id_problem, vm_name, vm_name_problem,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.privileges import _caller_lacks

__metaclass__ = type


def _user_label(student):
    if student.get('index') is not None:
        return 'users[%d] (%s)' % (student['index'], student['userid'])
    return 'users (%s)' % student['userid']


def _node_problem(cluster, node):
    info = _node_info(cluster, node)
    known = sorted(cluster.get('nodes') or {})
    if info is None:
        close = difflib.get_close_matches(node, known, n=1, cutoff=0.6)
        hint = " (did you mean '%s'?)" % close[0] if close else ' (nodes: %s)' % ', '.join(known)
        return 'node %r does not exist%s' % (node, hint)
    if not info.get('online'):
        return 'node %r is offline' % node
    return None


def _check_nodes(stand, students, cluster):
    errors = []
    if stand is not None and stand.get('node'):
        problem = _node_problem(cluster, stand['node'])
        if problem:
            errors.append('stand.node: %s' % problem)
    for student in students:
        if student.get('node'):
            problem = _node_problem(cluster, student['node'])
            if problem:
                errors.append('%s.node: %s' % (_user_label(student), problem))
    if not _online_nodes(cluster):
        errors.append('cluster: no node is online')
    return errors


def _check_templates_exist(stand, cluster):
    """Template problems that do not depend on placement."""
    errors = []
    for index, machine in enumerate(stand['machines']):
        field = 'stand.machines[%d]' % index
        if machine.get('template') is not None:
            name = machine['template']
            if not _templates_named(cluster, name):
                vms = [vm for vm in _vms(cluster) if vm.get('name') == name]
                if vms:
                    errors.append('%s.template: %r is VM %s on %s, which is not a template'
                                  % (field, name, vms[0]['vmid'], vms[0].get('node')))
                else:
                    errors.append('%s.template: %s' % (field, _invisible(
                        cluster, 'VM.Audit', '/vms', 'template %r' % name, 'VMs')
                        or 'no template named %r in the cluster' % name))
            continue
        vm = _vm_by_id(cluster, machine.get('template_vmid'))
        if vm is None:
            vmid = machine['template_vmid']
            errors.append('%s.template_vmid: %s' % (field, _invisible(
                cluster, 'VM.Audit', '/vms/%s' % vmid, 'VM %s' % vmid, 'VMs') or 'no VM %s in the cluster' % vmid))
        elif not vm.get('template'):
            errors.append('%s.template_vmid: VM %s (%s) is not a template'
                          % (field, vm['vmid'], vm.get('name')))
        elif machine.get('template_node') and vm.get('node') != machine['template_node']:
            errors.append('%s.template_node: template %s is on node %s, not %s'
                          % (field, vm['vmid'], vm.get('node'), machine['template_node']))
    return errors


def _invisible(cluster, privilege, path, what, things):
    """'<caller> lacks <privilege> on <path>, so it cannot see <what> ...' when that explains why an object
    is missing from PVE's filtered lists; None otherwise."""
    who = _caller_lacks(cluster, privilege, path)
    if who is None:
        return None
    return ('%s lacks %s on %s, so it cannot see %s (PVE lists only the %s the caller may audit; see '
            'docs/permissions.md)' % (who, privilege, path, what, things))


def _check_names(stand, students):
    """Pool ids and VM names derived from user names: valid and distinct."""
    errors = []
    pools = {}
    vm_names = {}
    for student in students:
        label = _user_label(student)
        problem = pool_id_problem(stand['name'], student['userid'])
        if problem:
            errors.append('%s: %s' % (label, problem))
        else:
            pid = pool_id(stand['name'], student['userid'])
            if pid in pools:
                errors.append('%s: gives pool id %r, the same as %s' % (label, pid, pools[pid]))
            pools.setdefault(pid, label)
        clashes = set()
        problems = []
        for machine in stand['machines']:
            problem = vm_name_problem(student['userid'], machine['name'])
            if problem:
                problems.append(problem)
                continue
            name = vm_name(student['userid'], machine['name'])
            other = vm_names.setdefault(name, label)
            if other != label and other not in clashes:
                clashes.add(other)
                errors.append('%s: gives VM name %r, the same as %s (names are lower-cased and '
                              "'_'/'.' become '-')" % (label, name, other))
        if problems:
            # the user name is usually the cause: one message, not one per machine
            more = ' (and %d more VM names)' % (len(problems) - 1) if len(problems) > 1 else ''
            errors.append('%s: %s%s' % (label, problems[0], more))
    return errors


def _pool_owner(stand_name, pool, info):
    """The userid whose student pool of this stand `pool` is (its id is `<stand>-<name>` and its
    comment carries that student's pool marker), or None."""
    for token in _marker_tokens((info or {}).get('comment')):
        marker = parse_marker(token)
        if (marker and marker['stand'] == stand_name and marker['userid'] and not marker['alias']
                and pool == pool_id(stand_name, marker['userid'])):
            return marker['userid']
    return None


def _in_own_pool(stand_name, vm, cluster):
    """The VM is in a student pool of this stand (the pool carries the stand's pool marker): e.g. a
    clone an interrupted run left before it was tagged, which the clone module adopts."""
    pool = vm.get('pool')
    info = (cluster.get('pools') or {}).get(pool) if pool else None
    return info is not None and _pool_owner(stand_name, pool, info) is not None


def _being_cloned(vm):
    # PVE shows a clone in progress as a bare `lock: clone` config (no name, notes, tags or pool):
    # whose it is shows only when the task ends.
    return vm.get('lock') == 'clone'


def clones_in_flight(raw_stand, cluster):
    """VMIDs in the stand's VMID range that are being cloned right now (an interrupted earlier
    run's clones, or another stand's): the plan waits for them to finish so that it can tell."""
    stand, errors = normalize_stand(raw_stand)
    if errors:
        return []
    lo, hi = stand['vmid_range']
    return sorted(int(vm['vmid']) for vm in _vms(cluster) if lo <= int(vm['vmid']) <= hi and _being_cloned(vm))


IN_VMID_RANGE = 'has its VMID in vmid_range'


def _foreign_vms_in_vmid_range(stand, cluster):
    """VMs no deploystand stand manages whose VMIDs are in the range: reported, never touched. The stand
    finds its VMs by pool, name and tag, never by VMID, so new VMs simply take other ids (the plan's
    preferred VMIDs and the clone step skip every id in use). Not listed: VMs of other deploystand stands
    (they share ranges by design), clones in progress (their owner shows when they end) and untagged
    clones in the stand's own pools (an interrupted run's, adopted by the clone step)."""
    lo, hi = stand['vmid_range']
    found = sorted((vm for vm in _vms(cluster)
                    if lo <= int(vm['vmid']) <= hi and not _managed_by_deploystand(vm)
                    and not _being_cloned(vm) and not _in_own_pool(stand['name'], vm, cluster)),
                   key=lambda vm: int(vm['vmid']))
    return ['VM %s (%s) %s [%d, %d] but is not managed by deploystand: its id is skipped, the VM is not touched'
            % (vm['vmid'], vm.get('name'), IN_VMID_RANGE, lo, hi) for vm in found]


def _check_users_exist(students, cluster):
    """Only users of realm pve are created (pve_user_pool): a user of another realm (pam, ldap, ...)
    must exist before the stand, or the deploy would stop at that student after making others' parts."""
    users = cluster.get('users')
    if users is None:
        return []
    return ['%s: user %s does not exist; only users of realm pve are created, so create it in realm %r first '
            '(or check the realm name)' % (_user_label(s), s['userid'], s['realm'])
            for s in students if s['realm'] != 'pve' and s['userid'] not in users]
