# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that present a pve_stand_info result: the terminal table, the CSV rows and text
(playbooks/stand_list.yml)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.csv_sheet import csv_text
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.info import stand_vms

CSV_COLUMNS = ('stand', 'userid', 'pool', 'user_owned', 'expires_at', 'expire_at', 'vmid', 'name', 'machine', 'node', 'status',
               'memory_mb', 'address', 'created_at', 'bridges', 'complete', 'problems')
TABLE_FORMAT = '{0:<20} {1:<24} {2:<10} {3:>7} {4:>7} {5:<10} {6:<10} {7:<6} {8}'
MiB = 1024 * 1024


def _bridges(student):
    return ' '.join('{0}={1}@{2}'.format(b['alias'], b['iface'], b['node']) for b in student['bridges'])


def _student_row(stand, student, vm):
    row = {'stand': stand['stand'], 'userid': student['userid'], 'pool': student['pool'],
           'user_owned': student['user']['owned'], 'expire_at': student['user']['expire_at'] or '',
           'expires_at': student.get('expires_at') or '',
           'bridges': _bridges(student), 'complete': student['complete'], 'problems': '; '.join(student['problems'])}
    vm = vm or {}
    row.update(vmid=vm.get('vmid', ''), name=vm.get('name', ''), machine=vm.get('machine') or '',
               node=vm.get('node', ''), status=vm.get('status', ''),
               memory_mb=(vm['maxmem'] // MiB) if vm.get('maxmem') else '', address=vm.get('address') or '',
               created_at=vm.get('created_at') or '')
    return row


def stand_list_rows(info):
    """One row per stand VM (and one per student without any VM), the columns of CSV_COLUMNS."""
    rows = [_student_row(stand, student, vm) for stand, student, vm in stand_vms(info)]
    for name in sorted(info.get('stands') or {}):
        stand = info['stands'][name]
        rows.extend(_student_row(stand, s, None) for _u, s in sorted(stand['students'].items()) if not s['vms'])
    rows.sort(key=lambda r: (r['stand'], r['userid'], str(r['vmid'])))
    return rows


def stand_list_csv(info):
    """The rows as CSV text, with a header line."""
    return csv_text(CSV_COLUMNS, stand_list_rows(info))


def _state(student):
    # the problems themselves follow the table's lines (they do not fit in a column)
    return 'ok' if student['complete'] else 'INCOMPLETE'


def _date(iso):
    return (iso or '-')[:10]


def stand_list_table(info):
    """Lines for the terminal: one per student, then the look-alikes and what could not be seen."""
    lines = [TABLE_FORMAT.format('stand', 'student', 'nodes', 'running', 'memory', 'created', 'expires',
                                 'state', 'bridges')]
    for name in sorted(info.get('stands') or {}):
        stand = info['stands'][name]
        for userid in sorted(stand['students']):
            s = stand['students'][userid]
            running = sum(1 for vm in s['vms'] if vm['status'] == 'running')
            lines.append(TABLE_FORMAT.format(
                name, userid, ','.join(s['nodes']) or '-', '{0}/{1}'.format(running, len(s['vms'])),
                '{0:.1f}G'.format(s['memory'] / 1024.0 ** 3), _date(s['created_at']),
                _date(s.get('expires_at') or s['user']['expire_at']),
                _state(s), ' '.join(b['alias'] + '=' + b['iface'] for b in s['bridges']) or '-'))
    if not info.get('stands'):
        lines.append('(no stand found)')
    stands = info.get('stands') or {}
    lines.append('{0} stand(s), {1} student(s), {2} VM(s)'.format(
        len(stands), sum(len(s['students']) for s in stands.values()), sum(s['vm_count'] for s in stands.values())))
    for name in sorted(stands):
        for userid, student in sorted(stands[name]['students'].items()):
            lines.extend('incomplete: {0} {1}: {2}'.format(name, userid, p) for p in student['problems'])
    for item in info.get('look_alikes') or []:
        lines.append('look-alike of stand {0}: {1} {2}{3}: {4}'.format(
            item['stand'], item['kind'], item['id'], ' on ' + item['node'] if item.get('node') else '', item['why']))
    for warning in info.get('unseen') or []:
        lines.append('not seen: ' + warning)
    return lines


class FilterModule(object):
    """deploystand.proxmox stand listing filters."""

    def filters(self):
        return {'stand_list_csv': stand_list_csv,
                'stand_list_table': stand_list_table}
