# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The status of a class (stand_status.class_status) as the terminal table, CSV, JSON and the HTML
page of cards, and the files they go to. Pure Python, standard library only; the page style and the
network picture are html_page.py's (shared with the credentials handout)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import tempfile

from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.csv_sheet import csv_text
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.html_page import (
    bullet_list, card, esc, link, network_svg, page, table,
)

WIDTH = 100
MiB = 1024 * 1024
TABLE_FORMAT = '{0:<18} {1:<10} {2:>6} {3:<7} {4:<8} {5:>6} {6:>6} {7:<15} {8}'
CSV_COLUMNS = ('stand', 'userid', 'pool', 'student_node', 'student_ok', 'machine', 'name', 'vmid', 'node', 'status',
               'uptime', 'memory_mb', 'address', 'addresses', 'agent', 'snapshots', 'nics', 'drift')
FORMATS = ('csv', 'json', 'html')


def duration(seconds):
    """'45s', '12m', '3h05m', '2d04h' (uptime in the table)."""
    seconds = int(seconds or 0)
    if seconds <= 0:
        return '-'
    if seconds < 60:
        return '{0}s'.format(seconds)
    if seconds < 3600:
        return '{0}m'.format(seconds // 60)
    if seconds < 86400:
        return '{0}h{1:02d}m'.format(seconds // 3600, seconds % 3600 // 60)
    return '{0}d{1:02d}h'.format(seconds // 86400, seconds % 86400 // 3600)


def _cut(text, width):
    text = '' if text is None else str(text)
    return text if len(text) <= width else text[:max(0, width - 1)] + '~'


def _address(machine):
    if machine['address']:
        return machine['address']
    return '-' if machine['status'] != 'running' else 'no address'


def _snapshots(machine):
    return ','.join(s['name'] for s in machine['snapshots']) or '-'


def status_table(status):
    """Lines for the terminal, at most WIDTH columns: one per machine, then each student's drift and
    problems, then the summary."""
    lines = [TABLE_FORMAT.format('student', 'machine', 'vmid', 'node', 'power', 'uptime', 'memory', 'address',
                                 'snapshots')]
    for student in status['students']:
        mark = '' if student['ok'] else '!'
        for index, m in enumerate(student['machines']):
            who = (mark + student['userid']) if index == 0 else ''
            lines.append(TABLE_FORMAT.format(
                _cut(who, 18), _cut(m['machine'], 10), m['vmid'] or '-', _cut(m['node'] or '-', 7),
                _cut(m['status'], 8), duration(m['uptime']), '{0}M'.format(m['memory'] // MiB) if m['memory'] else '-',
                _cut(_address(m), 15), _cut(_snapshots(m), 24)).rstrip())
        for item in student['extra_vms']:
            lines.append(TABLE_FORMAT.format('', '(extra)', item['vmid'], _cut(item['node'] or '-', 7),
                                             _cut(item['status'] or '?', 8), '', '', '', '').rstrip())
        for drift in student['drift']:
            lines.append(_cut('  drift ({0}): {1}'.format(drift['kind'], drift['message']), WIDTH))
        for problem in student['problems']:
            lines.append(_cut('  problem: {0}'.format(problem), WIDTH))
    s = status['summary']
    lines.append(_cut('{0}: {1}/{2} student(s) ok, {3}/{4} machine(s) running, {5} missing, {6} drift item(s)'.format(
        status['stand'], s['ok'], s['students'], s['running'], s['machines'], s['missing'], s['drift']), WIDTH))
    # look-alikes no student owns (a VM tagged for the stand outside its pools, a marked user without pool)
    for item in status.get('look_alikes') or []:
        if not item.get('userid') or item['userid'] not in [st['userid'] for st in status['students']]:
            lines.append(_cut('look-alike: {0} {1}: {2}'.format(item['kind'], item['id'], item['why']), WIDTH))
    lines.extend(_cut('not seen: ' + w, WIDTH) for w in status.get('unseen') or [])
    return lines


def status_rows(status):
    rows = []
    for student in status['students']:
        base = {'stand': status['stand'], 'userid': student['userid'], 'pool': student['pool'],
                'student_node': student['node'] or '', 'student_ok': student['ok']}
        for m in student['machines']:
            row = dict(base, machine=m['machine'], name=m['name'] or '', vmid=m['vmid'] or '', node=m['node'] or '',
                       status=m['status'], uptime=m['uptime'], memory_mb=m['memory'] // MiB if m['memory'] else '',
                       address=m['address'] or '', addresses=' '.join(a['address'] for a in m['addresses']),
                       agent=m['agent'] or '',
                       snapshots=' '.join('{0}@{1}'.format(s['name'], s['at'] or '') for s in m['snapshots']),
                       nics=' '.join('{0}={1}'.format(n['nic'], n['bridge'] or '-') for n in m['nics']),
                       drift='; '.join(d['message'] for d in student['drift'] if d['machine'] == m['machine']))
            rows.append(row)
        for item in student['extra_vms']:
            rows.append(dict(base, machine='', name=item['name'] or '', vmid=item['vmid'], node=item['node'] or '',
                             status=item['status'] or '', uptime='', memory_mb='', address='', addresses='', agent='',
                             snapshots='', nics='', drift='extra: ' + item['why']))
    return rows


def status_csv(status):
    return csv_text(CSV_COLUMNS, status_rows(status))


def status_json(status):
    return json.dumps(status, indent=2, sort_keys=True) + '\n'


def _machine_rows(student):
    rows = []
    for m in student['machines']:
        addresses = ', '.join(a['address'] for a in m['addresses']
                              if a.get('interface') not in ('lo', 'lo0')) or _address(m)
        snaps = ', '.join('{0} ({1})'.format(s['name'], (s['at'] or '')[:16].replace('T', ' ')) for s in m['snapshots'])
        rows.append((m['machine'], m['vmid'] or '-', m['node'] or '-', m['status'], duration(m['uptime']),
                     '{0} MiB'.format(m['memory'] // MiB) if m['memory'] else '-', addresses, snaps or '-'))
    for item in student['extra_vms']:
        rows.append(('(extra) ' + (item['name'] or ''), item['vmid'], item['node'] or '-', item['status'] or '?',
                     '', '', '', ''))
    return rows


def student_card(status, student, web_url):
    bridges = {}
    for bridge in student['bridges']:
        bridges.setdefault(bridge['alias'], bridge['iface'])
    body = [table(('machine', 'VM', 'node', 'power', 'uptime', 'memory', 'addresses', 'snapshots'),
                  _machine_rows(student), mono=(1, 6))]
    body.append(bullet_list(['{0}: {1}'.format(d['kind'], d['message']) for d in student['drift']]
                            + student['problems'], css='problems'))
    body.append('<p>Proxmox VE: {0}</p>'.format(link(web_url) if web_url else esc('-')))
    body.append(network_svg(status['networks'], labels=bridges))
    running = sum(1 for m in student['machines'] if m['status'] == 'running')
    subtitle = 'pool {0} - node {1} - {2}/{3} running'.format(
        student['pool'], student['node'] or '-', running, len(student['machines']))
    return card(student['userid'], ''.join(body), state='ok' if student['ok'] else 'bad',
                badge='OK' if student['ok'] else ('DRIFT' if student['drift'] else 'ATTENTION'), subtitle=subtitle)


def status_html(status, web_url=None, generated=None):
    s = status['summary']
    intro = '{0}/{1} students ok, {2}/{3} machines running, {4} drift item(s)'.format(
        s['ok'], s['students'], s['running'], s['machines'], s['drift'])
    cards = [student_card(status, student, web_url) for student in status['students']]
    footer = 'deploystand.proxmox stand_status.yml' + (' - ' + generated if generated else '')
    if status.get('unseen'):
        footer += ' - not seen: ' + '; '.join(status['unseen'])
    return page('{0}: status'.format(status['stand']), cards, intro=intro, footer=footer)


def render(status, web_url=None, generated=None):
    """{'csv': text, 'json': text, 'html': text}: every file format in one step."""
    return {'csv': status_csv(status), 'json': status_json(status),
            'html': status_html(status, web_url=web_url, generated=generated)}


def write_reports(directory, stand, contents):
    """Writes <directory>/<stand>-status.<ext> for each format (files 0600, the directory made 0700 when
    missing), each replaced atomically. Returns the paths."""
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o700)
    paths = []
    for ext in FORMATS:
        path = os.path.join(directory, '{0}-status.{1}'.format(stand, ext))
        handle, tmp = tempfile.mkstemp(prefix='.{0}-status.'.format(stand), dir=directory)
        try:
            with os.fdopen(handle, 'w') as out:
                out.write(contents[ext])
            os.chmod(tmp, 0o600)
            os.rename(tmp, path)
        except Exception:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        paths.append(path)
    return paths
