"""Validation against cluster facts, placement, template resolution, bridges and VMIDs."""
import pytest

from ansible_collections.deploystand.proxmox.plugins.module_utils.errors import StandError
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.allocation import (
    assign_vmids, free_vmids,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.bridges import (
    allocate_bridges, bridge_share,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.checks import (
    IN_VMID_RANGE, clones_in_flight,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.inputs import (
    normalize_stand, normalize_users,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.names import (
    bridge_marker, pool_id, vm_name,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.placement import (
    place_students, resolve_template,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.plan import (
    build_plan, granted_bridge_names, validate_against_cluster,
)

from test_stand_support import GIB, HOST, linux_stand, make_cluster, make_stand, node, one_error, vm


def normalized(raw_stand, users):
    stand, errors = normalize_stand(raw_stand)
    assert errors == []
    students, errors = normalize_users(users)
    assert errors == []
    return stand, students


def errors_for(raw_stand, users, cluster=None):
    stand, students = normalized(raw_stand, users)
    return validate_against_cluster(stand, students, cluster or make_cluster())


def stand_vm(vmid, userid, machine, node_name, stand='netlab'):
    return vm(vmid, vm_name(userid, machine), node_name, pool=pool_id(stand, userid),
              tags=['deploystand', 'stand-' + stand])


# --- validate_against_cluster: one case per problem ------------------------------------------

def test_a_good_stand_validates_cleanly():
    assert errors_for(make_stand(), ['s1@pve', 's2@pve']) == []


def test_unknown_stand_node_is_reported_with_a_suggestion():
    message = one_error(errors_for(make_stand(node='pve3'), ['s1@pve']))
    assert message.startswith('stand.node:') and "'pve3' does not exist" in message


def test_misspelled_stand_node_suggests_the_close_one():
    assert "did you mean 'pve1'?" in one_error(errors_for(make_stand(node='pve11'), ['s1@pve']))


def test_offline_stand_node_is_reported():
    cluster = make_cluster(nodes={'pve1': node(), 'pve2': node(online=False)})
    message = one_error(errors_for(make_stand(node='pve2'), ['s1@pve'], cluster))
    assert message == "stand.node: node 'pve2' is offline"


def test_user_pinned_to_an_unknown_node_is_reported():
    message = one_error(errors_for(make_stand(), ['s1@pve', {'name': 's2@pve', 'node': 'pve9'}]))
    assert message.startswith('users[1] (s2@pve).node:') and "'pve9' does not exist" in message


def test_user_pinned_to_an_offline_node_is_reported():
    cluster = make_cluster(nodes={'pve1': node(), 'pve2': node(online=False)})
    message = one_error(errors_for(make_stand(), [{'name': 's1@pve', 'node': 'pve2'}], cluster))
    assert message == "users[0] (s1@pve).node: node 'pve2' is offline"


def test_missing_template_name_is_reported():
    stand = linux_stand(machines=[dict(HOST, template='debian-tpl')])
    assert one_error(errors_for(stand, ['s1@pve'])) == \
        "stand.machines[0].template: no template named 'debian-tpl' in the cluster"


def test_template_name_of_a_plain_vm_is_reported_as_not_a_template():
    cluster = make_cluster(vms=[vm(500, 'debian', 'pve1')])
    stand = linux_stand(machines=[dict(HOST, template='debian')])
    assert one_error(errors_for(stand, ['s1@pve'], cluster)) == \
        "stand.machines[0].template: 'debian' is VM 500 on pve1, which is not a template"


def test_missing_template_vmid_is_reported():
    machine = {'name': 'h', 'template_vmid': 777, 'template_node': 'pve1', 'networks': ['lan']}
    assert one_error(errors_for(linux_stand(machines=[machine]), ['s1@pve'])) == \
        'stand.machines[0].template_vmid: no VM 777 in the cluster'


def test_template_vmid_of_a_plain_vm_is_reported():
    cluster = make_cluster(vms=[vm(500, 'debian', 'pve1')])
    machine = {'name': 'h', 'template_vmid': 500, 'template_node': 'pve1', 'networks': ['lan']}
    assert 'is not a template' in one_error(errors_for(linux_stand(machines=[machine]), ['s1@pve'], cluster))


def test_template_on_another_node_than_template_node_is_reported():
    machine = {'name': 'h', 'template_vmid': 9001, 'template_node': 'pve2', 'networks': ['lan']}
    assert one_error(errors_for(linux_stand(machines=[machine]), ['s1@pve'])) == \
        'stand.machines[0].template_node: template 9001 is on node pve1, not pve2'


def test_local_template_without_replica_on_the_stand_node_names_template_node_and_storage():
    cluster = make_cluster(template_storages={9001: ['local-lvm'], 9002: ['local-lvm'], 9102: ['local-lvm']})
    message = one_error(errors_for(linux_stand(node='pve2'), ['s1@pve'], cluster))
    assert message.startswith('users[0] (s1@pve): on node pve2:')
    assert "'alpine-tpl'" in message and 'pve2' in message and 'local-lvm' in message


def test_alias_that_is_a_bridge_on_some_nodes_only_is_ambiguous():
    bridges = {'pve1': {'vmbr0': {}, 'lan': {'comments': ''}}, 'pve2': {'vmbr0': {}}}
    cluster = make_cluster(bridges=bridges)
    message = one_error(errors_for(make_stand(), ['s1@pve', 's2@pve'], cluster))   # s1->pve2, s2->pve1
    assert message.startswith('stand.machines[0].networks[0].bridge:')
    assert 'ambiguous' in message and 'pve1' in message and 'pve2' in message


def test_vmbr_looking_bridge_that_exists_nowhere_is_reported():
    stand = linux_stand(machines=[dict(HOST, networks=['vmbr7'])])
    assert one_error(errors_for(stand, ['s1@pve'])) == \
        "stand.machines[0].networks[0].bridge: 'vmbr7' looks like a bridge but exists on no node"


def test_real_bridge_missing_on_the_stand_node_is_reported_with_where_it_is():
    bridges = {'pve1': {'vmbr0': {}, 'vmbr5': {}}, 'pve2': {'vmbr0': {}}}
    stand = linux_stand(node='pve2', machines=[dict(HOST, networks=['vmbr5'])])
    message = one_error(errors_for(stand, ['s1@pve'], make_cluster(bridges=bridges)))
    assert message == "stand.machines[0].networks[0].bridge: 'vmbr5' does not exist on pve2 (only on pve1)"


def test_value_that_is_neither_bridge_nor_alias_is_reported():
    stand = linux_stand(machines=[dict(HOST, networks=['Lan-Segment'])])
    message = one_error(errors_for(stand, ['s1@pve']))
    assert message.startswith('stand.machines[0].networks[0].bridge:') and 'valid alias' in message


def test_management_bridge_missing_on_the_node_is_reported_for_ecorouters():
    message = one_error(errors_for(make_stand(management_bridge='vmbr9'), ['s1@pve']))
    assert message == "stand.management_bridge: 'vmbr9' (EcoRouter net0) does not exist on pve2"


def test_vmid_range_too_small_for_the_class_is_reported():
    message = one_error(errors_for(make_stand(vmid_range=[10000, 10002]), ['s1@pve', 's2@pve']))
    assert message == 'stand.vmid_range: [10000, 10002] has 3 free VMIDs but 4 VMs must be created'


def test_bridge_range_too_small_on_a_node_is_reported():
    # two nodes: pve1 makes only even numbers (1000, 1002), pve2 the odd ones
    message = one_error(errors_for(make_stand(node='pve1', bridge_range=[1000, 1003]),
                                   ['s1@pve', 's2@pve', 's3@pve']))
    assert message.startswith('stand.bridge_range: on node pve1:') and '2 free' in message and '3 new' in message
    assert 'N mod 2 = 0' in message


def test_foreign_vms_in_the_vmid_range_are_allocated_around_and_reported():
    foreign = [vm(v, 'prod%d' % v, 'pve1') for v in (10000, 10001, 10003)]
    plan, errors = build_plan(make_stand(), ['s1@pve', 's2@pve'], make_cluster(vms=foreign))
    assert errors == []
    assert [m['preferred_vmid'] for s in plan['students'] for m in s['machines']] == [10002, 10004, 10005, 10006]
    in_range = [line for line in plan['foreign'] if IN_VMID_RANGE in line]
    assert [line.split()[1] for line in in_range] == ['10000', '10001', '10003']
    assert in_range[0] == ('VM 10000 (prod10000) has its VMID in vmid_range [10000, 19999] but is not managed by '
                           'deploystand: its id is skipped, the VM is not touched')


def test_vmid_range_may_share_with_other_deploystand_stands():
    other = vm(10000, 's1-web', 'pve1', pool='weblab-s1', tags=['deploystand', 'stand-weblab'])
    assert errors_for(make_stand(), ['s1@pve'], make_cluster(vms=[other])) == []


def being_cloned(vmid):
    # what PVE shows while a clone runs: a nameless VM with `lock: clone`, no tags and no pool
    return dict(vm(vmid, 'VM %d' % vmid, 'pve1'), lock='clone')


def test_clones_in_progress_in_the_range_are_waited_for_not_reported_as_foreign():
    cluster = make_cluster(vms=[being_cloned(10003), being_cloned(20000), vm(10001, 'prod', 'pve1')])
    assert clones_in_flight(make_stand(), cluster) == [10003]
    assert clones_in_flight(make_stand(vmid_range=[20000, 20010]), cluster) == [20000]
    plan, errors = build_plan(make_stand(), ['s1@pve'], cluster)
    assert errors == []
    assert [line.split()[1] for line in plan['foreign'] if IN_VMID_RANGE in line] == ['10001']


def test_no_wait_for_clones_when_the_stand_itself_is_invalid():
    assert clones_in_flight(make_stand(vmid_range='lots'), make_cluster(vms=[being_cloned(10003)])) == []


def test_user_name_giving_an_invalid_pool_id_is_reported():
    errors = errors_for(make_stand(), ['a+b@pve'])
    assert "users[0] (a+b@pve): gives pool id 'netlab-a+b', which PVE refuses (letters, digits, " \
        "'.', '-' and '_' only, starting with a letter)" in errors


def test_user_name_giving_invalid_vm_names_is_reported_once_for_all_machines():
    message = one_error(errors_for(make_stand(), ['-dash@pve']))
    assert message.startswith("users[0] (-dash@pve): gives VM name '-dash-router'")
    assert message.endswith('(and 1 more VM names)')


def test_user_name_giving_a_too_long_vm_name_is_reported():
    message = one_error(errors_for(make_stand(), ['a' * 57 + '@pve']))
    assert message.startswith('users[0] (%s@pve): gives VM name' % ('a' * 57)) and 'longer than 63' in message


def test_students_mapping_to_the_same_vm_name_are_reported():
    message = one_error(errors_for(make_stand(), ['john.doe@pve', 'john_doe@pve']))
    assert message.startswith('users[1] (john_doe@pve):')
    assert "'john-doe-router'" in message and 'users[0] (john.doe@pve)' in message


def test_same_name_in_two_realms_collides_on_the_pool_id():
    errors = errors_for(make_stand(), ['s1@pve', 's1@ldap'])
    assert "users[1] (s1@ldap): gives pool id 'netlab-s1', the same as users[0] (s1@pve)" in errors


def test_all_cluster_problems_come_in_one_list():
    errors = errors_for(make_stand(node='pve3', management_bridge='vmbr9'),
                        ['a+b@pve', {'name': 'c@pve', 'node': 'nowhere'}])
    assert len(errors) >= 3


# --- template resolution ---------------------------------------------------------------------

def test_template_by_name_uses_the_replica_on_the_stand_node():
    assert resolve_template({'template': 'ecorouter-tpl'}, 'pve2', make_cluster()) == (9102, 'pve2', None)


def test_template_on_shared_storage_is_cloned_from_its_node_with_target():
    assert resolve_template({'template': 'alpine-tpl'}, 'pve2', make_cluster()) == (9001, 'pve1', 'pve2')


def test_template_on_the_same_node_needs_no_target():
    assert resolve_template({'template': 'alpine-tpl'}, 'pve1', make_cluster()) == (9001, 'pve1', None)


def test_template_on_local_storage_of_another_node_is_an_error_naming_template_node_and_storage():
    cluster = make_cluster(template_storages={9001: ['nfs', 'local-lvm']})
    with pytest.raises(StandError) as exc:
        resolve_template({'template': 'alpine-tpl'}, 'pve2', cluster)
    assert "'alpine-tpl'" in str(exc.value) and 'pve2' in str(exc.value) and 'local-lvm' in str(exc.value)


def test_template_with_unknown_disks_is_not_cloned_across_nodes():
    cluster = make_cluster(template_storages={})
    with pytest.raises(StandError, match='unknown'):
        resolve_template({'template': 'alpine-tpl'}, 'pve2', cluster)


def test_template_vmid_prefers_a_same_name_replica_on_the_stand_node():
    machine = {'template_vmid': 9002, 'template_node': 'pve1'}
    assert resolve_template(machine, 'pve2', make_cluster()) == (9102, 'pve2', None)


def test_template_vmid_on_shared_storage_gets_a_target():
    machine = {'template_vmid': 9001, 'template_node': 'pve1'}
    assert resolve_template(machine, 'pve2', make_cluster()) == (9001, 'pve1', 'pve2')


def test_resolve_template_tolerates_facts_whose_keys_became_strings():
    cluster = make_cluster()
    cluster['vms'] = {str(k): v for k, v in cluster['vms'].items()}
    cluster['template_storages'] = {str(k): v for k, v in cluster['template_storages'].items()}
    assert resolve_template({'template_vmid': 9001}, 'pve2', cluster) == (9001, 'pve1', 'pve2')


# --- placement -------------------------------------------------------------------------------

def place(raw_stand, users, cluster=None):
    stand, students = normalized(raw_stand, users)
    return place_students(stand, students, cluster or make_cluster())


def test_placement_keeps_an_existing_stand_on_its_node():
    cluster = make_cluster(vms=[stand_vm(10000, 's1@pve', 'router', 'pve1'),
                                stand_vm(10001, 's1@pve', 'host1', 'pve1')])
    assert place(make_stand(), ['s1@pve'], cluster) == {'s1@pve': 'pve1'}   # pve2 has more free memory


def test_placement_keeps_existing_stand_even_against_a_pin():
    cluster = make_cluster(vms=[stand_vm(10000, 's1@pve', 'router', 'pve1')])
    assert place(make_stand(), [{'name': 's1@pve', 'node': 'pve2'}], cluster) == {'s1@pve': 'pve1'}


def test_placement_ignores_untagged_vms_in_the_pool():
    untagged = vm(10000, 's1-router', 'pve1', pool='netlab-s1')
    assert place(make_stand(), ['s1@pve'], make_cluster(vms=[untagged])) == {'s1@pve': 'pve2'}


def test_placement_honours_a_user_pin():
    assert place(make_stand(), [{'name': 's1@pve', 'node': 'pve1'}]) == {'s1@pve': 'pve1'}


def test_placement_puts_everyone_on_the_stand_node():
    assert place(make_stand(node='pve1'), ['a@pve', 'b@pve', 'c@pve']) == \
        {'a@pve': 'pve1', 'b@pve': 'pve1', 'c@pve': 'pve1'}


def test_user_pin_wins_over_the_stand_node():
    assert place(make_stand(node='pve1'), [{'name': 'a@pve', 'node': 'pve2'}]) == {'a@pve': 'pve2'}


def test_placement_puts_new_stand_on_node_with_most_free_memory():
    assert place(make_stand(), ['s1@pve']) == {'s1@pve': 'pve2'}    # 60 GiB free vs 56


def test_placement_puts_new_stand_on_node_with_most_free_memory_after_this_runs_placements():
    # each stand needs 6 GiB (router 4 + host 2): pve2 60 -> 54 -> 48(<50)...
    result = place(make_stand(), ['a@pve', 'b@pve', 'c@pve', 'd@pve'])
    assert result == {'a@pve': 'pve2', 'b@pve': 'pve1', 'c@pve': 'pve2', 'd@pve': 'pve1'}


def test_placement_counts_pins_before_balancing():
    # pinning two stands to pve2 (60 -> 48) makes pve1 (56) the best for the rest
    users = ['a@pve', {'name': 'b@pve', 'node': 'pve2'}, {'name': 'c@pve', 'node': 'pve2'}]
    assert place(make_stand(), users)['a@pve'] == 'pve1'


def test_placement_breaks_ties_by_node_name():
    cluster = make_cluster(nodes={'pveb': node(64, 8), 'pvea': node(64, 8)},
                           storages={n: {'nfs': {'shared': True}} for n in ('pvea', 'pveb')},
                           template_storages={9001: ['nfs']})
    cluster['vms'] = {9001: vm(9001, 'alpine-tpl', 'pveb', template=True)}
    assert place(linux_stand(), ['a@pve'], cluster) == {'a@pve': 'pvea'}


def test_placement_skips_offline_nodes():
    cluster = make_cluster(nodes={'pve1': node(64, 8), 'pve2': node(256, 0, online=False)})
    assert place(make_stand(), ['a@pve', 'b@pve'], cluster) == {'a@pve': 'pve1', 'b@pve': 'pve1'}


def test_placement_skips_nodes_the_templates_cannot_reach():
    # alpine-tpl only on pve1's local storage: pve2 cannot host, however free it is
    cluster = make_cluster(nodes={'pve1': node(64, 60), 'pve2': node(256, 0)},
                           template_storages={9001: ['local-lvm'], 9002: ['local-lvm'], 9102: ['local-lvm']})
    assert place(make_stand(), ['a@pve'], cluster) == {'a@pve': 'pve1'}


def test_placement_without_any_usable_node_raises_with_reasons():
    cluster = make_cluster(nodes={'pve1': node(online=False), 'pve2': node()},
                           template_storages={9001: ['local-lvm'], 9002: ['local-lvm'], 9102: ['local-lvm']})
    with pytest.raises(StandError, match='no online node can host the stand: pve2:'):
        place(make_stand(), ['a@pve'], cluster)


def _local_templates_on(*nodes_):
    """alpine-tpl and ecorouter-tpl replicated on each node's local storage: one lock domain per node."""
    vms, storages = {}, {}
    for i, n in enumerate(nodes_):
        for vmid, name, mem in ((9001 + 100 * i, 'alpine-tpl', 2), (9002 + 100 * i, 'ecorouter-tpl', 4)):
            vms[vmid] = vm(vmid, name, n, template=True, maxmem_gib=mem)
            storages[vmid] = ['local-lvm']
    return vms, storages


def test_placement_spreads_clones_over_the_nodes_storage_locks_not_by_memory_alone():
    # pve1 has far more free memory, but every disk of a node queues behind that node's local-lvm lock:
    # six students go three and three (memory alone would have put five on pve1)
    vms, storages = _local_templates_on('pve1', 'pve2')
    cluster = make_cluster(nodes={'pve1': node(256, 8), 'pve2': node(64, 8)}, template_storages=storages)
    cluster['vms'] = vms
    result = place(make_stand(), ['s%d@pve' % i for i in range(6)], cluster)
    assert sorted(result.values()) == ['pve1'] * 3 + ['pve2'] * 3
    assert result['s0@pve'] == 'pve1'   # a tie in clone work goes to the most free memory


def test_placement_counts_the_clones_of_pinned_students_in_their_node_lock():
    vms, storages = _local_templates_on('pve1', 'pve2')
    cluster = make_cluster(nodes={'pve1': node(256, 8), 'pve2': node(64, 8)}, template_storages=storages)
    cluster['vms'] = vms
    users = [{'name': 'p%d@pve' % i, 'node': 'pve1'} for i in range(2)] + ['a@pve', 'b@pve']
    result = place(make_stand(), users, cluster)
    assert result['a@pve'] == 'pve2' and result['b@pve'] == 'pve2'


def test_placement_balances_clone_work_only_among_nodes_with_room():
    # pve2 has room for one stand of 6 GiB only: the others go to pve1 even though its lock is busier
    vms, storages = _local_templates_on('pve1', 'pve2')
    cluster = make_cluster(nodes={'pve1': node(256, 8), 'pve2': node(16, 8)}, template_storages=storages)
    cluster['vms'] = vms
    result = place(make_stand(), ['s%d@pve' % i for i in range(4)], cluster)
    assert sorted(result.values()) == ['pve1'] * 3 + ['pve2']


def test_placement_with_templates_on_one_shared_storage_goes_by_free_memory():
    # every clone queues behind the one nfs lock wherever the stand goes: memory decides, as it always did
    cluster = make_cluster(nodes={'pve1': node(256, 8), 'pve2': node(64, 8)}, template_storages={9001: ['nfs']})
    result = place(linux_stand(), ['s%d@pve' % i for i in range(4)], cluster)
    assert set(result.values()) == {'pve1'}


def test_placement_is_deterministic():
    users = ['u%d@pve' % i for i in range(12)]
    assert place(make_stand(), users) == place(make_stand(), users)


# --- bridges ---------------------------------------------------------------------------------

M1 = bridge_marker('netlab', 's1@pve', 'lan')
M2 = bridge_marker('netlab', 's2@pve', 'lan')
M3 = bridge_marker('netlab', 's3@pve', 'lan')


def test_new_bridges_take_the_lowest_free_numbers_in_range():
    mapping, to_create = allocate_bridges({'vmbr0': ''}, [(M1, 'lan'), (M2, 'lan')], [1000, 1999])
    assert mapping == {M1: 'vmbr1000', M2: 'vmbr1001'}
    assert to_create == [('vmbr1000', M1), ('vmbr1001', M2)]


def test_bridge_with_our_marker_is_reused():
    existing = {'vmbr1005': 'notes\n' + M1}
    assert allocate_bridges(existing, [(M1, 'lan')], [1000, 1999]) == ({M1: 'vmbr1005'}, [])


def test_allocation_skips_foreign_and_unmarked_bridges():
    existing = {'vmbr1000': '', 'vmbr1001': 'deploystand:netlab2:s1@pve:lan', 'vmbr1002': 'uplink'}
    mapping, _ = allocate_bridges(existing, [(M1, 'lan')], [1000, 1999])
    assert mapping == {M1: 'vmbr1003'}


def test_allocation_raises_when_the_range_is_exhausted():
    with pytest.raises(StandError, match='has 1 free vmbrN but 2 new bridges'):
        allocate_bridges({'vmbr1000': ''}, [(M1, 'lan'), (M2, 'lan')], [1000, 1001])


def test_the_same_marker_twice_gets_one_bridge():
    mapping, to_create = allocate_bridges({}, [(M1, 'lan'), (M1, 'lan')], [1000, 1999])
    assert mapping == {M1: 'vmbr1000'} and len(to_create) == 1


def test_alias_keeps_its_bridge_when_a_student_is_added():
    first, created = allocate_bridges({}, [(M1, 'lan'), (M3, 'lan')], [1000, 1999])
    existing = dict((iface, marker) for iface, marker in created)
    second, _ = allocate_bridges(existing, [(M1, 'lan'), (M2, 'lan'), (M3, 'lan')], [1000, 1999])
    assert second[M1] == first[M1] and second[M3] == first[M3]
    assert second[M2] == 'vmbr1002'


def test_alias_keeps_its_bridge_when_a_student_is_removed():
    first, created = allocate_bridges({}, [(M1, 'lan'), (M2, 'lan'), (M3, 'lan')], [1000, 1999])
    existing = dict((iface, marker) for iface, marker in created)
    second, to_create = allocate_bridges(existing, [(M1, 'lan'), (M3, 'lan')], [1000, 1999])
    assert second == {M1: first[M1], M3: first[M3]} and to_create == []


def test_an_owned_bridge_whose_name_exists_on_another_node_is_not_reused():
    # a grant names no node: keeping vmbr1000 would let s1 use the other node's vmbr1000 too
    mapping, to_create = allocate_bridges({'vmbr1000': M1}, [(M1, 'lan')], [1000, 1999],
                                            elsewhere={'vmbr1000'})
    assert mapping == {M1: 'vmbr1001'} and to_create == [('vmbr1001', M1)]


def test_new_names_skip_names_on_other_nodes_and_reserved_names():
    mapping, _ = allocate_bridges({}, [(M1, 'lan'), (M2, 'lan')], [1000, 1999],
                                    elsewhere={'vmbr1000'}, reserved={'vmbr1001', 'vmbr1003'})
    assert mapping == {M1: 'vmbr1002', M2: 'vmbr1004'}


def test_new_names_stay_in_the_nodes_share_so_two_nodes_never_make_the_same_name():
    shares = [bridge_share(n, ['pve3', 'pve1', 'pve2']) for n in ('pve1', 'pve2', 'pve3')]
    assert shares == [(0, 3), (1, 3), (2, 3)]
    made = [allocate_bridges({}, [(M1, 'lan'), (M2, 'lan')], [1000, 1999], share=share)[0]
            for share in shares]
    # N mod 3 over the number itself (not over the range), so stands with other ranges keep to it too
    assert [sorted(m.values()) for m in made] == [['vmbr1002', 'vmbr1005'], ['vmbr1000', 'vmbr1003'],
                                                   ['vmbr1001', 'vmbr1004']]


def test_the_proposed_name_is_taken_when_free_and_kept_from_the_others():
    mapping, to_create = allocate_bridges({}, [(M1, 'lan'), (M2, 'lan')], [1000, 1999],
                                            preferred={M2: 'vmbr1000', M1: 'vmbr1007'})
    assert mapping == {M1: 'vmbr1007', M2: 'vmbr1000'} and [i for i, _m in to_create] == ['vmbr1007', 'vmbr1000']
    taken, _ = allocate_bridges({'vmbr1007': 'uplink'}, [(M1, 'lan')], [1000, 1999], preferred={M1: 'vmbr1007'})
    assert taken == {M1: 'vmbr1000'}


def test_granted_bridge_names_are_read_from_bridge_acl_paths_and_vlans_below_them():
    acl = [{'path': '/sdn/zones/localnetwork/vmbr1005'}, {'path': '/sdn/zones/localnetwork/vmbr1006/42'},
           {'path': '/sdn/zones/localnetwork'}, {'path': '/pool/x'}, {'path': '/sdn/zones/other/vmbr7'}]
    assert granted_bridge_names(acl) == {'vmbr1005', 'vmbr1006'}


# --- VMIDs -----------------------------------------------------------------------------------

def test_free_vmids_are_lowest_first_and_skip_used():
    assert list(free_vmids([100, 106], [101, 103, 104])) == [100, 102, 105, 106]


def test_free_vmids_is_lazy_for_huge_ranges():
    free = free_vmids([100, 999999999], [])
    assert [next(free), next(free)] == [100, 101]


def test_assign_vmids_is_disjoint_and_in_student_then_machine_order():
    students = [{'userid': 'a@pve', 'machines': [{'machine': 'r', 'vmid': None}, {'machine': 'h', 'vmid': None}]},
                {'userid': 'b@pve', 'machines': [{'machine': 'r', 'vmid': None}]}]
    cluster = make_cluster(vms=[vm(10001, 'x', 'pve1', tags=['deploystand'])])
    assert assign_vmids(students, cluster, [10000, 10099]) == {
        ('a@pve', 'r'): 10000, ('a@pve', 'h'): 10002, ('b@pve', 'r'): 10003}


def test_assign_vmids_skips_vms_that_already_exist():
    students = [{'userid': 'a@pve', 'machines': [{'machine': 'r', 'vmid': 10000}, {'machine': 'h', 'vmid': None}]}]
    cluster = make_cluster(vms=[stand_vm(10000, 'a@pve', 'r', 'pve1')])
    assert assign_vmids(students, cluster, [10000, 10099]) == {('a@pve', 'h'): 10001}


def test_assign_vmids_raises_when_the_range_runs_out():
    students = [{'userid': 'a@pve', 'machines': [{'machine': 'r', 'vmid': None}, {'machine': 'h', 'vmid': None}]}]
    with pytest.raises(StandError, match='no free VMID'):
        assign_vmids(students, make_cluster(), [10000, 10000])
