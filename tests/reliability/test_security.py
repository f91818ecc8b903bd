"""Students are isolated from each other (the simulator enforces PVE's ACLs), no password or token
secret ever reaches the output or the recorded results, the credentials report is mode 0600, and TLS
is verified unless turned off, which warns."""
import csv
import json

import pytest

from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.client import PveApiError, PveClient
from reliability_support import DEPLOY, deploy_vars

pytestmark = pytest.mark.slow
GIVEN = 'Given-Secret-Pw7'
USERS = [{'name': 'student1@pve', 'password': GIVEN}, 'student2@pve', 'student3@pve']


def report(tmp_path):
    path = tmp_path / 'reports' / 'netlab-credentials.csv'
    assert oct(path.stat().st_mode & 0o777) == '0o600'
    assert oct(path.parent.stat().st_mode & 0o777) == '0o700'
    for suffix in ('md', 'html', 'json'):
        assert oct((tmp_path / 'reports' / ('netlab-credentials.' + suffix)).stat().st_mode & 0o777) == '0o600'
    with path.open() as handle:
        return dict((row['user'], row['password']) for row in csv.DictReader(handle))


def recorded_text(tmp_path):
    return '\n'.join(p.read_text() for p in sorted(tmp_path.glob('record-*.jsonl')))


def assert_no_secret(secrets, run, tmp_path):
    recorded = recorded_text(tmp_path)
    for secret in secrets:
        assert secret not in run.output, 'a secret is in the output'
        assert secret not in recorded, 'a secret is in the recorded callback results'
        assert json.dumps(secret)[1:-1] not in recorded


def test_students_see_and_touch_only_their_own_lab(sim_tiny, playbook, tmp_path):
    sim = sim_tiny
    run = playbook(DEPLOY, sim, extra_vars=deploy_vars(tmp_path, USERS))
    assert run.rc == 0, run
    passwords = report(tmp_path)
    state = sim.state()
    mine = {}
    for userid in passwords:
        pool = 'netlab-' + userid.split('@')[0]
        mine[userid] = dict((int(v), vm) for v, vm in state['vms'].items() if vm['pool'] == pool)
        assert len(mine[userid]) == 2
    bridges = dict((iface, cfg['comments']) for iface, cfg in state['networks']['pve1']['running'].items()
                   if 'deploystand:' in (cfg.get('comments') or ''))

    for userid, password in sorted(passwords.items()):
        api = PveClient(sim.host, user=userid, password=password, port=sim.port, ca_path=sim.cafile)
        pool = 'netlab-' + userid.split('@')[0]
        seen = set(int(r['vmid']) for r in api.get('cluster/resources', type='vm'))
        assert seen == set(mine[userid])
        assert set(p['poolid'] for p in api.get('pools')) <= {pool}
        try:
            listed = [b['iface'] for b in api.get('nodes/pve1/network', type='bridge')]
        except PveApiError as err:
            assert err.kind == 'permission'
            listed = []
        own = set(i for i, c in bridges.items() if ':{0}:'.format(userid) in c)
        assert set(listed) & set(bridges) <= own
        for other, vms in mine.items():
            if other == userid:
                continue
            for vmid in vms:
                for call in (lambda: api.post('nodes/pve1/qemu/{0}/status/stop'.format(vmid)),
                             lambda: api.post('nodes/pve1/qemu/{0}/status/start'.format(vmid)),
                             lambda: api.put('nodes/pve1/qemu/{0}/config'.format(vmid), description='hi'),
                             lambda: api.get('nodes/pve1/qemu/{0}/config'.format(vmid))):
                    with pytest.raises(PveApiError) as refused:
                        call()
                    assert refused.value.status == 403, refused.value.message
        # but its own machines are its own
        own_vm = sorted(mine[userid])[0]
        api.run_task('POST', 'nodes/pve1/qemu/{0}/status/stop'.format(own_vm))
        assert api.get('nodes/pve1/qemu/{0}/status/current'.format(own_vm))['status'] == 'stopped'


def test_no_password_or_token_secret_in_the_output_at_vvv(sim_factory, playbook, tmp_path):
    sim = sim_factory('tiny', password='Root-Passw0rd-x7Q')
    run = playbook(DEPLOY, sim, extra_vars=deploy_vars(tmp_path, USERS), args=['-vvv'])
    assert run.rc == 0, run
    passwords = report(tmp_path)
    assert passwords['student1@pve'] == GIVEN
    generated = [p for u, p in passwords.items() if u != 'student1@pve']
    assert all(len(p) == 20 for p in generated)
    assert_no_secret([GIVEN, sim.password] + generated, run, tmp_path)

    # again with an API token: its secret stays out too, and a re-run shows no password at all
    secret = sim.add_token('root@pam', 'deploy', privsep=False)
    env = dict((k, v) for k, v in sim.env.items() if k not in ('PROXMOX_USER', 'PROXMOX_PASSWORD'))
    env.update(PROXMOX_TOKEN_ID='root@pam!deploy', PROXMOX_TOKEN_SECRET=secret)
    more = USERS + ['student4@pve']
    token_run = playbook(DEPLOY, env, extra_vars=deploy_vars(tmp_path, more), args=['-vvv'])
    assert token_run.rc == 0, token_run
    new = report(tmp_path)['student4@pve']
    assert len(new) == 20
    assert_no_secret([GIVEN, sim.password, secret, new] + generated, token_run, tmp_path)


def test_tls_is_verified_by_default_ca_path_works_and_turning_it_off_warns(sim_tiny, playbook, tmp_path):
    sim = sim_tiny
    env = dict((k, v) for k, v in sim.env.items() if k not in ('PROXMOX_CA_PATH', 'PROXMOX_VALIDATE_CERTS'))
    plan = {'deploystand.proxmox.pve_stand_plan': {'stand': {'name': 'netlab', 'machines': [
        {'name': 'host1', 'template': 'linux-tpl', 'networks': ['vmbr0']}]}, 'users': ['student1@pve']},
        'ignore_errors': True}
    tasks = [
        dict(plan, name='Default'),
        {'name': 'With ca_path', 'deploystand.proxmox.pve_stand_plan': dict(plan['deploystand.proxmox.pve_stand_plan'],
                                                                            ca_path=sim.cafile)},
        {'name': 'Without verification', 'deploystand.proxmox.pve_stand_plan': dict(
            plan['deploystand.proxmox.pve_stand_plan'], validate_certs=False)},
    ]
    run = playbook([{'hosts': 'localhost', 'gather_facts': False, 'tasks': tasks}], env,
                   env={'REQUESTS_CA_BUNDLE': '', 'CURL_CA_BUNDLE': ''})
    assert 'Traceback' not in run.output
    default = run.result('Default')
    assert [t['status'] for t in run.tasks if t['task'] == 'Default'] == ['ignored']
    assert default.get('error_kind') == 'tls', default
    assert 'could not be verified' in default['msg'] and 'ca_path' in default['msg']
    assert [t['status'] for t in run.tasks if t['task'] != 'Default'] == ['ok', 'ok'], run
    off = run.result('Without verification')
    assert any('validate_certs is off' in w for w in off.get('warnings', [])), off
    assert 'validate_certs is off' in run.output
