# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One stand VM's state as a day-2 job sees it (the logic behind pve_guest_info): PVE's status, the
NICs of its config and, while it runs, the guest agent's addresses - two or three API calls per VM, so
that a job over the inventory plugin's hosts (sliced or not) costs the same per VM.

The VM must carry the stand's tags (stand.py MANAGED_TAG and stand_tag) when a stand is given: a day-2
job reads only what the stand owns. The address selection is stand_info.pick_address's."""
from __future__ import absolute_import, division, print_function

import re

from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.client import NOT_FOUND, PveApiError
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.formats import parse_net, parse_tags
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.names import MANAGED_TAG, stand_tag
from ansible_collections.deploystand.proxmox.plugins.module_utils.ops.stand_reader import AddressReader

__metaclass__ = type

_NET_KEY = re.compile(r'^net(\d+)$')


class GuestInfoError(Exception):
    """The VM cannot be read as asked; the message says why."""


def nics_of(config):
    """[{nic, model, mac, bridge, link_down}] of a VM config's NICs, in NIC order."""
    out = []
    for key in sorted((k for k in config if _NET_KEY.match(k)), key=lambda k: int(_NET_KEY.match(k).group(1))):
        net = parse_net(config[key])
        out.append({'nic': key, 'model': net.get('model'), 'mac': net.get('mac'), 'bridge': net.get('bridge'),
                    'link_down': bool(net.get('link_down'))})
    return out


def read_guest(client, vmid, node, stand=None, interface=None, networks=None, family='ipv4'):
    """The VM's facts: {vmid, node, name, status, qmpstatus, tags, nics, addresses, address, agent}."""
    base = 'nodes/{0}/qemu/{1}'.format(node, vmid)
    try:
        config = client.get(base + '/config')
    except PveApiError as err:
        if err.kind == NOT_FOUND:
            raise GuestInfoError('VM {0} does not exist on node {1} (moved or removed since the inventory was '
                                 'read? refresh it)'.format(vmid, node))
        raise
    tags = parse_tags(config.get('tags'))
    if stand and not (MANAGED_TAG in tags and stand_tag(stand) in tags):
        raise GuestInfoError('VM {0} ({1}) on {2} does not carry the tags {3} and {4}: not a VM of stand {5}, '
                             'not read'.format(vmid, config.get('name'), node, MANAGED_TAG, stand_tag(stand), stand))
    status = client.get(base + '/status/current') or {}
    facts = {'vmid': int(vmid), 'node': node, 'name': config.get('name'), 'status': status.get('status'),
             'qmpstatus': status.get('qmpstatus'), 'tags': tags, 'nics': nics_of(config)}
    reader = AddressReader(client, interface=interface, networks=networks, family=family, workers=1)
    reader.ask(facts)
    return facts, reader.warnings()
