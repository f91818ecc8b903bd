# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter reading the passwords of an earlier credentials report, so a re-run keeps them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import csv
import io


def stand_report_passwords(csv_text):
    """{user: password} of a credentials CSV written by an earlier run (rows without a password left out)."""
    found = {}
    for row in csv.DictReader(io.StringIO(csv_text or '')):
        if row.get('user') and row.get('password') and row.get('password_source') in ('this run', 'earlier run'):
            found[row['user']] = row['password']
    return found


class FilterModule(object):
    def filters(self):
        return {'stand_report_passwords': stand_report_passwords}
