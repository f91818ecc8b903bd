"""What the plan says up front (issue 13): a class that differs from the stand on the cluster,
students skipped for a foreign pool, foreign VMIDs allocated around, bridges outside a changed
bridge_range, and look-alikes summarised by stand."""
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.names import (
    bridge_marker, pool_id, pool_marker,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.plan import build_plan
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.plan_notes import (
    stand_students_on_cluster,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.removal import plan_removal

from test_stand_support import linux_stand, make_cluster, vm


def plan_of(users, stand=None, cluster=None):
    plan, errors = build_plan(stand or linux_stand(), users, cluster or make_cluster())
    assert errors == []
    return plan


def stand_pool(userid, stand='netlab'):
    return {pool_id(stand, userid): {'comment': pool_marker(stand, userid)}}


def pools_of(*userids, **kwargs):
    out = {}
    for userid in userids:
        out.update(stand_pool(userid, **kwargs))
    return out


# ----------------------------------------------------------------------------- class changes

def test_a_first_deploy_adds_everyone_and_warns_nothing():
    plan = plan_of(['a@pve', 'b@pve'])
    assert plan['class_changes'] == {'added': ['a@pve', 'b@pve'], 'not_in_list': []}
    assert not [w for w in plan['warnings'] if 'class differs' in w]


def test_the_same_class_again_has_no_changes():
    plan = plan_of(['a@pve', 'b@pve'], cluster=make_cluster(pools=pools_of('a@pve', 'b@pve')))
    assert plan['class_changes'] == {'added': [], 'not_in_list': []}
    assert not [w for w in plan['warnings'] if 'class differs' in w]


def test_a_different_class_names_the_added_and_the_kept_students_in_one_warning():
    cluster = make_cluster(pools=pools_of('a@pve', 'b@pve', 'c@pve'))
    plan = plan_of(['a@pve', 'd@pve'], cluster=cluster)
    assert plan['class_changes'] == {'added': ['d@pve'], 'not_in_list': ['b@pve', 'c@pve']}
    warnings = [w for w in plan['warnings'] if 'class differs' in w]
    assert len(warnings) == 1
    assert '1 added by this list (d@pve)' in warnings[0]
    assert '2 on the cluster but not in this list, kept' in warnings[0] and 'b@pve, c@pve' in warnings[0]


def test_only_pools_with_this_stands_marker_and_id_count_as_students_on_the_cluster():
    pools = pools_of('a@pve')
    pools.update(pools_of('b@pve', stand='otherlab'))                        # another stand's student
    pools['netlab-c'] = {'comment': 'made by hand'}                           # no marker
    pools['netlab-x'] = {'comment': pool_marker('netlab', 'd@pve')}          # marker of another pool id
    pools['netlab-e'] = {'comment': 'see deploystand:netlab:e@pve:lan'}       # a bridge marker
    assert stand_students_on_cluster('netlab', make_cluster(pools=pools)) == ['a@pve']


# ------------------------------------------------------------------ students with a foreign pool

def test_a_student_whose_pool_id_is_taken_by_a_foreign_pool_is_skipped_and_the_rest_planned():
    cluster = make_cluster(pools={'netlab-b': {'comment': 'made by hand'}},
                           vms=[vm(600, 'b-host1', 'pve1', pool='netlab-b')])
    plan = plan_of(['a@pve', 'b@pve', 'c@pve'], cluster=cluster)
    assert [s['userid'] for s in plan['students']] == ['a@pve', 'c@pve']
    assert sorted(b['userid'] for bridges in plan['nodes'].values() for b in bridges) == ['a@pve', 'c@pve']
    assert [(s['userid'], s['pool'], s['comment']) for s in plan['skipped']] == [('b@pve', 'netlab-b', 'made by hand')]
    skipped = [w for w in plan['warnings'] if 'b@pve is skipped' in w]
    assert len(skipped) == 1 and 'netlab-b' in skipped[0] and 'rename or remove that pool' in skipped[0]
    assert "pool netlab-b exists without the stand marker (comment: 'made by hand'); not touched" in plan['foreign']
    assert any(line.startswith('VM 600 (b-host1) is in pool netlab-b') for line in plan['foreign'])
    assert 'b@pve' not in plan['class_changes']['added']


def test_a_skipped_student_takes_no_memory_bridge_or_vmid_from_the_others():
    pools = {'netlab-a': {'comment': 'deploystand:netlab2:a@pve'}}       # another stand's pool with our id
    with_skip = plan_of(['a@pve', 'b@pve'], cluster=make_cluster(pools=pools))
    alone = plan_of(['b@pve'])
    assert with_skip['students'] == alone['students']
    assert with_skip['nodes'] == alone['nodes']


def test_a_class_of_only_skipped_students_plans_nothing_without_an_error():
    plan = plan_of(['a@pve'], cluster=make_cluster(pools={'netlab-a': {'comment': ''}}))
    assert plan['students'] == [] and plan['nodes'] == {}
    assert [s['userid'] for s in plan['skipped']] == ['a@pve']


# ------------------------------------------------------------------------- look-alike summary

def other_stand_cluster(students=4):
    """Another stand (weblab) of the same class beside netlab: same VM names in its pools, its
    bridges in the range; plus an admin's VM with a stand VM's name and two VMs in the VMID range."""
    vms = [vm(11000 + n, 's%d-host1' % n, 'pve2', pool='weblab-s%d' % n, tags=['deploystand', 'stand-weblab'])
           for n in range(students)]
    vms += [vm(500, 's0-host1', 'pve2', pool='other'), vm(10000, 'prod-db', 'pve1'), vm(10001, 'prod-web', 'pve1')]
    bridges = {n: {'vmbr0': {'comments': '', 'active': True}} for n in ('pve1', 'pve2')}
    for n in range(students):
        bridges['pve2']['vmbr%d' % (1000 + n)] = {'comments': bridge_marker('weblab', 's%d@pve' % n, 'lan'),
                                                 'active': True}
    return make_cluster(vms=vms, bridges=bridges)


def test_look_alikes_of_another_stand_are_one_line_with_counts_and_the_full_list_stays():
    plan = plan_of(['s%d@pve' % n for n in range(4)], linux_stand(node='pve2'), other_stand_cluster())
    assert len(plan['foreign']) == 4 + 1 + 4 + 2
    summary = plan['foreign_summary']
    assert summary[0].startswith('VM 500 (s0-host1) in pool other')          # an admin's VM: on its own
    assert summary[1] == ('vmid_range holds 2 VMs not managed by deploystand (10000, 10001): new VMs skip their '
                          'ids, and they are not touched')
    assert summary[2] == "stand weblab: 4 VMs, 4 bridges with names or numbers like this stand's; they are its own " \
                         "and not touched"
    assert len(summary) == 3


def test_the_summary_of_many_vms_in_the_range_shows_a_few_ids():
    cluster = make_cluster(vms=[vm(10000 + n, 'prod%d' % n, 'pve1') for n in range(12)])
    summary = plan_of(['s1@pve'], cluster=cluster)['foreign_summary']
    assert summary == ['vmid_range holds 12 VMs not managed by deploystand (10000, 10001, 10002, 10003, 10004, '
                       '10005, 10006, 10007, 10008, 10009 and 2 more): new VMs skip their ids, and they are not '
                       'touched']


def test_the_removal_plan_summarises_look_alikes_the_same_way():
    plan, errors = plan_removal(linux_stand(), ['s%d@pve' % n for n in range(4)], other_stand_cluster())
    assert errors == []
    assert [line for line in plan['foreign_summary'] if line.startswith('stand weblab')] == [
        "stand weblab: 4 VMs, 4 bridges with names or numbers like this stand's; they are its own and not touched"]


# ------------------------------------------------------------------------ changed bridge_range

def with_bridges(*entries):
    """pve2 carrying netlab's bridges: (iface, userid, alias)."""
    bridges = {n: {'vmbr0': {'comments': '', 'active': True}} for n in ('pve1', 'pve2')}
    for iface, userid, alias in entries:
        bridges['pve2'][iface] = {'comments': bridge_marker('netlab', userid, alias), 'active': True}
    return bridges


def test_bridges_outside_a_changed_bridge_range_are_kept_and_named_in_one_warning():
    cluster = make_cluster(bridges=with_bridges(('vmbr1000', 'a@pve', 'lan'), ('vmbr1001', 'b@pve', 'lan')))
    plan = plan_of(['a@pve', 'b@pve', 'c@pve'], linux_stand(node='pve2', bridge_range=[2000, 2999]), cluster)
    # c's new bridge takes a number of pve2's share in the new range (N mod nodes)
    assert [(b['userid'], b['iface'], b['exists']) for b in plan['nodes']['pve2']] == [
        ('a@pve', 'vmbr1000', True), ('b@pve', 'vmbr1001', True), ('c@pve', 'vmbr2001', False)]
    warnings = [w for w in plan['warnings'] if w.startswith('stand.bridge_range')]
    assert warnings == ['stand.bridge_range [2000, 2999]: 2 bridges of this stand are outside it and are kept as '
                        'they are (moving a bridge would re-plug the running VMs); only new bridges take numbers in '
                        'the range. Destroy and deploy the stand to renumber: vmbr1000 on pve2 (a@pve lan), '
                        'vmbr1001 on pve2 (b@pve lan)']


def test_bridges_inside_the_range_give_no_warning():
    cluster = make_cluster(bridges=with_bridges(('vmbr1000', 'a@pve', 'lan')))
    plan = plan_of(['a@pve'], linux_stand(node='pve2'), cluster)
    assert not [w for w in plan['warnings'] if w.startswith('stand.bridge_range')]
