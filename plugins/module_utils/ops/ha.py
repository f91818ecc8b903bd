# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The stand's HA resources through the API (pve-ha-manager src/PVE/API2/HA/Resources.pm): `vm:<vmid>` with the
student's pool marker as `comment`, found again by it; only resources carrying the marker are changed or
deleted. PVE 9 keeps node placement in HA rules (/cluster/ha/rules), PVE 8 in groups (/cluster/ha/groups); the
stand needs neither (a resource without rule or group may run on any node), and the result says which the
cluster has (`ha_config`)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.formats import parse_tags
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.names import (
    owns, parse_marker, pool_marker, stand_tag,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.client import PERMISSION, PveApiError


class StandHa(object):
    def __init__(self, client, params, check_mode=False, warn=None):
        self.client = client
        self.p = params
        self.check_mode = check_mode
        self.warn = warn or (lambda msg: None)
        self.result = {'changed': False, 'added': [], 'removed': [], 'foreign': [], 'ha_config': None}

    def _resources(self):
        return dict((r['sid'], r) for r in self.client.get('cluster/ha/resources') or [] if r.get('sid'))

    def _stand_vms(self):
        tag = stand_tag(self.p['stand'])
        out = {}
        for item in self.client.get('cluster/resources', type='vm') or []:
            if item.get('type') == 'qemu' and tag in parse_tags(item.get('tags')):
                out[(item.get('pool'), item.get('name'))] = int(item['vmid'])
        return out

    def _ours(self, resource, userids=None):
        marker = parse_marker(resource.get('comment'))
        if not marker or marker['stand'] != self.p['stand'] or not marker['userid'] or marker['alias']:
            return False
        if not owns(resource.get('comment'), pool_marker(self.p['stand'], marker['userid'])):
            return False
        return userids is None or marker['userid'] in userids

    def run(self):
        major = self.client.release()[0]
        self.result['ha_config'] = 'rules' if major >= 9 else 'groups'
        r = self.result
        try:
            resources = self._resources()
        except PveApiError as err:
            if err.kind != PERMISSION or self.p['state'] != 'absent':
                raise
            # reading HA needs Sys.Audit on /, making a resource Sys.Console on / (Resources.pm): an identity
            # that cannot read them cannot have made any
            r['unreadable'] = err.message
            return r
        if self.p['state'] == 'present':
            vms = self._stand_vms()
            wanted = {}
            for machine in self.p['machines']:
                vmid = vms.get((machine['pool'], machine['name']))
                if vmid is None:
                    self.warn('HA: VM {0} of pool {1} does not exist (yet): not registered'.format(
                        machine['name'], machine['pool']))
                    continue
                wanted['vm:{0}'.format(vmid)] = machine
            for sid, machine in sorted(wanted.items()):
                have = resources.get(sid)
                if have is None:
                    params = {'sid': sid, 'comment': machine['marker'],
                              'state': 'started' if self.p['start'] else 'stopped'}
                    if not self.check_mode:
                        self.client.post('cluster/ha/resources', **params)
                    r['added'].append(sid)
                elif not owns(have.get('comment'), machine['marker']):
                    r['foreign'].append('{0} is an HA resource without the marker {1} (comment {2!r}): left as '
                                        'it is'.format(sid, machine['marker'], have.get('comment') or ''))
            scope = set(self.p['userids'])
            gone = [sid for sid, res in sorted(resources.items())
                    if sid not in wanted and self._ours(res, scope)]
        else:
            gone = [sid for sid, res in sorted(resources.items()) if self._ours(res, set(self.p['userids']))]
        for sid in gone:
            if not self.check_mode:
                # purge=0 keeps the VM's other references; only the HA resource goes (Resources.pm delete)
                self.client.delete('cluster/ha/resources/{0}'.format(sid), purge=0)
            r['removed'].append(sid)
        for line in r['foreign']:
            self.warn(line)
        r['changed'] = bool(r['added'] or r['removed'])
        return r
