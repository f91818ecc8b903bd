"""The credentials ledger and its formats (issue 13 items 5, 6, 7): module_utils/report.py.

Each format is read back with a parser that does not know the writer (csv, markdown-it's GFM tables,
html.parser, json) and must give every hostile password exactly."""
import csv
import io
import json
import os
import stat
from html.parser import HTMLParser

import pytest
from markdown_it import MarkdownIt

from ansible_collections.deploystand.proxmox.plugins.module_utils.stand import report as R
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.inputs import normalize_users

HOSTILE = ['Pipe|in|the|middle', 'Comma,and"quote"', '<script>alert(1)</script>', '&amp;already&lt;',
           'back\\slash\\|pipe', 'ticks`in``it', '`starts-and-ends`', '*star*_under_[link](x)', u'\u00fcnic\u00f6de-\u4e2d\u6587',
           'Ab{{ 7*7 }}cdef', '{% raw %}x{% endraw %}pw123456', "single'quote", '  spaces  ', '#hash!~tilde']


def hostile_ledger():
    ledger = R.new_ledger('netlab')
    for n, password in enumerate(HOSTILE):
        ledger['students'].append(R.entry('student{0}@pve'.format(n), password=password,
                                          password_source=R.SOURCE_THIS_RUN, node='pve1', pool='netlab-s%d' % n,
                                          vms=['s%d-router:%d' % (n, 10000 + n)], expires='2026-12-31'))
    return ledger


def test_csv_round_trips_every_hostile_password():
    text = R.render_csv(hostile_ledger())
    assert 'student0@pve,"Pipe|in|the|middle",this run,' in text, 'the password quoted, as earlier versions wrote it'
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r['password'] for r in rows] == HOSTILE
    assert all(len(r) == len(R.COLUMNS) and None not in r for r in rows)


def _md_cells(text):
    """The cells of the table, as markdown-it's GFM table renders them (HTML, then the text)."""
    html = MarkdownIt('commonmark').enable('table').render(text)
    parser = _Cells()
    parser.feed(html)
    return parser.rows


class _Cells(HTMLParser):
    def __init__(self):
        HTMLParser.__init__(self, convert_charrefs=True)
        self.rows, self._row, self._cell = [], None, None

    def handle_starttag(self, tag, attrs):
        if tag == 'tr':
            self._row = []
        elif tag in ('td', 'th'):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ('td', 'th'):
            self._row.append(''.join(self._cell))
            self._cell = None
        elif tag == 'tr':
            self.rows.append(self._row)

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def test_markdown_round_trips_every_hostile_password_in_its_own_cell():
    rows = _md_cells(R.render_md(hostile_ledger()))
    header, body = rows[0], rows[1:]
    assert header == ['user', 'password', 'password from', 'status', 'node', 'pool', 'machines', 'expires']
    assert all(len(r) == len(header) for r in body), 'a `|` must not add a cell'
    # a code span keeps spaces inside but drops one leading and trailing space pair only when both exist
    assert [r[1] for r in body] == HOSTILE
    assert [r[0] for r in body] == ['student{0}@pve'.format(n) for n in range(len(HOSTILE))]


def test_markdown_text_cells_escape_markup_and_newlines():
    ledger = R.new_ledger('netlab')
    ledger['students'].append(R.entry('a@pve', node='n|1*x*', pool='p\\q', vms=['<b>x</b>', 'line\nbreak']))
    body = _md_cells(R.render_md(ledger))[1]
    assert body[4] == 'n|1*x*' and body[5] == 'p\\q' and body[6] == '<b>x</b>, line break'


class _Cards(HTMLParser):
    """The handout as data: per card its title, badge, fields (th -> td), links, and the texts of its picture."""

    def __init__(self):
        HTMLParser.__init__(self, convert_charrefs=True)
        self.cards, self.body_class, self._text, self._into = [], None, None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == 'body':
            self.body_class = attrs.get('class')
        elif tag == 'section' and 'card' in (attrs.get('class') or '').split():
            self.cards.append({'class': attrs['class'], 'title': '', 'badge': '', 'fields': {}, 'links': [],
                               'svg_texts': [], 'svg': 0})
        elif not self.cards:
            return
        elif tag == 'svg':
            self.cards[-1]['svg'] += 1
        elif tag == 'a':
            self.cards[-1]['links'].append(attrs.get('href'))
        elif tag in ('th', 'td', 'text') or (tag == 'span' and attrs.get('class') == 'state'):
            self._into, self._text = tag if tag != 'span' else 'badge', []
        elif tag == 'span' and not self.cards[-1]['title']:
            self._into, self._text = 'title', []

    def handle_endtag(self, tag):
        if self._text is None or tag not in ('th', 'td', 'text', 'span'):
            return
        text, into, card = ''.join(self._text), self._into, self.cards[-1]
        self._text = self._into = None
        if into == 'th':
            card['_label'] = text
        elif into == 'td':
            card['fields'][card.pop('_label')] = text
        elif into == 'text':
            card['svg_texts'].append(text)
        else:
            card[into] = text

    def handle_data(self, data):
        if self._text is not None:
            self._text.append(data)


def handout(ledger, web_url='https://pve.example.org:8006/'):
    parser = _Cards()
    parser.feed(R.render_html(ledger, web_url=web_url))
    return parser


def test_html_round_trips_every_hostile_password_and_runs_no_script():
    text = R.render_html(hostile_ledger())
    assert '<script>' not in text
    parser = handout(hostile_ledger())
    assert [c['fields']['password'] for c in parser.cards] == HOSTILE


def test_the_handout_has_one_card_per_student_each_on_its_own_sheet_with_the_web_address():
    parser = handout(hostile_ledger())
    assert [c['title'] for c in parser.cards] == ['student{0}@pve'.format(n) for n in range(len(HOSTILE))]
    assert all(c['links'] == ['https://pve.example.org:8006/'] for c in parser.cards)
    card = parser.cards[0]
    assert card['class'] == 'card ok' and card['badge'] == R.ACTIVE
    assert [card['fields'][k] for k in ('user', 'status', 'node', 'pool', 'machines', 'expires')] == [
        'student0@pve', R.ACTIVE, 'pve1', 'netlab-s0', 's0-router:10000', '2026-12-31']
    # printed: one sheet per student (the class is set only on the handout, the CSS in the shared style)
    assert parser.body_class == 'one-per-page'
    assert 'page-break-after: always' in R.render_html(hostile_ledger())


PLAN_MACHINES = [
    {'machine': 'host1', 'device_type': 'linux',
     'networks': [{'bridge': None, 'alias': 'lan', 'management': False},
                  {'bridge': 'vmbr0', 'alias': None, 'management': False}]},
    {'machine': 'router', 'device_type': 'ecorouter',
     'networks': [{'bridge': 'vmbr0', 'alias': None, 'management': True},
                  {'bridge': None, 'alias': 'lan', 'management': False},
                  {'bridge': None, 'alias': 'wan', 'management': False}]}]


def deployed_ledger(machines=PLAN_MACHINES, bridges=None):
    ledger, _h, _n = R.write_ahead(R.new_ledger('netlab'), [plan_student('a@pve')], generator())
    plan = [dict(plan_student('a@pve'), machines=machines)]
    return R.merge_run(ledger, 'deploy', {'a@pve': summary('a@pve', password_set=True, bridges=bridges or {
        'lan': 'vmbr1001', 'wan': 'vmbr1002'})}, ['a@pve'], networks=R.networks_of(plan))


def test_the_plan_gives_the_picture_router_first_private_networks_apart_from_shared_bridges():
    assert R.network_of(PLAN_MACHINES) == [
        {'machine': 'router', 'device_type': 'ecorouter', 'networks': [
            {'name': 'vmbr0', 'private': False, 'management': True},
            {'name': 'lan', 'private': True, 'management': False},
            {'name': 'wan', 'private': True, 'management': False}]},
        {'machine': 'host1', 'device_type': 'linux', 'networks': [
            {'name': 'lan', 'private': True, 'management': False},
            {'name': 'vmbr0', 'private': False, 'management': False}]}]


def test_each_card_draws_the_students_network_with_its_own_bridges():
    ledger = deployed_ledger()
    row = R.by_user(ledger)['a@pve']
    assert row['bridges'] == {'lan': 'vmbr1001', 'wan': 'vmbr1002'} and row['network'][0]['machine'] == 'router'
    card = handout(ledger).cards[0]
    assert card['svg'] == 1 and card['fields']['bridges'] == 'lan=vmbr1001, wan=vmbr1002'
    assert card['svg_texts'][:3] == ['vmbr0 (management)', 'lan vmbr1001', 'wan vmbr1002']
    assert card['svg_texts'][3:] == ['router', 'host1']
    # the picture and the bridges are in the ledger (JSON), read back as they were; the CSV keeps its columns
    assert R.parse_ledger(R.render_json(ledger), 'netlab')['students'][0] == row
    assert R.render_csv(ledger).splitlines()[0] == ','.join(R.COLUMNS)


def test_a_run_without_the_plan_keeps_the_picture_and_a_destroy_marks_the_card():
    ledger = deployed_ledger()
    picture = R.by_user(ledger)['a@pve']['network']
    ledger = R.merge_run(ledger, 'deploy', {'a@pve': summary('a@pve', password_confirmed=True,
                                                             bridges={'lan': 'vmbr1001'})}, ['a@pve'])
    assert R.by_user(ledger)['a@pve']['network'] == picture
    ledger = R.merge_run(ledger, 'destroy', {'a@pve': summary('a@pve', bridges={})}, ['a@pve'])
    row = R.by_user(ledger)['a@pve']
    assert row['status'] == R.DESTROYED and row['network'] == picture and row['bridges'] == {'lan': 'vmbr1001'}
    card = handout(ledger).cards[0]
    assert card['class'] == 'card neutral' and card['badge'] == R.DESTROYED


def test_hostile_names_and_passwords_on_the_handout_are_text():
    evil = '<script>alert(1)</script>"\'&'
    machines = [{'machine': evil, 'device_type': 'linux', 'networks': [{'bridge': None, 'alias': evil}]}]
    ledger, _h, _n = R.write_ahead(R.new_ledger(evil), [dict(plan_student(evil + '@pve'), password=evil)], generator())
    ledger = R.merge_run(ledger, 'deploy', {evil + '@pve': summary(evil + '@pve', password_set=True, bridges={evil: evil},
                                                                   node=evil, vms=[evil])},
                         [evil + '@pve'], networks={evil + '@pve': R.network_of(machines)})
    text = R.render_html(ledger, web_url='javascript:alert(1)')
    assert '<script' not in text and evil not in text and 'href="javascript' not in text
    card = handout(ledger, web_url='javascript:alert(1)').cards[0]
    assert card['title'] == evil + '@pve' and card['fields']['password'] == evil and card['links'] == []
    assert evil in card['svg_texts'] and '{0} {0}'.format(evil) in card['svg_texts']


def test_an_older_ledger_without_bridges_or_picture_still_renders(tmp_path):
    old = {'stand': 'netlab', 'version': 1, 'students': [
        {'user': 'a@pve', 'password': 'Old-Pass-1', 'password_source': R.SOURCE_EARLIER, 'node': 'pve1',
         'pool': 'netlab-a', 'vms': ['a-router:10001'], 'status': R.ACTIVE, 'expires': '', 'origin': 'generated',
         'updated': '2026-01-01T00:00:00Z'},
        # a hand-edited row: a picture that is not one is dropped, not drawn
        {'user': 'b@pve', 'password': 'Old-Pass-2', 'status': R.NOT_IN_RUN, 'bridges': 'lan',
         'network': [{'machine': 'x'}, 'junk', {'machine': 'y', 'networks': [{'private': True}, {'name': 'lan'}]}]}]}
    (tmp_path / 'netlab-credentials.json').write_text(json.dumps(old))
    rows = R.read_ledger(str(tmp_path), 'netlab')['students']
    assert (rows[0]['bridges'], rows[0]['network']) == ({}, [])
    assert rows[1]['bridges'] == {} and rows[1]['network'] == [
        {'machine': 'y', 'device_type': '', 'networks': [{'name': 'lan', 'private': False, 'management': False}]}]
    cards = handout({'stand': 'netlab', 'students': rows}).cards
    assert [c['fields']['password'] for c in cards] == ['Old-Pass-1', 'Old-Pass-2']
    assert [c['svg'] for c in cards] == [0, 1] and cards[0]['fields']['bridges'] == '-'
    assert cards[1]['class'] == 'card neutral'


def test_json_round_trips_every_hostile_password():
    data = json.loads(R.render_json(hostile_ledger()))
    assert [r['password'] for r in data['students']] == HOSTILE
    assert R.parse_ledger(R.render_json(hostile_ledger()), 'netlab')['students'][0]['password'] == HOSTILE[0]


@pytest.mark.parametrize('char', ['\t', '\n', '\r', '\x00', '\x1b', '\x7f', u'\u0085'])
def test_control_characters_in_a_given_password_are_refused_naming_the_field(char):
    _students, errors = normalize_users([{'name': 'a@pve', 'password': 'Good-1234'},
                                         {'name': 'b@pve', 'password': 'Bad' + char + '-1234'}])
    assert len(errors) == 1 and errors[0].startswith('users[1].password: holds a control character'), errors
    assert 'Bad' not in errors[0]


# ----------------------------------------------------------------------------- the ledger


def plan_student(userid, password=None, exists=False, owned=False):
    return {'userid': userid, 'password': password, 'user_exists': exists, 'user_owned': owned, 'node': 'pve1',
            'pool': 'netlab-' + userid.split('@')[0]}


def summary(userid, **flags):
    out = {'userid': userid, 'node': 'pve1', 'pool': 'netlab-' + userid.split('@')[0], 'vms': ['x:1'],
           'password_set': False, 'password_confirmed': False, 'user_owned': True}
    out.update(flags)
    return out


def generator():
    count = [0]

    def generate():
        count[0] += 1
        return 'Generated-%04d' % count[0]
    return generate


def test_write_ahead_records_every_password_as_pending_before_pve_gets_it():
    ledger, handover, notes = R.write_ahead(R.new_ledger('netlab'), [
        plan_student('new@pve'), plan_student('given@pve', password='Given-Pass-1'),
        plan_student('before@pve', exists=True), plan_student('lost@pve', exists=True, owned=True),
        plan_student('ldap@corp')], generator())
    rows = R.by_user(ledger)
    assert handover['new@pve'] == {'password': 'Generated-0001', 'update_password': 'recover'}
    assert handover['given@pve'] == {'password': 'Given-Pass-1', 'update_password': 'recover'}
    assert handover['before@pve']['password'] is None, 'an account that existed before the stand is not touched'
    assert handover['lost@pve']['password'] == 'Generated-0002'
    assert handover['ldap@corp']['password'] is None
    assert sorted(rows) == ['given@pve', 'lost@pve', 'new@pve']
    assert all(r['status'] == R.PENDING for r in rows.values())
    assert notes == ['lost@pve: the stand made this account but no report holds its password: it gets a new one '
                     'in this run (update_password=recover)']


def test_a_killed_runs_pending_password_is_handed_over_again_and_confirmed_by_the_next_run():
    ledger, first, _notes = R.write_ahead(R.new_ledger('netlab'), [plan_student('a@pve')], generator())
    # the run was killed after PVE made the user: the next plan sees a user of the stand
    ledger, again, notes = R.write_ahead(ledger, [plan_student('a@pve', exists=True, owned=True)], generator())
    assert again == first and notes == []
    ledger = R.merge_run(ledger, 'deploy', {'a@pve': summary('a@pve', password_confirmed=True)}, ['a@pve'])
    row = R.by_user(ledger)['a@pve']
    assert (row['password'], row['status'], row['password_source']) == ('Generated-0001', R.ACTIVE, R.SOURCE_EARLIER)
    # confirmed: the next run hands it over with on_create (no login check, no reset)
    _ledger, third, _notes = R.write_ahead(ledger, [plan_student('a@pve', exists=True, owned=True)], generator())
    assert third['a@pve'] == {'password': 'Generated-0001', 'update_password': 'on_create'}


def test_the_ledger_never_loses_a_password_and_marks_who_was_not_in_the_run():
    ledger, generate = R.new_ledger('netlab'), generator()
    ledger, _h, _n = R.write_ahead(ledger, [plan_student('a@pve'), plan_student('b@pve')], generate)
    ledger = R.merge_run(ledger, 'deploy', {'a@pve': summary('a@pve', password_set=True),
                                            'b@pve': summary('b@pve', password_set=True)}, ['a@pve', 'b@pve'])
    # a run with one student only (--limit), with c added, b on the cluster but not in the list
    ledger, _h, _n = R.write_ahead(ledger, [plan_student('a@pve', exists=True, owned=True), plan_student('c@pve')],
                                   generate)
    ledger = R.merge_run(ledger, 'deploy', {'a@pve': summary('a@pve'), 'c@pve': summary('c@pve', password_set=True)},
                         ['a@pve', 'c@pve'], not_in_list=['b@pve', 'z@pve'])
    rows = R.by_user(ledger)
    assert rows['a@pve']['password'] == 'Generated-0001' and rows['a@pve']['status'] == R.ACTIVE
    assert rows['b@pve']['password'] == 'Generated-0002' and rows['b@pve']['status'] == R.NOT_IN_RUN
    assert rows['c@pve']['password'] == 'Generated-0003' and rows['c@pve']['password_source'] == R.SOURCE_THIS_RUN
    assert rows['z@pve']['status'] == R.NOT_IN_RUN and rows['z@pve']['password'] == ''
    # destroy marks, never drops
    ledger = R.merge_run(ledger, 'destroy', {'a@pve': summary('a@pve'), 'c@pve': summary('c@pve', user_kept='x')},
                         ['a@pve', 'c@pve'])
    rows = R.by_user(ledger)
    assert rows['a@pve']['status'] == R.DESTROYED and rows['a@pve']['password'] == 'Generated-0001'
    assert rows['c@pve']['status'] == R.KEPT
    assert rows['b@pve']['status'] == R.NOT_IN_RUN
    # a new deploy after the destroy gives a new account a new password
    _ledger, handover, _n = R.write_ahead(ledger, [plan_student('a@pve')], generate)
    assert handover['a@pve']['password'] == 'Generated-0004'


def test_a_shared_or_foreign_account_keeps_no_password_of_this_stand():
    ledger, _h, _n = R.write_ahead(R.new_ledger('netlab'), [plan_student('s@pve', exists=True, owned=True)],
                                   generator())
    ledger = R.merge_run(ledger, 'deploy', {'s@pve': summary('s@pve', password_kept='shared with stand other')},
                         ['s@pve'])
    row = R.by_user(ledger)['s@pve']
    assert (row['password'], row['password_source'], row['status']) == ('', R.NOT_SET, R.ACTIVE)


def test_files_are_0600_in_a_0700_directory_made_when_missing(tmp_path):
    directory = str(tmp_path / 'new' / 'reports')
    paths = R.write_all(directory, hostile_ledger())
    assert sorted(os.path.basename(p) for p in paths) == sorted('netlab-credentials.' + f for f in R.FORMATS)
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
    assert all(stat.S_IMODE(os.stat(p).st_mode) == 0o600 for p in paths)
    assert [r['password'] for r in R.read_ledger(directory, 'netlab')['students']] == HOSTILE
    assert not [n for n in os.listdir(directory) if n.startswith('.')], 'no temporary file left'


def test_a_broken_ledger_is_refused_not_overwritten(tmp_path):
    (tmp_path / 'netlab-credentials.json').write_text('{"students": [')
    with pytest.raises(R.ReportError, match='not valid JSON.*not overwritten'):
        R.read_ledger(str(tmp_path), 'netlab')


def test_a_report_of_an_earlier_version_is_read_from_its_csv(tmp_path):
    (tmp_path / 'netlab-credentials.csv').write_text(
        'user,password,password_source,node,pool,vms\n'
        'a@pve,"Pass,with""quote",this run,pve1,p,x:1 y:2\n'
        'c@ldap,,not set by this stand (an existing account keeps its own password),pve1,p,x\n')
    rows = R.by_user(R.read_ledger(str(tmp_path), 'netlab'))
    assert rows['a@pve']['password'] == 'Pass,with"quote' and rows['a@pve']['vms'] == ['x:1', 'y:2']
    assert rows['c@ldap']['password'] == ''


def test_a_students_summary_is_what_its_run_reached_never_its_password():
    plan = {'userid': 's1@pve', 'node': 'pve1', 'pool': 'netlab-s1'}
    failed = {'changed': True, 'failed': True, 'userid': 's1@pve', 'pool': 'netlab-s1', 'node': 'pve1',
              'bridges': {'lan': 'vmbr1000'}, 'user_created': True, 'user_owned': True, 'password_set': True,
              'password': 'Set-In-This-Run-1', 'expire': 1801439999,
              'machines': [{'name': 's1-router', 'vmid': 10000}]}
    summary = R.student_summary('deploy', plan, failed)
    assert summary == {'userid': 's1@pve', 'node': 'pve1', 'pool': 'netlab-s1', 'changed': True,
                       'vms': ['s1-router:10000'], 'bridges': {'lan': 'vmbr1000'}, 'user_created': True,
                       'password_set': True, 'expire': 1801439999, 'expires_at': '2027-01-31T23:59:59Z',
                       'password_confirmed': False, 'password_kept': '', 'user_owned': True}
    # the ledger gets the password the module set itself; the summary shown in a log does not
    ledger = R.merge_run({'stand': 'netlab', 'students': []}, 'deploy',
                         {'s1@pve': R.with_set_password(summary, failed)}, ['s1@pve'])
    assert R.by_user(ledger)['s1@pve']['password'] == 'Set-In-This-Run-1' and 'password' not in summary
    assert R.with_set_password(summary, {'password': None}) == summary
    # a module that could not run at all (bad input) still gives the plan's student, with nothing done
    assert R.student_summary('deploy', plan, {'msg': 'invalid input'}, {'lan': 'vmbr1000'})['vms'] == []
    gone = R.student_summary('destroy', {'userid': 's1@pve', 'pool': 'netlab-s1'}, {
        'changed': True, 'machines': [{'name': 's1-router', 'vmid': 10000}], 'user_kept': 'stand netb still uses it',
        'own_vms': [{'vmid': 10050, 'action': 'removed'}]})
    assert (gone['vms'], gone['user_kept'], gone['own_vms'], gone['password_set']) == (
        ['s1-router'], 'stand netb still uses it', [{'vmid': 10050, 'action': 'removed'}], False)
