# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The `stand_limit` extra variable of every playbook as a list of user ids (docs/playbooks.md)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def stand_limit_ids(value):
    """`-e stand_limit=student3@pve,student4@pve`, a YAML list, or an AWX survey's text -> the user ids, trimmed,
    empty ones dropped; nothing given (none, '', []) -> [] (the whole class)."""
    if not value:
        return []
    items = value.split(',') if isinstance(value, str) else value
    return [str(item).strip() for item in items if str(item).strip()]


class FilterModule(object):
    def filters(self):
        return {'stand_limit_ids': stand_limit_ids}
