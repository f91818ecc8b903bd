"""Power and status as qemu-server does them (docs/simulator.md, "Power and status")."""
import time

import pytest
from proxmoxer.core import ResourceException

from sim_helpers import client, vm_user, wait
from test_sim_snapshots import SHORT, make_vm, snapshot, status


def log(api, done):
    return [line['t'] for line in api.nodes(done['node']).tasks(done['upid']).log.get()]


def test_shutdown_of_a_stopped_vm_is_an_ok_task(sim_tiny):
    api = client(sim_tiny)
    vm = make_vm(api, 300)
    done = wait(api, 'pve1', vm.status.shutdown.post())
    assert (done['type'], done['exitstatus']) == ('qmshutdown', 'OK')
    assert wait(api, 'pve1', vm.status.stop.post())['exitstatus'] == 'OK'


def test_shutdown_times_out_when_the_guest_ignores_acpi(sim_factory):
    sim = sim_factory('tiny', time_factor=0.01, durations=SHORT)
    api = client(sim)
    vm = make_vm(api, 301, source=9002, running=True)  # no guest agent
    sim.set_guest(301, acpi=False)
    began = time.time()
    done = wait(api, 'pve1', vm.status.shutdown.post(timeout=20))
    assert done['exitstatus'] == 'VM quit/powerdown failed - got timeout'
    assert time.time() - began >= 0.2  # the 20 s timeout, at time factor 0.01
    assert status(vm)['status'] == 'running'
    done = wait(api, 'pve1', vm.status.shutdown.post(timeout=20, forceStop=1))
    assert done['exitstatus'] == 'OK'
    assert 'VM still running - terminating now with SIGTERM' in log(api, done)
    assert status(vm)['status'] == 'stopped'


def test_shutdown_through_the_agent_works_without_acpi(sim_tiny):
    api = client(sim_tiny)
    vm = make_vm(api, 302, running=True)  # linux-tpl: agent enabled and running
    sim_tiny.set_guest(302, acpi=False)
    assert wait(api, 'pve1', vm.status.shutdown.post(timeout=20))['exitstatus'] == 'OK'
    assert status(vm)['status'] == 'stopped'


def test_shutdown_waits_as_long_as_the_guest_needs_within_the_timeout(sim_factory):
    sim = sim_factory('tiny', time_factor=0.01, durations=dict(SHORT, shutdown=30))
    api = client(sim)
    vm = make_vm(api, 303, running=True)
    assert wait(api, 'pve1', vm.status.shutdown.post(timeout=10))['exitstatus'] == \
        'VM quit/powerdown failed - got timeout'
    began = time.time()
    assert wait(api, 'pve1', vm.status.shutdown.post(timeout=60))['exitstatus'] == 'OK'
    assert 0.25 <= time.time() - began < 0.55  # 30 PVE s of guest shutdown, not the 60 s timeout


def test_shutdown_timeout_zero_gives_up_at_once(sim_tiny):
    api = client(sim_tiny)
    vm = make_vm(api, 304, running=True)
    assert wait(api, 'pve1', vm.status.shutdown.post(timeout=0))['exitstatus'] == \
        'VM quit/powerdown failed - got timeout'


def test_shutdown_and_stop_of_a_locked_vm_fail_in_their_task(sim_tiny):
    api = client(sim_tiny)
    vm = make_vm(api, 305, running=True)
    sim_tiny.call(lambda pve: pve.snapshot_lock(305, 'snapshot'))
    assert wait(api, 'pve1', vm.status.shutdown.post())['exitstatus'] == 'VM is locked (snapshot)'
    assert wait(api, 'pve1', vm.status.stop.post())['exitstatus'] == 'VM is locked (snapshot)'
    assert wait(api, 'pve1', vm.status.stop.post(skiplock=1))['exitstatus'] == 'OK'


def test_skiplock_is_for_root_only(sim_tiny):
    api = client(sim_tiny)
    make_vm(api, 306, running=True)
    st = vm_user(sim_tiny, 306, 'PVEVMUser')
    with pytest.raises(ResourceException, match=r'400.*skiplock.*Only root may use this option'):
        st.status.stop.post(skiplock=1)


def test_shutdown_of_a_paused_vm(sim_tiny):
    api = client(sim_tiny)
    vm = make_vm(api, 307, running=True)
    wait(api, 'pve1', vm.status.suspend.post())
    with pytest.raises(ResourceException, match=r'500.*VM is paused - cannot shutdown'):
        vm.status.shutdown.post()
    done = wait(api, 'pve1', vm.status.shutdown.post(forceStop=1))
    assert done['exitstatus'] == 'OK' and 'VM is paused - stop instead of shutdown' in log(api, done)
    assert status(vm)['status'] == 'stopped'


def test_reboot_restarts_the_vm_and_applies_pending_changes(sim_tiny):
    api = client(sim_tiny)
    vm = make_vm(api, 308, running=True)
    vm.config.put(memory=2048)
    assert vm.config.get()['memory'] == '1024'  # pending while running
    done = wait(api, 'pve1', vm.status.reboot.post())
    assert (done['type'], done['exitstatus']) == ('qmreboot', 'OK')
    assert status(vm)['status'] == 'running' and vm.config.get()['memory'] == '2048'
    # qmeventd's cleanup starts it again as root@pam, in a task of its own
    restart = [t for t in api.nodes('pve1').tasks.get(vmid=308) if t['type'] == 'qmstart']
    assert len(restart) == 2 and all(t['user'] == 'root@pam' for t in restart)


def test_reboot_of_a_stopped_vm_is_refused(sim_tiny):
    api = client(sim_tiny)
    vm = make_vm(api, 309)
    with pytest.raises(ResourceException, match=r'500.*VM 309 not running'):
        vm.status.reboot.post()


def test_reboot_task_ends_when_the_guest_is_down(sim_factory):
    sim = sim_factory('tiny', time_factor=1.0, durations=dict(SHORT, reboot=0.3, start=0.6))
    api = client(sim)
    vm = make_vm(api, 310, running=True)
    assert wait(api, 'pve1', vm.status.reboot.post())['exitstatus'] == 'OK'
    assert status(vm)['status'] == 'stopped'
    time.sleep(0.9)
    assert status(vm)['status'] == 'running'


def test_status_current_names_the_agent_only_when_enabled(sim_tiny):
    api = client(sim_tiny)
    with_agent = make_vm(api, 311, running=True)
    without = make_vm(api, 312, source=9002, running=True)
    assert status(with_agent)['agent'] == 1
    assert 'agent' not in status(without)
    assert status(with_agent)['qmpstatus'] == 'running'


def test_uptime_and_memory_of_running_vms(sim_factory):
    sim = sim_factory('tiny', time_factor=0.01, durations=SHORT)
    api = client(sim)
    vm = make_vm(api, 313, running=True)
    time.sleep(0.3)
    current = status(vm)
    assert current['uptime'] >= 25  # PVE seconds: 0.3 real s at time factor 0.01
    assert 0 < current['mem'] < current['maxmem'] == 1024 ** 3
    resource = [r for r in api.cluster.resources.get(type='vm') if r['vmid'] == 313][0]
    assert resource['uptime'] >= 25 and resource['mem'] == current['mem']
    wait(api, 'pve1', vm.status.stop.post())
    assert (status(vm)['uptime'], status(vm)['mem']) == (0, 0)


def test_agent_change_on_a_running_vm_waits_for_the_next_start(sim_tiny):
    api = client(sim_tiny)
    vm = make_vm(api, 314, source=9002, running=True)
    vm.config.put(agent=1, vmstatestorage='local-lvm')
    config = vm.config.get()
    assert 'agent' not in config and config['vmstatestorage'] == 'local-lvm'
    assert [p for p in vm.pending.get() if p['key'] == 'agent'][0]['pending'] == '1'
    wait(api, 'pve1', vm.status.stop.post())
    wait(api, 'pve1', vm.status.start.post())
    assert vm.config.get()['agent'] == '1'


def test_power_needs_power_management(sim_tiny):
    api = client(sim_tiny)
    make_vm(api, 315, running=True)
    st = vm_user(sim_tiny, 315, 'PVEAuditor')
    for action in ('shutdown', 'stop', 'reboot', 'start'):
        with pytest.raises(ResourceException, match=r'403.*\(/vms/315, VM.PowerMgmt\)'):
            st.status(action).post()


def test_snapshot_then_shutdown_task_types(sim_tiny):
    api = client(sim_tiny)
    vm = make_vm(api, 316, running=True)
    snapshot(api, vm, 'base')
    wait(api, 'pve1', vm.snapshot('base').rollback.post())
    wait(api, 'pve1', vm.snapshot('base').delete())
    types = [t['type'] for t in api.nodes('pve1').tasks.get(vmid=316)]
    assert {'qmsnapshot', 'qmrollback', 'qmdelsnapshot', 'qmstart'} <= set(types)
