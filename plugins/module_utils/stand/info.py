# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which stands exist on a cluster, found from their markers only (no local state).

Pure logic, standard library only, like stand.py: `find_stands` turns PVE's own answers
(`/cluster/resources`, `/pools`, `/access/users`, each node's bridge list, optionally the storage
content lists) into stands, students, VMs and bridges, plus the look-alikes - objects that carry a
stand's marker but whose stand is incomplete there (half-destroyed). The guest-agent helpers pick
the address of a VM from PVE's `agent/network-get-interfaces` answer. The reader that makes the
calls is stand_reader.py; the shapes are in docs/inventory.md.

Every marker is read with stand.py's helpers (`parse_marker`, `owns`, `pool_id`, `stand_tag`,
`MANAGED_TAG`): no second copy of a marker rule.
"""
from __future__ import absolute_import, division, print_function

import fnmatch
import ipaddress
import time

from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.formats import parse_tags
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.names import (
    MANAGED_TAG, bridge_marker, dns_user_part, owns, parse_marker, pool_id, pool_marker, split_userid,
    stand_name_problem, stand_tag, user_marker,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand import expiry as expirylib

__metaclass__ = type

ADDRESS_FAMILIES = ('ipv4', 'ipv6', 'any')
LOOPBACK_INTERFACES = ('lo', 'lo0', 'Loopback Pseudo-Interface 1')


# ---------------------------------------------------------------------------------------------
# Small readers of PVE's answers
# ---------------------------------------------------------------------------------------------

def iso_time(epoch):
    """'2026-11-24T10:00:00Z' for a UNIX time, None for none (0 or missing, as PVE writes 'never')."""
    if not epoch:
        return None
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(int(epoch)))


def _int(value, default=0):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _stand_names_in_tags(tags):
    """The stands whose tag `stand-<name>` a VM carries (names that are valid stand names only)."""
    prefix = stand_tag('')
    return sorted(t[len(prefix):] for t in tags
                  if t.startswith(prefix) and stand_name_problem(t[len(prefix):]) is None)


def machine_of(vm_name, userid):
    """The stand machine a VM name stands for: 'student1-router' of student1@pve -> 'router'
    (VM names are `<user part>-<machine>`, stand.vm_name); None when the name does not fit."""
    prefix = dns_user_part(userid) + '-'
    if vm_name and vm_name.startswith(prefix) and len(vm_name) > len(prefix):
        return vm_name[len(prefix):]
    return None


def _pool_anchor(poolid, comment):
    """(stand, userid) when the pool is a student pool of a stand: its comment owns the pool marker
    of a stand and student whose pool id is this pool's id."""
    marker = parse_marker(comment)
    if not marker or not marker['userid'] or marker['alias']:
        return None
    stand, userid = marker['stand'], marker['userid']
    if poolid != pool_id(stand, userid) or not owns(comment, pool_marker(stand, userid)):
        return None
    return stand, userid


def _vm_entry(item, userid, created):
    vmid = int(item['vmid'])
    return {
        'vmid': vmid, 'name': item.get('name'), 'machine': machine_of(item.get('name'), userid) if userid else None,
        'node': item.get('node'), 'pool': item.get('pool'), 'status': item.get('status'),
        'maxmem': _int(item.get('maxmem')), 'uptime': _int(item.get('uptime')),
        'tags': parse_tags(item.get('tags')), 'lock': item.get('lock') or None,
        'created': created.get(vmid), 'created_at': iso_time(created.get(vmid)),
    }


def volume_ctimes(volumes):
    """{vmid: earliest ctime} of disk volumes (storage content entries with `vmid` and `ctime`):
    when PVE made a VM's own disks, i.e. when the clone was made (a clone copies the template's
    `meta` ctime, so the VM config cannot tell)."""
    out = {}
    for volume in volumes or []:
        vmid, ctime = _int(volume.get('vmid'), None), _int(volume.get('ctime'))
        if vmid is None or ctime <= 0:
            continue
        out[vmid] = min(ctime, out.get(vmid, ctime))
    return out


# ---------------------------------------------------------------------------------------------
# find_stands
# ---------------------------------------------------------------------------------------------

def _new_student(stand, userid, poolid):
    return {'userid': userid, 'pool': poolid,
            'user': {'exists': False, 'owned': False, 'comment': None, 'enable': None, 'expire': None,
                     'expire_at': None},
            'vms': [], 'bridges': [], 'nodes': [], 'memory': 0, 'created': None, 'created_at': None,
            'problems': []}


def _look_alike(kind, ident, stand, userid, why, node=None):
    return {'kind': kind, 'id': ident, 'stand': stand, 'userid': userid, 'node': node, 'why': why}


class _Finder(object):
    """One pass over the answers: anchors first (the marked student pools), then what hangs on them."""

    def __init__(self, resources, pools, users, bridges, volumes):
        self.resources = [r for r in resources or [] if isinstance(r, dict)]
        self.pools = pools or []
        self.users = users or []
        self.bridges = bridges or {}
        self.created = volume_ctimes(volumes)
        self.students = {}      # (stand, userid) -> student entry
        self.pool_owner = {}    # poolid -> (stand, userid)
        self.look_alikes = []
        self.warnings = []

    def run(self):
        self._anchor_pools()
        self._attach_users()
        self._attach_vms()
        self._attach_bridges()
        self._warn_offline_nodes()
        return self

    def _anchor_pools(self):
        for pool in sorted(self.pools, key=lambda p: str(p.get('poolid'))):
            poolid, comment = pool.get('poolid'), pool.get('comment') or ''
            anchor = _pool_anchor(poolid, comment)
            if anchor:
                self.students[anchor] = _new_student(anchor[0], anchor[1], poolid)
                # the stand's first deploy and end, as its pool comment records them (expiry.py)
                expires = expirylib.expires_of(comment)
                self.students[anchor].update(since=expirylib.since_of(comment), expires=expires,
                                             expires_at=expirylib.stamp(expires))
                self.pool_owner[poolid] = anchor
                continue
            marker = parse_marker(comment)
            if marker and marker['userid'] and not marker['alias']:
                self.look_alikes.append(_look_alike(
                    'pool', poolid, marker['stand'], marker['userid'],
                    'carries the pool marker of {0} in stand {1}, whose pool would be {2}'.format(
                        marker['userid'], marker['stand'], pool_id(marker['stand'], marker['userid']))))

    def _attach_users(self):
        by_id = dict((u.get('userid'), u) for u in self.users if u.get('userid'))
        for (stand, userid), student in self.students.items():
            user = by_id.get(userid)
            if user is None:
                student['problems'].append('user {0} does not exist'.format(userid))
                continue
            expire = _int(user.get('expire')) or None
            student['user'] = {'exists': True, 'owned': owns(user.get('comment'), user_marker(stand)),
                               'comment': user.get('comment') or '', 'enable': bool(_int(user.get('enable'), 1)),
                               'expire': expire, 'expire_at': iso_time(expire)}
        for userid, user in sorted(by_id.items()):
            marker = parse_marker(user.get('comment'))
            if not marker or marker['userid'] or not owns(user.get('comment'), user_marker(marker['stand'])):
                continue
            if (marker['stand'], userid) not in self.students:
                self.look_alikes.append(_look_alike(
                    'user', userid, marker['stand'], userid,
                    'carries the user marker of stand {0} but its pool {1} does not exist'.format(
                        marker['stand'], pool_id(marker['stand'], userid))))

    def _attach_vms(self):
        clones = 0
        for item in sorted(self.resources, key=lambda r: _int(r.get('vmid'))):
            if item.get('type') != 'qemu' or _int(item.get('template')):
                continue
            tags = parse_tags(item.get('tags'))
            owner = self.pool_owner.get(item.get('pool'))
            if owner is not None:
                self._vm_in_student_pool(item, tags, owner)
            elif MANAGED_TAG in tags:
                for stand in _stand_names_in_tags(tags):
                    self.look_alikes.append(_look_alike(
                        'vm', int(item['vmid']), stand, None,
                        '{0} carries the tags of stand {1} but is {2}'.format(
                            item.get('name'), stand, 'in pool {0}, not a pool of that stand'.format(item['pool'])
                            if item.get('pool') else 'in no pool'), node=item.get('node')))
            elif item.get('lock') == 'clone' and not item.get('pool'):
                clones += 1
        if clones:
            # PVE shows a VM being cloned as a bare `lock: clone` (no name, tags or pool) until the task ends.
            self.warnings.append('{0} VM(s) being cloned right now cannot be told apart yet and are not '
                                 'listed'.format(clones))

    def _vm_in_student_pool(self, item, tags, owner):
        stand, userid = owner
        student = self.students[owner]
        if MANAGED_TAG in tags and stand_tag(stand) in tags:
            vm = _vm_entry(item, userid, self.created)
            student['vms'].append(vm)
            student['memory'] += vm['maxmem']
            if vm['node'] not in student['nodes']:
                student['nodes'].append(vm['node'])
            if vm['created'] and (student['created'] is None or vm['created'] < student['created']):
                student['created'], student['created_at'] = vm['created'], vm['created_at']
            return
        self.look_alikes.append(_look_alike(
            'vm', int(item['vmid']), stand, userid,
            '{0} is in pool {1} without the tags {2} and {3}'.format(
                item.get('name'), item.get('pool'), MANAGED_TAG, stand_tag(stand)), node=item.get('node')))

    def _attach_bridges(self):
        for node in sorted(self.bridges):
            for bridge in sorted(self.bridges[node] or [], key=lambda b: str(b.get('iface'))):
                comments = bridge.get('comments') or ''
                marker = parse_marker(comments)
                if not marker or not marker['alias'] or not owns(
                        comments, bridge_marker(marker['stand'], marker['userid'], marker['alias'])):
                    continue
                key = (marker['stand'], marker['userid'])
                entry = {'node': node, 'iface': bridge.get('iface'), 'alias': marker['alias'],
                         'active': bool(_int(bridge.get('active'), 1))}
                if key in self.students:
                    self.students[key]['bridges'].append(entry)
                else:
                    self.look_alikes.append(_look_alike(
                        'bridge', bridge.get('iface'), marker['stand'], marker['userid'],
                        'private bridge {0} of {1} in stand {2}, whose pool {3} does not exist'.format(
                            marker['alias'], marker['userid'], marker['stand'],
                            pool_id(marker['stand'], marker['userid'])), node=node))

    def _warn_offline_nodes(self):
        for item in sorted(self.resources, key=lambda r: str(r.get('node'))):
            if item.get('type') == 'node' and item.get('status') != 'online':
                self.warnings.append('node {0} is {1}: its VMs show status unknown and its bridges are not '
                                     'listed'.format(item.get('node'), item.get('status') or 'not online'))


def _finish_student(student):
    if not student['vms']:
        student['problems'].append('pool {0} holds no VM of the stand'.format(student['pool']))
    student['complete'] = not student['problems']
    return student


def _stand_entry(name, students):
    vms = [vm for s in students.values() for vm in s['vms']]
    created = [s['created'] for s in students.values() if s['created']]
    since = [s['since'] for s in students.values() if s.get('since')]
    # the stand ends when its last student does; a student pool without an end means the stand has none
    ends = [s.get('expires') for s in students.values()]
    expires = max(ends) if ends and all(ends) else None
    nodes = sorted(set(vm['node'] for vm in vms if vm['node']))
    return {'stand': name, 'students': students, 'nodes': nodes,
            'memory': sum(s['memory'] for s in students.values()), 'vm_count': len(vms),
            'running': sum(1 for vm in vms if vm['status'] == 'running'),
            'bridge_count': sum(len(s['bridges']) for s in students.values()),
            'created': min(created) if created else None, 'created_at': iso_time(min(created)) if created else None,
            'since': min(since) if since else None, 'expires': expires, 'expires_at': expirylib.stamp(expires),
            'complete': all(s['complete'] for s in students.values())}


def _wanted(value, allowed):
    return not allowed or value in allowed


def find_stands(resources, pools, users, bridges, volumes=None, stands=None, students=None):
    """Every stand on the cluster, from PVE's answers:

    resources: `/cluster/resources`; pools: `/pools`; users: `/access/users`; bridges: {node: the node's
    `network?type=any_bridge` list} for the nodes that answered; volumes: the storage content entries
    (for `created`), or None. stands / students: keep only these names / userids (empty: all).

    A student of a stand is anchored by its pool: id `<stand>-<name>` whose comment owns the pool marker.
    Its VMs are the pool's VMs tagged `deploystand` and `stand-<stand>`; its bridges carry its bridge
    markers; its user is the PVE user (owned when it carries the user marker). Anything else that
    carries a stand's marker is a look-alike. Returns {'stands': {name: stand}, 'look_alikes': [...],
    'unseen': [...]} (docs/inventory.md)."""
    finder = _Finder(resources, pools, users, bridges, volumes).run()
    stands, students = set(stands or ()), set(students or ())
    by_stand = {}
    for (stand, userid), student in sorted(finder.students.items()):
        if _wanted(stand, stands) and _wanted(userid, students):
            by_stand.setdefault(stand, {})[userid] = _finish_student(student)
    look_alikes = [item for item in finder.look_alikes
                   if _wanted(item['stand'], stands) and (not students or item['userid'] in students)]
    look_alikes.sort(key=lambda i: (i['stand'], i['userid'] or '', i['kind'], str(i['id'])))
    return {'stands': dict((name, _stand_entry(name, s)) for name, s in by_stand.items()),
            'look_alikes': look_alikes, 'unseen': finder.warnings}


def stand_vms(found):
    """(stand, student, vm) for every VM of every stand found, in stand, student, VMID order."""
    out = []
    for name in sorted(found['stands']):
        stand = found['stands'][name]
        for userid in sorted(stand['students']):
            student = stand['students'][userid]
            out.extend((stand, student, vm) for vm in sorted(student['vms'], key=lambda v: v['vmid']))
    return out


# ---------------------------------------------------------------------------------------------
# Guest agent addresses
# ---------------------------------------------------------------------------------------------

def guest_addresses(answer):
    """The addresses of PVE's `agent/network-get-interfaces` answer ({'result': [{'name',
    'hardware-address', 'ip-addresses': [{'ip-address', 'ip-address-type', 'prefix'}]}]}), in the
    agent's order: [{'interface', 'mac', 'address', 'prefix', 'family'}]."""
    interfaces = answer.get('result') if isinstance(answer, dict) else answer
    out = []
    for interface in interfaces if isinstance(interfaces, list) else []:
        if not isinstance(interface, dict):
            continue
        for ip in interface.get('ip-addresses') or []:
            if not isinstance(ip, dict) or not ip.get('ip-address'):
                continue
            out.append({'interface': interface.get('name'), 'mac': interface.get('hardware-address'),
                        'address': ip['ip-address'], 'prefix': ip.get('prefix'),
                        'family': ip.get('ip-address-type')})
    return out


def address_problem(interface=None, networks=None, family='ipv4'):
    """Why an address selection cannot be used, or None (bad CIDR, unknown family)."""
    if family not in ADDRESS_FAMILIES:
        return 'address_family must be one of {0}, got {1!r}'.format(', '.join(ADDRESS_FAMILIES), family)
    for network in networks or []:
        try:
            ipaddress.ip_network(str(network), strict=False)
        except ValueError as exc:
            return 'address_networks: {0!r} is not a network ({1})'.format(network, exc)
    return None


def filter_problems(stands=None, students=None, networks=None, family='ipv4', workers=1):
    """Every problem of a listing's selection (stand names, userids, address selection, worker count),
    each naming its option, before anything is read."""
    problems = []
    for index, name in enumerate(stands or []):
        if stand_name_problem(name):
            problems.append(stand_name_problem(name).replace('stand:', 'stands[{0}]:'.format(index), 1))
    for index, userid in enumerate(students or []):
        if not isinstance(userid, str) or not split_userid(userid)[1]:
            problems.append('students[{0}]: {1!r} is not a PVE userid (name@realm, e.g. student1@pve)'.format(
                index, userid))
    if address_problem(networks=networks, family=family):
        problems.append(address_problem(networks=networks, family=family))
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        problems.append('agent_workers must be a whole number of at least 1, got {0!r}'.format(workers))
    return problems


def _usable(address):
    try:
        ip = ipaddress.ip_address(str(address).split('%', 1)[0])
    except ValueError:
        return None
    if ip.is_loopback or ip.is_link_local or ip.is_unspecified or ip.is_multicast:
        return None
    return ip


def pick_address(addresses, interface=None, networks=None, family='ipv4'):
    """The first address of the agent's list that is not loopback, link-local or multicast and that
    matches the selection: interface (a guest interface name or glob, 'eth*'), networks (CIDRs; the
    address must be in one of them), family (ipv4, ipv6, any). None when no address matches."""
    wanted = [ipaddress.ip_network(str(n), strict=False) for n in networks or []]
    for entry in addresses:
        if entry['interface'] in LOOPBACK_INTERFACES:
            continue
        if interface and not fnmatch.fnmatchcase(str(entry['interface']), interface):
            continue
        ip = _usable(entry['address'])
        if ip is None or (family != 'any' and 'ipv{0}'.format(ip.version) != family):
            continue
        if wanted and not any(ip.version == n.version and ip in n for n in wanted):
            continue
        return str(ip)
    return None
