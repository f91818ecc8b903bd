# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shape of the teacher's input, before the plan (issue 13 items 4, 8 and 16).

read_inputs(variables) takes the raw play variables (what an action plugin sees: strings of
`-e @file.yml` not rendered) and returns {'stand', 'users', 'example_stand', 'notes'} as plain data -
str, not ansible-core's trusted-template strings - so that a password with `{{`, `{%` or `{#` reaches
PVE exactly as typed. It refuses, with one message saying what is missing, which keys were found and
how the file must look: a stand given without the `stand:` wrapper, `stand: null`, a stand that is not
a mapping, no class list (`user:` for `users:`), `users: null`."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib

# Keys only a stand has: one of them at the top level of the variables means the stand file lost
# its `stand:` wrapper (`name`, `node`, `start`... are too common to tell on their own).
STAND_ONLY_KEYS = ('machines', 'vmid_range', 'bridge_range', 'clone', 'management_bridge',
                   'memory_overcommit')
STAND_TOP_KEYS = ('name', 'clone', 'vmid_range', 'bridge_range', 'start', 'node', 'role', 'management_bridge',
                  'storage', 'format', 'memory_overcommit', 'machines', 'expires')
STAND_SHAPE = '`stand: {name: ..., machines: [...]}`'
USERS_SHAPE = ('`users: [student1@pve, {name: student2@pve, password: ...}]` (or, under AWX, the survey '
               'text stand_class with one name@realm a line)')
USERS_LOOKALIKES = ('user', 'student', 'students', 'class', 'accounts', 'learners', 'pupils', 'stand_users')


class StandInputError(Exception):
    pass


def plain(value):
    """A deep copy of value made of plain Python types: ansible-core 2.19 tags the strings it loaded
    from files as trusted templates (a str subclass); str() of one is an ordinary string, which is
    data and never rendered again."""
    if isinstance(value, dict):
        return dict((plain(k), plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return value


def _type_name(value):
    for kind, name in ((bool, 'a boolean'), (dict, 'a mapping'), (list, 'a list'), (str, 'a string'),
                       (int, 'a number'), (float, 'a number')):
        if isinstance(value, kind):
            return name
    return type(value).__name__


def _keys(mapping):
    return ', '.join(sorted(str(k) for k in mapping)) or 'none'


def _stand(variables, example, given):
    found = [k for k in STAND_TOP_KEYS if k in variables]
    if any(k in variables for k in STAND_ONLY_KEYS):
        raise StandInputError(
            'the extra vars look like a stand without the `stand:` wrapper: found keys {0} at the top level; '
            'the file must look like {1} (nothing was changed)'.format(', '.join(found), STAND_SHAPE))
    if given is not None:
        variables = dict(variables, stand=given)
    if 'stand' not in variables:
        raise StandInputError('no stand given: the variable `stand` is not defined; give a stand file (-e '
                              '@my_stand.yml), which must look like {0} (nothing was changed)'.format(STAND_SHAPE))
    stand = variables['stand']
    if stand is None:
        raise StandInputError('stand: is empty (null), found no keys under it; the file must look like {0} '
                              '(nothing was changed)'.format(STAND_SHAPE))
    if not isinstance(stand, dict):
        raise StandInputError('stand: expected a mapping, got {0}; the file must look like {1} (nothing was '
                              'changed)'.format(_type_name(stand), STAND_SHAPE))
    if 'stand' in stand and 'machines' not in stand:
        raise StandInputError('stand: holds a key `stand` (found keys {0}): the wrapper is given twice; the file '
                              'must look like {1} (nothing was changed)'.format(_keys(stand), STAND_SHAPE))
    stand = plain(stand)
    name = variables.get('stand_name')
    if isinstance(name, str) and name.strip():
        # an AWX survey's text renames the stand (docs/awx.md)
        stand = dict(stand, name=str(name).strip())
    is_example = example is not None and plain(example) == plain(variables['stand'])
    return stand, is_example


def _lookalikes(variables):
    names = [k for k in variables if isinstance(k, str)]
    near = set(difflib.get_close_matches('users', names, n=3, cutoff=0.75))
    near.update(k for k in USERS_LOOKALIKES if k in variables)
    near.discard('users')
    return sorted(near)


def _users(variables, given):
    if given is not None:
        variables = dict(variables, users=given)
    if 'users' in variables:
        users = variables['users']
        if users is None:
            raise StandInputError('users: is empty (null), found no students under it; the file must look like '
                                  '{0} (nothing was changed)'.format(USERS_SHAPE))
        return plain(users)
    text = variables.get('stand_class')
    if isinstance(text, str):
        lines = [line.strip() for line in str(text).splitlines()]
        return [line for line in lines if line and not line.startswith('#')]
    near = _lookalikes(variables)
    raise StandInputError(
        'no class list: the variable `users` is not defined{0}; the file must look like {1} (nothing was '
        'changed)'.format(' (found {0}: did you mean `users`?)'.format(', '.join('`%s`' % k for k in near))
                          if near else '', USERS_SHAPE))


_DOING = {'deploy': 'deploying', 'destroy': 'removing', 'power': 'powering', 'snapshot': 'snapshotting',
          'reset': 'resetting'}


def read_inputs(variables, example=None, purpose='deploy', stand=None, users=None):
    """{'stand', 'users', 'example_stand', 'notes'} from the raw play variables, or StandInputError.
    stand, users: values a caller gives instead of the variables of these names (already rendered by
    Ansible: the caller's own expression)."""
    stand, is_example = _stand(variables, example, stand)
    users = _users(variables, users)
    notes = []
    if is_example:
        notes.append('no stand file given: {0} the example stand {1!r} of playbooks/vars/example_stand.yml '
                     '(-e @my_stand.yml gives your own)'.format(
                         _DOING.get(purpose, 'using'), stand.get('name')))
    return {'stand': stand, 'users': users, 'example_stand': is_example, 'notes': notes}
