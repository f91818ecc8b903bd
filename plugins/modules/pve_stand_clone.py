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
  - deploystand.proxmox.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
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
      - A lower-case letter, then a-z, 0-9 or C(-), at most 20 characters, as for
        M(deploystand.proxmox.pve_user_pool) and M(deploystand.proxmox.pve_bridge).
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
      - VMID of the template to clone. A same-name replica on O(node) is preferred (docs/stand-model.md 4.1).
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
      - Seconds to wait for each task (clone, start, stop, destroy), for a clone slot (O(clone_slots)) and for
        the clone lock to go after the clone task.
      - A clone attempt thus waits at most 3 x O(timeout); a clone refused on a lock timeout is tried again at
        most O(lock_retries) times after a back-off of at most 30 s each.
      - A shutdown waits at most O(shutdown_timeout) + 30 s, then the hard stop at most O(timeout); after a broken
        connection the power state or the VM's removal is read back for at most 10 s.
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
        API host and port (two clusters reached at one host count apart) and storage; a local (not shared)
        storage per node, as PVE locks it. PVE clones each disk under a storage lock with a 10 s timeout,
        so many clones at once onto one storage fail with lock timeouts. V(0) switches the bound off.
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
  - "PVE behaviour relied on (qemu-server C(clone_vm), docs/simulator.md): clone returns a task and the new VM carries C(lock: clone) until it
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

from ansible_collections.deploystand.proxmox.plugins.module_utils.ops.machine import (
    CLONE_ARGSPEC, MachineRun, MachineSpec,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.module import PveModule


def main():
    module = PveModule(argument_spec=CLONE_ARGSPEC, supports_check_mode=True,
                       mutually_exclusive=[('template', 'template_vmid')])
    spec = MachineSpec.from_params(module.params)
    problems = spec.problems()
    if problems:
        module.fail_json(msg='; '.join(problems))
    run = MachineRun(module.client(), spec, check_mode=module.check_mode, warn=module.warn)
    module.run(run.run, partial=lambda: run.result, pop_diff=False)


if __name__ == '__main__':
    main()
