#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: pve_bridge
short_description: The private lab bridges of a stand on one Proxmox VE node, and applying the node's network config
version_added: 0.1.0
description:
  - O(state=present) ensures one isolated Linux bridge per student alias on O(node) (C(vmbrN), C(autostart),
    no ports). Each bridge carries the marker C(deploystand:<stand>:<userid>:<alias>) in its comments; a bridge
    that already carries the marker is reused, so alias to bridge stays stable across runs and when students are
    added or removed.
  - Bridge names are unique in the cluster, because the grant C(SDN.Use) on C(/sdn/zones/localnetwork/vmbrN) names
    no node and covers a bridge of that name on every node. A new bridge takes the proposed O(bridges[].iface), or
    the lowest free N in O(bridge_range), that is no bridge on any online node, not in O(reserved), not named in an
    ACL entry, and in this node's share of the numbers (N mod the number of cluster nodes = the node's place among
    them by name), so that runs on different nodes at the same time never make the same name. A marked bridge
    whose name also exists on another node is not reused; a new one is made and the old one is listed in
    RV(stale).
  - O(state=absent) deletes the bridges of the stand (or of some students or aliases of it) that no VM or
    container on the node still uses. Bridges without the stand's marker are never touched, even in
    O(bridge_range) and unused.
  - O(state=applied) applies the node's pending network configuration (C(PUT /nodes/{node}/network), a
    C(srvreload) task) only when something is pending, and refuses when pending changes belong to
    interfaces the stand did not make, unless O(apply_foreign_pending=true).
  - Creating and deleting bridges only stages the change in C(/etc/network/interfaces.new); run
    O(state=applied) once per node afterwards (the network play does it in a handler).
  - Idempotent; supports check mode (reads only and predicts the change and the bridge names) and diff mode.
extends_documentation_fragment:
  - deploystand.proxmox.auth
  - deploystand.proxmox.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
options:
  node:
    description:
      - The node whose network is managed. Bridges are node-local.
    type: str
    required: true
  stand:
    description:
      - Name of the stand (C([a-z][a-z0-9-]*), at most 20 characters). It is part of every marker.
    type: str
    required: true
  bridges:
    description:
      - The private bridges wanted on this node (O(state=present)), or to remove (O(state=absent)).
    type: list
    elements: dict
    default: []
    suboptions:
      userid:
        description:
          - The student (C(name@realm)) the bridge belongs to.
        type: str
        required: true
      alias:
        description:
          - The alias the stand's machines use for this network (C([a-z][a-z0-9_]*), at most 15 characters).
        type: str
        required: true
      iface:
        description:
          - The name proposed for a new bridge (the plan's, disjoint across nodes). Taken when it is free;
            otherwise the next free name is used. Ignored for a bridge that exists already.
        type: str
  reserved:
    description:
      - Names a new bridge must not take (those the plan gives bridges on other nodes).
    type: list
    elements: str
    default: []
  ifaces:
    description:
      - With O(state=absent), remove only the stand's bridges of these names (the stale ones a deploy replaced).
    type: list
    elements: str
    default: []
  userids:
    description:
      - With O(state=absent), remove every bridge of the stand that belongs to these students.
      - With neither O(bridges) nor O(userids), O(state=absent) removes every bridge of the stand on the node.
    type: list
    elements: str
    default: []
  bridge_range:
    description:
      - The numbers N of C(vmbrN) new bridges may take, C([low, high]) inclusive, within 0-9999
        (the bridge names every PVE 8.x and 9.x accepts).
    type: list
    elements: int
    default: [1000, 9999]
  state:
    description:
      - V(present) ensures the bridges, V(absent) removes them, V(applied) applies the node's pending network
        configuration.
    type: str
    choices: [present, absent, applied]
    default: present
  apply_foreign_pending:
    description:
      - With O(state=applied), also apply when the node has pending changes of interfaces the stand did not make
        (no marker of this stand in their comments, or removed lines without one). They are listed in a warning.
    type: bool
    default: false
  apply_timeout:
    description:
      - Seconds to wait for the C(srvreload) task of O(state=applied). After a broken connection the pending
        changes are read back and the apply sent again, at most 3 times in all.
    type: int
    default: 120
notes:
  - New bridges are created with C(type=bridge), C(autostart=1) and the marker in C(comments), without
    C(bridge_ports) (PVE writes C(bridge-ports none), an isolated bridge) and without any C(bridge_vlan_aware)
    key, because PVE's writer makes a bridge VLAN-aware whenever that key is present, even as C(0).
  - The other nodes' bridges are read from their lists (one C(GET /nodes/{n}/network) per online node), and a name
    about to be created is checked on each other online node with C(GET /nodes/{n}/network/{iface}). A name an
    administrator creates on another node between that check and the creation is found by the next plan, which
    moves the student to a new bridge.
  - "C(GET /nodes/{node}/network) drops bridges the caller may not audit or use (C(SDN.Audit)/C(SDN.Use) on
    C(/sdn/zones/localnetwork/<bridge>)), so before creating C(vmbrN) the module also checks
    C(GET /nodes/{node}/network/vmbrN), which only needs C(Sys.Audit), and skips a name that exists. A name a
    concurrent run takes between the check and the creation (PVE answers C(interface already exists)) is skipped
    the same way."
  - Pending changes are read from the C(changes) field of C(GET /nodes/{node}/network) (the diff of
    C(/etc/network/interfaces) against C(interfaces.new)) and the per-interface C(active) flag; a bridge of the
    stand that is configured but not active also counts as pending.
  - A bridge is in use when the config of a VM or container on the node has a NIC with C(bridge=<iface>)
    (config with pending changes applied); in-use bridges are reported in RV(in_use) and kept. PVE's ifupdown2
    would keep a removed bridge with guest ports plugged anyway.
  - After a broken connection a write may or may not have happened; the module reads back and writes again only
    if it did not (at most 3 rounds).
author:
  - deploystand.proxmox contributors (@deploystand)
'''

EXAMPLES = r'''
- name: Private bridges of the students placed on pve1 exist
  deploystand.proxmox.pve_bridge:
    node: pve1
    stand: netlab
    bridges:
      - {userid: student1@pve, alias: lan}
      - {userid: student1@pve, alias: wan}
      - {userid: student2@pve, alias: lan}
  register: bridges
  notify: apply network config

- name: Apply the node's network config (handler)
  deploystand.proxmox.pve_bridge:
    node: pve1
    stand: netlab
    state: applied

- name: Bridges of student2 removed
  deploystand.proxmox.pve_bridge:
    node: pve1
    stand: netlab
    userids: [student2@pve]
    state: absent
'''

RETURN = r'''
node:
  description: The node.
  returned: always
  type: str
  sample: pve1
bridges:
  description:
    - With O(state=present), every wanted bridge; with O(state=absent), the bridges deleted.
  returned: always
  type: list
  elements: dict
  contains:
    userid: {description: The student., type: str}
    alias: {description: The alias., type: str}
    marker:
      description: The marker in the bridge's comments.
      type: str
      sample: "deploystand:netlab:student1@pve:lan"
    iface: {description: The bridge (predicted in check mode)., type: str, sample: vmbr1001}
    created: {description: Created in this run., type: bool}
mapping:
  description: Bridge of each alias of each student, as a mapping of userid to a mapping of alias to iface.
  returned: always
  type: dict
  sample: {"student1@pve": {"lan": "vmbr1001", "wan": "vmbr1002"}}
created:
  description: Bridges created in this run (predicted in check mode).
  returned: always
  type: list
  elements: str
deleted:
  description: Bridges deleted in this run (predicted in check mode).
  returned: always
  type: list
  elements: str
taken:
  description: Names in the range that were passed over because they existed although the bridge list did not
    show them, or because a concurrent run took them between the check and the creation.
  returned: when state=present
  type: list
  elements: str
stale:
  description:
    - Bridges of the node that carry a wanted marker but are not its bridge any more (their name is also a bridge
      on another node, or a second bridge carries the marker). They are not deleted here; remove the grant on them
      and delete them (O(state=absent) with O(ifaces)) once the VMs use the new bridge.
  returned: when state=present
  type: list
  elements: dict
  contains:
    userid: {description: The student., type: str}
    alias: {description: The alias., type: str}
    marker: {description: The marker., type: str}
    iface: {description: The stale bridge., type: str}
unapplied:
  description:
    - With O(state=absent), the stand has changes staged on the node that were never applied (a run killed between
      its deletions and their apply) while nothing was deleted now; run O(state=applied) as after a deletion.
  returned: when state=absent
  type: bool
in_use:
  description: Bridges of the stand that were not deleted because a VM or container still uses them.
  returned: when state=absent
  type: list
  elements: dict
  contains:
    iface: {description: The bridge., type: str}
    used_by: {description: 'The guests using it (C(qemu/<vmid>), C(lxc/<vmid>)).', type: list, elements: str}
pending:
  description: The pending changes found (before applying), with C(iface), C(action) (added, removed, modified,
    inactive), C(ours) and C(markers).
  returned: when state=applied
  type: list
  elements: dict
foreign_pending:
  description: Pending changes of interfaces the stand did not make.
  returned: when state=applied
  type: list
  elements: str
applied:
  description: The network configuration was applied (predicted in check mode).
  returned: when state=applied
  type: bool
'''

from ansible_collections.deploystand.proxmox.plugins.module_utils.ops.bridges import (
    BridgeError, NodeBridges, check_params,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.argspecs import NETWORK_APPLY_OPTIONS, with_default
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.module import PveModule


def main():
    module = PveModule(
        argument_spec=dict(
            node=dict(type='str', required=True),
            stand=dict(type='str', required=True),
            bridges=dict(type='list', elements='dict', default=[], options=dict(
                userid=dict(type='str', required=True),
                alias=dict(type='str', required=True),
                iface=dict(type='str'),
            )),
            reserved=dict(type='list', elements='str', default=[]),
            ifaces=dict(type='list', elements='str', default=[]),
            userids=dict(type='list', elements='str', default=[]),
            bridge_range=with_default('bridge_range', type='list', elements='int'),
            state=with_default('state', type='str', choices=['present', 'absent', 'applied']),
            **NETWORK_APPLY_OPTIONS
        ),
        supports_check_mode=True,
    )
    p = module.params
    errors = check_params(p)
    if errors:
        module.fail_json(msg='invalid input: ' + '; '.join(errors), errors=errors)
    work = NodeBridges(module.client(), p['node'], p['stand'], check_mode=module.check_mode, warn=module.warn)

    def converge():
        if p['state'] == 'present':
            return work.present(p['bridges'], p['bridge_range'], p['reserved'])
        if p['state'] == 'absent':
            return work.absent(p['userids'], [(b['userid'], b['alias']) for b in p['bridges']], p['ifaces'])
        return work.applied(p['apply_foreign_pending'], p['apply_timeout'])

    module.run(converge, partial=lambda: _partial(work.result, module.check_mode), refusals=(BridgeError,),
               context='node {0}'.format(p['node']))


def _partial(result, check_mode):
    out = dict((k, v) for k, v in result.items() if k not in ('diff', 'changed'))
    out['changed'] = not check_mode and bool(result.get('created') or result.get('deleted'))
    return out


if __name__ == '__main__':
    main()
