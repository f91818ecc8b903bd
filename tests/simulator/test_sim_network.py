"""Staged node networks (docs/simulator.md "Node networks")."""
import pytest
from proxmoxer.core import ResourceException

from sim_helpers import client, wait


def bridges(api, node='pve1'):
    return {i['iface']: i for i in api.nodes(node).network.get(type='bridge')}


def test_new_bridge_is_pending_until_applied(sim, root):
    root.nodes('pve1').network.post(iface='vmbr1001', type='bridge', autostart=1, comments='student1')
    assert bridges(root)['vmbr1001']['active'] == 0
    assert root.nodes('pve1').network('vmbr1001').get()['comments'] == 'student1'
    upid = root.nodes('pve1').network.put()
    assert ':srvreload:networking:' in upid
    assert wait(root, 'pve1', upid)['exitstatus'] == 'OK'
    assert bridges(root)['vmbr1001']['active'] == 1
    assert sim.state()['networks']['pve1']['staged'] is None


def test_list_carries_changes_while_pending(sim, root):
    import requests
    root.nodes('pve1').network.post(iface='vmbr1002', type='bridge')
    ticket = requests.post(sim.url + '/api2/json/access/ticket', verify=sim.cafile,
                           data={'username': 'root@pam', 'password': sim.password}).json()['data']['ticket']
    body = requests.get(sim.url + '/api2/json/nodes/pve1/network', verify=sim.cafile,
                        cookies={'PVEAuthCookie': ticket}).json()
    assert '+iface vmbr1002 inet manual' in body['changes']
    root.nodes('pve1').network.delete()
    body = requests.get(sim.url + '/api2/json/nodes/pve1/network', verify=sim.cafile,
                        cookies={'PVEAuthCookie': ticket}).json()
    assert 'changes' not in body and 'vmbr1002' not in [i['iface'] for i in body['data']]


def test_type_filter(root):
    assert set(bridges(root)) == {'vmbr0'}
    assert [i['iface'] for i in root.nodes('pve1').network.get(type='eth')] == ['eno1']
    assert set(i['iface'] for i in root.nodes('pve2').network.get(type='any_bridge')) == {'vmbr0', 'vmbr1000'}


def test_existing_and_missing_interfaces(root):
    root.nodes('pve1').network.post(iface='vmbr1003', type='bridge')
    with pytest.raises(ResourceException, match='interface already exists'):
        root.nodes('pve1').network.post(iface='vmbr1003', type='bridge')
    with pytest.raises(ResourceException, match='interface does not exist'):
        root.nodes('pve1').network('vmbr4242').get()
    with pytest.raises(ResourceException, match='interface does not exist'):
        root.nodes('pve1').network('vmbr4242').delete()


@pytest.mark.parametrize('name', ['vmbr-1', '1vmbr', 'averyveryverylongbr'])
def test_interface_name_rules(root, name):
    with pytest.raises(ResourceException, match='400'):
        root.nodes('pve1').network.post(iface=name, type='bridge')


def test_vlan_aware_whenever_defined(root):
    root.nodes('pve1').network.post(iface='vmbr1004', type='bridge', bridge_vlan_aware=0)
    got = root.nodes('pve1').network('vmbr1004').get()
    assert got['bridge_vlan_aware'] == 1 and got['bridge_vids'] == '2-4094'
    root.nodes('pve1').network('vmbr1004').put(type='bridge', delete='bridge_vlan_aware')
    assert 'bridge_vlan_aware' not in root.nodes('pve1').network('vmbr1004').get()


def test_listing_hides_bridges_without_sdn_privileges(sim, root):
    root.access.users.post(userid='ops@pve', password='password1')
    root.access.acl.put(path='/nodes', roles='PVEAuditor', users='ops@pve')
    ops = client(sim, 'ops@pve', 'password1')
    assert ops.nodes('pve2').network.get(type='bridge') == []
    assert ops.nodes('pve2').network('vmbr1000').get()['comments'] == 'lab uplink'
    root.access.acl.put(path='/sdn/zones/localnetwork/vmbr1000', roles='PVESDNUser', users='ops@pve')
    assert [i['iface'] for i in ops.nodes('pve2').network.get(type='bridge')] == ['vmbr1000']
    with pytest.raises(ResourceException, match=r'\(/nodes/pve2, Sys.Modify\)'):
        ops.nodes('pve2').network.post(iface='vmbr1005', type='bridge')


def test_bridge_in_use_by_running_vm_is_kept(sim, root):
    root.nodes('pve1').network('vmbr0').delete()
    upid = root.nodes('pve1').network.put()
    status = wait(root, 'pve1', upid)
    log = [line['t'] for line in root.nodes('pve1').tasks(upid).log.get()]
    assert status['exitstatus'] == 'OK'
    assert 'cant remove bridge vmbr0, port tap100i0 is present' in log
    assert sim.state()['networks']['pve1']['running']['vmbr0']['kept'] == 1
