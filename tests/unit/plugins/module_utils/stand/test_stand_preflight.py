"""The privilege preflight of the plan (issue 13 item 12): what this run needs, from the plan, against
the caller's GET /access/permissions answer; one line per missing privilege with every path."""
import os
import re

from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.inputs import (
    normalize_stand, normalize_users,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.plan import (
    _derive_plan, build_plan, privilege_paths_to_verify,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.privileges import (
    PRIVILEGE_TABLE, held_privileges, privilege_table_markdown,
)

from test_stand_support import linux_stand, make_cluster, make_stand, vm

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), *['..'] * 5))
ALL = ('Sys.Audit', 'Sys.Modify', 'SDN.Audit', 'SDN.Use', 'VM.Audit', 'VM.Clone', 'VM.Allocate', 'VM.Config.Network',
       'VM.Config.Options', 'VM.PowerMgmt', 'Datastore.AllocateSpace', 'Datastore.Audit', 'Pool.Allocate',
       'Pool.Audit', 'Realm.AllocateUser', 'User.Modify', 'Permissions.Modify')
PATHS = ('/nodes', '/vms', '/storage', '/pool', '/sdn/zones/localnetwork', '/access/realm/pve', '/access/groups')


def granted(privileges=ALL, paths=PATHS, propagate=1):
    """A permissions dump of a caller holding `privileges` on `paths` (propagated)."""
    return dict((path, dict.fromkeys(privileges, propagate)) for path in paths)


def with_permissions(cluster, permissions, acl=()):
    cluster.update(identity='auto@pve!ansible', permissions=permissions, acl=list(acl))
    return cluster


def errors_of(stand, users, cluster):
    _plan, errors = build_plan(stand, users, cluster)
    return errors


# ---------------------------------------------------------------------------- reading the answer

def test_a_listed_path_is_exact_and_a_child_holds_what_the_nearest_listed_ancestor_propagates():
    dump = {'/pool': {'Pool.Allocate': 1, 'Pool.Audit': 0}, '/pool/lab': {'VM.Audit': 0}}
    assert held_privileges(dump, '/pool/lab') == {'VM.Audit'}
    assert held_privileges(dump, '/pool/new') == {'Pool.Allocate'}
    # a level whose roles do not propagate passes on what is above it
    dump = {'/pool': {'Pool.Allocate': 1}, '/pool/a': {'Pool.Audit': 0}}
    assert held_privileges(dump, '/pool/a/b') == {'Pool.Allocate'}


def test_a_top_level_path_missing_from_the_answer_holds_nothing_and_passes_nothing_on():
    dump = {'/': {'Sys.Audit': 1}}
    assert held_privileges(dump, '/vms') == set()
    assert held_privileges(dump, '/vms/100') == set()
    assert held_privileges({'/': {'Sys.Audit': 1}, '/vms': {'VM.Audit': 1}}, '/vms/100') == {'VM.Audit'}


# ------------------------------------------------------------------------------- what is needed

def test_root_at_pam_is_not_checked():
    cluster = make_cluster()
    cluster.update(identity='root@pam', permissions=None)
    assert errors_of(make_stand(), ['s1@pve'], cluster) == []


def test_the_full_least_privilege_grant_passes_a_first_deploy():
    assert errors_of(make_stand(), ['s1@pve', 's2@pve'], with_permissions(make_cluster(), granted())) == []


def test_one_line_per_missing_privilege_with_every_path():
    errors = errors_of(make_stand(), ['s1@pve', 's2@pve'],
                       with_permissions(make_cluster(), granted([p for p in ALL if p != 'Pool.Allocate'])))
    assert errors == ['permissions: auto@pve!ansible lacks Pool.Allocate on /pool/netlab-s1, /pool/netlab-s2 '
                      '(create the pool)']


def test_new_vms_may_be_allowed_on_the_pool_or_on_vms():
    only_vms = granted([p for p in ALL if p != 'VM.Allocate'])
    only_vms['/vms']['VM.Allocate'] = 1
    assert errors_of(make_stand(), ['s1@pve'], with_permissions(make_cluster(), only_vms)) == []


def rerun_cluster():
    """s1's stand exists: user, pool and grants, bridge, both VMs running."""
    tags = ['deploystand', 'stand-netlab']
    cluster = make_cluster(
        vms=[vm(10000, 's1-router', 'pve1', pool='netlab-s1', tags=tags, status='running'),
             vm(10001, 's1-host1', 'pve1', pool='netlab-s1', tags=tags, status='running')],
        users={'s1@pve': {'comment': 'deploystand:netlab'}},
        pools={'netlab-s1': {'comment': 'deploystand:netlab:s1@pve'}},
        bridges={'pve1': {'vmbr0': {'comments': '', 'active': True},
                          'vmbr1000': {'comments': 'deploystand:netlab:s1@pve:lan', 'active': True}},
                 'pve2': {'vmbr0': {'comments': '', 'active': True}}})
    acl = [{'path': '/pool/netlab-s1', 'type': 'user', 'ugid': 's1@pve', 'roleid': r} for r in ('PVEVMAdmin', 'PVEPoolUser')]
    acl.append({'path': '/sdn/zones/localnetwork/vmbr1000', 'type': 'user', 'ugid': 's1@pve', 'roleid': 'PVESDNUser'})
    return cluster, acl


def needed_keys(stand, users, cluster):
    missing = []
    stand_n = normalize_stand(stand)[0]
    students = normalize_users(users)[0]
    _derive_plan(stand_n, students, with_permissions(cluster, {}, cluster.get('acl') or ()), missing)
    return sorted(set(m['key'] for m in missing))


def test_a_rerun_of_a_complete_stand_needs_only_the_reads():
    cluster, acl = rerun_cluster()
    cluster['acl'] = acl
    assert needed_keys(make_stand(), ['s1@pve'], cluster) == sorted(
        ['user_read', 'node_audit', 'pool_audit', 'grant_read', 'bridge_audit', 'vm_audit'])


def test_a_rerun_without_the_grants_visible_needs_permissions_modify():
    cluster, _acl = rerun_cluster()
    assert {'pool_grant', 'bridge_grant'} <= set(needed_keys(make_stand(), ['s1@pve'], cluster))


def test_start_false_needs_no_power_and_a_new_student_needs_the_writes_for_itself_only():
    assert 'vm_power' not in needed_keys(make_stand(start=False), ['s1@pve'], make_cluster())
    cluster, acl = rerun_cluster()
    cluster['acl'] = acl
    errors = errors_of(make_stand(), ['s1@pve', 's2@pve'], with_permissions(
        cluster, granted([p for p in ALL if p not in ('Pool.Allocate', 'Sys.Modify')]), acl))
    assert errors == ['permissions: auto@pve!ansible lacks Sys.Modify on /nodes/pve2 (create the bridges and apply '
                      'the node network config)',
                      'permissions: auto@pve!ansible lacks Pool.Allocate on /pool/netlab-s2 (create the pool)']


def test_a_full_clone_needs_space_on_its_storage_and_a_clone_the_bridges_of_its_template():
    cluster = make_cluster()
    cluster['template_bridges'] = {9001: ['vmbr7']}
    missing = []
    stand = normalize_stand(linux_stand(clone='full', storage='nfs', node='pve1'))[0]
    _derive_plan(stand, normalize_users(['s1@pve'])[0], with_permissions(cluster, {}), missing)
    paths = dict(((m['key'], m['paths'][0]) for m in missing))
    assert ('storage_space', '/storage/nfs') in paths.items()
    assert sorted(p for k, p in ((m['key'], m['paths'][0]) for m in missing) if k == 'bridge_use') == [
        '/sdn/zones/localnetwork/vmbr1000', '/sdn/zones/localnetwork/vmbr7']


def ha_stand():
    raw = linux_stand(clone='full', storage='nfs', node='pve1')
    raw['ha'] = True
    return raw


def test_stand_ha_needs_sys_audit_and_sys_console_on_root_and_says_so():
    errors = errors_of(ha_stand(), ['s1@pve'], with_permissions(make_cluster(), granted()))
    assert [e for e in errors if ' on / ' in e] == errors, errors
    assert errors[0].startswith('permissions: auto@pve!ansible lacks Sys.Audit on / (read the HA resources')
    assert errors[1].startswith('permissions: auto@pve!ansible lacks Sys.Console on / (create, change and delete')


def test_stand_ha_passes_with_the_ha_role_on_root_alone_and_without_ha_nothing_on_root_is_needed():
    permissions = granted()
    permissions['/'] = {'Sys.Audit': 0, 'Sys.Console': 0}      # not propagated, as automation_role.yml grants it
    assert errors_of(ha_stand(), ['s1@pve'], with_permissions(make_cluster(), permissions)) == []
    plain = linux_stand(clone='full', storage='nfs', node='pve1')
    assert errors_of(plain, ['s1@pve'], with_permissions(make_cluster(), granted())) == []


def test_templates_and_storages_the_caller_cannot_see_are_named_by_the_privilege():
    cluster = make_cluster()
    del cluster['vms'][9001]                                   # invisible without VM.Audit
    errors = errors_of(make_stand(), ['s1@pve'], with_permissions(cluster, granted([p for p in ALL if p != 'VM.Audit'])))
    assert errors == ["stand.machines[1].template: auto@pve!ansible lacks VM.Audit on /vms, so it cannot see template "
                      "'alpine-tpl' (PVE lists only the VMs the caller may audit; see docs/permissions.md)"]
    permissions = granted([p for p in ALL if p != 'Datastore.Audit'])
    errors = errors_of(linux_stand(clone='full', storage='fast', node='pve1'), ['s1@pve'],
                       with_permissions(make_cluster(), permissions))
    assert "auto@pve!ansible lacks Datastore.Audit on /storage/fast, so it cannot see storage 'fast'" in errors[0]


def test_paths_judged_by_inheritance_are_handed_back_for_an_exact_read():
    cluster = with_permissions(make_cluster(), {'/pool': {'Pool.Audit': 1}})
    paths = privilege_paths_to_verify(make_stand(), ['s1@pve'], cluster)
    assert '/pool/netlab-s1' in paths and '/pool' not in paths and '/vms' not in paths
    assert privilege_paths_to_verify(make_stand(), ['s1@pve'], dict(cluster, permissions=None)) == []


# --------------------------------------------------------------------------------------- the docs

def test_docs_permissions_md_shows_exactly_the_preflight_table():
    text = open(os.path.join(ROOT, 'docs', 'permissions.md')).read()
    found = re.search(r'<!-- preflight table: generated from stand\.PRIVILEGE_TABLE -->\n(.*?)\n<!-- end -->', text, re.S)
    assert found, 'docs/permissions.md has no preflight table block'
    assert found.group(1).strip() == privilege_table_markdown()


def test_the_table_covers_the_least_privilege_role_exactly():
    import yaml
    play_vars = yaml.safe_load(open(os.path.join(ROOT, 'playbooks', 'automation_role.yml')))[0]['vars']
    # the HA role (on / alone) holds the stand.ha rows' privileges
    role = play_vars['automation_role_privs'] + play_vars['automation_ha_role_privs']
    in_table = set(p for row in PRIVILEGE_TABLE for p in row['privileges'])
    # VM.Monitor is PVE 8's name of VM.GuestAgent.Audit: pve_automation_identity grants it there instead
    from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.lifecycle_input import PVE8_PRIVILEGES
    assert set(role) == in_table - set(PVE8_PRIVILEGES.values())
