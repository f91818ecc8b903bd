# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The privileges a run needs, checked against GET /access/permissions before any write, and the
students skipped because their pool belongs to another stand. Pure: standard library only.
"""
from __future__ import absolute_import, division, print_function

from ansible_collections.deploystand.proxmox.plugins.module_utils.argspecs import DEFAULTS
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.formats import _as_int
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.facts import (
    _template_storages, _vm_by_id, _vms,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.names import (
    owns, pool_id, pool_marker,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.lifecycle_input import LIFECYCLE_PRIVILEGE_ROWS

__metaclass__ = type

POOL_AUDIT_ROLE = DEFAULTS['pool_audit_role']   # what pve_stand_student grants besides stand.role (its pool_audit_role)
BRIDGE_ROLE = DEFAULTS['bridge_role']            # and on each private bridge (its bridge_role)
SDN_BRIDGE_PATH = '/sdn/zones/localnetwork/%s'
# The paths GET /access/permissions always computes (pve-access-control RPCEnvironment.pm
# get_effective_permissions): one of them missing from the dump holds no privilege.
PERMISSION_TOP_PATHS = ('/', '/access', '/access/groups', '/nodes', '/pool', '/sdn', '/storage', '/vms')
_NEW_VM_PATH = '/pool/<pool> (or /vms)'

# The one table of what deploy needs, when and why; docs/permissions.md shows it (a unit test keeps the
# two equal). privileges: any one of them is enough.
PRIVILEGE_TABLE = (
    {'key': 'node_audit', 'privileges': ('Sys.Audit',), 'path': '/nodes/<node>',
     'when': 'every node the class is placed on',
     'why': 'node memory for placement and the capacity check; the network step reads the bridges'},
    {'key': 'node_modify', 'privileges': ('Sys.Modify',), 'path': '/nodes/<node>',
     'when': 'a node that gets new private bridges', 'why': 'create the bridges and apply the node network config'},
    {'key': 'bridge_audit', 'privileges': ('SDN.Audit',), 'path': '/sdn/zones/localnetwork/<bridge>',
     'when': 'every private bridge of the class',
     'why': "see the stand's bridges in the node's bridge list (PVE leaves out the others, which would be made twice)"},
    {'key': 'bridge_use', 'privileges': ('SDN.Use',), 'path': '/sdn/zones/localnetwork/<bridge>',
     'when': 'every bridge a new VM is cloned from (the template NICs) or attached to',
     'why': 'PVE checks it at the clone and on every NIC set'},
    {'key': 'template_audit', 'privileges': ('VM.Audit',), 'path': '/vms/<template>',
     'when': 'every template a new VM is cloned from',
     'why': 'see the template (PVE lists only the VMs the caller may audit) and read its disks'},
    {'key': 'template_clone', 'privileges': ('VM.Clone',), 'path': '/vms/<template>',
     'when': 'every template a new VM is cloned from', 'why': 'clone it'},
    {'key': 'vm_allocate', 'privileges': ('VM.Allocate',), 'path': _NEW_VM_PATH,
     'when': 'a student pool that gets new VMs', 'why': 'create the clones in the pool'},
    {'key': 'vm_network', 'privileges': ('VM.Config.Network',), 'path': _NEW_VM_PATH,
     'when': 'a student pool that gets new VMs', 'why': 'set the NICs of the new VMs'},
    {'key': 'vm_options', 'privileges': ('VM.Config.Options',), 'path': _NEW_VM_PATH,
     'when': 'a student pool that gets new VMs', 'why': 'tags (the ownership marker) and description of the new VMs'},
    {'key': 'vm_audit', 'privileges': ('VM.Audit',), 'path': '/vms/<vmid>; new VMs: ' + _NEW_VM_PATH,
     'when': 'every VM of the class', 'why': 'read its config and status'},
    {'key': 'vm_power', 'privileges': ('VM.PowerMgmt',), 'path': '/vms/<vmid>; new VMs: ' + _NEW_VM_PATH,
     'when': '`start: true`, for the new and the stopped VMs', 'why': 'start them'},
    {'key': 'storage_space', 'privileges': ('Datastore.AllocateSpace',), 'path': '/storage/<storage>',
     'when': "every storage new disks go to (the template's disks for a linked clone, `storage` for a full one)",
     'why': 'allocate the disks'},
    {'key': 'storage_audit', 'privileges': ('Datastore.Audit',), 'path': '/storage/<storage>',
     'when': 'every storage new disks go to',
     'why': 'see the storage in the cluster resources (shared or not, content, nodes)'},
    {'key': 'pool_audit', 'privileges': ('Pool.Audit',), 'path': '/pool/<pool>',
     'when': 'every student pool', 'why': 'read the pool, and the pool of each VM (ownership is pool + name + tag)'},
    {'key': 'pool_allocate', 'privileges': ('Pool.Allocate',), 'path': '/pool/<pool>',
     'when': 'a student pool the run creates', 'why': 'create the pool'},
    {'key': 'pool_grant', 'privileges': ('Permissions.Modify',), 'path': '/pool/<pool>',
     'when': "a student pool without the student's grants yet",
     'why': 'grant the student its role (stand.role) and %s on its pool' % POOL_AUDIT_ROLE},
    {'key': 'bridge_grant', 'privileges': ('Permissions.Modify',), 'path': '/sdn/zones/localnetwork/<bridge>',
     'when': "a private bridge without the student's grant yet", 'why': 'grant the student %s on it' % BRIDGE_ROLE},
    {'key': 'grant_read', 'privileges': ('Permissions.Modify', 'Sys.Audit'),
     'path': '/pool/<pool>, /sdn/zones/localnetwork/<bridge>', 'when': 'every student pool and private bridge',
     'why': "read the student's grants back (GET /access/acl shows only the entries on such paths)"},
    {'key': 'user_read', 'privileges': ('User.Modify', 'Sys.Audit'), 'path': '/access/groups',
     'when': 'every run', 'why': 'see the users (the user list and each student user)'},
    {'key': 'user_create', 'privileges': ('Realm.AllocateUser',), 'path': '/access/realm/<realm>',
     'when': 'a student user the run creates', 'why': 'create the user'},
    {'key': 'user_modify', 'privileges': ('User.Modify',), 'path': '/access/groups',
     'when': 'a student user the run creates', 'why': 'create the user (in no group)'},
    # stand.network mode sdn (pve-network API2/Network/SDN.pm, SDN/Zones.pm, SDN/Vnets.pm permissions)
    {'key': 'sdn_audit', 'privileges': ('SDN.Audit', 'SDN.Allocate'), 'path': '/sdn/zones/<zone>',
     'when': 'mode sdn, every run', 'why': "see the zone and the stand's VNets (the listings leave out the others)"},
    {'key': 'sdn_allocate', 'privileges': ('SDN.Allocate',), 'path': '/sdn/zones/<zone>',
     'when': 'mode sdn, a run that creates, changes or deletes VNets', 'why': 'create VNets in the zone; change '
     'and delete them (/sdn/zones/<zone>/<vnet>, inherited)'},
    {'key': 'sdn_apply', 'privileges': ('SDN.Allocate',), 'path': '/sdn',
     'when': 'mode sdn, a run that changes the SDN config', 'why': 'take and release the SDN lock (PVE 9) and '
     'apply the config (PUT /cluster/sdn)'},
    {'key': 'sdn_zone_create', 'privileges': ('SDN.Allocate',), 'path': '/sdn/zones',
     'when': 'mode sdn with create_zone, the first run', 'why': "create the stand's own zone"},
    # stand.ha (pve-ha-manager API2/HA/Resources.pm, Rules.pm, Groups.pm: ['perm', '/', [...]], on / exactly)
    {'key': 'ha_audit', 'privileges': ('Sys.Audit',), 'path': '/',
     'when': 'stand.ha or machines[].ha, every deploy',
     'why': 'read the HA resources and the rules (PVE 9) or groups (PVE 8); the HA role of automation_role.yml'},
    {'key': 'ha_write', 'privileges': ('Sys.Console',), 'path': '/',
     'when': 'stand.ha or machines[].ha, every deploy',
     'why': "create, change and delete the stand's HA resources and their node-affinity rules or groups; the HA "
            "role of automation_role.yml (-e automation_ha=true)"},
) + LIFECYCLE_PRIVILEGE_ROWS
_PRIVILEGE_ROWS = dict((row['key'], row) for row in PRIVILEGE_TABLE)


def privilege_table_markdown():
    """PRIVILEGE_TABLE as the Markdown table docs/permissions.md shows."""
    lines = ['| privilege | path | needed for | why |', '|---|---|---|---|']
    for row in PRIVILEGE_TABLE:
        privileges = ' or '.join('`%s`' % p for p in row['privileges'])
        lines.append('| %s | `%s` | %s | %s |' % (privileges, row['path'], row['when'], row['why']))
    return '\n'.join(lines)


def _ancestors(path):
    """'/pool/a/b' -> ['/pool/a', '/pool', '/'] (nearest first)."""
    parts = [p for p in path.split('/') if p]
    return ['/' + '/'.join(parts[:i]) if i else '/' for i in range(len(parts) - 1, -1, -1)]


def held_privileges(permissions, path):
    """The privileges the caller holds on `path`, from a GET /access/permissions answer ({path: {priv:
    propagate}}). A path the answer lists is exact. Another one holds what the nearest listed ancestor
    propagates (RPCEnvironment/AccessControl.pm roles(): a level whose roles do not propagate passes on
    what is above it); a top-level path the answer leaves out holds nothing, and passes nothing on."""
    if path in permissions:
        return set(permissions[path] or {})
    if path in PERMISSION_TOP_PATHS:
        return set()
    for ancestor in _ancestors(path):
        if ancestor in permissions:
            propagated = set(p for p, flag in (permissions[ancestor] or {}).items() if _as_int(flag) or flag is True)
            if propagated:
                return propagated
        elif ancestor in PERMISSION_TOP_PATHS:
            return set()
    return set()


def _caller_lacks(cluster, privilege, path):
    """The identity when the preflight knows it lacks `privilege` on `path`, else None."""
    permissions = cluster.get('permissions')
    if permissions is None or privilege in held_privileges(permissions, path):
        return None
    return cluster.get('identity') or 'the caller'


def _need(key, paths, shown=None):
    return {'key': key, 'paths': tuple(paths), 'shown': shown or paths[0]}


def _has_grant(cluster, userid, path, roles):
    """The visible ACL entries give the student every one of `roles` on path."""
    held = set(e.get('roleid') for e in cluster.get('acl') or ()
               if e.get('path') == path and e.get('ugid') == userid and e.get('type', 'user') == 'user')
    return cluster.get('acl') is not None and set(roles) <= held


def _student_needs(stand, student, cluster):
    pool = '/pool/%s' % student['pool']
    needs = [_need('pool_audit', [pool]), _need('grant_read', [pool])]
    if not student['pool_exists']:
        needs.append(_need('pool_allocate', [pool]))
    if not _has_grant(cluster, student['userid'], pool, (stand['role'], POOL_AUDIT_ROLE)):
        needs.append(_need('pool_grant', [pool]))
    if not student['user_exists']:
        needs += [_need('user_create', ['/access/realm/%s' % student['realm']]), _need('user_modify', ['/access/groups'])]
    for bridge in student['bridges']:
        path = SDN_BRIDGE_PATH % bridge.get('iface')
        needs += [_need('bridge_audit', [path]), _need('grant_read', [path])]
        if not _has_grant(cluster, student['userid'], path, (BRIDGE_ROLE,)):
            needs.append(_need('bridge_grant', [path]))
    for machine in student['machines']:
        needs += _machine_needs(stand, student, machine, cluster, pool)
    return needs


def _machine_needs(stand, student, machine, cluster, pool):
    if machine['vmid'] is not None:
        vm = _vm_by_id(cluster, machine['vmid']) or {}
        path = '/vms/%s' % machine['vmid']
        needs = [_need('vm_audit', [path])]
        if stand['start'] and vm.get('status') != 'running':
            needs.append(_need('vm_power', [path]))
        return needs
    if machine['template_vmid'] is None:
        return []
    new_vm = [pool, '/vms/%s' % machine['preferred_vmid']]
    keys = ['vm_allocate', 'vm_network', 'vm_options', 'vm_audit'] + (['vm_power'] if stand['start'] else [])
    needs = [_need(key, new_vm) for key in keys]
    template = '/vms/%s' % machine['template_vmid']
    needs += [_need('template_audit', [template]), _need('template_clone', [template])]
    bridges = [n['bridge'] for n in machine['networks'] if n.get('bridge')]
    bridges += _template_bridges(cluster, machine['template_vmid'])
    needs += [_need('bridge_use', [SDN_BRIDGE_PATH % b]) for b in bridges]
    storages = [machine['storage']] if machine['full'] and machine['storage'] else \
        (_template_storages(cluster, machine['template_vmid']) or [])
    for storage in storages:
        needs += [_need('storage_space', ['/storage/%s' % storage]), _need('storage_audit', ['/storage/%s' % storage])]
    return needs


def _template_bridges(cluster, vmid):
    found = cluster.get('template_bridges') or {}
    return list(found.get(vmid, found.get(str(vmid))) or [])


def privilege_needs(stand, planned, node_bridges, cluster):
    """Every (privilege row, paths) this run needs, from the plan: users, pools, grants, bridges, clones."""
    needs = [_need('user_read', ['/access/groups'])]
    for node in sorted(set(s['node'] for s in planned)):
        needs.append(_need('node_audit', ['/nodes/%s' % node]))
    for node in sorted(node_bridges):
        if any(not entry['exists'] for entry in node_bridges[node]):
            needs.append(_need('node_modify', ['/nodes/%s' % node]))
    for student in planned:
        needs += _student_needs(stand, student, cluster)
    return needs


def ha_needs(ha):
    """The HA privileges on / when the plan registers HA resources (ha: the plan's `ha`, None without HA)."""
    if not ha:
        return []
    return [_need('ha_audit', ['/']), _need('ha_write', ['/'])]


def missing_privileges(needs, cluster):
    """The needs the caller's permissions do not cover (none when the caller is root@pam)."""
    permissions = cluster.get('permissions')
    if permissions is None:
        return []
    missing = []
    for need in needs:
        privileges = _PRIVILEGE_ROWS[need['key']]['privileges']
        if not any(set(privileges) & held_privileges(permissions, path) for path in need['paths']):
            missing.append(need)
    return missing


def privilege_errors(missing, cluster):
    """One line per privilege and reason, with every path it is missing on."""
    groups = []
    for need in missing:
        row = _PRIVILEGE_ROWS[need['key']]
        key = (row['privileges'], row['why'])
        for group in groups:
            if group[0] == key:
                break
        else:
            group = (key, [])
            groups.append(group)
        if need['shown'] not in group[1]:
            group[1].append(need['shown'])
    who = cluster.get('identity') or 'the caller'
    return ['permissions: %s lacks %s on %s (%s)' % (who, ' or '.join(privileges), ', '.join(paths), why)
            for (privileges, why), paths in groups]


def unlisted_paths(missing, cluster):
    """Paths of missing needs that the permissions answer does not list (judged by inheritance): the
    module asks PVE for each of them before it refuses, so a refusal never rests on a guess."""
    permissions = cluster.get('permissions') or {}
    return sorted(set(path for need in missing for path in need['paths']
                      if path not in permissions and path not in PERMISSION_TOP_PATHS))


def _foreign_pool_of(stand_name, student, cluster):
    """The pool with this student's pool id when it exists without the student's marker, else None."""
    pool = pool_id(stand_name, student['userid'])
    info = (cluster.get('pools') or {}).get(pool)
    if info is None or owns(info.get('comment'), pool_marker(stand_name, student['userid'])):
        return None
    return {'userid': student['userid'], 'pool': pool, 'comment': info.get('comment') or ''}


def skip_students_with_foreign_pools(stand_name, students, cluster):
    """(students to deploy, skipped): a student whose pool id is taken by a pool the stand did not make
    cannot be deployed (its VMs would go into somebody else's pool), so it gets nothing at all - no
    user, no bridges, no VMs - and the rest of the class converges. skipped: [{userid, pool, comment,
    reason, message}]."""
    kept, skipped = [], []
    for student in students:
        foreign = _foreign_pool_of(stand_name, student, cluster)
        if foreign is None:
            kept.append(student)
            continue
        marker = pool_marker(stand_name, student['userid'])
        foreign['reason'] = ('pool %s exists without the marker %s (comment: %r): not touched; rename or remove '
                             'that pool to deploy this student' % (foreign['pool'], marker, foreign['comment']))
        foreign['message'] = '%s is skipped (no user, bridges or VMs are made for it): %s' % (
            student['userid'], foreign['reason'])
        skipped.append(foreign)
    return kept, skipped


def _skipped_foreign(skipped, cluster):
    """The foreign pools of skipped students and the VMs in them: never touched, reported."""
    out = []
    for entry in skipped:
        out.append('pool %s exists without the stand marker (comment: %r); not touched' % (entry['pool'], entry['comment']))
        out.extend('VM %s (%s) is in pool %s, which the stand did not make; not touched'
                   % (vm['vmid'], vm.get('name'), entry['pool'])
                   for vm in sorted(_vms(cluster), key=lambda v: int(v['vmid'])) if vm.get('pool') == entry['pool'])
    return out
