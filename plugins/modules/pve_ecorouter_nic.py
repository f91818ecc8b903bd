#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: pve_ecorouter_nic
short_description: The network devices of an EcoRouter VM of a lab stand
version_added: 0.1.0
description:
  - Sets the NICs of one EcoRouter VM as EcoRouter expects them (docs/stand-model.md 6) in one config update, then optionally
    powers it on or off. All NICs are C(vmxnet3); C(net0) is the management port on O(management_bridge) with
    C(link_down=1); the data NICs follow on O(bridges) in order (C(net1)...); NICs beyond the list are removed.
  - MACs are in the O(mac_prefix) range (default C(1C:87:76:40:xx:xx)), stable across runs and unique across
    the cluster (see the notes for the scheme).
  - The VM also gets the tag C(ecorouter), which the uniqueness check of other EcoRouters relies on.
author:
  - deploystand.proxmox contributors (@deploystand)
extends_documentation_fragment:
  - deploystand.proxmox.auth
  - deploystand.proxmox.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
options:
  vmid:
    description:
      - VMID of the EcoRouter VM.
    type: int
    required: true
  node:
    description:
      - Node the VM is expected on. When the VM is found on another node, that node is used (with a warning).
    type: str
    required: true
  stand:
    description:
      - Stand the VM belongs to; the VM must carry the tags C(deploystand) and C(stand-<stand>), else nothing is
        changed and the module fails.
    type: str
    required: true
  management_bridge:
    description:
      - Bridge of the management port C(net0).
    type: str
    default: vmbr0
  bridges:
    description:
      - Bridges of the data NICs C(net1)... in order. At most 7 (8 NICs in all).
    type: list
    elements: str
    default: []
  mac_prefix:
    description:
      - First four octets of every MAC, C(XX:XX:XX:XX) in hex; the first octet must be unicast (its lowest bit
        clear, so the second hex digit is even).
    type: str
    default: "1C:87:76:40"
  state:
    description:
      - V(present) sets the NICs and leaves the power alone; V(started) also starts the VM once its NICs are
        right; V(stopped) sets the NICs and shuts the VM down (then stops it after O(shutdown_timeout)).
    type: str
    choices: [present, started, stopped]
    default: present
  shutdown_timeout:
    description:
      - Seconds the guest gets to shut down before it is stopped hard (O(state=stopped)).
    type: int
    default: 60
  timeout:
    description:
      - Seconds to wait for a start or stop task (a shutdown waits O(shutdown_timeout) + 30 s first).
    type: int
    default: 600
notes:
  - Supports check mode and diff mode (NICs, tags and status before and after).
  - "MAC scheme: the last two octets of NIC C(i) of VM C(vmid) are the slot C((vmid % 8192) * 8 + i). Two
    EcoRouters therefore share a MAC only when their VMIDs are equal modulo 8192, so the module reads the config
    of only those VMs tagged C(ecorouter) (normally none) from the one C(/cluster/resources) read, and fails
    clearly on a clash. Limits: at most 8 NICs per EcoRouter; EcoRouter VMIDs must be distinct modulo 8192; a MAC
    that already has the prefix is kept as it is (stable across runs) and is only checked against that same
    congruence class."
  - "PVE behaviour relied on: a C(netN) sent without a MAC gets a new random MAC, so every NIC is always sent with
    its MAC; the config update carries the C(digest) of the config read, so a concurrent change makes it fail and
    it is re-read and retried once; NIC changes of a running VM are hot-plugged or become pending; a VM cannot
    start while a bridge of its NICs does not exist on its node."
seealso:
  - module: deploystand.proxmox.pve_stand_clone
'''

EXAMPLES = r'''
- name: EcoRouter NICs are set before the router starts
  deploystand.proxmox.pve_ecorouter_nic:
    vmid: 10002
    node: pve1
    stand: netlab
    management_bridge: vmbr0
    bridges: [vmbr1001, vmbr1002]
    state: started
'''

RETURN = r'''
vmid:
  description: VMID of the EcoRouter.
  returned: always
  type: int
  sample: 10002
nics:
  description: The NICs after the run.
  returned: always
  type: list
  elements: dict
  sample: [{key: net0, model: vmxnet3, mac: "1C:87:76:40:38:A0", bridge: vmbr0, link_down: true}]
status:
  description: Power status after the run.
  returned: always
  type: str
  sample: running
changed:
  description: Whether the NICs, tags or power changed (or would, in check mode).
  returned: always
  type: bool
'''

from ansible_collections.deploystand.proxmox.plugins.module_utils.ops.machine import (
    ECOROUTER_ARGSPEC, EcoRouterSpec, configure_ecorouter,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.module import PveModule


def main():
    module = PveModule(argument_spec=ECOROUTER_ARGSPEC, supports_check_mode=True)
    spec = EcoRouterSpec.from_params(module.params)
    problems = spec.problems()
    if problems:
        module.fail_json(msg='; '.join(problems))
    client = module.client()
    module.run(lambda: configure_ecorouter(client, spec, check_mode=module.check_mode, warn=module.warn),
               partial=lambda: dict(changed=False, vmid=spec.vmid), pop_diff=False)


if __name__ == '__main__':
    main()
