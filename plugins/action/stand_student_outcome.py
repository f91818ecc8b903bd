# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin deploystand.proxmox.stand_student_outcome: one student's share of a class run.

The day-2 playbooks run pve_stand_power / pve_stand_snapshot once for the whole class (`students`,
ops/class_run.py) and then, on each student host, this action: it returns that student's result as the
host's own (changed, failed, msg, machines, diff, warnings), so the recap, `--limit` retries and AWX's
host events name each student as when every student had its own module run. No process, no API call.
A password in the student's result (pve_stand_student sets one) is never the host's: the class result,
registered with no_log, keeps it for the report."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(('class_result', 'userid'))

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        userid = self._task.args.get('userid')
        class_result = self._task.args.get('class_result') or {}
        students = class_result.get('students')
        if not isinstance(students, dict) and class_result.get('msg'):
            # the class run failed as a whole (bad input, no connection): every student fails with its message
            result.update(failed=True, msg=class_result['msg'])
        elif not isinstance(students, dict):
            result.update(failed=True, msg='class_result is not the result of a class run (no students)')
        elif userid not in students:
            result.update(failed=True, msg='{0}: not in the class run (its result lists {1})'.format(
                userid, ', '.join(sorted(students)) or 'no student'))
        else:
            result.update((key, value) for key, value in students[userid].items() if key != 'password')
        return result
