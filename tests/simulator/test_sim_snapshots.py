"""Snapshots and rollback as qemu-server and pve-guest-common do them (docs/simulator.md, "Snapshots")."""
import time

import pytest
from proxmoxer.core import ResourceException

from sim_helpers import client, vm_user, wait

SHORT = dict(linked_clone=0.05, full_clone=0.05, start=0.05, stop=0.05, shutdown=0.05, destroy=0.05,
             request_latency=0.0, storage_lock_hold=0.01, snapshot=0.05, snapshot_vmstate=0.05, rollback=0.05,
             snapshot_delete=0.05, reboot=0.05, guest_boot=0.0)


def make_vm(api, vmid, source=9001, node='pve1', running=False):
    assert wait(api, node, api.nodes(node).qemu(source).clone.post(newid=vmid))['exitstatus'] == 'OK'
    if running:
        assert wait(api, node, api.nodes(node).qemu(vmid).status.start.post())['exitstatus'] == 'OK'
    return api.nodes(node).qemu(vmid)


def snapshot(api, vm, name, node='pve1', **params):
    return wait(api, node, vm.snapshot.post(snapname=name, **params))


def listing(vm):
    return dict((s['name'], s) for s in vm.snapshot.get())


def status(vm):
    return vm.status.current.get()


# ------------------------------------------------------------- config locks


def test_snapshot_task_holds_the_snapshot_lock(sim_factory):
    sim = sim_factory('tiny', time_factor=1.0, durations=dict(SHORT, snapshot=1.0))
    api = client(sim)
    vm = make_vm(api, 200)
    upid = vm.snapshot.post(snapname='base')
    time.sleep(0.3)
    assert status(vm)['lock'] == 'snapshot'
    assert listing(vm)['base']['snapstate'] == 'prepare'
    with pytest.raises(ResourceException, match=r'500.*VM is locked \(snapshot\)'):
        vm.config.put(memory=2048)
    assert wait(api, 'pve1', vm.status.start.post())['exitstatus'] == 'VM is locked (snapshot)'
    assert wait(api, 'pve1', upid)['exitstatus'] == 'OK'
    assert 'lock' not in status(vm)
    assert 'snapstate' not in listing(vm)['base'] and listing(vm)['current']['parent'] == 'base'


def test_rollback_task_holds_the_rollback_lock(sim_factory):
    sim = sim_factory('tiny', time_factor=1.0, durations=dict(SHORT, rollback=1.0))
    api = client(sim)
    vm = make_vm(api, 201)
    snapshot(api, vm, 'base')
    upid = vm.snapshot('base').rollback.post()
    time.sleep(0.3)
    assert status(vm)['lock'] == 'rollback'
    with pytest.raises(ResourceException, match=r'VM is locked \(rollback\)'):
        vm.config.put(cores=2)
    assert snapshot(api, vm, 'other')['exitstatus'] == 'VM is locked (rollback)'
    assert wait(api, 'pve1', upid)['exitstatus'] == 'OK'
    assert 'lock' not in status(vm)


def test_snapshot_delete_holds_the_snapshot_delete_lock(sim_factory):
    sim = sim_factory('tiny', time_factor=1.0, durations=dict(SHORT, snapshot_delete=1.0))
    api = client(sim)
    vm = make_vm(api, 202)
    snapshot(api, vm, 'base')
    upid = vm.snapshot('base').delete()
    time.sleep(0.3)
    assert status(vm)['lock'] == 'snapshot-delete'
    assert listing(vm)['base']['snapstate'] == 'delete'
    assert wait(api, 'pve1', vm.status.start.post())['exitstatus'] == 'VM is locked (snapshot-delete)'
    assert wait(api, 'pve1', upid)['exitstatus'] == 'OK'
    assert 'base' not in listing(vm) and 'lock' not in status(vm)


def test_snapshot_of_a_locked_vm_fails_in_its_task(sim_tiny):
    api = client(sim_tiny)
    vm = make_vm(api, 203)
    sim_tiny.call(lambda pve: pve.snapshot_lock(203, 'backup'))
    done = snapshot(api, vm, 'base')
    assert (done['type'], done['exitstatus']) == ('qmsnapshot', 'VM is locked (backup)')
    assert set(listing(vm)) == {'current'}


# ---------------------------------------------------------------- RAM state


def test_ram_snapshot_of_a_stopped_vm_is_disk_only(sim_tiny):
    api = client(sim_tiny)
    vm = make_vm(api, 210)
    assert snapshot(api, vm, 'base', vmstate=1)['exitstatus'] == 'OK'
    assert listing(vm)['base']['vmstate'] == 0
    assert not [v for v in sim_tiny.state()['volumes']['local-lvm'] if 'state' in v]


def test_ram_state_goes_to_the_storage_of_the_vms_disks(sim):
    api = client(sim)
    local = make_vm(api, 211, running=True)
    shared = make_vm(api, 212, source=9100, running=True)
    assert snapshot(api, local, 'base', vmstate=1)['exitstatus'] == 'OK'
    assert snapshot(api, shared, 'base', vmstate=1)['exitstatus'] == 'OK'
    vms = sim.state()['vms']
    assert vms[211]['snapshots']['base']['vmstate'] == 'local-lvm:vm-211-state-base'
    # file storage: <vmid>/<name>.raw
    assert vms[212]['snapshots']['base']['vmstate'] == 'shared-nfs:212/vm-212-state-base.raw'
    assert listing(local)['base']['vmstate'] == 1
    assert 'vm-211-state-base' in sim.state()['volumes']['local-lvm']


def test_ram_state_goes_to_vmstatestorage_when_set(sim):
    api = client(sim)
    vm = make_vm(api, 213, running=True)
    vm.config.put(vmstatestorage='shared-nfs')
    assert snapshot(api, vm, 'base', vmstate=1)['exitstatus'] == 'OK'
    assert sim.state()['vms'][213]['snapshots']['base']['vmstate'] == 'shared-nfs:213/vm-213-state-base.raw'


PBS = {'nodes': [{'name': 'pve1'}],
       'storages': [{'name': 'local-lvm', 'type': 'lvmthin'}, {'name': 'backup', 'type': 'pbs', 'content': ['backup']}],
       'templates': [{'vmid': 9001, 'name': 'linux-tpl', 'agent': True}]}


@pytest.mark.parametrize('storage,message', [
    ('backup', "can't allocate space in pbs storage"),
    ('nosuch', "storage 'nosuch' does not exist"),
])
def test_ram_snapshot_fails_when_the_state_storage_cannot_hold_it(sim_factory, storage, message):
    sim = sim_factory(PBS)
    api = client(sim)
    vm = make_vm(api, 214, running=True)
    vm.config.put(vmstatestorage=storage)
    assert snapshot(api, vm, 'base', vmstate=1)['exitstatus'] == message
    # Nothing was written: no snapshot, no lock, no state volume.
    assert set(listing(vm)) == {'current'} and 'lock' not in status(vm)
    assert snapshot(api, vm, 'base')['exitstatus'] == 'OK'


def test_ram_snapshot_of_a_vm_without_disks_falls_back_to_local(sim_tiny):
    api = client(sim_tiny)
    vm = make_vm(api, 215, running=True)
    sim_tiny.call(lambda pve: pve.vm(215).config.pop('scsi0'))
    assert snapshot(api, vm, 'base', vmstate=1)['exitstatus'] == "storage 'local' does not exist"


def test_ram_snapshot_on_an_offline_storage_fails(sim_tiny):
    api = client(sim_tiny)
    vm = make_vm(api, 216, running=True)
    sim_tiny.call(lambda pve: pve.storages['local-lvm'].update(active=0))
    assert snapshot(api, vm, 'base', vmstate=1)['exitstatus'] == "storage 'local-lvm' is not online"


def test_only_the_ram_state_takes_the_storage_lock(sim):
    api = client(sim)
    vm = make_vm(api, 217, running=True)
    sim.set_faults(lock_contention=1.0)
    assert snapshot(api, vm, 'disk')['exitstatus'] == 'OK'
    assert snapshot(api, vm, 'ram', vmstate=1)['exitstatus'] == \
        "can't lock file '/var/lock/pve-manager/pve-storage-local-lvm' - got timeout"
    assert 'ram' not in listing(vm) and 'lock' not in status(vm)


def test_ram_snapshot_takes_longer_by_memory_size(sim_factory):
    sim = sim_factory('tiny', time_factor=0.01, durations=dict(SHORT, snapshot=10, snapshot_vmstate=40))
    api = client(sim)
    vm = make_vm(api, 218, running=True)  # 1 GiB of memory
    began = time.time()
    snapshot(api, vm, 'disk')
    disk_only = time.time() - began
    began = time.time()
    snapshot(api, vm, 'ram', vmstate=1)
    with_ram = time.time() - began
    # 10 PVE s against 10 + 40 x 1 GiB = 50 PVE s (0.1 s against 0.5 s at time factor 0.01)
    assert disk_only < 0.3 < 0.45 < with_ram


def test_deleting_a_ram_snapshot_frees_its_state_volume(sim_tiny):
    api = client(sim_tiny)
    vm = make_vm(api, 219, running=True)
    snapshot(api, vm, 'base', vmstate=1)
    assert 'vm-219-state-base' in sim_tiny.state()['volumes']['local-lvm']
    assert wait(api, 'pve1', vm.snapshot('base').delete())['type'] == 'qmdelsnapshot'
    assert 'vm-219-state-base' not in sim_tiny.state()['volumes']['local-lvm']


def test_destroy_frees_the_state_volumes_of_its_snapshots(sim_tiny):
    api = client(sim_tiny)
    vm = make_vm(api, 220, running=True)
    snapshot(api, vm, 'base', vmstate=1)
    assert 'vm-220-state-base' in sim_tiny.state()['volumes']['local-lvm']
    wait(api, 'pve1', vm.status.stop.post())
    assert wait(api, 'pve1', vm.delete())['exitstatus'] == 'OK'
    assert not [v for v in sim_tiny.state()['volumes']['local-lvm'] if '220' in v]


# ------------------------------------------------------------------ rollback


def test_rollback_of_a_ram_snapshot_leaves_the_vm_running(sim_tiny):
    api = client(sim_tiny)
    vm = make_vm(api, 230, running=True)
    snapshot(api, vm, 'base', vmstate=1)
    wait(api, 'pve1', vm.status.stop.post())
    done = wait(api, 'pve1', vm.snapshot('base').rollback.post())
    assert (done['type'], done['exitstatus']) == ('qmrollback', 'OK')
    assert status(vm)['status'] == 'running'


def test_rollback_of_a_disk_snapshot_leaves_the_vm_stopped(sim_tiny):
    api = client(sim_tiny)
    vm = make_vm(api, 231, running=True)
    snapshot(api, vm, 'base')
    assert wait(api, 'pve1', vm.snapshot('base').rollback.post())['exitstatus'] == 'OK'
    assert status(vm)['status'] == 'stopped'
    assert wait(api, 'pve1', vm.snapshot('base').rollback.post(start=1))['exitstatus'] == 'OK'
    assert status(vm)['status'] == 'running'


def test_rollback_restores_the_config_and_keeps_the_notes(sim_tiny):
    api = client(sim_tiny)
    vm = make_vm(api, 232)
    vm.config.put(description='first notes')
    snapshot(api, vm, 'base', description='clean lab')
    vm.config.put(memory=4096, description='later notes', net1='virtio,bridge=vmbr0')
    wait(api, 'pve1', vm.snapshot('base').rollback.post())
    config = vm.config.get()
    assert (config['memory'], config['description'], config['parent']) == ('1024', 'later notes', 'base')
    assert 'net1' not in config
    assert vm.snapshot('base').config.get()['description'] == 'clean lab'


def test_rollback_start_needs_power_management(sim_tiny):
    api = client(sim_tiny)
    vm = make_vm(api, 233)
    snapshot(api, vm, 'base')
    api.access.roles.post(roleid='Resetter', privs='VM.Audit,VM.Snapshot.Rollback')
    st = vm_user(sim_tiny, 233, 'Resetter')
    assert wait(api, 'pve1', st.snapshot('base').rollback.post())['exitstatus'] == 'OK'
    with pytest.raises(ResourceException, match=r'403.*\(/vms/233, VM.PowerMgmt\)'):
        st.snapshot('base').rollback.post(start=1)


def test_snapshot_and_delete_need_vm_snapshot(sim_tiny):
    api = client(sim_tiny)
    vm = make_vm(api, 234)
    snapshot(api, vm, 'base')
    st = vm_user(sim_tiny, 234, 'PVEVMUser')
    for call in (lambda: st.snapshot.post(snapname='mine'), lambda: st.snapshot('base').delete()):
        with pytest.raises(ResourceException, match=r'403.*\(/vms/234, VM.Snapshot\)'):
            call()
    with pytest.raises(ResourceException, match=r'403.*\(/vms/234, VM.Snapshot\|VM.Snapshot.Rollback\)'):
        st.snapshot('base').rollback.post()


# ------------------------------------------------------------ names and tree


@pytest.mark.parametrize('name,status_code,message', [
    ('1abc', 400, "invalid configuration ID '1abc'"),
    ('a', 400, "invalid configuration ID 'a'"),
    ('x' * 41, 400, 'value may only be 40 characters long'),
    ('current', 500, "unable to use snapshot name 'current' (reserved name)"),
    ('Pending', 500, "unable to use snapshot name 'pending' (reserved name)"),
])
def test_snapshot_names_pve_rejects(sim_tiny, name, status_code, message):
    api = client(sim_tiny)
    vm = make_vm(api, 240)
    with pytest.raises(ResourceException) as caught:
        vm.snapshot.post(snapname=name)
    assert caught.value.status_code == status_code and message in str(caught.value)


def test_snapshot_tree_and_the_current_entry(sim_tiny):
    api = client(sim_tiny)
    vm = make_vm(api, 241)
    snapshot(api, vm, 'one', description='first')
    snapshot(api, vm, 'two')
    snapshot(api, vm, 'three')
    snaps = listing(vm)
    assert (snaps['one'].get('parent'), snaps['two']['parent'], snaps['three']['parent']) == (None, 'one', 'two')
    assert snaps['one']['description'] == 'first' and snaps['two']['description'] == ''
    assert all(isinstance(snaps[n]['snaptime'], int) and snaps[n]['vmstate'] == 0 for n in ('one', 'two', 'three'))
    assert snaps['current'] == {'name': 'current', 'digest': vm.config.get()['digest'], 'running': 0,
                                'description': 'You are here!', 'parent': 'three'}
    assert vm.snapshot.get()[-1]['name'] == 'current'
    dump = sim_tiny.state()['vms'][241]['snapshots']
    assert {n: (s['parent'], s['description']) for n, s in dump.items()} == {
        'one': (None, 'first'), 'two': ('one', ''), 'three': ('two', '')}


def test_deleting_a_snapshot_with_children_reparents_them(sim_tiny):
    api = client(sim_tiny)
    vm = make_vm(api, 242)
    for name in ('one', 'two', 'three'):
        snapshot(api, vm, name)
    assert wait(api, 'pve1', vm.snapshot('two').delete())['exitstatus'] == 'OK'
    assert listing(vm)['three']['parent'] == 'one'
    assert wait(api, 'pve1', vm.snapshot('three').delete())['exitstatus'] == 'OK'
    assert listing(vm)['current']['parent'] == 'one'
    assert wait(api, 'pve1', vm.snapshot('gone').delete())['exitstatus'] == "snapshot 'gone' does not exist"


CEPH = {'nodes': [{'name': 'pve1'}], 'storages': [{'name': 'ceph', 'type': 'rbd', 'content': ['images']}],
        'templates': [{'vmid': 9001, 'name': 'linux-tpl', 'storage': 'ceph'}]}


def test_failed_snapshot_is_cleaned_up_and_failed_delete_keeps_its_lock(sim_factory):
    sim = sim_factory(CEPH)
    api = client(sim)
    vm = make_vm(api, 250)
    snapshot(api, vm, 'base')
    sim.call(lambda pve: pve.ceph_down())
    assert snapshot(api, vm, 'other')['exitstatus'].startswith('rbd error')
    assert 'other' not in listing(vm) and 'lock' not in status(vm)
    assert wait(api, 'pve1', vm.snapshot('base').delete())['exitstatus'].startswith('rbd error')
    # As PVE: the half-deleted snapshot and `lock: snapshot-delete` stay until someone unlocks.
    assert listing(vm)['base']['snapstate'] == 'delete' and status(vm)['lock'] == 'snapshot-delete'
    sim.call(lambda pve: (pve.ceph_recover(), pve.unlock(250)))
    assert wait(api, 'pve1', vm.snapshot('base').delete(force=1))['exitstatus'] == 'OK'
    assert set(listing(vm)) == {'current'}
