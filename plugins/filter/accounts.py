# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the students' outcome: one student's summary (role stand_student) and the lines the destroy's
summary shows."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.report import student_summary


def _vm(vm):
    return 'VM {0} ({1})'.format(vm.get('vmid'), vm.get('name'))


def stand_student_summary(result, mode, plan_student, bridges=None):
    """A pve_stand_student result -> the student's summary for the report (stand/report.py student_summary;
    never the password)."""
    return student_summary(mode, plan_student or {}, result, bridges)


def stand_destroy_notes(summaries):
    """[student summary or result] -> one line per account the destroy kept (and why) and per VM a student made
    in its pool (removed or kept): what a teacher must know is not simply gone."""
    out = []
    for row in summaries or []:
        if not isinstance(row, dict):
            continue
        userid = row.get('userid')
        if row.get('user_kept'):
            out.append('{0}: account kept - {1}'.format(userid, row['user_kept']))
        for action in ('kept', 'removed'):
            vms = [vm for vm in row.get('own_vms') or [] if vm.get('action') == action]
            if vms:
                out.append('{0}: {1} {2}, made by the student in its pool {3}'.format(
                    userid, action, ', '.join(_vm(vm) for vm in vms), row.get('pool')))
    return out


class FilterModule(object):
    def filters(self):
        return {'stand_destroy_notes': stand_destroy_notes, 'stand_student_summary': stand_student_summary}
