# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One stand VM: clone it (or adopt it), converge its config, power it; and an EcoRouter's NICs.

The logic behind pve_stand_clone and pve_ecorouter_nic, and behind pve_stand_student, which runs a
student's machines side by side in one module run. Nothing here calls AnsibleModule: results are
returned, refusals raised as MachineFailed (with the result so far)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from dataclasses import dataclass, field, fields
from typing import List, Optional

from ansible_collections.deploystand.proxmox.plugins.module_utils.argspecs import (
    CLONE_OPTIONS, DEFAULTS, VM_WAIT_OPTIONS, default, with_default,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.clone_slots import (
    CloneSlots, CloneSlotTimeout, slot_scope, slot_storages,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.cluster import disk_storages
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.client import PveApiError
from ansible_collections.deploystand.proxmox.plugins.module_utils.errors import RunFailed, StandError
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.formats import (
    BRIDGE_ID_RE, NET_KEY_RE, NIC_MODELS, format_tags, valid_mac,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.names import (
    CLONE_MODES, DISK_FORMATS, DNS_LABEL_MAX, DNS_LABEL_RE, ECOROUTER, MAC_VMID_MODULUS, MANAGED_TAG, stand_name_problem,
    stand_tag,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.ops import vm as V


class MachineFailed(RunFailed):
    """A refusal or failure of one machine: the message, and the result up to that point."""


NIC_SPEC = dict(bridge=dict(type='str', required=True),
                model=with_default('nic_model', type='str', choices=list(NIC_MODELS)),
                link_down=dict(type='bool', default=False),
                mac=dict(type='str'))

CLONE_ARGSPEC = dict(
    name=dict(type='str', required=True),
    pool=dict(type='str', required=True),
    stand=dict(type='str', required=True),
    node=dict(type='str', required=True),
    template=dict(type='str'),
    template_vmid=dict(type='int'),
    template_node=dict(type='str'),
    clone=with_default('clone', type='str', choices=list(CLONE_MODES)),
    storage=dict(type='str'),
    format=dict(type='str', choices=list(DISK_FORMATS)),
    vmid=dict(type='int'),
    vmid_range=with_default('vmid_range', type='list', elements='int'),
    tags=dict(type='list', elements='str'),
    description=dict(type='str'),
    nics=dict(type='list', elements='dict', options=NIC_SPEC),
    state=with_default('state', type='str', choices=['present', 'started', 'stopped', 'absent']),
    **dict(VM_WAIT_OPTIONS, **CLONE_OPTIONS)
)


class ModuleSpec(object):
    """A module's options as a dataclass: from a module's validated parameters (from_params: the options it has,
    the others keep their defaults), or built by the module that runs it as a part, with the same fields and
    defaults."""

    @classmethod
    def from_params(cls, params):
        return cls(**dict((f.name, params[f.name]) for f in fields(cls) if f.name in params))


@dataclass
class MachineSpec(ModuleSpec):
    """One stand VM as pve_stand_clone's options (CLONE_ARGSPEC) give it: from the module's parameters
    (from_params) or from a machine of a student's plan (student.machine_spec). problems() is its one input
    check, run once per entry point, before anything is written. The defaults are the table's
    (argspecs.DEFAULTS), as CLONE_ARGSPEC's are."""
    name: str
    pool: str
    stand: str
    node: str
    template: Optional[str] = None
    template_vmid: Optional[int] = None
    template_node: Optional[str] = None
    clone: str = DEFAULTS['clone']
    storage: Optional[str] = None
    format: Optional[str] = None
    vmid: Optional[int] = None
    vmid_range: List[int] = field(default_factory=lambda: default('vmid_range'))
    tags: Optional[List[str]] = None
    description: Optional[str] = None
    nics: Optional[List[dict]] = None          # NIC_SPEC dicts: bridge, model, link_down, mac
    state: str = DEFAULTS['state']
    timeout: int = DEFAULTS['timeout']
    shutdown_timeout: int = DEFAULTS['shutdown_timeout']
    clone_slots: int = DEFAULTS['clone_slots']
    lock_retries: int = DEFAULTS['lock_retries']

    def problems(self):
        """What is wrong with the machine's options (a list of messages; empty when all is well)."""
        problems = []
        if len(self.name) > DNS_LABEL_MAX or not DNS_LABEL_RE.match(self.name.lower()):   # PVE's dns-name: any case
            problems.append("name {0!r} is not a DNS label (letters, digits and '-', not at the start or end, at most "
                            "63 characters; PVE refuses underscores)".format(self.name))
        stand_problem = stand_name_problem(self.stand)      # the rule pve_user_pool and pve_bridge apply
        if stand_problem:
            problems.append(stand_problem)
        if self.clone != 'full':
            for opt in ('storage', 'format'):
                if getattr(self, opt) is not None:
                    problems.append("{0} applies to full clones only (clone: full); PVE refuses it for linked clones"
                                    .format(opt))
        if self.format not in (None,) + DISK_FORMATS:
            problems.append('format {0!r} is not one of {1}'.format(self.format, ', '.join(DISK_FORMATS)))
        rng = self.vmid_range
        if len(rng) != 2 or rng[0] > rng[1] or rng[0] < 100:
            problems.append('vmid_range must be two integers [low, high] with 100 <= low <= high, got {0}'.format(rng))
        if self.vmid is not None and self.vmid < 100:
            problems.append('vmid must be 100 or higher, got {0}'.format(self.vmid))
        bad = V.bad_tags(self.tags)
        if bad:
            problems.append('tags {0}: a tag is letters, digits, _ - + . and starts with a letter, digit or _'.format(bad))
        for index, nic in enumerate(self.nics or []):
            if not BRIDGE_ID_RE.match(nic['bridge']):
                problems.append('nics[{0}].bridge {1!r} is not a bridge name'.format(index, nic['bridge']))
            if nic.get('mac') and not valid_mac(nic['mac']):
                problems.append('nics[{0}].mac {1!r} is not a unicast MAC address (XX:XX:XX:XX:XX:XX, second hex digit '
                                'even)'.format(index, nic['mac']))
        if self.template_node and self.template_vmid is None:
            problems.append('template_node needs template_vmid')
        for opt in ('timeout', 'shutdown_timeout', 'clone_slots', 'lock_retries'):
            if getattr(self, opt) < 0:
                problems.append('{0} must not be negative'.format(opt))
        return problems


class MachineRun(object):
    """One stand VM (pve_stand_clone, or one machine of pve_stand_student): read, decide, write what
    differs. run() returns the result; a refusal raises MachineFailed with the result so far.

    `entries` (a /cluster/resources read, vms.vm_entries) saves the read when the caller has one;
    `pool_known` the check that the pool exists; `network_ready(node)` returns once the node's bridges are up
    (bridges.NodeApplies.ready), called after the clone, before the VM's config and power are written."""

    def __init__(self, client, spec, check_mode=False, warn=None, entries=None, pool_known=False,
                 network_ready=None):
        self.spec = spec
        self.check_mode = check_mode
        self.warn = warn or (lambda msg: None)
        self.client = client
        self.vms = V.Vms(client, timeout=spec.timeout, warn=self.warn)
        self._entries = entries
        self._pool_known = pool_known       # the caller made the pool (or would have, in check mode)
        self._network_ready = network_ready or (lambda node: None)
        self.result = dict(changed=False, created=False, vmid=None, name=self.spec.name, node=self.spec.node,
                           pool=self.spec.pool, status='absent', nics=[], tags=[], foreign=[])

    # ------------------------------------------------------------- finding

    def find(self):
        """(entries, ours, conflicts). A VM of our name in the pool that an interrupted run cloned but
        did not tag yet carries the pending marker in its notes: it is adopted. (A clone still in
        progress shows no name: the plan waits for those before any student runs.)"""
        s = self.spec
        entries, self._entries = (self._entries if self._entries is not None else self.vms.entries()), None
        ours, conflicts, foreign = V.find_stand_vm(entries, s.pool, s.name, s.stand)
        self.result['foreign'] = [dict((k, e.get(k)) for k in ('vmid', 'name', 'node', 'pool'))
                                  for e in conflicts + foreign]
        if ours is not None:
            return entries, ours, []
        pending = self._pending_clone(conflicts)
        if pending is None:
            return entries, None, conflicts
        entry, _config = pending
        self.warn('VM {0} ({1}) was cloned by an interrupted run; it is adopted and configured '
                  'now'.format(entry['vmid'], s.name))
        return entries, entry, []

    def _pending_clone(self, candidates):
        """A VM of our name carrying this stand's pending-clone marker: (entry, config), or None."""
        for entry in candidates:
            try:
                config = self.vms.config(entry['node'], entry['vmid'])
            except PveApiError:
                continue
            if V.has_pending_marker(config.get('description'), self.spec.stand):
                return entry, config
        return None

    # ----------------------------------------------------------- new VMs

    def create(self, entries):
        """Clone the VM; returns (entry, created config or None in check mode)."""
        s = self.spec
        if s.template is None and s.template_vmid is None:
            raise MachineFailed('VM {0} does not exist in pool {1}: template or template_vmid is needed to '
                                'create it'.format(s.name, s.pool), self.result)
        try:
            source, source_node, target = self.vms.resolve_source(
                entries, s.node, template=s.template, template_vmid=s.template_vmid,
                template_node=s.template_node)
        except StandError as exc:
            raise MachineFailed(str(exc), self.result)
        if not self._pool_known and not self.vms.pool_exists(s.pool):
            raise MachineFailed('pool {0} does not exist: create it first (pve_user_pool) before cloning {1} '
                                'into it'.format(s.pool, s.name), self.result)
        template_config = self.vms.config(source_node, source['vmid'])
        used = set(entries)
        try:
            first = V.choose_vmid(s.vmid, s.vmid_range, used)
        except StandError as exc:
            raise MachineFailed(str(exc), self.result)
        full = s.clone == 'full'
        description = s.description if s.description is not None else template_config.get('description')
        entry = {'vmid': first, 'name': s.name, 'node': s.node, 'pool': s.pool, 'tags': [],
                 'status': 'stopped', 'lock': None}
        if self.check_mode:
            predicted = dict((k, v) for k, v in template_config.items() if NET_KEY_RE.match(k) or k == 'tags')
            # a clone gets new MACs: unknown until it exists
            for key in V.net_keys(predicted):
                nic = V.parse_net(predicted[key])
                nic['mac'] = None
                predicted[key] = V.format_net(nic)
            predicted['name'] = s.name
            if description:
                predicted['description'] = description
            return entry, predicted
        storages = [s.storage] if (full and s.storage) else disk_storages(template_config)
        if s.clone_slots > 0:
            # A local storage is locked per node by PVE: count its slots per node too.
            storages = slot_storages(storages, source_node, self.vms.storages_shared(source_node))

        def newid_for(skip):
            return V.choose_vmid(s.vmid, s.vmid_range, used, skip)

        def slot_guard():
            return CloneSlots(slot_scope(self.client.host, self.client.port), storages, slots=s.clone_slots,
                              timeout=s.timeout, sleep=self.client.sleep)

        try:
            vmid, node = self.vms.clone(source, newid_for, s.name, s.pool, full, target, s.storage,
                                        s.format, V.with_pending_marker(description, s.stand),
                                        s.lock_retries, slot_guard)
        except StandError as exc:
            raise MachineFailed('{0} (while looking for a free VMID for {1})'.format(exc, s.name),
                                self.result)
        except CloneSlotTimeout as exc:
            raise MachineFailed(str(exc), self.result)
        entry.update(vmid=vmid, node=node)
        return entry, None

    # -------------------------------------------------------------- config

    def compute(self, config):
        s = self.spec
        updates, deletes = {}, []
        current_tags = V.parse_tags(config.get('tags'))
        tags = V.wanted_tags(s.stand, s.tags, current_tags)
        if V.tags_differ(current_tags, tags):
            updates['tags'] = format_tags(tags)
        current_desc = config.get('description')
        wanted_desc = s.description
        if wanted_desc is None and V.has_pending_marker(current_desc, s.stand):
            wanted_desc = V.strip_pending_marker(current_desc, s.stand)
        if wanted_desc is not None and wanted_desc.rstrip('\n') != (current_desc or '').rstrip('\n'):
            if wanted_desc:
                updates['description'] = wanted_desc
            elif current_desc is not None:
                deletes.append('description')
        if s.nics is not None:
            nic_updates, nic_deletes = V.plan_nics(config, s.nics)
            updates.update(nic_updates)
            deletes.extend(nic_deletes)
        return updates, deletes

    # ----------------------------------------------------------------- run

    def run(self):
        s = self.spec
        entries, ours, conflicts = self.find()
        if conflicts and s.state != 'absent':
            e = conflicts[0]
            raise MachineFailed('VM {0} ({1}) exists in pool {2} but is not owned by stand {3} (it lacks the tags '
                                'deploystand and stand-{3}); it is not touched. Rename or remove it, or tag it if it '
                                'belongs to the stand'.format(e['vmid'], s.name, s.pool, s.stand),
                                self.result)
        if s.state == 'absent':
            return self.absent(ours)
        created = ours is None
        predicted = None
        if created:
            entry, predicted = self.create(entries)
            self.result.update(changed=True, created=True)
        else:
            entry = ours
            if entry['node'] != s.node:
                self.warn('VM {0} ({1}) is on node {2}, not on {3}; it is left there (migrate it or destroy and '
                          'deploy it again)'.format(entry['vmid'], s.name, entry['node'], s.node))
        self.result.update(vmid=entry['vmid'], node=entry['node'])
        if predicted is not None:      # check mode, new VM
            after = V.apply_changes(predicted, *self.compute(predicted))
            status = 'running' if s.state == 'started' else 'stopped'
            before_view = {}
        else:
            self._network_ready(entry['node'])
            before, after, changed = self.vms.converge_config(entry['node'], entry['vmid'], self.compute,
                                                              self.check_mode)
            self.result['changed'] |= changed
            status = self.vms.status(entry['node'], entry['vmid'])
            before_view = {} if created else V.vm_view(entry, before, status, s.pool)
            status, powered = self.vms.converge_power(entry['node'], entry['vmid'], s.state, status,
                                                      s.shutdown_timeout, self.check_mode)
            self.result['changed'] |= powered
        self.result.update(status=status, nics=V.nics_of(after), tags=V.parse_tags(after.get('tags')))
        after_view = V.vm_view(entry, after, status, s.pool)
        self.result['diff'] = dict(before=before_view, after=after_view)
        return self.result

    def absent(self, ours):
        if ours is None:
            self.result['diff'] = dict(before={}, after={})
            return self.result
        node, vmid = ours['node'], ours['vmid']
        config = self.vms.config(node, vmid)
        status = self.vms.status(node, vmid)
        self.result.update(changed=True, vmid=vmid, node=node, status='absent')
        self.result['diff'] = dict(before=V.vm_view(ours, config, status, self.spec.pool), after={})
        if not self.check_mode:
            if status == 'running':
                self.vms.stop(node, vmid, self.spec.shutdown_timeout)
            self.vms.destroy(node, vmid)
        return self.result


def remove_own_vm(vms, vm, pool, shutdown_timeout, check_mode=False):
    """A VM the student made in its stand pool (destroy, student_vms=remove): checked again to be in the
    pool under the same name (never one moved out meanwhile), shut down softly (then stopped, as a
    stand VM), destroyed. Returns {vmid, name, node, action: removed|gone}."""
    entry = vms.entries().get(int(vm['vmid']))
    out = {'vmid': int(vm['vmid']), 'name': vm.get('name'), 'node': vm.get('node'), 'action': 'gone'}
    if entry is None or entry.get('pool') != pool or entry.get('name') != vm.get('name'):
        return out
    out.update(node=entry['node'], action='removed')
    if not check_mode:
        if vms.status(entry['node'], entry['vmid']) == 'running':
            vms.stop(entry['node'], entry['vmid'], shutdown_timeout)
        vms.destroy(entry['node'], entry['vmid'])
    return out


# ------------------------------------------------------------------------------------ EcoRouter

ECOROUTER_ARGSPEC = dict(
    vmid=dict(type='int', required=True),
    node=dict(type='str', required=True),
    stand=dict(type='str', required=True),
    management_bridge=with_default('management_bridge', type='str'),
    bridges=dict(type='list', elements='str', default=[]),
    mac_prefix=with_default('mac_prefix', type='str'),
    state=with_default('state', type='str', choices=['present', 'started', 'stopped']),
    **VM_WAIT_OPTIONS
)


@dataclass
class EcoRouterSpec(ModuleSpec):
    """One EcoRouter's NICs and power as pve_ecorouter_nic's options (ECOROUTER_ARGSPEC) give them: from the
    module's parameters (from_params) or for a machine of a student's plan (student.ecorouter_spec)."""
    vmid: int
    node: str
    stand: str
    management_bridge: str = DEFAULTS['management_bridge']
    bridges: List[str] = field(default_factory=list)
    mac_prefix: str = DEFAULTS['mac_prefix']
    state: str = DEFAULTS['state']
    timeout: int = DEFAULTS['timeout']
    shutdown_timeout: int = DEFAULTS['shutdown_timeout']

    def problems(self):
        """What is wrong with the EcoRouter's options (a list of messages)."""
        problems = []
        if not V.valid_mac_prefix(self.mac_prefix):
            problems.append('mac_prefix {0!r} is not 4 hex octets with a unicast first octet (XX:XX:XX:XX, second hex '
                            'digit even), e.g. 1C:87:76:40'.format(self.mac_prefix))
        if len(self.bridges) > V.MAX_NICS - 1:
            problems.append('an EcoRouter has at most {0} NICs: management + {1} data bridges, {2} given'.format(
                V.MAX_NICS, V.MAX_NICS - 1, len(self.bridges)))
        return problems


def configure_ecorouter(client, spec, check_mode=False, warn=None, entries=None):
    """The EcoRouter's NICs in slot order with its slot MACs, then its power state (docs/stand-model.md 6).
    Returns the result; raises MachineFailed (refusals) and PveApiError."""
    warn = warn or (lambda msg: None)
    result = dict(changed=False, vmid=spec.vmid, nics=[], status=None)
    vms = V.Vms(client, timeout=spec.timeout, warn=warn)
    vmid = spec.vmid
    entries = vms.entries() if entries is None else entries
    entry = entries.get(vmid)
    if entry is None or entry.get('template'):
        raise MachineFailed('VM {0} does not exist{1}'.format(vmid, ' (it is a template)' if entry else ''), result)
    if MANAGED_TAG not in entry['tags'] or stand_tag(spec.stand) not in entry['tags']:
        raise MachineFailed('VM {0} ({1}) does not carry the tags {2} and {3}: not managed by stand {4}; nothing '
                            'changed'.format(vmid, entry.get('name'), MANAGED_TAG, stand_tag(spec.stand), spec.stand),
                            result)
    node = entry['node']
    if node != spec.node:
        warn('VM {0} is on node {1}, not on {2}; configured where it is'.format(vmid, node, spec.node))
    # Only EcoRouters whose VMID is congruent mod 8192 can share a slot MAC: read just those configs.
    peers = [e for e in entries.values() if ECOROUTER in e['tags'] and not e.get('template')
             and e['vmid'] != vmid and e['vmid'] % MAC_VMID_MODULUS == vmid % MAC_VMID_MODULUS]
    peer_configs = dict((e['vmid'], vms.config(e['node'], e['vmid'])) for e in peers)

    def compute(config):
        wanted = V.ecorouter_wanted(config, vmid, spec.management_bridge, spec.bridges, spec.mac_prefix)
        clashes = V.mac_clashes(vmid, [w['mac'] for w in wanted], peer_configs)
        if clashes:
            raise StandError('MAC clash: ' + '; '.join('{0} of VM {1} is also {2} of VM {3}'.format(
                mac, vmid, key, other) for mac, other, key in clashes) + ' (EcoRouter VMIDs must differ modulo 8192)')
        updates, deletes = V.plan_nics(config, wanted)
        tags = V.parse_tags(config.get('tags'))
        if ECOROUTER not in tags:
            updates['tags'] = format_tags(tags + [ECOROUTER])
        return updates, deletes

    try:
        before, after, changed = vms.converge_config(node, vmid, compute, check_mode)
    except StandError as exc:
        raise MachineFailed(str(exc), result)
    status = vms.status(node, vmid)
    before_view = V.vm_view(entry, before, status)
    status, powered = vms.converge_power(node, vmid, spec.state, status, spec.shutdown_timeout, check_mode)
    result['changed'] = changed or powered
    result.update(nics=V.nics_of(after), status=status,
                  diff=dict(before=before_view, after=V.vm_view(entry, after, status)))
    return result
