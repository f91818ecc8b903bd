"""A flaky API: dropped connections, 5xx on reads, lock contention on clones, slow tasks.

The deploy either completes or fails with one clear message; the next run always completes; the
cluster then holds exactly what a fault-free deploy makes, with no duplicate VM, no orphaned disk
and no unmarked object. Task failures carry PVE's own text; timeouts name the task and the time."""
import pytest

from reliability_support import (
    DEPLOY, SMALL_STAND, assert_clean, deploy_vars, failure_messages, outcome, students)

CLASS = students(10)
FAULTS = dict(drop_rate=0.05, error_rate=0.05, lock_contention=0.15, slow_factor=4.0, seed=7)


def placement(state):
    return dict((vm['pool'], vm['node']) for vm in state['vms'].values() if 'stand-netlab' in vm['tags'])


@pytest.mark.slow
def test_flaky_api_deploy_converges_to_the_fault_free_result(sim_factory, playbook, tmp_path):
    clean = sim_factory('default')
    assert playbook(DEPLOY, clean, extra_vars=deploy_vars(tmp_path, CLASS)).rc == 0
    expected = outcome(clean.state())
    expected_placement = placement(clean.state())
    assert len(expected['pools']) == 10 and expected['statuses'] == ['running']

    flaky = sim_factory('default', time_factor=0.01, faults=FAULTS)
    before = flaky.state()
    first = playbook(DEPLOY, flaky, extra_vars=deploy_vars(tmp_path, CLASS))
    if first.rc != 0:
        # a failure is one clear message per failed host, never a traceback
        assert 'Traceback' not in first.output
        assert first.failed and all(failure_messages(first)), first
    second = playbook(DEPLOY, flaky, extra_vars=deploy_vars(tmp_path, CLASS))
    assert second.rc == 0, second
    assert flaky.counters()['total'] > 0

    flaky.set_faults(drop_rate=0, error_rate=0, lock_contention=0, slow_factor=1)
    state = flaky.state()
    assert outcome(state) == expected
    assert placement(state) == expected_placement
    assert_clean(state, before)
    assert len([vm for vm in state['vms'].values() if 'stand-netlab' in vm['tags']]) == 20


@pytest.mark.slow
def test_a_failed_task_is_reported_with_pve_own_error_text(sim_factory, playbook, tmp_path):
    sim = sim_factory('tiny')
    stand = dict(SMALL_STAND, start=False)
    assert playbook(DEPLOY, sim, extra_vars=deploy_vars(tmp_path, students(1), stand=stand)).rc == 0
    sim.set_faults(task_fail_rate=1.0, seed=1)
    run = playbook(DEPLOY, sim, extra_vars=deploy_vars(tmp_path, students(1)))
    assert run.rc != 0
    assert 'Traceback' not in run.output
    messages = failure_messages(run)
    assert messages, run
    # qmstart's own exit status, and which task it was
    assert any('start failed: QEMU exited with code 1' in m and 'qmstart' in m for m in messages), messages


@pytest.mark.slow
def test_a_failed_network_apply_is_reported_with_pve_own_error_text(sim_factory, playbook, tmp_path):
    sim = sim_factory('tiny')
    sim.set_faults(task_fail_rate=1.0, seed=1)
    run = playbook(DEPLOY, sim, extra_vars=deploy_vars(tmp_path, students(1)))
    assert run.rc != 0
    assert 'Traceback' not in run.output
    messages = failure_messages(run)
    assert any("command 'ifreload -a' failed: exit code 1" in m and 'srvreload' in m for m in messages), messages


def test_a_task_timeout_names_the_task_and_the_time(sim_factory, playbook, tmp_path):
    sim = sim_factory('tiny', time_factor=1.0, durations={'linked_clone': 30})
    run = playbook([{
        'hosts': 'localhost', 'gather_facts': False,
        'tasks': [
            {'name': 'Pool', 'deploystand.proxmox.pve_user_pool': {'stand': 'netlab', 'userid': 'student1@pve'},
             'no_log': True},
            {'name': 'Clone', 'deploystand.proxmox.pve_stand_clone': {
                'name': 'student1-host1', 'pool': 'netlab-student1', 'stand': 'netlab', 'node': 'pve1',
                'template': 'linux-tpl', 'timeout': 2}},
        ]}], sim)
    assert run.rc != 0
    assert 'Traceback' not in run.output
    msg = run.result('Clone')['msg']
    assert 'qmclone 9001' in msg and 'pve1' in msg, msg
    assert 'still running after 2 s (timeout 2 s)' in msg, msg
