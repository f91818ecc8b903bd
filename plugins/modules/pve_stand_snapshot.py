#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: pve_stand_snapshot
short_description: Take, delete or reset to the stand's snapshot of a student's (or a class's) machines
version_added: 0.1.0
description:
  - Finds the student's machines by ownership (in O(pool), named as planned, tagged C(deploystand) and
    C(stand-<stand>)) in one cluster read; VMs in the pool the stand does not own are never touched and are
    returned in RV(foreign).
  - The stand marks every snapshot it takes (a line C(deploystand-snapshot:<stand>) in the snapshot's
    description). A snapshot without it - the student's own, an administrator's - is never replaced, deleted or
    rolled back to; one of the same name is reported (C(action=foreign)).
  - O(state=present) takes snapshot O(name) of every machine that has none (with its RAM when O(vmstate) and the
    VM runs); one the stand took is left alone unless O(replace). O(state=absent) deletes the stand's snapshot
    O(name); one with child snapshots only with O(force).
  - O(state=reset) brings every machine back to snapshot O(name) (docs/lifecycle.md) and says per machine which
    path it took (C(machines[].path)) - V(rollback) to the snapshot; V(reclone) for a VM without it (destroyed and
    cloned again from its template with the same VMID, name, pool, tags, NICs and MACs, then given the
    snapshot); V(recreate) for a missing machine (made as the deploy makes it, then given the snapshot). Then every
    machine goes to the power state O(start) asks for, in O(machines[].start_order). Nothing else of the student
    (user, password, pool, bridges) changes.
  - Every machine is decided before anything is written; a refusal (a snapshot with children without O(force), a RAM
    snapshot whose state storage cannot hold it, a reset of a machine without the snapshot and without a template, a
    re-clone that would delete snapshots the stand did not take) fails the student with nothing changed.
  - One student (O(userid), O(machines)) or a whole class in one run (O(students)); playbooks C(stand_snapshot.yml)
    and C(stand_reset.yml) run it once for the class; the machines go side by side.
extends_documentation_fragment:
  - deploystand.proxmox.auth
  - deploystand.proxmox.attributes
  - deploystand.proxmox.ecorouter
  - deploystand.proxmox.stand_student
attributes:
  check_mode:
    description: Predicts C(changed) and each machine's action or path without writing anything.
    support: full
  diff_mode:
    description: Each machine's snapshot names before and after (reset - VMID, path and power state after).
    support: full
options:
  node:
    description: The student's node (where a missing machine is made; O(state=reset)).
    type: str
  machines:
    description:
      - The student's machines, as M(deploystand.proxmox.pve_stand_plan) plans them (C(students[].machines));
        O(state=reset) needs the purpose V(reset) plan (templates, networks, VMIDs).
    type: list
    elements: dict
    suboptions:
      name: {description: VM name., type: str, required: true}
      machine: {description: The stand's name of the machine (informational)., type: str}
      device_type: {description: V(linux) or V(ecorouter)., type: str, default: linux, choices: [linux, ecorouter]}
      start_order: {description: Lower starts first and stops last., type: int, default: 0}
      template: {description: Template to clone by name (reset)., type: str}
      template_vmid: {description: Template to clone by VMID (reset)., type: int}
      template_node: {description: 'Node of O(machines[].template_vmid).', type: str}
      target: {description: Informational (the plan's clone target)., type: str}
      full: {description: Full clone instead of linked (reset)., type: bool, default: false}
      storage: {description: Target storage of a full clone., type: str}
      format: {description: Disk format of a full clone., type: str}
      vmid: {description: VMID of the existing VM (the plan's)., type: int}
      preferred_vmid: {description: VMID for a missing machine (the plan's)., type: int}
      node: {description: Node of this machine (informational)., type: str}
      networks:
        description: The machine's networks in NIC order (reset).
        type: list
        elements: dict
        default: []
        suboptions:
          bridge: {description: A real bridge or the plan's bridge of an alias., type: str}
          alias: {description: A private network of the stand (mapped by O(bridges))., type: str}
          link_down: {description: Start with the link down., type: bool, default: false}
          management: {description: The EcoRouter management NIC., type: bool, default: false}
  name:
    description: The snapshot (PVE's rule - a letter, then letters, digits, C(-) or C(_); at most 40 characters).
    type: str
    default: baseline
  state:
    description: V(present), V(absent) or V(reset).
    type: str
    choices: [present, absent, reset]
    default: present
  vmstate:
    description:
      - Include the RAM of a running VM (PVE saves none of a stopped VM; that one gets a disk-only snapshot, said in
        C(machines[].why)). The state storage is checked first (qemu-server C(find_vmstate_storage)).
    type: bool
    default: false
  replace:
    description: Delete and take again a snapshot O(name) the stand took before (O(state=present)).
    type: bool
    default: false
  force:
    description: Delete (or replace) a snapshot that has child snapshots; PVE re-parents the children.
    type: bool
    default: false
  description:
    description: First line of the snapshot's description (the stand's marker follows).
    type: str
    default: taken by stand_snapshot.yml
  bridges:
    description: The student's private bridges, alias to interface (O(state=reset)).
    type: dict
    default: {}
  vmid_range:
    description: VMIDs a re-created machine may take (O(state=reset)).
    type: list
    elements: int
    default: [10000, 19999]
  start:
    description: With O(state=reset), start the machines afterwards (the stand's C(start)); else they are stopped.
    type: bool
    default: true
  clone_slots:
    description: At most this many clones per storage at once from this controller.
    type: int
    default: 8
  lock_retries:
    description: Retries of a clone that failed on a PVE lock timeout.
    type: int
    default: 5
  shutdown_timeout:
    description: Seconds a clean shutdown may take before the VM is stopped.
    type: int
    default: 60
  timeout:
    description: Seconds to wait for each PVE task.
    type: int
    default: 600
seealso:
  - module: deploystand.proxmox.pve_stand_power
  - module: deploystand.proxmox.pve_stand_student
author:
  - deploystand.proxmox contributors (@deploystand)
'''

EXAMPLES = r'''
- name: Baseline of student1's machines, with the RAM of those that run
  deploystand.proxmox.pve_stand_snapshot:
    stand: netlab
    userid: student1@pve
    machines: [{name: student1-router}, {name: student1-host1}]
    name: baseline
    vmstate: true

- name: Reset student1 to the baseline (the reset plan's machines and bridges)
  deploystand.proxmox.pve_stand_snapshot:
    stand: netlab
    userid: student1@pve
    node: "{{ plan.students[0].node }}"
    machines: "{{ plan.students[0].machines }}"
    bridges: {lan: vmbr1000}
    state: reset
'''

RETURN = r'''
machines:
  description:
    - One entry per machine. With O(state=present) or O(state=absent) - C(action) V(create), V(replace), V(keep),
      V(delete), V(none) (nothing to delete) or V(foreign) (a snapshot of that name the stand did not take, left
      alone), C(vmstate), C(why). With O(state=reset) - C(path) V(rollback), V(reclone) or V(recreate), C(vmid)
      (the same after a re-clone), C(status) after the power step.
  returned: always
  type: list
  elements: dict
  sample: [{name: student1-host1, vmid: 10001, node: pve1, path: rollback, changed: true, status: running}]
missing:
  description: Machines that do not exist (O(state=reset) re-creates them).
  returned: always
  type: list
  elements: str
foreign:
  description: VMs in the pool the stand does not own; never touched.
  returned: always
  type: list
  elements: dict
students:
  description:
    - With O(students), each student's result (userid -> the keys a one-student run returns, plus C(failed)
      and C(msg) for a student that failed and C(warnings) for what it left alone). Action
      C(deploystand.proxmox.stand_student_outcome) hands each to its student's host.
  returned: when O(students) is given
  type: dict
failed_students:
  description: With O(students), the userids whose run failed.
  returned: when O(students) is given
  type: list
  elements: str
'''

from ansible_collections.deploystand.proxmox.plugins.module_utils.argspecs import (
    CLASS_OPTIONS, CLONE_OPTIONS, ECOROUTER_OPTIONS, VM_WAIT_OPTIONS, pieces, with_default,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.ops.class_run import run_and_exit, student_params
from ansible_collections.deploystand.proxmox.plugins.module_utils.ops.lifecycle import SnapshotRun, left_alone
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.lifecycle_input import (
    snapshot_name_problem,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.ops.lifecycle_reset import ResetRun
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.module import PveModule

NETWORK_SPEC = dict(bridge=dict(type='str'), alias=dict(type='str'), link_down=dict(type='bool', default=False),
                    management=dict(type='bool', default=False))
MACHINE_SPEC = dict(
    name=dict(type='str', required=True), machine=dict(type='str'),
    device_type=dict(type='str', default='linux', choices=['linux', 'ecorouter']),
    start_order=dict(type='int', default=0),
    template=dict(type='str'), template_vmid=dict(type='int'), template_node=dict(type='str'),
    target=dict(type='str'), full=dict(type='bool', default=False), storage=dict(type='str'),
    format=dict(type='str'), vmid=dict(type='int'), preferred_vmid=dict(type='int'), node=dict(type='str'),
    networks=dict(type='list', elements='dict', default=[], options=NETWORK_SPEC))
ARGSPEC = dict(
    stand=dict(type='str', required=True),
    userid=dict(type='str'),
    pool=dict(type='str'),
    node=dict(type='str'),
    machines=dict(type='list', elements='dict', options=MACHINE_SPEC),
    name=dict(type='str', default='baseline'),
    state=dict(type='str', default='present', choices=['present', 'absent', 'reset']),
    vmstate=dict(type='bool', default=False),
    replace=dict(type='bool', default=False),
    force=dict(type='bool', default=False),
    description=dict(type='str', default='taken by stand_snapshot.yml'),
    bridges=dict(type='dict', default={}),
    vmid_range=with_default('vmid_range', type='list', elements='int'),
    start=dict(type='bool', default=True),
    **pieces(ECOROUTER_OPTIONS, CLONE_OPTIONS, VM_WAIT_OPTIONS, CLASS_OPTIONS)
)


def main():
    module = PveModule(argument_spec=ARGSPEC, supports_check_mode=True)
    problem = snapshot_name_problem(module.params['name'], 'name')
    if problem:
        module.fail_json(msg='invalid input: {0}; nothing was changed'.format(problem))
    students = student_params(module)
    if module.params['state'] == 'reset' and not all(p['node'] for p in students):
        module.fail_json(msg='invalid input: node is needed to reset (a missing machine is made there)')
    run_and_exit(module, students, ResetRun if module.params['state'] == 'reset' else SnapshotRun, left_alone)


if __name__ == '__main__':
    main()
