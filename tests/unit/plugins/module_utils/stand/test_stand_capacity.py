"""Capacity (issue 13 item 13): the memory a deploy adds per node against the free memory there,
refused with the numbers unless stand.memory_overcommit allows it (then one warning); placement
prefers nodes with room; the stand's existing VMs count as placed."""
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.inputs import normalize_stand
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.placement import (
    place_students, student_memory_need,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.plan import build_plan

from test_stand_support import GIB, linux_stand, make_cluster, node, one_error, vm


def cluster_with(template_gib, nodes=None, vms=()):
    """make_cluster, with the linux template (alpine-tpl, 9001, on shared nfs) of template_gib memory."""
    cluster = make_cluster(nodes=nodes, vms=vms)
    cluster['vms'][9001]['maxmem'] = template_gib * GIB
    return cluster


def users(count):
    return ['s%d@pve' % n for n in range(count)]


def test_ten_students_of_32_gib_on_104_gib_free_are_refused_with_the_numbers():
    cluster = cluster_with(32, nodes={'pve1': node(64, 8), 'pve2': node(64, 16)})      # 56 + 48 = 104 free
    plan, errors = build_plan(linux_stand(), users(10), cluster)
    assert plan is None
    message = one_error(errors)
    assert message.startswith('capacity: the stand needs more memory than the nodes have free (memory_overcommit 1)')
    assert 'pve1: 56.0 GiB free, ' in message and 'pve2: 48.0 GiB free, ' in message
    assert 'in total 104.0 GiB free on 2 online nodes, 320.0 GiB needed' in message
    assert 'stand.memory_overcommit' in message


def test_a_class_that_fits_is_planned_without_a_capacity_warning():
    plan, errors = build_plan(linux_stand(), users(3), cluster_with(8))
    assert errors == [] and not [w for w in plan['warnings'] if 'memory' in w]


def test_overcommit_allows_it_and_warns_once_with_the_numbers():
    cluster = cluster_with(8, nodes={'pve1': node(64, 8), 'pve2': node(64, 16)})
    plan, errors = build_plan(linux_stand(memory_overcommit=1.5), users(14), cluster)   # 112 GiB on 104 free
    assert errors == []
    warnings = [w for w in plan['warnings'] if 'memory' in w]
    assert len(warnings) == 1 and warnings[0].startswith('stand.memory_overcommit 1.5: memory is overcommitted on ')
    assert 'GiB free, ' in warnings[0] and 'GiB needed' in warnings[0]


def test_overcommit_has_its_limit_too():
    cluster = cluster_with(32, nodes={'pve1': node(64, 8), 'pve2': node(64, 16)})
    plan, errors = build_plan(linux_stand(memory_overcommit='1.5'), users(10), cluster)  # 320 > 1.5 x 128 - 24
    assert plan is None and one_error(errors).startswith('capacity: ')


def test_balanced_placement_skips_a_node_without_room_when_another_has_it():
    # pve1 has the most free memory (38 GiB, pve2 30 GiB), but with overcommit 1.2 only pve2 has room for
    # 48 GiB (pve1: 1.2 x 40 - 2 = 46, pve2: 1.2 x 100 - 70 = 50)
    cluster = cluster_with(48, nodes={'pve1': node(40, 2), 'pve2': node(100, 70)})
    assert place_students(normalize_stand(linux_stand(memory_overcommit=1.2))[0],
                            [{'userid': 's0@pve'}], cluster) == {'s0@pve': 'pve2'}
    # without room anywhere the most free node is chosen, and the plan refuses with the numbers
    assert place_students(normalize_stand(linux_stand())[0], [{'userid': 's0@pve'}], cluster) == {'s0@pve': 'pve1'}


def test_existing_stand_vms_count_as_placed_so_a_rerun_of_a_full_cluster_passes():
    running = [vm(10000 + n, 's%d-host1' % n, 'pve1', pool='netlab-s%d' % n, tags=['deploystand', 'stand-netlab'],
                  maxmem_gib=32, status='running') for n in range(2)]
    cluster = cluster_with(32, nodes={'pve1': node(64, 8), 'pve2': node(64, 60)}, vms=running)
    plan, errors = build_plan(linux_stand(), users(2), cluster)
    assert errors == [] and [s['node'] for s in plan['students']] == ['pve1', 'pve1']
    # a third student does not fit beside them: pve1's running VMs take 64 GiB, pve2 has 4 GiB free
    plan, errors = build_plan(linux_stand(), users(3), cluster)
    message = one_error(errors)
    assert 'pve2: 4.0 GiB free, 32.0 GiB needed by 1 student;' in message      # the most free of the two
    assert 'pve1:' not in message


def test_stopped_stand_vms_the_run_starts_need_their_memory():
    stopped = [vm(10000, 's0-host1', 'pve1', pool='netlab-s0', tags=['deploystand', 'stand-netlab'], maxmem_gib=60)]
    cluster = cluster_with(1, nodes={'pve1': node(64, 8), 'pve2': node(64, 4)}, vms=stopped)
    stand = normalize_stand(linux_stand())[0]
    assert student_memory_need(stand, {'userid': 's0@pve'}, cluster) == 60 * GIB
    assert student_memory_need(dict(stand, start=False), {'userid': 's0@pve'}, cluster) == 0
    assert one_error(build_plan(linux_stand(), users(1), cluster)[1]).startswith('capacity: ')


def test_memory_overcommit_must_be_a_ratio_of_at_least_one():
    for bad in (0.5, 'lots', True, 11):
        _plan, errors = build_plan(linux_stand(memory_overcommit=bad), users(1), cluster_with(1))
        assert one_error(errors).startswith('stand.memory_overcommit: expected a number from 1.0'), bad


def test_a_node_without_memory_stats_is_not_judged():
    cluster = cluster_with(32, nodes={'pve1': {'online': True, 'maxmem': 0, 'mem': 0}})
    plan, errors = build_plan(linux_stand(), users(3), cluster)
    assert errors == []
