# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The removal plan of destroy_stand.yml: what of the stand each student has on the cluster.

Pure: standard library only.
"""
from __future__ import absolute_import, division, print_function

from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.bridges import (
    _bridge_comments, _same_name_elsewhere, _unmarked_bridges,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.checks import (
    _node_problem, _user_label,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.facts import _vm_tags, _vms
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.inputs import (
    _unique, normalize_stand, normalize_users,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.names import (
    ECOROUTER, LINUX, MANAGED_TAG, _marker_tokens, owns, parse_marker, pool_id, pool_marker, stand_tag, user_marker, vm_name,
    vm_name_problem,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.placement import (
    _stand_vms_of, current_node,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.plan_notes import summarize_foreign
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand import sdn as sdnlib

__metaclass__ = type


def _owned_bridges_by_node(stand_name, userids, cluster):
    """{node: [{'userid', 'alias', 'marker', 'iface', 'exists'}]} for bridges whose marker says
    they belong to this stand and one of these students."""
    nodes = {}
    for node in sorted(cluster.get('bridges') or {}):
        for iface, comments in sorted(_bridge_comments(cluster, node).items()):
            for token in _marker_tokens(comments):
                marker = parse_marker(token)
                if (marker and marker['stand'] == stand_name and marker['userid'] in userids
                        and marker['alias']):
                    nodes.setdefault(node, []).append({
                        'userid': marker['userid'], 'alias': marker['alias'], 'marker': token,
                        'iface': iface, 'exists': True})
    return nodes


def _removal_student(stand, student, cluster, foreign, warnings):
    name = stand['name']
    pool = pool_id(name, student['userid'])
    tag = stand_tag(name)
    owned = list(_stand_vms_of(stand, student, cluster))
    pool_info = (cluster.get('pools') or {}).get(pool)
    pool_owned = pool_info is not None and owns(pool_info.get('comment'), pool_marker(name, student['userid']))
    # A VM of a stand machine's name in the pool without the tag may be a clone an interrupted deploy
    # made and never tagged: the removal step removes it only if its notes carry the pending marker.
    names = set(vm_name(student['userid'], m['name']) for m in stand['machines']
                if not vm_name_problem(student['userid'], m['name']))
    own_vms = []
    for vm in _vms(cluster):
        if vm.get('pool') != pool or tag in _vm_tags(vm):
            continue
        if vm.get('name') in names:
            owned.append(vm)
            foreign.append('VM %s (%s) in pool %s has no tag %s; removed only if an interrupted deploy '
                           'of this stand cloned it (its notes say so)' % (vm['vmid'], vm.get('name'), pool, tag))
        elif pool_owned and not _other_stand_vm(vm, name):
            # made by the student in the stand's own pool: part of the lab, gone with it unless kept
            own_vms.append(vm)
        else:
            foreign.append('VM %s (%s) in pool %s has no tag %s; not removed'
                           % (vm['vmid'], vm.get('name'), pool, tag))
    owned.sort(key=lambda vm: int(vm['vmid']))
    own_vms.sort(key=lambda vm: int(vm['vmid']))
    if pool_info is not None and not pool_owned:
        foreign.append('pool %s exists without the stand marker (comment: %r); not removed'
                       % (pool, pool_info.get('comment') or ''))
    for node in sorted(set(vm.get('node') for vm in owned + own_vms)):
        problem = _node_problem(cluster, node)
        if problem:
            warnings.append('%s: VMs on node %s cannot be removed now: %s'
                            % (_user_label(student), node, problem))
    user_info = (cluster.get('users') or {}).get(student['userid'])
    return {
        'userid': student['userid'], 'name': student['name'], 'realm': student['realm'],
        'password': None, 'node': current_node(stand, student, cluster),
        'pool': pool, 'pool_comment': pool_marker(name, student['userid']),
        'pool_exists': pool_info is not None,
        'user_comment': user_marker(name), 'user_exists': user_info is not None,
        'user_owned': bool(user_info is not None and owns(user_info.get('comment'), user_marker(name))),
        'bridges': [],
        'machines': [{'name': vm.get('name'), 'vmid': int(vm['vmid']), 'node': vm.get('node'),
                      'device_type': ECOROUTER if ECOROUTER in _vm_tags(vm) else LINUX}
                     for vm in owned],
        'own_vms': [{'name': vm.get('name'), 'vmid': int(vm['vmid']), 'node': vm.get('node')} for vm in own_vms],
    }


def _other_stand_vm(vm, stand_name):
    """A VM carrying another stand's tag: that stand's, never this one's to remove."""
    return any(t.startswith('stand-') and t != stand_tag(stand_name) for t in _vm_tags(vm))


def plan_removal(stand_raw, users_raw, cluster):
    """What destroy removes for these students -> (plan, errors); plan is None on errors.

    Same shape as build_plan's plan, but built from what the stand owns in the cluster, not from
    the machine list: every VM in the student's pool tagged stand-<stand> (machines since
    removed from the stand too), and every bridge whose marker names the stand and the student.
    Templates, ranges and placement are not checked: a removal needs none of them. Each
    machine carries its own `node` (where the VM is now)."""
    stand, errors = normalize_stand(stand_raw)
    students, user_errors = normalize_users(users_raw)
    errors = errors + user_errors
    if errors:
        return None, _unique(errors)
    foreign, warnings = [], []
    planned = [_removal_student(stand, s, cluster, foreign, warnings) for s in students]
    nodes = _owned_bridges_by_node(stand['name'], set(s['userid'] for s in students), cluster)
    for student in planned:
        student['bridges'] = [{'alias': b['alias'], 'marker': b['marker'], 'iface': b['iface']}
                              for node in sorted(nodes) for b in nodes[node]
                              if b['userid'] == student['userid']]
    plan = {
        'stand': stand['name'], 'tags': [MANAGED_TAG, stand_tag(stand['name'])],
        'role': stand['role'], 'start': stand['start'],
        'vmid_range': list(stand['vmid_range']), 'bridge_range': list(stand['bridge_range']),
        'management_bridge': stand['management_bridge'],
        'students': planned, 'nodes': nodes,
        'sdn': sdnlib.plan_sdn_removal(stand, set(s['userid'] for s in students), cluster),
        'foreign': _unique(foreign + _same_name_elsewhere(stand, students, cluster)
                           + _unmarked_bridges(stand, sorted(cluster.get('bridges') or {}), cluster)),
        'warnings': warnings,
    }
    plan['foreign_summary'] = summarize_foreign(stand['name'], plan['foreign'], cluster)
    return plan, []
