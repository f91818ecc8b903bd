"""Stateful SDN: zones, VNets, pending and running config, the lock and the apply (docs/simulator.md, SDN)."""
import time

import pytest
from proxmoxer.core import ResourceException

from sim_helpers import client, raw, wait

PEERS = '192.0.2.11,192.0.2.12,192.0.2.13'


def vxlan_zone(api, zone='lab', nodes=None, **extra):
    if nodes:
        extra['nodes'] = nodes
    api.cluster.sdn.zones.post(zone=zone, type='vxlan', peers=PEERS, **extra)


def apply(api):
    upid = api.cluster.sdn.put()
    assert ':reloadnetworkall::' in upid
    return wait(api, 'pve1', upid)


def by_id(items, key):
    return dict((i[key], i) for i in items)


def test_new_objects_are_pending_until_applied(root):
    vxlan_zone(root)
    root.cluster.sdn.vnets.post(vnet='st1net', zone='lab', tag=1001, alias='deploystand:lab:st1@pve:lan')
    pending = by_id(root.cluster.sdn.vnets.get(pending=1), 'vnet')['st1net']
    # PVE's pending_config keeps only type and vnet on top of a new object; the rest is pending
    assert pending['state'] == 'new' and 'zone' not in pending
    assert pending['pending'] == {'zone': 'lab', 'tag': 1001, 'alias': 'deploystand:lab:st1@pve:lan'}
    assert by_id(root.cluster.sdn.zones.get(pending=1), 'zone')['lab']['state'] == 'new'
    assert root.cluster.sdn.vnets.get(running=1) == []
    assert apply(root)['exitstatus'] == 'OK'
    after = by_id(root.cluster.sdn.vnets.get(pending=1), 'vnet')['st1net']
    assert 'state' not in after and 'pending' not in after and after['zone'] == 'lab'
    assert [v['vnet'] for v in root.cluster.sdn.vnets.get(running=1)] == ['st1net']


def test_changed_and_deleted_objects_show_their_pending_values(root):
    vxlan_zone(root)
    root.cluster.sdn.vnets.post(vnet='a1', zone='lab', tag=10, alias='old')
    root.cluster.sdn.vnets.post(vnet='b1', zone='lab', tag=11)
    apply(root)
    root.cluster.sdn.vnets('a1').put(alias='new')
    root.cluster.sdn.vnets('b1').delete()
    pending = by_id(root.cluster.sdn.vnets.get(pending=1), 'vnet')
    assert pending['a1']['state'] == 'changed' and pending['a1']['alias'] == 'old'
    assert pending['a1']['pending'] == {'alias': 'new'}
    assert pending['b1']['state'] == 'deleted' and pending['b1']['pending'] == {}


def test_apply_makes_each_vnet_a_bridge_on_the_zone_nodes(root):
    vxlan_zone(root, nodes='pve1,pve2')
    root.cluster.sdn.vnets.post(vnet='st1net', zone='lab', tag=1001, alias='student one')
    assert 'st1net' not in [i['iface'] for i in root.nodes('pve1').network.get(type='any_bridge')]
    apply(root)
    for node in ('pve1', 'pve2'):
        item = by_id(root.nodes(node).network.get(type='any_bridge'), 'iface')['st1net']
        assert item['type'] == 'vnet' and item['active'] == '1' and item['comments'] == 'student one'
        assert [i['iface'] for i in root.nodes(node).network.get(type='vnet')] == ['st1net']
        assert root.nodes(node).sdn.zones('lab').content.get() == [{'vnet': 'st1net', 'status': 'available'}]
    # a zone limited to pve1 and pve2 has no bridge on pve3
    assert 'st1net' not in [i['iface'] for i in root.nodes('pve3').network.get(type='include_sdn')]
    assert root.nodes('pve3').sdn.zones('lab').content.get() == []
    # without a type, or for type=bridge, PVE lists no VNets
    assert 'st1net' not in [i['iface'] for i in root.nodes('pve1').network.get()]
    assert 'vmbr0' in [i['iface'] for i in root.nodes('pve1').network.get(type='include_sdn')]


def test_vxlan_vnet_is_one_network_across_nodes_and_simple_is_not(sim, root):
    vxlan_zone(root)
    root.cluster.sdn.zones.post(zone='solo', type='simple')
    root.cluster.sdn.vnets.post(vnet='wide', zone='lab', tag=5000)
    root.cluster.sdn.vnets.post(vnet='narrow', zone='solo')
    apply(root)
    seg = sim.call(lambda pve: dict((n, (pve.segment(n, 'wide'), pve.segment(n, 'narrow'))) for n in pve.nodes))
    assert seg['pve1'][0] == seg['pve3'][0] == 'vxlan:5000'
    assert seg['pve1'][1] != seg['pve3'][1]
    # a simple zone's VNet gets a MAC (SimplePlugin vnet_update_hook)
    assert root.cluster.sdn.vnets('narrow').get()['mac'].startswith('BC:24:11')


@pytest.mark.parametrize('zone,tag,message', [
    ('simple', 5, 'tag: vlan tag is not allowed on simple zone'),
    ('vlan', None, 'tag: missing vlan tag'),
    ('vlan', 4097, 'tag: vlan tag max value is 4096'),
    ('vxlan', None, 'tag: missing vxlan tag'),
])
def test_tag_rules_per_zone_type(sim, root, zone, tag, message):
    root.cluster.sdn.zones.post(zone='simple', type='simple')
    root.cluster.sdn.zones.post(zone='vlan', type='vlan', bridge='vmbr0')
    vxlan_zone(root, zone='vxlan')
    status, body = raw(sim, 'POST', '/cluster/sdn/vnets', vnet='v1', zone=zone, **({'tag': tag} if tag else {}))
    assert (status, body['message']) == (500, 'create sdn vnet object failed: 400 Parameter verification failed.\n'
                                              + message + '\n')
    assert root.cluster.sdn.vnets.get() == []


def test_tags_unique_per_vlan_zone_and_vnis_across_vxlan_zones(sim, root):
    root.cluster.sdn.zones.post(zone='va', type='vlan', bridge='vmbr0')
    root.cluster.sdn.zones.post(zone='vb', type='vlan', bridge='vmbr0')
    root.cluster.sdn.vnets.post(vnet='a1', zone='va', tag=100)
    root.cluster.sdn.vnets.post(vnet='b1', zone='vb', tag=100)
    _status, body = raw(sim, 'POST', '/cluster/sdn/vnets', vnet='a2', zone='va', tag=100)
    assert body['message'].endswith('\ntag: tag 100 already exist in vnet a1\n')
    vxlan_zone(root, zone='xa')
    vxlan_zone(root, zone='xb')
    root.cluster.sdn.vnets.post(vnet='x1', zone='xa', tag=7000)
    _status, body = raw(sim, 'POST', '/cluster/sdn/vnets', vnet='x2', zone='xb', tag=7000)
    assert body['message'].endswith('\ntag: vxlan tag 7000 already exist in vnet x1 in zone xa \n')


@pytest.mark.parametrize('vnet,message', [
    ('toolongid', 'value may only be 8 characters long'),
    ('st-1', 'value does not match the regex pattern'),
    ('1net', 'value does not match the regex pattern'),
])
def test_vnet_id_format(root, vnet, message):
    vxlan_zone(root)
    with pytest.raises(ResourceException) as err:
        root.cluster.sdn.vnets.post(vnet=vnet, zone='lab', tag=10)
    assert err.value.status_code == 400 and message in str(err.value)


def test_vnet_id_collision_and_missing_zone(root):
    vxlan_zone(root)
    root.cluster.sdn.vnets.post(vnet='taken', zone='lab', tag=10)
    with pytest.raises(ResourceException, match="create sdn vnet object failed: sdn vnet object ID 'taken' already"):
        root.cluster.sdn.vnets.post(vnet='taken', zone='lab', tag=11)
    # PVE does not say that the zone is missing: the zone plugin lookup croaks
    with pytest.raises(ResourceException, match='create sdn vnet object failed: cannot lookup undefined type!'):
        root.cluster.sdn.vnets.post(vnet='orphan', zone='nozone', tag=12)


@pytest.mark.parametrize('args,message', [
    (dict(zone='s1', type='simple', peers='192.0.2.11'), "unexpected property 'peers'"),
    (dict(zone='v1', type='vlan'), "missing value for required option 'bridge'"),
    (dict(zone='x1', type='vxlan'), 'create sdn zone object failed: 400 Parameter verification failed.\n'
                                    'fabric: must have exactly one of peers / fabric defined'),
    (dict(zone='toolongzone', type='simple'), 'value may only be 8 characters long'),
])
def test_zone_errors(sim, root, args, message):
    _status, body = raw(sim, 'POST', '/cluster/sdn/zones', **args)
    assert message in body['message'] + str(body.get('errors'))
    assert root.cluster.sdn.zones.get() == []


def test_zone_in_use_cannot_be_deleted(root):
    vxlan_zone(root)
    root.cluster.sdn.vnets.post(vnet='v1', zone='lab', tag=10)
    with pytest.raises(ResourceException, match='delete sdn zone object failed: zone lab is used by vnet v1'):
        root.cluster.sdn.zones('lab').delete()
    root.cluster.sdn.zones.post(zone='dup', type='simple')
    with pytest.raises(ResourceException, match="sdn zone object ID 'dup' already defined"):
        root.cluster.sdn.zones.post(zone='dup', type='simple')


def test_lock_token_guards_every_change_and_apply_releases_it(sim, root):
    token = root.cluster.sdn.lock.post()
    assert isinstance(token, str) and len(token) == 36
    with pytest.raises(ResourceException, match='create sdn zone object failed: invalid lock token provided!'):
        root.cluster.sdn.zones.post(zone='lab', type='simple')
    with pytest.raises(ResourceException, match='could not acquire lock for SDN config: invalid lock token'):
        root.cluster.sdn.lock.post()
    root.cluster.sdn.zones.post(zone='lab', type='simple', **{'lock-token': token})
    with pytest.raises(ResourceException, match='could not commit SDN config: invalid lock token provided!'):
        root.cluster.sdn.put()
    wait(root, 'pve1', root.cluster.sdn.put(**{'lock-token': token}))
    assert sim.state()['sdn']['lock'] is None
    # released with the apply: a change without a token works again
    root.cluster.sdn.zones.post(zone='lab2', type='simple')


def test_lock_refused_while_changes_are_pending_unless_allowed(root):
    root.cluster.sdn.zones.post(zone='lab', type='simple')
    with pytest.raises(ResourceException, match='could not acquire lock for SDN config: configuration has pending'):
        root.cluster.sdn.lock.post()
    token = root.cluster.sdn.lock.post(**{'allow-pending': 1})
    root.cluster.sdn.lock.delete(**{'lock-token': token})
    root.cluster.sdn.zones.post(zone='lab2', type='simple')


def test_rollback_drops_pending_changes_and_releases_the_lock(sim, root):
    vxlan_zone(root)
    root.cluster.sdn.vnets.post(vnet='keep', zone='lab', tag=10)
    apply(root)
    token = root.cluster.sdn.lock.post()
    root.cluster.sdn.vnets.post(vnet='extra', zone='lab', tag=11, **{'lock-token': token})
    root.cluster.sdn.vnets('keep').delete(**{'lock-token': token})
    root.cluster.sdn.rollback.post(**{'lock-token': token})
    assert [v['vnet'] for v in root.cluster.sdn.vnets.get()] == ['keep']
    assert sim.state()['sdn']['pending'] is False and sim.state()['sdn']['lock'] is None


def test_foreign_lock_holder_and_force_release(sim, root):
    sim.set_faults(sdn_foreign_lock=1)
    assert sim.state()['sdn']['lock'] == 'foreign'
    with pytest.raises(ResourceException, match='could not acquire lock for SDN config: invalid lock token'):
        root.cluster.sdn.lock.post()
    with pytest.raises(ResourceException, match='could not release lock: invalid lock token provided!'):
        root.cluster.sdn.lock.delete()
    with pytest.raises(ResourceException, match='create sdn zone object failed: invalid lock token provided!'):
        root.cluster.sdn.zones.post(zone='lab', type='simple')
    root.cluster.sdn.lock.delete(force=1)
    assert sim.state()['sdn']['lock'] is None
    root.cluster.sdn.zones.post(zone='lab', type='simple')


def test_apply_takes_time_node_by_node(sim_factory):
    sim = sim_factory('default', time_factor=1.0, durations=dict(
        sdn_apply=0.1, network_apply=0.3, request_latency=0.0))
    api = client(sim)
    vxlan_zone(api)
    api.cluster.sdn.vnets.post(vnet='v1', zone='lab', tag=10)
    upid = api.cluster.sdn.put()
    assert api.nodes('pve1').tasks(upid).status.get()['status'] == 'running'
    # committed at once (the listing reads the running config), but the node has not reloaded yet
    assert 'v1' in [i['iface'] for i in api.nodes('pve3').network.get(type='vnet')]
    assert api.nodes('pve3').sdn.zones('lab').content.get() == [
        {'vnet': 'v1', 'status': 'pending', 'statusmsg': 'local sdn network configuration is not yet generated, '
                                                         'please reload'}]
    started = time.time()
    assert wait(api, 'pve1', upid, timeout=10)['exitstatus'] == 'OK'
    # three nodes, one after another, each 0.1 + 0.3 s
    assert time.time() - started > 0.6
    log = [line['t'] for line in api.nodes('pve1').tasks(upid).log.get()]
    assert 'pve2: reloading network config' in '\n'.join(log)
    assert api.nodes('pve3').sdn.zones('lab').content.get() == [{'vnet': 'v1', 'status': 'available'}]
    assert [t['type'] for t in api.nodes('pve3').tasks.get()].count('srvreload') == 1


def test_apply_whose_commit_fails_changes_nothing(sim, root):
    vxlan_zone(root)
    sim.set_faults(sdn_apply_fail_rate=1.0)
    with pytest.raises(ResourceException, match="could not commit SDN config: cfs-lock 'domain-sdn' error"):
        root.cluster.sdn.put()
    assert sim.state()['sdn']['running'] == {} and sim.state()['sdn']['pending'] is True


def test_apply_with_a_failing_node_reload_ends_ok_and_leaves_the_node_behind(sim, root):
    vxlan_zone(root)
    root.cluster.sdn.vnets.post(vnet='v1', zone='lab', tag=10)
    sim.set_faults(sdn_reload_fail_rate=1.0)
    upid = root.cluster.sdn.put()
    # PVE only warns about a node whose reload failed: the apply task itself ends OK
    assert wait(root, 'pve1', upid)['exitstatus'] == 'OK'
    log = '\n'.join(line['t'] for line in root.nodes('pve1').tasks(upid).log.get())
    assert "command 'pvesh set /nodes/pve2/network --regenerate-frr 0' failed" in log
    assert root.nodes('pve2').sdn.zones('lab').content.get()[0]['status'] == 'pending'
    assert 'v1' not in sim.call(lambda pve: pve.active_bridges('pve2'))
    sim.set_faults(sdn_reload_fail_rate=0.0)
    apply(root)
    assert root.nodes('pve2').sdn.zones('lab').content.get() == [{'vnet': 'v1', 'status': 'available'}]


def test_vlan_zone_needs_its_bridge_on_the_node(sim, root):
    root.nodes('pve2').network.post(iface='vmbr9', type='bridge', bridge_ports='eno2')
    wait(root, 'pve2', root.nodes('pve2').network.put())
    root.cluster.sdn.zones.post(zone='vz', type='vlan', bridge='vmbr9')
    root.cluster.sdn.vnets.post(vnet='v1', zone='vz', tag=20)
    apply(root)
    assert root.nodes('pve2').sdn.zones('vz').content.get() == [{'vnet': 'v1', 'status': 'available'}]
    assert root.nodes('pve1').sdn.zones('vz').content.get() == [
        {'vnet': 'v1', 'status': 'error', 'statusmsg': 'missing vmbr9'}]
    assert sim.call(lambda pve: pve.segment('pve2', 'v1')) == 'lan:eno2.20'


def student_on(sim, root, name, zone, vnet):
    root.pools.post(poolid='p-' + name)
    root.access.users.post(userid=name + '@pve', password='password1')
    root.access.acl.put(path='/pool/p-' + name, roles='PVEVMAdmin', users=name + '@pve')
    root.access.acl.put(path='/sdn/zones/{0}/{1}'.format(zone, vnet), roles='PVESDNUser', users=name + '@pve')
    return client(sim, name + '@pve', 'password1')


def two_student_vnets(sim, root):
    """VNets st1net and st2net in the VXLAN zone lab, applied; a client of st1 with PVESDNUser on st1net."""
    vxlan_zone(root)
    root.cluster.sdn.vnets.post(vnet='st1net', zone='lab', tag=11)
    root.cluster.sdn.vnets.post(vnet='st2net', zone='lab', tag=12)
    apply(root)
    return student_on(sim, root, 'st1', 'lab', 'st1net')


def test_nic_on_a_vnet_needs_sdn_use_on_that_vnet(sim, root):
    st1 = two_student_vnets(sim, root)
    wait(root, 'pve1', root.nodes('pve1').qemu(9001).clone.post(newid=300, name='m', pool='p-st1'))
    root.nodes('pve1').qemu(300).config.put(net0='virtio,bridge=st1net')
    st1.nodes('pve1').qemu(300).config.put(net1='virtio,bridge=st1net')
    with pytest.raises(ResourceException, match=r'403.*\(/sdn/zones/lab/st2net, SDN.Use\)'):
        st1.nodes('pve1').qemu(300).config.put(net1='virtio,bridge=st2net')
    assert 'st2net' not in str(root.nodes('pve1').qemu(300).config.get())


def test_vnet_listings_show_only_what_the_caller_may_audit(sim, root):
    st1 = two_student_vnets(sim, root)
    assert [v['vnet'] for v in st1.cluster.sdn.vnets.get()] == ['st1net']
    assert [i['iface'] for i in st1.nodes('pve1').network.get(type='any_bridge')] == ['st1net']
    assert st1.cluster.sdn.zones.get() == []
    with pytest.raises(ResourceException, match=r'403.*\(/sdn/zones/lab/st2net, SDN.Audit\|SDN.Allocate\)'):
        st1.cluster.sdn.vnets('st2net').get()
    with pytest.raises(ResourceException, match='403'):
        st1.cluster.sdn.vnets.post(vnet='mine', zone='lab', tag=13)


def test_start_needs_the_vnet_up_on_the_vm_node(sim, root):
    vxlan_zone(root, nodes='pve2')
    root.cluster.sdn.vnets.post(vnet='v1', zone='lab', tag=10)
    wait(root, 'pve1', root.nodes('pve1').qemu(9001).clone.post(newid=301, name='m'))
    root.nodes('pve1').qemu(301).config.put(net0='virtio,bridge=v1')
    status = wait(root, 'pve1', root.nodes('pve1').qemu(301).status.start.post())
    assert status['exitstatus'] == "bridge 'v1' does not exist"
    apply(root)
    status = wait(root, 'pve1', root.nodes('pve1').qemu(301).status.start.post())
    # Network::SDN::Zones tap_plug: the zone does not cover pve1
    assert status['exitstatus'] == 'vnet v1 is not allowed on this node'


def test_node_reload_regenerates_sdn_and_keeps_a_plugged_vnet(sim, root):
    vxlan_zone(root)
    root.cluster.sdn.vnets.post(vnet='v1', zone='lab', tag=10)
    apply(root)
    wait(root, 'pve1', root.nodes('pve1').qemu(9001).clone.post(newid=302, name='m'))
    root.nodes('pve1').qemu(302).config.put(net0='virtio,bridge=v1')
    wait(root, 'pve1', root.nodes('pve1').qemu(302).status.start.post())
    root.cluster.sdn.vnets('v1').delete()
    apply(root)
    assert sim.state()['sdn']['nodes']['pve1']['kept'] == ['v1']
    assert 'v1' not in sim.call(lambda pve: pve.active_bridges('pve2'))
