# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The status of a stand's students: what each machine is doing and how the cluster differs from
the stand's definition (drift). Pure logic, standard library only, like stand.py and stand_info.py.

`class_status` takes the normalised stand and class (stand.normalize_stand / normalize_users: the
plan's own input rules), what stand_info.find_stands found on the cluster for that stand, the node
bridge lists, and per VM the details the reader fetched (config, snapshot list, guest agent answer)
and returns one entry per student (shape in docs/status.md). The reader that makes the calls is
status_reader.py; the renderers are status_report.py.

Drift is always "the stand says X, the cluster has Y", for four things a teacher must see:
a machine of the stand with no VM (`missing`), a VM in the student's pool that is no machine of the
stand (`extra`: hand-made, another stand's, or a machine the stand no longer has), a NIC on a bridge
that is not the one the stand gives it (`nic`), a machine on another node than the student's
(`node`). The power state is not drift; a machine that is not running while the stand starts its
machines is a `problem` of the card (red), as is any drift.
"""
from __future__ import absolute_import, division, print_function

from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.formats import NET_KEY_RE, parse_net
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.html_page import router_first
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.names import ECOROUTER, vm_name
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.info import iso_time

__metaclass__ = type

NO_ADDRESS = 'no address'


def config_nics(config):
    """{'net0': bridge, ...} of a VM config, in NIC index order (a list of (nic, bridge))."""
    nics = []
    for key in (config or {}):
        match = NET_KEY_RE.match(key)
        if match:
            nics.append((int(match.group(1)), key, parse_net(config[key]).get('bridge')))
    return [(key, bridge) for _index, key, bridge in sorted(nics)]


def snapshots_of(answer):
    """PVE's `GET .../snapshot` list -> [{'name', 'time', 'at', 'vmstate', 'parent', 'description'}],
    oldest first, without PVE's `current` entry (the "You are here!" pseudo snapshot)."""
    out = []
    for snap in answer or []:
        if not isinstance(snap, dict) or snap.get('name') in (None, 'current'):
            continue
        when = int(snap.get('snaptime') or 0) or None
        out.append({'name': snap['name'], 'time': when, 'at': iso_time(when), 'vmstate': bool(snap.get('vmstate')),
                    'parent': snap.get('parent'), 'description': (snap.get('description') or '').strip()})
    out.sort(key=lambda s: (s['time'] or 0, s['name']))
    return out


def expected_nics(stand, machine, student_bridges, real_bridges):
    """[(nic, bridge or None, label)] the stand gives a machine: an EcoRouter's management port net0 on
    the management bridge, then one NIC per network - a real bridge as is, an alias as the student's
    private bridge of that alias (None when the student has none: the bridge itself is missing)."""
    networks = []
    if machine['device_type'] == ECOROUTER:
        networks.append((stand['management_bridge'], None))
    for network in machine['networks']:
        name = network['bridge']
        if name in real_bridges:
            networks.append((name, None))
        else:
            networks.append((student_bridges.get(name), name))
    return [('net{0}'.format(i), bridge, alias) for i, (bridge, alias) in enumerate(networks)]


def _drift(kind, message, machine=None, vmid=None):
    return {'kind': kind, 'machine': machine, 'vmid': vmid, 'message': message}


def _student_node(userid_entry, stand, found_student, vms):
    """The node the student's stand belongs on: the pin (user's, then stand's), else the node of its
    private bridges (bridges are per node, so the VMs must be where they are), else where most of its
    VMs are."""
    if userid_entry.get('node'):
        return userid_entry['node']
    if stand.get('node'):
        return stand['node']
    bridge_nodes = sorted(set(b['node'] for b in (found_student or {}).get('bridges') or []))
    if len(bridge_nodes) == 1:
        return bridge_nodes[0]
    counts = {}
    for vm in vms:
        counts[vm['node']] = counts.get(vm['node'], 0) + 1
    if not counts:
        return bridge_nodes[0] if bridge_nodes else None
    return sorted(counts.items(), key=lambda item: (-item[1], str(item[0])))[0][0]


def _machine_entry(stand, machine, vm, details, student_bridges, real_bridges):
    entry = {'machine': machine['name'], 'device_type': machine['device_type'], 'name': None, 'vmid': None,
             'node': None, 'status': 'missing', 'uptime': 0, 'memory': 0, 'addresses': [], 'address': None,
             'agent': None, 'snapshots': [], 'nics': [], 'lock': None}
    expected = expected_nics(stand, machine, student_bridges, real_bridges)
    if vm is None:
        entry['nics'] = [{'nic': nic, 'bridge': None, 'expected': want, 'alias': alias, 'ok': False}
                         for nic, want, alias in expected]
        return entry
    detail = details.get(vm['vmid']) or {}
    entry.update(name=vm['name'], vmid=vm['vmid'], node=vm['node'], status=vm['status'] or 'unknown',
                 uptime=int(vm.get('uptime') or 0), memory=int(vm.get('maxmem') or 0), lock=vm.get('lock'),
                 snapshots=detail.get('snapshots') or [], agent=detail.get('agent'),
                 addresses=[a for a in detail.get('addresses') or [] if a.get('address')],
                 address=detail.get('address'))
    if 'config' in detail:
        have = dict(config_nics(detail['config']))
        nics = []
        for nic, want, alias in expected:
            bridge = have.pop(nic, None)
            nics.append({'nic': nic, 'bridge': bridge, 'expected': want, 'alias': alias,
                         'ok': bridge is not None and bridge == want})
        for nic, bridge in sorted(have.items(), key=lambda kv: int(kv[0][3:])):
            nics.append({'nic': nic, 'bridge': bridge, 'expected': None, 'alias': None, 'ok': True, 'added': True})
        entry['nics'] = nics
    entry['config_read'] = 'config' in detail
    if detail.get('error'):
        entry['read_error'] = detail['error']
    return entry


def _nic_drift(entry):
    out = []
    for nic in entry['nics']:
        if nic['ok'] or entry['vmid'] is None:
            continue
        want = nic['expected'] or ('the private bridge of {0} (none exists)'.format(nic['alias']) if nic['alias']
                                   else '?')
        have = nic['bridge'] or 'no NIC'
        label = ' ({0})'.format(nic['alias']) if nic['alias'] else ''
        out.append(_drift('nic', '{0} {1} is on {2}, the stand gives it {3}{4}'.format(
            entry['name'], nic['nic'], have, want, label), entry['machine'], entry['vmid']))
    return out


def student_status(stand, student, found_student, look_alikes, details, node_bridges):
    """One student's status entry (docs/status.md)."""
    userid = student['userid']
    found_student = found_student or {}
    vms = sorted(found_student.get('vms') or [], key=lambda v: v['vmid'])
    node = _student_node(student, stand, found_student, vms)
    real_bridges = set(b.get('iface') for b in node_bridges.get(node) or [])
    student_bridges = {}
    for bridge in found_student.get('bridges') or []:
        if bridge['node'] == node or bridge['alias'] not in student_bridges:
            student_bridges[bridge['alias']] = bridge['iface']
    by_name = {}
    for vm in vms:
        by_name.setdefault(vm['name'], []).append(vm)
    drift, problems, machines = [], [], []
    for machine in stand['machines']:
        name = vm_name(userid, machine['name'])
        candidates = by_name.pop(name, [])
        vm = candidates[0] if candidates else None
        entry = _machine_entry(stand, machine, vm, details, student_bridges, real_bridges)
        entry['expected_name'] = name
        machines.append(entry)
        if vm is None:
            where = ('in pool {0}'.format(found_student['pool']) if found_student
                     else '(pool {0} does not exist)'.format(student.get('pool')))
            drift.append(_drift('missing', 'machine {0} has no VM {1} {2}'.format(machine['name'], name, where),
                                machine['name']))
            continue
        for other in candidates[1:]:
            drift.append(_drift('extra', 'VM {0} ({1}) is a second VM of machine {2}'.format(
                other['vmid'], other['name'], machine['name']), machine['name'], other['vmid']))
        if node and vm['node'] != node:
            drift.append(_drift('node', '{0} is on node {1}, the student\'s stand is on {2}'.format(
                name, vm['node'], node), machine['name'], vm['vmid']))
        drift.extend(_nic_drift(entry))
        if stand.get('start', True) and entry['status'] != 'running':
            problems.append('{0} is {1}'.format(name, entry['status']))
        if entry.get('read_error'):
            problems.append('{0}: {1}'.format(name, entry['read_error']))
    extra = []
    for name in sorted(by_name):
        for vm in by_name[name]:
            extra.append({'vmid': vm['vmid'], 'name': vm['name'], 'node': vm['node'], 'status': vm['status'],
                          'why': 'tagged for the stand but no machine of it'})
    for item in look_alikes:
        if item['kind'] == 'vm' and item['userid'] == userid:
            extra.append({'vmid': item['id'], 'name': item.get('name'), 'node': item.get('node'),
                          'status': item.get('status'), 'why': item['why']})
    extra.sort(key=lambda e: int(e['vmid']))
    for item in extra:
        drift.append(_drift('extra', 'VM {0} ({1}) in pool {2} is no machine of the stand'.format(
            item['vmid'], item['name'], found_student.get('pool') or '?'), None, item['vmid']))
    if not found_student:
        problems.insert(0, 'not deployed: no pool {0} of the stand'.format(student.get('pool') or ''))
    for problem in found_student.get('problems') or []:
        if 'holds no VM' not in problem:
            problems.append(problem)
    running = sum(1 for m in machines if m['status'] == 'running')
    return {
        'userid': userid, 'pool': found_student.get('pool') or student.get('pool'), 'node': node,
        'nodes': sorted(set(m['node'] for m in machines if m['node'])),
        'deployed': bool(found_student), 'machines': machines, 'extra_vms': extra,
        'bridges': sorted(found_student.get('bridges') or [], key=lambda b: (b['alias'], b['node'])),
        'memory': sum(m['memory'] for m in machines) + 0, 'running': running,
        'drift': drift, 'problems': problems,
        'ok': not drift and not problems,
    }


def class_status(stand, students, found, details, node_bridges):
    """{'stand', 'students': [student_status...], 'summary'} for the class (in class list order).

    stand / students: normalize_stand / normalize_users output (students may carry `pool`);
    found: find_stands' answer (only this stand is used); details: {vmid: {'config', 'snapshots',
    'addresses', 'address', 'agent', 'error'}}; node_bridges: {node: the node's bridge list}."""
    found_stand = (found.get('stands') or {}).get(stand['name']) or {'students': {}}
    look_alikes = [i for i in found.get('look_alikes') or [] if i['stand'] == stand['name']]
    entries = [student_status(stand, s, found_stand['students'].get(s['userid']), look_alikes, details,
                              node_bridges) for s in students]
    machines = [m for e in entries for m in e['machines']]
    summary = {
        'students': len(entries), 'ok': sum(1 for e in entries if e['ok']),
        'machines': len(machines), 'running': sum(1 for m in machines if m['status'] == 'running'),
        'missing': sum(1 for m in machines if m['status'] == 'missing'),
        'drift': sum(len(e['drift']) for e in entries),
        'drift_by_kind': dict((k, sum(1 for e in entries for d in e['drift'] if d['kind'] == k))
                              for k in ('missing', 'extra', 'nic', 'node')),
    }
    real = set(b.get('iface') for bridges in node_bridges.values() for b in bridges or [])
    return {'stand': stand['name'], 'start': stand.get('start', True), 'students': entries, 'summary': summary,
            'networks': network_plan(stand, real)}


def network_plan(stand, real_bridges=()):
    """The stand's network picture as data, from its definition: the machines (router first) and the
    networks each NIC joins, aliases marked private. [{'machine', 'device_type', 'networks': [{'name',
    'private'}]}] - what html_page.network_svg draws."""
    machines = []
    for machine in stand['machines']:
        nets = []
        if machine['device_type'] == ECOROUTER:
            nets.append({'name': stand['management_bridge'], 'private': False, 'management': True})
        for network in machine['networks']:
            nets.append({'name': network['bridge'], 'private': network['bridge'] not in real_bridges,
                         'management': False})
        machines.append({'machine': machine['name'], 'device_type': machine['device_type'], 'networks': nets})
    return router_first(machines)
