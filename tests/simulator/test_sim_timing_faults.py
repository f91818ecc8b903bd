"""Durations, the storage lock and injected faults (docs/simulator.md "Durations and the lock model")."""
import threading
import time
from unittest.mock import ANY

import pytest
import requests
from proxmoxer.core import ResourceException

from sim_helpers import client, wait

SHORT = dict(linked_clone=0.2, full_clone=0.2, start=0.1, stop=0.1, shutdown=0.1, destroy=0.1,
             network_apply=0.2, request_latency=0.0, storage_lock_hold=0.1, storage_lock_wait=0.3)


def test_new_vm_carries_lock_clone_while_the_task_runs(sim_factory):
    sim = sim_factory('tiny', time_factor=1.0, durations=SHORT)
    api = client(sim)
    upid = api.nodes('pve1').qemu(9001).clone.post(newid=400, name='web', description='notes')
    assert api.nodes('pve1').qemu(400).status.current.get()['lock'] == 'clone'
    # PVE shows only the temporary config while the disks are cloned: no name, notes or pool yet
    assert api.nodes('pve1').qemu(400).config.get() == {
        'lock': 'clone', 'description': ' qmclone temporary file\n', 'digest': ANY}
    assert [r['name'] for r in api.cluster.resources.get(type='vm') if r['vmid'] == 400] == ['VM 400']
    with pytest.raises(ResourceException, match=r'VM is locked \(clone\)'):
        api.nodes('pve1').qemu(400).config.put(memory=2048)
    assert api.nodes('pve1').tasks(upid).status.get()['status'] == 'running'
    assert wait(api, 'pve1', upid)['exitstatus'] == 'OK'
    assert 'lock' not in api.nodes('pve1').qemu(400).status.current.get()
    config = api.nodes('pve1').qemu(400).config.get()
    assert (config['name'], config['description']) == ('web', 'notes')


def test_storage_lock_serialises_allocations_and_times_out(sim_factory):
    # Hold 0.4 s per disk, give up after 0.3 s: of two parallel clones one must time out.
    sim = sim_factory('tiny', time_factor=1.0, durations=dict(SHORT, storage_lock_hold=0.4))
    api = client(sim)
    first = api.nodes('pve1').qemu(9001).clone.post(newid=401)
    second = api.nodes('pve1').qemu(9001).clone.post(newid=402)
    results = sorted([wait(api, 'pve1', first)['exitstatus'], wait(api, 'pve1', second)['exitstatus']])
    assert results == ['OK', "clone failed: can't lock file '/var/lock/pve-manager/pve-storage-local-lvm' - got timeout"]
    assert 402 not in sim.state()['vms']  # the failed clone cleaned up


def test_lock_contention_fault_uses_pve_text_for_shared_storage(sim):
    api = client(sim)
    sim.set_faults(lock_contention=1.0)
    status = wait(api, 'pve1', api.nodes('pve1').qemu(9100).clone.post(newid=403))
    assert status['exitstatus'] == "clone failed: cfs-lock 'storage-shared-nfs' error: got lock request timeout"
    assert 403 not in sim.state()['vms']
    sim.set_faults(lock_contention=0.0)
    assert wait(api, 'pve1', api.nodes('pve1').qemu(9100).clone.post(newid=403))['exitstatus'] == 'OK'


def test_task_durations_follow_time_factor(sim_factory):
    sim = sim_factory('tiny', time_factor=1.0, durations=dict(SHORT, network_apply=0.5))
    api = client(sim)
    began = time.time()
    wait(api, 'pve1', api.nodes('pve1').network.put())
    assert 0.45 < time.time() - began < 3


def test_slow_factor_multiplies_task_time(sim_factory):
    sim = sim_factory('tiny', time_factor=1.0, durations=dict(SHORT, network_apply=0.2), faults={'slow_factor': 4})
    api = client(sim)
    began = time.time()
    wait(api, 'pve1', api.nodes('pve1').network.put())
    assert time.time() - began > 0.75


def test_failing_tasks_fault(sim):
    api = client(sim)
    sim.set_faults(task_fail_rate=1.0, seed=1)
    assert wait(api, 'pve1', api.nodes('pve1').network.put())['exitstatus'] == "command 'ifreload -a' failed: exit code 1"
    sim.set_faults(task_fail_rate=0.0)
    assert wait(api, 'pve1', api.nodes('pve1').network.put())['exitstatus'] == 'OK'


def test_5xx_fault_on_get_only(sim):
    api = client(sim)
    sim.set_faults(error_rate=1.0)
    with pytest.raises(ResourceException, match='503'):
        api.nodes.get()
    api.pools.post(poolid='stillworks')
    sim.set_faults(error_rate=0.0)
    assert api.nodes.get()


def test_dropped_connections_fault_is_reproducible(sim):
    def pattern():
        sim.set_faults(drop_rate=0.5, seed=7)
        out = []
        for _ in range(12):
            try:
                requests.get(sim.url + '/api2/json/version', verify=sim.cafile, timeout=5)
                out.append('ok')
            except requests.ConnectionError:
                out.append('drop')
        sim.set_faults(drop_rate=0.0)
        return out
    first = pattern()
    assert 'drop' in first and 'ok' in first
    assert pattern() == first


def test_counters_count_per_template_and_reset(sim):
    api = client(sim)
    sim.reset_counters()
    api.nodes.get()
    api.nodes('pve1').qemu.get()
    api.nodes('pve2').qemu.get()
    got = sim.counters()
    assert got['requests']['GET /nodes/{node}/qemu'] == 2 and got['total'] == 3
    sim.reset_counters()
    assert sim.counters()['total'] == 0


def test_ten_concurrent_clients_clone_status_delete(sim):
    errors = []

    def worker(n):
        try:
            api = client(sim)
            for i in range(3):
                vmid = 1000 + n * 10 + i
                wait(api, 'pve1', api.nodes('pve1').qemu(9001).clone.post(newid=vmid, name='c{0}'.format(vmid)))
                assert api.nodes('pve1').qemu(vmid).status.current.get()['status'] == 'stopped'
                assert wait(api, 'pve1', api.nodes('pve1').qemu(vmid).delete())['exitstatus'] == 'OK'
        except Exception as e:  # noqa: BLE001 - collected for the assertion
            errors.append(repr(e))
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert not [v for v in sim.state()['vms'] if 1000 <= v < 1100]
