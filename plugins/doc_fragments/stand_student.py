# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """The student a day-2 module acts on (pve_stand_power, pve_stand_snapshot)."""

    DOCUMENTATION = r'''
options:
  stand:
    description: Name of the stand.
    type: str
    required: true
  userid:
    description: The student, C(name@realm).
    type: str
    required: true
  pool:
    description: The student's pool. Default C(<stand>-<user name without realm>).
    type: str
'''
