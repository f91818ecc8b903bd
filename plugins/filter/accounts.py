# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that turn the students' destroy results into the lines the destroy's summary shows."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def _vm(vm):
    return 'VM {0} ({1})'.format(vm.get('vmid'), vm.get('name'))


def stand_destroy_notes(summaries):
    """[student summary] -> one line per account the destroy kept (and why) and per VM a student made
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
        return {'stand_destroy_notes': stand_destroy_notes}
