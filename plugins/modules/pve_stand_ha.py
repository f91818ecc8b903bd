#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: pve_stand_ha
short_description: The HA resources of a stand's VMs (stand.ha, machines[].ha)
version_added: 0.2.0
description:
  - O(state=present) registers each listed stand VM (found by pool, name and tag C(stand-<stand>)) as the HA
    resource C(vm:<vmid>) with the student's pool marker C(deploystand:<stand>:<userid>) as its comment, and
    removes the stand's HA resources of the students in O(userids) that are no longer listed.
  - "Node placement, one per stand and node, with the id C(deploystand_<stand>_<node>) and the stand marker
    C(deploystand:<stand>) in its comment: on PVE 9 a node-affinity HA rule listing the stand's resources on that
    node (C(nodes=<node>), C(strict=0): the node is preferred, any other node takes over while it is down); on
    PVE 8 an unrestricted HA group with that one node (C(nofailback=0): the VM comes back) that the resources
    name in C(group). Which one is decided by the cluster's release (PVE 9 migrated groups to rules)."
  - A resource moves between the stand's placements when its node changes; a placement left with no resource
    is deleted. Resources of students outside O(userids) keep their place.
  - A rule or group with the stand's placement id but without the marker is refused with one message before
    anything is written, and never changed.
  - O(state=absent) removes the HA resources carrying the marker of one of O(userids) (before destroy stops
    and removes the VMs), after taking them out of the stand's rules, and then the stand's rules or groups no
    resource uses any more. A resource, rule or group without the marker is never changed or removed.
  - The plan refuses HA for machines whose disks are on local storage (they cannot fail over).
  - Runs once per run on the controller. Idempotent; check mode reads only and predicts the change.
extends_documentation_fragment:
  - deploystand.proxmox.auth
  - deploystand.proxmox.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
options:
  stand:
    description: Stand name.
    type: str
    required: true
  machines:
    description: The plan's C(ha.machines) (C(userid), C(pool), C(name), C(marker)).
    type: list
    elements: dict
    default: []
    suboptions:
      userid: {description: The student., type: str, required: true}
      pool: {description: Its pool., type: str, required: true}
      name: {description: The VM name., type: str, required: true}
      marker: {description: The comment the resource carries., type: str, required: true}
      node:
        description:
          - The node the plan placed the VM on. The VM's resource joins the stand's placement for that node (a
            node-affinity rule on PVE 9, an HA group on PVE 8), so it fails over and comes back there.
            Without it the resource has no placement.
        type: str
  userids:
    description: The students in scope (stale resources of others are left alone).
    type: list
    elements: str
    default: []
  start:
    description: Requested HA state of new resources is V(started) (else V(stopped)).
    type: bool
    default: true
  state:
    description: V(present) or V(absent).
    type: str
    choices: [present, absent]
    default: present
author:
  - deploystand.proxmox contributors (@deploystand)
'''

EXAMPLES = r'''
- name: The stand's VMs are HA resources
  deploystand.proxmox.pve_stand_ha:
    stand: netlab
    machines: "{{ plan.plan.ha.machines }}"
    userids: [student1@pve, student2@pve]
'''

RETURN = r'''
added: {description: HA resources added., returned: always, type: list, elements: str}
removed: {description: HA resources removed., returned: always, type: list, elements: str}
foreign: {description: "Resources, and rules or groups with a look-alike id, without the marker: left alone.", returned: always, type: list, elements: str}
unreadable:
  description: "With state absent, or present without machines, why the HA resources could not be read (then none is
    the stand's, and nothing is done)."
  returned: when unreadable
  type: str
ha_config: {description: "C(rules) (PVE 9) or C(groups) (PVE 8): where this cluster keeps HA placement.", returned: always, type: str}
placements_added: {description: "Ids of the stand's node-affinity rules or HA groups created.", returned: always, type: list, elements: str}
placements_changed:
  description: "Ids of the stand's rules or groups whose resources or settings were changed (or, PVE 9, that were made
    again after losing all their resources to other nodes' rules)."
  returned: always
  type: list
  elements: str
placements_removed: {description: "Ids of the stand's rules or groups deleted (no stand resource left in them).", returned: always, type: list, elements: str}
regrouped: {description: "PVE 8: the stand's existing resources whose C(group) was set to their node's group.", returned: always, type: list, elements: str}
'''

from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.client import PveApiError
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.module import PveModule
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.names import stand_name_problem
from ansible_collections.deploystand.proxmox.plugins.module_utils.ops.ha import HaRefused, StandHa


def main():
    module = PveModule(
        argument_spec=dict(
            stand=dict(type='str', required=True),
            machines=dict(type='list', elements='dict', default=[], options=dict(
                userid=dict(type='str', required=True), pool=dict(type='str', required=True),
                name=dict(type='str', required=True), marker=dict(type='str', required=True),
                node=dict(type='str'))),
            userids=dict(type='list', elements='str', default=[]),
            start=dict(type='bool', default=True),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
        ),
        supports_check_mode=True,
    )
    problem = stand_name_problem(module.params['stand'])
    if problem:
        module.fail_json(msg='invalid input: ' + problem)
    work = StandHa(module.client(), module.params, check_mode=module.check_mode, warn=module.warn)
    try:
        result = work.run()
    except HaRefused as err:
        module.fail_json(msg=str(err), **dict((k, v) for k, v in work.result.items() if k != 'changed'))
    except PveApiError as err:
        module.fail_api(err, **dict((k, v) for k, v in work.result.items() if k != 'changed'))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
