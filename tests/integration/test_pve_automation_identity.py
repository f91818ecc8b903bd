"""playbooks/automation_role.yml and pve_automation_identity through ansible-playbook against the simulator:
a fresh checkout, renewal, a token whose file is gone, check mode, a file that cannot be written. The token
file is sourced by a real shell and its secret used against the API; the cluster is read back with sim.state()."""
import os
import subprocess

import pytest

from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.client import PveApiError, PveClient

pytest_plugins = ['deploystand_sim.pytest_fixtures']
pytestmark = pytest.mark.slow

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AUTOMATION_ROLE = os.path.join(ROOT, 'playbooks', 'automation_role.yml')
TOKEN_ID = 'deploystand@pve!ansible'
ROLE = 'DeployStandAutomation'
TASK = "Role, user, privilege-separated token and grants exist; the token's secret is in its file"
STAND = {'name': 'netlab', 'machines': [{'name': 'host1', 'template': 'linux-tpl', 'networks': [{'bridge': 'vmbr0'}]}]}


def sourced(token_file):
    """The PROXMOX_* variables a shell has after `. token_file` (with an administrator's password set before)."""
    env = {'PATH': os.environ['PATH'], 'PROXMOX_PASSWORD': 'the-admins-password'}
    out = subprocess.run(['bash', '-c', '. "$0" && env', str(token_file)], env=env, stdout=subprocess.PIPE,
                         universal_newlines=True, check=True).stdout
    return dict(line.split('=', 1) for line in out.splitlines() if line.startswith('PROXMOX_'))


def as_token(env):
    return PveClient(env['PROXMOX_HOST'], token_id=env['PROXMOX_TOKEN_ID'], token_secret=env['PROXMOX_TOKEN_SECRET'],
                     port=env['PROXMOX_PORT'], ca_path=env['PROXMOX_CA_PATH'], retries=0)


def identity_state(sim):
    """The parts of the cluster the identity is made of."""
    state = sim.state()
    return {'roles': state['roles'].get(ROLE), 'user': state['users'].get('deploystand@pve'),
            'acl': sorted((e['path'], e['type'], e['ugid']) for e in state['acl'] if e['roleid'] == ROLE)}


def granted_paths(sim, kind):
    return sorted(path for path, k, _ugid in identity_state(sim)['acl'] if k == kind)


def paths():
    import yaml
    return sorted(yaml.safe_load(open(AUTOMATION_ROLE))[0]['vars']['automation_role_paths'])


def plan_play():
    return [{'name': 'plan', 'hosts': 'localhost', 'gather_facts': False,
             'tasks': [{'name': 'plan', 'deploystand.proxmox.pve_stand_plan': {'stand': STAND,
                                                                              'users': ['student1@pve']}}]}]


def test_a_fresh_checkout_gets_the_directory_the_file_and_a_working_token(sim_tiny, playbook, tmp_path):
    token_file = tmp_path / 'checkout' / 'reports' / 'automation-token.env'
    run = playbook(AUTOMATION_ROLE, sim_tiny, extra_vars={'automation_token_file': str(token_file)})
    assert run.rc == 0, run
    assert oct(token_file.parent.stat().st_mode & 0o777) == '0o700'
    assert oct(token_file.stat().st_mode & 0o777) == '0o600'
    env = sourced(token_file)
    assert env['PROXMOX_TOKEN_ID'] == TOKEN_ID and 'PROXMOX_PASSWORD' not in env
    assert env['PROXMOX_TOKEN_SECRET'] not in run.output
    assert as_token(env).get('version')['release']
    assert granted_paths(sim_tiny, 'token') == granted_paths(sim_tiny, 'user') == paths()
    # the plan of a deploy works with the token alone
    planned = playbook(plan_play(), type('TokenOnly', (), {'env': env})())
    assert planned.rc == 0, planned

    again = playbook(AUTOMATION_ROLE, sim_tiny, extra_vars={'automation_token_file': str(token_file)})
    assert again.rc == 0, again
    assert again.changed_total == 0, [t['task'] for t in again.tasks if t['result'].get('changed')]
    assert sourced(token_file) == env


def test_renewal_ends_with_a_working_token_that_holds_its_grants(sim_tiny, playbook, tmp_path):
    token_file = tmp_path / 'automation-token.env'
    assert playbook(AUTOMATION_ROLE, sim_tiny, extra_vars={'automation_token_file': str(token_file)}).rc == 0
    old = sourced(token_file)

    renewed = playbook(AUTOMATION_ROLE, sim_tiny, extra_vars={'automation_token_file': str(token_file),
                                                              'automation_token_renew': True})
    assert renewed.rc == 0, renewed
    result = renewed.result(TASK)
    assert result['changed'] and result['token_renewed'] and result['token_file_written']
    new = sourced(token_file)
    assert new['PROXMOX_TOKEN_SECRET'] != old['PROXMOX_TOKEN_SECRET']
    assert new['PROXMOX_TOKEN_SECRET'] not in renewed.output
    with pytest.raises(PveApiError) as refused:
        as_token(old).get('version')
    assert refused.value.kind == 'auth'
    # the new token holds the role on every path again (a privsep token needs its own grants)
    assert granted_paths(sim_tiny, 'token') == paths()
    held = as_token(new).get('access/permissions')
    assert held['/vms']['VM.Clone'] and held['/nodes']['Sys.Modify'] and held['/pool']['Pool.Allocate']
    planned = playbook(plan_play(), type('TokenOnly', (), {'env': new})())
    assert planned.rc == 0, planned

    again = playbook(AUTOMATION_ROLE, sim_tiny, extra_vars={'automation_token_file': str(token_file)})
    assert again.rc == 0 and again.changed_total == 0, again


def test_a_token_whose_file_is_gone_is_refused_with_what_to_do_and_nothing_changes(sim_tiny, playbook, tmp_path):
    token_file = tmp_path / 'automation-token.env'
    assert playbook(AUTOMATION_ROLE, sim_tiny, extra_vars={'automation_token_file': str(token_file)}).rc == 0
    made = identity_state(sim_tiny)
    token_file.unlink()
    run = playbook(AUTOMATION_ROLE, sim_tiny, extra_vars={'automation_token_file': str(token_file)})
    assert run.rc != 0
    msg = run.result(TASK)['msg']
    assert 'token {0} exists, but {1} does not'.format(TOKEN_ID, token_file) in msg, msg
    assert 'automation_token_renew=true' in msg and 'nothing was changed' in msg, msg
    assert 'Traceback' not in run.output
    assert identity_state(sim_tiny) == made and not token_file.exists()

    # a file of another token is refused the same way
    token_file.write_text("export PROXMOX_TOKEN_ID='other@pve!x'\nexport PROXMOX_TOKEN_SECRET=abc\n")
    other = playbook(AUTOMATION_ROLE, sim_tiny, extra_vars={'automation_token_file': str(token_file)})
    # (the simulator's admin password is the word 'secret': Ansible masks it in messages)
    assert other.rc != 0 and "of token {0} (it names 'other@pve!x')".format(TOKEN_ID) in other.result(TASK)['msg']


def test_check_mode_predicts_everything_and_writes_nothing(sim_tiny, playbook, tmp_path):
    token_file = tmp_path / 'reports' / 'automation-token.env'
    before = identity_state(sim_tiny)
    run = playbook(AUTOMATION_ROLE, sim_tiny, extra_vars={'automation_token_file': str(token_file)}, check=True,
                   diff=True)
    assert run.rc == 0, run
    result = run.result(TASK)
    assert result['changed'] and result['role_created'] and result['user_created'] and result['token_created']
    assert len(result['acls_added']) == 2 * len(paths())
    diff = result['diff']
    assert diff['before']['role'] is None and diff['after']['role']['privileges'] == sorted(
        identity_privileges())
    assert diff['before']['token_file']['secret'] == 'none' and diff['after']['token_file']['secret'] == 'new'
    assert identity_state(sim_tiny) == before
    assert not token_file.parent.exists()

    assert playbook(AUTOMATION_ROLE, sim_tiny, extra_vars={'automation_token_file': str(token_file)}).rc == 0
    made = identity_state(sim_tiny)
    secret = sourced(token_file)['PROXMOX_TOKEN_SECRET']
    same = playbook(AUTOMATION_ROLE, sim_tiny, extra_vars={'automation_token_file': str(token_file)}, check=True,
                    diff=True)
    assert same.rc == 0 and same.changed_total == 0, same
    renew = playbook(AUTOMATION_ROLE, sim_tiny, extra_vars={'automation_token_file': str(token_file),
                                                            'automation_token_renew': True}, check=True)
    assert renew.rc == 0 and renew.result(TASK)['token_renewed'], renew
    assert identity_state(sim_tiny) == made and sourced(token_file)['PROXMOX_TOKEN_SECRET'] == secret


def identity_privileges():
    import yaml
    return yaml.safe_load(open(AUTOMATION_ROLE))[0]['vars']['automation_role_privs']


def test_a_token_file_that_cannot_be_written_is_refused_before_any_write(sim_tiny, playbook, tmp_path):
    blocker = tmp_path / 'reports'
    blocker.write_text('a file where the directory should be')
    before = identity_state(sim_tiny)
    run = playbook(AUTOMATION_ROLE, sim_tiny, extra_vars={'automation_token_file': str(blocker / 'token.env')})
    assert run.rc != 0
    msg = run.result(TASK)['msg']
    assert 'token.env' in msg and 'nothing was changed' in msg, msg
    assert identity_state(sim_tiny) == before
    assert sim_tiny.state()['users'].get('deploystand@pve') is None


def test_the_role_holds_exactly_the_privileges_and_grants_on_other_paths_are_removed(sim_tiny, playbook, tmp_path):
    token_file = tmp_path / 'automation-token.env'
    assert playbook(AUTOMATION_ROLE, sim_tiny, extra_vars={'automation_token_file': str(token_file)}).rc == 0
    # an admin widened the role and granted it on / as well
    sim_tiny.call(lambda pve: pve.lab_roles[ROLE].add('Sys.PowerMgmt'))
    sim_tiny.set_acl('/', ROLE, users=['deploystand@pve'], tokens=[TOKEN_ID])
    run = playbook(AUTOMATION_ROLE, sim_tiny, extra_vars={'automation_token_file': str(token_file)})
    assert run.rc == 0, run
    result = run.result(TASK)
    assert result['role_updated'] and sorted(result['acls_removed']) == [
        '/ {0} token {1}'.format(ROLE, TOKEN_ID), '/ {0} user deploystand@pve'.format(ROLE)]
    state = identity_state(sim_tiny)
    assert state['roles'] == sorted(identity_privileges())
    assert sorted(set(p for p, _k, _u in state['acl'])) == paths()


def test_bad_input_is_one_message_and_nothing_is_made(sim_tiny, playbook, tmp_path):
    play = [{'name': 'identity', 'hosts': 'localhost', 'gather_facts': False, 'tasks': [{
        'name': 'identity', 'deploystand.proxmox.pve_automation_identity': {
            'role': 'PVEMine', 'privileges': ['VM.Audit', 'Bogus'], 'userid': 'no-realm', 'token': '1x',
            'paths': ['/vms', 'pool'], 'token_file': str(tmp_path / 't.env')}}]}]
    before = identity_state(sim_tiny)
    run = playbook(play, sim_tiny)
    assert run.rc != 0
    msg = run.result('identity')['msg']
    for words in ("role: 'PVEMine' is in PVE's own namespace", "'Bogus' is not a privilege name",
                  "userid: 'no-realm' is not a PVE user id", "token: '1x' is not a token name",
                  "paths: 'pool' is not an ACL path"):
        assert words in msg, (words, msg)
    assert identity_state(sim_tiny) == before and 'Traceback' not in run.output

    unknown = [{'name': 'identity', 'hosts': 'localhost', 'gather_facts': False, 'tasks': [{
        'name': 'identity', 'deploystand.proxmox.pve_automation_identity': {
            'privileges': ['VM.Audit', 'VM.Frobnicate'], 'paths': ['/vms'], 'token_file': str(tmp_path / 't.env')}}]}]
    run = playbook(unknown, sim_tiny)
    assert run.rc != 0 and 'VM.Frobnicate is not known to this PVE release' in run.result('identity')['msg']
    assert identity_state(sim_tiny) == before and not (tmp_path / 't.env').exists()
