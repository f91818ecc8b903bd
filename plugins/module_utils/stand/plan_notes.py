# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the plan tells before any write: students that move class, foreign objects summarised, bridges
outside the range. Pure: standard library only.
"""
from __future__ import absolute_import, division, print_function

import re

from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.bridges import (
    _bridge_comments, _vmbr_number,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.checks import (
    IN_VMID_RANGE, _pool_owner,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.facts import _vm_by_id, _vm_tags
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.inputs import _count_of
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.names import (
    MANAGED_TAG, _marker_tokens, parse_marker, stand_tag,
)

__metaclass__ = type


def stand_students_on_cluster(stand_name, cluster):
    """Userids that have a student pool of this stand on the cluster (found by the pool marker)."""
    found = set()
    for pool, info in (cluster.get('pools') or {}).items():
        userid = _pool_owner(stand_name, pool, info)
        if userid:
            found.add(userid)
    return sorted(found)


def class_changes(stand_name, students, cluster):
    """How this class list differs from the stand's students on the cluster:
    {'added': userids in the list without a pool of the stand yet,
     'not_in_list': userids with a pool of the stand that the list leaves out (kept, not destroyed)}."""
    listed = [s['userid'] for s in students]
    on_cluster = stand_students_on_cluster(stand_name, cluster)
    return {'added': [u for u in listed if u not in on_cluster],
            'not_in_list': [u for u in on_cluster if u not in listed]}


def _class_change_warnings(stand_name, changes, cluster):
    """One warning when the stand exists on the cluster with another class; none for a first deploy."""
    if not stand_students_on_cluster(stand_name, cluster) or not (changes['added'] or changes['not_in_list']):
        return []
    parts = []
    if changes['added']:
        parts.append('%d added by this list (%s)' % (len(changes['added']), ', '.join(changes['added'])))
    if changes['not_in_list']:
        parts.append('%d on the cluster but not in this list, kept as they are (destroy_stand.yml with them in '
                     'users removes them): %s' % (len(changes['not_in_list']), ', '.join(changes['not_in_list'])))
    return ['the class differs from the students of stand %s on the cluster: %s'
            % (stand_name, '; '.join(parts))]


_FOREIGN_VM_RE = re.compile(r'^VM (\d+) ')
_FOREIGN_BRIDGE_RE = re.compile(r'^bridge (\S+) on (\S+) ')
SUMMARY_SHOWN_IDS = 10


def _other_stand_of(stand_name, line, cluster):
    """The other deploystand stand a look-alike line is about (its VM's stand tag, its bridge's
    marker), or None when the object belongs to no other stand (an admin's object: shown alone)."""
    found = _FOREIGN_VM_RE.match(line)
    if found:
        vm = _vm_by_id(cluster, int(found.group(1))) or {}
        tags = _vm_tags(vm)
        others = [t[len('stand-'):] for t in tags if t.startswith('stand-') and t != stand_tag(stand_name)]
        return others[0] if MANAGED_TAG in tags and len(others) == 1 else None
    found = _FOREIGN_BRIDGE_RE.match(line)
    if found:
        comments = _bridge_comments(cluster, found.group(2)).get(found.group(1))
        others = set(m['stand'] for m in (parse_marker(t) for t in _marker_tokens(comments))
                     if m and m['alias'] and m['stand'] != stand_name)
        return others.pop() if len(others) == 1 else None
    return None


def summarize_foreign(stand_name, lines, cluster):
    """The look-alike report shown as warnings: an admin's objects one line each, VMs in the VMID range
    in one line, and one line per other stand with counts. The full list stays in plan.foreign."""
    alone, in_range, by_stand = [], [], {}
    for line in lines:
        other = _other_stand_of(stand_name, line, cluster)
        if IN_VMID_RANGE in line:
            in_range.append(_FOREIGN_VM_RE.match(line).group(1))
        elif other:
            kind = 'bridges' if _FOREIGN_BRIDGE_RE.match(line) else 'VMs'
            counts = by_stand.setdefault(other, {})
            counts[kind] = counts.get(kind, 0) + 1
        else:
            alone.append(line)
    out = list(alone)
    if in_range:
        more = ' and %d more' % (len(in_range) - SUMMARY_SHOWN_IDS) if len(in_range) > SUMMARY_SHOWN_IDS else ''
        one = len(in_range) == 1
        out.append('vmid_range holds %s not managed by deploystand (%s%s): new VMs skip %s, and %s not touched'
                   % (_count_of(len(in_range), 'VMs'), ', '.join(in_range[:SUMMARY_SHOWN_IDS]), more,
                      'its id' if one else 'their ids', 'it is' if one else 'they are'))
    for other in sorted(by_stand):
        counts = by_stand[other]
        out.append('stand %s: %s with names or numbers like this stand\'s; they are its own and not touched'
                   % (other, ', '.join(_count_of(counts[k], k) for k in ('VMs', 'bridges') if k in counts)))
    return out


def _bridges_outside_range(stand, node_bridges):
    """One warning naming the stand's existing bridges whose numbers a changed bridge_range leaves out.

    They are kept, not renumbered: moving a bridge re-plugs the students' running VMs (cutting their
    traffic) and changes their grants, while the range only says where new bridges go."""
    lo, hi = stand['bridge_range']
    outside = []
    for node in sorted(node_bridges):
        for entry in node_bridges[node]:
            number = _vmbr_number(entry['iface'])
            if entry['exists'] and (number is None or not lo <= number <= hi):
                outside.append('%s on %s (%s %s)' % (entry['iface'], node, entry['userid'], entry['alias']))
    if not outside:
        return []
    return ['stand.bridge_range [%d, %d]: %s of this stand %s outside it and %s kept as %s (moving a bridge would '
            're-plug the running VMs); only new bridges take numbers in the range. Destroy and deploy the stand '
            'to renumber: %s' % (lo, hi, _count_of(len(outside), 'bridges'), 'is' if len(outside) == 1 else 'are',
                                 'is' if len(outside) == 1 else 'are', 'it is' if len(outside) == 1 else 'they are',
                                 ', '.join(outside))]
