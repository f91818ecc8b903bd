# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters on a stand's end (stand.expires; module_utils/expiry.py): the UTC stamp of an epoch, and
the stands of a listing whose end has passed (what stand_cleanup.yml removes)."""
from __future__ import absolute_import, division, print_function

import re

from ansible_collections.deploystand.proxmox.plugins.module_utils.stand import expiry as expirylib

__metaclass__ = type

MACHINE_NAME_RE = re.compile(r'^[a-z0-9]([a-z0-9-]*[a-z0-9])?$')
NOT_USED = 'not-used-by-the-removal'
NOT_USED_BRIDGE = 'vmbr0'


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
                    'expires': stand.get('expires'), 'expires_at': stand.get('expires_at'),
                    'removal': removal_stand(name, stand)})
    return out


def removal_stand(name, stand):
    """The `stand` value the removal plan (pve_stand_plan purpose=destroy) needs, from the listing: the name and
    the machine names its VMs show. The removal plan reads the stand's objects from the cluster by their markers
    and uses the machine names only to recognise an untagged clone an interrupted deploy left; it checks no
    template or network (stand.plan_removal), so those entries say only that they are not used."""
    names = sorted(set(vm.get('machine') for s in (stand.get('students') or {}).values() for vm in s.get('vms') or []
                       if vm.get('machine') and MACHINE_NAME_RE.match(vm['machine'])))
    return {'name': name, 'machines': [{'name': machine, 'template': NOT_USED, 'networks': [NOT_USED_BRIDGE]}
                                       for machine in names or ['none']]}


def stand_cleanup_nodes(plans):
    """[[stand, node], ...] of the removal plans ({stand: plan}): the nodes where each stand has private bridges."""
    return [[name, node] for name in sorted(plans or {}) for node in sorted((plans[name] or {}).get('nodes') or {})]


def stand_cleanup_lines(listing, selection, check_mode=False):
    """What stand_cleanup.yml does, one line per stand of the listing: removed (or would be), or kept and why."""
    going = dict((item['stand'], item) for item in selection or [])
    lines = []
    for name, stand in sorted(((listing or {}).get('stands') or {}).items()):
        if name in going:
            lines.append('{0} {1}: ended {2}; students {3}'.format(
                'would remove' if check_mode else 'removing', name, going[name]['expires_at'],
                ', '.join(going[name]['students'])))
        elif stand.get('expires'):
            lines.append('keeping {0}: ends {1}'.format(name, stand.get('expires_at')))
        else:
            lines.append('keeping {0}: it has no end (stand.expires, on every student pool)'.format(name))
    return lines or ['no stand on the cluster']


class FilterModule(object):
    def filters(self):
        return {'stand_expiry_stamp': stand_expiry_stamp, 'stand_cleanup_selection': stand_cleanup_selection,
                'stand_cleanup_nodes': stand_cleanup_nodes, 'stand_cleanup_lines': stand_cleanup_lines}
