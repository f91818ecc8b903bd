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
  'given' / ''), updated (UTC, ISO 8601); for the handout's cards, in the JSON only: bridges ({network:
  the student's bridge or VNet}) and network (the plan's machines with their networks, as
  html_page.network_svg draws them), both set by a deploy's final step (empty in older ledgers).
A ledger from before it existed (only `<stand>-credentials.csv`) is read once from the CSV.

The HTML is the handout: html_page's cards, one per student and per printed sheet, each with the Proxmox VE
web address and the picture of the student's network."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import csv
import io
import json
import os
import tempfile
import time

from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.expiry import stamp as expiry_stamp
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.html_page import cards_page, router_first

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
JSON_ONLY = ('origin', 'updated', 'bridges', 'network')
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
           'status': ACTIVE, 'expires': '', 'origin': '', 'updated': '', 'bridges': {}, 'network': []}
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
            known['bridges'] = bridges_read(known.get('bridges'))
            known['network'] = network_read(known.get('network'))
            ledger['students'].append(entry(**known))
    return ledger


def bridges_read(value):
    """The ledger's {network: bridge} as strings; anything else (an older or hand-edited ledger) is none."""
    if not isinstance(value, dict):
        return {}
    return dict((str(k), str(v)) for k, v in value.items() if v is not None)


def network_read(value):
    """The ledger's network picture, only its well-formed machines (a hand-edited ledger must not break
    the handout): [{'machine', 'device_type', 'networks': [{'name', 'private', 'management'}]}]."""
    machines = []
    for machine in value if isinstance(value, list) else []:
        if not isinstance(machine, dict) or not isinstance(machine.get('networks'), list):
            continue
        networks = [{'name': str(n['name']), 'private': bool(n.get('private')), 'management': bool(n.get('management'))}
                    for n in machine['networks'] if isinstance(n, dict) and n.get('name')]
        machines.append({'machine': str(machine.get('machine') or ''), 'device_type': str(machine.get('device_type') or ''),
                         'networks': networks})
    return machines


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


def network_of(plan_machines):
    """The picture of a student's network from the plan's machines (pve_stand_plan's students[].machines):
    a student's private network is an alias of the stand (its bridge is the student's own), any other a
    shared bridge; an EcoRouter's net0 is the management port."""
    machines = []
    for machine in plan_machines or []:
        networks = [{'name': n.get('alias') or n.get('bridge') or '', 'private': bool(n.get('alias')),
                     'management': bool(n.get('management'))} for n in machine.get('networks') or []]
        machines.append({'machine': machine.get('machine') or '', 'device_type': machine.get('device_type') or '',
                         'networks': [n for n in networks if n['name']]})
    return router_first(machines)


def networks_of(plan_students):
    """{userid: network_of(its machines)} of the plan's students that have machines."""
    return dict((s['userid'], network_of(s['machines'])) for s in plan_students or []
                if s.get('userid') and s.get('machines'))


def student_summary(mode, plan_student, result, bridges=None):
    """What one student's run came to, as merge_run and the summary table read it (the stand_student role's
    `stand_student_summary`): from pve_stand_student's result (what it reached, a failed one included) and the
    plan's entry. `bridges` (alias -> bridge or VNet) defaults to the result's. Never the password: merge_run
    takes the one the module set itself from the result (`password`), and no summary shown in a log holds it."""
    result = result or {}
    machines = result.get('machines') or []
    summary = dict(userid=plan_student.get('userid') or result.get('userid'),
                   node=plan_student.get('node') or result.get('node') or '',
                   pool=plan_student.get('pool') or result.get('pool'),
                   changed=bool(result.get('changed')))
    if mode == 'destroy':
        summary.update(vms=[m['name'] for m in machines], bridges={}, user_created=False, password_set=False,
                       user_kept=result.get('user_kept') or '', own_vms=list(result.get('own_vms') or []))
        return summary
    summary.update(vms=['{0}:{1}'.format(m['name'], m['vmid']) for m in machines],
                   bridges=dict(result.get('bridges') or {} if bridges is None else bridges),
                   user_created=bool(result.get('user_created')), password_set=bool(result.get('password_set')),
                   expire=result.get('expire'), expires_at=expiry_stamp(result.get('expire') or 0),
                   password_confirmed=bool(result.get('password_confirmed')),
                   password_kept=result.get('password_kept') or '', user_owned=bool(result.get('user_owned')))
    return summary


def with_set_password(summary, result):
    """The summary for merge_run with the password the module set itself in this run (update_password=always
    without a handover), when `result` holds one: kept out of student_summary, which may be shown in a log."""
    if (result or {}).get('password'):
        summary = dict(summary, password=result['password'])
    return summary


def merge_run(ledger, mode, summaries, scope, not_in_list=(), expires='', stamp=None, networks=None):
    """After the run: this run's students as they ended, every other student kept and marked.

    mode: 'deploy' or 'destroy'. summaries: {userid: the stand_student role's summary} of the students
    that ran (userid, node, pool, vms, user_created, user_owned, password_set, password_confirmed,
    password (a password the module set itself), password_kept (why recover left the password alone),
    user_kept). scope: the user ids of this
    run (a student of the scope without a summary did not get that far: its entry stays as it was).
    not_in_list: students the plan found on the cluster but not in this class list (kept, marked).
    networks: {userid: network_of(...)} of this run's students (a deploy keeps the picture the plan drew;
    a student without one keeps the ledger's)."""
    stamp = stamp or now()
    networks = networks or {}
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
        if isinstance(summary.get('bridges'), dict):
            row['bridges'] = bridges_read(summary['bridges'])
        row['network'] = networks.get(userid) or row.get('network') or []
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
            'students': [dict((k, row.get(k)) for k in COLUMNS + JSON_ONLY) for row in ledger['students']]}
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


# the card's colour: green for an account that works, red for one to check, grey for the history
_CARD_STATE = {ACTIVE: 'ok', PENDING: 'bad'}


def _bridges_text(bridges):
    return ', '.join('{0}={1}'.format(k, v) for k, v in sorted(bridges.items())) or '-'


def handout_entry(row, web_url=None):
    """The card of one ledger row for html_page.cards_page: what the student needs to log in and find
    its machines."""
    fields = [('user', row['user']), ('password', row['password'] or '-'), ('password from', row['password_source']),
              ('status', row['status']), ('node', row['node'] or '-'), ('pool', row['pool'] or '-'),
              ('machines', ', '.join(row['vms']) or '-'), ('bridges', _bridges_text(row.get('bridges') or {}))]
    if row['expires']:
        fields.append(('expires', row['expires']))
    return {'title': row['user'], 'state': _CARD_STATE.get(row['status'], 'neutral'), 'badge': row['status'],
            'fields': fields, 'link': web_url, 'link_label': 'Proxmox VE',
            'notes': ['Log in with the user name (realm included) and the password above.'] if row['password'] else [],
            'network': row.get('network') or [], 'labels': row.get('bridges') or {}}


def render_html(ledger, web_url=None):
    """The handout: one card per student (one printed sheet each), the Proxmox VE web address on every card."""
    rows = rows_in_order(ledger)
    intro = '{0} account(s): {1}'.format(len(rows), ', '.join(
        '{0} {1}'.format(n, status) for status, n in counts(ledger).items() if n)) if rows else 'no account'
    return cards_page('Stand {0}: student accounts'.format(ledger['stand']),
                      [handout_entry(row, web_url) for row in rows], intro=intro,
                      footer='deploystand.proxmox credentials handout', one_per_page=True)


def render_all(ledger, web_url=None):
    """{format: text} of every format, from the one ledger."""
    return {'json': render_json(ledger), 'csv': render_csv(ledger), 'md': render_md(ledger),
            'html': render_html(ledger, web_url=web_url)}


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


def write_all(directory, ledger, web_url=None):
    """Every format from the one ledger, the JSON (the source of truth) first; the directory is created
    with mode 0700 when missing. web_url: the Proxmox VE address on the handout's cards. Returns the
    paths written."""
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o700)
    contents = render_all(ledger, web_url=web_url)
    paths = []
    for fmt in FORMATS:
        path = path_of(directory, ledger['stand'], fmt)
        _write_private(path, contents[fmt])
        paths.append(path)
    return paths
