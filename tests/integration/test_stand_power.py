"""playbooks/stand_power.yml against the simulator: the change read back from the cluster, a re-run with
changed=0, check mode writing nothing, stand_limit touching only the chosen students, the start order, and
the look-alikes in a student's pool left alone."""
import pytest

from deploystand_sim.testing import Simulator
from lifecycle_support import CLASS, DEPLOY, POWER, changed_tasks, extra, run_playbook, statuses

pytestmark = pytest.mark.slow


@pytest.fixture(scope='module')
def deployed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('power')
    with Simulator('default') as sim:
        run = run_playbook(DEPLOY, sim.env, tmp, extra_vars=extra(tmp))
        assert run.rc == 0, run
        yield sim


def power(deployed, tmp_path, state, *args, **kwargs):
    return run_playbook(POWER, deployed.env, tmp_path, extra_vars=extra(tmp_path, stand_power=state), args=args,
                        **kwargs)


def test_shutdown_then_start_and_reruns_change_nothing(deployed, tmp_path):
    assert set(statuses(deployed.state()).values()) == {'running'}
    off = power(deployed, tmp_path, 'shutdown')
    assert off.rc == 0, off
    assert set(statuses(deployed.state()).values()) == {'stopped'}
    again = power(deployed, tmp_path, 'shutdown')
    assert again.rc == 0 and again.changed_total == 0, changed_tasks(again)
    hard = power(deployed, tmp_path, 'stopped')
    assert hard.rc == 0 and hard.changed_total == 0, changed_tasks(hard)

    on = power(deployed, tmp_path, 'started')
    assert on.rc == 0, on
    assert set(statuses(deployed.state()).values()) == {'running'}
    result = on.result('Machines are started', 'student1@pve')
    assert [(m['name'], m['status_before'], m['status'], m['changed']) for m in result['machines']] == [
        ('student1-router', 'stopped', 'running', True), ('student1-host1', 'stopped', 'running', True)]
    again = power(deployed, tmp_path, 'started')
    assert again.rc == 0 and again.changed_total == 0, changed_tasks(again)


def test_check_mode_predicts_and_writes_nothing(deployed, tmp_path):
    before = deployed.state()
    run = power(deployed, tmp_path, 'stopped', check=True, diff=True)
    assert run.rc == 0, run
    assert deployed.state()['vms'] == before['vms']
    result = run.result('Machines are stopped', 'student2@pve')
    assert result['changed'] and all(m['status'] == 'stopped' for m in result['machines'])
    host = [m for m in result['machines'] if m['name'] == 'student2-host1'][0]
    assert 'student2-host1 (VM {0}): running -> stopped'.format(host['vmid']) in run.output


def test_stand_limit_powers_only_the_chosen_student(deployed, tmp_path):
    run = power(deployed, tmp_path, 'stopped', '-e', 'stand_limit=student3@pve')
    assert run.rc == 0, run
    found = statuses(deployed.state())
    assert found['student3-router'] == found['student3-host1'] == 'stopped'
    assert all(found[n] == 'running' for n in found if not n.startswith('student3-'))
    assert power(deployed, tmp_path, 'started').rc == 0


def test_the_router_starts_first_and_stops_last(deployed, tmp_path):
    from lifecycle_support import stand_vms
    assert power(deployed, tmp_path, 'restarted', '-e', 'stand_limit=student1@pve').rc == 0
    # the simulator's task list, oldest first: a host's stop after its router's would break the order
    tasks = deployed.call(lambda pve: [(t['type'], t['id']) for t in list(pve.tasks.values())])
    ids = dict((vm['name'], str(vmid)) for vmid, vm in stand_vms(deployed.state()).items())
    order = [(kind, vmid) for kind, vmid in tasks if vmid in (ids['student1-router'], ids['student1-host1'])
             and kind in ('qmshutdown', 'qmstart')]
    last = order[-4:]
    assert last == [('qmshutdown', ids['student1-host1']), ('qmshutdown', ids['student1-router']),
                    ('qmstart', ids['student1-router']), ('qmstart', ids['student1-host1'])], order


def test_unknown_power_state_is_one_message_and_nothing_changes(deployed, tmp_path):
    before = deployed.state()
    run = power(deployed, tmp_path, 'sleeping')
    assert run.rc != 0
    assert 'Traceback' not in run.output
    msgs = [t['result'].get('msg') for t in run.failed]
    assert len(msgs) == 1 and '"sleeping"' in msgs[0] and 'started, stopped, shutdown, restarted' in msgs[0]
    assert deployed.state() == before


def test_foreign_vms_in_the_pool_are_left_alone_and_reported(deployed, tmp_path):
    # a VM of another stand's tags in the student's pool: not this stand's
    state = deployed.state()
    node = [vm['node'] for vm in state['vms'].values() if vm['name'] == 'student2-host1'][0]
    made = run_playbook([{'hosts': 'localhost', 'gather_facts': False, 'tasks': [
        {'name': 'look-alike', 'deploystand.proxmox.pve_stand_clone': {
            'name': 'student2-lookalike', 'pool': 'netlab-student2', 'stand': 'other', 'node': node,
            'template': 'linux-tpl', 'state': 'started'}}]}], deployed.env, tmp_path)
    assert made.rc == 0, made
    run = power(deployed, tmp_path, 'stopped', '-e', 'stand_limit=student2@pve')
    assert run.rc == 0, run
    vm = [v for v in deployed.state()['vms'].values() if v['name'] == 'student2-lookalike'][0]
    assert vm['status'] == 'running'
    result = run.result('Machines are stopped', 'student2@pve')
    assert [f['name'] for f in result['foreign']] == ['student2-lookalike']
    assert 'left alone: VM' in run.output
    assert power(deployed, tmp_path, 'started').rc == 0
