# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reads the status of one stand's class through the one API client (module pve_stand_status).

One cluster read for the whole class - stand_reader.read_cluster_answers: `/cluster/resources`,
`/pools`, `/access/users`, one bridge list per online node - then, per stand VM, side by side in a
bounded number of threads (stand_reader.AddressReader's workers): its config (the NICs' bridges),
its snapshot list and, for a running VM, its guest agent's addresses (one call, never retried; an
agent that is off gives PVE's reason and no address). No write, ever.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.client import PveApiError
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.inputs import (
    normalize_stand, normalize_users,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.names import pool_id
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.info import find_stands, stand_vms
from ansible_collections.deploystand.proxmox.plugins.module_utils.ops.stand_reader import (
    DEFAULT_AGENT_WORKERS, AddressReader, read_cluster_answers,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.status import (
    class_status, snapshots_of,
)


class StatusInputError(Exception):
    """The stand, the class or the limit is not usable; `problems` lists every reason."""

    def __init__(self, problems):
        super(StatusInputError, self).__init__('; '.join(problems))
        self.problems = problems


def status_inputs(stand_raw, users_raw, limit=None):
    """(stand, students) normalised by the plan's own rules, students narrowed to `limit` (userids);
    raises StatusInputError with every problem (bad stand, bad class list, a limit not in the class)."""
    stand, errors = normalize_stand(stand_raw)
    students, user_errors = normalize_users(users_raw)
    errors = errors + user_errors
    if not errors and not students:
        errors.append('users: the class list is empty')
    if errors:
        raise StatusInputError(errors)
    userids = [s['userid'] for s in students]
    unknown = [u for u in limit or [] if u not in userids]
    if unknown:
        raise StatusInputError(['stand_limit: {0} {1} not in the class of this run ({2})'.format(
            ', '.join(unknown), 'is' if len(unknown) == 1 else 'are', ', '.join(userids))])
    chosen = [dict(s, pool=pool_id(stand['name'], s['userid'])) for s in students
              if not limit or s['userid'] in limit]
    return stand, chosen


class DetailReader(AddressReader):
    """Per VM: config, snapshot list and (running VMs, when asked) the agent's addresses, into `details`."""

    def __init__(self, client, addresses=True, workers=DEFAULT_AGENT_WORKERS, **selection):
        super(DetailReader, self).__init__(client, workers=workers, **selection)
        self.addresses = addresses
        self.details = {}
        self.failed = []

    def ask(self, vm):
        detail = {}
        base = 'nodes/{0}/qemu/{1}'.format(vm['node'], vm['vmid'])
        try:
            detail['config'] = self.client.get(base + '/config')
            detail['snapshots'] = snapshots_of(self.client.get(base + '/snapshot'))
        except PveApiError as err:
            # a VM destroyed since the resources were read, a refused read: said, not fatal
            detail['error'] = err.message
            with self._lock:
                self.failed.append(err.message)
        if self.addresses:
            AddressReader.ask(self, vm)
            detail.update(addresses=vm['addresses'], address=vm['address'], agent=vm['agent'])
        else:
            detail['agent'] = 'not asked'
        with self._lock:
            self.details[vm['vmid']] = detail

    def warnings(self):
        out = AddressReader.warnings(self)
        if self.failed:
            out.append('{0} VM(s) could not be read fully (first: {1})'.format(len(self.failed), self.failed[0]))
        return out


def _name_look_alikes(found, resources):
    vms = dict((int(r['vmid']), r) for r in resources if r.get('type') == 'qemu' and r.get('vmid') is not None)
    for item in found['look_alikes']:
        if item['kind'] == 'vm' and int(item['id']) in vms:
            item.setdefault('name', vms[int(item['id'])].get('name'))
            item.setdefault('status', vms[int(item['id'])].get('status'))


def read_status(client, stand_raw, users_raw, limit=None, addresses=True, workers=DEFAULT_AGENT_WORKERS,
                interface=None, networks=None, family='ipv4'):
    """The class status (stand_status.class_status) plus `unseen` (what could not be read) and
    `requests` (how many per-VM reads were made). Raises StatusInputError before any read."""
    stand, students = status_inputs(stand_raw, users_raw, limit)
    resources, pools, users, bridges, _volumes, warnings = read_cluster_answers(client, created=False)
    # the whole class: also the stand's look-alikes that name no student (a tagged VM in no pool)
    found = find_stands(resources, pools, users, bridges, stands=[stand['name']],
                        students=[s['userid'] for s in students] if limit else None)
    _name_look_alikes(found, resources)
    online = set(r['node'] for r in resources if r.get('type') == 'node' and r.get('status') == 'online')
    reader = DetailReader(client, addresses=addresses, workers=workers, interface=interface, networks=networks,
                          family=family)
    chosen = set(s['userid'] for s in students)
    reader.ask_all(vm for _stand, student, vm in stand_vms(found)
                   if vm['node'] in online and student['userid'] in chosen)
    status = class_status(stand, students, found, reader.details, bridges)
    status['unseen'] = warnings + found['unseen'] + reader.warnings()
    status['look_alikes'] = found['look_alikes']
    return status
