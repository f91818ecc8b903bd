"""playbooks/stand_snapshot.yml and stand_reset.yml against the simulator, read back from the cluster: the
snapshots with the stand's marker, a re-run with changed=0, check mode writing nothing, stand_limit, the
three reset paths (rollback, re-clone with the same VMID and MACs, re-create), the student's own snapshots
and the look-alikes left alone, and bad input refused in one message. Also stand.baseline at deploy."""

import pytest
from proxmoxer import ProxmoxAPI

from deploystand_sim.testing import Simulator
from lifecycle_support import (
    DEPLOY, RESET, SNAPSHOT, STAND, changed_tasks, extra, run_playbook, snapshots, stand_vms, statuses,
)

pytestmark = pytest.mark.slow
CLASS = ['student1@pve', 'student2@pve']
MARKER = 'deploystand-snapshot:netlab'


def api(sim):
    return ProxmoxAPI(sim.host, port=sim.port, user='root@pam', password=sim.password, verify_ssl=sim.cafile)


def wait(sim, node, upid):
    import time
    for _ in range(500):
        if api(sim).nodes(node).tasks(upid).status.get()['status'] == 'stopped':
            return
        time.sleep(0.02)


def vm(sim, name):
    found = [(vmid, v) for vmid, v in stand_vms(sim.state()).items() if v['name'] == name]
    return found[0] if found else (None, None)


def macs(config):
    return sorted(v.split(',')[0].split('=')[1] for k, v in config.items() if k.startswith('net'))


@pytest.fixture(scope='module')
def deployed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('snapshots')
    with Simulator('tiny') as sim:
        run = run_playbook(DEPLOY, sim.env, tmp, extra_vars=extra(tmp, users=CLASS))
        assert run.rc == 0, run
        yield sim


def play(sim, tmp_path, book, *args, **more):
    check = more.pop('check', False)
    return run_playbook(book, sim.env, tmp_path, extra_vars=extra(tmp_path, users=CLASS, **more), args=args,
                        check=check)


def test_1_snapshot_present_marks_every_machine_and_reruns_change_nothing(deployed, tmp_path):
    before = deployed.state()
    dry = play(deployed, tmp_path, SNAPSHOT, check=True)
    assert dry.rc == 0 and dry.changed_total == 2, dry
    assert deployed.state()['vms'] == before['vms']

    run = play(deployed, tmp_path, SNAPSHOT)
    assert run.rc == 0, run
    assert set(map(tuple, snapshots(deployed.state()).values())) == {('baseline',)}
    for _vmid, info in stand_vms(deployed.state()).items():
        assert MARKER in info['snapshots']['baseline']['description'].split()
    again = play(deployed, tmp_path, SNAPSHOT)
    assert again.rc == 0 and again.changed_total == 0, changed_tasks(again)
    assert 'student1-host1 (VM' in again.output and ': keep' in again.output


def test_2_reset_takes_the_three_paths_and_touches_only_the_limited_student(deployed, tmp_path):
    pve = api(deployed)
    host_id, host = vm(deployed, 'student1-host1')
    router_id, router = vm(deployed, 'student1-router')
    other_id, other = vm(deployed, 'student2-host1')
    # the lesson: configs change (rolled back by a reset), and the router loses its baseline
    for vmid in (host_id, other_id):
        pve.nodes('pve1').qemu(vmid).config.put(onboot=1)
    wait(deployed, 'pve1', pve.nodes('pve1').qemu(router_id).snapshot('baseline').delete())
    router_macs = macs(pve.nodes('pve1').qemu(router_id).config.get())

    run = play(deployed, tmp_path, RESET, '-e', 'stand_limit=student1@pve')
    assert run.rc == 0, run
    result = run.result('Machines are reset to baseline', 'student1@pve')
    assert dict((m['name'], m['path']) for m in result['machines']) == {
        'student1-router': 'reclone', 'student1-host1': 'rollback'}
    assert 'student1-router (VM {0}): reclone, running'.format(router_id) in run.output
    state = deployed.state()
    assert state['vms'][str(host_id) if str(host_id) in state['vms'] else host_id]['config'].get('onboot') in (None, 0)
    new_router_id, new_router = vm(deployed, 'student1-router')
    assert new_router_id == router_id and new_router['pool'] == 'netlab-student1'
    assert macs(pve.nodes('pve1').qemu(router_id).config.get()) == router_macs
    assert 'baseline' in new_router['snapshots'] and MARKER in new_router['snapshots']['baseline']['description']
    assert statuses(state)['student1-router'] == statuses(state)['student1-host1'] == 'running'
    # the other student is untouched
    assert state['vms'][other_id if other_id in state['vms'] else str(other_id)]['config'].get('onboot') in (1, '1')


def test_3_a_missing_machine_is_recreated_with_its_snapshot(deployed, tmp_path):
    pve = api(deployed)
    vmid, info = vm(deployed, 'student2-host1')
    router_path = 'rollback' if 'baseline' in vm(deployed, 'student2-router')[1]['snapshots'] else 'reclone'
    wait(deployed, 'pve1', pve.nodes('pve1').qemu(vmid).status.stop.post())
    wait(deployed, 'pve1', pve.nodes('pve1').qemu(vmid).delete(purge=1))
    run = play(deployed, tmp_path, RESET, '-e', 'stand_limit=student2@pve')
    assert run.rc == 0, run
    result = run.result('Machines are reset to baseline', 'student2@pve')
    assert dict((m['name'], m['path']) for m in result['machines']) == {
        'student2-router': router_path, 'student2-host1': 'recreate'}
    new_id, new = vm(deployed, 'student2-host1')
    assert new is not None and new['status'] == 'running' and 'baseline' in new['snapshots']
    assert len([v for v in deployed.state()['vms'].values() if v['name'] == 'student2-host1']) == 1


def test_4_own_snapshots_and_children_are_never_touched(deployed, tmp_path):
    pve = api(deployed)
    assert play(deployed, tmp_path, SNAPSHOT).rc == 0          # the baseline, if an earlier test did not take it
    vmid, _info = vm(deployed, 'student1-host1')
    # the student's own snapshot, a child of baseline
    wait(deployed, 'pve1', pve.nodes('pve1').qemu(vmid).snapshot.post(snapname='mine'))
    before = deployed.state()
    gone = play(deployed, tmp_path, SNAPSHOT, stand_snapshot_state='absent')
    assert gone.rc != 0
    msg = gone.result('Snapshot of the machines: baseline absent', 'student1@pve')['msg']
    assert 'child snapshots (mine)' in msg and 'nothing was changed' in msg, msg
    assert snapshots(deployed.state())['student1-host1'] == ['baseline', 'mine']
    # student2 had no children: its snapshots are gone; student1's untouched
    assert before['vms'].keys() == deployed.state()['vms'].keys()
    # a snapshot of the stand's name the stand did not take is reported, never replaced
    vmid2, _ = vm(deployed, 'student2-host1')
    wait(deployed, 'pve1', pve.nodes('pve1').qemu(vmid2).snapshot.post(snapname='baseline'))
    run = play(deployed, tmp_path, SNAPSHOT, '-e', 'stand_limit=student2@pve', stand_snapshot_replace=True)
    assert run.rc == 0, run
    actions = dict((m['name'], m['action']) for m in run.result('Snapshot of the machines: baseline present', 'student2@pve')['machines'])
    assert actions == {'student2-router': 'create', 'student2-host1': 'foreign'}
    assert 'not taken by the stand: left alone' in run.output
    assert MARKER not in (stand_vms(deployed.state())[int(vmid2)]['snapshots']['baseline']['description'] or '')


@pytest.mark.parametrize('name, expected', [
    ('1st', 'is not a PVE snapshot name'), ('a', 'is not a PVE snapshot name'), ('current', 'is reserved by PVE'),
    ('x' * 41, 'longer than 40 characters')])
def test_5_a_snapshot_name_pve_rejects_is_one_message(deployed, tmp_path, name, expected):
    before = deployed.state()
    for book in (SNAPSHOT, RESET):
        run = play(deployed, tmp_path, book, stand_snapshot_name=name)
        assert run.rc != 0 and 'Traceback' not in run.output
        msgs = [t['result'].get('msg') for t in run.failed]
        assert len(msgs) == 1 and expected in msgs[0] and 'nothing was changed' in msgs[0], msgs
    assert deployed.state() == before


def test_6_a_ram_snapshot_on_storage_that_cannot_hold_it_is_refused_and_the_rest_of_the_class_goes_on(
        deployed, tmp_path):
    pve = api(deployed)
    vmid, _info = vm(deployed, 'student1-router')
    pve.nodes('pve1').qemu(vmid).config.put(vmstatestorage='nowhere')
    before = stand_vms(deployed.state())
    run = play(deployed, tmp_path, SNAPSHOT, stand_snapshot_name='lesson2', stand_snapshot_vmstate=True)
    assert run.rc != 0
    msg = run.result('Snapshot of the machines: lesson2 present', 'student1@pve')['msg']
    assert "storage 'nowhere' does not exist" in msg and 'nothing was changed' in msg, msg
    # one module run for the class, but the refusal is student1's alone: the recap names it, the others have it
    assert run.stats['student1@pve']['failures'] == 1 and run.stats['student2@pve']['failures'] == 0, run.stats
    after = stand_vms(deployed.state())
    for number, found in after.items():
        if found['name'].startswith('student1-'):
            assert found == before[number]
        else:
            assert 'lesson2' in found['snapshots'], found['name']
    pve.nodes('pve1').qemu(vmid).config.put(delete='vmstatestorage')
    ram = play(deployed, tmp_path, SNAPSHOT, '-e', 'stand_limit=student1@pve', stand_snapshot_name='lesson2',
               stand_snapshot_vmstate=True)
    assert ram.rc == 0, ram
    assert stand_vms(deployed.state())[int(vmid)]['snapshots']['lesson2']['vmstate']


def test_7_deploy_with_a_baseline_takes_it_once(sim_factory, tmp_path):
    sim = sim_factory('tiny')
    stand = dict(STAND, baseline={'snapshot': 'start'})
    first = run_playbook(DEPLOY, sim.env, tmp_path, extra_vars=extra(tmp_path, users=['student1@pve'], stand=stand))
    assert first.rc == 0, first
    found = snapshots(sim.state())
    assert found == {'student1-router': ['start'], 'student1-host1': ['start']}
    times = dict((v['name'], v['snapshots']['start']['snaptime']) for v in stand_vms(sim.state()).values())
    again = run_playbook(DEPLOY, sim.env, tmp_path, extra_vars=extra(tmp_path, users=['student1@pve'], stand=stand))
    assert again.rc == 0 and again.changed_total == 0, changed_tasks(again)
    assert dict((v['name'], v['snapshots']['start']['snaptime']) for v in stand_vms(sim.state()).values()) == times
