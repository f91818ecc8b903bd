#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# The work is done by the action plugin of the same name (plugins/action/stand_student_outcome.py), on the controller.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: stand_student_outcome
short_description: One student's share of a class run, as the student host's own result
version_added: 0.1.0
description:
  - An action plugin, run on the controller, with no API call. The day-2 playbooks run
    M(deploystand.proxmox.pve_stand_power) or M(deploystand.proxmox.pve_stand_snapshot), and deploy and destroy
    M(deploystand.proxmox.pve_stand_student), once for the class (their
    O(deploystand.proxmox.pve_stand_power#module:students) option, with C(run_once)); this action then
    returns, on each student host, that student's result from the class run - C(changed), C(failed) and C(msg),
    C(machines), C(diff), C(warnings) - so the recap, C(--limit) retries and AWX's host events name each student.
  - A password in the student's result is left out (register the class run with C(no_log); the report reads it there).
  - When the class run failed as a whole (bad input, no connection), every student fails with its message.
    A student that is not in the class run fails with a message naming the students it holds.
options:
  class_result:
    description:
      - The registered result of the class run, or the student's share of it (filter
        C(deploystand.proxmox.stand_class_share), which spares each host templating the whole class's result).
    type: dict
    required: true
  userid:
    description: The student whose result to return (the host's C(deploystand_userid)).
    type: str
    required: true
extends_documentation_fragment:
  - deploystand.proxmox.attributes
attributes:
  check_mode:
    support: full
    description: Returns what the class run predicted.
  diff_mode:
    support: full
    description: Returns the student's diff of the class run.
author:
  - deploystand.proxmox contributors (@deploystand)
'''

EXAMPLES = r'''
- name: The class's machines are started (one run, on the first student host)
  deploystand.proxmox.pve_stand_power:
    stand: netlab
    students: "{{ plan | deploystand.proxmox.stand_class_students(ansible_play_hosts_all) }}"
    state: started
  run_once: true
  changed_when: false
  register: class_power

- name: Machines are started (each student host's own result)
  deploystand.proxmox.stand_student_outcome:
    class_result: "{{ class_power | deploystand.proxmox.stand_class_share(deploystand_userid) }}"
    userid: "{{ deploystand_userid }}"
'''

RETURN = r'''
machines:
  description: The student's machines, as the class run returned them.
  returned: when the student is in the class run
  type: list
  elements: dict
'''
