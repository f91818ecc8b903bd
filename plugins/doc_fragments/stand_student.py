# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """The student, or the class, a day-2 module acts on (pve_stand_power, pve_stand_snapshot)."""

    DOCUMENTATION = r'''
options:
  stand:
    description: Name of the stand.
    type: str
    required: true
  userid:
    description:
      - The student, C(name@realm), for a run of one student (with O(machines)). Give either O(userid) and
        O(machines), or O(students).
    type: str
  pool:
    description: The student's pool. Default C(<stand>-<user name without realm>).
    type: str
  students:
    description:
      - The class in one run (the day-2 playbooks use this; plugins/filter/lifecycle.py C(stand_class_students)).
        One entry per student with its own O(userid), O(machines) and, where the module has them, O(pool),
        C(node) and C(bridges); every other option holds for the whole class. Each entry is checked as those
        options are; a bad entry fails the run before anything is written.
      - The students go side by side (at most O(parallel) at once), each student's machines side by side within.
        A student's failure is its own (RV(students)), never the run's.
    type: list
    elements: dict
  parallel:
    description: Students worked on at once in a run with O(students).
    type: int
    default: 30
'''
