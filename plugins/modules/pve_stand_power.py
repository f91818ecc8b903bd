#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: pve_stand_power
short_description: Start, stop, shut down or restart a student's (or a class's) stand machines
version_added: 0.1.0
description:
  - Finds the student's machines by ownership (in O(pool), named as planned, tagged C(deploystand) and
    C(stand-<stand>); never by VMID) in one cluster read, and brings each to O(state). VMs in the pool the
    stand does not own (made by hand, or named like a stand VM without the tags) are never touched and are
    returned in RV(foreign).
  - The machines go side by side, in groups of O(machines[].start_order) - the lowest first when starting, the
    highest first when stopping - and a group begins once the one before it is done (the router up before its
    hosts, down after them).
  - One student (O(userid), O(machines)) or a whole class in one run (O(students)); playbook C(stand_power.yml)
    runs it once for the class and hands each student host its own result (docs/lifecycle.md).
  - Idempotent (a VM already in the wanted state is not touched), except O(state=restarted), which always
    restarts. Check mode predicts each VM's state and writes nothing.
extends_documentation_fragment:
  - deploystand.proxmox.auth
  - deploystand.proxmox.attributes
  - deploystand.proxmox.stand_student
attributes:
  check_mode:
    description: Predicts C(changed) and each machine's state without writing anything.
    support: full
  diff_mode:
    description: Each machine's power state before and after.
    support: full
options:
  machines:
    description: The student's machines (the plan's C(students[].machines)).
    type: list
    elements: dict
    suboptions:
      name:
        description: VM name.
        type: str
        required: true
      start_order:
        description: Lower starts first and stops last; machines with the same value go side by side.
        type: int
        default: 0
      vmid:
        description: Informational (the plan's); the VM is found by pool, name and tags.
        type: int
      node:
        description: Informational (the plan's).
        type: str
      device_type:
        description: Informational (the plan's).
        type: str
      machine:
        description: Informational (the stand's name of the machine).
        type: str
  state:
    description:
      - V(started) starts what is not running; V(stopped) stops hard (like pulling the plug);
        V(shutdown) asks the guest to shut down (guest agent when it answers, else ACPI) and stops it hard after
        O(shutdown_timeout) seconds; V(restarted) shuts down (as V(shutdown)) then starts, in start order.
    type: str
    choices: [started, stopped, shutdown, restarted]
    required: true
  shutdown_timeout:
    description: Seconds a clean shutdown may take before the VM is stopped hard.
    type: int
    default: 60
  timeout:
    description: Seconds to wait for each PVE task.
    type: int
    default: 600
seealso:
  - module: deploystand.proxmox.pve_stand_snapshot
author:
  - deploystand.proxmox contributors (@deploystand)
'''

EXAMPLES = r'''
- name: Power student1's stand off for the night
  deploystand.proxmox.pve_stand_power:
    stand: netlab
    userid: student1@pve
    machines: [{name: student1-router, start_order: 0}, {name: student1-host1, start_order: 1}]
    state: shutdown
    shutdown_timeout: 120

- name: Start the whole class in one run, each student's result apart
  deploystand.proxmox.pve_stand_power:
    stand: netlab
    students:
      - {userid: student1@pve, machines: [{name: student1-router}, {name: student1-host1, start_order: 1}]}
      - {userid: student2@pve, machines: [{name: student2-router}, {name: student2-host1, start_order: 1}]}
    state: started
  register: class_power
'''

RETURN = r'''
machines:
  description: One entry per machine found, in the given order.
  returned: always
  type: list
  elements: dict
  sample: [{name: student1-router, vmid: 10000, node: pve1, status_before: running, status: stopped,
            changed: true, start_order: 0}]
missing:
  description: Names of the machines that do not exist (deploy the stand to make them).
  returned: always
  type: list
  elements: str
foreign:
  description: VMs in the pool the stand does not own; never touched.
  returned: always
  type: list
  elements: dict
  sample: [{vmid: 10050, name: my-test, node: pve1, why: not made by the stand}]
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

from ansible_collections.deploystand.proxmox.plugins.module_utils.argspecs import CLASS_OPTIONS
from ansible_collections.deploystand.proxmox.plugins.module_utils.ops.class_run import run_and_exit, student_params
from ansible_collections.deploystand.proxmox.plugins.module_utils.ops.lifecycle import PowerRun, left_alone
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.module import PveModule

ARGSPEC = dict(
    stand=dict(type='str', required=True),
    userid=dict(type='str'),
    pool=dict(type='str'),
    machines=dict(type='list', elements='dict', options=dict(
        name=dict(type='str', required=True), start_order=dict(type='int', default=0), vmid=dict(type='int'),
        node=dict(type='str'), device_type=dict(type='str'), machine=dict(type='str'))),
    state=dict(type='str', required=True, choices=['started', 'stopped', 'shutdown', 'restarted']),
    shutdown_timeout=dict(type='int', default=60),
    timeout=dict(type='int', default=600),
    **CLASS_OPTIONS
)


def main():
    module = PveModule(argument_spec=ARGSPEC, supports_check_mode=True)
    if module.params['shutdown_timeout'] < 0 or module.params['timeout'] < 0:
        module.fail_json(msg='invalid input: shutdown_timeout and timeout must not be negative')
    run_and_exit(module, student_params(module), PowerRun, left_alone)


if __name__ == '__main__':
    main()
