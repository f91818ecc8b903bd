"""What the plan says up front, through deploy_stand.yml (issue 13): a class that differs from the
stand on the cluster, a second stand beside another (one line per other stand, not one per VM), and
bridges a changed bridge_range leaves out (kept, named). Each run converges (re-run changed=0)."""
import pytest

from reliability_support import DEPLOY, SMALL_STAND, deploy_vars, stand_bridges, stand_vms, students

pytestmark = pytest.mark.slow


def warnings_of(run):
    return [line for line in run.output.splitlines() if line.startswith('[WARNING]')]


def test_a_changed_class_is_named_up_front_and_the_students_left_out_are_kept(sim_tiny, playbook, tmp_path):
    assert playbook(DEPLOY, sim_tiny, extra_vars=deploy_vars(tmp_path, students(2))).rc == 0
    kept = dict((vmid, vm) for vmid, vm in stand_vms(sim_tiny.state()).items() if vm['pool'] == 'netlab-student2')

    run = playbook(DEPLOY, sim_tiny, extra_vars=deploy_vars(tmp_path, ['student1@pve', 'student3@pve']))
    assert run.rc == 0, run
    changes = [w for w in warnings_of(run) if 'the class differs' in w]
    assert len(changes) == 1, warnings_of(run)
    assert '1 added by this list (student3@pve)' in changes[0]
    assert '1 on the cluster but not in this list, kept' in changes[0] and 'student2@pve' in changes[0]
    state = sim_tiny.state()
    assert dict((vmid, vm) for vmid, vm in stand_vms(state).items() if vm['pool'] == 'netlab-student2') == kept
    assert 'student2@pve' in state['users']
    # the warning comes before any student task ran
    assert run.output.index('the class differs') < run.output.index('Students\' users, pools and machines exist')


def test_a_second_stand_beside_another_gets_one_line_per_other_stand(sim_tiny, playbook, tmp_path):
    assert playbook(DEPLOY, sim_tiny, extra_vars=deploy_vars(tmp_path, students(3))).rc == 0
    other = dict(SMALL_STAND, name='otherlab')
    for attempt in range(2):
        run = playbook(DEPLOY, sim_tiny, extra_vars=deploy_vars(tmp_path, students(3), stand=other))
        assert run.rc == 0, run
        left_alone = [w for w in warnings_of(run) if 'left alone' in w]
        assert left_alone == ["[WARNING]: left alone (not made by this stand): stand netlab: 6 VMs, 3 bridges with "
                              "names or numbers like this stand's; they are its own and not touched"], left_alone
        if attempt:
            assert run.changed_total == 0
    # the full list at -v
    verbose = playbook(DEPLOY, sim_tiny, extra_vars=deploy_vars(tmp_path, students(3), stand=other), args=['-v'])
    assert verbose.rc == 0 and verbose.output.count('has the name of a stand VM but is not in pool') == 6


def test_bridges_outside_a_changed_bridge_range_are_kept_and_named(sim_tiny, playbook, tmp_path):
    assert playbook(DEPLOY, sim_tiny, extra_vars=deploy_vars(tmp_path, students(2))).rc == 0
    before = stand_bridges(sim_tiny.state())
    narrowed = dict(SMALL_STAND, bridge_range=[2000, 2999])
    run = playbook(DEPLOY, sim_tiny, extra_vars=deploy_vars(tmp_path, students(3), stand=narrowed))
    assert run.rc == 0, run
    named = [w for w in warnings_of(run) if 'stand.bridge_range [2000, 2999]' in w]
    assert len(named) == 1 and '2 bridges of this stand are outside it and are kept' in named[0], warnings_of(run)
    for (node, iface) in before:
        assert '{0} on {1}'.format(iface, node) in named[0]
    after = stand_bridges(sim_tiny.state())
    assert dict((k, v) for k, v in after.items() if k in before) == before
    assert [iface for (_node, iface) in after if (_node, iface) not in before] == ['vmbr2000']
    again = playbook(DEPLOY, sim_tiny, extra_vars=deploy_vars(tmp_path, students(3), stand=narrowed))
    assert again.rc == 0 and again.changed_total == 0, again
