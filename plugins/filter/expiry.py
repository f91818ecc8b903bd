# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters on a stand's end (stand.expires; module_utils/expiry.py): the UTC stamp of an epoch, and
the stands of a listing whose end has passed (what stand_cleanup.yml removes)."""
from __future__ import absolute_import, division, print_function

from ansible_collections.deploystand.proxmox.plugins.module_utils import expiry as expirylib

__metaclass__ = type


def stand_expiry_stamp(epoch):
    """1801439999 | deploystand.proxmox.stand_expiry_stamp -> '2027-01-31T23:59:59Z' (None for 0 / none)."""
    try:
        return expirylib.stamp(int(epoch or 0))
    except (TypeError, ValueError):
        return None


def stand_cleanup_selection(listing, names=None, now=None):
    """The stands of a pve_stand_info result that stand_cleanup.yml removes, as a list of
    {stand, students, expires, expires_at}, sorted by name: those whose end has passed (a stand without
    an end never), or - when names are given - those of the names whose end has passed. Each stand's
    students are the userids its own pools name (no users.yml needed)."""
    wanted = set(names or [])
    out = []
    for name, stand in sorted(((listing or {}).get('stands') or {}).items()):
        if wanted and name not in wanted:
            continue
        if not expirylib.expired(stand.get('expires'), now):
            continue
        out.append({'stand': name, 'students': sorted(stand.get('students') or {}),
                    'expires': stand.get('expires'), 'expires_at': stand.get('expires_at')})
    return out


class FilterModule(object):
    def filters(self):
        return {'stand_expiry_stamp': stand_expiry_stamp, 'stand_cleanup_selection': stand_cleanup_selection}
