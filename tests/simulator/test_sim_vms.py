"""VM behaviour the modules depend on (docs/simulator.md "VMs", "SDN.Use", "Storage lock")."""
import re

import pytest
from proxmoxer.core import ResourceException

from sim_helpers import client, wait

MAC = re.compile(r'^virtio=([0-9A-F:]{17}),bridge=(\S+)$')


def sdn_student(sim, root):
    root.pools.post(poolid='p-st1')
    root.access.users.post(userid='st1@pve', password='password1')
    root.access.acl.put(path='/pool/p-st1', roles='PVEVMAdmin', users='st1@pve')
    root.access.acl.put(path='/vms/9001', roles='PVETemplateUser', users='st1@pve')
    root.access.acl.put(path='/storage/local-lvm', roles='PVEDatastoreUser', users='st1@pve')
    return client(sim, 'st1@pve', 'password1')


def test_clone_needs_sdn_use_on_the_source_bridges(sim, root):
    st = sdn_student(sim, root)
    with pytest.raises(ResourceException, match=r'Permission check failed \(/sdn/zones/localnetwork/vmbr0, SDN.Use\)'):
        st.nodes('pve1').qemu(9001).clone.post(newid=300, pool='p-st1')
    root.access.acl.put(path='/sdn/zones/localnetwork/vmbr0', roles='PVESDNUser', users='st1@pve')
    assert wait(st, 'pve1', st.nodes('pve1').qemu(9001).clone.post(newid=300, pool='p-st1'))['exitstatus'] == 'OK'


def test_nic_change_needs_sdn_use_on_old_and_new_bridge(sim, root):
    st = sdn_student(sim, root)
    root.access.acl.put(path='/sdn/zones/localnetwork/vmbr0', roles='PVESDNUser', users='st1@pve')
    wait(st, 'pve1', st.nodes('pve1').qemu(9001).clone.post(newid=301, pool='p-st1'))
    with pytest.raises(ResourceException, match=r'\(/sdn/zones/localnetwork/vmbr1001, SDN.Use\)'):
        st.nodes('pve1').qemu(301).config.put(net0='virtio,bridge=vmbr1001')
    root.access.acl.put(path='/sdn/zones/localnetwork/vmbr1001', roles='PVESDNUser', users='st1@pve')
    st.nodes('pve1').qemu(301).config.put(net0='virtio,bridge=vmbr1001')
    root.access.acl.put(path='/sdn/zones/localnetwork/vmbr0', roles='PVESDNUser', users='st1@pve', delete=1)
    with pytest.raises(ResourceException, match=r'\(/sdn/zones/localnetwork/vmbr0, SDN.Use\)'):
        st.nodes('pve1').qemu(301).config.put(net1='virtio,bridge=vmbr1001', net0='virtio,bridge=vmbr0')


def test_config_update_without_mac_gets_a_new_mac(root):
    wait(root, 'pve1', root.nodes('pve1').qemu(9001).clone.post(newid=302))
    before = MAC.match(root.nodes('pve1').qemu(302).config.get()['net0']).group(1)
    root.nodes('pve1').qemu(302).config.put(net0='virtio,bridge=vmbr0')
    after = MAC.match(root.nodes('pve1').qemu(302).config.get()['net0']).group(1)
    assert after != before
    root.nodes('pve1').qemu(302).config.put(net0='virtio={0},bridge=vmbr0'.format(after))
    assert MAC.match(root.nodes('pve1').qemu(302).config.get()['net0']).group(1) == after


def test_tags_are_normalised_on_update(root):
    wait(root, 'pve1', root.nodes('pve1').qemu(9001).clone.post(newid=303))
    root.nodes('pve1').qemu(303).config.put(tags='Zeta,alpha;ALPHA beta')
    assert root.nodes('pve1').qemu(303).config.get()['tags'] == 'alpha;beta;zeta'


def test_start_fails_when_the_bridge_is_missing(root):
    wait(root, 'pve1', root.nodes('pve1').qemu(9001).clone.post(newid=304))
    root.nodes('pve1').qemu(304).config.put(net0='virtio,bridge=vmbr1001')
    assert wait(root, 'pve1', root.nodes('pve1').qemu(304).status.start.post())['exitstatus'] == \
        "bridge 'vmbr1001' does not exist"
    root.nodes('pve1').network.post(iface='vmbr1001', type='bridge')
    # Pending only: still not in the kernel.
    assert wait(root, 'pve1', root.nodes('pve1').qemu(304).status.start.post())['exitstatus'] != 'OK'
    wait(root, 'pve1', root.nodes('pve1').network.put())
    assert wait(root, 'pve1', root.nodes('pve1').qemu(304).status.start.post())['exitstatus'] == 'OK'


def test_nextid_reserves_nothing(root):
    assert root.cluster.nextid.get() == root.cluster.nextid.get()


def test_linked_clone_of_local_template_cannot_go_to_another_node(root):
    with pytest.raises(ResourceException):
        root.nodes('pve1').qemu(9001).clone.post(newid=305, target='pve2', storage='local-lvm', full=1)
