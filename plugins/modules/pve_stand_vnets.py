#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: pve_stand_vnets
short_description: The SDN VNets of a stand (stand.network.mode sdn), with one cluster-wide apply
version_added: 0.2.0
description:
  - O(state=present) makes the plan's VNets (and the stand's own zone, O(create_zone)) exist in the SDN
    config, each with the marker C(deploystand:<stand>:<userid>:<alias>) as its C(alias); O(state=absent)
    deletes the listed VNets that carry their marker (and O(delete_zone) once no other VNet is in it).
  - Then ONE C(PUT /cluster/sdn) apply, waited for as a task, only when this run changed the SDN config or a
    change of the stand is still pending (an earlier apply failed). Nothing changed and nothing pending means
    no lock and no apply.
  - On PVE 9 the global SDN lock is taken first (C(POST /cluster/sdn/lock)), every change and the apply carry its
    C(lock-token); a failed change rolls back (when the config was clean before) or releases the lock; the
    apply releases it. PVE 8 has no lock; the result says what is not protected (RV(unprotected)).
  - Pending SDN changes the stand did not make would be applied with the stand's, so they are reported and refuse
    the run before any write, unless O(apply_foreign_pending=true).
  - Runs once per run on the controller (VNets are cluster-wide). Check mode reads only, predicts every VNet
    change and takes no lock.
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
    description: Stand name (the marker's first part).
    type: str
    required: true
  zone:
    description: The SDN zone of the VNets (O(state=present)).
    type: str
  zone_nodes:
    description: The zone's nodes, where the module checks after the apply that each VNet is up.
    type: list
    elements: str
    default: []
  create_zone:
    description: The stand's own zone, created when missing (C(type), C(peers), C(nodes)).
    type: dict
  delete_zone:
    description: With O(state=absent), the stand's own zone, deleted when no VNet is left in it.
    type: str
  vnets:
    description: The plan's VNets (C(plan.sdn.vnets) or, for absent, the removal plan's).
    type: list
    elements: dict
    default: []
    suboptions:
      vnet: {description: VNet id (at most 8 characters)., type: str, required: true}
      zone: {description: Its zone., type: str}
      tag: {description: VXLAN VNI or VLAN tag., type: int}
      alias: {description: The marker the VNet carries as its alias., type: str, required: true}
      userid: {description: The student., type: str, required: true}
      network: {description: The stand's network alias., type: str, required: true}
      exists: {description: What the plan saw (informational)., type: bool}
  state:
    description: V(present) or V(absent).
    type: str
    choices: [present, absent]
    default: present
  apply_foreign_pending:
    description: Apply even when the SDN config has pending changes the stand did not make.
    type: bool
    default: false
  apply_timeout:
    description: Seconds to wait for the apply task.
    type: int
    default: 300
author:
  - deploystand.proxmox contributors (@deploystand)
'''

EXAMPLES = r'''
- name: The stand's VNets exist and are applied
  deploystand.proxmox.pve_stand_vnets:
    stand: netlab
    zone: "{{ plan.plan.sdn.zone }}"
    create_zone: "{{ plan.plan.sdn.create_zone }}"
    zone_nodes: "{{ plan.plan.sdn.zone_nodes }}"
    vnets: "{{ plan.plan.sdn.vnets }}"

- name: The stand's VNets are gone
  deploystand.proxmox.pve_stand_vnets:
    stand: netlab
    vnets: "{{ removal.plan.sdn.vnets }}"
    delete_zone: "{{ removal.plan.sdn.delete_zone }}"
    state: absent
'''

RETURN = r'''
created: {description: VNets created (predicted in check mode)., returned: always, type: list, elements: str}
updated: {description: VNets whose tag was set again., returned: always, type: list, elements: str}
deleted: {description: VNets deleted., returned: always, type: list, elements: str}
zone_created: {description: "The zone created, or null.", returned: always, type: str}
zone_deleted: {description: "The zone deleted, or null.", returned: always, type: str}
applied: {description: "Whether the run applied the SDN config (would, in check mode).", returned: always, type: bool}
apply_task: {description: The UPID of the apply., returned: always, type: str}
lock: {description: "C(taken), C(none (PVE 8)) or null (no change, no lock).", returned: always, type: str}
unprotected: {description: "On PVE 8, what the missing lock does not protect.", returned: always, type: str}
foreign_pending: {description: Pending SDN changes the stand did not make., returned: always, type: list, elements: str}
mapping: {description: "Student to network alias to VNet id.", returned: always, type: dict}
not_ready: {description: "Nodes whose VNets are not up after the apply.", returned: when applied, type: list, elements: str}
pending_own: {description: "Pending SDN changes of this stand (an earlier apply failed); applied by this run.", returned: always, type: list, elements: str}
reapply_for:
  description: "Nodes still on an old SDN config (a failed node reload) that made this run apply again."
  returned: when it applied for them
  type: list
  elements: str
'''

from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.client import PveApiError
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.module import PveModule
from ansible_collections.deploystand.proxmox.plugins.module_utils.ops.vnets import SdnError, StandVnets
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.names import stand_name_problem


def main():
    module = PveModule(
        argument_spec=dict(
            stand=dict(type='str', required=True),
            zone=dict(type='str'),
            zone_nodes=dict(type='list', elements='str', default=[]),
            create_zone=dict(type='dict'),
            delete_zone=dict(type='str'),
            vnets=dict(type='list', elements='dict', default=[], options=dict(
                vnet=dict(type='str', required=True), zone=dict(type='str'), tag=dict(type='int'),
                alias=dict(type='str', required=True), userid=dict(type='str', required=True),
                network=dict(type='str', required=True), exists=dict(type='bool'))),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            apply_foreign_pending=dict(type='bool', default=False),
            apply_timeout=dict(type='int', default=300),
        ),
        supports_check_mode=True,
    )
    p = module.params
    problem = stand_name_problem(p['stand'])
    if problem is None and p['state'] == 'present' and not p['zone']:
        problem = 'zone: is required with state present'
    if problem:
        module.fail_json(msg='invalid input: ' + problem)
    work = StandVnets(module.client(), p, check_mode=module.check_mode, warn=module.warn)
    try:
        result = work.run()
    except PveApiError as err:
        work._release()
        module.fail_api(err, **dict((k, v) for k, v in work.result.items() if k != 'changed'))
    except SdnError as err:
        partial = dict((k, v) for k, v in work.result.items() if k != 'changed')
        module.fail_json(msg=str(err), changed=False, **partial)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
