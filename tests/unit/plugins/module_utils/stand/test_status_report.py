"""The status logic (stand_status.py) and its renderers (status_report.py, html_page.py) on PVE-shaped
answers: drift of each kind and none for a clean student, the snapshot list without `current`, the
table within 100 columns, the CSV guarded against formulas, every name escaped in the HTML page."""
import csv
import json

from ansible_collections.deploystand.proxmox.plugins.module_utils.stand import html_page
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.inputs import (
    normalize_stand, normalize_users,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.info import find_stands
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.status import (
    class_status, config_nics, expected_nics, snapshots_of,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.status_report import (
    render, status_csv, status_table,
)

STAND_RAW = {'name': 'netlab', 'machines': [
    {'name': 'router', 'device_type': 'ecorouter', 'template': 'ecorouter-tpl', 'networks': ['lan', 'vmbr0']},
    {'name': 'host1', 'template': 'linux-tpl', 'networks': ['lan']}]}
GiB = 1024 ** 3


def stand():
    return normalize_stand(STAND_RAW)[0]


def students(*userids):
    out = normalize_users(list(userids))[0]
    return [dict(s, pool='netlab-' + s['name']) for s in out]


def cluster(vms, extra_resources=()):
    """PVE answers for student1 (bridge vmbr1001 'lan' on pve1) and student2 (vmbr1002) with these VMs."""
    resources = [{'type': 'node', 'node': 'pve1', 'status': 'online'},
                 {'type': 'node', 'node': 'pve2', 'status': 'online'}]
    for vmid, name, pool, node, status in vms:
        resources.append({'type': 'qemu', 'vmid': vmid, 'name': name, 'pool': pool, 'node': node, 'status': status,
                          'tags': 'deploystand;stand-netlab', 'maxmem': GiB, 'uptime': 3700, 'template': 0})
    resources.extend(extra_resources)
    pools = [{'poolid': 'netlab-student1', 'comment': 'deploystand:netlab:student1@pve'},
             {'poolid': 'netlab-student2', 'comment': 'deploystand:netlab:student2@pve'}]
    users = [{'userid': 'student1@pve', 'comment': 'deploystand:netlab'},
             {'userid': 'student2@pve', 'comment': 'deploystand:netlab'}]
    bridges = {'pve1': [{'iface': 'vmbr0'}, {'iface': 'vmbr1001', 'comments': 'deploystand:netlab:student1@pve:lan'},
                        {'iface': 'vmbr1002', 'comments': 'deploystand:netlab:student2@pve:lan'}],
               'pve2': [{'iface': 'vmbr0'}]}
    return find_stands(resources, pools, users, bridges, stands=['netlab']), bridges


def config(*bridges):
    return dict(('net{0}'.format(i), 'virtio=BC:24:11:00:00:0{0},bridge={1}'.format(i, b)) for i, b in enumerate(bridges))


CLEAN_VMS = [(100, 'student1-router', 'netlab-student1', 'pve1', 'running'),
             (101, 'student1-host1', 'netlab-student1', 'pve1', 'running')]
CLEAN_DETAILS = {100: {'config': config('vmbr0', 'vmbr1001', 'vmbr0'), 'snapshots': [], 'agent': 'QEMU guest agent is '
                       'not running', 'addresses': [], 'address': None},
                 101: {'config': config('vmbr1001'), 'agent': 'ok', 'address': '10.0.0.5',
                       'addresses': [{'interface': 'eth0', 'address': '10.0.0.5'}],
                       'snapshots': snapshots_of([{'name': 'baseline', 'snaptime': 1764000000},
                                                  {'name': 'current', 'running': 1}])}}


def test_a_clean_student_has_no_drift_and_its_machines_in_stand_order():
    found, bridges = cluster(CLEAN_VMS)
    status = class_status(stand(), students('student1@pve'), found, CLEAN_DETAILS, bridges)
    student = status['students'][0]
    assert student['ok'] and student['drift'] == [] and student['problems'] == []
    assert student['node'] == 'pve1'
    assert [(m['machine'], m['vmid'], m['status']) for m in student['machines']] == [
        ('router', 100, 'running'), ('host1', 101, 'running')]
    assert [(n['nic'], n['bridge'], n['ok']) for n in student['machines'][0]['nics']] == [
        ('net0', 'vmbr0', True), ('net1', 'vmbr1001', True), ('net2', 'vmbr0', True)]
    assert student['machines'][1]['snapshots'][0]['name'] == 'baseline'
    assert student['machines'][1]['snapshots'][0]['at'] == '2025-11-24T16:00:00Z'


def test_each_kind_of_drift_is_found_and_named():
    vms = [(100, 'student1-router', 'netlab-student1', 'pve2', 'stopped'),      # wrong node (bridge on pve1)
           (101, 'student1-host1', 'netlab-student1', 'pve1', 'running'),
           (102, 'student1-old', 'netlab-student1', 'pve1', 'running')]         # tagged, no machine of the stand
    hand_made = {'type': 'qemu', 'vmid': 200, 'name': 'student1-mine', 'pool': 'netlab-student1', 'node': 'pve1',
                 'status': 'running', 'template': 0}                            # in the pool, no tags
    found, bridges = cluster(vms, [hand_made])
    found['look_alikes'][0]['name'] = 'student1-mine'
    details = {100: {'config': config('vmbr0', 'vmbr1001', 'vmbr0')},
               101: {'config': config('vmbr1002')}}                             # student2's bridge
    status = class_status(stand(), students('student1@pve', 'student2@pve'), found, details, bridges)
    one, two = status['students']
    assert sorted((d['kind'], d['vmid']) for d in one['drift']) == [
        ('extra', 102), ('extra', 200), ('nic', 101), ('node', 100)]
    assert [d['message'] for d in one['drift'] if d['kind'] == 'nic'] == [
        'student1-host1 net0 is on vmbr1002, the stand gives it vmbr1001 (lan)']
    assert one['problems'] == ['student1-router is stopped'] and not one['ok']
    # student2 has its pool and bridge but no VM: both machines missing
    assert [(d['kind'], d['machine']) for d in two['drift']] == [('missing', 'router'), ('missing', 'host1')]
    assert status['summary']['drift_by_kind'] == {'missing': 2, 'extra': 2, 'nic': 1, 'node': 1}


def test_a_student_never_deployed_is_red_and_all_its_machines_missing():
    found, bridges = cluster(CLEAN_VMS)
    status = class_status(stand(), students('student7@pve'), found, {}, bridges)
    student = status['students'][0]
    assert not student['deployed'] and not student['ok']
    assert student['problems'][0] == 'not deployed: no pool netlab-student7 of the stand'
    assert all(m['status'] == 'missing' for m in student['machines'])


def test_expected_nics_of_an_ecorouter_start_with_its_management_port():
    s = stand()
    assert expected_nics(s, s['machines'][0], {'lan': 'vmbr1001'}, {'vmbr0'}) == [
        ('net0', 'vmbr0', None), ('net1', 'vmbr1001', 'lan'), ('net2', 'vmbr0', None)]
    assert expected_nics(s, s['machines'][1], {}, {'vmbr0'}) == [('net0', None, 'lan')]
    assert config_nics({'net10': 'virtio,bridge=b', 'net2': 'e1000,bridge=a', 'name': 'x'}) == [
        ('net2', 'a'), ('net10', 'b')]


def test_the_table_fits_in_100_columns_and_marks_students_with_drift():
    found, bridges = cluster(CLEAN_VMS)
    status = class_status(stand(), students('student1@pve', 'a-very-long-student-name-for-the-table@pve'), found,
                          CLEAN_DETAILS, bridges)
    lines = status_table(status)
    assert all(len(line) <= 100 for line in lines), [line for line in lines if len(line) > 100]
    assert lines[1].startswith('student1@pve ') and '10.0.0.5' in lines[2] and 'baseline' in lines[2]
    assert 'no address' in lines[1]
    assert any(line.startswith('!a-very-long-stud') for line in lines)


def _hostile_status():
    found, bridges = cluster(CLEAN_VMS)
    status = class_status(stand(), students('student1@pve'), found, CLEAN_DETAILS, bridges)
    evil = '<script>alert(1)</script>"\'&'
    student = status['students'][0]
    student['userid'] = evil + '@pve'
    student['machines'][1].update(machine=evil, addresses=[{'interface': evil, 'address': evil}])
    student['machines'][1]['snapshots'][0]['name'] = evil
    student['problems'].append(evil)
    status['networks'][1]['machine'] = evil
    status['networks'][1]['networks'][0]['name'] = evil
    status['stand'] = evil
    return status, evil


def test_every_name_in_the_html_page_is_escaped():
    status, evil = _hostile_status()
    html = render(status, web_url='javascript:alert(1)')['html']
    assert '<script' not in html and evil not in html
    assert '&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#x27;&amp;' in html
    assert 'href="javascript' not in html
    assert html.startswith('<!DOCTYPE html>') and '<link' not in html and 'src=' not in html
    assert '@media print' in html


def test_the_csv_cannot_run_a_formula_and_the_json_is_the_whole_status():
    status, _evil = _hostile_status()
    status['students'][0]['machines'][0]['agent'] = '=HYPERLINK("http://x")'
    rows = list(csv.DictReader(status_csv(status).splitlines()))
    assert rows[0]['agent'] == "'=HYPERLINK(\"http://x\")"
    assert json.loads(render(status)['json'])['summary']['students'] == 1


def test_the_shared_card_page_is_usable_for_another_report():
    body = html_page.table(('user', 'password'), [('s1@pve', '<pw>')], mono=(1,))
    page = html_page.page('netlab: credentials', [html_page.card('s1@pve', body, state='ok')], intro='1 student')
    assert 'class="card ok"' in page and '&lt;pw&gt;' in page and '<td class="mono">' in page
    assert html_page.link('https://pve:8006/') == '<a href="https://pve:8006/">https://pve:8006/</a>'
    assert html_page.link('javascript:x') == 'javascript:x'


def test_the_table_lists_the_stands_look_alikes_that_name_no_student():
    tagged = {'type': 'qemu', 'vmid': 300, 'name': 'ghost', 'node': 'pve1', 'status': 'stopped',
              'tags': 'deploystand;stand-netlab', 'template': 0}
    found, bridges = cluster(CLEAN_VMS, [tagged])
    status = class_status(stand(), students('student1@pve'), found, CLEAN_DETAILS, bridges)
    status['look_alikes'] = found['look_alikes']
    lines = status_table(status)
    assert [line for line in lines if line.startswith('look-alike:')] == [
        'look-alike: vm 300: ghost carries the tags of stand netlab but is in no pool']


def test_cards_page_builds_a_handout_from_data_alone():
    html = html_page.cards_page('netlab: accounts', [
        {'title': 's1@pve', 'fields': [('login', 's1@pve'), ('password', '<Secret&1>')],
         'link': 'https://pve:8006/', 'notes': ['change it at first login'],
         'network': [{'machine': 'router', 'device_type': 'ecorouter',
                      'networks': [{'name': 'lan', 'private': True}]}], 'labels': {'lan': 'vmbr1001'}}])
    assert '<td class="mono">&lt;Secret&amp;1&gt;</td>' in html
    assert '<a href="https://pve:8006/">' in html and '<svg ' in html and 'lan vmbr1001' in html
    assert 'class="card neutral"' in html


def test_cards_page_labels_its_link_and_may_put_each_card_on_its_own_sheet():
    entries = [{'title': 's1@pve', 'link': 'https://pve:8006/', 'link_label': 'Proxmox <VE>'}, {'title': 's2@pve'}]
    html = html_page.cards_page('netlab', entries, one_per_page=True)
    assert '<p>Proxmox &lt;VE&gt;: <a href="https://pve:8006/">' in html
    assert '<body class="one-per-page">' in html and html.count('<section class="card ') == 2
    assert '<body class="one-per-page">' not in html_page.cards_page('netlab', entries)


def test_the_router_comes_first_in_the_picture_the_stands_order_otherwise():
    machines = [{'machine': m, 'device_type': t} for m, t in (('h1', 'linux'), ('r', 'ecorouter'), ('h2', 'linux'))]
    assert [m['machine'] for m in html_page.router_first(machines)] == ['r', 'h1', 'h2']
