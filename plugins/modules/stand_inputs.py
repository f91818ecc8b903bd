#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# The work is done by the action plugin of the same name (plugins/action/stand_inputs.py), on the controller.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: stand_inputs
short_description: Read the teacher's stand and class list exactly as typed, and check their shape
version_added: 0.1.0
description:
  - An action plugin, run on the controller. It reads the play's variables C(stand) and C(users) (and the AWX survey's
    C(stand_name) and C(stand_class)) as they were loaded, before any template rendering, and returns them as plain
    data. With ansible-core 2.19 the strings of C(-e @users.yml) are trusted templates, so any expression touching
    them would render a password such as C(Ab{{ 7*7 }}cdef); the values returned here are never rendered again.
  - Refuses, naming what is missing, which keys it found and how the file must look - a stand file without the
    top-level C(stand:) key (C(name), C(machines) ... at the top level), an empty (null) C(stand), a stand that is not a
    mapping, no class list (C(user:) for C(users:)), an empty (null) C(users).
  - Everything else about the input is checked by M(deploystand.proxmox.pve_stand_plan).
options:
  stand:
    description:
      - The stand, when the caller gives it (already rendered by Ansible). By default the play's variable C(stand),
        as typed.
    type: dict
  users:
    description:
      - The class list, when the caller gives it. By default the play's variable C(users) as typed, else the lines
        of C(stand_class).
    type: raw
  example_file:
    description: The example stand's file; when C(stand) is that stand, RV(example_stand) is true and RV(notes) say so.
    type: path
  purpose:
    description: V(deploy) or V(destroy), for the wording of RV(notes).
    type: str
    choices: [deploy, destroy]
    default: deploy
extends_documentation_fragment:
  - deploystand.proxmox.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
author:
  - deploystand.proxmox contributors (@deploystand)
'''

EXAMPLES = r'''
- name: Stand input is read as typed
  deploystand.proxmox.stand_inputs:
    example_file: "{{ playbook_dir }}/vars/example_stand.yml"
  register: inputs
  no_log: true          # the class list may hold passwords

- name: Plan with the values as typed
  deploystand.proxmox.pve_stand_plan:
    stand: "{{ inputs.stand }}"
    users: "{{ inputs.users }}"
  register: plan
  no_log: true
'''

RETURN = r'''
stand:
  description: The stand as typed (renamed by C(stand_name) when that is given).
  returned: success
  type: dict
users:
  description: The class list as typed (register the result with no_log, it may hold passwords).
  returned: success
  type: list
example_stand:
  description: The stand is the example stand of O(example_file).
  returned: success
  type: bool
notes:
  description: What to tell the teacher once (the example stand is used).
  returned: success
  type: list
  elements: str
'''
