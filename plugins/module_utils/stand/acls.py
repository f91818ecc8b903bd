# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A student's ACL entries: which it needs, which the cluster holds or misses, how they are written.

Pure (no HTTP): used by ops/user_pool.py on GET /access/acl answers. An entry is a dict
{path, ugid, roleid, propagate} as PVE lists it (plus `type`, user or group).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

BRIDGE_ACL_PATH = '/sdn/zones/localnetwork/{0}'


def pool_acl_path(pool):
    return '/pool/{0}'.format(pool)


def bridge_acl_path(iface, zone=None):
    """/sdn/zones/localnetwork/<bridge>, or /sdn/zones/<zone>/<vnet> for a stand's VNet (stand.network sdn)."""
    if zone:
        return '/sdn/zones/{0}/{1}'.format(zone, iface)
    return BRIDGE_ACL_PATH.format(iface)


def wanted_acls(userid, pool, role, bridges, bridge_role, pool_audit_role=None, zone=None):
    """The ACL entries the student needs: `role` (and `pool_audit_role`, which lets it see the pool
    itself) on its pool, `bridge_role` on each own bridge.

    Entries are dicts {path, ugid, roleid, propagate}; propagate is on so VLAN child paths of a
    bridge (…/<bridge>/<tag>) are covered too."""
    out = [{'path': pool_acl_path(pool), 'ugid': userid, 'roleid': r, 'propagate': 1}
           for r in (role, pool_audit_role) if r]
    for iface in sorted(set(bridges or ())):
        out.append({'path': bridge_acl_path(iface, zone), 'ugid': userid, 'roleid': bridge_role, 'propagate': 1})
    return out


def _is_user_entry(entry, userid):
    return entry.get('type', 'user') == 'user' and entry.get('ugid') == userid


def _same_grant(entry, wanted):
    return entry.get('path') == wanted['path'] and entry.get('roleid') == wanted['roleid']


def missing_acls(acl, wanted):
    """The wanted entries GET /access/acl does not hold yet (a non-propagated copy counts as missing:
    writing it again turns propagation on)."""
    out = []
    for want in wanted:
        held = [e for e in acl or () if _is_user_entry(e, want['ugid']) and _same_grant(e, want)]
        if not any(int(e.get('propagate', 1)) == int(want['propagate']) for e in held):
            out.append(want)
    return out


def held_acls(acl, wanted):
    """The wanted entries that exist (whatever their propagate flag): what `absent` removes."""
    out = []
    for want in wanted:
        if any(_is_user_entry(e, want['ugid']) and _same_grant(e, want) for e in acl or ()):
            out.append(want)
    return out


def acl_writes(entries):
    """PUT /access/acl calls for entries: one per (path, propagate), roles joined, in path order."""
    groups = {}
    for entry in entries:
        key = (entry['path'], int(entry['propagate']), entry['ugid'])
        groups.setdefault(key, [])
        if entry['roleid'] not in groups[key]:
            groups[key].append(entry['roleid'])
    return [{'path': path, 'roles': roles, 'users': ugid, 'propagate': propagate}
            for (path, propagate, ugid), roles in sorted(groups.items())]


def acl_label(entry):
    """'/pool/netlab-student1 PVEVMAdmin' — how ACL entries appear in results and diffs."""
    return '{0} {1}'.format(entry['path'], entry['roleid'])


def acl_view(acl, userid, paths):
    """Sorted labels of the user's entries on the given paths (the diff's view of its ACLs)."""
    return sorted(set(acl_label(e) for e in acl or ()
                      if _is_user_entry(e, userid) and e.get('path') in paths))


def outside_entries(acl, userid, wanted):
    """The user's ACL entries that are not the stand's own grants (wanted): labels, sorted."""
    own = set((w['path'], w['roleid']) for w in wanted)
    return sorted(set(acl_label(e) for e in acl or ()
                      if _is_user_entry(e, userid) and (e.get('path'), e.get('roleid')) not in own))
