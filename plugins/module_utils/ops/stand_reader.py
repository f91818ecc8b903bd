# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reads the stands of a cluster through the one API client, in a constant number of cluster reads.

`read_stands(client, ...)` makes `/cluster/resources`, `/pools`, `/access/users` and one bridge list
per online node (plus, with `created`, one content list per storage that holds VM disks), hands them
to stand_info.find_stands, and, with `addresses`, asks the guest agent of every running stand VM for
its addresses - at most one call per VM, side by side in a bounded number of threads. The module
pve_stand_info and the inventory plugin deploystand.proxmox.stands both use it (docs/inventory.md).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading

from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.cluster import _pools as read_pools
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.client import PERMISSION, PveApiError
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.info import (
    find_stands, guest_addresses, pick_address, stand_vms,
)

DEFAULT_AGENT_WORKERS = 8
AGENT_PRIVILEGE = 'VM.GuestAgent.Audit'


def _online_nodes(resources):
    return sorted(r['node'] for r in resources if r.get('type') == 'node' and r.get('status') == 'online')


def _image_storages(resources):
    """(node, storage) to list once per storage holding VM disks: a shared storage on one online node
    only, a local one on each online node that has it."""
    online = set(_online_nodes(resources))
    seen_shared, out = set(), []
    for item in sorted(resources, key=lambda r: (str(r.get('storage')), str(r.get('node')))):
        if item.get('type') != 'storage' or item.get('node') not in online:
            continue
        if 'images' not in str(item.get('content') or '').split(',') or item.get('status', 'available') != 'available':
            continue
        if int(item.get('shared') or 0):
            if item['storage'] in seen_shared:
                continue
            seen_shared.add(item['storage'])
        out.append((item['node'], item['storage']))
    return out


def read_volumes(client, resources, warnings):
    """The disk volumes of every storage (for `created`). PVE lists a VM's disks only to whoever holds
    Datastore.Audit on the storage and VM.Config.Disk on the VM (or Datastore.Allocate): without them
    `created` stays unknown, which is said once, not a failure."""
    volumes = []
    for node, storage in _image_storages(resources):
        try:
            volumes.extend(client.get('nodes/{0}/storage/{1}/content'.format(node, storage), content='images'))
        except PveApiError as err:
            if err.kind != PERMISSION:
                raise
            warnings.append('created is unknown for disks on storage {0}: {1}'.format(storage, err.message))
    return volumes


def read_cluster_answers(client, created=False):
    """The answers find_stands works on: (resources, pools, users, bridges, volumes, warnings)."""
    resources = client.get('cluster/resources')
    pools = read_pools(client)
    users = client.get('access/users')
    bridges = dict((node, client.get('nodes/{0}/network'.format(node), type='any_bridge'))
                   for node in _online_nodes(resources))
    warnings = []
    volumes = read_volumes(client, resources, warnings) if created else None
    return resources, pools, users, bridges, volumes, warnings


def _short_reason(err):
    # PveApiError says '<METHOD> /<path> failed: <PVE's text>'; the listing shows PVE's text
    return err.message.split(' failed: ', 1)[-1]


class AddressReader(object):
    """Asks the guest agent of running VMs for their addresses, at most `workers` calls at a time."""

    def __init__(self, client, interface=None, networks=None, family='ipv4', workers=DEFAULT_AGENT_WORKERS):
        self.client = client
        self.selection = dict(interface=interface, networks=networks or [], family=family)
        self.workers = max(1, int(workers or 1))
        self.refused = []
        self._lock = threading.Lock()

    def ask(self, vm):
        """Fills vm['addresses'], vm['address'] and vm['agent'] ('ok', or why there is no address)."""
        vm.update(addresses=[], address=None)
        if vm['status'] != 'running':
            vm['agent'] = 'VM is {0}'.format(vm['status'])
            return
        try:
            answer = self.client.get_once('nodes/{0}/qemu/{1}/agent/network-get-interfaces'.format(
                vm['node'], vm['vmid']))
        except PveApiError as err:
            # no agent configured, not running or not answering: no address, not a failure of the read
            vm['agent'] = _short_reason(err)
            if err.kind == PERMISSION:
                with self._lock:
                    self.refused.append(err.message)
            return
        vm['addresses'] = guest_addresses(answer)
        vm['address'] = pick_address(vm['addresses'], **self.selection)
        vm['agent'] = 'ok'

    def ask_all(self, vms):
        pending = list(vms)
        lock = threading.Lock()

        def work():
            while True:
                with lock:
                    if not pending:
                        return
                    vm = pending.pop(0)
                self.ask(vm)
        threads = [threading.Thread(target=work) for _worker in range(min(self.workers, len(pending)))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def warnings(self):
        if not self.refused:
            return []
        return ['{0} guest agent call(s) were refused, so those VMs have no address; grant {1} on the VMs '
                '(first: {2})'.format(len(self.refused), AGENT_PRIVILEGE, self.refused[0])]


def read_stands(client, stands=None, students=None, created=False, addresses=False, interface=None,
                networks=None, family='ipv4', workers=DEFAULT_AGENT_WORKERS):
    """find_stands of the cluster (docs/inventory.md). With addresses, each VM also has `addresses`
    (every address its agent reports), `address` (the one the selection picks, or None) and `agent`."""
    resources, pools, users, bridges, volumes, warnings = read_cluster_answers(client, created=created)
    found = find_stands(resources, pools, users, bridges, volumes=volumes, stands=stands, students=students)
    found['unseen'] = warnings + found['unseen']
    if addresses:
        reader = AddressReader(client, interface=interface, networks=networks, family=family, workers=workers)
        reader.ask_all(vm for _stand, _student, vm in stand_vms(found))
        found['unseen'] += reader.warnings()
    return found
