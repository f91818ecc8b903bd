"""Power, snapshot and reset under the simulator's faults (converge in at most 2 runs), a reset killed with
SIGKILL midway (the next run converges: no duplicate, no half-made VM), and a student's own login: it may
power and roll back only its own machines (PVE's ACLs refuse another student's VM with 403)."""
import os
import signal

import pytest
from proxmoxer import ProxmoxAPI
from proxmoxer.core import ResourceException

from reliability_support import (
    DEPLOY, ROOT, SMALL_STAND, assert_clean, deploy_vars, failure_messages, stand_vms, start_playbook, students,
    wait_until)

POWER = os.path.join(ROOT, 'playbooks', 'stand_power.yml')
SNAPSHOT = os.path.join(ROOT, 'playbooks', 'stand_snapshot.yml')
RESET = os.path.join(ROOT, 'playbooks', 'stand_reset.yml')
STAND = dict(SMALL_STAND, machines=[dict(SMALL_STAND['machines'][0], start_order=0),
                                    dict(SMALL_STAND['machines'][1], start_order=1)])
FAULTS = dict(drop_rate=0.05, error_rate=0.05, lock_contention=0.15, slow_factor=4.0, seed=11)
pytestmark = pytest.mark.slow


def api(sim, user='root@pam', password=None):
    return ProxmoxAPI(sim.host, port=sim.port, user=user, password=password or sim.password, verify_ssl=sim.cafile)


def converge(playbook, sim, tmp_path, book, users, **extra):
    """Run until rc 0, at most twice; the first may fail, with one clear message per failed host."""
    first = playbook(book, sim, extra_vars=deploy_vars(tmp_path, users, stand=STAND, **extra))
    if first.rc == 0:
        return 1
    assert 'Traceback' not in first.output and all(failure_messages(first)), first
    second = playbook(book, sim, extra_vars=deploy_vars(tmp_path, users, stand=STAND, **extra))
    assert second.rc == 0, second
    return 2


def test_power_snapshot_and_reset_converge_under_faults(sim_factory, playbook, tmp_path):
    users = students(4)
    sim = sim_factory('default', time_factor=0.01)
    assert playbook(DEPLOY, sim, extra_vars=deploy_vars(tmp_path, users, stand=STAND)).rc == 0
    before = sim.state()
    sim.set_faults(**FAULTS)
    runs = {}
    runs['shutdown'] = converge(playbook, sim, tmp_path, POWER, users, stand_power='shutdown')
    runs['started'] = converge(playbook, sim, tmp_path, POWER, users, stand_power='started')
    runs['snapshot'] = converge(playbook, sim, tmp_path, SNAPSHOT, users, stand_snapshot_vmstate=True)
    runs['reset'] = converge(playbook, sim, tmp_path, RESET, users)
    sim.set_faults(drop_rate=0, error_rate=0, lock_contention=0, slow_factor=1)
    state = sim.state()
    vms = stand_vms(state)
    assert len(vms) == 8, runs
    assert set(vm['status'] for vm in vms.values()) == {'running'}, runs
    assert all(set(vm['snapshots']) == {'baseline'} for vm in vms.values()), runs
    assert all(not vm['lock'] for vm in vms.values())
    assert_clean(state, before)


def test_a_reset_killed_midway_converges_on_the_next_run(sim_factory, playbook, tmp_path):
    users = students(3)
    sim = sim_factory('tiny', time_factor=0.3)
    assert playbook(DEPLOY, sim, extra_vars=deploy_vars(tmp_path, users, stand=STAND)).rc == 0
    assert playbook(SNAPSHOT, sim, extra_vars=deploy_vars(tmp_path, users, stand=STAND)).rc == 0
    # every router loses its baseline: the reset re-clones them (stop, destroy, clone, snapshot)
    pve = api(sim)
    routers = dict((vmid, vm['name']) for vmid, vm in stand_vms(sim.state()).items() if vm['name'].endswith('-router'))
    for vmid in routers:
        pve.nodes('pve1').qemu(vmid).snapshot('baseline').delete()
    wait_until(lambda: all('baseline' not in stand_vms(sim.state())[v]['snapshots'] for v in routers), timeout=120)
    before = sim.state()
    job = start_playbook(RESET, sim, tmp_path, deploy_vars(tmp_path, users, stand=STAND), 'killed')
    # the kill lands once the first router is gone (destroyed, not cloned again yet) or being cloned
    def one_router_gone_or_cloning():
        vms = stand_vms(sim.state())        # one read: a router may go between two
        return any(v not in vms or vms[v]['lock'] for v in routers)
    wait_until(one_router_gone_or_cloning, timeout=300, poll=0.02)
    job.signal(signal.SIGKILL)
    killed = job.wait(120)
    assert killed.rc != 0

    again = playbook(RESET, sim, extra_vars=deploy_vars(tmp_path, users, stand=STAND))
    assert again.rc == 0, failure_messages(again)
    state = sim.state()
    vms = stand_vms(state)
    assert sorted(vm['name'] for vm in vms.values()) == sorted(
        '{0}-{1}'.format(u.split('@')[0], m) for u in users for m in ('router', 'host1'))
    assert all('baseline' in vm['snapshots'] and not vm['lock'] and vm['status'] == 'running' for vm in vms.values())
    assert_clean(state, before)
    paths = [m['path'] for u in users for m in again.result('Machines are reset to baseline', u)['machines']]
    assert set(paths) <= {'rollback', 'reclone', 'recreate'}


def test_a_student_may_power_and_roll_back_only_its_own_machines(sim_factory, playbook, tmp_path):
    users = [{'name': 'student1@pve', 'password': 'Own-Secret-1'}, {'name': 'student2@pve', 'password': 'Own-Secret-2'}]
    sim = sim_factory('tiny')
    assert playbook(DEPLOY, sim, extra_vars=deploy_vars(tmp_path, users, stand=STAND)).rc == 0
    assert playbook(SNAPSHOT, sim, extra_vars=deploy_vars(tmp_path, users, stand=STAND)).rc == 0
    ids = dict((vm['name'], vmid) for vmid, vm in stand_vms(sim.state()).items())
    student = api(sim, 'student1@pve', 'Own-Secret-1')
    own = student.nodes('pve1').qemu(ids['student1-host1'])
    own.status.stop.post()
    own.snapshot('baseline').rollback.post()
    other = student.nodes('pve1').qemu(ids['student2-host1'])
    for call in (other.status.stop.post, other.snapshot('baseline').rollback.post, other.status.start.post):
        with pytest.raises(ResourceException) as refused:
            call()
        assert refused.value.status_code == 403
    wait_until(lambda: sim.state()['vms'][ids['student1-host1']]['status'] == 'stopped')
    assert sim.state()['vms'][ids['student2-host1']]['status'] == 'running'
