"""The stand listing (playbooks/stand_list.yml) and the inventory plugin deploystand.proxmox.stands
against a simulated cluster holding two deployed stands, foreign objects and half-destroyed pieces:
the listing shows exactly the two stands and every look-alike where it belongs, the inventory graph
and host variables match the cluster, the cache is honoured, bad inventory files give one clear error."""
import csv
import importlib.util
import json
import os
import re
import subprocess
import sys
import time

import pytest
import yaml

from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.client import PveClient
from deploystand_sim.stand_scenario import with_agents
from deploystand_sim.testing import Simulator

pytestmark = pytest.mark.slow

# The integration tests' runner (ansible-playbook + the record callback), loaded under its own name.
_spec = importlib.util.spec_from_file_location(
    'deploystand_integration_runner', os.path.join(os.path.dirname(os.path.abspath(__file__)), 'conftest.py'))
_runner = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_runner)
ROOT, run_playbook = _runner.ROOT, _runner.run_playbook

DEPLOY = os.path.join(ROOT, 'playbooks', 'deploy_stand.yml')
STAND_LIST = os.path.join(ROOT, 'playbooks', 'stand_list.yml')
ANSIBLE_INVENTORY = os.path.join(os.path.dirname(sys.executable), 'ansible-inventory')
CLASS = ['student1@pve', 'student2@pve']
EXPIRE = int(time.time()) + 30 * 86400


def small_stand(name):
    """An EcoRouter and a Linux host on one private network (tests/reliability SMALL_STAND), renamed."""
    return {'name': name, 'clone': 'linked', 'start': True, 'machines': [
        {'name': 'router', 'device_type': 'ecorouter', 'template': 'ecorouter-tpl',
         'networks': [{'bridge': 'vmbr0'}, {'bridge': 'lan'}]},
        {'name': 'host1', 'device_type': 'linux', 'template': 'linux-tpl', 'networks': [{'bridge': 'lan'}]}]}


def root(sim):
    return PveClient(sim.host, user='root@pam', password=sim.password, port=sim.port, ca_path=sim.cafile)


def stand_vms(state, stand):
    """{(userid, name): vm} of the VMs in the stand's marked pools carrying its tags, from the state dump."""
    out = {}
    for poolid, pool in state['pools'].items():
        tokens = (pool['comment'] or '').split()
        marker = [t for t in tokens if t.startswith('deploystand:{0}:'.format(stand))]
        if not marker:
            continue
        userid = marker[0].split(':')[2]
        for vmid in pool['members']:
            vm = state['vms'][vmid] if vmid in state['vms'] else state['vms'][str(vmid)]
            if {'deploystand', 'stand-' + stand} <= set(vm['tags']):
                out[(userid, vm['name'])] = dict(vm, vmid=int(vmid))
    return out


def bridge_of(state, stand, userid):
    for node, net in state['networks'].items():
        for iface, cfg in net['running'].items():
            if 'deploystand:{0}:{1}:lan'.format(stand, userid) in (cfg.get('comments') or ''):
                return node, iface
    return None


def half_destroy(api, state, stand, userid):
    """Remove a student's VMs and pool by hand, leaving its user and bridge: a half-destroyed stand."""
    for (owner, _name), vm in sorted(stand_vms(state, stand).items()):
        if owner == userid:
            api.run_task('POST', 'nodes/{0}/qemu/{1}/status/stop'.format(vm['node'], vm['vmid']))
            api.run_task('DELETE', 'nodes/{0}/qemu/{1}'.format(vm['node'], vm['vmid']))
    path, params = api.pool_path('{0}-{1}'.format(stand, userid.split('@')[0]))
    api.delete(path, **params)


def add_foreign_objects(api):
    """Look-alikes carrying netlab's markers without being part of it, and foreign objects with none."""
    api.run_task('POST', 'nodes/pve1/qemu/9001/clone', newid=20001, name='ghost-host1')
    api.put('nodes/pve1/qemu/20001/config', tags='deploystand;stand-netlab')          # tagged, in no pool
    api.run_task('POST', 'nodes/pve1/qemu/9001/clone', newid=20002, name='student1-host1')   # no marker at all
    api.post('pools', poolid='netlab-student9', comment='the admin made this pool')      # no marker at all
    api.post('pools', poolid='netlab-archive', comment='deploystand:netlab:student7@pve')   # marker, wrong id
    api.post('access/users', userid='ghost@pve', comment='deploystand:netlab')            # user, no pool
    api.post('nodes/pve1/network', iface='vmbr3000', type='bridge', autostart=1,
             comments='deploystand:netlab:ghost@pve:lan')                                 # bridge, no pool
    api.run_task('PUT', 'nodes/pve1/network')
    api.put('access/users/student1@pve', expire=EXPIRE)


def without_agents(pve, stand):
    """The guests of the stand's VMs run no guest agent (the linux template's clones run one)."""
    for vm in pve.vms:
        if 'stand-' + stand in str(vm.config.get('tags') or '').split(';'):
            pve.set_guest(vm.vmid, agent=False)


@pytest.fixture(scope='module')
def cluster(tmp_path_factory):
    """Stands netlab (student1, student2) and seclab (student1; student2's VMs and pool removed by hand) on
    the one-node cluster, with look-alikes and foreign objects; netlab's running VMs answer their agent,
    seclab's guests run none."""
    tmp = tmp_path_factory.mktemp('two-stands')
    with Simulator('tiny') as sim:
        for name in ('netlab', 'seclab'):
            run = run_playbook(DEPLOY, sim.env, tmp, extra_vars={
                'users': CLASS, 'stand': small_stand(name), 'stand_report_dir': str(tmp / 'reports')})
            assert run.rc == 0, run
        api = root(sim)
        state = sim.state()
        seclab_student2_bridge = bridge_of(state, 'seclab', 'student2@pve')
        half_destroy(api, state, 'seclab', 'student2@pve')
        add_foreign_objects(api)
        sim.call(with_agents, 'netlab')
        sim.call(without_agents, 'seclab')
        yield {'sim': sim, 'seclab_student2_bridge': seclab_student2_bridge}


# ------------------------------------------------------------------------------------------ listing

def test_the_listing_shows_exactly_the_two_stands_and_the_look_alikes_where_they_belong(cluster, tmp_path):
    sim = cluster['sim']
    state = sim.state()
    run = run_playbook(STAND_LIST, sim.env, tmp_path, extra_vars={'stand_list_dir': str(tmp_path / 'list')})
    assert run.rc == 0 and run.changed_total == 0, run
    listing = json.loads((tmp_path / 'list' / 'stand-list.json').read_text())

    assert sorted(listing['stands']) == ['netlab', 'seclab']
    assert sorted(listing['stands']['netlab']['students']) == CLASS
    assert sorted(listing['stands']['seclab']['students']) == ['student1@pve']
    for name, stand in listing['stands'].items():
        expected = stand_vms(state, name)
        got = dict(((userid, vm['name']), vm) for userid, s in stand['students'].items() for vm in s['vms'])
        assert sorted(got) == sorted(expected)
        for key, vm in got.items():
            assert (vm['vmid'], vm['node'], vm['status'], vm['pool']) == (
                expected[key]['vmid'], expected[key]['node'], expected[key]['status'], expected[key]['pool'])
            assert vm['machine'] == key[1].split('-', 1)[1]
            assert 0 < vm['created'] <= time.time()          # the clone's disk
        for userid, student in stand['students'].items():
            assert [(b['node'], b['iface']) for b in student['bridges']] == [bridge_of(state, name, userid)]
            assert student['complete'] and student['user']['exists']
        assert stand['created'] == min(vm['created'] for vm in got.values())
    netlab, seclab = listing['stands']['netlab']['students'], listing['stands']['seclab']['students']
    assert netlab['student1@pve']['user']['expire'] == EXPIRE and netlab['student2@pve']['user']['expire'] is None
    # both stands use student1's account: its comment carries a marker token of each (issue 13 item 2)
    assert netlab['student1@pve']['user']['owned'] and seclab['student1@pve']['user']['owned']

    assert sorted((i['kind'], str(i['id']), i['stand'], i['userid']) for i in listing['look_alikes']) == sorted([
        ('vm', '20001', 'netlab', None), ('pool', 'netlab-archive', 'netlab', 'student7@pve'),
        ('user', 'ghost@pve', 'netlab', 'ghost@pve'), ('bridge', 'vmbr3000', 'netlab', 'ghost@pve'),
        ('bridge', cluster['seclab_student2_bridge'][1], 'seclab', 'student2@pve')])
    text = json.dumps(listing)
    assert 'netlab-student9' not in text and '20002' not in text      # no marker: not the listing's business

    rows = list(csv.DictReader(open(str(tmp_path / 'list' / 'stand-list.csv'))))
    assert sorted((r['stand'], r['userid'], r['name']) for r in rows) == sorted(
        (s, u, n) for s in ('netlab', 'seclab') for (u, n) in stand_vms(state, s))
    table = run.result('Stands on the cluster')['msg']
    assert any(line.startswith('netlab') and 'student1@pve' in line and time.strftime(
        '%Y-%m-%d', time.gmtime(EXPIRE)) in line for line in table)
    assert any(line.startswith('look-alike of stand seclab: bridge') for line in table)
    assert sim.state()['vms'] == state['vms']                            # read-only


def test_the_listing_filters_and_check_mode_writes_nothing(cluster, tmp_path):
    sim = cluster['sim']
    run = run_playbook(STAND_LIST, sim.env, tmp_path, check=True, extra_vars={
        'stand_list_dir': str(tmp_path / 'list'), 'stand_list_stands': 'seclab', 'stand_list_addresses': 'true'})
    assert run.rc == 0, run
    assert not (tmp_path / 'list').exists()
    result = run.result('Stands are read from the cluster (one module run for the whole listing)')
    assert sorted(result['stands']) == ['seclab']
    assert [i['stand'] for i in result['look_alikes']] == ['seclab']
    vms = [vm for s in result['stands']['seclab']['students'].values() for vm in s['vms']]
    # PVE's own reason per VM: the EcoRouter template has no agent option, the Linux guests run none here
    assert vms and all(vm['address'] is None for vm in vms)
    assert sorted((vm['machine'], vm['agent']) for vm in vms) == [
        ('host1', 'QEMU guest agent is not running'), ('router', 'No QEMU guest agent configured')]


def test_a_bad_filter_is_one_message_before_anything_is_read(cluster, tmp_path):
    run = run_playbook(STAND_LIST, cluster['sim'].env, tmp_path, extra_vars={
        'stand_list_stands': ['Net.Lab'], 'stand_list_students': ['student1']})
    assert run.rc != 0 and len(run.failed) == 1
    message = run.failed[0]['result']['msg']
    assert "stands[0]: 'Net.Lab' is not a stand name" in message and "students[0]: 'student1'" in message
    assert 'Traceback' not in run.output


# ------------------------------------------------------------------------------------------ inventory

def run_inventory(sim_env, tmp_path, config, *args, env=None):
    """ansible-inventory -i <tmp>/<name>.stands.yml ARGS with the connection from the PROXMOX_* variables."""
    path = tmp_path / 'test.stands.yml'
    path.write_text(yaml.safe_dump(config) if isinstance(config, dict) else config)
    full_env = dict((k, v) for k, v in os.environ.items() if not k.startswith('PROXMOX_'))
    full_env.update(sim_env)
    full_env.update({'ANSIBLE_CONFIG': os.path.join(ROOT, 'ansible.cfg'), 'ANSIBLE_NOCOLOR': '1',
                     'ANSIBLE_HOME': str(tmp_path / 'ansible-home'), 'ANSIBLE_LOCAL_TEMP': str(tmp_path / 'tmp')})
    full_env.update(env or {})
    return subprocess.run([ANSIBLE_INVENTORY, '-i', str(path)] + list(args), cwd=ROOT, env=full_env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=300)


def plain(value):
    """The JSON of ansible-inventory --list without its `__ansible_unsafe` wrappers: ansible-core 2.19 marks
    the strings an inventory source gives as untrusted (never templated), which is right for names from PVE."""
    if isinstance(value, dict):
        if list(value) == ['__ansible_unsafe']:
            return value['__ansible_unsafe']
        return dict((k, plain(v)) for k, v in value.items())
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def inventory_list(sim, tmp_path, config, **kwargs):
    proc = run_inventory(sim.env, tmp_path, config, '--list', **kwargs)
    assert proc.returncode == 0, proc.stderr
    return plain(json.loads(proc.stdout)), proc


def members(data, group):
    return sorted(data.get(group, {}).get('hosts', []))


def test_the_inventory_graph_and_host_vars_match_the_cluster(cluster, tmp_path):
    sim = cluster['sim']
    state = sim.state()
    data, _proc = inventory_list(sim, tmp_path, {
        'plugin': 'deploystand.proxmox.stands', 'student_hosts': True,
        'keyed_groups': [{'key': 'pve_status', 'prefix': 'status'}],
        'compose': {'lab_name': "deploystand_stand ~ '/' ~ deploystand_machine"}})
    hostvars = data['_meta']['hostvars']
    expected = dict(('{0}-{1}'.format(stand, name), dict(vm, stand=stand, userid=userid))
                    for stand in ('netlab', 'seclab') for (userid, name), vm in stand_vms(state, stand).items())
    assert members(data, 'deploystand_vms') == sorted(expected)
    for host, vm in expected.items():
        got = hostvars[host]
        assert (got['pve_vmid'], got['pve_node'], got['pve_pool'], got['pve_status']) == (
            vm['vmid'], vm['node'], vm['pool'], vm['status'])
        assert (got['deploystand_stand'], got['deploystand_userid']) == (vm['stand'], vm['userid'])
        assert got['lab_name'] == '{0}/{1}'.format(vm['stand'], got['deploystand_machine'])
        # netlab's agents answer (192.0.2.10 upward by VMID); seclab's are not running: no ansible_host
        assert got.get('ansible_host', None) is None if vm['stand'] == 'seclab' else \
            got['ansible_host'].startswith('192.0.2.')
    assert len(set(hostvars[h]['ansible_host'] for h in expected if h.startswith('netlab-'))) == 4
    for stand in ('netlab', 'seclab'):
        assert members(data, 'stand_' + stand) == sorted(h for h in expected if h.startswith(stand + '-'))
    assert members(data, 'student_student1_pve') == sorted(h for h, vm in expected.items()
                                                           if vm['userid'] == 'student1@pve')
    assert members(data, 'router') == sorted(h for h in expected if h.endswith('-router'))
    assert members(data, 'host1') == sorted(h for h in expected if h.endswith('-host1'))
    assert members(data, 'node_pve1') == sorted(expected)
    assert members(data, 'status_running') == sorted(h for h, vm in expected.items() if vm['status'] == 'running')
    assert members(data, 'deploystand_students') == CLASS
    assert members(data, 'stand_seclab_students') == ['student1@pve']
    assert hostvars['student1@pve']['deploystand_stands'] == ['netlab', 'seclab']
    assert 'ghost-host1' not in json.dumps(data)

    graph = run_inventory(sim.env, tmp_path, {'plugin': 'deploystand.proxmox.stands', 'stands': ['seclab']},
                          '--graph')
    assert graph.returncode == 0 and '@stand_seclab:' in graph.stdout and 'netlab-' not in graph.stdout


def test_student_hosts_run_modules_on_the_controller(cluster, tmp_path):
    sim = cluster['sim']
    config = tmp_path / 'class.stands.yml'
    config.write_text(yaml.safe_dump({'plugin': 'deploystand.proxmox.stands', 'student_hosts': True,
                                      'addresses': False}))
    play = [{'hosts': 'stand_netlab_students', 'gather_facts': False, 'tasks': [
        {'name': 'controller python', 'ansible.builtin.ping': {}}]}]
    run = run_playbook(play, sim.env, tmp_path, args=['-i', str(config)])
    assert run.rc == 0, run
    assert sorted(t['host'] for t in run.tasks if t['task'] == 'controller python') == CLASS


def test_the_cache_is_honoured_and_holds_no_secret(cluster, tmp_path):
    sim = cluster['sim']
    config = {'plugin': 'deploystand.proxmox.stands', 'cache': True, 'cache_plugin': 'ansible.builtin.jsonfile',
              'cache_connection': str(tmp_path / 'cache')}
    sim.reset_counters()
    first, _ = inventory_list(sim, tmp_path, config)
    reads = sim.counters()
    sim.reset_counters()
    second, _ = inventory_list(sim, tmp_path, config)
    assert sim.counters()['total'] == 0 and second == first
    assert reads['total'] > 0 and reads['requests']['GET /cluster/resources'] == 1
    cached = ''.join(p.read_text() for p in (tmp_path / 'cache').iterdir())
    assert 'student1-router' in cached and sim.password not in cached
    # --flush-cache reads the cluster again
    sim.reset_counters()
    proc = run_inventory(sim.env, tmp_path, config, '--list', '--flush-cache')
    assert proc.returncode == 0 and sim.counters()['requests']['GET /cluster/resources'] == 1


def test_no_password_or_token_secret_in_the_inventory_output_at_vvv(cluster, tmp_path):
    sim = cluster['sim']
    password = 'Auditor-Pw-7f3a9c'
    if 'auditor@pve' not in sim.state()['users']:
        sim.add_user('auditor@pve', password)
        sim.set_acl('/', 'PVEAuditor', users=['auditor@pve'])
    secret = sim.add_token('auditor@pve', 'inventory', privsep=False)
    password_env = dict(sim.env, PROXMOX_USER='auditor@pve', PROXMOX_PASSWORD=password)
    token_env = dict(sim.env, PROXMOX_USER='auditor@pve', PROXMOX_PASSWORD='',
                     PROXMOX_TOKEN_ID='auditor@pve!inventory', PROXMOX_TOKEN_SECRET=secret)
    for env in (password_env, token_env):
        proc = run_inventory(env, tmp_path, {'plugin': 'deploystand.proxmox.stands'}, '--list', '-vvv')
        assert proc.returncode == 0, proc.stderr
        output = proc.stdout + proc.stderr
        assert 'netlab-student1-router' in output
        assert password not in output and secret not in output


@pytest.mark.parametrize('case', ['unknown option', 'wrong type', 'unreachable cluster', 'wrong token'])
def test_a_bad_inventory_file_gives_one_clear_error_and_no_traceback(cluster, tmp_path, case):
    sim = cluster['sim']
    token_secret = '11111111-2222-3333-4444-555555555555'
    config, expected = {
        'unknown option': ({'stand': ['netlab']}, "unknown option 'stand' (did you mean 'stands'?)"),
        'wrong type': ({'api_port': 'lots'}, "Config 'api_port'"),
        'unreachable cluster': ({'api_port': 1}, 'cannot reach the Proxmox VE API at https://{0}:1'.format(sim.host)),
        'wrong token': ({'api_token_id': 'root@pam!nope', 'api_token_secret': token_secret},
                        'authentication failed for root@pam!nope'),
    }[case]
    config = dict(config, plugin='deploystand.proxmox.stands')
    # as AWX runs an inventory update: a source that does not parse fails it
    proc = run_inventory(sim.env, tmp_path, config, '--graph', env={'ANSIBLE_INVENTORY_UNPARSED_FAILED': 'true'})
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output
    assert 'Traceback' not in output and sim.password not in output and token_secret not in output
    first_failure = output.split('Failed to parse inventory with ')[1]
    assert first_failure.startswith("'auto' plugin") and expected in first_failure.split('[WARNING]')[0], output
    # with only this plugin enabled (docs/inventory.md), it is the only message besides Ansible's verdict
    only = run_inventory(sim.env, tmp_path, config, '--graph', env={
        'ANSIBLE_INVENTORY_UNPARSED_FAILED': 'true', 'ANSIBLE_INVENTORY_ENABLED': 'deploystand.proxmox.stands'})
    failed_plugins = set(re.findall(r"Failed to parse inventory with '([^']+)' plugin", only.stdout + only.stderr))
    assert only.returncode != 0 and failed_plugins == {'ansible_collections.deploystand.proxmox.plugins.inventory.stands'}
    assert expected in only.stderr and 'Traceback' not in only.stderr


def test_the_inventory_plugin_documentation_renders():
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-doc'), '-t', 'inventory',
                           'deploystand.proxmox.stands'], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          env=dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg')),
                          universal_newlines=True, timeout=120)
    assert proc.returncode == 0, proc.stdout
    for text in ('api_host', 'PROXMOX_TOKEN_SECRET', 'PROXMOX_CA_PATH', 'keyed_groups', 'cache_plugin',
                 'student_hosts', 'EXAMPLES'):
        assert text in proc.stdout, text
    assert 'WARNING' not in proc.stdout
