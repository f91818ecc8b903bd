"""Bad input of every kind the teacher (or the cluster) can give: one clear message, no traceback,
nothing created. These add to the 20 cases of tests/integration/test_deploy_stand.py the kinds it
does not cover: malformed YAML, wrong types, "did you mean", realms, user and stand names PVE
rejects, ambiguous aliases, NIC counts, templates on another node's local storage, offline nodes,
credentials, expired tokens, TLS, and a missing privilege named in the message."""
import copy
import os

import pytest
import yaml

from reliability_support import DEPLOY, DESTROY, ROOT, STAND, comparable, students

CLASS = students(2)
ROUTER, HOST1, HOST2 = STAND['machines']
pytestmark = pytest.mark.slow


def machines(*items):
    return dict(STAND, machines=list(items))


BAD_INPUTS = [
    # wrong types
    ('vmid_range_not_a_range', {'stand': dict(STAND, vmid_range='lots')}, 'vmid_range'),
    ('vmid_range_reversed', {'stand': dict(STAND, vmid_range=[19999, 10000])}, 'vmid_range'),
    ('bridge_range_beyond_vmbr9999', {'stand': dict(STAND, bridge_range=[1000, 20000])}, 'bridge_range'),
    ('machines_not_a_list', {'stand': dict(STAND, machines='router')}, 'machines'),
    ('start_not_a_boolean', {'stand': dict(STAND, start='maybe')}, 'start'),
    ('clone_mode_unknown', {'stand': dict(STAND, clone='thin')}, 'clone'),
    ('user_entry_a_number', {'users': [42]}, 'users[0]'),
    ('networks_not_a_list', {'stand': machines(ROUTER, dict(HOST1, networks='lan'))}, 'networks'),
    # unknown keys, with the closest allowed key
    ('unknown_machine_key', {'stand': machines(ROUTER, {'name': 'host1', 'templat': 'linux-tpl',
                                                        'networks': [{'bridge': 'lan'}]})},
     "did you mean 'template'"),
    ('unknown_network_key', {'stand': machines(ROUTER, dict(HOST1, networks=[{'bridge': 'lan', 'link_dwn': True}]))},
     "did you mean 'link_down'"),
    ('unknown_user_key_did_you_mean', {'users': [{'name': 'student1@pve', 'pasword': 'Long-enough-1'}]},
     "did you mean 'password'"),
    # realms and user names PVE rejects
    ('realm_that_does_not_exist', {'users': ['student1@ldap']}, 'student1@ldap'),
    ('realm_too_short', {'users': ['student1@p']}, 'realm'),
    ('user_name_with_space', {'users': ['stu dent@pve']}, 'whitespace'),
    ('user_name_with_colon', {'users': ['stu:dent@pve']}, "':'"),
    ('userid_too_long', {'users': ['s' * 70 + '@pve']}, '3-64'),
    ('user_name_not_a_dns_label', {'users': [u'j\u00fcrgen@pve']}, u'j\u00fcrgen'),
    ('user_name_gives_leading_dash', {'users': ['_admin@pve']}, '_admin'),
    ('user_names_give_the_same_vm_name', {'users': ['john.doe@pve', 'john_doe@pve']}, 'john-doe'),
    ('same_name_in_two_realms', {'users': ['student1@pve', 'student1@pam']}, 'pool id'),
    # stand names that would make invalid pool or VM names
    ('stand_name_starts_with_digit', {'stand': dict(STAND, name='9lab')}, 'name'),
    ('stand_name_too_long', {'stand': dict(STAND, name='a' * 21)}, 'name'),
    ('stand_name_with_dot', {'stand': dict(STAND, name='net.lab')}, 'name'),
    ('machine_name_with_underscore', {'stand': machines(ROUTER, dict(HOST1, name='host_1'))}, 'host_1'),
    # networks
    ('empty_networks', {'stand': machines(ROUTER, dict(HOST1, networks=[]))}, 'networks'),
    ('too_many_nics_linux', {'stand': machines(ROUTER, dict(HOST1, networks=[{'bridge': 'lan'}] * 9))}, '8'),
    ('too_many_nics_ecorouter', {'stand': machines(dict(ROUTER, networks=[{'bridge': 'lan'}] * 8), HOST1)},
     'EcoRouter'),
    ('alias_not_a_bridge_name', {'stand': machines(ROUTER, dict(HOST1, networks=[{'bridge': 'Lan Net'}]))},
     'Lan Net'),
]


def assert_refused(run, before, after, needle):
    assert run.rc != 0
    assert 'Traceback' not in run.output
    failed = run.failed
    assert len(failed) == 1, run
    assert needle in failed[0]['result']['msg'], failed[0]['result']['msg']
    assert after == before


@pytest.fixture(scope='module')
def cluster_read():
    """The default scenario as pve_stand_plan reads it (one simulator for the module: nothing here writes)."""
    from deploystand_sim.testing import Simulator
    from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.client import PveClient
    from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.cluster import read_cluster
    with Simulator('default') as running:
        client = PveClient(running.host, user='root@pam', password=running.password, port=running.port,
                           ca_path=running.cafile)
        yield read_cluster(client, TEMPLATES)


TEMPLATES = ('ecorouter-tpl', 'linux-tpl', 'solo-tpl')


def plan_problems(extra, cluster, purpose='deploy'):
    """What the deploy's first two steps say of `extra` (the run's extra vars), in the same calls as the
    stand_inputs action and the pve_stand_plan module: the shape error, or the plan's problems."""
    from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.input_shape import (
        StandInputError, read_inputs,
    )
    from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.plan import build_plan
    from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.removal import plan_removal
    try:
        inputs = read_inputs(extra, purpose=purpose)
    except StandInputError as err:
        return [str(err)]
    planner = build_plan if purpose == 'deploy' else plan_removal
    return planner(inputs['stand'], inputs['users'], cluster)[1]


# Every case is refused by the plan, read in-process against the simulator's cluster (~2 ms a case); the
# playbook run below shows for a few of them that the refusal reaches the teacher as one failed task,
# before anything is written. Each module's failure path is one `fail_json` of these problems.
@pytest.mark.parametrize('case,overrides,needle', BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_is_refused_by_the_plan_with_its_message(cluster_read, case, overrides, needle):
    extra = {'users': CLASS, 'stand': STAND}
    extra.update(overrides)
    problems = plan_problems(extra, cluster_read)
    assert problems, case
    assert any(needle in p for p in problems), problems
    assert not any('Traceback' in p for p in problems)


E2E_CASES = ('vmid_range_reversed', 'unknown_machine_key', 'realm_that_does_not_exist',
             'user_names_give_the_same_vm_name', 'too_many_nics_ecorouter')


@pytest.mark.parametrize('case,overrides,needle', [c for c in BAD_INPUTS if c[0] in E2E_CASES],
                         ids=list(E2E_CASES))
def test_bad_input_is_refused_before_anything_is_made(sim, playbook, tmp_path, case, overrides, needle):
    before = comparable(sim.state())
    extra = {'users': CLASS, 'stand': STAND}
    extra.update(overrides)
    run = playbook(DEPLOY, sim, extra_vars=extra)
    assert_refused(run, before, comparable(sim.state()), needle)
    assert failed_task(run).endswith('Stand input problems are reported')


def failed_task(run):
    return run.failed[0]['task']


def test_malformed_yaml_users_file_is_refused(sim, playbook, tmp_path):
    before = comparable(sim.state())
    users = tmp_path / 'users.yml'
    users.write_text('users:\n  - student1@pve\n  - name: student2@pve\n   password: "x\n')
    run = playbook(DEPLOY, sim, args=['-e', '@' + str(users)])
    assert run.rc != 0
    assert 'Traceback' not in run.output
    assert 'users.yml' in run.output and ('Syntax Error' in run.output or 'YAML parsing failed' in run.output), \
        run.output
    assert run.tasks == []
    assert comparable(sim.state()) == before


def test_alias_that_is_a_real_bridge_on_some_nodes_is_ambiguous(sim, playbook, tmp_path):
    # an admin made a bridge called "lan" on pve1 only; the class runs on pve1 and pve3
    lan = dict(sim.state()['networks']['pve1']['running']['vmbr0'], bridge_ports='none')
    sim.call(lambda pve: pve.node_net('pve1')['config'].__setitem__('lan', lan))
    before = comparable(sim.state())
    run = playbook(DEPLOY, sim, extra_vars={'users': [{'name': 'student1@pve', 'node': 'pve1'},
                                                      {'name': 'student2@pve', 'node': 'pve3'}],
                                            'stand': STAND})
    assert_refused(run, before, comparable(sim.state()), 'ambiguous')


def scenario_with(**changes):
    data = yaml.safe_load(open(os.path.join(ROOT, 'simulator', 'deploystand_sim', 'scenarios', 'default.yml')))
    data = copy.deepcopy(data)
    for key, value in changes.items():
        value(data) if callable(value) else data.__setitem__(key, value)
    return data


def test_template_on_another_nodes_local_storage_is_refused(sim_factory, playbook, tmp_path):
    def add(data):
        data['templates'].append({'vmid': 9200, 'name': 'solo-tpl', 'node': 'pve1', 'storage': 'local-lvm',
                                  'disk_gb': 4, 'memory_mb': 512, 'nics': ['vmbr0']})
    sim = sim_factory(scenario_with(extra=add))
    before = comparable(sim.state())
    stand = machines(ROUTER, dict(HOST1, template='solo-tpl'))
    run = playbook(DEPLOY, sim, extra_vars={'users': [{'name': 'student1@pve', 'node': 'pve2'}], 'stand': stand})
    assert_refused(run, before, comparable(sim.state()), 'solo-tpl')
    msg = run.failed[0]['result']['msg']
    assert 'pve2' in msg and 'local-lvm' in msg, msg


def test_offline_node_is_refused(sim_factory, playbook, tmp_path):
    def offline(data):
        data['nodes'][2]['online'] = False
    sim = sim_factory(scenario_with(extra=offline))
    before = comparable(sim.state())
    run = playbook(DEPLOY, sim, extra_vars={'users': CLASS, 'stand': dict(STAND, node='pve3')})
    assert_refused(run, before, comparable(sim.state()), "'pve3' is offline")


def connection_env(sim, **changes):
    env = dict(sim.env)
    env.update(changes)
    return dict((k, v) for k, v in env.items() if v is not None)


def test_wrong_password_is_refused(sim, playbook, tmp_path):
    before = comparable(sim.state())
    run = playbook(DEPLOY, connection_env(sim, PROXMOX_PASSWORD='not-the-password'),
                   extra_vars={'users': CLASS, 'stand': STAND})
    assert_refused(run, before, comparable(sim.state()), 'login failed for root@pam')
    assert 'not-the-password' not in run.output


def test_expired_token_is_refused(sim, playbook, tmp_path):
    secret = sim.add_token('root@pam', 'old', privsep=False, expire=1000)
    before = comparable(sim.state())
    env = connection_env(sim, PROXMOX_USER=None, PROXMOX_PASSWORD=None, PROXMOX_TOKEN_ID='root@pam!old',
                         PROXMOX_TOKEN_SECRET=secret)
    run = playbook(DEPLOY, env, extra_vars={'users': CLASS, 'stand': STAND})
    assert_refused(run, before, comparable(sim.state()), 'expired')
    assert secret not in run.output


def test_unverifiable_certificate_is_refused(sim, playbook, tmp_path):
    before = comparable(sim.state())
    # no CA given, and none from the environment: the simulator's self-made CA cannot be verified
    run = playbook(DEPLOY, connection_env(sim, PROXMOX_CA_PATH=None),
                   extra_vars={'users': CLASS, 'stand': STAND}, env={'REQUESTS_CA_BUNDLE': '', 'CURL_CA_BUNDLE': ''})
    assert_refused(run, before, comparable(sim.state()), 'TLS certificate')
    assert 'ca_path' in run.failed[0]['result']['msg']


def test_missing_privilege_is_named(sim_tiny, playbook, tmp_path):
    sim = sim_tiny
    from reliability_support import automation_privileges
    privs = [p for p in automation_privileges() if p != 'Sys.Audit']

    def setup(pve):
        pve.lab_roles['Partial'] = set(privs)
        pve.add_user('auto@pve', 'Auto-Passw0rd')
        for path in ('/nodes', '/vms', '/storage', '/pool', '/access', '/sdn/zones/localnetwork'):
            pve.set_acl(path, 'Partial', 'auto@pve', 'user', 1)
    sim.call(setup)
    before = comparable(sim.state())
    run = playbook(DEPLOY, connection_env(sim, PROXMOX_USER='auto@pve', PROXMOX_PASSWORD='Auto-Passw0rd'),
                   extra_vars={'users': CLASS, 'stand': STAND})
    assert_refused(run, before, comparable(sim.state()), 'Sys.Audit')
    # found by the plan's privilege preflight (issue 13), before the first write
    assert failed_task(run).endswith('Stand input problems are reported')
    assert 'permissions: auto@pve lacks Sys.Audit on /nodes/pve1' in run.failed[0]['result']['msg']


# Issue 13 items 8 and 16: the shape of the files (the whole extra vars of the run, as -e @file gives them).
SHAPE_INPUTS = [
    ('stand_without_wrapper', dict(STAND, users=CLASS),
     'a stand without the `stand:` wrapper: found keys name, '),
    ('stand_null', {'users': CLASS, 'stand': None}, 'stand: is empty (null)'),
    ('stand_a_list', {'users': CLASS, 'stand': [STAND]}, 'stand: expected a mapping, got a list'),
    ('stand_wrapped_twice', {'users': CLASS, 'stand': {'stand': STAND}}, 'the wrapper is given twice'),
    ('user_instead_of_users', {'user': CLASS, 'stand': STAND}, 'found `user`: did you mean `users`?'),
    ('users_null', {'users': None, 'stand': STAND}, 'users: is empty (null)'),
    ('password_with_a_tab', {'users': [{'name': 'student1@pve', 'password': 'Tab\there-1234'}], 'stand': STAND},
     'users[0].password: holds a control character (U+0009 at position 4)'),
    ('password_with_a_newline', {'users': [{'name': 'student1@pve', 'password': 'Line-1234\n'}], 'stand': STAND},
     'users[0].password: holds a control character (U+000A'),
]


@pytest.mark.parametrize('case,extra,needle', SHAPE_INPUTS, ids=[c[0] for c in SHAPE_INPUTS])
@pytest.mark.parametrize('purpose', ['deploy', 'destroy'])
def test_input_of_the_wrong_shape_is_refused_saying_how_it_must_look(cluster_read, case, extra, needle, purpose):
    problems = plan_problems(extra, cluster_read, purpose)
    assert len(problems) == 1 and needle in problems[0], problems
    assert 'must look like' in problems[0] or 'control character' in problems[0], problems
    assert 'Tab' not in problems[0] and 'Line-1234' not in problems[0], 'never a password in a message'


@pytest.mark.parametrize('case,extra,needle', [c for c in SHAPE_INPUTS if c[0] in ('stand_a_list', 'password_with_a_tab')],
                         ids=['stand_a_list', 'password_with_a_tab'])
@pytest.mark.parametrize('plays', [DEPLOY, DESTROY], ids=['deploy', 'destroy'])
def test_input_of_the_wrong_shape_is_one_failed_task_and_nothing_written(sim, playbook, tmp_path, case, extra,
                                                                         needle, plays):
    before = comparable(sim.state())
    run = playbook(plays, sim, extra_vars=extra)
    assert_refused(run, before, comparable(sim.state()), needle)
    assert failed_task(run).endswith('Stand input problems are reported')
    msg = run.failed[0]['result']['msg']
    assert 'Tab' not in msg and 'Line-1234' not in msg, 'never a password in a message'
    assert 'Tab' not in run.output, 'never a password in the output'


def test_the_example_stand_is_named_once_when_no_stand_file_is_given(sim, playbook, tmp_path):
    run = playbook(DESTROY, sim, extra_vars={'users': ['nobody1@pve']})
    assert run.rc == 0, run
    assert run.output.count("the example stand 'netlab'") == 1, run.output
    given = playbook(DESTROY, sim, extra_vars={'users': ['nobody1@pve'], 'stand': dict(STAND, name='mylab')})
    assert given.rc == 0, given
    assert "the example stand 'netlab'" not in given.output
