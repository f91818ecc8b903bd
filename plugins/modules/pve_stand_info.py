#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: pve_stand_info
short_description: List the stands on a Proxmox VE cluster, found from their markers only
version_added: 0.1.0
description:
  - Finds every stand on the cluster from the markers its objects carry (docs/stand-model.md), with no local
    state - the students, their pools, users (with PVE's account expiry), VMs with node, status and memory,
    and private bridges; and the look-alikes - objects carrying a stand's marker whose stand is incomplete
    there (a user without its pool, VMs tagged for a stand outside its pools, bridges of a student with no
    pool - half-destroyed stands).
  - One module run for the whole listing. The cluster is read a constant number of times (the resources,
    the pools, the users, each online node's bridges and, with O(created), each storage's disk list);
    with O(addresses) the guest agent of each running stand VM is asked once, side by side.
  - Read-only, so it runs the same in check mode.
extends_documentation_fragment:
  - deploystand.proxmox.auth
  - deploystand.proxmox.attributes
  - deploystand.proxmox.stand_selection
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
    details: It only reads; the result has no before and after.
options:
  created:
    description:
      - Also read when each VM's disks were made (the storages' content lists), shown as C(created).
      - PVE lists a VM's disks only to a user holding C(Datastore.Audit) on the storage and C(VM.Config.Disk)
        on the VM (or C(Datastore.Allocate)); without them C(created) is null.
    type: bool
    default: true
  addresses:
    description:
      - Ask the guest agent of every running stand VM for its addresses (C(agent/network-get-interfaces)),
        at most one call per VM. A VM whose agent is not configured, not running or not answering simply has
        no address. Needs C(VM.GuestAgent.Audit) on the VMs; refused calls give one warning.
    type: bool
    default: false
author:
  - deploystand.proxmox contributors (@deploystand)
'''

EXAMPLES = r'''
- name: Every stand on the cluster
  deploystand.proxmox.pve_stand_info:
  register: listing

- name: The VMs of stand netlab with their addresses
  deploystand.proxmox.pve_stand_info:
    stands: [netlab]
    addresses: true
    address_networks: [10.0.0.0/8]
  register: netlab
'''

RETURN = r'''
stands:
  description: The stands found, by name (every field in docs/inventory.md).
  returned: success
  type: dict
  contains:
    students:
      description: By userid - pool, user (exists, owned, comment, enable, expire), vms, bridges, nodes, memory,
        created, since, expires, expires_at (the stand's end as the student's pool records it), complete, problems.
      type: dict
    nodes:
      description: The nodes the stand's VMs are on.
      type: list
      elements: str
    memory:
      description: The stand's VMs' memory (maxmem), in bytes.
      type: int
    created:
      description: When the stand's first disk was made (UNIX time), or null when PVE does not show it.
      type: int
    expires:
      description: The stand's end (UNIX time; C(stand.expires)), the latest of its students'; null when any has none.
      type: int
    expires_at:
      description: The same in ISO form, UTC.
      type: str
    complete:
      description: Every student has its user and at least one VM.
      type: bool
look_alikes:
  description: Objects that carry a stand's marker but are not part of a complete piece of it.
  returned: success
  type: list
  elements: dict
  contains:
    kind:
      description: V(vm), V(pool), V(user) or V(bridge).
      type: str
    id:
      description: VMID, pool id, userid or bridge name.
      type: raw
    stand:
      description: The stand whose marker it carries.
      type: str
    userid:
      description: The student the marker names, if any.
      type: str
    why:
      description: What is missing.
      type: str
unseen:
  description: What the listing could not see (offline nodes, refused reads, clones in progress).
  returned: success
  type: list
  elements: str
'''

from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.client import PveApiError
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.module import PveModule
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.info import (
    ADDRESS_FAMILIES, filter_problems,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.ops.stand_reader import (
    DEFAULT_AGENT_WORKERS, read_stands,
)

ARGSPEC = dict(
    stands=dict(type='list', elements='str', default=[]),
    students=dict(type='list', elements='str', default=[]),
    created=dict(type='bool', default=True),
    addresses=dict(type='bool', default=False),
    address_interface=dict(type='str'),
    address_networks=dict(type='list', elements='str', default=[]),
    address_family=dict(type='str', default='ipv4', choices=list(ADDRESS_FAMILIES)),
    agent_workers=dict(type='int', default=DEFAULT_AGENT_WORKERS),
)


def main():
    module = PveModule(argument_spec=ARGSPEC, supports_check_mode=True)
    p = module.params
    problems = filter_problems(p['stands'], p['students'], p['address_networks'], p['address_family'],
                               p['agent_workers'])
    if problems:
        module.fail_json(msg='; '.join(problems), problems=problems)
    try:
        found = read_stands(module.client(), stands=p['stands'], students=p['students'], created=p['created'],
                            addresses=p['addresses'], interface=p['address_interface'],
                            networks=p['address_networks'], family=p['address_family'], workers=p['agent_workers'])
    except PveApiError as err:
        module.fail_api(err)
    for line in found['unseen']:
        module.warn(line)
    module.exit_json(changed=False, **found)


if __name__ == '__main__':
    main()
