"""A student's ACL entries: which it needs, which the cluster holds or misses, how they are written."""
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand import acls as A

USER = 'student1@pve'


def entry(path, role, ugid=USER, propagate=1, kind='user'):
    return {'path': path, 'roleid': role, 'ugid': ugid, 'propagate': propagate, 'type': kind}


# --- ACL diffing -------------------------------------------------------------------------------

def test_wanted_acls_grant_the_role_on_the_pool_and_sdn_use_on_each_bridge_once():
    wanted = A.wanted_acls(USER, 'netlab-student1', 'PVEVMAdmin', ['vmbr1002', 'vmbr1001', 'vmbr1001'], 'PVESDNUser')
    assert [A.acl_label(w) for w in wanted] == [
        '/pool/netlab-student1 PVEVMAdmin',
        '/sdn/zones/localnetwork/vmbr1001 PVESDNUser',
        '/sdn/zones/localnetwork/vmbr1002 PVESDNUser']
    assert all(w['propagate'] == 1 and w['ugid'] == USER for w in wanted)


def test_missing_acls_are_only_those_the_cluster_does_not_hold():
    wanted = A.wanted_acls(USER, 'p', 'PVEVMAdmin', ['vmbr1001'], 'PVESDNUser')
    acl = [entry('/pool/p', 'PVEVMAdmin')]
    assert [A.acl_label(e) for e in A.missing_acls(acl, wanted)] == ['/sdn/zones/localnetwork/vmbr1001 PVESDNUser']
    acl.append(entry('/sdn/zones/localnetwork/vmbr1001', 'PVESDNUser'))
    assert A.missing_acls(acl, wanted) == []


def test_a_grant_to_another_user_a_group_or_another_role_does_not_count():
    wanted = A.wanted_acls(USER, 'p', 'PVEVMAdmin', [], 'PVESDNUser')
    acl = [entry('/pool/p', 'PVEVMAdmin', ugid='teacher@pve'),
           entry('/pool/p', 'PVEVMAdmin', ugid=USER, kind='group'),
           entry('/pool/p', 'PVEVMUser')]
    assert A.missing_acls(acl, wanted) == wanted


def test_a_non_propagated_copy_is_written_again_with_propagation():
    wanted = A.wanted_acls(USER, 'p', 'PVEVMAdmin', [], 'PVESDNUser')
    assert A.missing_acls([entry('/pool/p', 'PVEVMAdmin', propagate=0)], wanted) == wanted


def test_held_acls_are_what_absent_removes_whatever_the_propagate_flag():
    wanted = A.wanted_acls(USER, 'p', 'PVEVMAdmin', ['vmbr1001'], 'PVESDNUser')
    acl = [entry('/pool/p', 'PVEVMAdmin', propagate=0), entry('/vms/100', 'PVEVMAdmin'),
           entry('/sdn/zones/localnetwork/vmbr0', 'PVESDNUser')]
    assert [A.acl_label(e) for e in A.held_acls(acl, wanted)] == ['/pool/p PVEVMAdmin']


def test_acl_writes_group_roles_per_path_in_one_call():
    entries = [entry('/pool/p', 'PVEVMAdmin'), entry('/pool/p', 'PVEPoolUser'),
               entry('/sdn/zones/localnetwork/vmbr1', 'PVESDNUser')]
    assert A.acl_writes(entries) == [
        {'path': '/pool/p', 'roles': ['PVEVMAdmin', 'PVEPoolUser'], 'users': USER, 'propagate': 1},
        {'path': '/sdn/zones/localnetwork/vmbr1', 'roles': ['PVESDNUser'], 'users': USER, 'propagate': 1}]


def test_acl_view_shows_only_the_users_entries_on_managed_paths():
    acl = [entry('/pool/p', 'PVEVMAdmin'), entry('/', 'PVEAuditor'), entry('/pool/p', 'X', ugid='teacher@pve')]
    assert A.acl_view(acl, USER, {'/pool/p'}) == ['/pool/p PVEVMAdmin']
