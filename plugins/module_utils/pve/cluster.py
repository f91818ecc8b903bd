# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reads the cluster facts the stand logic plans with (shape: docs/CONTRACTS.md), in few calls:
one /cluster/resources, one bridge list per online node, the users, the pools, the ACL entries
it can see (bridge grants: a new bridge never takes a name somebody holds a grant on; and the privilege
preflight), the config of the templates the stand names (to know whether their disks are on shared
storage, and which bridges their NICs use), and - for any caller but root@pam - the caller's
permissions (docs/permissions.md)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.client import NOT_FOUND, PERMISSION, VERSION, PveApiError
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.formats import NET_KEY_RE, parse_net, parse_tags

_DISK_KEY = re.compile(r'^(ide|sata|scsi|virtio|efidisk|tpmstate)\d+$')
ROOT = 'root@pam'       # PVE's permission checks let exactly this user do everything


def read_cluster(client, template_names=(), template_vmids=()):
    """Cluster facts. Template configs are read only for the templates named (by name or vmid)."""
    resources = client.get('cluster/resources')
    facts = {'release': '{0}.{1}'.format(*client.release()), 'nodes': {}, 'vms': {}, 'storages': {},
             'bridges': {}, 'template_storages': {}, 'template_bridges': {}, 'users': {}, 'pools': {}}
    for item in resources:
        kind = item.get('type')
        if kind == 'node':
            facts['nodes'][item['node']] = {'online': item.get('status') == 'online',
                                            'maxmem': int(item.get('maxmem') or 0), 'mem': int(item.get('mem') or 0)}
        elif kind == 'qemu':
            facts['vms'][int(item['vmid'])] = {
                'vmid': int(item['vmid']), 'name': item.get('name'), 'node': item.get('node'),
                'pool': item.get('pool'), 'tags': parse_tags(item.get('tags')),
                'template': bool(int(item.get('template') or 0)), 'status': item.get('status'),
                'maxmem': int(item.get('maxmem') or 0), 'lock': item.get('lock') or None}
        elif kind == 'storage':
            facts['storages'].setdefault(item['node'], {})[item['storage']] = storage_facts(item)
    for node, state in sorted(facts['nodes'].items()):
        if state['online']:
            facts['bridges'][node] = dict(
                (b['iface'], {'comments': (b.get('comments') or '').strip(), 'active': bool(b.get('active'))})
                for b in client.get('nodes/{0}/network'.format(node), type='any_bridge'))
    wanted_names, wanted_ids = set(template_names), set(int(v) for v in template_vmids)
    for vm in facts['vms'].values():
        # a template on an offline node cannot be read (nor cloned): its disk list stays unknown
        online = facts['nodes'].get(vm['node'], {}).get('online')
        if vm['template'] and online and (vm['name'] in wanted_names or vm['vmid'] in wanted_ids):
            config = client.get('nodes/{0}/qemu/{1}/config'.format(vm['node'], vm['vmid']))
            facts['template_storages'][vm['vmid']] = disk_storages(config)
            facts['template_bridges'][vm['vmid']] = nic_bridges(config)
    facts['users'] = dict((u['userid'], {'comment': u.get('comment') or ''}) for u in client.get('access/users'))
    facts['pools'] = dict((p['poolid'], {'comment': p.get('comment') or ''}) for p in _pools(client))
    acl = client.get('access/acl') or []
    facts['bridge_acl'] = bridge_acl(acl)
    facts.update(read_permissions(client, acl))
    facts['sdn'] = read_sdn(client)          # None: no SDN API on this cluster (stand.network mode sdn refused)
    return facts


def bridge_acl(acl):
    """The ACL entries on bridges (/sdn/zones/localnetwork/...): a bridge name is one path on every
    node, so a new bridge must never take a name somebody already holds a grant on. (GET /access/acl
    lists the entries on paths where the caller may modify permissions: ACL.pm read_acl.)"""
    prefix = '/sdn/zones/localnetwork/'
    return [dict((k, e.get(k)) for k in ('path', 'type', 'ugid', 'roleid', 'propagate'))
            for e in acl if str(e.get('path') or '').startswith(prefix)]


def read_permissions(client, acl):
    """{'identity', 'permissions', 'acl'}: the caller's GET /access/permissions dump ({path: {priv:
    propagate}}) and the ACL entries it can see, or None for both when the caller is root@pam (PVE
    checks no privilege of it, so there is nothing to preflight)."""
    if client.identity == ROOT:
        return {'identity': ROOT, 'permissions': None, 'acl': None}
    acl = [dict((k, e.get(k)) for k in ('path', 'type', 'ugid', 'roleid')) for e in acl]
    return {'identity': client.identity, 'permissions': client.get('access/permissions') or {}, 'acl': acl}


def exact_permissions(client, paths):
    """{path: {priv: propagate}} of each path as PVE computes it for the caller (one call a path)."""
    found = {}
    for path in paths:
        found.update(client.get('access/permissions', path=path) or {path: {}})
    return found


def storage_facts(item):
    """A /cluster/resources storage entry (one per node the storage is enabled on; pve-manager
    API2/Cluster.pm, API2Tools.pm extract_storage_stats) -> {shared, content, status, plugintype}."""
    return {'shared': bool(int(item.get('shared') or 0)),
            'content': sorted(c for c in str(item.get('content') or '').split(',') if c),
            'status': item.get('status'), 'plugintype': item.get('plugintype')}


def _pools(client):
    try:
        return client.get('pools')
    except PveApiError as err:
        if err.kind == NOT_FOUND:
            return []
        raise


def nic_bridges(config):
    """The bridges a VM config's NICs are on (PVE checks SDN.Use on each when the VM is cloned)."""
    found = []
    for key, value in sorted(config.items()):
        bridge = parse_net(value).get('bridge') if NET_KEY_RE.match(key) else None
        if bridge and bridge not in found:
            found.append(bridge)
    return found


def disk_storages(config):
    """The storage ids a VM config's disks live on (CD-ROMs and pass-through paths left out)."""
    found = []
    for key, value in sorted(config.items()):
        if not _DISK_KEY.match(key):
            continue
        volume = str(value).split(',', 1)[0]
        if 'media=cdrom' in str(value) or ':' not in volume or volume.startswith('/'):
            continue
        storage = volume.split(':', 1)[0]
        if storage not in found:
            found.append(storage)
    return found


def _merged(entry):
    """An object of a pending=1 listing as it will be after the apply, or None when it is being deleted."""
    if entry.get('state') == 'deleted':
        return None
    out = dict((k, v) for k, v in entry.items() if k not in ('pending', 'state', 'digest'))
    for key, value in (entry.get('pending') or {}).items():
        if value == 'deleted':
            out.pop(key, None)
        else:
            out[key] = value
    if out.get('tag') is not None:
        try:
            out['tag'] = int(out['tag'])
        except (TypeError, ValueError):
            pass
    return out


def read_sdn(client):
    """{'zones': {id: {...}}, 'vnets': {id: {...}}, 'pending': {'zones': {id: state}, 'vnets': {id: state}}}
    as the written config will be after an apply; None when the cluster has no SDN API."""
    try:
        zones = client.get('cluster/sdn/zones', pending=1) or []
        vnets = client.get('cluster/sdn/vnets', pending=1) or []
    except PveApiError as err:
        if err.kind in (VERSION, NOT_FOUND):
            return None
        if err.kind == PERMISSION:
            return {'zones': {}, 'vnets': {}, 'pending': {'zones': {}, 'vnets': {}}}
        raise
    facts = {'zones': {}, 'vnets': {}, 'pending': {'zones': {}, 'vnets': {}}}
    for kind, items, key in (('zones', zones, 'zone'), ('vnets', vnets, 'vnet')):
        for entry in items:
            oid = entry.get(key)
            if not oid:
                continue
            if entry.get('state'):
                facts['pending'][kind][oid] = {'state': entry['state'],
                                               'alias': (entry.get('pending') or {}).get('alias', entry.get('alias')),
                                               'zone': (entry.get('pending') or {}).get('zone', entry.get('zone'))}
            merged = _merged(entry)
            if merged is not None:
                facts[kind][oid] = merged
    return facts
