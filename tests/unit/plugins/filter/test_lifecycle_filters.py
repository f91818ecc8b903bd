"""The class a playbook hands to one module run (plugins/filter/lifecycle.py stand_class_students)."""
from ansible_collections.deploystand.proxmox.plugins.filter.lifecycle import (
    stand_class_lines, stand_class_networks, stand_class_passwords, stand_class_share, stand_class_students,
    stand_node_network_line,
)

PLAN = {'students': [
    {'userid': 's1@pve', 'pool': 'netlab-s1', 'node': 'pve1', 'machines': [{'name': 's1-router'}],
     'bridges': [{'alias': 'lan', 'iface': 'vmbr1000'}, {'alias': 'dmz', 'iface': 'vmbr1001'}]},
    {'userid': 's2@pve', 'pool': 'netlab-s2', 'node': 'pve2', 'machines': [{'name': 's2-router'}], 'bridges': []},
]}


def test_only_the_plays_students_in_the_plans_order_with_what_a_power_run_takes():
    assert stand_class_students(PLAN, ['s2@pve', 'nobody@pve']) == [
        {'userid': 's2@pve', 'pool': 'netlab-s2', 'machines': [{'name': 's2-router'}]}]


def test_a_reset_gets_the_node_and_each_alias_bridge():
    first = stand_class_students(PLAN, ['s1@pve', 's2@pve'], 'reset')[0]
    assert (first['node'], first['bridges']) == ('pve1', {'lan': 'vmbr1000', 'dmz': 'vmbr1001'})


def test_the_summary_names_each_student_with_its_machines_and_a_failure_with_its_message():
    lines = stand_class_lines({
        's1@pve': {'machines': [{'name': 's1-router', 'vmid': 10000, 'status_before': 'running', 'status': 'stopped'}]},
        's2@pve': {'failed': True, 'msg': 's2@pve: nothing was changed: x', 'machines': []}}, 'power')
    assert list(lines) == ['s1@pve', 's2@pve']
    assert lines['s1@pve'] == ['s1-router (VM 10000): running -> stopped']
    assert lines['s2@pve'] == ['failed: s2@pve: nothing was changed: x']


DEPLOY_PLAN = {'students': [
    {'userid': 's1@pve', 'pool': 'netlab-s1', 'node': 'pve1', 'machines': [{'name': 's1-router'}], 'password': 'given-1',
     'stale_grants': [{'userid': 's1@pve', 'iface': 'vmbr1009'}, {'userid': 's2@pve', 'iface': 'vmbr1008'}]},
    {'userid': 's2@pve', 'pool': 'netlab-s2', 'node': 'pve2', 'machines': [{'name': 's2-router'}]},
]}
NETWORKS = {'pve1': {'mapping': {'s1@pve': {'lan': 'vmbr1000'}}, 'stale': [{'userid': 's1@pve', 'iface': 'vmbr1007'}]},
            'pve2': {'mapping': {'s2@pve': {'lan': 'vmbr1000'}}, 'stale': []}}


def test_a_deploy_gives_each_student_its_nodes_bridges_its_own_stale_grants_and_the_handovers_mode():
    handover = {'s2@pve': {'password': 'ahead-2', 'update_password': 'recover'}}
    first, second = stand_class_students(DEPLOY_PLAN, ['s1@pve', 's2@pve'], 'deploy', NETWORKS, handover)
    assert first == {'userid': 's1@pve', 'pool': 'netlab-s1', 'node': 'pve1', 'machines': [{'name': 's1-router'}],
                     'bridges': {'lan': 'vmbr1000'}, 'stale_bridges': ['vmbr1007', 'vmbr1009'],
                     'update_password': None}
    assert (second['bridges'], second['stale_bridges'], second['update_password']) == (
        {'lan': 'vmbr1000'}, [], 'recover')
    # never a password in an entry: they go apart, the write-ahead's before the plan's
    assert not any('password' in entry for entry in (first, second))
    assert stand_class_passwords(DEPLOY_PLAN, ['s1@pve', 's2@pve'], handover) == {'s1@pve': 'given-1',
                                                                                's2@pve': 'ahead-2'}
    assert stand_class_passwords(DEPLOY_PLAN, ['s2@pve'], {}) == {}


def test_a_deploy_in_mode_sdn_gives_the_students_vnets_and_a_node_without_bridges_gives_none():
    plan = dict(DEPLOY_PLAN, sdn={'zone': 'dsnetlab', 'vnets': [
        {'userid': 's1@pve', 'network': 'lan', 'vnet': 'dsv1'}, {'userid': 's2@pve', 'network': 'lan', 'vnet': 'dsv2'}]})
    assert stand_class_students(plan, ['s2@pve'], 'deploy', {}, {})[0]['bridges'] == {'lan': 'dsv2'}
    assert stand_class_students(DEPLOY_PLAN, ['s2@pve'], 'deploy', {}, {})[0]['bridges'] == {}


def test_a_destroy_takes_the_bridges_by_interface_or_the_vnets_on_their_zone_and_the_students_own_vms():
    plan = {'students': [
        {'userid': 's1@pve', 'pool': 'netlab-s1', 'machines': [], 'own_vms': [{'vmid': 10050}],
         'bridges': [{'alias': 'lan', 'iface': 'vmbr1000'}]},
        {'userid': 's2@pve', 'pool': 'netlab-s2', 'machines': [], 'bridges': []}],
        'sdn': {'zone': 'dsnetlab', 'vnets': [{'userid': 's2@pve', 'network': 'lan', 'vnet': 'dsv2'}]}}
    first, second = stand_class_students(plan, ['s1@pve', 's2@pve'], 'destroy')
    assert (first['bridges'], first['bridge_zone'], first['own_vms']) == ({'vmbr1000': 'vmbr1000'}, None,
                                                                          [{'vmid': 10050}])
    assert (second['bridges'], second['bridge_zone'], second['own_vms']) == ({'dsv2': 'dsv2'}, 'dsnetlab', [])


def test_the_node_results_of_the_run_by_node_without_a_node_that_made_none():
    hosts = [{'deploystand_node': 'pve1', 'stand_network_result': NETWORKS['pve1']}, {'deploystand_node': 'pve3'}]
    assert stand_class_networks(hosts) == {'pve1': NETWORKS['pve1']}


def test_a_students_share_of_the_class_result_is_its_own_result_or_the_whole_result_when_it_has_none():
    whole = {'changed': False, 'students': {'s1@pve': {'changed': True}, 's2@pve': {'failed': True, 'msg': 'x'}}}
    assert stand_class_share(whole, 's2@pve') == {'students': {'s2@pve': {'failed': True, 'msg': 'x'}}}
    assert stand_class_share(whole, 's9@pve') is whole
    failed = {'failed': True, 'msg': 'invalid input: students[0]: ...'}
    assert stand_class_share(failed, 's1@pve') is failed


def test_a_node_host_shows_the_bridges_its_destroy_deleted_and_kept_or_the_failure():
    assert stand_node_network_line({'deleted': ['vmbr1000', 'vmbr1003'], 'in_use': [], 'applied': True}) == \
        'deleted: vmbr1000, vmbr1003'
    assert stand_node_network_line({'deleted': [], 'in_use': [{'iface': 'vmbr1001', 'used_by': ['qemu/10007']}]}) \
        == 'deleted: none; kept, in use: vmbr1001'
    assert stand_node_network_line({'failed': True, 'msg': 'node pve2 has pending network changes'}) == \
        'node pve2 has pending network changes'
    assert stand_node_network_line(None) == 'deleted: none'     # a node the run had nothing for
