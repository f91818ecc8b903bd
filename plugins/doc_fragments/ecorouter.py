# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """The EcoRouter NIC options of the modules that make a student's machines (argspecs.ECOROUTER_OPTIONS)."""

    DOCUMENTATION = r'''
options:
  management_bridge:
    description: Bridge of an EcoRouter's management NIC.
    type: str
    default: vmbr0
  mac_prefix:
    description: First 4 octets of EcoRouter slot MACs.
    type: str
    default: 1C:87:76:40
'''
