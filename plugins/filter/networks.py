# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that hand parts of the plan to the roles."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def stand_node_bridges(node_bridges, userids):
    """The plan's bridges of one node, for the students in scope, as pve_bridge takes them (with the
    plan's name as the proposal for a new one)."""
    scope = set(userids or [])
    return [dict({'userid': b['userid'], 'alias': b['alias']}, **({'iface': b['iface']} if b.get('iface') else {}))
            for b in node_bridges or [] if b['userid'] in scope]


def stand_reserved_bridges(plan_nodes, node):
    """The bridge names the plan gives on the OTHER nodes: pve_bridge on `node` never takes them."""
    return sorted(set(b['iface'] for other, bridges in (plan_nodes or {}).items() if other != node
                      for b in bridges or [] if b.get('iface')))


def stand_stale_ifaces(stale_bridges, userids, reported=None):
    """Stale bridge names of the students in scope: the plan's list (of a node, or of a student's
    grants) plus those pve_bridge reported (its result's `stale`)."""
    scope = set(userids or [])
    names = set(b['iface'] for b in stale_bridges or [] if isinstance(b, dict) and b.get('userid') in scope)
    names |= set(b for b in stale_bridges or [] if isinstance(b, str))
    names |= set(b['iface'] for b in reported or [] if b.get('userid') in scope)
    return sorted(names)


# The plan's stand-wide settings a student needs; never the students (their entries may hold passwords).
STAND_SETTINGS = ('stand', 'tags', 'role', 'start', 'vmid_range', 'bridge_range', 'management_bridge', 'baseline',
                  'since', 'expire')


def stand_settings(plan):
    """The stand-wide part of a plan."""
    return dict((key, plan[key]) for key in STAND_SETTINGS if key in plan)


class FilterModule(object):
    def filters(self):
        return {'stand_settings': stand_settings, 'stand_node_bridges': stand_node_bridges,
                'stand_reserved_bridges': stand_reserved_bridges, 'stand_stale_ifaces': stand_stale_ifaces}
