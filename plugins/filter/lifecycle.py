# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the day-2 playbooks (stand_power.yml, stand_snapshot.yml, stand_reset.yml): the input checks
that refuse before the plan, the class handed to one module run, and the per-machine lines of the summaries."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.lifecycle_input import (
    snapshot_name_problem,
)


def stand_snapshot_name_problem(name, field='stand_snapshot_name'):
    """'' when PVE accepts `name` as a snapshot name, else why not (pve-configid, at most 40 characters)."""
    return snapshot_name_problem(name, field) or ''


def stand_class_students(plan, userids, purpose='power'):
    """The `students` of one pve_stand_power / pve_stand_snapshot run for the class: the plan's entry of each
    of `userids` (the play's student hosts, so `--limit` holds), with the node and bridges a reset needs."""
    wanted = set(userids)
    out = []
    for student in plan['students']:
        if student['userid'] not in wanted:
            continue
        entry = dict(userid=student['userid'], pool=student['pool'], machines=student['machines'])
        if purpose == 'reset':
            entry.update(node=student['node'],
                         bridges=dict((bridge['alias'], bridge['iface']) for bridge in student['bridges']))
        out.append(entry)
    return out


def stand_lifecycle_lines(result, key='action'):
    """One line per machine of a pve_stand_power / pve_stand_snapshot result: 'name (VMID n): <what>'."""
    lines = []
    for machine in (result or {}).get('machines') or []:
        if key == 'power':
            what = '{0} -> {1}'.format(machine.get('status_before'), machine.get('status'))
        elif key == 'path':
            what = '{0}, {1}'.format(machine.get('path'), machine.get('status') or 'not powered')
        else:
            what = machine.get(key)
            if machine.get('vmstate'):
                what = '{0} (with RAM)'.format(what)
        if machine.get('why'):
            what = '{0}: {1}'.format(what, machine['why'])
        if machine.get('error'):
            what = '{0}: failed: {1}'.format(what, machine['error'])
        lines.append('{0} (VM {1}): {2}'.format(machine.get('name'), machine.get('vmid'), what))
    for name in (result or {}).get('missing') or []:
        if key != 'path':
            lines.append('{0}: missing (deploy_stand.yml or stand_reset.yml makes it)'.format(name))
    for vm in (result or {}).get('foreign') or []:
        lines.append('{0} (VM {1}): left alone, {2}'.format(vm.get('name'), vm.get('vmid'), vm.get('why')))
    return lines


def stand_class_lines(students, key='action'):
    """stand_lifecycle_lines for each student of a class run's `students`: {userid: lines}, the failed ones too
    (with their message), in the class's order."""
    out = {}
    for userid, result in (students or {}).items():
        lines = stand_lifecycle_lines(result, key)
        if result.get('failed'):
            lines.append('failed: {0}'.format(result.get('msg')))
        out[userid] = lines
    return out


class FilterModule(object):
    def filters(self):
        return {'stand_snapshot_name_problem': stand_snapshot_name_problem,
                'stand_class_lines': stand_class_lines,
                'stand_class_students': stand_class_students,
                'stand_lifecycle_lines': stand_lifecycle_lines}
