# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reads the cluster facts the stand logic plans with (shape: docs/CONTRACTS.md), in few calls:
one /cluster/resources, one bridge list per online node, the users, the pools, and the config of
the templates the stand names (to know whether their disks are on shared storage)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.deploystand.proxmox.plugins.module_utils.pve_client import NOT_FOUND, PveApiError
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand import parse_tags

_DISK_KEY = re.compile(r'^(ide|sata|scsi|virtio|efidisk|tpmstate)\d+$')


def read_cluster(client, template_names=(), template_vmids=()):
    """Cluster facts. Template configs are read only for the templates named (by name or vmid)."""
    resources = client.get('cluster/resources')
    facts = {'release': '{0}.{1}'.format(*client.release()), 'nodes': {}, 'vms': {}, 'storages': {},
             'bridges': {}, 'template_storages': {}, 'users': {}, 'pools': {}}
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
            facts['template_storages'][vm['vmid']] = disk_storages(
                client.get('nodes/{0}/qemu/{1}/config'.format(vm['node'], vm['vmid'])))
    facts['users'] = dict((u['userid'], {'comment': u.get('comment') or ''}) for u in client.get('access/users'))
    facts['pools'] = dict((p['poolid'], {'comment': p.get('comment') or ''}) for p in _pools(client))
    return facts


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
