# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A node's private lab bridges and its pending network config (the logic behind pve_bridge).

Pure part (unit-tested): which bridges a stand owns, the parsing of PVE's pending-changes diff
(`changes`, i.e. `diff -u /etc/network/interfaces /etc/network/interfaces.new`) into per-interface
changes with the markers they carry, and the decision whether a pending change is the stand's.
`NodeBridges` does the reads and writes through the one client: PUT /nodes/<node>/network applies the
staged /etc/network/interfaces.new (pve-manager API2/Network.pm `reload_network_config`).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import threading

from ansible_collections.deploystand.proxmox.plugins.module_utils.argspecs import DEFAULTS
from ansible_collections.deploystand.proxmox.plugins.module_utils.errors import StandError
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.formats import BRIDGE_ID_RE, NET_KEY_RE
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.bridges import (
    allocate_bridges, bridge_share,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.inputs import normalize_users
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.names import (
    ALIAS_RE, BRIDGE_NUMBER_MAX, MARKER_PREFIX, NODE_RE, VMBR_RE, bridge_marker, owns, parse_marker,
    stand_name_problem,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.plan import granted_bridge_names
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.wait import converge
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.client import (
    CONNECTION, EXISTS, NOT_FOUND, PveApiError,
)

ROUNDS = 3
DEFAULT_APPLY_TIMEOUT = DEFAULTS['apply_timeout']
_HUNK = re.compile(r'^@@ -\d+(?:,\d+)? \+\d+(?:,\d+)? @@')
# Lines of /etc/network/interfaces that start a stanza, and the interface they name.
_STANZA = re.compile(r'^(?:auto|allow-[\w-]+|iface)\s+(\S+)')
_NET_BRIDGE = re.compile(r'(?:^|,)bridge=([^,]+)')


class BridgeError(Exception):
    """A request pve_bridge refuses; the message says what to do."""


def check_params(params):
    """Every problem with pve_bridge's input, as one list of messages (empty when it is usable)."""
    errors = []
    node = params.get('node')
    if not isinstance(node, str) or not NODE_RE.match(node):
        errors.append('node: %r is not a node name' % (node,))
    stand = params.get('stand')
    problem = stand_name_problem(stand)
    if problem:
        errors.append(problem)
    rng = params.get('bridge_range')
    if not isinstance(rng, (list, tuple)) or len(rng) != 2:
        errors.append('bridge_range: expected [low, high] (two integers), got %r' % (rng,))
    elif not 0 <= rng[0] <= rng[1] <= BRIDGE_NUMBER_MAX:
        errors.append('bridge_range: [%s, %s] must satisfy 0 <= low <= high <= %d (vmbr0..vmbr%d is what every '
                      'PVE 8.x/9.x accepts)' % (rng[0], rng[1], BRIDGE_NUMBER_MAX,
                                                BRIDGE_NUMBER_MAX))
    userids = [('userids[%d]' % i, u) for i, u in enumerate(params.get('userids') or ())]
    for index, item in enumerate(params.get('bridges') or ()):
        field = 'bridges[%d]' % index
        userids.append((field + '.userid', item.get('userid')))
        alias = item.get('alias')
        if not isinstance(alias, str) or not ALIAS_RE.match(alias):
            errors.append("%s.alias: %r is not an alias (a lower-case letter, then a-z, 0-9 or _, at most 15 "
                          "characters)" % (field, alias))
        if item.get('iface') is not None and not VMBR_RE.match(str(item['iface'])):
            errors.append('%s.iface: %r is not a vmbrN name' % (field, item['iface']))
    for key in ('reserved', 'ifaces'):
        for index, name in enumerate(params.get(key) or ()):
            if not BRIDGE_ID_RE.match(str(name)):
                errors.append("%s[%d]: %r is not a bridge name (letters, digits, '_', '-', '.')" % (key, index, name))
    for field, userid in userids:
        _students, problems = normalize_users([{'name': userid}])
        errors.extend(p.replace('users[0].name', field).replace('users[0]', field) for p in problems)
    return errors


# ------------------------------------------------------------------------------------ markers

def stand_markers(text, stand):
    """Every marker of this stand in a free text (comments, or diff lines), parsed."""
    out = []
    for token in str(text or '').replace('#', ' ').split():
        found = parse_marker(token)
        if found and found['stand'] == stand:
            out.append(found)
    return out


def bridge_markers(text, stand):
    """The bridge markers (stand, userid, alias) of this stand in a text, as (userid, alias)."""
    return [(m['userid'], m['alias']) for m in stand_markers(text, stand) if m['userid'] and m['alias']]


def select_owned(bridges, stand, userids=None, pairs=None):
    """Bridges to remove: {iface: comments} -> sorted [(iface, [(userid, alias)])] of this stand.

    With userids and/or pairs ((userid, alias)), only bridges of those students/aliases; with
    neither, every bridge of the stand. A bridge without a marker of this stand is never chosen."""
    userids = set(userids or ())
    pairs = set(tuple(p) for p in pairs or ())
    everything = not userids and not pairs
    out = []
    for iface in sorted(bridges):
        owned = bridge_markers(bridges[iface], stand)
        if not owned:
            continue
        if everything or any(u in userids or (u, a) in pairs for u, a in owned):
            out.append((iface, owned))
    return out


def next_candidate(taken, marker, alias, bridge_range, elsewhere=(), reserved=(), share=(0, 1)):
    """The lowest free vmbrN in range (and in the node's share) for one marker, with `taken`
    ({iface: comments}) as the node has it and `elsewhere` the names of the other nodes; raises
    StandError when the range is exhausted."""
    mapping, _to_create = allocate_bridges(taken, [(marker, alias)], bridge_range, elsewhere=elsewhere,
                                           reserved=reserved, share=share)
    return mapping[marker]


def stale_owned(existing, entries, mapping):
    """Bridges of the node that carry a wanted marker but are not (any more) the bridge of it: their
    name exists on another node, or a second bridge has the marker. [{userid, alias, marker, iface}]"""
    out = []
    for e in entries:
        for iface in sorted(existing, key=_vmbr_key):
            if iface != mapping.get(e['marker']) and owns(existing[iface], e['marker']):
                out.append({'userid': e['userid'], 'alias': e['alias'], 'marker': e['marker'], 'iface': iface})
    return out


def vm_bridges(config):
    """Bridges a VM or container config uses ({netN: 'virtio=..,bridge=vmbr1'} -> {'vmbr1'})."""
    out = set()
    for key, value in (config or {}).items():
        if NET_KEY_RE.match(str(key)):
            found = _NET_BRIDGE.search(str(value))
            if found:
                out.add(found.group(1))
    return out


# ------------------------------------------------------------------------- pending changes

def parse_changes(text):
    """PVE's `changes` diff -> {iface: {'removed', 'added', 'old', 'new'}} (lists of lines).

    `removed`/`added` are the changed lines of that interface's stanza; `old`/`new` are all lines
    of the stanza seen on that side of the diff (changes plus context), where its comments (and so
    its markers) are. A line is attributed to the stanza opened by the last `auto`/`iface` line on
    its side (old side for '-', new side for '+', both for context). Changed lines that come before
    any stanza header in their hunk cannot be attributed and are filed under None."""
    out = {}
    old = new = None
    in_hunk = False

    def entry(iface):
        return out.setdefault(iface, {'removed': [], 'added': [], 'old': [], 'new': []})

    for raw in str(text or '').splitlines():
        if _HUNK.match(raw):
            in_hunk = True
            old = new = None
            continue
        if not in_hunk or raw.startswith('\\'):
            continue                               # file headers, "\ No newline at end of file"
        sign, line = (raw[:1], raw[1:]) if raw[:1] in ('+', '-', ' ') else (' ', raw)
        if sign != ' ' and not line.strip():
            continue                               # an added/removed blank line changes nothing
        header = _STANZA.match(line)
        top_level = line[:1] not in ('', ' ', '\t', '#')
        if sign in ('-', ' '):
            old = header.group(1) if header else (None if top_level else old)
        if sign in ('+', ' '):
            new = header.group(1) if header else (None if top_level else new)
        if sign == '-':
            e = entry(old)
            e['removed'].append(line)
            e['old'].append(line)
        elif sign == '+':
            e = entry(new)
            e['added'].append(line)
            e['new'].append(line)
        else:
            if old is not None:
                entry(old)['old'].append(line)
            if new is not None:
                entry(new)['new'].append(line)
    return dict((k, v) for k, v in out.items() if v['removed'] or v['added'])


def _header_in(lines, iface):
    return any(re.match(r'^iface\s+{0}(\s|$)'.format(re.escape(iface)), line) for line in lines)


def pending_changes(changes, ifaces, stand):
    """What applying the node's config would change, and whose change it is.

    changes: the `changes` text (None/'' when nothing is pending); ifaces: the `data` list of
    GET /nodes/{node}/network (the pending view, with `active` and `comments`).
    Returns a sorted list of {'iface', 'action' (added|removed|modified|inactive), 'ours',
    'markers'}: `ours` when the interface carries a marker of this stand — in its current comments
    or the new lines for one that stays, in its removed lines for one that goes. Unattributable
    lines come as iface None, never ours. A bridge of this stand that is configured but not active
    counts as pending too (applying brings it up)."""
    current = dict((i.get('iface'), i) for i in ifaces or ())
    out = []
    parsed = parse_changes(changes)
    for iface in sorted(parsed, key=lambda k: (k is None, k or '')):
        part = parsed[iface]
        if iface is None:
            out.append({'iface': None, 'action': 'modified', 'ours': False, 'markers': [],
                        'lines': part['removed'] + part['added']})
            continue
        gone = iface not in current
        if gone:
            action = 'removed'
        elif _header_in(part['added'], iface) and not _header_in(part['removed'], iface):
            action = 'added'
        else:
            action = 'modified'
        if gone:
            markers = stand_markers('\n'.join(part['old']), stand)
        else:
            markers = stand_markers(current[iface].get('comments'), stand) or \
                stand_markers('\n'.join(part['new']), stand)
        out.append({'iface': iface, 'action': action, 'ours': bool(markers),
                    'markers': sorted(set(_marker_text(stand, m) for m in markers))})
    listed = set(p['iface'] for p in out)
    for iface in sorted(k for k in current if k):
        info = current[iface]
        if iface in listed or info.get('type') != 'bridge' or _truthy(info.get('active')):
            continue
        markers = stand_markers(info.get('comments'), stand)
        if markers:
            out.append({'iface': iface, 'action': 'inactive', 'ours': True,
                        'markers': sorted(set(_marker_text(stand, m) for m in markers))})
    return out


def other_stands_changes(changes, ifaces, stand):
    """Interfaces whose pending change adds, removes or brings up a bridge marked by ANOTHER
    deploystand stand: made by the same tool, port-less, so applying them with ours is harmless
    (two stands deployed at once on one node each stage bridges before either applies)."""
    names = set()
    for text in [str(changes or '')] + [str(i.get('comments') or '') for i in ifaces or ()]:
        for token in text.replace('#', ' ').split():
            found = parse_marker(token)
            if found and found['stand'] != stand and found['userid'] and found['alias']:
                names.add(found['stand'])
    out = set()
    for name in sorted(names):
        for change in pending_changes(changes, ifaces, name):
            if change['ours'] and change['action'] in ('added', 'removed', 'inactive'):
                out.add(change['iface'])
    return out


def _marker_text(stand, marker):
    parts = [MARKER_PREFIX, stand] + [p for p in (marker.get('userid'), marker.get('alias')) if p]
    return ':'.join(parts)


def _truthy(value):
    return str(value).lower() in ('1', 'true', 'yes')


def describe_change(change):
    if change['iface'] is None:
        return 'lines outside any interface ({0})'.format('; '.join(l.strip() for l in change.get('lines', [])[:3]))
    return '{0} ({1})'.format(change['iface'], change['action'])


# --------------------------------------------------------------------------- the API steps

class NodeBridges(object):
    """The private bridges of one node for one stand: present / absent / applied."""

    def __init__(self, client, node, stand, check_mode=False, warn=None):
        self.client = client
        self.node = node
        self.stand = stand
        self.check_mode = check_mode
        self._warn = warn or (lambda msg: None)
        self.base = 'nodes/{0}/network'.format(node)
        self.result = {'node': node, 'bridges': [], 'mapping': {}, 'created': [], 'deleted': [], 'changed': False}

    # ------------------------------------------------------------------ reads

    def read_bridges(self):
        """{iface: comments} of the node's bridges (pending view; permission-filtered for non-root)."""
        return dict((i['iface'], i.get('comments') or '')
                    for i in self.client.get(self.base, type='bridge') or () if i.get('iface'))

    def read_iface(self, iface):
        """The interface's config, or None (GET …/network/{iface} is gated by Sys.Audit only, so it
        also sees bridges the filtered list hides)."""
        try:
            return self.client.get('{0}/{1}'.format(self.base, iface))
        except PveApiError as err:
            if err.kind == NOT_FOUND:
                return None
            raise

    def bridge_usage(self):
        """{bridge: ['qemu/101', ...]} for every VM and container on the node."""
        usage = {}
        for kind in ('qemu', 'lxc'):
            for guest in self.client.get('nodes/{0}/{1}'.format(self.node, kind)) or ():
                vmid = guest.get('vmid')
                try:
                    config = self.client.get('nodes/{0}/{1}/{2}/config'.format(self.node, kind, vmid))
                except PveApiError as err:
                    if err.kind == NOT_FOUND:       # destroyed or migrated meanwhile
                        continue
                    raise
                for name in vm_bridges(config):
                    usage.setdefault(name, []).append('{0}/{1}'.format(kind, vmid))
        return usage

    # ---------------------------------------------------------------- present

    def cluster_nodes(self):
        """(all node names, the other online ones): the share of new names is counted over every node,
        the name check over the online ones (an offline node's bridges cannot be read)."""
        nodes = self.client.get('nodes') or []
        names = sorted(set(n['node'] for n in nodes if n.get('node')) | {self.node})
        online = sorted(n['node'] for n in nodes if n.get('node') and n['node'] != self.node
                        and n.get('status', 'online') == 'online')
        return names, online

    def names_elsewhere(self, others):
        """Bridge names of the other online nodes (their lists, as the caller may see them)."""
        return set(i['iface'] for node in others
                   for i in self.client.get('nodes/{0}/network'.format(node), type='bridge') or () if i.get('iface'))

    def exists_elsewhere(self, iface, others):
        """The other node that has `iface` (GET …/network/{iface}, Sys.Audit only: sees hidden ones too)."""
        for node in others:
            try:
                self.client.get('nodes/{0}/network/{1}'.format(node, iface))
                return node
            except PveApiError as err:
                if err.kind != NOT_FOUND:
                    raise
        return None

    def present(self, wanted, bridge_range, reserved=()):
        """wanted: [{'userid', 'alias', 'iface' (a proposal, optional)}]; every alias gets its marked
        bridge (created when missing). A bridge name is one ACL path on every node, so a new name is
        unique in the cluster: not on any online node, not in `reserved` (other nodes' plans), not
        named in an ACL entry, and in this node's share (stand.bridge_share)."""
        r = self.result
        existing = self.read_bridges()
        names, others = self.cluster_nodes()
        rules = {'elsewhere': self.names_elsewhere(others),
                 'reserved': set(reserved or ()) | granted_bridge_names(self.client.get('access/acl')),
                 'share': bridge_share(self.node, names)}
        entries = []
        seen = set()
        for item in wanted:
            key = (item['userid'], item['alias'])
            if key in seen:
                continue
            seen.add(key)
            entries.append(dict(item, marker=bridge_marker(self.stand, item['userid'], item['alias'])))
        mapping, to_create = allocate_bridges(
            existing, [(e['marker'], e['alias']) for e in entries], bridge_range,
            preferred=dict((e['marker'], e['iface']) for e in entries if e.get('iface')), **rules)
        taken = dict(existing)
        taken.update((iface, marker) for iface, marker in to_create)   # planned names stay reserved
        alias_of = dict((e['marker'], e['alias']) for e in entries)
        created = {}
        skipped = []
        looked_up = self.look_up([iface for iface, _marker in to_create], others)
        for iface, marker in to_create:
            iface, new = self._create(iface, marker, alias_of[marker], taken, bridge_range, skipped, others, rules,
                                      looked_up)
            mapping[marker] = iface
            taken[iface] = marker
            if not new:
                existing[iface] = marker         # ours, hidden from the filtered list: reused
                continue
            created[marker] = iface
            if not self.check_mode:
                r['created'].append(iface)       # known even if a later bridge fails
        # reported, not deleted here: their VMs move to the new bridge first (the deploy deletes them after)
        r['stale'] = stale_owned(existing, entries, mapping)
        before = dict((mapping[e['marker']], existing[mapping[e['marker']]]) for e in entries
                      if e['marker'] not in created)
        after = dict(before)
        for e in entries:
            iface = mapping[e['marker']]
            r['bridges'].append({'userid': e['userid'], 'alias': e['alias'], 'marker': e['marker'], 'iface': iface,
                                 'created': e['marker'] in created})
            r['mapping'].setdefault(e['userid'], {})[e['alias']] = iface
            if e['marker'] in created:
                after[iface] = e['marker']
        r['created'] = sorted(created.values(), key=_vmbr_key)
        r['taken'] = skipped
        r['changed'] = bool(created)
        r['diff'] = {'before': {'node': self.node, 'bridges': before}, 'after': {'node': self.node, 'bridges': after}}
        return r

    def look_up(self, ifaces, others):
        """{iface: (the other node that has it or None, its config here or None)} for the names about to be
        created, read side by side (up to 8 at once): the same reads _create makes for a name, done before the
        first write instead of four requests in turn per bridge (7.4 s of 100 students' network play)."""
        out = {}

        def lane(names):
            for iface in names:
                try:
                    out[iface] = (self.exists_elsewhere(iface, others), self.read_iface(iface))
                except PveApiError:
                    return      # this name and the rest of its lane are read again, in turn, by _create
        threads = [threading.Thread(target=lane, args=(ifaces[index::8],)) for index in range(min(8, len(ifaces)))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return out

    def _create(self, iface, marker, alias, taken, bridge_range, skipped, others, rules, looked_up=None):
        """Create one marked bridge at iface or, if that name is taken meanwhile, hidden from the filtered
        list, or a bridge on another node, at the next free number. Returns (iface, created): a hidden
        bridge here that already carries the marker is reused (created False). `looked_up` (look_up) holds
        the reads of names already made."""
        looked_up = looked_up if looked_up is not None else {}

        def skip(name):
            skipped.append(name)
            taken[name] = '?'
            return next_candidate(taken, marker, alias, bridge_range, **rules)
        while True:
            known = looked_up.pop(iface, None)
            if (known[0] if known else self.exists_elsewhere(iface, others)):
                iface = skip(iface)
                continue
            found = known[1] if known else self.read_iface(iface)
            if found is not None:
                if owns(found.get('comments'), marker):
                    return iface, False
                iface = skip(iface)            # exists but the (filtered) list did not show it
                continue
            if self.check_mode:
                return iface, True

            def write(iface=iface):
                # No bridge_ports (isolated: `bridge-ports none`) and no bridge_vlan_aware key at all:
                # PVE's writer makes a bridge VLAN-aware whenever the key is present, even as 0.
                self.client.post(self.base, iface=iface, type='bridge', autostart=1, comments=marker)

            def done(iface=iface):
                found = self.read_iface(iface)
                return found is not None and owns(found.get('comments'), marker)
            try:
                converge(write, done)
                return iface, True
            except PveApiError as err:
                if err.kind != EXISTS:
                    raise
                iface = skip(iface)            # a concurrent run took the name: next number

    # ----------------------------------------------------------------- absent

    def absent(self, userids=None, pairs=None, ifaces=None):
        """Delete the stand's bridges of these students/pairs (all of the stand without either), only
        those named in `ifaces` when it is given, and only where no VM or container uses them."""
        r = self.result
        existing = self.read_bridges()
        chosen = [c for c in select_owned(existing, self.stand, userids, pairs) if not ifaces or c[0] in ifaces]
        r['in_use'] = []
        before = dict((iface, existing[iface]) for iface, _owned in chosen)
        after = dict(before)
        usage = self.bridge_usage() if chosen else {}
        for iface, owned in chosen:
            users = usage.get(iface)
            if users:
                r['in_use'].append({'iface': iface, 'used_by': sorted(users)})
                self._warn('bridge {0} on {1} is still used by {2}: kept (remove or move those NICs first)'.format(
                    iface, self.node, ', '.join(sorted(users))))
                continue
            if not self.check_mode:
                converge(lambda iface=iface: self.client.delete('{0}/{1}'.format(self.base, iface)),
                         lambda iface=iface: self.read_iface(iface) is None)
            r['deleted'].append(iface)
            del after[iface]
            for userid, alias in owned:
                r['bridges'].append({'userid': userid, 'alias': alias,
                                     'marker': bridge_marker(self.stand, userid, alias), 'iface': iface,
                                     'created': False})
        r['changed'] = bool(r['deleted'])
        # A run killed between its deletions and their apply left them staged: nothing is deleted now, yet the
        # apply is still due (the caller applies when this is true, as when something was deleted).
        r['unapplied'] = not r['deleted'] and any(change['ours'] for change in self.read_pending())
        r['diff'] = {'before': {'node': self.node, 'bridges': before}, 'after': {'node': self.node, 'bridges': after}}
        return r

    # ---------------------------------------------------------------- applied

    def read_pending(self):
        envelope = self.client.get_envelope(self.base) or {}
        pending = pending_changes(envelope.get('changes'), envelope.get('data') or [], self.stand)
        others = other_stands_changes(envelope.get('changes'), envelope.get('data') or [], self.stand)
        for change in pending:
            if not change['ours'] and change['iface'] in others:
                change['other_stand'] = True
        return pending

    def applied(self, apply_foreign=False, timeout=DEFAULT_APPLY_TIMEOUT):
        r = self.result
        pending = self.read_pending()
        r['pending'] = [dict((k, v) for k, v in p.items() if k != 'lines') for p in pending]
        foreign = [p for p in pending if not p['ours'] and not p.get('other_stand')]
        r['foreign_pending'] = [describe_change(p) for p in foreign]
        r['applied'] = False
        r['diff'] = {'before': {'node': self.node, 'pending': [describe_change(p) for p in pending]},
                     'after': {'node': self.node, 'pending': []}}
        if not pending or not (foreign or any(p['ours'] for p in pending)):
            return r      # nothing, or only another stand's bridges: that stand applies them
        if foreign and not apply_foreign:
            raise BridgeError(
                'node {0} has pending network changes this stand did not make: {1}. Applying would activate them '
                'too; review them (Node > System > Network in the web UI), apply or revert them yourself, or set '
                'apply_foreign_pending=true'.format(self.node, ', '.join(r['foreign_pending'])))
        if foreign:
            self._warn('applying pending network changes on {0} that this stand did not make: {1}'.format(
                self.node, ', '.join(r['foreign_pending'])))
        r['changed'] = True
        r['applied'] = True
        if self.check_mode:
            return r
        self._apply(timeout)
        left = self.read_pending()
        if left:
            raise BridgeError('node {0} still has pending network changes after applying: {1}'.format(
                self.node, ', '.join(describe_change(p) for p in left)))
        return r

    def _apply(self, timeout):
        """PUT /nodes/{node}/network (a srvreload task) and wait for it. After a broken connection the
        UPID is unknown: re-read, and apply again only if something is still pending."""
        for _attempt in range(ROUNDS):
            try:
                self.client.run_task('PUT', self.base, timeout=timeout)
                return
            except PveApiError as err:
                if err.kind != CONNECTION:
                    raise
                broken = err
            if not self.read_pending():
                return
        raise broken


class NodeApplies(object):
    """The network of some nodes finished by a class run, each node in its own thread: the pending config
    applied (`NodeBridges.applied`), after removing the bridges of `remove_userids` when it is given (destroy:
    `NodeBridges.absent`, only marked bridges no VM uses).

    Each node's thread starts when the object is made. A deploy makes it as the run begins: the bridges the
    network play staged come up while the clones run. A machine
    on one of these nodes waits for its node (`ready`) before its config or power is written, because hot-plugging
    a NIC or starting a VM needs the bridge up (pve-common PVE/Network.pm `tap_plug`: "bridge '<br>' does not
    exist"); a clone needs no bridge, so it overlaps the apply. Why: the network play's own apply (a handler after
    the bridges) held every clone back by ~4 s of a 30-student deploy (benchmarks/README.md, "Class-scale
    deploy"). Applying here also converges a run killed between the bridges and the apply: a node's pending
    bridges of the stand are applied whether or not this run made them.

    A destroy makes it once every student is done (their VMs gone): the bridges go in the same process, not in
    a play of module runs per node after it."""

    def __init__(self, client, stand, nodes, apply_foreign=False, timeout=DEFAULT_APPLY_TIMEOUT, check_mode=False,
                 remove_userids=None):
        self._work = dict((node, NodeBridges(client, node, stand, check_mode=check_mode, warn=self._warn))
                          for node in nodes or ())
        self._done = dict((node, threading.Event()) for node in self._work)
        self._apply_foreign = apply_foreign
        self._timeout = timeout
        self._remove = remove_userids
        self._lock = threading.Lock()
        self.results = {}
        self.warnings = []
        for node in sorted(self._work):
            thread = threading.Thread(target=self._apply, args=(node,))
            thread.daemon = True          # a run that fails as a whole does not wait for an apply
            thread.start()

    def _warn(self, msg):
        with self._lock:
            self.warnings.append(msg)

    def _apply(self, node):
        out = {}
        try:
            if self._remove is not None:
                gone = self._work[node].absent(userids=self._remove)
                out.update(deleted=list(gone['deleted']), in_use=list(gone['in_use']))
            done = self._work[node].applied(self._apply_foreign, self._timeout)
            out.update((key, done[key]) for key in ('applied', 'pending', 'foreign_pending'))
        except BridgeError as exc:
            out.update(failed=True, msg=str(exc))
        except PveApiError as err:
            out.update(failed=True, msg=err.message)
        except Exception as exc:  # pylint: disable=broad-except
            # a thread's exception would be lost, and the node's machines would wait for ever
            out.update(failed=True, msg='unexpected error: {0!r}'.format(exc))
        with self._lock:
            self.results[node] = out
        self._done[node].set()

    def ready(self, node):
        """Returns once `node`'s network config is applied (at once for a node not in the run); raises
        StandError when its apply failed."""
        event = self._done.get(node)
        if event is None:
            return
        event.wait()
        failed = self.results[node]
        if failed.get('failed'):
            raise StandError('the network config of node {0} is not applied, so its bridges are not up: {1}'.format(
                node, failed['msg']))

    def finish(self, warn):
        """Every node's outcome (node -> applied/pending/foreign_pending, deleted/in_use when it removed bridges,
        or failed/msg), once all are done; each warning and each failed node goes to warn()."""
        for event in self._done.values():
            event.wait()
        for msg in self.warnings:
            warn(msg)
        for node in sorted(self.results):
            if self.results[node].get('failed'):
                what = 'private bridges of node {0} not removed and applied' if self._remove is not None else \
                    'network config of node {0} not applied'
                warn('{0}: {1}'.format(what.format(node), self.results[node]['msg']))
        return dict(self.results)


def _vmbr_key(iface):
    found = VMBR_RE.match(iface)
    return (0, int(found.group(1)), iface) if found else (1, 0, iface)
