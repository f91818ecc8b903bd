# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure rules of the day-2 playbooks (power, snapshots, reset): no HTTP, no Ansible.

- PVE's snapshot-name rule (`snapshot_name_problem`),
- the stand options `baseline` and `machines[].start_order` (`normalize_baseline`, `normalize_start_order`),
- the start order of a student's machines (`start_waves`),
- which snapshot the stand made (`snapshot_marker`, `is_stand_snapshot`) and what a snapshot tree looks like
  (`snapshot_children`),
- where PVE puts a RAM snapshot's state file and whether it can (`vmstate_storage`, `vmstate_storage_problem`).
Each rule names its Proxmox source; docs/lifecycle.md and docs/stand-model.md describe them for teachers."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# pve-common src/PVE/JSONSchema.pm: the standard option `pve-snapshot-name` (every `snapname` of qemu-server's
# API2/Qemu.pm) is `format => 'pve-configid', maxLength => 40`; pve_verify_configid accepts
# /^[a-z][a-z0-9_-]+$/i. qemu-server API2/Qemu.pm `snapshot` refuses 'current' (and, since 8.x, 'pending')
# as reserved names.
SNAPSHOT_NAME_RE = re.compile(r'^[a-z][a-z0-9_-]+$', re.I)
SNAPSHOT_NAME_MAX = 40
SNAPSHOT_RESERVED = ('current', 'pending')
DEFAULT_SNAPSHOT = 'baseline'

POWER_STATES = ('started', 'stopped', 'shutdown', 'restarted')

# pve-storage: plugins whose alloc_image cannot make a VM state volume (PBSPlugin, ISCSIPlugin,
# ISCSIDirectPlugin: "can't allocate space in ... storage").
NO_VMSTATE_TYPES = ('pbs', 'iscsi', 'iscsidirect')
# storage types with a path (file based): find_vmstate_storage prefers them
_FILE_TYPES = ('dir', 'nfs', 'cifs', 'glusterfs', 'cephfs', 'btrfs')

# The marker in the description of a snapshot the stand took: a snapshot without it (the student's own,
# an administrator's) is never replaced, deleted or rolled back to.
SNAPSHOT_MARKER = 'deploystand-snapshot:{0}'

BASELINE_KEYS = ('snapshot', 'vmstate')


def snapshot_name_problem(name, field='stand_snapshot_name'):
    """Why PVE would refuse `name` as a snapshot name, or None."""
    if not isinstance(name, str) or not name:
        return '{0}: a snapshot name is required (e.g. {1})'.format(field, DEFAULT_SNAPSHOT)
    if len(name) > SNAPSHOT_NAME_MAX:
        return '{0}: {1!r} is longer than {2} characters (PVE: pve-snapshot-name maxLength 40)'.format(
            field, name, SNAPSHOT_NAME_MAX)
    if not SNAPSHOT_NAME_RE.match(name):
        return ('{0}: {1!r} is not a PVE snapshot name (format pve-configid: a letter, then at least one letter, '
                'digit, - or _)'.format(field, name))
    if name.lower() in SNAPSHOT_RESERVED:
        return "{0}: {1!r} is reserved by PVE ('current' is the live state)".format(field, name)
    return None


def power_state_problem(state, field='stand_power'):
    if state not in POWER_STATES:
        return '{0}: {1!r} is not one of {2}'.format(field, state, ', '.join(POWER_STATES))
    return None


def _as_bool(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ('true', 'yes', 'on', '1'):
        return True
    if isinstance(value, str) and value.strip().lower() in ('false', 'no', 'off', '0', ''):
        return False
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    return None


def normalize_baseline(raw, errors, field='stand.baseline'):
    """stand.baseline -> None (no snapshot at deploy) or {'snapshot': name, 'vmstate': bool}.

    `baseline: true` is short for `{snapshot: baseline}`; `false`/absent takes none."""
    if raw is None:
        return None
    flag = _as_bool(raw) if not isinstance(raw, dict) else None
    if flag is not None:
        return {'snapshot': DEFAULT_SNAPSHOT, 'vmstate': False} if flag else None
    if not isinstance(raw, dict):
        errors.append('{0}: expected a mapping {{snapshot: <name>}} or true, got {1!r}'.format(field, raw))
        return None
    for key in sorted(raw):
        if key not in BASELINE_KEYS:
            errors.append('{0}: unknown key {1!r} (allowed: {2})'.format(field, key, ', '.join(BASELINE_KEYS)))
    name = raw.get('snapshot', DEFAULT_SNAPSHOT)
    problem = snapshot_name_problem(name, field + '.snapshot')
    if problem:
        errors.append(problem)
    vmstate = _as_bool(raw.get('vmstate', False))
    if vmstate is None:
        errors.append('{0}.vmstate: expected true or false, got {1!r}'.format(field, raw.get('vmstate')))
    return {'snapshot': name, 'vmstate': bool(vmstate)}


def normalize_start_order(raw, errors, field):
    """machines[].start_order -> int (default 0; lower starts first, stops last)."""
    if raw is None:
        return 0
    if isinstance(raw, bool):
        value = None
    elif isinstance(raw, int):
        value = raw
    elif isinstance(raw, str) and re.match(r'^-?\d+$', raw.strip()):
        value = int(raw.strip())
    else:
        value = None
    if value is None or not -1000 <= value <= 1000:
        errors.append('{0}.start_order: expected an integer from -1000 to 1000, got {1!r}'.format(field, raw))
        return 0
    return value


def start_waves(machines, reverse=False):
    """The machines in groups of equal `start_order`, lowest first (reverse: highest first, for stops).
    The machines of one group go side by side; a group starts once the one before it is done."""
    orders = sorted(set(int(m.get('start_order') or 0) for m in machines), reverse=reverse)
    return [[m for m in machines if int(m.get('start_order') or 0) == order] for order in orders]


def snapshot_marker(stand):
    return SNAPSHOT_MARKER.format(stand)


def is_stand_snapshot(snapshot, stand):
    """The snapshot's description carries the stand's marker as a whole line or token."""
    text = str((snapshot or {}).get('description') or '')
    return snapshot_marker(stand) in text.split()


def stand_snapshot_description(stand, purpose):
    return '{0}\n{1}'.format(purpose, snapshot_marker(stand))


def snapshot_children(snapshots, name):
    """Names of the snapshots whose parent is `name` (the listing of GET .../snapshot, without 'current')."""
    return sorted(s['name'] for s in snapshots or [] if s.get('parent') == name and s.get('name') != 'current')


def real_snapshots(listing):
    """{name: entry} of a snapshot listing without PVE's pseudo-entry 'current'."""
    return dict((s['name'], s) for s in listing or [] if s.get('name') != 'current')


def vmstate_storage(config, storages, disk_storage_ids):
    """Where PVE writes a RAM snapshot's state (qemu-server QemuConfig.pm `__snapshot_save_vmstate` ->
    `find_vmstate_storage`): `vmstatestorage` if set; else a shared storage holding a disk of the VM, else a
    local one (a file-based one preferred within each); else `local`.

    storages: {id: {'type', 'shared', 'active'}} as the node lists them."""
    if config.get('vmstatestorage'):
        return config['vmstatestorage']
    found = {True: None, False: None}
    for sid in sorted(set(disk_storage_ids)):
        store = storages.get(sid) or {}
        shared = bool(int(store.get('shared') or 0))
        if found[shared] is None or store.get('type') in _FILE_TYPES:
            found[shared] = sid
    return found[True] or found[False] or 'local'


def vmstate_storage_problem(sid, storages):
    """Why the RAM state cannot go to storage `sid` (pve-storage: it must exist on the node, be active and
    allocate images), or None."""
    store = storages.get(sid)
    if store is None:
        return "storage '{0}' does not exist on the VM's node".format(sid)
    if not int(store.get('active', 1) or 0):
        return "storage '{0}' is not online".format(sid)
    if store.get('type') in NO_VMSTATE_TYPES:
        return "storage '{0}' ({1}) cannot hold a VM state file".format(sid, store.get('type'))
    return None


# Rows of the plan's privilege preflight (stand.PRIVILEGE_TABLE) for the day-2 playbooks; the needs are made
# by lifecycle_plan. Sources: qemu-server src/PVE/API2/Qemu.pm (snapshot, delsnapshot: VM.Snapshot; rollback:
# VM.Snapshot or VM.Snapshot.Rollback; vm_start/vm_stop/vm_shutdown: VM.PowerMgmt; destroy_vm: VM.Allocate).
LIFECYCLE_PRIVILEGE_ROWS = (
    {'key': 'vm_power_day2', 'privileges': ('VM.PowerMgmt',), 'path': '/vms/<vmid>',
     'when': 'stand_power.yml and stand_reset.yml, every VM of the students in scope',
     'why': 'start, shut down and stop the machines (a reset brings them back to the power state the stand wants)'},
    {'key': 'vm_snapshot', 'privileges': ('VM.Snapshot',), 'path': '/vms/<vmid>; new VMs: /pool/<pool> (or /vms)',
     'when': 'stand_snapshot.yml, every VM of the students in scope; a deploy with stand.baseline, every new VM',
     'why': "take and delete the stand's snapshots"},
    {'key': 'vm_rollback', 'privileges': ('VM.Snapshot', 'VM.Snapshot.Rollback'), 'path': '/vms/<vmid>',
     'when': 'stand_reset.yml, every VM of the students in scope', 'why': 'roll a machine back to the snapshot'},
    {'key': 'vm_reclone', 'privileges': ('VM.Allocate',), 'path': '/vms/<vmid>',
     'when': 'stand_reset.yml, every VM of the students in scope',
     'why': 'a machine without the snapshot is destroyed and cloned again from its template (with VM.Clone, '
            'VM.Config.Network, VM.Config.Options, Datastore.AllocateSpace as for a new VM)'},
    # qemu-server src/PVE/API2/Qemu/Agent.pm: the read commands (network-get-interfaces) need
    # VM.GuestAgent.Audit on PVE 9, VM.Monitor on PVE 8 (which PVE 9 no longer has)
    {'key': 'vm_agent', 'privileges': ('VM.GuestAgent.Audit', 'VM.Monitor'), 'path': '/vms/<vmid>',
     'when': 'stand_status.yml and the inventory plugin, every running VM',
     'why': "ask the guest agent for the VM's addresses (PVE 9: VM.GuestAgent.Audit; PVE 8: VM.Monitor)"},
)

# PVE 9 privileges and the name PVE 8 gave the same grant (pve-access-control src/PVE/AccessControl.pm
# $privgroups; PVE 9 split VM.Monitor into VM.GuestAgent.* and dropped it). pve_automation_identity grants the
# PVE 8 name on a release that lacks the PVE 9 one.
PVE8_PRIVILEGES = {'VM.GuestAgent.Audit': 'VM.Monitor'}
