#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: pve_guest_info
short_description: One stand VM's power state, NICs and guest addresses, for day-2 jobs over the stands inventory
version_added: 0.1.0
description:
  - Reads one VM through the Proxmox VE API - its config (name, tags, NICs with model, MAC, bridge and link
    state), its status (C(status/current)) and, while it runs, its guest agent's addresses
    (C(agent/network-get-interfaces)) - in two or three calls, so a job over the hosts of the
    C(deploystand.proxmox.stands) inventory plugin costs the
    same per VM whether it runs as one job or sliced (docs/awx.md).
  - With O(stand), refuses a VM that does not carry that stand's tags (C(deploystand) and C(stand-<stand>)), so
    a day-2 job reads only what the stand owns.
  - Read-only, so it runs the same in check mode. Run it on the controller (C(delegate_to=localhost)); the
    inventory host is the guest, the API is PVE's.
extends_documentation_fragment:
  - deploystand.proxmox.auth
  - deploystand.proxmox.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
options:
  vmid:
    description: The VM (the inventory plugin's host variable C(pve_vmid)).
    type: int
    required: true
  node:
    description: Its node (the host variable C(pve_node)).
    type: str
    required: true
  stand:
    description: The stand the VM must belong to (the host variable C(deploystand_stand)); not checked when not given.
    type: str
  address_interface:
    description:
      - Take the VM's address only from guest interfaces of this name, or matching this glob (V(eth0), V(ens*)).
    type: str
  address_networks:
    description: Take only an address inside one of these networks (CIDR).
    type: list
    elements: str
    default: []
  address_family:
    description: The address family of the address taken.
    type: str
    choices: [ipv4, ipv6, any]
    default: ipv4
notes:
  - Needs C(VM.Audit) on the VM, and C(VM.GuestAgent.Audit) (PVE 9; C(VM.Monitor) on PVE 8) for the addresses; a
    refused agent call gives a warning and no address, as a guest without a running agent does.
author:
  - deploystand.proxmox contributors (@deploystand)
'''

EXAMPLES = r'''
- name: Guest facts of every stand VM (hosts of the stands inventory)
  deploystand.proxmox.pve_guest_info:
    vmid: "{{ pve_vmid }}"
    node: "{{ pve_node }}"
    stand: "{{ deploystand_stand }}"
  delegate_to: localhost
  register: guest
'''

RETURN = r'''
guest:
  description: The VM's facts.
  returned: success
  type: dict
  contains:
    vmid:
      description: The VMID.
      type: int
    node:
      description: The node.
      type: str
    name:
      description: The VM name.
      type: str
    status:
      description: PVE's status (V(running), V(stopped), ...).
      type: str
    qmpstatus:
      description: QEMU's own state (V(running), V(paused), V(prelaunch), ...).
      type: str
    tags:
      description: The VM's tags.
      type: list
      elements: str
    nics:
      description: The NICs of the config, in NIC order.
      type: list
      elements: dict
      sample: [{nic: net0, model: virtio, mac: "BC:24:11:00:00:01", bridge: vmbr1000, link_down: false}]
    addresses:
      description: Every address the guest agent reported (empty when it did not answer).
      type: list
      elements: dict
    address:
      description: The address the selection picks, or null.
      type: str
    agent:
      description: C(ok), or why there is no address (the VM is stopped, PVE's message about the agent).
      type: str
'''

from ansible_collections.deploystand.proxmox.plugins.module_utils.ops.guest_info import (
    GuestInfoError, read_guest,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.client import PveApiError
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.module import PveModule
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.names import stand_name_problem
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.info import (
    ADDRESS_FAMILIES, address_problem,
)

ARGSPEC = dict(
    vmid=dict(type='int', required=True),
    node=dict(type='str', required=True),
    stand=dict(type='str'),
    address_interface=dict(type='str'),
    address_networks=dict(type='list', elements='str', default=[]),
    address_family=dict(type='str', default='ipv4', choices=list(ADDRESS_FAMILIES)),
)


def main():
    module = PveModule(argument_spec=ARGSPEC, supports_check_mode=True)
    p = module.params
    problems = [problem for problem in (
        stand_name_problem(p['stand']) if p['stand'] is not None else None,
        address_problem(p['address_interface'], p['address_networks'], p['address_family'])) if problem]
    if problems:
        module.fail_json(msg='; '.join(problems), problems=problems)
    try:
        guest, warnings = read_guest(module.client(), p['vmid'], p['node'], stand=p['stand'],
                                     interface=p['address_interface'], networks=p['address_networks'],
                                     family=p['address_family'])
    except GuestInfoError as exc:
        module.fail_json(msg=str(exc))
    except PveApiError as err:
        module.fail_api(err)
    for line in warnings:
        module.warn(line)
    module.exit_json(changed=False, guest=guest)


if __name__ == '__main__':
    main()
