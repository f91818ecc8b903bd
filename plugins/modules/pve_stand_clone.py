#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: pve_stand_clone
short_description: One VM of a student's lab stand, cloned from a template, idempotently
version_added: 0.1.0
description:
  - Ensures one stand VM exists in the student's pool on a given node, cloned from a template, with the stand's
    ownership tags, the wanted NICs and the wanted power state; or that it is gone.
  - The VM is found by its pool, its name and the tags C(deploystand) and C(stand-<stand>) in one read of
    C(/cluster/resources), never by "the next VMID", so a re-run never clones a second copy.
  - A VM with the same name that does not carry the stand's tags is never touched. In the pool it makes the
    module fail (C(exists but not owned)); elsewhere it is only reported in RV(foreign).
author:
  - deploystand.proxmox contributors (@deploystand)
extends_documentation_fragment:
  - deploystand.proxmox.auth
options:
  name:
    description:
      - Name of the VM, a DNS label (V(a-z), V(0-9), V(-); at most 63 characters; no underscores, PVE refuses them).
    type: str
    required: true
  pool:
    description:
      - Resource pool the VM belongs to (the student's pool). It must exist before a VM is created.
    type: str
    required: true
  stand:
    description:
      - Name of the stand; the VM carries the tag C(stand-<stand>).
    type: str
    required: true
  node:
    description:
      - Node the VM must live on. A new VM is cloned from the template replica on this node, or with C(target)
        from a template whose disks are all on shared storage.
      - An existing VM found on another node is left there, with a warning (migration is not done here).
    type: str
    required: true
  template:
    description:
      - Name of the template to clone. The same-name template on O(node) is used; without one there, a same-name
        template whose disks are all on shared storage is cloned to O(node).
      - Mutually exclusive with O(template_vmid). One of them is required to create the VM.
    type: str
  template_vmid:
    description:
      - VMID of the template to clone. A same-name replica on O(node) is preferred (DESIGN §4).
    type: int
  template_node:
    description:
      - Node O(template_vmid) is on; checked against the cluster.
    type: str
  clone:
    description:
      - V(linked) shares the template's base disks (fast; needs a template); V(full) copies them.
    type: str
    choices: [linked, full]
    default: linked
  storage:
    description:
      - Target storage of a full clone. Only with O(clone=full); PVE refuses it for linked clones.
    type: str
  format:
    description:
      - Disk format of a full clone. Only with O(clone=full).
    type: str
    choices: [raw, qcow2, vmdk]
  vmid:
    description:
      - Preferred VMID for a new VM (for example from the stand plan). When it is taken, the lowest free id of
        O(vmid_range) is used. Ignored for an existing VM.
    type: int
  vmid_range:
    description:
      - Inclusive range new VMIDs come from when O(vmid) is not given or taken.
    type: list
    elements: int
    default: [10000, 19999]
  tags:
    description:
      - Extra tags. C(deploystand) and C(stand-<stand>) are always added.
      - When given (also as an empty list) the VM carries exactly these tags plus the two; when omitted, other
        tags already on the VM (for example copied from the template) are kept.
      - Compared as PVE stores them (lower-case, sorted, unique).
    type: list
    elements: str
  description:
    description:
      - Notes of the VM. When omitted, a new VM keeps the template's notes and an existing VM's notes are left
        alone.
    type: str
  nics:
    description:
      - The VM's network devices in order, C(net0) to C(netN); NICs beyond the list are removed.
      - When omitted, the NICs the template gave the VM are kept as they are.
      - A NIC keeps its MAC address across runs and changes (PVE would generate a new one for a NIC sent without
        one); a given O(nics[].mac) wins.
    type: list
    elements: dict
    suboptions:
      bridge:
        description: Bridge the NIC is attached to.
        type: str
        required: true
      model:
        description: NIC model.
        type: str
        default: virtio
        choices: [e1000, e1000-82540em, e1000-82544gc, e1000-82545em, e1000e, i82551, i82557b, i82559er,
                  ne2k_isa, ne2k_pci, pcnet, rtl8139, virtio, vmxnet3]
      link_down:
        description: Whether the link is down (cable unplugged).
        type: bool
        default: false
      mac:
        description: MAC address (unicast, C(XX:XX:XX:XX:XX:XX)). Default is the NIC's current one.
        type: str
  state:
    description:
      - V(present) the VM exists (power untouched); V(started) it also runs; V(stopped) it exists and is off
        (a shutdown of O(shutdown_timeout) seconds, then a hard stop); V(absent) a VM of this stand is stopped
        and destroyed with its disks. V(absent) never touches a VM without the stand's tags.
    type: str
    choices: [present, started, stopped, absent]
    default: present
  timeout:
    description:
      - Seconds to wait for each task (clone, start, stop, destroy) and for the clone lock to go.
    type: int
    default: 600
  shutdown_timeout:
    description:
      - Seconds a guest gets to shut down (ACPI or guest agent) before it is stopped hard.
    type: int
    default: 60
  clone_slots:
    description:
      - At most this many clones per storage run at once from this controller, shared by all Ansible forks
        through lock files (C(fcntl)) under the temp directory (or E(DEPLOYSTAND_CLONE_SLOTS_DIR)), keyed by
        API host and storage; a local (not shared) storage per node, as PVE locks it. PVE clones each disk
        under a storage lock with a 10 s timeout, so many clones at once onto one storage fail with lock
        timeouts. V(0) switches the bound off.
      - The default 8 keeps one node's local storage lock busy without timeouts (see benchmarks/README.md,
        "Clone slots").
    type: int
    default: 8
  lock_retries:
    description:
      - How often a clone whose task failed on a lock timeout (storage or config lock) is submitted again,
        with exponential backoff. When exhausted the module fails with PVE's own error text.
    type: int
    default: 5
notes:
  - Supports check mode (reads only; predicts C(changed), the new VMID and the NICs) and diff mode (name, node,
    pool, tags, NICs, status before and after).
  - "PVE behaviour relied on (pve-api-notes): clone returns a task and the new VM carries C(lock: clone) until it
    ends; a failed clone task removes what it made; C(/cluster/nextid) reserves nothing, so an id another client
    took makes the clone fail (C(config file already exists), or a lock timeout on the new id) and the next free
    id is tried; C(target) works only when every disk of the template is on shared storage; a C(netN) sent
    without a MAC gets a new random MAC; tags are stored lower-case and sorted; a config update with C(digest)
    fails when the config changed meanwhile (re-read, retried once)."
  - When the connection breaks during a write, the module reads the state back and decides again (bounded);
    it never resends a write blindly.
  - A new clone carries the line C(deploystand-pending:<stand>) in its notes until its tags are set, so a run
    interrupted in between is adopted by the next run instead of being reported as foreign.
  - "While PVE clones, the new VM shows only C(lock: clone) - no name, notes or pool - so a clone an interrupted
    run left running cannot be recognised until it ends. The deploy playbook waits for those first
    (O(deploystand.proxmox.pve_stand_plan#module:clone_wait)); when you use this module on its own after an
    interrupted run, wait for the node's clone tasks to end before running it again."
seealso:
  - module: deploystand.proxmox.pve_ecorouter_nic
'''

EXAMPLES = r'''
- name: Student router VM exists (linked clone of the replica on the student's node)
  deploystand.proxmox.pve_stand_clone:
    name: student1-host1
    pool: netlab-student1
    stand: netlab
    node: pve2
    template: linux-tpl
    vmid: 10001
    nics:
      - bridge: vmbr1001
      - bridge: vmbr1002
        link_down: true
    state: started

- name: Full clone onto shared storage, connection set once for the play
  deploystand.proxmox.pve_stand_clone:
    name: student1-db
    pool: netlab-student1
    stand: netlab
    node: pve1
    template_vmid: 9100
    template_node: pve1
    clone: full
    storage: shared-nfs
    format: qcow2
    clone_slots: 2

- name: Student VM is gone (only if it carries the stand's tags)
  deploystand.proxmox.pve_stand_clone:
    name: student1-host1
    pool: netlab-student1
    stand: netlab
    node: pve2
    state: absent
'''

RETURN = r'''
vmid:
  description: VMID of the VM (the one that would be used, in check mode); null when absent.
  returned: always
  type: int
  sample: 10001
name:
  description: Name of the VM.
  returned: always
  type: str
  sample: student1-host1
node:
  description: Node the VM is on (or would be cloned to).
  returned: always
  type: str
  sample: pve2
pool:
  description: Pool of the VM.
  returned: always
  type: str
  sample: netlab-student1
status:
  description: Power status after the run (V(running), V(stopped)); V(absent) when there is no VM.
  returned: always
  type: str
  sample: running
created:
  description: Whether the VM was cloned in this run (or would be, in check mode).
  returned: always
  type: bool
nics:
  description: The VM's NICs after the run. In check mode a NIC PVE would give a new MAC shows mac null.
  returned: always
  type: list
  elements: dict
  sample: [{key: net0, model: virtio, mac: "BC:24:11:2A:00:01", bridge: vmbr1001, link_down: false}]
tags:
  description: Tags of the VM after the run, as PVE stores them.
  returned: always
  type: list
  elements: str
  sample: [deploystand, stand-netlab]
foreign:
  description: VMs with the same name that are not this stand's VM in this pool; never touched.
  returned: always
  type: list
  elements: dict
  sample: [{vmid: 345, name: student1-host1, node: pve1, pool: other-pool}]
'''

import re

from ansible_collections.deploystand.proxmox.plugins.module_utils.clone_slots import (
    CloneSlots, CloneSlotTimeout, slot_storages)
from ansible_collections.deploystand.proxmox.plugins.module_utils.cluster import disk_storages
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve_client import PveApiError
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve_module import PveModule
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand import (
    NIC_MODELS, STAND_NAME_RE, StandError, format_tags, valid_mac)
from ansible_collections.deploystand.proxmox.plugins.module_utils import vms as V

NIC_SPEC = dict(bridge=dict(type='str', required=True),
                model=dict(type='str', default='virtio', choices=list(NIC_MODELS)),
                link_down=dict(type='bool', default=False),
                mac=dict(type='str'))

ARGSPEC = dict(
    name=dict(type='str', required=True),
    pool=dict(type='str', required=True),
    stand=dict(type='str', required=True),
    node=dict(type='str', required=True),
    template=dict(type='str'),
    template_vmid=dict(type='int'),
    template_node=dict(type='str'),
    clone=dict(type='str', default='linked', choices=['linked', 'full']),
    storage=dict(type='str'),
    format=dict(type='str', choices=['raw', 'qcow2', 'vmdk']),
    vmid=dict(type='int'),
    vmid_range=dict(type='list', elements='int', default=[10000, 19999]),
    tags=dict(type='list', elements='str'),
    description=dict(type='str'),
    nics=dict(type='list', elements='dict', options=NIC_SPEC),
    state=dict(type='str', default='present', choices=['present', 'started', 'stopped', 'absent']),
    timeout=dict(type='int', default=600),
    shutdown_timeout=dict(type='int', default=60),
    clone_slots=dict(type='int', default=8),
    lock_retries=dict(type='int', default=5),
)
BRIDGE_RE = re.compile(r'^[-_.\w]+$')


def _validate(module):
    p = module.params
    problems = []
    if len(p['name']) > V.DNS_LABEL_MAX or not V.DNS_LABEL_RE.match(p['name']):
        problems.append("name {0!r} is not a DNS label (letters, digits and '-', not at the start or end, at most "
                        "63 characters; PVE refuses underscores)".format(p['name']))
    if not STAND_NAME_RE.match(p['stand']):
        problems.append("stand {0!r}: lower-case letters, digits and '-', starting with a letter".format(p['stand']))
    if p['clone'] != 'full':
        for opt in ('storage', 'format'):
            if p[opt] is not None:
                problems.append("{0} applies to full clones only (clone: full); PVE refuses it for linked clones"
                                .format(opt))
    rng = p['vmid_range']
    if len(rng) != 2 or rng[0] > rng[1] or rng[0] < 100:
        problems.append('vmid_range must be two integers [low, high] with 100 <= low <= high, got {0}'.format(rng))
    if p['vmid'] is not None and p['vmid'] < 100:
        problems.append('vmid must be 100 or higher, got {0}'.format(p['vmid']))
    bad = V.bad_tags(p['tags'])
    if bad:
        problems.append('tags {0}: a tag is letters, digits, _ - + . and starts with a letter, digit or _'.format(bad))
    for index, nic in enumerate(p['nics'] or []):
        if not BRIDGE_RE.match(nic['bridge']):
            problems.append('nics[{0}].bridge {1!r} is not a bridge name'.format(index, nic['bridge']))
        if nic.get('mac') and not valid_mac(nic['mac']):
            problems.append('nics[{0}].mac {1!r} is not a unicast MAC address (XX:XX:XX:XX:XX:XX, second hex digit '
                            'even)'.format(index, nic['mac']))
    if p['template_node'] and p['template_vmid'] is None:
        problems.append('template_node needs template_vmid')
    for opt in ('timeout', 'shutdown_timeout', 'clone_slots', 'lock_retries'):
        if p[opt] < 0:
            problems.append('{0} must not be negative'.format(opt))
    if problems:
        module.fail_json(msg='; '.join(problems))


class StandClone(object):
    """One run of the module: read once, decide, write what differs."""

    def __init__(self, module):
        self.module = module
        self.p = module.params
        self.client = module.client()
        self.vms = V.Vms(self.client, timeout=self.p['timeout'], warn=module.warn)
        self.result = dict(changed=False, created=False, vmid=None, name=self.p['name'], node=self.p['node'],
                           pool=self.p['pool'], status='absent', nics=[], tags=[], foreign=[])

    # ------------------------------------------------------------- finding

    def find(self):
        """(entries, ours, conflicts). A VM of our name in the pool that an interrupted run cloned but
        did not tag yet carries the pending marker in its notes: it is adopted. (A clone still in
        progress shows no name: the plan waits for those before any student runs.)"""
        p = self.p
        entries = self.vms.entries()
        ours, conflicts, foreign = V.find_stand_vm(entries, p['pool'], p['name'], p['stand'])
        self.result['foreign'] = [dict((k, e.get(k)) for k in ('vmid', 'name', 'node', 'pool'))
                                  for e in conflicts + foreign]
        if ours is not None:
            return entries, ours, []
        pending = self._pending_clone(conflicts)
        if pending is None:
            return entries, None, conflicts
        entry, _config = pending
        self.module.warn('VM {0} ({1}) was cloned by an interrupted run; it is adopted and configured '
                         'now'.format(entry['vmid'], p['name']))
        return entries, entry, []

    def _pending_clone(self, candidates):
        """A VM of our name carrying this stand's pending-clone marker: (entry, config), or None."""
        for entry in candidates:
            try:
                config = self.vms.config(entry['node'], entry['vmid'])
            except PveApiError:
                continue
            if V.has_pending_marker(config.get('description'), self.p['stand']):
                return entry, config
        return None

    # ----------------------------------------------------------- new VMs

    def create(self, entries):
        """Clone the VM; returns (entry, created config or None in check mode)."""
        p = self.p
        if p['template'] is None and p['template_vmid'] is None:
            self.module.fail_json(msg='VM {0} does not exist in pool {1}: template or template_vmid is needed to '
                                      'create it'.format(p['name'], p['pool']), **self.result)
        try:
            source, source_node, target = self.vms.resolve_source(
                entries, p['node'], template=p['template'], template_vmid=p['template_vmid'],
                template_node=p['template_node'])
        except StandError as exc:
            self.module.fail_json(msg=str(exc), **self.result)
        if not self.vms.pool_exists(p['pool']):
            self.module.fail_json(msg='pool {0} does not exist: create it first (pve_user_pool) before cloning {1} '
                                      'into it'.format(p['pool'], p['name']), **self.result)
        template_config = self.vms.config(source_node, source['vmid'])
        used = set(entries)
        try:
            first = V.choose_vmid(p['vmid'], p['vmid_range'], used)
        except StandError as exc:
            self.module.fail_json(msg=str(exc), **self.result)
        full = p['clone'] == 'full'
        description = p['description'] if p['description'] is not None else template_config.get('description')
        entry = {'vmid': first, 'name': p['name'], 'node': p['node'], 'pool': p['pool'], 'tags': [],
                 'status': 'stopped', 'lock': None}
        if self.module.check_mode:
            predicted = dict((k, v) for k, v in template_config.items() if V.NET_KEY.match(k) or k == 'tags')
            # a clone gets new MACs: unknown until it exists
            for key in V.net_keys(predicted):
                nic = V.parse_net(predicted[key])
                nic['mac'] = None
                predicted[key] = V.format_net(nic)
            predicted['name'] = p['name']
            if description:
                predicted['description'] = description
            return entry, predicted
        storages = [p['storage']] if (full and p['storage']) else disk_storages(template_config)
        if p['clone_slots'] > 0:
            # A local storage is locked per node by PVE: count its slots per node too.
            storages = slot_storages(storages, source_node, self.vms.storages_shared(source_node))

        def newid_for(skip):
            return V.choose_vmid(p['vmid'], p['vmid_range'], used, skip)

        def slot_guard():
            return CloneSlots(self.client.host, storages, slots=p['clone_slots'], timeout=p['timeout'])

        try:
            vmid, node = self.vms.clone(source, newid_for, p['name'], p['pool'], full, target, p['storage'],
                                        p['format'], V.with_pending_marker(description, p['stand']),
                                        p['lock_retries'], slot_guard)
        except StandError as exc:
            self.module.fail_json(msg='{0} (while looking for a free VMID for {1})'.format(exc, p['name']),
                                  **self.result)
        except CloneSlotTimeout as exc:
            self.module.fail_json(msg=str(exc), **self.result)
        entry.update(vmid=vmid, node=node)
        return entry, None

    # -------------------------------------------------------------- config

    def compute(self, config):
        p = self.p
        updates, deletes = {}, []
        current_tags = V.parse_tags(config.get('tags'))
        tags = V.wanted_tags(p['stand'], p['tags'], current_tags)
        if V.tags_differ(current_tags, tags):
            updates['tags'] = format_tags(tags)
        current_desc = config.get('description')
        wanted_desc = p['description']
        if wanted_desc is None and V.has_pending_marker(current_desc, p['stand']):
            wanted_desc = V.strip_pending_marker(current_desc, p['stand'])
        if wanted_desc is not None and wanted_desc.rstrip('\n') != (current_desc or '').rstrip('\n'):
            if wanted_desc:
                updates['description'] = wanted_desc
            elif current_desc is not None:
                deletes.append('description')
        if p['nics'] is not None:
            nic_updates, nic_deletes = V.plan_nics(config, p['nics'])
            updates.update(nic_updates)
            deletes.extend(nic_deletes)
        return updates, deletes

    # ----------------------------------------------------------------- run

    def run(self):
        p = self.p
        module = self.module
        entries, ours, conflicts = self.find()
        if conflicts and p['state'] != 'absent':
            e = conflicts[0]
            module.fail_json(msg='VM {0} ({1}) exists in pool {2} but is not owned by stand {3} (it lacks the tags '
                                 'deploystand and stand-{3}); it is not touched. Rename or remove it, or tag it if it '
                                 'belongs to the stand'.format(e['vmid'], p['name'], p['pool'], p['stand']),
                             **self.result)
        if p['state'] == 'absent':
            return self.absent(ours)
        created = ours is None
        predicted = None
        if created:
            entry, predicted = self.create(entries)
            self.result.update(changed=True, created=True)
        else:
            entry = ours
            if entry['node'] != p['node']:
                module.warn('VM {0} ({1}) is on node {2}, not on {3}; it is left there (migrate it or destroy and '
                            'deploy it again)'.format(entry['vmid'], p['name'], entry['node'], p['node']))
        self.result.update(vmid=entry['vmid'], node=entry['node'])
        if predicted is not None:      # check mode, new VM
            after = V.apply_changes(predicted, *self.compute(predicted))
            status = 'running' if p['state'] == 'started' else 'stopped'
            before_view = {}
        else:
            before, after, changed = self.vms.converge_config(entry['node'], entry['vmid'], self.compute,
                                                              module.check_mode)
            self.result['changed'] |= changed
            status = self.vms.status(entry['node'], entry['vmid'])
            before_view = {} if created else V.vm_view(entry, before, status, p['pool'])
            status = self.power(entry, status)
        self.result.update(status=status, nics=V.nics_of(after), tags=V.parse_tags(after.get('tags')))
        after_view = V.vm_view(entry, after, status, p['pool'])
        self.result['diff'] = dict(before=before_view, after=after_view)
        module.exit_json(**self.result)

    def power(self, entry, status):
        want = self.p['state']
        if want == 'started' and status != 'running':
            self.result['changed'] = True
            if not self.module.check_mode:
                self.vms.start(entry['node'], entry['vmid'])
                return self.vms.status(entry['node'], entry['vmid'])
            return 'running'
        if want == 'stopped' and status == 'running':
            self.result['changed'] = True
            if not self.module.check_mode:
                self.vms.stop(entry['node'], entry['vmid'], self.p['shutdown_timeout'])
                return self.vms.status(entry['node'], entry['vmid'])
            return 'stopped'
        return status

    def absent(self, ours):
        if ours is None:
            self.result['diff'] = dict(before={}, after={})
            self.module.exit_json(**self.result)
        node, vmid = ours['node'], ours['vmid']
        config = self.vms.config(node, vmid)
        status = self.vms.status(node, vmid)
        self.result.update(changed=True, vmid=vmid, node=node, status='absent')
        self.result['diff'] = dict(before=V.vm_view(ours, config, status, self.p['pool']), after={})
        if not self.module.check_mode:
            if status == 'running':
                self.vms.stop(node, vmid, self.p['shutdown_timeout'])
            self.vms.destroy(node, vmid)
        self.module.exit_json(**self.result)


def main():
    module = PveModule(argument_spec=ARGSPEC, supports_check_mode=True,
                       mutually_exclusive=[('template', 'template_vmid')])
    _validate(module)
    run = StandClone(module)
    try:
        run.run()
    except PveApiError as err:
        module.fail_api(err, **run.result)


if __name__ == '__main__':
    main()
