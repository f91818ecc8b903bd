# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The stand's HA resources and their node placement through the API (pve-ha-manager src/PVE/API2/HA/
Resources.pm, Rules.pm, Groups.pm).

Resources: `vm:<vmid>` with the student's pool marker as `comment`, found again by it; only resources carrying
the marker are changed or deleted.

Placement, one per stand and node (id deploystand_<stand>_<node>, comment with the stand marker
deploystand:<stand>), so that a VM fails over and comes back to the node the plan chose:
- PVE 9: a node-affinity rule (POST /cluster/ha/rules type=node-affinity, resources, nodes=<node>, strict=0:
  prefer that node, run anywhere when it is down). A resource may be in one node-affinity rule only
  (Rules/NodeAffinity.pm check_single_resource_reference), so rules lose resources before others gain them.
- PVE 8: an unrestricted HA group with that one node (Groups.pm: "a 'preferred node' behavior using an
  unrestricted group with only one member"), nofailback=0, and each resource's `group` names it. A group in
  use cannot be deleted (API2/HA/Groups.pm), so resources go first.
A rule or group with that id but without the marker is refused before anything is written, never changed."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.formats import parse_tags
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.names import (
    owns, parse_marker, pool_marker, stand_tag,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.ha import (
    parse_node_list, placement_comment, placement_id, placement_marker, placement_node, split_resources,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.client import PERMISSION, PveApiError


class HaRefused(Exception):
    """A placement id held by a rule or group the stand did not make: nothing was written."""


class StandHa(object):
    def __init__(self, client, params, check_mode=False, warn=None):
        self.client = client
        self.p = params
        self.check_mode = check_mode
        self.warn = warn or (lambda msg: None)
        self.kind = None
        self.other_rules = {}
        self.result = {'changed': False, 'added': [], 'removed': [], 'foreign': [], 'ha_config': None,
                       'placements_added': [], 'placements_changed': [], 'placements_removed': [], 'regrouped': []}

    # ------------------------------------------------------------ reads

    def _resources(self):
        return dict((r['sid'], r) for r in self.client.get('cluster/ha/resources') or [] if r.get('sid'))

    def _placements(self):
        """{id: {'node', 'resources', 'nodes', 'strict', 'restricted', 'nofailback', 'comment', 'ours'}} of the
        rules (PVE 9) or groups (PVE 8) whose id has this stand's placement form."""
        if self.kind == 'rules':
            items, key = self.client.get('cluster/ha/rules', type='node-affinity') or [], 'rule'
        else:
            items, key = self.client.get('cluster/ha/groups') or [], 'group'
        out = {}
        self.other_rules = {}
        for item in items:
            pid = item.get(key)
            node = placement_node(self.p['stand'], pid)
            if self.kind == 'rules' and item.get('type', 'node-affinity') != 'node-affinity':
                continue
            if node is None or not owns(item.get('comment'), placement_marker(self.p['stand'])):
                self._note_other_rule(pid, item)
            if node is None:
                continue
            out[pid] = {'node': node, 'resources': split_resources(item.get('resources')),
                        'nodes': parse_node_list(item.get('nodes')), 'comment': item.get('comment') or '',
                        'flags': [bool(int(item.get(f) or 0)) for f in ('strict', 'restricted', 'nofailback')],
                        'ours': owns(item.get('comment'), placement_marker(self.p['stand']))}
        return out

    def _note_other_rule(self, rid, item):
        """{sid: rule id} of the enabled node-affinity rules the stand did not make: PVE lets a resource be in one
        such rule only, so a stand resource an admin put in one keeps that placement."""
        if self.kind != 'rules' or int(item.get('disable') or 0):
            return
        for sid in split_resources(item.get('resources')):
            self.other_rules.setdefault(sid, rid)

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

    # ------------------------------------------------------------ writes (none in check mode)

    def _write(self, method, path, **params):
        if not self.check_mode:
            getattr(self.client, method)(path, **params)

    def _label(self):
        return 'HA rule' if self.kind == 'rules' else 'HA group'

    def _placement_settings(self, node):
        """What a placement of this stand on `node` holds besides its resources."""
        settings = {'nodes': node, 'comment': placement_comment(self.p['stand'], node)}
        if self.kind == 'rules':
            settings['strict'] = 0
        else:
            settings.update(restricted=0, nofailback=0)
        return settings

    @staticmethod
    def _settings_match(have, node):
        return have['nodes'] == {node: 0} and not any(have['flags'])

    # ------------------------------------------------------------ plan

    def _wanted(self, resources):
        """{sid: machine} of the listed machines whose VM exists."""
        vms = self._stand_vms() if self.p['machines'] else {}
        wanted = {}
        for machine in self.p['machines']:
            vmid = vms.get((machine['pool'], machine['name']))
            if vmid is None:
                self.warn('HA: VM {0} of pool {1} does not exist (yet): not registered'.format(
                    machine['name'], machine['pool']))
                continue
            wanted['vm:{0}'.format(vmid)] = machine
        return wanted

    def _refuse_foreign(self, nodes, placements):
        """One message for every node whose placement id is taken by a rule or group without the marker."""
        taken = []
        for node in sorted(nodes):
            pid = placement_id(self.p['stand'], node)
            have = placements.get(pid)
            if have is not None and not have['ours']:
                taken.append('{0} {1} exists without the marker {2} (comment {3!r})'.format(
                    self._label(), pid, placement_marker(self.p['stand']), have['comment']))
        if taken:
            raise HaRefused('HA placement refused, nothing was changed: {0}; it is not the stand\'s and is left as '
                            'it is: rename or remove it, or set ha: false'.format('; '.join(taken)))

    def _note_foreign_placements(self, placements):
        for pid, have in sorted(placements.items()):
            if not have['ours']:
                self.result['foreign'].append('{0} {1} has no marker {2} (comment {3!r}): left as it is'.format(
                    self._label(), pid, placement_marker(self.p['stand']), have['comment']))

    # ------------------------------------------------------------ run

    def run(self):
        major = self.client.release()[0]
        self.kind = self.result['ha_config'] = 'rules' if major >= 9 else 'groups'
        try:
            resources = self._resources()
            placements = self._placements()
        except PveApiError as err:
            if err.kind != PERMISSION or (self.p['state'] == 'present' and self.p['machines']):
                raise
            # reading HA needs Sys.Audit on /, making a resource Sys.Console on / (Resources.pm): an identity
            # that cannot read them cannot have made any (destroy, or a deploy of a stand without HA)
            self.result['unreadable'] = err.message
            return self.result
        scope = set(self.p['userids'])
        if self.p['state'] == 'present':
            self._present(resources, placements, scope)
        else:
            self._absent(resources, placements, scope)
        for line in self.result['foreign']:
            self.warn(line)
        r = self.result
        r['changed'] = any(r[key] for key in ('added', 'removed', 'placements_added', 'placements_changed',
                                              'placements_removed', 'regrouped'))
        return r

    def has_objects(self):
        """Whether the cluster holds an HA resource with one of the stand's markers or an HA rule (group) of its
        placement form, the stand's own or a look-alike: without either and with no machine asking for HA the
        HA step has nothing to do or to report, and the plan lets the playbooks skip it (a module run saved on
        every deploy and destroy). An identity that cannot read HA config cannot have made any: False."""
        self.kind = 'rules' if self.client.release()[0] >= 9 else 'groups'
        try:
            resources, placements = self._resources(), self._placements()
        except PveApiError as err:
            if err.kind != PERMISSION:
                raise
            return False
        return bool(placements) or any(self._ours(res) for res in resources.values())

    def _groups_left_on_pve9(self):
        """Ids of HA groups a PVE 9 cluster still has. The CRM migrates them to rules once every node is online
        on PVE 9 (HA/Manager.pm try_persistent_group_migration); until then rules cannot be made (API2/HA/
        Rules.pm: `ha groups have not been migrated yet`) and GET /cluster/ha/groups lists them; afterwards it
        fails (`cannot index groups: ha groups have been migrated to rules`), which is the normal case."""
        try:
            # once: the failure is the usual answer, and a retry would only wait
            return sorted(g.get('group') for g in self.client.get_once('cluster/ha/groups') or [] if g.get('group'))
        except PveApiError:
            return []

    def _refuse_unmigrated_groups(self):
        left = self._groups_left_on_pve9()
        if left:
            raise HaRefused('HA placement refused, nothing was changed: this PVE 9 cluster still has the HA groups '
                            '{0}, which PVE migrates to rules once every node runs PVE 9 and is online; no HA rule '
                            'can be made before that: run again after the migration'.format(', '.join(left)))

    def _present(self, resources, placements, scope):
        if self.kind == 'rules' and self.p['machines']:
            self._refuse_unmigrated_groups()
        wanted = self._wanted(resources)
        placed = {}   # sid -> node, for the wanted resources that are (or become) the stand's
        for sid, machine in sorted(wanted.items()):
            have = resources.get(sid)
            if have is not None and not owns(have.get('comment'), machine['marker']):
                self.result['foreign'].append('{0} is an HA resource without the marker {1} (comment {2!r}): left '
                                              'as it is'.format(sid, machine['marker'], have.get('comment') or ''))
            elif sid in self.other_rules:
                self.result['foreign'].append('{0} is in the node-affinity rule {1}, which the stand did not make: '
                                              'its placement is left to that rule'.format(sid, self.other_rules[sid]))
            elif machine.get('node'):
                placed[sid] = machine['node']
        gone = [sid for sid, res in sorted(resources.items()) if sid not in wanted and self._ours(res, scope)]
        self._refuse_foreign(set(placed.values()), placements)
        self._note_foreign_placements(placements)
        if self.kind == 'rules':
            self._add_resources(wanted, resources, {})
            self._converge_rules(self._desired_rules(placed, resources, placements, scope, gone), placements)
            self._remove_resources(gone)
        else:
            groups = dict((sid, placement_id(self.p['stand'], node)) for sid, node in placed.items())
            self._ensure_groups(set(placed.values()), placements)
            self._add_resources(wanted, resources, groups)
            self._regroup(groups, resources)
            self._remove_resources(gone)
            self._drop_unused_groups(placements, resources, groups, gone)

    def _absent(self, resources, placements, scope):
        gone = [sid for sid, res in sorted(resources.items()) if self._ours(res, scope)]
        self._note_foreign_placements(placements)
        if self.kind == 'rules':
            self._converge_rules(self._desired_rules({}, resources, placements, scope, gone), placements)
            self._remove_resources(gone)
        else:
            self._remove_resources(gone)
            self._drop_unused_groups(placements, resources, {}, gone)

    # ------------------------------------------------------------ resources

    def _add_resources(self, wanted, resources, groups):
        for sid, machine in sorted(wanted.items()):
            if sid in resources:
                continue
            params = {'sid': sid, 'comment': machine['marker'], 'state': 'started' if self.p['start'] else 'stopped'}
            if groups.get(sid):
                params['group'] = groups[sid]
            self._write('post', 'cluster/ha/resources', **params)
            self.result['added'].append(sid)

    def _remove_resources(self, gone):
        for sid in gone:
            # purge=0 keeps the VM's other references; only the HA resource goes (Resources.pm delete). The
            # stand's own rules no longer list it by now.
            self._write('delete', 'cluster/ha/resources/{0}'.format(sid), purge=0)
            self.result['removed'].append(sid)

    # ------------------------------------------------------------ PVE 9 rules

    def _desired_rules(self, placed, resources, placements, scope, gone):
        """{rule id: sorted sids} for every node the stand has a rule on or needs one on. A rule keeps the
        resources of students out of this run's scope; resources that are no longer HA managed drop out."""
        leaving = set(gone) | set(placed)
        desired = {}
        for pid, have in placements.items():
            if have['ours']:
                desired[pid] = set(sid for sid in have['resources'] if sid in resources and sid not in leaving
                                   and not self._ours(resources[sid], scope))
        for sid, node in placed.items():
            desired.setdefault(placement_id(self.p['stand'], node), set()).add(sid)
        return dict((pid, sorted(sids)) for pid, sids in desired.items())

    def _converge_rules(self, desired, placements):
        """Shrink and delete first, then create and grow: a resource is never in two node-affinity rules."""
        current = dict((pid, list(have['resources'])) for pid, have in placements.items() if have['ours'])
        for pid in sorted(current):
            want = desired.get(pid) or []
            keep = [sid for sid in current[pid] if sid in want]
            if keep == current[pid]:
                continue
            if keep:
                self._write('put', 'cluster/ha/rules/{0}'.format(pid), resources=','.join(keep))
                current[pid] = keep
            else:
                self._write('delete', 'cluster/ha/rules/{0}'.format(pid))
                del current[pid]
                if not want:
                    self.result['placements_removed'].append(pid)
        for pid, want in sorted(desired.items()):
            if not want:
                continue
            node = placement_node(self.p['stand'], pid)
            settings = self._placement_settings(node)
            if pid not in current:
                self._write('post', 'cluster/ha/rules', rule=pid, type='node-affinity', resources=','.join(want),
                            **settings)
                (self.result['placements_changed'] if pid in placements else self.result['placements_added']).append(pid)
            elif current[pid] != want or not self._settings_match(placements[pid], node):
                self._write('put', 'cluster/ha/rules/{0}'.format(pid), resources=','.join(want), **settings)
                self.result['placements_changed'].append(pid)
            elif current[pid] != placements[pid]['resources']:
                self.result['placements_changed'].append(pid)   # shrunk in the first pass

    # ------------------------------------------------------------ PVE 8 groups

    def _ensure_groups(self, nodes, placements):
        for node in sorted(nodes):
            pid = placement_id(self.p['stand'], node)
            have = placements.get(pid)
            if have is None:
                self._write('post', 'cluster/ha/groups', group=pid, **self._placement_settings(node))
                self.result['placements_added'].append(pid)
            elif not self._settings_match(have, node):
                self._write('put', 'cluster/ha/groups/{0}'.format(pid), **self._placement_settings(node))
                self.result['placements_changed'].append(pid)

    def _regroup(self, groups, resources):
        """The stand's existing resources name their node's group."""
        for sid, gid in sorted(groups.items()):
            have = resources.get(sid)
            if have is not None and have.get('group') != gid:
                self._write('put', 'cluster/ha/resources/{0}'.format(sid), group=gid)
                self.result['regrouped'].append(sid)

    def _drop_unused_groups(self, placements, resources, groups, gone):
        """The stand's groups no resource names any more (after this run's changes) are deleted."""
        used = set()
        for sid, res in resources.items():
            if sid not in gone:
                used.add(groups.get(sid, res.get('group')))
        used.update(groups.values())
        for pid, have in sorted(placements.items()):
            if have['ours'] and pid not in used:
                self._write('delete', 'cluster/ha/groups/{0}'.format(pid))
                self.result['placements_removed'].append(pid)
