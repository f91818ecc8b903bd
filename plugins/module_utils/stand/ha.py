# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`stand.ha` / `machines[].ha` (issue 17): which stand VMs become HA resources, and the refusal of machines
whose disks are on local storage (they cannot fail over: pve-ha-manager recovers a VM on another node, which
needs its disks there). Pure logic, no HTTP; pve_stand_ha does the API part."""
from __future__ import absolute_import, division, print_function

import re

from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.facts import _template_storages
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.inputs import _bool_field
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.names import pool_marker, user_marker

__metaclass__ = type

# pve-ha-manager Tools.pm: rule and group ids are `pve-configid` (pve-common JSONSchema.pm CONFIGID_RE
# [a-z][a-z0-9_-]+, case-insensitive, no length limit); HA node names are [a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?
# (pve_verify_ha_node). Stand names have no '_' and HA node names neither, so '_' separates them unambiguously.
PLACEMENT_PREFIX = 'deploystand_'
HA_NODE_RE = re.compile(r'^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$')


def normalize_ha(raw, stand, errors):
    """stand['ha'] and each machine's 'ha' (None: the stand's value) from the raw input."""
    stand['ha'] = _bool_field('stand', raw, 'ha', False, errors)
    raw_machines = raw.get('machines') if isinstance(raw.get('machines'), list) else []
    for index, machine in enumerate(stand.get('machines') or []):
        source = raw_machines[index] if index < len(raw_machines) and isinstance(raw_machines[index], dict) else {}
        if machine is not None:
            machine['ha'] = _bool_field('stand.machines[%d]' % index, source, 'ha', None, errors)


def machine_ha(stand, machine):
    value = machine.get('ha')
    return stand.get('ha', False) if value is None else value


def ha_marker(stand_name, userid):
    """The comment of the stand's HA resources: its pool marker (deploystand:<stand>:<userid>)."""
    return pool_marker(stand_name, userid)


def placement_id(stand_name, node):
    """The id of the stand's node-affinity rule (PVE 9) or HA group (PVE 8) for `node`: deploystand_<stand>_<node>."""
    return '%s%s_%s' % (PLACEMENT_PREFIX, stand_name, node)


def placement_node(stand_name, placement):
    """The node a placement id of this stand names, or None when the id is not one of this stand's."""
    prefix = '%s%s_' % (PLACEMENT_PREFIX, stand_name)
    if not str(placement).startswith(prefix):
        return None
    node = str(placement)[len(prefix):]
    return node if HA_NODE_RE.match(node) else None


def placement_marker(stand_name):
    """The token a placement's comment carries: the stand marker deploystand:<stand> (no student: a
    placement is shared by every student of the stand on that node)."""
    return user_marker(stand_name)


def placement_comment(stand_name, node):
    return '%s HA placement of stand %s on %s' % (placement_marker(stand_name), stand_name, node)


def ha_node_problem(node):
    """Why `node` cannot be named in an HA node list (pve_verify_ha_node), or None."""
    if node is None or HA_NODE_RE.match(str(node)):
        return None
    return 'node %r is not a valid HA node name (letters, digits and -)' % (node,)


def parse_node_list(text):
    """PVE's `nodes` value ('pve1:2,pve2') -> {node: priority}; a node without priority has 0 (Tools.pm
    parse_node_priority)."""
    out = {}
    for entry in str(text or '').replace(';', ',').split(','):
        entry = entry.strip()
        if not entry:
            continue
        node, _sep, priority = entry.partition(':')
        out[node] = int(priority) if priority.isdigit() else 0
    return out


def split_resources(value):
    """A rule's `resources` ('vm:1,vm:2' as GET returns it, or a list) -> sorted list of sids."""
    if isinstance(value, (list, tuple)):
        items = value
    else:
        items = str(value or '').split(',')
    return sorted(set(str(i).strip() for i in items if str(i).strip()))


def _local_storages(planned_machine, cluster):
    if planned_machine['full'] and planned_machine.get('storage'):
        storages = [planned_machine['storage']]
    elif planned_machine.get('template_vmid') is not None:
        storages = _template_storages(cluster, planned_machine['template_vmid']) or []
    else:
        return []
    node = planned_machine.get('node') or planned_machine.get('template_node')
    out = []
    for storage in storages:
        nodes = [n for n, items in (cluster.get('storages') or {}).items() if storage in (items or {})]
        info = ((cluster.get('storages') or {}).get(node) or {}).get(storage) \
            or (((cluster.get('storages') or {}).get(nodes[0]) or {}).get(storage) if nodes else None) or {}
        if not info.get('shared'):
            out.append(storage)
    return out


def plan_ha(stand, planned, cluster, errors):
    """{'machines': [{userid, pool, name, marker, node}], 'release': 'x.y'} of the VMs to register, or None when no
    machine asks for HA. A machine on local storage is an error, once per machine (not per student)."""
    by_name = dict((m['name'], m) for m in stand['machines'])
    wanted = [m['name'] for m in stand['machines'] if machine_ha(stand, m)]
    if not wanted:
        return None
    out, reported = [], set()
    for student in planned:
        for pm in student['machines']:
            if pm['machine'] not in wanted:
                continue
            local = _local_storages(pm, cluster)
            if local and pm['machine'] not in reported:
                reported.add(pm['machine'])
                index = stand['machines'].index(by_name[pm['machine']])
                errors.append("stand.machines[%d].ha: machine %s has disks on local storage %s: an HA resource "
                              "cannot fail over to another node; use a full clone to shared storage (storage) "
                              "or a template on shared storage, or ha: false"
                              % (index, pm['machine'], ', '.join(sorted(set(local)))))
            node = pm.get('node') or student.get('node')
            problem = ha_node_problem(node)
            if problem and pm['machine'] not in reported:
                reported.add(pm['machine'])
                index = stand['machines'].index(by_name[pm['machine']])
                errors.append('stand.machines[%d].ha: %s' % (index, problem))
            out.append({'userid': student['userid'], 'pool': student['pool'], 'name': pm['name'],
                        'marker': ha_marker(stand['name'], student['userid']),
                        # the placement's node: the VM fails over and comes back here (a node-affinity rule or group)
                        'node': node})
    return {'machines': out, 'release': cluster.get('release')}
