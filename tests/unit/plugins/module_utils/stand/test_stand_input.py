"""normalize_users / normalize_stand: defaults, shapes and one message per problem naming the field."""
import pytest

from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.inputs import (
    normalize_stand, normalize_users,
)

from test_stand_support import HOST, ROUTER, make_stand, one_error


# --- users: good input ---------------------------------------------------------------------------

def test_plain_userid_strings_become_students_with_defaults():
    students, errors = normalize_users(['student1@pve'])
    assert errors == []
    assert students == [{'userid': 'student1@pve', 'name': 'student1', 'realm': 'pve',
                         'password': None, 'node': None, 'index': 0}]


def test_user_mapping_keeps_password_and_node():
    students, errors = normalize_users([{'name': 'student2@pve', 'password': 'S3cret-given', 'node': 'pve2'}])
    assert errors == []
    assert (students[0]['password'], students[0]['node']) == ('S3cret-given', 'pve2')


def test_users_keep_input_order():
    students, _ = normalize_users(['b@pve', 'a@pve', 'c@pve'])
    assert [s['userid'] for s in students] == ['b@pve', 'a@pve', 'c@pve']


def test_all_user_problems_come_in_one_list():
    _, errors = normalize_users(['student1', 'student1@pve', 'student1@pve', {'name': 'x@pve', 'pasword': 'abcdefgh'}])
    assert len(errors) == 3
    assert errors[0].startswith('users[0]:') and errors[1].startswith('users[2]:') and errors[2].startswith('users[3]:')


def test_bad_users_are_left_out_of_the_students():
    students, _ = normalize_users(['student1', 'student2@pve'])
    assert [s['userid'] for s in students] == ['student2@pve']


# --- users: one case per problem -------------------------------------------------------------

@pytest.mark.parametrize('users, field, words', [
    (None, 'users:', 'is required'),
    ('student1@pve', 'users:', 'expected a list'),
    ([], 'users:', 'empty'),
    ([42], 'users[0]:', 'got int'),
    (['ok@pve', 'student3'], 'users[1]:', "'student3' has no realm (expected name@realm, e.g. student3@pve)"),
    (['a@p ve'], 'users[0]:', "realm 'p ve'"),
    (['a@1pve'], 'users[0]:', "realm '1pve'"),
    (['stu dent@pve'], 'users[0]:', 'whitespace'),
    (['a:b@pve'], 'users[0]:', "':'"),
    (['a/b@pve'], 'users[0]:', "'/'"),
    (['@pve'], 'users[0]:', 'empty name'),
    (['a' * 61 + '@pve'], 'users[0]:', '3-64 characters'),
    ([{'name': 'a@pve', 'password': 'short'}], 'users[0].password:', '8-64 characters'),
    ([{'name': 'a@pve', 'password': 'x' * 65}], 'users[0].password:', '8-64 characters'),
    ([{'name': 'a@pve', 'password': 12345678}], 'users[0].password:', 'expected a string'),
    ([{'password': 'abcdefgh1'}], 'users[0].name:', 'is required'),
    ([{'name': ['a@pve']}], 'users[0].name:', 'expected a string'),
    ([{'name': 'a@pve', 'pasword': 'abcdefgh1'}], 'users[0]:', "unknown key 'pasword' (did you mean 'password'?)"),
    ([{'name': 'a@pve', 'node': 5}], 'users[0].node:', 'not a node name'),
    (['a@pve', 'b@pve', 'a@pve'], 'users[2]:', "'a@pve' is listed twice (first at users[0])"),
])
def test_bad_users_input_is_reported_with_its_field(users, field, words):
    _, errors = normalize_users(users)
    message = one_error(errors)
    assert message.startswith(field), message
    assert words in message, message


def test_password_errors_never_echo_the_password():
    _, errors = normalize_users([{'name': 'a@pve', 'password': 'tiny'}])
    assert 'tiny' not in one_error(errors)


# --- stand: good input ---------------------------------------------------------------------------

def test_stand_defaults_are_filled_in():
    stand, errors = normalize_stand({'name': 'netlab', 'machines': [HOST]})
    assert errors == []
    assert {k: stand[k] for k in ('clone', 'vmid_range', 'bridge_range', 'start', 'node', 'role',
                                  'management_bridge', 'storage', 'format')} == {
        'clone': 'linked', 'vmid_range': [10000, 19999], 'bridge_range': [1000, 9999], 'start': True,
        'node': None, 'role': 'PVEVMAdmin', 'management_bridge': 'vmbr0', 'storage': None, 'format': None}


def test_machine_defaults_are_filled_in():
    stand, _ = normalize_stand({'name': 'netlab', 'machines': [{'name': 'h', 'template': 't', 'networks': ['lan']}]})
    assert stand['machines'][0] == {'name': 'h', 'device_type': 'linux', 'template': 't',
                                    'template_vmid': None, 'template_node': None,
                                    'networks': [{'bridge': 'lan', 'link_down': False}],
                                    'full_clone': None, 'storage': None, 'format': None, 'start_order': 0, 'ha': None}


def test_survey_strings_are_accepted_for_booleans_and_ranges():
    stand, errors = normalize_stand(make_stand(start='false', vmid_range=['20000', '20099']))
    assert errors == []
    assert stand['start'] is False and stand['vmid_range'] == [20000, 20099]


def test_ecorouter_may_have_no_data_networks():
    router = dict(ROUTER, networks=[])
    _, errors = normalize_stand({'name': 'netlab', 'machines': [router]})
    assert errors == []


def test_duplicate_networks_on_one_machine_are_allowed():
    _, errors = normalize_stand({'name': 'netlab', 'machines': [dict(HOST, networks=['lan', 'lan'])]})
    assert errors == []


def test_full_clone_machine_may_set_storage_and_format():
    machine = dict(HOST, full_clone=True, storage='nfs', format='qcow2')
    _, errors = normalize_stand({'name': 'netlab', 'machines': [machine]})
    assert errors == []


def test_template_vmid_with_template_node_is_accepted():
    machine = {'name': 'h', 'template_vmid': 9001, 'template_node': 'pve1', 'networks': ['lan']}
    stand, errors = normalize_stand({'name': 'netlab', 'machines': [machine]})
    assert errors == [] and stand['machines'][0]['template_vmid'] == 9001


def test_all_stand_problems_come_in_one_list_and_no_stand():
    stand, errors = normalize_stand({'name': 'Net', 'clone': 'fast', 'machines': [{'name': 'x'}]})
    assert stand is None
    assert len(errors) == 4      # name, clone, template, networks


# --- stand: one case per problem -------------------------------------------------------------

def machine(**overrides):
    m = dict(HOST)
    m.update(overrides)
    return m


def stand_with(*machines, **overrides):
    s = {'name': 'netlab', 'machines': list(machines) or [dict(HOST)]}
    s.update(overrides)
    return s


@pytest.mark.parametrize('raw, field, words', [
    ('netlab', 'stand:', 'expected a mapping'),
    ({'machines': [HOST]}, 'stand.name:', 'is required'),
    (stand_with(name='NetLab'), 'stand.name:', 'invalid'),
    (stand_with(name='1lab'), 'stand.name:', 'invalid'),
    (stand_with(name='a' * 21), 'stand.name:', 'at most 20'),
    (stand_with(nmae='x'), 'stand:', "unknown key 'nmae' (did you mean 'name'?)"),
    (stand_with(machnes=[]), 'stand:', "did you mean 'machines'?"),
    (stand_with(clone='linkd'), 'stand.clone:', "did you mean 'linked'?"),
    (stand_with(vmid_range=[99, 200]), 'stand.vmid_range:', '100 <= low'),
    (stand_with(vmid_range=[200, 100]), 'stand.vmid_range:', 'low <= high'),
    (stand_with(vmid_range=10000), 'stand.vmid_range:', 'expected [low, high]'),
    (stand_with(vmid_range=[1, 2, 3]), 'stand.vmid_range:', 'expected [low, high]'),
    (stand_with(bridge_range=[1000, 10000]), 'stand.bridge_range:', 'high <= 9999'),
    (stand_with(start='maybe'), 'stand.start:', 'true or false'),
    (stand_with(node='pve 1'), 'stand.node:', 'a node name'),
    (stand_with(role='PVE VM Admin'), 'stand.role:', 'role id'),
    (stand_with(management_bridge='vmbr 0'), 'stand.management_bridge:', 'invalid'),
    (stand_with(storage='nfs'), 'stand.storage:', 'only used by full clones'),
    (stand_with(format='qcow3', clone='full'), 'stand.format:', "did you mean 'qcow2'?"),
    ({'name': 'netlab'}, 'stand.machines:', 'is required'),
    ({'name': 'netlab', 'machines': []}, 'stand.machines:', 'non-empty list'),
    (stand_with('router'), 'stand.machines[0]:', 'expected a mapping'),
    (stand_with(machine(name=None)), 'stand.machines[0].name:', 'is required'),
    (stand_with(machine(name='Router_1')), 'stand.machines[0].name:', 'invalid'),
    (stand_with(machine(name='router-')), 'stand.machines[0].name:', 'invalid'),
    (stand_with(machine(), machine(name='host1')), 'stand.machines[1].name:', "'host1' is used twice (first at stand.machines[0])"),
    (stand_with(machine(device_type='cisco')), 'stand.machines[0].device_type:', 'not one of linux, ecorouter'),
    (stand_with(machine(templat='x')), 'stand.machines[0]:', "did you mean 'template'?"),
    (stand_with(machine(template=None)), 'stand.machines[0].template:', 'is required'),
    (stand_with(machine(template_vmid=9001)), 'stand.machines[0]:', 'not both'),
    (stand_with(machine(template=None, template_vmid=50)), 'stand.machines[0].template_vmid:', 'not a VMID'),
    (stand_with(machine(template_node='pve1')), 'stand.machines[0].template_node:', 'only goes with template_vmid'),
    (stand_with(machine(networks=[])), 'stand.machines[0].networks:', 'at least one network'),
    (stand_with(machine(networks='lan')), 'stand.machines[0].networks:', 'expected a list'),
    (stand_with(machine(networks=['n%d' % i for i in range(9)])), 'stand.machines[0].networks:', '8 NICs at most'),
    (stand_with(dict(ROUTER, networks=['n%d' % i for i in range(8)])), 'stand.machines[0].networks:', "management NIC net0 counts"),
    (stand_with(machine(networks=[{'brige': 'lan'}])), 'stand.machines[0].networks[0]:', "did you mean 'bridge'?"),
    (stand_with(machine(networks=[{'bridge': 'lan'}, {}])), 'stand.machines[0].networks[1].bridge:', 'is required'),
    (stand_with(machine(networks=[{'bridge': 'my lan'}])), 'stand.machines[0].networks[0].bridge:', 'not a bridge name or alias'),
    (stand_with(machine(networks=[7])), 'stand.machines[0].networks[0]:', 'expected a mapping'),
    (stand_with(machine(networks=[{'bridge': 'lan', 'link_down': 'sometimes'}])), 'stand.machines[0].networks[0].link_down:', 'true or false'),
    (stand_with(machine(full_clone='perhaps')), 'stand.machines[0].full_clone:', 'true or false'),
    (stand_with(machine(storage='nfs')), 'stand.machines[0].storage:', 'only for full clones'),
    (stand_with(machine(format='raw')), 'stand.machines[0].format:', 'only for full clones'),
])
def test_bad_stand_input_is_reported_with_its_field(raw, field, words):
    stand, errors = normalize_stand(raw)
    assert stand is None
    message = one_error(errors)
    assert message.startswith(field), message
    assert words in message, message


def test_unknown_key_suggests_the_close_one():
    _, errors = normalize_stand(stand_with(vmid_rang=[10000, 10099]))
    assert "stand: unknown key 'vmid_rang' (did you mean 'vmid_range'?)" in errors


def test_unknown_key_without_a_close_one_lists_the_allowed_keys():
    _, errors = normalize_stand(stand_with(colour='blue'))
    assert 'allowed: name, clone' in one_error(errors)


def test_a_misspelled_required_key_gives_one_message_not_two():
    _, errors = normalize_stand({'nme': 'netlab', 'machines': [HOST]})
    assert errors == ["stand: unknown key 'nme' (did you mean 'name'?)"]
    _, errors = normalize_users([{'nmae': 'a@pve'}])
    assert errors == ["users[0]: unknown key 'nmae' (did you mean 'name'?)"]
