"""build_plan end to end: shape, existing objects, look-alikes, errors."""
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.plan import build_plan

from test_stand_support import make_cluster, make_stand, node, vm


def plan_of(users, stand=None, cluster=None):
    plan, errors = build_plan(stand or make_stand(), users, cluster or make_cluster())
    assert errors == []
    return plan


def tagged(vmid, name, node, pool, stand='netlab'):
    return vm(vmid, name, node, pool=pool, tags=['deploystand', 'stand-' + stand])


def test_plan_has_the_stand_level_fields():
    plan = plan_of(['s1@pve'])
    assert {k: plan[k] for k in ('stand', 'tags', 'role', 'start', 'vmid_range', 'bridge_range',
                                 'management_bridge', 'foreign', 'warnings')} == {
        'stand': 'netlab', 'tags': ['deploystand', 'stand-netlab'], 'role': 'PVEVMAdmin',
        'start': True, 'vmid_range': [10000, 19999], 'bridge_range': [1000, 9999],
        'management_bridge': 'vmbr0', 'foreign': [], 'warnings': []}


def test_plan_student_carries_names_markers_and_node():
    student = plan_of(['s1@pve'])['students'][0]
    assert {k: student[k] for k in ('userid', 'name', 'realm', 'password', 'node', 'pool',
                                    'pool_comment', 'user_comment', 'user_exists', 'pool_exists')} == {
        'userid': 's1@pve', 'name': 's1', 'realm': 'pve', 'password': None, 'node': 'pve2',
        'pool': 'netlab-s1', 'pool_comment': 'deploystand:netlab:s1@pve',
        'user_comment': 'deploystand:netlab', 'user_exists': False, 'pool_exists': False}
    # pve2 is the second of two nodes: its new bridges take the odd numbers (bridge_share)
    assert student['bridges'] == [{'alias': 'lan', 'marker': 'deploystand:netlab:s1@pve:lan', 'iface': 'vmbr1001'}]


def test_plan_ecorouter_gets_the_management_nic_first_with_link_down():
    router = plan_of(['s1@pve'])['students'][0]['machines'][0]
    assert router['networks'] == [
        {'bridge': 'vmbr0', 'alias': None, 'link_down': True, 'management': True},
        {'bridge': 'vmbr1001', 'alias': 'lan', 'link_down': False, 'management': False}]


def test_plan_machine_carries_template_clone_mode_and_vmid():
    router, host = plan_of(['s1@pve'])['students'][0]['machines']
    assert {k: router[k] for k in ('machine', 'name', 'device_type', 'template_vmid', 'template_node',
                                   'target', 'full', 'storage', 'format', 'vmid', 'preferred_vmid')} == {
        'machine': 'router', 'name': 's1-router', 'device_type': 'ecorouter', 'template_vmid': 9102,
        'template_node': 'pve2', 'target': None, 'full': False, 'storage': None, 'format': None,
        'vmid': None, 'preferred_vmid': 10000}
    assert (host['template_vmid'], host['template_node'], host['target']) == (9001, 'pve1', 'pve2')


def test_plan_full_clone_takes_storage_and_format_from_the_stand():
    stand = make_stand(clone='full', storage='nfs', format='qcow2')
    host = plan_of(['s1@pve'], stand)['students'][0]['machines'][1]
    assert (host['full'], host['storage'], host['format']) == (True, 'nfs', 'qcow2')


def test_plan_lists_private_bridges_per_node():
    plan = plan_of(['a@pve', 'b@pve', 'c@pve'], make_stand(node='pve1'))
    assert [(b['userid'], b['iface'], b['exists']) for b in plan['nodes']['pve1']] == [
        ('a@pve', 'vmbr1000', False), ('b@pve', 'vmbr1002', False), ('c@pve', 'vmbr1004', False)]


def test_plan_real_bridges_are_used_as_is_and_not_listed_as_private():
    stand = make_stand()
    stand['machines'][1]['networks'] = [{'bridge': 'vmbr0'}]
    plan = plan_of(['s1@pve'], stand)
    host = plan['students'][0]['machines'][1]
    assert host['networks'] == [{'bridge': 'vmbr0', 'alias': None, 'link_down': False, 'management': False}]
    assert [b['alias'] for b in plan['nodes']['pve2']] == ['lan']


def test_rerun_finds_existing_vms_by_pool_name_and_tag():
    cluster = make_cluster(vms=[tagged(10000, 's1-router', 'pve1', 'netlab-s1'),
                                tagged(10001, 's1-host1', 'pve1', 'netlab-s1')])
    machines = plan_of(['s1@pve'], cluster=cluster)['students'][0]['machines']
    assert [(m['vmid'], m['preferred_vmid']) for m in machines] == [(10000, None), (10001, None)]


def test_rerun_keeps_bridges_found_by_marker():
    bridges = {'pve1': {'vmbr0': {}}, 'pve2': {'vmbr0': {}, 'vmbr1000': {'comments': 'x'},
                                                'vmbr1004': {'comments': 'deploystand:netlab:s1@pve:lan'}}}
    plan = plan_of(['s1@pve'], cluster=make_cluster(bridges=bridges))
    assert plan['nodes']['pve2'] == [{'userid': 's1@pve', 'alias': 'lan', 'iface': 'vmbr1004', 'exists': True,
                                      'marker': 'deploystand:netlab:s1@pve:lan'}]


def test_new_vms_of_a_rerun_skip_vmids_in_use():
    cluster = make_cluster(vms=[tagged(10000, 's1-router', 'pve1', 'netlab-s1')])
    machines = plan_of(['s1@pve'], cluster=cluster)['students'][0]['machines']
    assert machines[1]['preferred_vmid'] == 10001


def test_vm_with_the_name_but_without_the_tag_is_reported_as_foreign_and_not_reused():
    cluster = make_cluster(vms=[vm(500, 's1-router', 'pve2', pool='netlab-s1')])
    plan = plan_of(['s1@pve'], cluster=cluster)
    assert plan['students'][0]['machines'][0]['vmid'] is None
    assert plan['foreign'] == ['VM 500 (s1-router) in pool netlab-s1 has no tag stand-netlab; not managed by this stand']


def test_pool_without_the_stand_marker_is_reported_as_foreign():
    cluster = make_cluster(pools={'netlab-s9': {'comment': 'made by hand'}})
    plan = plan_of(['s9@pve'], cluster=cluster)
    assert plan['foreign'] == ["pool netlab-s9 exists without the stand marker (comment: 'made by hand'); not touched"]


def test_pool_of_another_stand_with_a_prefix_name_is_not_owned():
    cluster = make_cluster(pools={'netlab-s1': {'comment': 'deploystand:netlab2:s1@pve'}})
    assert len(plan_of(['s1@pve'], cluster=cluster)['foreign']) == 1


def test_existing_user_without_marker_is_used_but_not_owned():
    cluster = make_cluster(users={'s1@pve': {'comment': 'teacher made me'}})
    student = plan_of(['s1@pve'], cluster=cluster)['students'][0]
    assert (student['user_exists'], student['user_owned']) == (True, False)


def test_user_created_by_the_stand_is_owned():
    cluster = make_cluster(users={'s1@pve': {'comment': 'deploystand:netlab'}})
    assert plan_of(['s1@pve'], cluster=cluster)['students'][0]['user_owned'] is True


def test_pin_that_conflicts_with_an_existing_stand_is_a_warning():
    cluster = make_cluster(vms=[tagged(10000, 's1-router', 'pve1', 'netlab-s1')])
    plan = plan_of([{'name': 's1@pve', 'node': 'pve2'}], cluster=cluster)
    assert plan['students'][0]['node'] == 'pve1'
    assert plan['warnings'] == ['users[0] (s1@pve): asked for node pve2 but its stand already runs on pve1; '
                                'kept there (destroy it to move it)']


def test_given_password_is_passed_through():
    plan = plan_of([{'name': 's1@pve', 'password': 'Given-pass1'}])
    assert plan['students'][0]['password'] == 'Given-pass1'


def test_build_plan_is_deterministic():
    users = ['u%d@pve' % i for i in range(10)]
    assert plan_of(users) == plan_of(users)


def test_build_plan_returns_every_error_and_no_plan():
    stand = make_stand(nmae='x', vmid_range=[5, 1])
    plan, errors = build_plan(stand, ['nobody', {'name': 'b@pve', 'node': 'pve7'}], make_cluster())
    assert plan is None
    assert any(e.startswith('stand:') for e in errors)
    assert any(e.startswith('stand.vmid_range:') for e in errors)
    assert any(e.startswith('users[0]:') for e in errors)
    assert any(e.startswith('users[1] (b@pve).node:') for e in errors)


def test_build_plan_reports_input_and_cluster_errors_together():
    stand = make_stand(node='pve3')
    plan, errors = build_plan(stand, ['nobody', 'a+b@pve'], make_cluster())
    assert plan is None
    assert errors[0].startswith('users[0]:')
    assert any(e.startswith('stand.node:') for e in errors)
    assert any(e.startswith('users[1] (a+b@pve):') for e in errors)


def test_existing_stand_on_an_offline_node_is_an_error():
    cluster = make_cluster(vms=[tagged(10000, 's1-router', 'pve1', 'netlab-s1')])
    cluster['nodes']['pve1']['online'] = False
    plan, errors = build_plan(make_stand(), ['s1@pve'], cluster)
    assert plan is None and errors == ["users[0] (s1@pve): its stand's VMs are on node pve1: node 'pve1' is offline"]


# --- bridge names unique in the cluster (issue 13 item 1) ---------------------------------------

def three_nodes(bridges):
    """pve1..pve3 with vmbr0 each, plus the given {node: {iface: comments}}."""
    nodes = dict((n, node(64, 8)) for n in ('pve1', 'pve2', 'pve3'))
    out = dict((n, {'vmbr0': {'comments': ''}}) for n in nodes)
    for n, extra in bridges.items():
        out[n].update((i, {'comments': c}) for i, c in extra.items())
    cluster = make_cluster(nodes=nodes, bridges=out)
    cluster['storages'] = dict((n, {'local-lvm': {'shared': False}, 'nfs': {'shared': True}}) for n in nodes)
    return cluster


PINNED = [{'name': 's1@pve', 'node': 'pve1'}, {'name': 's2@pve', 'node': 'pve2'}, {'name': 's3@pve', 'node': 'pve3'}]
LINUX = {'name': 'netlab', 'machines': [{'name': 'host1', 'template': 'alpine-tpl', 'networks': ['lan']}]}


def test_new_bridges_avoid_every_name_on_every_node_and_are_disjoint_across_nodes():
    cluster = three_nodes({'pve2': {'vmbr1000': 'lab uplink'}, 'pve3': {'vmbr1002': 'admin test'}})
    plan = plan_of(PINNED, LINUX, cluster)
    names = dict((n, [b['iface'] for b in plan['nodes'][n]]) for n in plan['nodes'])
    assert names == {'pve1': ['vmbr1005'], 'pve2': ['vmbr1003'], 'pve3': ['vmbr1001']}
    assert plan['stale_bridges'] == {} and [s['stale_grants'] for s in plan['students']] == [[], [], []]


def test_a_name_someone_holds_a_grant_on_is_never_taken_for_a_new_bridge():
    cluster = three_nodes({})
    cluster['bridge_acl'] = [{'path': '/sdn/zones/localnetwork/vmbr1002', 'ugid': 'old@pve', 'roleid': 'PVESDNUser'}]
    plan = plan_of(PINNED[:1], LINUX, cluster)
    assert plan['nodes']['pve1'][0]['iface'] == 'vmbr1005'


def test_an_owned_bridge_whose_name_clashes_with_another_node_moves_and_the_old_one_is_stale():
    # made before the fix: s1 got vmbr1000 on pve1 while the admin's uplink is vmbr1000 on pve2,
    # and s3 got vmbr1001 on pve3 like s2 on pve2 (all three of this stand)
    lan = 'deploystand:netlab:{0}:lan'
    cluster = three_nodes({'pve1': {'vmbr1000': lan.format('s1@pve')},
                           'pve2': {'vmbr1000': 'lab uplink', 'vmbr1001': lan.format('s2@pve')},
                           'pve3': {'vmbr1001': lan.format('s3@pve')}})
    plan = plan_of(PINNED, LINUX, cluster)
    new = dict((s['userid'], s['bridges'][0]['iface']) for s in plan['students'])
    assert all(iface not in ('vmbr1000', 'vmbr1001') for iface in new.values()), new
    assert len(set(new.values())) == 3
    assert dict((s['userid'], s['stale_grants']) for s in plan['students']) == {
        's1@pve': ['vmbr1000'], 's2@pve': ['vmbr1001'], 's3@pve': ['vmbr1001']}
    stale = dict((n, [(b['userid'], b['iface']) for b in bs]) for n, bs in plan['stale_bridges'].items())
    assert stale == {'pve1': [('s1@pve', 'vmbr1000')], 'pve2': [('s2@pve', 'vmbr1001')],
                     'pve3': [('s3@pve', 'vmbr1001')]}
    warning = [w for w in plan['warnings'] if 'vmbr1000 on pve1' in w][0]
    assert "also a bridge on pve2 ('lab uplink')" in warning and 'moves to ' + new['s1@pve'] in warning
    # the host NIC follows the new bridge
    assert plan['students'][0]['machines'][0]['networks'][0]['bridge'] == new['s1@pve']


def test_a_bridge_of_a_network_the_stand_dropped_loses_its_grant():
    cluster = three_nodes({'pve1': {'vmbr1002': 'deploystand:netlab:s1@pve:lan',
                                    'vmbr1005': 'deploystand:netlab:s1@pve:dmz'}})
    plan = plan_of(PINNED[:1], LINUX, cluster)
    assert plan['students'][0]['bridges'][0]['iface'] == 'vmbr1002'
    assert plan['students'][0]['stale_grants'] == ['vmbr1005']
    assert plan['stale_bridges']['pve1'][0]['reason'] == "the stand no longer uses the network 'dmz'"


def test_a_grant_another_stand_gives_the_same_student_on_that_name_is_kept():
    cluster = three_nodes({'pve1': {'vmbr1000': 'deploystand:netlab:s1@pve:lan'},
                           'pve2': {'vmbr1000': 'deploystand:other:s1@pve:lan'}})
    plan = plan_of(PINNED[:1], LINUX, cluster)
    assert plan['students'][0]['bridges'][0]['iface'] != 'vmbr1000'
    assert plan['students'][0]['stale_grants'] == []       # stand other still gives s1 vmbr1000
    assert [b['iface'] for b in plan['stale_bridges']['pve1']] == ['vmbr1000']


def test_bridges_of_students_not_in_the_class_list_are_not_stale():
    cluster = three_nodes({'pve1': {'vmbr1002': 'deploystand:netlab:s9@pve:lan'}})
    plan = plan_of(PINNED[:1], LINUX, cluster)
    assert plan['stale_bridges'] == {} and plan['nodes']['pve1'][0]['iface'] == 'vmbr1005'


def test_a_students_machine_on_another_node_is_refused_in_bridges_mode_its_private_networks_are_not_there():
    cluster = make_cluster(vms=[tagged(10000, 's1-router', 'pve1', 'netlab-s1'),
                                tagged(10001, 's1-host1', 'pve2', 'netlab-s1')])
    plan, errors = build_plan(make_stand(), ['s1@pve'], cluster)
    assert plan is None
    assert errors == ["users[0] (s1@pve): s1-host1 (VM 10001) is on node pve2, but with stand.network mode bridges "
                      "all of the student's machines share the private bridges of its node pve1: migrate the VM to "
                      "pve1 (or destroy the student's stand) and run again; nothing was changed"]
