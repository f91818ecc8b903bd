# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """The attributes every module documents; each module says its own C(support) (and may add details)."""

    DOCUMENTATION = r'''
attributes:
  check_mode:
    description: Can run in check mode and predict C(changed) without writing anything.
  diff_mode:
    description: Returns the before and after of what it changes (or would change, in check mode) in diff mode.
  platform:
    description: What the module acts on, from the controller.
    support: full
    platforms: Proxmox VE API (8.x and 9.x)
'''
