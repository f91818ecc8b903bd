"""The pure parts of module_utils/ops/vm.py and the clone slot bound of module_utils/pve/clone_slots.py."""
import multiprocessing
import os
import time

import pytest

from ansible_collections.deploystand.proxmox.plugins.module_utils.ops import vm as V
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.clone_slots import (
    CloneSlots, CloneSlotTimeout, slot_scope, slot_storages,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.client import PveApiError
from ansible_collections.deploystand.proxmox.plugins.module_utils.errors import StandError


# ----------------------------------------------------------------------------------------- NICs

def test_a_changed_nic_is_resent_with_its_current_mac():
    config = {'net0': 'virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1'}
    updates, deletes = V.plan_nics(config, [{'bridge': 'vmbr1001', 'model': 'virtio', 'link_down': True}])
    assert updates == {'net0': 'virtio=BC:24:11:00:00:01,bridge=vmbr1001,firewall=1,link_down=1'}
    assert deletes == []


def test_a_model_change_keeps_the_mac_too():
    config = {'net0': 'virtio=BC:24:11:00:00:01,bridge=vmbr0,mtu=9000'}
    updates, _ = V.plan_nics(config, [{'bridge': 'vmbr0', 'model': 'e1000'}])
    assert updates == {'net0': 'e1000=BC:24:11:00:00:01,bridge=vmbr0'}  # mtu is virtio only


def test_a_given_mac_wins():
    updates, _ = V.plan_nics({'net0': 'virtio=BC:24:11:00:00:01,bridge=vmbr0'},
                             [{'bridge': 'vmbr0', 'mac': '02:00:00:00:00:0a'}])
    assert updates == {'net0': 'virtio=02:00:00:00:00:0a,bridge=vmbr0'}


def test_equal_nics_need_no_update_whatever_the_spelling():
    config = {'net0': 'model=virtio,macaddr=bc:24:11:00:00:01,bridge=vmbr0,link_down=0'}
    assert V.plan_nics(config, [{'bridge': 'vmbr0', 'model': 'virtio', 'link_down': False}]) == ({}, [])


def test_new_nics_get_no_mac_and_extra_nics_are_deleted():
    config = {'net0': 'virtio=BC:24:11:00:00:01,bridge=vmbr0', 'net3': 'virtio=BC:24:11:00:00:04,bridge=vmbr0',
              'net10': 'e1000=BC:24:11:00:00:05,bridge=vmbr0'}
    updates, deletes = V.plan_nics(config, [{'bridge': 'vmbr0'}, {'bridge': 'vmbr9'}])
    assert updates == {'net1': 'virtio,bridge=vmbr9'}
    assert deletes == ['net3', 'net10']


def test_nics_of_lists_in_numeric_order_with_upper_case_macs():
    config = {'net10': 'e1000=bc:24:11:00:00:0a,bridge=b', 'net2': 'virtio=BC:24:11:00:00:02,bridge=a,link_down=1'}
    assert V.nics_of(config) == [
        {'key': 'net2', 'model': 'virtio', 'mac': 'BC:24:11:00:00:02', 'bridge': 'a', 'link_down': True},
        {'key': 'net10', 'model': 'e1000', 'mac': 'BC:24:11:00:00:0A', 'bridge': 'b', 'link_down': False}]


# ------------------------------------------------------------------------------------- EcoRouter

def test_ecorouter_keeps_a_mac_with_the_prefix_and_replaces_others():
    config = {'net0': 'virtio=BC:24:11:00:00:01,bridge=vmbr0',
              'net1': 'vmxnet3=1c:87:76:40:12:34,bridge=vmbr1001'}
    wanted = V.ecorouter_wanted(config, 10002, 'vmbr0', ['vmbr1001', 'vmbr1002'], '1C:87:76:40')
    slot = (10002 % 8192) * 8
    assert [w['mac'] for w in wanted] == ['1C:87:76:40:{0:02X}:{1:02X}'.format(slot >> 8, slot & 0xFF),
                                          '1C:87:76:40:12:34',
                                          '1C:87:76:40:{0:02X}:{1:02X}'.format((slot + 2) >> 8, (slot + 2) & 0xFF)]
    assert [(w['model'], w['bridge'], w['link_down']) for w in wanted] == [
        ('vmxnet3', 'vmbr0', True), ('vmxnet3', 'vmbr1001', False), ('vmxnet3', 'vmbr1002', False)]
    updates, deletes = V.plan_nics(config, wanted)
    assert updates['net0'].startswith('vmxnet3=1C:87:76:40:') and 'link_down=1' in updates['net0']
    # a second pass over the result changes nothing
    assert V.plan_nics(V.apply_changes(config, updates, deletes), wanted) == ({}, [])


def test_ecorouter_refuses_more_than_eight_nics():
    with pytest.raises(StandError):
        V.ecorouter_wanted({}, 10002, 'vmbr0', ['b%d' % i for i in range(8)], '1C:87:76:40')


@pytest.mark.parametrize('prefix, ok', [('1C:87:76:40', True), ('02:aa:bb:cc', True), ('1D:87:76:40', False),
                                        ('1C:87:76', False), ('1C:87:76:40:00', False), ('zz:87:76:40', False)])
def test_mac_prefix_validation(prefix, ok):
    assert V.valid_mac_prefix(prefix) is ok


def test_mac_clashes_name_the_other_vm():
    others = {18386: {'net0': 'vmxnet3=1C:87:76:40:38:A0,bridge=vmbr0'}, 10002: {'net0': 'vmxnet3=1C:87:76:40:38:A0'}}
    assert V.mac_clashes(10002, ['1c:87:76:40:38:a0'], others) == [('1C:87:76:40:38:A0', 18386, 'net0')]


# ------------------------------------------------------------------------------------------ tags

def test_tags_compare_as_pve_stores_them():
    assert not V.tags_differ('deploystand;stand-netlab', ['Stand-Netlab', 'deploystand'])
    assert not V.tags_differ('stand-netlab,deploystand', 'deploystand stand-netlab')
    assert V.tags_differ('deploystand', ['deploystand', 'stand-netlab'])


def test_wanted_tags_add_the_markers_and_keep_current_tags_only_when_not_given():
    assert V.wanted_tags('netlab', None, ['linux']) == ['deploystand', 'linux', 'stand-netlab']
    assert V.wanted_tags('netlab', [], ['linux']) == ['deploystand', 'stand-netlab']
    assert V.wanted_tags('netlab', ['EcoRouter']) == ['deploystand', 'ecorouter', 'stand-netlab']


# ----------------------------------------------------------------------------- finding, ids

def _entries():
    return V.vm_entries([
        {'type': 'qemu', 'vmid': 10000, 'name': 'student1-host1', 'node': 'pve1', 'pool': 'netlab-student1',
         'tags': 'deploystand;stand-netlab'},
        {'type': 'qemu', 'vmid': 10001, 'name': 'student1-host1', 'node': 'pve1', 'pool': 'other'},
        {'type': 'qemu', 'vmid': 10003, 'name': 'student1-host2', 'node': 'pve1', 'pool': 'netlab-student1',
         'tags': 'deploystand'},
        {'type': 'node', 'node': 'pve1'},
    ])


def test_the_vm_is_found_by_pool_name_and_tags_and_look_alikes_are_reported():
    ours, conflicts, foreign = V.find_stand_vm(_entries(), 'netlab-student1', 'student1-host1', 'netlab')
    assert ours['vmid'] == 10000 and conflicts == [] and [f['vmid'] for f in foreign] == [10001]
    ours, conflicts, _ = V.find_stand_vm(_entries(), 'netlab-student1', 'student1-host2', 'netlab')
    assert ours is None and [c['vmid'] for c in conflicts] == [10003]


def test_id_choice_prefers_the_given_id_then_the_lowest_free_one():
    used = set(_entries())
    assert V.choose_vmid(10002, [10000, 10010], used) == 10002
    assert V.choose_vmid(10000, [10000, 10010], used) == 10002
    assert V.choose_vmid(None, [10000, 10010], used, skip={10002}) == 10004
    assert V.choose_vmid(10002, [10000, 10010], used, skip={10002, 10004}) == 10005


def test_a_full_range_is_a_clear_error():
    with pytest.raises(StandError, match=r'vmid_range \[10000, 10001\] has no free VMID left'):
        V.choose_vmid(None, [10000, 10001], set(_entries()))


def test_pending_marker_round_trip():
    text = V.with_pending_marker('Router of student1', 'netlab')
    assert V.has_pending_marker(text, 'netlab') and not V.has_pending_marker(text, 'net')
    assert V.strip_pending_marker(text, 'netlab') == 'Router of student1'
    assert V.strip_pending_marker(V.with_pending_marker(None, 'netlab'), 'netlab') == ''


# ------------------------------------------------------------------------------- clone retries

class FakeClient(object):
    """Answers the clone path with scripted outcomes: 'ok', 'exists', 'locked' (task failure), 'connection'."""

    def __init__(self, outcomes, appears=False):
        self.outcomes = list(outcomes)
        self.posts = []
        self.appears = appears

    def post(self, path, **params):
        self.posts.append(params['newid'])
        outcome = self.outcomes.pop(0)
        if outcome == 'exists':
            raise PveApiError('unable to create VM: config file already exists', kind='exists')
        if outcome == 'connection':
            raise PveApiError('connection broke', kind='connection')
        return 'UPID:pve1:0:0:0:qmclone:9001:root@pam:' + outcome

    def wait_task(self, upid, timeout=None):
        if upid.endswith('locked'):
            raise PveApiError('task failed: got timeout', kind='task_failed', cause='locked')

    def get(self, path, **params):
        if path == 'cluster/resources':
            return [{'type': 'qemu', 'vmid': n, 'name': 'x', 'node': 'pve1'} for n in self.posts[-1:]] \
                if self.appears else []
        return {'name': 'x'}   # config: no lock


def _clone(client, lock_retries=3):
    vms = V.Vms(client, timeout=5, sleep=lambda s: None)
    source = {'vmid': 9001, 'node': 'pve1'}

    class Guard(object):
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False
    return vms.clone(source, lambda skip: V.choose_vmid(10000, [10000, 10010], set(), skip), 'x', 'p', False,
                     None, None, None, 'd', lock_retries, Guard)


def test_a_taken_id_moves_on_to_the_next_free_one():
    client = FakeClient(['exists', 'exists', 'ok'])
    assert _clone(client) == (10002, 'pve1')
    assert client.posts == [10000, 10001, 10002]


def test_a_lock_timeout_in_the_task_is_retried_with_the_same_id_then_gives_up():
    client = FakeClient(['locked', 'ok'])
    assert _clone(client)[0] == 10000 and client.posts == [10000, 10000]
    client = FakeClient(['locked'] * 3)
    with pytest.raises(PveApiError, match='gave up after 2 retries'):
        _clone(client, lock_retries=2)


def test_a_broken_connection_on_submission_reads_back_before_deciding():
    client = FakeClient(['connection'], appears=True)
    assert _clone(client) == (10000, 'pve1') and client.posts == [10000]      # it was created: not resent
    client = FakeClient(['connection', 'ok'], appears=False)
    assert _clone(client)[0] == 10000 and client.posts == [10000, 10000]      # it was not: sent again


class LockedForever(object):
    """Every VM's config says `lock: clone`; sleeping moves a fake clock."""

    def __init__(self):
        self.now = 0.0

    def get(self, path, **params):
        return {'lock': 'clone'}

    def sleep(self, seconds):
        self.now += seconds


def test_clone_wait_bounds_the_wait_for_all_clones_together():
    client = LockedForever()
    vms = V.Vms(client, clock=lambda: client.now)
    entries = dict((vmid, {'vmid': vmid, 'node': 'pve1'}) for vmid in (10000, 10001, 10002))
    with pytest.raises(PveApiError, match='VM 10000 on pve1 is still locked'):
        V.wait_for_clones(vms, sorted(entries), entries, 30)
    assert 30 <= client.now < 31       # one bound for all three, not 30 s each


def test_waits_sleep_through_the_client_so_the_controller_watch_applies():
    client = LockedForever()
    vms = V.Vms(client, timeout=2)     # no sleep given: the client's
    with pytest.raises(PveApiError):
        vms.wait_unlocked(10000, 'pve1')
    assert client.now >= 2


# ---------------------------------------------------------------------------------- clone slots

def _hold_slot(directory, ready, release):
    with CloneSlots('pve.example', ['local-lvm'], slots=1, timeout=5, directory=directory):
        ready.set()
        release.wait(10)


def test_clone_slots_bound_is_shared_between_processes(tmp_path):
    ctx = multiprocessing.get_context('fork')
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_slot, args=(str(tmp_path), ready, release))
    holder.start()
    try:
        assert ready.wait(10)
        with pytest.raises(CloneSlotTimeout, match='local-lvm'):
            CloneSlots('pve.example', ['local-lvm'], slots=1, timeout=0.3, directory=str(tmp_path)).acquire()
        # another storage, or another API host, has its own slots
        with CloneSlots('pve.example', ['shared-nfs'], slots=1, timeout=0.3, directory=str(tmp_path)):
            pass
        with CloneSlots('other.example', ['local-lvm'], slots=1, timeout=0.3, directory=str(tmp_path)):
            pass
        # two slots: the second one is free
        with CloneSlots('pve.example', ['local-lvm'], slots=2, timeout=0.3, directory=str(tmp_path)) as slots:
            assert slots.held == [('local-lvm', 1)]
    finally:
        release.set()
        holder.join(10)
    started = time.monotonic()
    with CloneSlots('pve.example', ['local-lvm'], slots=1, timeout=5, directory=str(tmp_path)):
        pass
    assert time.monotonic() - started < 2


def test_a_dead_holder_releases_its_slot(tmp_path):
    ctx = multiprocessing.get_context('fork')
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_slot, args=(str(tmp_path), ready, release))
    holder.start()
    assert ready.wait(10)
    os.kill(holder.pid, 9)
    holder.join(10)
    with CloneSlots('pve.example', ['local-lvm'], slots=1, timeout=2, directory=str(tmp_path)):
        pass


def test_slots_are_counted_per_api_host_and_port():
    assert slot_scope('PVE.example', 8006) == slot_scope('pve.example', '8006')
    assert slot_scope('pve.example', 8006) != slot_scope('pve.example', 8007)
    assert slot_scope('pve.example', 8006) != slot_scope('other.example', 8006)


def test_zero_slots_means_no_bound(tmp_path):
    with CloneSlots('pve.example', ['local-lvm'], slots=0, directory=str(tmp_path)) as slots:
        assert slots.held == []


def test_local_storage_slots_are_counted_per_node_shared_ones_cluster_wide():
    shared = {'local-lvm': False, 'shared-nfs': True}
    assert slot_storages(['local-lvm', 'shared-nfs'], 'pve2', shared) == ['local-lvm@pve2', 'shared-nfs']
    # unknown (the storage list could not be read): the safe side, one bound for the cluster
    assert slot_storages(['local-lvm'], 'pve2', {}) == ['local-lvm']
