"""playbooks/stand_status.yml against a deployed stand in the simulator: a clean stand shows every machine
running and no drift; after an admin stops a VM, adds a hand-made VM to a pool, moves a NIC to another
student's bridge, deletes a machine and migrates one to another node, the status shows exactly those;
--limit / stand_limit show only the chosen students; --check writes no file; the report files are 0600
and the HTML page escapes what a guest reports."""
import csv
import importlib.util
import json
import os
import stat

import pytest

from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.client import PveClient
from deploystand_sim.testing import Simulator

pytestmark = pytest.mark.slow

_spec = importlib.util.spec_from_file_location(
    'deploystand_integration_runner_status', os.path.join(os.path.dirname(os.path.abspath(__file__)), 'conftest.py'))
_runner = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_runner)
ROOT, run_playbook = _runner.ROOT, _runner.run_playbook

DEPLOY = os.path.join(ROOT, 'playbooks', 'deploy_stand.yml')
STATUS = os.path.join(ROOT, 'playbooks', 'stand_status.yml')
CLASS = ['student1@pve', 'student2@pve', 'student3@pve']
STAND = {'name': 'netlab', 'clone': 'linked', 'start': True, 'node': 'pve1', 'machines': [
    {'name': 'router', 'device_type': 'ecorouter', 'template': 'ecorouter-tpl',
     'networks': [{'bridge': 'vmbr0'}, {'bridge': 'lan'}]},
    {'name': 'host1', 'device_type': 'linux', 'template': 'linux-tpl', 'full_clone': True,
     'networks': [{'bridge': 'lan'}]}]}  # a full clone: migrated to another node in a test
HOSTILE = '<script>alert("x")</script>'


def root(sim):
    return PveClient(sim.host, user='root@pam', password=sim.password, port=sim.port, ca_path=sim.cafile)


def vm_of(sim, name):
    for vmid, vm in sim.state()['vms'].items():
        if vm['name'] == name:
            return int(vmid), vm
    raise AssertionError('no VM ' + name)


def status_run(sim, tmp_path, check=False, args=(), **extra):
    extra_vars = {'users': CLASS, 'stand': STAND, 'stand_status_dir': str(tmp_path / 'reports')}
    extra_vars.update(extra)
    return run_playbook(STATUS, sim.env, tmp_path, extra_vars=extra_vars, check=check, args=args)


def report(tmp_path, ext='json'):
    path = tmp_path / 'reports' / 'netlab-status.{0}'.format(ext)
    text = path.read_text()
    return json.loads(text) if ext == 'json' else text


def students_of(status):
    return dict((s['userid'], s) for s in status['students'])


def machine(status, userid, name):
    return [m for m in students_of(status)[userid]['machines'] if m['machine'] == name][0]


def drift_kinds(student):
    return sorted((d['kind'], d['machine'], d['vmid']) for d in student['drift'])


@pytest.fixture(scope='module')
def deployed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('status-stand')
    with Simulator('default') as sim:
        run = run_playbook(DEPLOY, sim.env, tmp, extra_vars={
            'users': CLASS, 'stand': STAND, 'stand_report_dir': str(tmp / 'deploy-reports')})
        assert run.rc == 0, run
        yield sim


def test_a_clean_stand_then_exactly_the_drift_an_admin_made(deployed, tmp_path):
    sim = deployed
    clean = status_run(sim, tmp_path)
    assert clean.rc == 0, clean
    assert clean.changed_total == 0
    status = report(tmp_path)
    assert [s['userid'] for s in status['students']] == CLASS
    assert status['summary']['drift'] == 0 and status['summary']['ok'] == 3, status['summary']
    for student in status['students']:
        assert student['ok'] and student['node'] == 'pve1' and student['drift'] == []
        assert [(m['machine'], m['status']) for m in student['machines']] == [('router', 'running'),
                                                                              ('host1', 'running')]
        # the linux clones run a guest agent, the EcoRouter none: no address, PVE's reason, no failure
        host1, router = student['machines'][1], student['machines'][0]
        assert host1['agent'] == 'ok' and host1['address'], host1
        assert router['address'] is None and 'agent' in router['agent'].lower(), router
        lan = [b['iface'] for b in student['bridges'] if b['alias'] == 'lan']
        assert [n['bridge'] for n in host1['nics']] == lan
        assert [n['bridge'] for n in router['nics']] == ['vmbr0', 'vmbr0'] + lan
    table = clean.result('Status of the class')['msg']
    assert len(table) >= 1 + 6 and all(len(line) <= 100 for line in table), table
    assert sum(1 for line in table if ' host1 ' in line and ' running ' in line) == 3

    api = root(sim)
    s1_host1, _vm = vm_of(sim, 'student1-host1')
    s1_router, _vm = vm_of(sim, 'student1-router')
    s2_host1, _vm = vm_of(sim, 'student2-host1')
    s3_router, _vm = vm_of(sim, 'student3-router')
    s3_host1, s3_host1_vm = vm_of(sim, 'student3-host1')
    s2_lan = [b['iface'] for b in students_of(status)['student2@pve']['bridges']][0]
    # a baseline snapshot, a stopped VM, a hand-made VM in the pool, a NIC on another student's bridge,
    # a deleted machine, a machine on another node
    api.run_task('POST', 'nodes/pve1/qemu/{0}/snapshot'.format(s1_host1), snapname='baseline')
    api.run_task('POST', 'nodes/pve1/qemu/{0}/status/stop'.format(s1_router))
    api.run_task('POST', 'nodes/pve1/qemu/9001/clone', newid=20001, name='student1-extra', pool='netlab-student1')
    config = api.get('nodes/pve1/qemu/{0}/config'.format(s3_host1))
    api.put('nodes/pve1/qemu/{0}/config'.format(s3_host1), net0=config['net0'].replace(
        'bridge=' + [n for n in config['net0'].split(',') if n.startswith('bridge=')][0][7:], 'bridge=' + s2_lan))
    api.run_task('POST', 'nodes/pve1/qemu/{0}/status/stop'.format(s3_router))
    api.run_task('DELETE', 'nodes/pve1/qemu/{0}'.format(s3_router))
    api.run_task('POST', 'nodes/pve1/qemu/{0}/status/stop'.format(s2_host1))
    api.run_task('POST', 'nodes/pve1/qemu/{0}/migrate'.format(s2_host1), target='pve2', **{'with-local-disks': 1})
    # (it cannot start there: its private bridge exists only on pve1, as PVE says at start)

    run = status_run(sim, tmp_path)
    assert run.rc == 0, run
    status = report(tmp_path)
    by = students_of(status)
    assert drift_kinds(by['student1@pve']) == [('extra', None, 20001)]
    assert machine(status, 'student1@pve', 'router')['status'] == 'stopped'
    assert by['student1@pve']['problems'] == ['student1-router is stopped']
    assert [(s['name'], bool(s['time'])) for s in machine(status, 'student1@pve', 'host1')['snapshots']] == [
        ('baseline', True)]
    assert by['student1@pve']['extra_vms'][0]['name'] == 'student1-extra'
    assert drift_kinds(by['student2@pve']) == [('node', 'host1', s2_host1)]
    assert machine(status, 'student2@pve', 'host1')['node'] == 'pve2'
    assert by['student2@pve']['problems'] == ['student2-host1 is stopped']
    assert drift_kinds(by['student3@pve']) == [('missing', 'router', None), ('nic', 'host1', s3_host1)]
    assert s2_lan in [d['message'] for d in by['student3@pve']['drift'] if d['kind'] == 'nic'][0]
    assert machine(status, 'student3@pve', 'router')['status'] == 'missing'
    assert not any(s['ok'] for s in status['students'])
    assert status['summary']['drift_by_kind'] == {'missing': 1, 'extra': 1, 'nic': 1, 'node': 1}

    rows = list(csv.DictReader(report(tmp_path, 'csv').splitlines()))
    assert sorted((r['userid'], r['machine'] or r['name'], r['status']) for r in rows) == sorted([
        ('student1@pve', 'router', 'stopped'), ('student1@pve', 'host1', 'running'),
        ('student1@pve', 'student1-extra', 'stopped'),
        ('student2@pve', 'router', 'running'), ('student2@pve', 'host1', 'stopped'),
        ('student3@pve', 'router', 'missing'), ('student3@pve', 'host1', 'running')])
    html = report(tmp_path, 'html')
    assert html.count('<section class="card ') == 3 and html.count('class="card bad"') == 3
    assert html.count('<svg ') == 3 and 'https://{0}:{1}/'.format(sim.host, sim.port) in html
    assert '<script' not in html and 'http://' not in html.replace('http://www.w3.org/2000/svg', '')


def test_limit_and_stand_limit_show_only_the_chosen_students(deployed, tmp_path):
    by_var = status_run(deployed, tmp_path, stand_limit='student2@pve')
    assert by_var.rc == 0, by_var
    assert [s['userid'] for s in report(tmp_path)['students']] == ['student2@pve']
    by_limit = status_run(deployed, tmp_path, args=('--limit', 'localhost,student1@pve,student3@pve'))
    assert by_limit.rc == 0, by_limit
    assert [s['userid'] for s in report(tmp_path)['students']] == ['student1@pve', 'student3@pve']
    table = '\n'.join(by_limit.result('Status of the class')['msg'])
    assert 'student2' not in table
    unknown = status_run(deployed, tmp_path, stand_limit='student9@pve')
    assert unknown.rc != 0
    assert 'student9@pve is not in the class' in unknown.failed[0]['result']['msg']


def test_check_mode_reads_but_writes_no_file_and_the_files_are_private(deployed, tmp_path):
    before = deployed.state()
    checked = status_run(deployed, tmp_path, check=True)
    assert checked.rc == 0, checked
    assert not (tmp_path / 'reports').exists()
    assert checked.result('Status of the class')['msg'][0].startswith('student ')
    assert deployed.state()['vms'] == before['vms']
    written = status_run(deployed, tmp_path, stand_status_web_url='https://pve.example.org/')
    assert written.rc == 0, written
    assert stat.S_IMODE((tmp_path / 'reports').stat().st_mode) == 0o700
    for ext in ('csv', 'json', 'html'):
        assert stat.S_IMODE((tmp_path / 'reports' / 'netlab-status.{0}'.format(ext)).stat().st_mode) == 0o600
    assert 'href="https://pve.example.org/"' in report(tmp_path, 'html')


def test_what_a_guest_agent_reports_cannot_inject_html(deployed, tmp_path):
    vmid, _vm = vm_of(deployed, 'student2-router')

    def hostile(pve):
        vm = [v for v in pve.vms if v.vmid == vmid][0]
        vm.config['agent'] = '1'
        vm.agent = {'interfaces': [{'name': HOSTILE, 'hardware-address': '00:11:22:33:44:55',
                                    'ip-addresses': [{'ip-address': '<img src=x onerror=alert(1)>',
                                                      'ip-address-type': 'ipv4', 'prefix': 24}]}]}
    deployed.call(hostile)
    run = status_run(deployed, tmp_path, stand_limit='student2@pve')
    assert run.rc == 0, run
    html = report(tmp_path, 'html')
    assert '&lt;img src=x onerror=alert(1)&gt;' in html
    assert '<img' not in html and '<script' not in html


def test_a_bad_stand_is_one_message_and_nothing_is_read(deployed, tmp_path):
    run = status_run(deployed, tmp_path, stand={'name': 'Net.Lab', 'machines': []})
    assert run.rc != 0
    msg = run.failed[0]['result']['msg']
    assert 'stand.name' in msg and 'Traceback' not in run.output
    assert not (tmp_path / 'reports').exists()
