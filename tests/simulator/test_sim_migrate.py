"""A real migration (qemu-server migrate_vm, QemuMigrate.pm; docs/simulator.md, Migration)."""
import time

import pytest
from proxmoxer.core import ResourceException

from sim_helpers import client, raw, wait

FAST = dict(linked_clone=0, full_clone=0, start=0, stop=0, shutdown=0, destroy=0, network_apply=0,
            request_latency=0, storage_lock_hold=0, migrate=0.6, migrate_overhead=0.1, migrate_memory=0.1)


def clone(api, newid, source=9001, node='pve1', **args):
    wait(api, node, api.nodes(node).qemu(source).clone.post(newid=newid, name='m{0}'.format(newid), **args))


def log_of(api, node, upid):
    return '\n'.join(line['t'] for line in api.nodes(node).tasks(upid).log.get(limit=500))


def test_offline_migration_moves_the_vm_and_copies_local_disks_for_a_while(sim_factory):
    sim = sim_factory('default', time_factor=1.0, durations=FAST)
    api = client(sim)
    clone(api, 400, full=1)
    started = time.time()
    upid = api.nodes('pve1').qemu(400).migrate.post(target='pve2')
    assert ':qmigrate:400:' in upid
    assert api.nodes('pve1').qemu(400).status.current.get()['lock'] == 'migrate'
    assert wait(api, 'pve1', upid, timeout=10)['exitstatus'] == 'OK'
    # 10 GiB of local disk: the whole `migrate` duration, plus the overhead
    assert time.time() - started >= 0.6
    assert sim.state()['vms'][400]['node'] == 'pve2' and sim.state()['vms'][400]['lock'] is None
    assert 'lock' not in api.nodes('pve2').qemu(400).status.current.get()
    log = log_of(api, 'pve1', upid)
    assert "starting migration of VM 400 to node 'pve2' (192.0.2.12)" in log
    assert "found local disk 'local-lvm:vm-400-disk-0' (attached)" in log and 'migration finished successfully' in log
    with pytest.raises(ResourceException, match="Configuration file 'nodes/pve1/qemu-server/400.conf'"):
        api.nodes('pve1').qemu(400).config.get()


def test_linked_clone_on_local_storage_cannot_migrate(sim, root):
    clone(root, 401)
    upid = root.nodes('pve1').qemu(401).migrate.post(target='pve2')
    assert wait(root, 'pve1', upid)['exitstatus'] == 'migration aborted'
    assert ("ERROR: migration aborted (duration 00:00:00): Problem found while scanning volumes - can't migrate "
            "'local-lvm:vm-401-disk-0' as it's a clone of 'base-9001-disk-0'") in log_of(root, 'pve1', upid)
    assert sim.state()['vms'][401]['node'] == 'pve1' and sim.state()['vms'][401]['lock'] is None


def test_linked_clone_on_shared_storage_migrates(sim, root):
    clone(root, 402, source=9100)
    assert wait(root, 'pve1', root.nodes('pve1').qemu(402).migrate.post(target='pve3'))['exitstatus'] == 'OK'
    assert sim.state()['vms'][402]['node'] == 'pve3'


def test_running_vm_needs_online_and_local_disks_need_with_local_disks(sim, root):
    clone(root, 403, full=1)
    wait(root, 'pve1', root.nodes('pve1').qemu(403).status.start.post())
    with pytest.raises(ResourceException, match="can't migrate running VM without --online"):
        root.nodes('pve1').qemu(403).migrate.post(target='pve2')
    upid = root.nodes('pve1').qemu(403).migrate.post(target='pve2', online=1)
    assert wait(root, 'pve1', upid)['exitstatus'] == 'migration aborted'
    assert "can't live migrate attached local disks without with-local-disks option" in log_of(root, 'pve1', upid)
    upid = root.nodes('pve1').qemu(403).migrate.post(target='pve2', online=1, **{'with-local-disks': 1})
    assert wait(root, 'pve1', upid)['exitstatus'] == 'OK'
    assert (sim.state()['vms'][403]['node'], sim.state()['vms'][403]['status']) == ('pve2', 'running')


@pytest.mark.parametrize('args,status,message', [
    (dict(target='pve1'), 400, 'target is local node.'),
    (dict(target='pve9'), 500, "no such cluster node 'pve9'"),
])
def test_migrate_refusals_before_the_task(sim, root, args, status, message):
    clone(root, 404, source=9100)
    code, body = raw(sim, 'POST', '/nodes/pve1/qemu/404/migrate', **args)
    assert code == status and message in body['message'] + str(body.get('errors'))


def test_vm_migrate_privilege_is_checked(sim, root):
    clone(root, 405, source=9100)
    root.access.users.post(userid='u1@pve', password='password1')
    root.access.acl.put(path='/vms/405', roles='PVEVMUser', users='u1@pve')
    with pytest.raises(ResourceException, match=r'403.*\(/vms/405, VM.Migrate\)'):
        client(sim, 'u1@pve', 'password1').nodes('pve1').qemu(405).migrate.post(target='pve2')


def test_online_migration_to_a_node_without_the_bridge_fails_and_the_vm_stays(sim, root):
    root.nodes('pve1').network.post(iface='vmbr5', type='bridge')
    wait(root, 'pve1', root.nodes('pve1').network.put())
    clone(root, 406, source=9100)
    root.nodes('pve1').qemu(406).config.put(net0='virtio,bridge=vmbr5')
    wait(root, 'pve1', root.nodes('pve1').qemu(406).status.start.post())
    upid = root.nodes('pve1').qemu(406).migrate.post(target='pve2', online=1)
    assert wait(root, 'pve1', upid)['exitstatus'] == 'migration problems'
    assert "[pve2] bridge 'vmbr5' does not exist" in log_of(root, 'pve1', upid)
    assert (sim.state()['vms'][406]['node'], sim.state()['vms'][406]['status']) == ('pve1', 'running')


def test_offline_migration_checks_no_bridge_so_a_student_reaches_a_foreign_network(sim, root):
    """Issue 13 item 1 as PVE allows it: SDN.Use on /sdn/zones/localnetwork/<bridge> names no node."""
    root.nodes('pve1').network.post(iface='vmbr1000', type='bridge', comments='student1 lan')
    wait(root, 'pve1', root.nodes('pve1').network.put())
    root.pools.post(poolid='p-st1')
    root.access.users.post(userid='st1@pve', password='password1')
    root.access.acl.put(path='/pool/p-st1', roles='PVEVMAdmin', users='st1@pve')
    root.access.acl.put(path='/sdn/zones/localnetwork/vmbr1000', roles='PVESDNUser', users='st1@pve')
    clone(root, 407, source=9100, pool='p-st1')
    root.nodes('pve1').qemu(407).config.put(net0='virtio,bridge=vmbr1000')
    st1 = client(sim, 'st1@pve', 'password1')
    assert wait(st1, 'pve1', st1.nodes('pve1').qemu(407).migrate.post(target='pve2'))['exitstatus'] == 'OK'
    assert wait(st1, 'pve2', st1.nodes('pve2').qemu(407).status.start.post())['exitstatus'] == 'OK'
    # now running on pve2's vmbr1000: the admin's "lab uplink", not the student's own LAN on pve1
    segments = sim.call(lambda pve: (pve.segment('pve1', 'vmbr1000'), pve.segment('pve2', 'vmbr1000')))
    assert segments == ('local:pve1:vmbr1000', 'local:pve2:vmbr1000')


def test_a_vxlan_vnet_is_the_same_network_after_a_migration(sim, root):
    root.cluster.sdn.zones.post(zone='lab', type='vxlan', peers='192.0.2.11,192.0.2.12,192.0.2.13')
    root.cluster.sdn.vnets.post(vnet='st1net', zone='lab', tag=100)
    wait(root, 'pve1', root.cluster.sdn.put())
    clone(root, 408, source=9100)
    root.nodes('pve1').qemu(408).config.put(net0='virtio,bridge=st1net')
    wait(root, 'pve1', root.nodes('pve1').qemu(408).status.start.post())
    before = sim.call(lambda pve: pve.segment('pve1', 'st1net'))
    upid = root.nodes('pve1').qemu(408).migrate.post(target='pve3', online=1)
    assert wait(root, 'pve1', upid)['exitstatus'] == 'OK'
    assert sim.call(lambda pve: pve.segment('pve3', 'st1net')) == before == 'vxlan:100'


def test_precondition_lists_local_disks_and_targets(root):
    clone(root, 409, full=1)
    info = root.nodes('pve1').qemu(409).migrate.get()
    assert info['running'] == 0 and info['allowed_nodes'] == ['pve2', 'pve3']
    assert [(d['volid'], d['size']) for d in info['local_disks']] == [('local-lvm:vm-409-disk-0', 10 * 1024 ** 3)]
