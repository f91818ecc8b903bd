# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The credentials report as a ledger (issue 13 items 5, 6 and 7): pure logic, standard library only.

The ledger is `<dir>/<stand>-credentials.json`, the source of truth; the CSV, Markdown and HTML files are
rendered from it, every time, in one step. It is keyed by user id and never loses a password it once
held: a run merges its students into it (write_ahead() before PVE gets a password, merge_run() after),
students not in the run are kept and marked, accounts a destroy removed are marked `destroyed`.

Entry fields (the JSON's `students[]`, the CSV's columns):
  user, password, password_source ('this run' / 'earlier run' / NOT_SET), status (STATUSES), node, pool,
  vms (list), expires ('' when the stand sets none: the expiry work fills it), origin ('generated' /
  'given' / ''), updated (UTC, ISO 8601).
A ledger from before it existed (only `<stand>-credentials.csv`) is read once from the CSV."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import csv
import io
import json
import os
import tempfile
import time

from html import escape as _html_escape

SOURCE_THIS_RUN = 'this run'
SOURCE_EARLIER = 'earlier run'
NOT_SET = 'not set by this stand (an existing account keeps its own password)'

ACTIVE = 'active'                    # the account is on the cluster and the password was confirmed
PENDING = 'pending'                  # written before PVE got it, not confirmed since (a run was cut short)
NOT_IN_RUN = 'not in this run'       # kept from an earlier run: this run did not deploy the student
DESTROYED = 'destroyed'              # destroy_stand.yml removed the account
KEPT = 'stand removed, account kept'  # destroy removed the stand's part but the account is still used
STATUSES = (ACTIVE, PENDING, NOT_IN_RUN, DESTROYED, KEPT)

COLUMNS = ('user', 'password', 'password_source', 'node', 'pool', 'vms', 'status', 'expires')
FORMATS = ('json', 'csv', 'md', 'html')
CREATED_REALM = 'pve'
# what Ansible returns in place of a value of a no_log module option (a handed-over password)
NO_LOG_MASK = 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'
VERSION = 1


class ReportError(Exception):
    pass


def now():
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())


def path_of(directory, stand, fmt):
    return os.path.join(directory, '{0}-credentials.{1}'.format(stand, fmt))


def new_ledger(stand):
    return {'stand': stand, 'version': VERSION, 'students': []}


def entry(user, **fields):
    out = {'user': user, 'password': '', 'password_source': NOT_SET, 'node': '', 'pool': '', 'vms': [],
           'status': ACTIVE, 'expires': '', 'origin': '', 'updated': ''}
    out.update(fields)
    return out


# ----------------------------------------------------------------------------- reading

def parse_ledger(text, stand, where='the ledger'):
    """The ledger from the JSON text of <stand>-credentials.json; ReportError when it is not one (never
    overwritten then: it may hold the only copy of passwords)."""
    try:
        data = json.loads(text)
    except ValueError as err:
        raise ReportError('{0} is not valid JSON ({1}); it holds the class\'s passwords, so it is not '
                          'overwritten: repair it or move it away, then run again'.format(where, err)) from err
    if not isinstance(data, dict) or not isinstance(data.get('students'), list):
        raise ReportError('{0} is not a credentials ledger (a mapping with a list `students`); repair it or '
                          'move it away, then run again'.format(where))
    ledger = new_ledger(stand)
    for row in data['students']:
        if isinstance(row, dict) and isinstance(row.get('user'), str):
            known = dict((k, row[k]) for k in row if k in entry(''))
            if not isinstance(known.get('vms'), list):
                known['vms'] = [v for v in str(known.get('vms') or '').split(' ') if v]
            for key in ('password', 'password_source', 'node', 'pool', 'status', 'expires', 'origin', 'updated'):
                known[key] = '' if known.get(key) is None else str(known.get(key))
            ledger['students'].append(entry(**known))
    return ledger


def parse_csv(text, stand):
    """A ledger from a CSV an earlier version wrote (user,password,password_source,node,pool,vms)."""
    ledger = new_ledger(stand)
    for row in csv.DictReader(io.StringIO(text)):
        user = row.get('user')
        if not user:
            continue
        password = row.get('password') or ''
        source = row.get('password_source') or NOT_SET
        if source not in (SOURCE_THIS_RUN, SOURCE_EARLIER):
            password, source = '', NOT_SET
        ledger['students'].append(entry(
            user, password=password, password_source=SOURCE_EARLIER if password else NOT_SET,
            node=row.get('node') or '', pool=row.get('pool') or '',
            vms=[v for v in (row.get('vms') or '').split(' ') if v], status=row.get('status') or ACTIVE,
            expires=row.get('expires') or '', origin='generated' if password else ''))
    return ledger


def exists(directory, stand):
    """A ledger (or a report of an earlier version) of this stand is in the directory."""
    return any(os.path.exists(path_of(directory, stand, fmt)) for fmt in ('json', 'csv'))


def read_ledger(directory, stand):
    """The stand's ledger on disk: the JSON, else (a report of an earlier version) the CSV, else empty."""
    path = path_of(directory, stand, 'json')
    if os.path.exists(path):
        with io.open(path, encoding='utf-8') as handle:
            return parse_ledger(handle.read(), stand, where=path)
    path = path_of(directory, stand, 'csv')
    if os.path.exists(path):
        with io.open(path, encoding='utf-8', newline='') as handle:
            return parse_csv(handle.read(), stand)
    return new_ledger(stand)


def by_user(ledger):
    return dict((row['user'], row) for row in ledger['students'])


def _put(ledger, row):
    for index, old in enumerate(ledger['students']):
        if old['user'] == row['user']:
            ledger['students'][index] = row
            return
    ledger['students'].append(row)


def realm_of(userid):
    return userid.rsplit('@', 1)[-1] if '@' in userid else ''


# ----------------------------------------------------------------------------- the run

def write_ahead(ledger, students, generate, update_password='on_create', stamp=None):
    """Before any student is deployed: the password each student of this run gets, recorded first.

    students: the plan's entries of the students in this run (userid, password given or None,
    user_exists, user_owned, node, pool). generate: a callable returning a new password.
    Returns (ledger, handover, notes): handover {userid: {'password': str or None, 'update_password': mode}}
    is what pve_stand_student gets; notes say which accounts get a new password and why (no password in them).

    - a given password is recorded (pending until the run confirms it) and handed over;
    - a password the ledger holds is handed over again (a killed run's pending one included);
    - a user the stand will create, or a user of the stand whose password no report holds, gets a new
      generated one, recorded as pending before PVE gets it;
    - a user that exists without the stand's marker (it existed before the stand, or another stand made
      it) gets nothing: its password is not the stand's.
    Pending entries are handed over with update_password=recover: the module checks that the password logs
    in and sets it when it does not (only on a user the stand made)."""
    stamp = stamp or now()
    rows = by_user(ledger)
    handover, notes = {}, []
    for student in students:
        userid = student['userid']
        old = rows.get(userid)
        given = student.get('password')
        mode = update_password
        if realm_of(userid) != CREATED_REALM:
            handover[userid] = {'password': None, 'update_password': 'on_create'}
            continue
        usable = old is not None and old['password'] and old['status'] != DESTROYED
        if given:
            password, origin = given, 'given'
            pending = not (usable and old['password'] == given and old['status'] != PENDING)
        elif update_password == 'always':
            password, origin, pending = generate(), 'generated', True
        elif usable:
            password, origin, pending = old['password'], old.get('origin') or 'generated', old['status'] == PENDING
        elif student.get('user_exists') and not student.get('user_owned'):
            handover[userid] = {'password': None, 'update_password': update_password}
            continue
        else:
            password, origin, pending = generate(), 'generated', True
            if student.get('user_exists'):
                notes.append('{0}: the stand made this account but no report holds its password: it gets a new '
                             'one in this run (update_password=recover)'.format(userid))
        if pending and update_password != 'always':
            mode = 'recover'
        row = dict(old or entry(userid), password=password, origin=origin, node=student.get('node') or '',
                   pool=student.get('pool') or '', updated=stamp)
        if pending:
            row.update(status=PENDING, password_source=SOURCE_THIS_RUN)
        _put(ledger, row)
        handover[userid] = {'password': password, 'update_password': mode}
    return ledger, handover, notes


def merge_run(ledger, mode, summaries, scope, not_in_list=(), expires='', stamp=None):
    """After the run: this run's students as they ended, every other student kept and marked.

    mode: 'deploy' or 'destroy'. summaries: {userid: the stand_student role's summary} of the students
    that ran (userid, node, pool, vms, user_created, user_owned, password_set, password_confirmed,
    password (a password the module set itself), password_kept (why recover left the password alone),
    user_kept). scope: the user ids of this
    run (a student of the scope without a summary did not get that far: its entry stays as it was).
    not_in_list: students the plan found on the cluster but not in this class list (kept, marked)."""
    stamp = stamp or now()
    rows = by_user(ledger)
    for userid, summary in summaries.items():
        old = rows.get(userid)
        row = dict(old or entry(userid), node=summary.get('node') or (old or {}).get('node') or '',
                   pool=summary.get('pool') or (old or {}).get('pool') or '',
                   vms=list(summary.get('vms') or []), expires=expires or '', updated=stamp)
        if mode == 'destroy':
            row['status'] = KEPT if summary.get('user_kept') else DESTROYED
            _put(ledger, row)
            continue
        if summary.get('password') and summary.get('password_set') and not row['password'] \
                and summary['password'] != NO_LOG_MASK:
            row['password'] = summary['password']           # generated by the module itself (none handed over)
        if summary.get('password_set') and row['password']:
            row.update(password_source=SOURCE_THIS_RUN, status=ACTIVE)
        elif summary.get('password_confirmed') and row['password']:
            row.update(password_source=SOURCE_EARLIER, status=ACTIVE)
        elif summary.get('password_kept') or not summary.get('user_owned') or not row['password']:
            # an account the stand did not make (or shares with the stand that made it): not its password
            row.update(password='', password_source=NOT_SET, status=ACTIVE, origin='')
        elif row['status'] == PENDING:
            pass                                            # handed over, never confirmed: stays pending
        else:
            row.update(password_source=SOURCE_EARLIER, status=ACTIVE)
        _put(ledger, row)
    ran = set(summaries) | set(scope)
    for row in ledger['students']:
        # a deploy marks who it left out; a destroy of some students says nothing about the others
        if mode == 'deploy' and row['user'] not in ran and row['status'] == ACTIVE:
            row['status'] = NOT_IN_RUN
            if row['password']:
                row['password_source'] = SOURCE_EARLIER
    for userid in not_in_list:
        if userid not in rows and userid not in summaries:
            _put(ledger, entry(userid, status=NOT_IN_RUN, updated=stamp))
    return ledger


def counts(ledger):
    out = dict((s, 0) for s in STATUSES)
    for row in ledger['students']:
        out[row['status']] = out.get(row['status'], 0) + 1
    return out


# ----------------------------------------------------------------------------- rendering

def rows_in_order(ledger):
    """Students of this stand first in the order they were added; that order is kept across runs."""
    return list(ledger['students'])


def render_json(ledger):
    data = {'stand': ledger['stand'], 'version': VERSION,
            'students': [dict((k, row.get(k)) for k in COLUMNS + ('origin', 'updated')) for row in ledger['students']]}
    return json.dumps(data, indent=1, ensure_ascii=False, sort_keys=False) + '\n'


def csv_field(value, always=False):
    """One CSV field (RFC 4180): quoted when it holds a comma, a quote, a line break or edge spaces, quotes
    doubled; the password is always quoted, as the reports of earlier versions had it."""
    text = str(value)
    if always or any(c in text for c in ',"\r\n') or text != text.strip():
        return '"' + text.replace('"', '""') + '"'
    return text


def render_csv(ledger):
    lines = [','.join(COLUMNS)]
    for row in rows_in_order(ledger):
        lines.append(','.join(csv_field(' '.join(row['vms']) if key == 'vms' else row[key], always=key == 'password')
                              for key in COLUMNS))
    return '\n'.join(lines) + '\n'


# Markdown: any ASCII punctuation character may be backslash-escaped (CommonMark 2.4); text cells escape
# the ones that start markup in a table cell (emphasis, code, links, HTML, entities, the cell `|`). A code
# span takes its content literally, so the password goes in a code span whose fence is longer than any
# backtick run in it, with only `|` escaped (GFM tables split cells on an
# unescaped `|`, also inside code spans, and drop the backslash of `\|`). Newlines end a table row.
_MD_PUNCTUATION = '\\`*_[]<>|~&'


def md_text(value):
    text = ' '.join(str(value).splitlines())
    return ''.join('\\' + c if c in _MD_PUNCTUATION else c for c in text)


def md_code(value):
    text = ' '.join(str(value).splitlines())
    if not text:
        return ''
    longest, run = 0, 0
    for char in text:
        run = run + 1 if char == '`' else 0
        longest = max(longest, run)
    fence = '`' * (longest + 1)
    pad = ' ' if text[0] in '` ' or text[-1] in '` ' else ''
    return fence + pad + text.replace('|', '\\|') + pad + fence


def render_md(ledger):
    lines = ['# Stand {0}: student accounts'.format(md_text(ledger['stand'])), '',
             'Log in at the Proxmox VE web interface with the user name (realm included) and the password below.',
             'Status: `active` works now; `pending` was written before PVE got it and is not confirmed yet; '
             '`not in this run` was kept from an earlier run; `destroyed` the account was removed.', '',
             '| user | password | password from | status | node | pool | machines | expires |',
             '|---|---|---|---|---|---|---|---|']
    for row in rows_in_order(ledger):
        lines.append('| {0} | {1} | {2} | {3} | {4} | {5} | {6} | {7} |'.format(
            md_text(row['user']), md_code(row['password']), md_text(row['password_source']),
            md_text(row['status']), md_text(row['node']), md_text(row['pool']), md_text(', '.join(row['vms'])),
            md_text(row['expires'])))
    return '\n'.join(lines) + '\n'


def h(value):
    return _html_escape(str(value), quote=True)


def render_html(ledger):
    out = ['<!DOCTYPE html>', '<html lang="en">',
           '<head><meta charset="utf-8"><title>Stand {0}: student accounts</title>'.format(h(ledger['stand'])),
           '<style>',
           'body { font-family: sans-serif; }',
           '.card { border: 1px dashed #888; padding: 1em; margin: 0.5em; width: 22em; display: inline-block; '
           'vertical-align: top; page-break-inside: avoid; }',
           '.card.inactive { opacity: 0.5; }',
           'code { font-size: 1.2em; }',
           '</style></head>', '<body>', '<h1>Stand {0}</h1>'.format(h(ledger['stand']))]
    for row in rows_in_order(ledger):
        live = row['status'] in (ACTIVE, PENDING)
        out.extend([
            '<div class="card{0}" data-status="{1}">'.format('' if live else ' inactive', h(row['status'])),
            '<p>User: <code class="user">{0}</code></p>'.format(h(row['user'])),
            '<p>Password: <code class="password">{0}</code> <small>({1})</small></p>'.format(
                h(row['password']), h(row['password_source'])),
            '<p>Status: <span class="status">{0}</span>{1}</p>'.format(
                h(row['status']), ' &middot; Expires: <span class="expires">{0}</span>'.format(h(row['expires']))
                if row['expires'] else ''),
            '<p>Node: {0} &middot; Pool: {1}</p>'.format(h(row['node']), h(row['pool'])),
            '<p>Machines: {0}</p>'.format(h(', '.join(row['vms']))),
            '</div>'])
    out.extend(['</body>', '</html>'])
    return '\n'.join(out) + '\n'


RENDER = {'json': render_json, 'csv': render_csv, 'md': render_md, 'html': render_html}


def artifact(ledger):
    """The credentials as data for the AWX job artifact: the JSON's rows."""
    return json.loads(render_json(ledger))


def summary_lines(summaries):
    """The summary table of the run (never a password): student, node, changed, VMs, bridges."""
    fmt = '%-24s %-10s %-8s %-40s %s'
    lines = [fmt % ('student', 'node', 'changed', 'VMs (name:vmid)', 'bridges')]
    for row in summaries:
        bridges = ' '.join('%s=%s' % (k, v) for k, v in sorted((row.get('bridges') or {}).items()))
        lines.append(fmt % (row.get('userid'), row.get('node') or '', bool(row.get('changed')),
                            ' '.join(row.get('vms') or []), bridges))
    return lines


# ----------------------------------------------------------------------------- writing

def _write_private(path, text):
    """Write text to path with mode 0600, atomically (a temporary file in the same directory, renamed)."""
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix='.' + os.path.basename(path) + '.', dir=directory)
    try:
        os.fchmod(fd, 0o600)
        with io.open(fd, 'w', encoding='utf-8', newline='') as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_all(directory, ledger):
    """Every format from the one ledger, the JSON (the source of truth) first; the directory is created
    with mode 0700 when missing. Returns the paths written."""
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o700)
    paths = []
    for fmt in FORMATS:
        path = path_of(directory, ledger['stand'], fmt)
        _write_private(path, RENDER[fmt](ledger))
        paths.append(path)
    return paths
