# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the class runs (one module run for the class: the day-2 playbooks stand_power.yml,
stand_snapshot.yml, stand_reset.yml and the students plays of deploy_stand.yml and destroy_stand.yml): the
class handed to the module run, the input checks that refuse before the plan, and the per-machine lines of
the summaries."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.deploystand.proxmox.plugins.filter.networks import stand_stale_ifaces
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.lifecycle_input import (
    snapshot_name_problem,
)


def stand_snapshot_name_problem(name, field='stand_snapshot_name'):
    """'' when PVE accepts `name` as a snapshot name, else why not (pve-configid, at most 40 characters)."""
    return snapshot_name_problem(name, field) or ''


def stand_class_students(plan, userids, purpose='power', networks=None, handover=None):
    """The `students` of one class run: the plan's entry of each of `userids` (the play's student hosts, so
    `--limit` holds). `purpose`: power and snapshot (the machines), reset (with the node and bridges), deploy
    and destroy (pve_stand_student; never a password - stand_class_passwords gives those apart).

    deploy: `networks` maps a node to its pve_bridge result (`mapping`: userid -> alias -> bridge, `stale`),
    `handover` is the report's write-ahead (userid -> update_password; a student without one takes the
    module's own)."""
    wanted = set(userids)
    sdn = plan.get('sdn') or None
    out = []
    for student in plan['students']:
        userid = student['userid']
        if userid not in wanted:
            continue
        entry = dict(userid=userid, pool=student['pool'], machines=student['machines'])
        if purpose == 'reset':
            entry.update(node=student['node'],
                         bridges=dict((bridge['alias'], bridge['iface']) for bridge in student['bridges']))
        elif purpose == 'deploy':
            entry.update(_deploy_entry(student, sdn, (networks or {}).get(student['node']) or {}))
            entry['update_password'] = ((handover or {}).get(userid) or {}).get('update_password')
        elif purpose == 'destroy':
            vnets = [vnet for vnet in (sdn or {}).get('vnets') or [] if vnet['userid'] == userid]
            # a kept user loses its grants on the stand's bridges (by interface) or VNets (on their zone)
            entry.update(own_vms=student.get('own_vms') or [],
                         bridges=dict((v['vnet'], v['vnet']) for v in vnets) if vnets else
                         dict((b['iface'], b['iface']) for b in student.get('bridges') or []),
                         bridge_zone=sdn['zone'] if vnets else None)
        out.append(entry)
    return out


def _deploy_entry(student, sdn, network):
    """A deploy's node, bridges and stale grants of one student (its node's pve_bridge result `network`)."""
    userid = student['userid']
    if sdn:
        bridges = dict((v['network'], v['vnet']) for v in sdn.get('vnets') or [] if v['userid'] == userid)
    else:
        bridges = dict((network.get('mapping') or {}).get(userid) or {})
    return dict(node=student['node'], bridges=bridges,
                stale_bridges=stand_stale_ifaces(student.get('stale_grants') or [], [userid],
                                                 network.get('stale') or []))


def stand_class_passwords(plan, userids, handover=None):
    """userid -> the password a deploy hands to PVE (the write-ahead's, else the plan's), for the students of
    `userids` that have one: pve_stand_student's `passwords` (no_log), never in a `students` entry."""
    wanted = set(userids)
    out = {}
    for student in plan['students']:
        if student['userid'] in wanted:
            password = ((handover or {}).get(student['userid']) or {}).get('password') or student.get('password')
            if password:
                out[student['userid']] = password
    return out


def stand_class_networks(node_hostvars):
    """node -> its pve_bridge result, from the node hosts' variables (`deploystand_node`, `stand_network_result`)
    of this run; a node host that made no result gives none."""
    out = {}
    for host in node_hostvars or []:
        if host.get('deploystand_node') and host.get('stand_network_result'):
            out[host['deploystand_node']] = host['stand_network_result']
    return out


def stand_class_share(class_result, userid):
    """One student's share of a class run's registered result, for `stand_student_outcome` on its host.

    Why: each host templating the whole result made the outcome task quadratic in the class - 300 students
    took 41.8 s there (benchmarks/README.md, "Class-scale deploy: the class run"). A result without the student,
    or of a run that failed as a whole, is passed on whole (the action says what is wrong with it)."""
    students = (class_result or {}).get('students')
    if isinstance(students, dict) and userid in students:
        return {'students': {userid: students[userid]}}
    return class_result


def stand_node_network_line(node_result):
    """What a destroy's class run did to one node's network (pve_stand_student `networks[node]`), for that node's
    host: the failure, or the bridges deleted and those kept because a guest still uses them."""
    node_result = node_result or {}
    if node_result.get('failed'):
        return node_result.get('msg')
    line = 'deleted: ' + (', '.join(node_result.get('deleted') or []) or 'none')
    in_use = [bridge['iface'] for bridge in node_result.get('in_use') or []]
    if in_use:
        line += '; kept, in use: ' + ', '.join(in_use)
    return line


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
                'stand_class_passwords': stand_class_passwords,
                'stand_class_share': stand_class_share,
                'stand_class_networks': stand_class_networks,
                'stand_node_network_line': stand_node_network_line,
                'stand_lifecycle_lines': stand_lifecycle_lines}
