# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private bridges: which vmbrN a student's network gets on a node, how nodes share the bridge range,
and how a bridge in the range is classified (ours, another stand's, foreign, invisible).

Pure: standard library only.
"""
from __future__ import absolute_import, division, print_function

from ansible_collections.deploystand.proxmox.plugins.module_utils.errors import StandError
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.facts import _node_bridges, _vms
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.names import (
    ALIAS_RE, VMBR_RE, _marker_tokens, owns, parse_marker, pool_id, vm_name, vm_name_problem,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.privileges import (
    SDN_BRIDGE_PATH, _caller_lacks,
)

__metaclass__ = type


def _vmbr_number(iface):
    match = VMBR_RE.match(iface)
    return int(match.group(1)) if match else None


def bridge_share(node, all_nodes):
    """(index, count): new bridges on `node` take only the numbers N with N % count == index, where
    index is the node's place among ALL the cluster's nodes (online or not) sorted by name.

    A bridge name is one ACL path for every node (/sdn/zones/localnetwork/<name>), so names must be
    unique in the cluster; runs that create bridges on different nodes at the same time (the
    network play, two teachers) can then never pick the same new name, whatever they read."""
    names = sorted(set(all_nodes or ()) | {node})
    return names.index(node), len(names)


def _bridge_sort_key(iface):
    number = _vmbr_number(iface)
    return (number is None, number if number is not None else 0, iface)


def _share_rule(share):
    index, count = share
    if count <= 1:
        return ''
    return ' (new bridges on this node take only the numbers N with N mod %d = %d, so that no other ' \
           'node can make the same name)' % (count, index)


def allocate_bridges(existing, wanted, bridge_range, elsewhere=(), reserved=(), share=(0, 1), preferred=None):
    """Private bridges on one node.

    existing: {iface: comments} of the node; wanted: [(marker, alias)]. An iface whose comments own
    a wanted marker is reused (lowest vmbrN first if several), so alias->bridge is stable whatever
    the class list does; but not when its name is also a bridge on another node (`elsewhere`): the
    student's grant on that name would cover the other bridge too. The others get a new vmbrN with
    N in bridge_range and in the node's `share` (bridge_share): the `preferred` name of the marker
    when it is free, else the lowest free one. A new name is never one that exists on the node or
    elsewhere, nor one of `reserved` (planned for other nodes, or named in an ACL entry).
    Returns ({marker: iface}, [(iface, marker)] to create); raises StandError when the range is
    exhausted."""
    elsewhere = set(elsewhere or ())
    mapping = {}
    missing = []
    for marker, _alias in wanted:
        if marker in mapping or marker in missing:
            continue
        owned = sorted((i for i, c in existing.items() if owns(c, marker) and i not in elsewhere),
                       key=_bridge_sort_key)
        if owned:
            mapping[marker] = owned[0]
        else:
            missing.append(marker)
    lo, hi = bridge_range
    index, count = share
    taken = set(existing) | elsewhere | set(reserved or ())

    def usable(iface):
        number = _vmbr_number(iface)
        return (number is not None and lo <= number <= hi and number % count == index
                and iface not in taken and iface == 'vmbr%d' % number)
    free = [c for c in ('vmbr%d' % n for n in range(lo, hi + 1)) if usable(c)]
    if len(missing) > len(free):
        raise StandError('bridge_range [%d, %d] has %d free vmbrN%s but %d new bridges are needed'
                         % (lo, hi, len(free), _share_rule(share), len(missing)))
    # the proposals first, so that the lowest-free picks of the others cannot take them
    for marker in missing:
        wish = (preferred or {}).get(marker)
        if wish in free:
            mapping[marker] = wish
            free.remove(wish)
    for marker in missing:
        if marker not in mapping:
            mapping[marker] = free.pop(0)
    to_create = [(mapping[marker], marker) for marker in missing]
    return mapping, to_create


def _bridge_comments(cluster, node):
    return {iface: (info or {}).get('comments') or '' for iface, info in _node_bridges(cluster, node).items()}


def _unmarked_bridges(stand, nodes, cluster):
    """Bridges in bridge_range on these nodes without a bridge marker of this stand: never taken,
    changed or removed, only reported."""
    lo, hi = stand['bridge_range']
    out = []
    for node in sorted(nodes):
        for iface, comments in sorted(_bridge_comments(cluster, node).items()):
            number = _vmbr_number(iface)
            if number is None or not lo <= number <= hi:
                continue
            markers = [parse_marker(t) for t in _marker_tokens(comments)]
            if any(m and m['stand'] == stand['name'] and m['alias'] for m in markers):
                continue
            out.append('bridge %s on %s is in bridge_range but has no marker of stand %s (comments: %r); '
                       'not touched' % (iface, node, stand['name'], comments))
    return out


def _same_name_elsewhere(stand, students, cluster):
    """VMs named like a stand VM but outside that student's pool: never reused or removed, only reported."""
    out = []
    for student in students:
        pool = pool_id(stand['name'], student['userid'])
        for machine in stand['machines']:
            if vm_name_problem(student['userid'], machine['name']):
                continue
            name = vm_name(student['userid'], machine['name'])
            for vm in _vms(cluster):
                if vm.get('name') == name and vm.get('pool') != pool and not vm.get('template'):
                    out.append('VM %s (%s) in pool %s has the name of a stand VM but is not in pool %s; not touched'
                               % (vm['vmid'], name, vm.get('pool') or '(none)', pool))
    return out


def _bridge_invisible(cluster, name):
    """Why the caller may not see bridge `name` in the node bridge lists (PVE's Network.pm leaves out
    bridges without SDN.Audit or SDN.Use on /sdn/zones/localnetwork/<bridge>), or None."""
    path = SDN_BRIDGE_PATH % name
    if _caller_lacks(cluster, 'SDN.Audit', path) and _caller_lacks(cluster, 'SDN.Use', path):
        return ('%s lacks SDN.Audit and SDN.Use on %s, so it cannot see bridge %r (PVE lists only the bridges '
                'the caller may audit or use; see docs/permissions.md)' % (cluster.get('identity'), path, name))
    return None


def _classify_bridge(name, nodes, cluster):
    """('real'|'alias', problem-or-None) for a network bridge value on the stand's nodes.

    A name that exists on every node used is a real bridge; on none of them, an alias (vmbrN
    names never are); on only some of them, ambiguous."""
    present = [n for n in nodes if name in _node_bridges(cluster, n)]
    if present and len(present) == len(nodes):
        return 'real', None
    if present:
        absent = [n for n in nodes if n not in present]
        return None, ('%r is a bridge on %s but not on %s, where this stand also runs: ambiguous '
                      '(create it there too, or rename the alias)'
                      % (name, ', '.join(present), ', '.join(absent)))
    elsewhere = [n for n in sorted(cluster.get('bridges') or {}) if name in _node_bridges(cluster, n)]
    if VMBR_RE.match(name) or not ALIAS_RE.match(name):
        if elsewhere:
            return None, ('%r does not exist on %s (only on %s)'
                          % (name, ', '.join(nodes), ', '.join(elsewhere)))
        if VMBR_RE.match(name):
            return None, _bridge_invisible(cluster, name) or '%r looks like a bridge but exists on no node' % name
        return None, ('%r is neither an existing bridge nor a valid alias (a lower-case letter, '
                      'then a-z, 0-9 or _, at most 15 characters)' % name)
    return 'alias', None
