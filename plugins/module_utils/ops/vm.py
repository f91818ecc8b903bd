# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stand VMs: find them by ownership, clone, converge config and power, destroy.

Used by pve_stand_clone and pve_ecorouter_nic. The top half is pure (no HTTP; unit-tested in
tests/unit/plugins/module_utils/ops/test_vm.py); the bottom half talks to PVE only through `PveClient`.

Rules kept here (docs/stand-model.md 3; qemu-server `clone_vm`, pve-manager `Cluster.pm` nextid, docs/simulator.md):
- A VM is found by (pool, name, tags `deploystand` + `stand-<stand>`) in ONE
  `GET /cluster/resources?type=vm`, never by "the next VMID".
- New ids come from that same read: the preferred id if free, else the lowest free id of the range.
  PVE reserves nothing, so a collision at clone time moves on to the next free id.
- `netN` is always rewritten with its MAC: PVE generates a new MAC for a `netN` sent without one.
- Writes whose connection broke (kind `connection`) are never resent blindly: the state is read
  again and the decision made again, a bounded number of times.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import random
import time

from ansible_collections.deploystand.proxmox.plugins.module_utils.argspecs import DEFAULTS
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.cluster import disk_storages
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.client import (
    CONFLICT, CONNECTION, EXISTS, LOCKED, NOT_FOUND, TASK_FAILED, TASK_TIMEOUT, PveApiError,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.wait import PollTimeout, poll_until
from ansible_collections.deploystand.proxmox.plugins.module_utils.errors import StandError
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.formats import (
    MAC_PREFIX_RE, NET_KEY_RE, TAG_RE, format_net, parse_net, parse_tags,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.allocation import (
    ecorouter_mac, free_vmids,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.names import (
    ECOROUTER_OUI, MANAGED_TAG, MAX_NICS, stand_tag,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.placement import resolve_template

ECOROUTER_MODEL = 'vmxnet3'
# How often a write whose connection broke is re-decided after reading the state again.
CONNECTION_RECHECKS = 3
# A line in the description of a clone that is not configured yet: lets a re-run adopt a clone an
# interrupted run left without tags (the tags are the real ownership marker, set right after).
PENDING_MARKER = 'deploystand-pending:{0}'


# =============================================================================================
# Pure helpers
# =============================================================================================

def vm_entries(resources):
    """{vmid: entry} of the qemu VMs of a /cluster/resources answer, with tags parsed."""
    found = {}
    for item in resources or []:
        if item.get('type', 'qemu') != 'qemu' or item.get('vmid') is None:
            continue
        vmid = int(item['vmid'])
        found[vmid] = {'vmid': vmid, 'name': item.get('name'), 'node': item.get('node'), 'pool': item.get('pool'),
                       'tags': parse_tags(item.get('tags')), 'template': bool(int(item.get('template') or 0)),
                       'status': item.get('status'), 'lock': item.get('lock') or None}
    return found


def is_owned(entry, pool, stand):
    """Ours: in the pool and tagged `deploystand` and `stand-<stand>`."""
    tags = entry.get('tags') or []
    return entry.get('pool') == pool and MANAGED_TAG in tags and stand_tag(stand) in tags


def find_stand_vm(entries, pool, name, stand):
    """(ours, conflicts, foreign) for the VM `name` of `stand` in `pool`.

    ours: the owned VM (the lowest vmid if there are several), or None; conflicts: VMs of that
    name in the pool that are not ours (refused); foreign: VMs of that name elsewhere (reported)."""
    same = sorted((e for e in entries.values() if e.get('name') == name and not e.get('template')),
                  key=lambda e: e['vmid'])
    ours = [e for e in same if is_owned(e, pool, stand)]
    conflicts = [e for e in same if e.get('pool') == pool and not is_owned(e, pool, stand)]
    foreign = [e for e in same if e.get('pool') != pool]
    return (ours[0] if ours else None), conflicts, foreign


def choose_vmid(preferred, vmid_range, used_ids, skip=()):
    """The id for a new VM: `preferred` if free, else the lowest free id of `vmid_range` (inclusive).

    Raises StandError when the range is full."""
    taken = set(int(v) for v in used_ids) | set(int(v) for v in skip)
    if preferred is not None and int(preferred) not in taken:
        return int(preferred)
    for vmid in free_vmids(list(vmid_range), taken):
        return vmid
    raise StandError('vmid_range [{0}, {1}] has no free VMID left'.format(vmid_range[0], vmid_range[1]))


def wanted_tags(stand, extra, current=None):
    """Tags the VM must carry: `deploystand`, `stand-<stand>` and `extra`; with extra=None the
    current tags are kept and the two managed tags added (PVE's normal form: lower-case, sorted)."""
    base = [MANAGED_TAG, stand_tag(stand)]
    if extra is None:
        return parse_tags(list(current or []) + base)
    return parse_tags(list(extra) + base)


def tags_differ(current, wanted):
    """True when two tag lists/strings differ once normalised as PVE stores them."""
    return parse_tags(current) != parse_tags(wanted)


def bad_tags(tags):
    return [t for t in tags or [] if not TAG_RE.match(str(t))]


def net_keys(config):
    return sorted((k for k in config or {} if NET_KEY_RE.match(k)), key=lambda k: int(k[3:]))


def nic_view(key, value):
    nic = parse_net(value)
    mac = nic.get('mac')
    return {'key': key, 'model': nic.get('model'), 'mac': mac.upper() if mac else None,
            'bridge': nic.get('bridge'), 'link_down': bool(nic.get('link_down'))}


def nics_of(config):
    """[{key, model, mac, bridge, link_down}] of a config's netN, in order."""
    return [nic_view(key, config[key]) for key in net_keys(config)]


def _same_nic(current, new):
    def norm(nic):
        out = dict((k, v) for k, v in nic.items() if v not in (None, False))
        if out.get('mac'):
            out['mac'] = out['mac'].upper()
        return out
    return norm(current) == norm(new)


def plan_nics(config, wanted):
    """What to send so that net0..netN match `wanted`; NICs beyond the list are deleted.

    wanted: [{bridge, model, link_down, mac}] (model defaults to virtio). A NIC keeps its current MAC
    unless `mac` is given: PVE would generate a new one for a netN sent without it. Options this
    module does not manage (firewall, tag, rate, ...) are kept. Returns (updates {netN: value}, deletes)."""
    updates = {}
    for index, want in enumerate(wanted):
        key = 'net{0}'.format(index)
        current = parse_net(config[key]) if key in config else None
        new = dict(current or {})
        new['model'] = want.get('model') or DEFAULTS['nic_model']
        new['bridge'] = want['bridge']
        new['link_down'] = bool(want.get('link_down'))
        new['mac'] = want.get('mac') or (current or {}).get('mac')
        if new['model'] != 'virtio':
            new.pop('mtu', None)      # virtio only
        if current is None or not _same_nic(current, new):
            updates[key] = format_net(new)
    deletes = [k for k in net_keys(config) if int(k[3:]) >= len(wanted)]
    return updates, deletes


def apply_changes(config, updates, deletes=()):
    """The config after an update (for check mode and diffs). A NIC sent without a MAC shows mac None."""
    new = dict((k, v) for k, v in config.items() if k not in deletes)
    new.update(updates)
    return new


def valid_mac_prefix(prefix):
    """4 hex octets, unicast (the I/G bit of the first octet clear)."""
    return isinstance(prefix, str) and bool(MAC_PREFIX_RE.match(prefix))


def prefixed_mac(prefix, vmid, index):
    """ecorouter_mac's slot scheme ((vmid % 8192) * 8 + index in the last two octets) under `prefix`."""
    return prefix.upper() + ecorouter_mac(vmid, index)[len(ECOROUTER_OUI):]


def has_prefix(mac, prefix):
    return bool(mac) and mac.upper().startswith(prefix.upper() + ':')


def ecorouter_wanted(config, vmid, management_bridge, bridges, prefix):
    """The wanted NIC list of an EcoRouter (docs/stand-model.md 6): all vmxnet3; net0 on the management bridge with
    link_down; data NICs in order without link_down; a MAC already under `prefix` is kept, any other
    becomes the slot MAC of (vmid, index)."""
    wanted = [{'bridge': management_bridge, 'link_down': True}]
    wanted += [{'bridge': b, 'link_down': False} for b in bridges or []]
    if len(wanted) > MAX_NICS:
        raise StandError('an EcoRouter has at most {0} NICs (management + {1} data NICs); {2} data bridges given'
                         .format(MAX_NICS, MAX_NICS - 1, len(bridges)))
    for index, want in enumerate(wanted):
        key = 'net{0}'.format(index)
        current = parse_net(config[key]) if key in config else {}
        mac = current.get('mac')
        want['model'] = ECOROUTER_MODEL
        want['mac'] = mac.upper() if has_prefix(mac, prefix) else prefixed_mac(prefix, vmid, index)
    return wanted


def mac_clashes(our_vmid, our_macs, others):
    """[(mac, vmid, key)] where one of `our_macs` is also used by another VM; others: {vmid: config}."""
    ours = set(m.upper() for m in our_macs if m)
    clashes = []
    for vmid, config in sorted(others.items()):
        if int(vmid) == int(our_vmid):
            continue
        for nic in nics_of(config):
            if nic['mac'] and nic['mac'] in ours:
                clashes.append((nic['mac'], int(vmid), nic['key']))
    return clashes


def vm_view(entry, config=None, status=None, pool=None):
    """The fields diff mode and the result show: name, node, pool, tags, nics, status."""
    config = config or {}
    return {'vmid': entry.get('vmid'), 'name': config.get('name', entry.get('name')), 'node': entry.get('node'),
            'pool': pool if pool is not None else entry.get('pool'),
            'tags': parse_tags(config.get('tags', entry.get('tags'))), 'nics': nics_of(config),
            'status': status or entry.get('status')}


def pending_marker(stand):
    return PENDING_MARKER.format(stand)


def with_pending_marker(description, stand):
    marker = pending_marker(stand)
    return '{0}\n{1}'.format(description, marker) if description else marker


def strip_pending_marker(description, stand):
    if description is None:
        return None
    lines = [line for line in str(description).split('\n') if line.strip() != pending_marker(stand)]
    return '\n'.join(lines).rstrip('\n')


def has_pending_marker(description, stand):
    return any(line.strip() == pending_marker(stand) for line in str(description or '').split('\n'))


# =============================================================================================
# API side
# =============================================================================================

def wait_for_clones(vms, vmids, entries, timeout):
    """Wait until none of `vmids` (seen locked `clone` in `entries`) is still being cloned, `timeout`
    seconds for all of them together; a VM that vanished meanwhile was a clone that failed (PVE removed
    it), which is fine here."""
    started = vms.clock()
    for vmid in vmids:
        left = max(0.0, timeout - (vms.clock() - started))
        try:
            vms.wait_unlocked(vmid, (entries.get(vmid) or {}).get('node'), timeout=left)
        except PveApiError as err:
            if err.kind == LOCKED:
                err.message = '{0}: a clone in progress in the stand\'s VMID range (check the node\'s task ' \
                              'log); run again when it has finished'.format(err.message)
            if err.kind != NOT_FOUND:
                raise


def vm_path(node, vmid, tail=''):
    return 'nodes/{0}/qemu/{1}{2}'.format(node, vmid, '/' + tail if tail else '')


class Vms(object):
    """The VM operations of the stand modules, on one PveClient."""

    def __init__(self, client, timeout=600, sleep=None, clock=time.monotonic, warn=None):
        self.client = client
        self.timeout = timeout
        # the client's sleep by default: it stops waiting once ansible-playbook is gone (PveModule)
        self._sleep = sleep or getattr(client, 'sleep', time.sleep)
        self._clock = clock
        self._warn = warn or (lambda msg: None)

    # ---------------------------------------------------------------- reads

    def entries(self):
        """The ONE cluster-wide read: every VM with name, node, pool, tags, status and lock."""
        return vm_entries(self.client.get('cluster/resources', type='vm'))

    def config(self, node, vmid):
        return self.client.get(vm_path(node, vmid, 'config'))

    def status(self, node, vmid):
        return self.client.get(vm_path(node, vmid, 'status/current')).get('status')

    def pool_exists(self, pool):
        return self.client.exists('pools/{0}'.format(pool))

    def storages_shared(self, node):
        """{storage id: shared} of the storages `node` sees; {} when they cannot be read."""
        try:
            return dict((s['storage'], bool(int(s.get('shared') or 0)))
                        for s in self.client.get('nodes/{0}/storage'.format(node)) or [])
        except PveApiError:
            return {}

    # ------------------------------------------------------------ templates

    def resolve_source(self, entries, node, template=None, template_vmid=None, template_node=None):
        """(template entry, source node, target or None) for a clone onto `node` (docs/stand-model.md 4.1):
        the same-name template on `node`, else one whose disks are all on shared storage.
        Raises StandError with a message naming template, node and storage."""
        cluster = {'vms': entries, 'storages': {}, 'template_storages': {}}
        if template is not None:
            machine = {'template': template}
            named = [e for e in entries.values() if e.get('name') == template]
            if named and not any(e['template'] for e in named):
                e = named[0]
                raise StandError('template {0!r}: VM {1} on node {2} has this name but is not a template'.format(
                    template, e['vmid'], e['node']))
        else:
            machine = {'template_vmid': template_vmid, 'template_node': template_node}
        try:
            vmid, source, target = resolve_template(machine, node, cluster)
        except StandError:
            # No replica on the node: learn the disk storages of the candidates and try again.
            if template is not None:
                candidates = [e for e in entries.values() if e['template'] and e.get('name') == template]
            else:
                vm = entries.get(int(template_vmid)) if template_vmid is not None else None
                if vm is None or not vm['template'] or (template_node and vm['node'] != template_node):
                    raise
                candidates = [e for e in entries.values() if e['template'] and e.get('name') == vm.get('name')]
            if not candidates:
                raise
            for cand in candidates:
                cluster['template_storages'][cand['vmid']] = disk_storages(self.config(cand['node'], cand['vmid']))
                if cand['node'] not in cluster['storages']:
                    cluster['storages'][cand['node']] = dict(
                        (s['storage'], {'shared': bool(int(s.get('shared') or 0))})
                        for s in self.client.get('nodes/{0}/storage'.format(cand['node'])))
            vmid, source, target = resolve_template(machine, node, cluster)
        return entries[vmid], source, target

    # --------------------------------------------------------------- clone

    def clone(self, source, newid_for, name, pool, full, target, storage, fmt, description, lock_retries,
              slot_guard, on_collision=None):
        """Clone `source` (an entry) to a new VM; returns (vmid, node). Handles, each bounded:
        an id another client took (kind exists, at the call or in the task) -> the next free id;
        a lock timeout inside the task (cause locked) -> retry with backoff;
        a broken connection on the submission -> read back whether the VM appeared before deciding.

        newid_for(skip) returns the id to try, given the ids found taken meanwhile."""
        skip = set()
        lock_failures = 0
        connection_failures = 0
        node = source['node']
        path = vm_path(node, source['vmid'], 'clone')
        params = dict(name=name, pool=pool, full=1 if full else 0, target=target,
                      storage=storage if full else None, format=fmt if full else None, description=description)
        while True:
            newid = newid_for(skip)
            params['newid'] = newid
            try:
                with slot_guard():
                    try:
                        upid = self.client.post(path, **params)
                    except PveApiError as err:
                        if err.kind != CONNECTION or connection_failures >= CONNECTION_RECHECKS:
                            raise
                        connection_failures += 1
                        upid = None
                        if not self._appeared(newid, name):
                            continue         # nothing was created: decide again (same or next id)
                    if upid:
                        self.client.wait_task(upid, timeout=self.timeout)
                    return newid, self.wait_unlocked(newid, target or node)
            except PveApiError as err:
                cause = err.cause if err.kind == TASK_FAILED else err.kind
                if cause == EXISTS:
                    skip.add(newid)
                    if on_collision:
                        on_collision(newid)
                    continue
                if cause == LOCKED and lock_failures < lock_retries:
                    lock_failures += 1
                    self._backoff(lock_failures)
                    continue
                if cause == LOCKED:
                    err.message = '{0} (gave up after {1} retries on lock timeouts; lower clone_slots or raise ' \
                                  'lock_retries)'.format(err.message, lock_retries)
                raise

    def _appeared(self, newid, name):
        """After a clone submission with a broken connection: did PVE create the VM?"""
        for _check in range(CONNECTION_RECHECKS):
            try:
                entry = self.entries().get(int(newid))
            except PveApiError as err:
                if err.kind == CONNECTION:
                    self._sleep(1)
                    continue
                raise
            # a clone in progress has no name yet (qemu-server clone_vm): `lock: clone` is all it shows
            return entry is not None and (entry.get('name') == name or entry.get('lock') == 'clone')
        raise PveApiError('the connection broke while submitting the clone of {0} and the cluster could not be '
                          'read back; run again'.format(name), kind=CONNECTION)

    def clock(self):
        return self._clock()

    def wait_unlocked(self, vmid, node_hint=None, lock='clone', timeout=None):
        """Wait until VM `vmid` carries no `lock: <lock>`; returns its node. Raises when it vanished
        (the clone task cleaned up after a failure) or stays locked past `timeout` (default: the
        Vms timeout)."""
        timeout = self.timeout if timeout is None else timeout
        where = {'node': node_hint}

        def read():
            where['node'], config = self._find_config(vmid, where['node'])
            return config
        try:
            poll_until(read, lambda config: config.get('lock') != lock, timeout, self._sleep, clock=self._clock,
                       interval=0.1, growth=2, max_interval=2.0)
        except PollTimeout as late:
            raise PveApiError('VM {0} on {1} is still locked ({2}) after {3:.0f} s'.format(
                vmid, where['node'], lock, late.waited), kind=LOCKED)
        return where['node']

    def _find_config(self, vmid, node=None):
        """(node, config) of VM `vmid`: on `node` if it is there, else wherever the cluster shows it (a
        clone may land on its target node). Raises NOT_FOUND when the VM is gone."""
        if node:
            try:
                return node, self.config(node, vmid)
            except PveApiError as err:
                if err.kind != NOT_FOUND:
                    raise
        entry = self.entries().get(int(vmid))
        if entry is None:
            raise PveApiError('VM {0} disappeared after its clone task: the clone failed and PVE removed '
                              'it; run again'.format(vmid), kind=NOT_FOUND)
        return entry['node'], self.config(entry['node'], vmid)

    def _backoff(self, attempt):
        self._sleep(min(30.0, 0.5 * (2 ** (attempt - 1))) * (0.5 + random.random()))

    # -------------------------------------------------------------- config

    def converge_config(self, node, vmid, compute, check_mode=False):
        """ONE config update (with `digest`) bringing the config to what compute(config) asks for.

        compute(config) -> (updates dict, deletes list). On a digest mismatch the config is read again
        and the update recomputed once; on a broken connection the same, up to CONNECTION_RECHECKS times.
        Returns (config before, config after (predicted in check mode), changed)."""
        conflicts = connections = 0
        first = None
        sent = False
        while True:
            config = self.config(node, vmid)
            if first is None:
                first = config
            updates, deletes = compute(config)
            if not updates and not deletes:
                return first, config, sent
            if check_mode:
                return first, apply_changes(config, updates, deletes), True
            try:
                self.client.put(vm_path(node, vmid, 'config'), digest=config.get('digest'),
                                delete=','.join(deletes) if deletes else None, **updates)
            except PveApiError as err:
                if err.kind == CONFLICT and conflicts < 1:
                    conflicts += 1
                    continue
                if err.kind == CONNECTION and connections < CONNECTION_RECHECKS:
                    connections += 1
                    sent = True       # it may have been applied: the re-read decides
                    continue
                raise
            return first, self.config(node, vmid), True

    # --------------------------------------------------------------- power

    def _power_task(self, node, vmid, action, done, wait, **params):
        """POST status/<action> and wait; a broken connection is followed by reading the status back."""
        for attempt in range(CONNECTION_RECHECKS + 1):
            try:
                upid = self.client.post(vm_path(node, vmid, 'status/' + action), **params)
            except PveApiError as err:
                if err.kind != CONNECTION or attempt >= CONNECTION_RECHECKS:
                    raise
                if self._settles(node, vmid, done, 10):
                    return
                continue
            if upid:
                self.client.wait_task(upid, timeout=wait)
            return

    def _settles(self, node, vmid, done, seconds):
        """True once done(status) holds within `seconds` (a read whose connection broke, or of a VM not
        shown yet, counts as not yet), False after."""
        return self._comes_about(lambda: self.status(node, vmid), done, seconds, (CONNECTION, NOT_FOUND))

    def start(self, node, vmid):
        self._power_task(node, vmid, 'start', lambda s: s == 'running', self.timeout)

    def stop(self, node, vmid, shutdown_timeout):
        """Shut down (ACPI/agent) for shutdown_timeout seconds, then stop what is still running."""
        try:
            self._power_task(node, vmid, 'shutdown', lambda s: s != 'running', shutdown_timeout + 30,
                             timeout=shutdown_timeout)
        except PveApiError as err:
            if err.kind not in (TASK_FAILED, TASK_TIMEOUT):
                raise
            self._warn('VM {0} did not shut down within {1} s ({2}); stopping it'.format(
                vmid, shutdown_timeout, err.message))
        if self.status(node, vmid) == 'running':
            self._power_task(node, vmid, 'stop', lambda s: s != 'running', self.timeout)

    def converge_power(self, node, vmid, want, status, shutdown_timeout, check_mode=False):
        """Bring VM `vmid` from `status` to `want` (started / stopped; anything else leaves it).
        Returns (status after, changed); in check mode the predicted status."""
        if want == 'started' and status != 'running':
            if check_mode:
                return 'running', True
            self.start(node, vmid)
        elif want == 'stopped' and status == 'running':
            if check_mode:
                return 'stopped', True
            self.stop(node, vmid, shutdown_timeout)
        else:
            return status, False
        return self.status(node, vmid), True

    def destroy(self, node, vmid):
        """DELETE with purge and destroy-unreferenced-disks; waits for the task (no volume of the id stays)."""
        path = vm_path(node, vmid)
        for attempt in range(CONNECTION_RECHECKS + 1):
            try:
                upid = self.client.delete(path, purge=1, **{'destroy-unreferenced-disks': 1})
            except PveApiError as err:
                if err.kind == NOT_FOUND:
                    return
                if err.kind != CONNECTION or attempt >= CONNECTION_RECHECKS:
                    raise
                if self._gone(vmid, 10):
                    return
                continue
            if upid:
                self.client.wait_task(upid, timeout=self.timeout)
            return

    def _gone(self, vmid, seconds):
        """True once the cluster no longer shows VM `vmid` within `seconds`, False after."""
        return self._comes_about(self.entries, lambda entries: int(vmid) not in entries, seconds, (CONNECTION,))

    def _comes_about(self, read, done, seconds, retry_kinds):
        """After a write whose connection broke: does its effect show within `seconds` (one look a second)?"""
        try:
            poll_until(read, done, seconds, self._sleep, clock=self._clock, interval=1.0, retry_kinds=retry_kinds)
            return True
        except PollTimeout:
            return False
