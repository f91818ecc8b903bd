# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin deploystand.proxmox.stand_inputs: the teacher's `stand` and `users` exactly as typed.

With ansible-core 2.19 every string of `-e @users.yml` is a trusted template: an expression that touches
it (a role variable `{{ users }}`, an argument spec check) renders it, so a password `Ab{{ 7*7 }}cdef`
reaches PVE as `Ab49cdef`. An action plugin sees the raw variables: this one reads them, checks their
shape (the `stand:` wrapper, a class list) and returns them as plain data, which Ansible never renders
again (docs/decisions.md "Teacher input is data, not templates"). The logic is in
module_utils/stand/input_shape.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.plugins.action import ActionBase

from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.input_shape import (
    StandInputError, read_inputs,
)

try:
    import yaml
except ImportError:      # pragma: no cover - ansible-core requires PyYAML
    yaml = None


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(('example_file', 'purpose', 'stand', 'users'))

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        example = None
        path = self._task.args.get('example_file')
        if path and yaml is not None and os.path.isfile(path):
            with open(path, encoding='utf-8') as handle:
                example = (yaml.safe_load(handle) or {}).get('stand')
        try:
            inputs = read_inputs(task_vars, example=example, purpose=self._task.args.get('purpose') or 'deploy',
                                 stand=self._task.args.get('stand'), users=self._task.args.get('users'))
        except StandInputError as err:
            result.update(failed=True, msg=str(err))
            return result
        result.update(changed=False, **inputs)
        return result
