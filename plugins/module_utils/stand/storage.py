# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which storages can hold the disks of a full clone (formats per storage type). Pure: standard
library only.
"""
from __future__ import absolute_import, division, print_function

import difflib

from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.checks import _invisible
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.inputs import _unique

__metaclass__ = type

# Disk formats each storage type can hold (pve-storage src/PVE/Storage/*Plugin.pm plugindata `format`; a
# type without one holds raw only, Plugin.pm get_formats). lvm holds qcow2 only with the storage option
# snapshot-as-volume-chain, which /cluster/resources does not show: lvm is not judged for qcow2.
STORAGE_FORMATS = {
    'dir': ('raw', 'qcow2', 'vmdk'), 'nfs': ('raw', 'qcow2', 'vmdk'), 'cifs': ('raw', 'qcow2', 'vmdk'),
    'btrfs': ('raw',), 'zfspool': ('raw',), 'lvm': ('raw', 'qcow2'), 'lvmthin': ('raw',), 'rbd': ('raw',),
    'iscsi': ('raw',), 'iscsidirect': ('raw',), 'zfs': ('raw',),
}


def _storage_on(cluster, node, storage):
    """The storage's facts on a node (None: not enabled there, or not visible to the caller)."""
    return ((cluster.get('storages') or {}).get(node) or {}).get(storage)


def _storage_nodes(cluster, storage):
    return sorted(n for n, stores in (cluster.get('storages') or {}).items() if storage in (stores or {}))


def _storage_problem(cluster, storage, fmt, source, target):
    """Why a full clone to `storage` from a template on `source` (to `target`, or None for the same
    node) would fail or silently differ, as PVE's clone checks it (qemu-server API2/Qemu.pm clone_vm):
    the storage must be enabled on the source node and take VM images; with a target, be enabled
    there too and be shared. A format the storage type cannot hold falls back to raw there without
    an error (pve-storage resolve_format_hint), so it is refused here."""
    enabled = _storage_nodes(cluster, storage)
    if not enabled:
        known = sorted(set(s for stores in (cluster.get('storages') or {}).values() for s in (stores or {})))
        close = difflib.get_close_matches(storage, known, n=1, cutoff=0.6)
        hint = " (did you mean '%s'?)" % close[0] if close else ' (storages: %s)' % ', '.join(known)
        invisible = _invisible(cluster, 'Datastore.Audit', '/storage/%s' % storage, 'storage %r' % storage,
                               'storages')
        if invisible:
            return invisible
        return 'storage %r does not exist%s' % (storage, hint)
    problems = []
    for node in [source] + ([target] if target else []):
        if _storage_on(cluster, node, storage) is None:
            problems.append('storage %r is not available on node %s (it is enabled on %s)'
                            % (storage, node, ', '.join(enabled)))
    info = _storage_on(cluster, source, storage) or _storage_on(cluster, enabled[0], storage)
    content = info.get('content')
    if content is not None and 'images' not in content:
        problems.append("storage %r does not take VM disks (content: %s; PVE needs 'images')"
                        % (storage, ','.join(content) or 'none'))
    if target and not info.get('shared'):
        problems.append('storage %r is not shared, so a clone from node %s cannot put disks there for node %s'
                        % (storage, source, target))
    kind = info.get('plugintype')
    if fmt and kind in STORAGE_FORMATS and fmt not in STORAGE_FORMATS[kind]:
        problems.append('format %r: storage %r (%s) holds %s only; PVE would silently make %s disks'
                        % (fmt, storage, kind, ', '.join(STORAGE_FORMATS[kind]), STORAGE_FORMATS[kind][0]))
    return '; '.join(problems) or None


def full_clone_storage_problems(stand, planned, cluster):
    """Every full-clone storage problem of the planned machines, once per machine and problem (the
    nodes named), so a class of 30 on one node gives one line."""
    index = dict((m['name'], i) for i, m in enumerate(stand['machines']))
    found = []
    for student in planned:
        for machine in student['machines']:
            if not machine['full'] or not machine['storage'] or machine['vmid'] is not None:
                continue
            problem = _storage_problem(cluster, machine['storage'], machine['format'],
                                       machine['template_node'] or student['node'], machine['target'])
            if problem:
                i = index[machine['machine']]
                field = 'stand.machines[%d].storage' % i if stand['machines'][i].get('storage') else 'stand.storage'
                found.append('%s (machine %s, full clone): %s' % (field, machine['machine'], problem))
    return _unique(found)
