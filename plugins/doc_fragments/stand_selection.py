# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """Which stands, students and addresses a listing takes (pve_stand_info and the inventory plugin stands)."""

    DOCUMENTATION = r'''
options:
  stands:
    description:
      - Only these stands (names). Empty takes every stand.
    type: list
    elements: str
    default: []
  students:
    description:
      - Only these students (PVE userids, C(name@realm)). Empty takes every student.
    type: list
    elements: str
    default: []
  address_interface:
    description:
      - Take a VM's address only from guest interfaces of this name, or matching this glob (V(eth0), V(ens*)).
      - Any interface but the loopback when not given.
    type: str
  address_networks:
    description:
      - Take only an address inside one of these networks (CIDR, V(10.0.0.0/8)). Any network when empty.
    type: list
    elements: str
    default: []
  address_family:
    description:
      - The address family of the address taken. Loopback, link-local and multicast addresses are never taken.
    type: str
    choices: [ipv4, ipv6, any]
    default: ipv4
  agent_workers:
    description:
      - How many guest agent calls run at the same time.
    type: int
    default: 8
'''
