"""ACLs, roles and the permission model (docs/simulator.md "ACLs and roles")."""
import pytest
from proxmoxer.core import ResourceException

from sim_helpers import client, wait


def student(sim, root, name='st1', pool='p-st1'):
    root.pools.post(poolid=pool)
    root.access.users.post(userid=name + '@pve', password='password1')
    root.access.acl.put(path='/pool/' + pool, roles='PVEVMAdmin', users=name + '@pve')
    return client(sim, name + '@pve', 'password1')


def test_acl_store_and_read_back(root):
    root.access.acl.put(path='/pool/lab', roles='PVEVMUser,PVEPoolUser', users='teacher@pve', propagate=0)
    got = [a for a in root.access.acl.get() if a['ugid'] == 'teacher@pve']
    assert sorted((a['path'], a['roleid'], a['type'], a['propagate']) for a in got) == [
        ('/pool/lab', 'PVEPoolUser', 'user', 0), ('/pool/lab', 'PVEVMUser', 'user', 0)]
    root.access.acl.put(path='/pool/lab', roles='PVEVMUser', users='teacher@pve', delete=1)
    assert [a['roleid'] for a in root.access.acl.get() if a['ugid'] == 'teacher@pve'] == ['PVEPoolUser']


@pytest.mark.parametrize('kwargs,message', [
    (dict(path='/vms/100', roles='NoSuchRole', users='teacher@pve'), "role 'NoSuchRole' does not exist"),
    (dict(path='/vms/100', roles='PVEVMUser', users='ghost@pve'), "user 'ghost@pve' does not exist"),
    (dict(path='/nonsense/x', roles='PVEVMUser', users='teacher@pve'), "invalid ACL path"),
])
def test_acl_errors_as_pve(root, kwargs, message):
    with pytest.raises(ResourceException, match=message):
        root.access.acl.put(**kwargs)


def test_builtin_and_custom_roles(root):
    roles = {r['roleid']: r['privs'] for r in root.access.roles.get()}
    assert 'VM.Monitor' not in roles['PVEVMAdmin'] and 'VM.Clone' in roles['PVEVMAdmin']
    assert roles['PVESDNUser'] == 'SDN.Audit,SDN.Use'
    root.access.roles.post(roleid='LabNet', privs='SDN.Use,Sys.Audit')
    assert root.access.roles('LabNet').get() == {'SDN.Use': 1, 'Sys.Audit': 1}
    with pytest.raises(ResourceException, match="invalid privilege 'VM.Monitor'"):
        root.access.roles('LabNet').put(privs='VM.Monitor')
    root.access.roles('LabNet').delete()
    with pytest.raises(ResourceException, match="role 'LabNet' does not exist"):
        root.access.roles('LabNet').get()


def test_student_sees_only_its_pool_and_cannot_power_others(sim, root):
    st = student(sim, root)
    wait(root, 'pve1', root.nodes('pve1').qemu(9001).clone.post(newid=200, name='mine', pool='p-st1'))
    vms = [r['vmid'] for r in st.cluster.resources.get(type='vm')]
    assert vms == [200]
    assert [v['vmid'] for v in st.nodes('pve1').qemu.get()] == [200]
    with pytest.raises(ResourceException, match=r'403.*\(/vms/100, VM.PowerMgmt\)'):
        st.nodes('pve1').qemu(100).status.stop.post()
    wait(st, 'pve1', st.nodes('pve1').qemu(200).status.start.post())


def test_acl_propagation_and_noaccess(sim, root):
    root.access.users.post(userid='aud@pve', password='password1')
    root.access.acl.put(path='/vms', roles='PVEAuditor', users='aud@pve', propagate=0)
    aud = client(sim, 'aud@pve', 'password1')
    assert aud.cluster.resources.get(type='vm') == []
    root.access.acl.put(path='/vms', roles='PVEAuditor', users='aud@pve', propagate=1)
    assert 100 in [r['vmid'] for r in aud.cluster.resources.get(type='vm')]
    root.access.acl.put(path='/vms/100', roles='NoAccess', users='aud@pve')
    assert 100 not in [r['vmid'] for r in aud.cluster.resources.get(type='vm')]


def test_privsep_token_gets_the_intersection(sim, root):
    root.access.acl.put(path='/', roles='PVEAuditor', users='teacher@pve')
    secret = sim.add_token('teacher@pve', 'ro', privsep=True)
    tok = client(sim, 'teacher@pve', token='ro', secret=secret)
    assert tok.cluster.resources.get(type='vm') == []
    root.access.acl.put(path='/vms/100', roles='PVEVMAdmin', tokens='teacher@pve!ro')
    # The token holds VM.PowerMgmt, the user does not: the intersection has only VM.Audit.
    assert [r['vmid'] for r in tok.cluster.resources.get(type='vm')] == [100]
    with pytest.raises(ResourceException, match='VM.PowerMgmt'):
        tok.nodes('pve1').qemu(100).status.stop.post()


def test_pool_delete_and_vm_destroy_drop_their_acls(sim, root):
    student(sim, root)
    wait(root, 'pve1', root.nodes('pve1').qemu(9001).clone.post(newid=201, pool='p-st1'))
    root.access.acl.put(path='/vms/201', roles='PVEVMUser', users='teacher@pve')
    wait(root, 'pve1', root.nodes('pve1').qemu(201).delete())
    root.pools('p-st1').delete()
    paths = {a['path'] for a in sim.state()['acl']}
    assert '/vms/201' not in paths and '/pool/p-st1' not in paths


def test_pool_names_must_start_with_a_letter(root):
    with pytest.raises(ResourceException, match='pool name must start with a letter'):
        root.pools.post(poolid='2024-group')


def test_storages_in_cluster_resources_need_datastore_audit_and_carry_pve_fields(sim, root):
    # pve-manager API2/Cluster.pm resources + API2Tools.pm extract_storage_stats
    root.access.users.post(userid='aud@pve', password='password1')
    root.access.acl.put(path='/storage/shared-nfs', roles='PVEDatastoreUser', users='aud@pve')
    seen = client(sim, 'aud@pve', 'password1').cluster.resources.get(type='storage')
    assert sorted(set(s['storage'] for s in seen)) == ['shared-nfs']
    entry = [s for s in root.cluster.resources.get(type='storage') if s['storage'] == 'local-lvm'][0]
    assert {k: entry[k] for k in ('type', 'plugintype', 'content', 'shared', 'status')} == {
        'type': 'storage', 'plugintype': 'lvmthin', 'content': 'images,rootdir', 'shared': 0, 'status': 'available'}


def test_permissions_dump_carries_propagate_flags_and_pve_paths(sim, root):
    # pve-access-control API2/AccessControl.pm permissions, RPCEnvironment.pm get_effective_permissions
    root.access.users.post(userid='auto@pve', password='password1')
    root.access.acl.put(path='/pool', roles='PVEPoolAdmin', users='auto@pve')                 # propagated
    root.access.acl.put(path='/nodes/pve1', roles='PVEAuditor', users='auto@pve', propagate=0)
    root.pools.post(poolid='lab')
    root.access.acl.put(path='/pool/lab', roles='PVEVMUser', users='auto@pve', propagate=0)
    wait(root, 'pve1', root.nodes('pve1').qemu(9001).clone.post(newid=300, name='member', pool='lab'))
    auto = client(sim, 'auto@pve', 'password1')
    dump = auto.access.permissions.get()
    assert dump['/pool'] == {'Pool.Allocate': 1, 'Pool.Audit': 1}
    assert dump['/nodes/pve1']['Sys.Audit'] == 0
    # the pool's own ACL replaces what /pool propagates; its member gets the pool's roles, never propagated
    assert dump['/pool/lab']['VM.Audit'] == 0 and 'Pool.Allocate' not in dump['/pool/lab']
    assert dump['/vms/300']['VM.PowerMgmt'] == 0
    # only top-level paths, ACL paths and pool members: not every VM, node or storage
    assert '/vms/9001' not in dump and '/nodes/pve2' not in dump and '/storage/local-lvm' not in dump
    assert '/' not in dump                                                  # no privilege there
    # one path: that path, with what it inherits, even when it holds nothing
    assert auto.access.permissions.get(path='/pool/new-one') == {'/pool/new-one': {'Pool.Allocate': 1, 'Pool.Audit': 1}}
    assert auto.access.permissions.get(path='/vms/9001') == {'/vms/9001': {}}
    with pytest.raises(ResourceException, match='Sys.Audit'):
        auto.access.permissions.get(userid='root@pam')
    assert root.access.permissions.get(userid='auto@pve', path='/pool')['/pool'] == {'Pool.Allocate': 1, 'Pool.Audit': 1}


def test_permissions_of_a_privsep_token_are_the_intersection_with_both_flags(sim, root):
    root.access.users.post(userid='auto@pve', password='password1')
    secret = root.access.users('auto@pve').token('tok').post()['value']
    root.access.acl.put(path='/pool', roles='PVEPoolAdmin', users='auto@pve')
    root.access.acl.put(path='/pool', roles='PVEPoolUser', tokens='auto@pve!tok', propagate=0)
    token = client(sim, 'auto@pve', token='tok', secret=secret)
    assert token.access.permissions.get()['/pool'] == {'Pool.Audit': 0}
