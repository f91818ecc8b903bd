# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""SDN through the API: the SDN facts the plan reads, and converging a stand's VNets with one apply.

PVE facts relied on (pve-network, docs/decisions.md "SDN: one apply, the lock"):
- writes to zones and VNets change the written config only; `PUT /cluster/sdn` commits it and reloads
  every node's network (API2/Network/SDN.pm `reload`), a task;
- `GET /cluster/sdn/{zones,vnets}?pending=1` shows each object with `state` (new, changed, deleted) and
  the `pending` values (Network/SDN.pm `pending_config`);
- PVE 9 has a global lock: `POST /cluster/sdn/lock` returns a token every later change, the apply
  and the release must carry (`lock-token`); `allow-pending` takes it with pending changes; the apply
  releases it by default (`release-lock`); `POST /cluster/sdn/rollback` drops the pending changes.
  PVE 8 has none of that (the path answers 501).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.names import (
    bridge_marker, owns, parse_marker,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.client import VERSION, PveApiError
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.cluster import read_sdn


class SdnError(Exception):
    """A request pve_stand_vnets refuses; the message says what to do."""


def _ours(stand, item, own_zone):
    """A pending object this stand made: a VNet with its marker, or its own zone."""
    if own_zone and item.get('id') == own_zone:
        return True
    marker = parse_marker(item.get('alias'))
    return bool(marker and marker['stand'] == stand and marker['userid'] and marker['alias']
                and owns(item.get('alias'), bridge_marker(stand, marker['userid'], marker['alias'])))


class StandVnets(object):
    """Converges the VNets of one stand (present: the plan's VNets; absent: the listed ones) with at most one
    apply, under the PVE 9 SDN lock. params: the module's options."""

    def __init__(self, client, params, check_mode=False, warn=None):
        self.client = client
        self.p = params
        self.check_mode = check_mode
        self.warn = warn or (lambda msg: None)
        self.stand = params['stand']
        self.token = None
        self.locked = False
        self.result = {'changed': False, 'created': [], 'updated': [], 'deleted': [], 'zone_created': None,
                       'zone_deleted': None, 'applied': False, 'apply_task': None, 'lock': None,
                       'foreign_pending': [], 'mapping': {}, 'unprotected': None}

    # ------------------------------------------------------------------ reads

    def _pending_split(self, sdn, own_zone):
        ours, foreign = [], []
        for kind in ('zones', 'vnets'):
            for oid, info in sorted(sdn['pending'][kind].items()):
                item = dict(info, id=oid)
                line = '{0} {1} ({2})'.format(kind[:-1], oid, info.get('state'))
                (ours if (kind == 'vnets' and _ours(self.stand, item, None))
                 or (kind == 'zones' and own_zone and oid == own_zone) else foreign).append(line)
        return ours, foreign

    # ------------------------------------------------------------------ lock

    def _take_lock(self, allow_pending):
        try:
            self.token = self.client.post('cluster/sdn/lock', **({'allow-pending': 1} if allow_pending else {}))
            self.locked = True
            self.result['lock'] = 'taken'
        except PveApiError as err:
            if err.kind == VERSION or err.status == 501:
                self.result['lock'] = 'none (PVE 8)'
                self.result['unprotected'] = (
                    'PVE 8 has no SDN lock: a change another admin makes to the SDN config between this run\'s '
                    'writes and its apply is applied with them, and theirs may apply ours')
                self.warn(self.result['unprotected'])
                return
            raise SdnError('the SDN configuration is locked by someone else (or has pending changes): {0}. '
                           'Nothing was changed; run again once the other change is applied or its lock '
                           'released'.format(err.message))

    def _release(self, rollback=False):
        if not self.locked:
            return
        self.locked = False
        try:
            if rollback:
                self.client.post('cluster/sdn/rollback', **{'lock-token': self.token})
            else:
                self.client.delete('cluster/sdn/lock', **{'lock-token': self.token})
        except PveApiError as err:
            self.warn('the SDN lock could not be released: {0}'.format(err.message))

    def _args(self, **params):
        if self.token:
            params['lock-token'] = self.token
        return params

    # ------------------------------------------------------------------ work

    def _plan_present(self, sdn):
        p = self.p
        ops = []
        zone = p['zone']
        if p.get('create_zone') and zone not in sdn['zones']:
            create = p['create_zone']
            params = {'type': create['type'], 'zone': zone}
            if create.get('peers'):
                params['peers'] = ','.join(create['peers'])
            if create.get('nodes'):
                params['nodes'] = ','.join(create['nodes'])
            ops.append(('zone_created', zone, 'post', 'cluster/sdn/zones', params))
        for vnet in p['vnets']:
            vid = vnet['vnet']
            self.result['mapping'].setdefault(vnet['userid'], {})[vnet['network']] = vid
            have = sdn['vnets'].get(vid)
            if have is None:
                params = {'vnet': vid, 'zone': vnet['zone'], 'alias': vnet['alias']}
                if vnet.get('tag') is not None:
                    params['tag'] = vnet['tag']
                ops.append(('created', vid, 'post', 'cluster/sdn/vnets', params))
                continue
            if not owns(have.get('alias'), vnet['alias']):
                raise SdnError('VNet {0} exists without the marker {1} (alias {2!r}): it is not this stand\'s; plan '
                               'again'.format(vid, vnet['alias'], have.get('alias') or ''))
            if have.get('zone') != vnet['zone']:
                raise SdnError('VNet {0} of the stand is in zone {1}, not {2}'.format(
                    vid, have.get('zone'), vnet['zone']))
            if vnet.get('tag') is not None and have.get('tag') != vnet['tag']:
                ops.append(('updated', vid, 'put', 'cluster/sdn/vnets/{0}'.format(vid), {'tag': vnet['tag']}))
        return ops

    def _plan_absent(self, sdn):
        ops = []
        gone = set()
        for vnet in self.p['vnets']:
            vid = vnet['vnet']
            have = sdn['vnets'].get(vid)
            if have is None:
                continue
            if not owns(have.get('alias'), vnet['alias']):
                self.warn('VNet {0} does not carry the marker {1} (alias {2!r}): not removed'.format(
                    vid, vnet['alias'], have.get('alias') or ''))
                continue
            gone.add(vid)
            ops.append(('deleted', vid, 'delete', 'cluster/sdn/vnets/{0}'.format(vid), {}))
        zone = self.p.get('delete_zone')
        if zone and zone in sdn['zones'] and not [v for v, c in sdn['vnets'].items()
                                                  if c.get('zone') == zone and v not in gone]:
            ops.append(('zone_deleted', zone, 'delete', 'cluster/sdn/zones/{0}'.format(zone), {}))
        return ops

    def run(self):
        p = self.p
        sdn = read_sdn(self.client)
        if sdn is None:
            raise SdnError('this cluster has no SDN API (GET /cluster/sdn/zones); use stand.network.mode bridges')
        own_zone = p['zone'] if p.get('create_zone') else p.get('delete_zone')
        ops = self._plan_present(sdn) if p['state'] == 'present' else self._plan_absent(sdn)
        ours, foreign = self._pending_split(sdn, own_zone)
        self.result['foreign_pending'] = foreign
        r = self.result
        for kind, oid, _m, _path, _params in ops:
            if kind in ('created', 'updated', 'deleted'):
                r[kind].append(oid)
            else:
                r[kind] = oid
        needs_apply = bool(ops or ours)
        r['pending_own'] = ours
        if not needs_apply:
            # a node whose reload failed in an earlier apply still runs the old SDN config: apply again
            stale_nodes = self._not_ready()
            if not stale_nodes:
                return r
            r['reapply_for'] = stale_nodes
            needs_apply = True
        r['changed'] = needs_apply
        if foreign and not p['apply_foreign_pending']:
            raise SdnError('the SDN configuration has pending changes this stand did not make: {0}. An apply would '
                           'apply them too: apply or revert them first, or run with '
                           'stand_sdn_apply_foreign_pending=true. Nothing was changed'.format(', '.join(foreign)))
        if self.check_mode:
            r['applied'] = True
            return r
        self._take_lock(allow_pending=bool(ours or foreign))
        clean_before = not (ours or foreign)
        try:
            for _kind, _oid, method, path, params in ops:
                getattr(self.client, method)(path, **self._args(**params))
        except PveApiError as err:
            # nothing of this run is applied: a lock taken on a clean config rolls our writes back with it
            self._release(rollback=clean_before)
            raise SdnError('SDN change failed: {0}{1}'.format(err.message, ' (rolled back)' if clean_before else ''))
        try:
            upid = self.client.put('cluster/sdn', **self._args())
            r['apply_task'] = upid
            if upid:
                self.client.wait_task(upid, timeout=p['apply_timeout'])
            self.locked = False            # the apply released it (release-lock defaults to 1)
            r['applied'] = True
        except PveApiError as err:
            self._release()
            raise SdnError('the SDN apply (PUT /cluster/sdn) failed: {0}. The changes stay written; the next run '
                           'applies them'.format(err.message))
        r['not_ready'] = self._not_ready()
        if r['not_ready']:
            self.warn('after the SDN apply, VNets are not up on every node: {0}'.format('; '.join(r['not_ready'])))
        return r

    def _not_ready(self):
        """VNets of this run's zone that a node does not show as available (a node whose reload failed)."""
        if self.p['state'] != 'present' or not self.p['vnets']:
            return []
        zone = self.p['zone']
        wanted = set(v['vnet'] for v in self.p['vnets'])
        out = []
        for node in self.p.get('zone_nodes') or []:
            try:
                content = self.client.get('nodes/{0}/sdn/zones/{1}/content'.format(node, zone)) or []
            except PveApiError as err:
                out.append('{0}: {1}'.format(node, err.message))
                continue
            bad = sorted(c['vnet'] for c in content if c.get('vnet') in wanted and c.get('status') != 'available')
            if bad:
                out.append('{0}: {1}'.format(node, ', '.join(bad)))
        return out
