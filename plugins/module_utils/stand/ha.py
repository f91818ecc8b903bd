# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`stand.ha` / `machines[].ha` (issue 17): which stand VMs become HA resources, and the refusal of machines
whose disks are on local storage (they cannot fail over: pve-ha-manager recovers a VM on another node, which
needs its disks there). Pure logic, no HTTP; pve_stand_ha does the API part."""
from __future__ import absolute_import, division, print_function

from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.facts import _template_storages
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.inputs import _bool_field
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.names import pool_marker

__metaclass__ = type


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
    """{'machines': [{userid, pool, name, marker}], 'release': 'x.y'} of the VMs to register, or None when no
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
            out.append({'userid': student['userid'], 'pool': student['pool'], 'name': pm['name'],
                        'marker': ha_marker(stand['name'], student['userid'])})
    return {'machines': out, 'release': cluster.get('release')}
