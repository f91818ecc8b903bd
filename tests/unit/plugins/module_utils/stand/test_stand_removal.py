"""plan_removal: what destroy_stand.yml removes, found by markers and tags only."""
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.removal import plan_removal

from test_stand_support import make_cluster, make_stand, vm


def tagged(vmid, name, node, pool, stand='netlab'):
    return vm(vmid, name, node, pool=pool, tags=['deploystand', 'stand-' + stand])


def removal(users, cluster):
    plan, errors = plan_removal(make_stand(), users, cluster)
    assert errors == []
    return plan


def test_removal_lists_every_tagged_vm_of_the_pool_with_its_node():
    cluster = make_cluster(vms=[tagged(10001, 's1-host1', 'pve2', 'netlab-s1'),
                                tagged(10000, 's1-old-machine', 'pve1', 'netlab-s1')])
    student = removal(['s1@pve'], cluster)['students'][0]
    assert [(m['name'], m['vmid'], m['node']) for m in student['machines']] == [
        ('s1-old-machine', 10000, 'pve1'), ('s1-host1', 10001, 'pve2')]


def test_removal_never_lists_vms_of_another_stand_or_without_the_tag():
    cluster = make_cluster(vms=[tagged(10000, 'gateway', 'pve1', 'netlab-s1', stand='netlab2'),
                                vm(10001, 'notes', 'pve1', pool='netlab-s1')])
    plan = removal(['s1@pve'], cluster)
    assert plan['students'][0]['machines'] == []
    assert [f.endswith('; not removed') for f in plan['foreign']] == [True, True]


def test_removal_lists_untagged_vms_with_a_stand_vm_name_for_the_pending_marker_check():
    # an interrupted deploy's clone is in the pool, named, but not tagged yet: the removal step removes
    # it only if its notes carry the pending marker (pve_stand_clone / pve_stand_student check that)
    cluster = make_cluster(vms=[vm(10001, 's1-host1', 'pve1', pool='netlab-s1'),
                                tagged(10000, 's1-router', 'pve1', 'netlab-s1', stand='netlab2')])
    plan = removal(['s1@pve'], cluster)
    assert [m['vmid'] for m in plan['students'][0]['machines']] == [10000, 10001]
    assert all('removed only if an interrupted deploy of this stand cloned it' in f for f in plan['foreign'])


def test_removal_finds_bridges_by_marker_only_for_the_given_students():
    bridges = {'pve1': {'vmbr0': {}, 'vmbr1000': {'comments': 'deploystand:netlab:s1@pve:lan'},
                        'vmbr1001': {'comments': 'deploystand:netlab:s2@pve:lan'},
                        'vmbr1002': {'comments': 'deploystand:netlab2:s1@pve:lan'}},
               'pve2': {'vmbr0': {}}}
    plan = removal(['s1@pve'], make_cluster(bridges=bridges))
    assert plan['nodes'] == {'pve1': [{'userid': 's1@pve', 'alias': 'lan', 'iface': 'vmbr1000', 'exists': True,
                                       'marker': 'deploystand:netlab:s1@pve:lan'}]}
    assert plan['students'][0]['bridges'] == [{'alias': 'lan', 'iface': 'vmbr1000',
                                               'marker': 'deploystand:netlab:s1@pve:lan'}]


def test_removal_ignores_missing_templates():
    cluster = make_cluster()
    cluster['vms'] = {}
    plan, errors = plan_removal(make_stand(), ['s1@pve'], cluster)
    assert errors == [] and plan['students'][0]['machines'] == []


def test_removal_reports_bad_input():
    plan, errors = plan_removal(make_stand(name='Bad'), ['nobody'], make_cluster())
    assert plan is None and len(errors) == 2


def test_removal_warns_about_vms_on_an_offline_node():
    cluster = make_cluster(vms=[tagged(10000, 's1-router', 'pve1', 'netlab-s1')])
    cluster['nodes']['pve1']['online'] = False
    assert removal(['s1@pve'], cluster)['warnings'] == [
        "users[0] (s1@pve): VMs on node pve1 cannot be removed now: node 'pve1' is offline"]


def test_vms_the_student_made_in_its_stand_pool_are_listed_as_its_own_vms():
    pools = {'netlab-s1': {'comment': 'deploystand:netlab:s1@pve'}, 'netlab-s2': {'comment': 'made by hand'}}
    cluster = make_cluster(pools=pools, vms=[
        vm(10050, 'my-test', 'pve1', pool='netlab-s1'), vm(10051, 'tpl', 'pve1', pool='netlab-s1', template=True),
        tagged(10052, 'x', 'pve1', 'netlab-s1', stand='netlab2'), vm(10060, 'mine', 'pve1', pool='netlab-s2'),
        vm(10070, 'elsewhere', 'pve1', pool='other')])
    plan = removal(['s1@pve', 's2@pve'], cluster)
    s1, s2 = plan['students']
    assert s1['own_vms'] == [{'name': 'my-test', 'vmid': 10050, 'node': 'pve1'},
                             {'name': 'tpl', 'vmid': 10051, 'node': 'pve1'}]
    assert s1['machines'] == [] and s2['own_vms'] == []          # a pool without the marker is not the stand's
    assert any('VM 10052' in f and 'not removed' in f for f in plan['foreign'])
    assert any('VM 10060' in f and 'not removed' in f for f in plan['foreign'])
    assert not any('10070' in f for f in plan['foreign'])
