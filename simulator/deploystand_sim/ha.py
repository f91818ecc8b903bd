"""HA resources, PVE 9 rules and PVE 8 groups, and power that goes through the HA stack.

Follows pve-ha-manager src/PVE/API2/HA/Resources.pm, Rules.pm, Groups.pm and src/PVE/HA/Config.pm,
Resources.pm, Resources/PVEVM.pm, Rules/NodeAffinity.pm. fakepve's FakeVm.ha_state (the service state;
None: not HA managed) already makes a VM destroy without `purge` fail and sends start/stop through
`hastart`/`hastop` tasks; this module keeps resources.cfg and acts as the CRM/LRM after `ha_delay`.

Modelled: resources (vm:<id> only), their requested state, the CRM starting or stopping the VM to match
it (a failed start puts the service in `error`), HA migration, rules (stored and checked, not used for
placement), groups (PVE 8), the id format of rules and groups, and of the rule feasibility checks only
NodeAffinity.pm check_single_resource_reference (a resource in at most one enabled node-affinity rule). Not
modelled: fencing, node failure recovery, relocation, the other feasibility checks.
"""

import asyncio
import copy
import hashlib
import json
import re

from fakepve.model import PveError
from fakepve.routing import check_digest, die, param_error, split_list

from .sdn import perl_text
from .tasks import finished

RESOURCE_OPTIONS = ('state', 'group', 'comment', 'failback', 'max_restart', 'max_relocate', 'auto-rebalance')
RULE_OPTIONS = {'node-affinity': (('resources', 'nodes'), ('strict', 'disable', 'comment')),
                'resource-affinity': (('resources', 'affinity'), ('disable', 'comment'))}
GROUP_OPTIONS = ('nodes', 'restricted', 'nofailback', 'comment')
# pve-common JSONSchema.pm CONFIGID_RE, the format of rule and group ids (pve-ha-manager Tools.pm pve-ha-rule-id,
# pve-ha-group-id): a letter, then at least one letter, digit, '_' or '-'; no length limit.
CONFIGID_RE = re.compile(r'^[a-z][a-z0-9_-]+$', re.I)


def check_configid(field, value):
    if not CONFIGID_RE.match(str(value or '')):
        # the wording of PVE's schema check of a `format` (pve-common JSONSchema.pm check_format)
        raise param_error(**{field: "invalid format - invalid configuration ID '{0}'\n".format(value)})


class HaApi(object):
    """Mixin of LabPve: /cluster/ha/resources, /cluster/ha/rules, /cluster/ha/groups."""

    def _init_ha(self):
        self.ha = {'resources': {}, 'rules': {}, 'groups': {}}

    def set_durations(self, **durations):
        super().set_durations(**durations)
        self.ha_delay = self.durations['ha_delay']

    def _routes_ha(self):
        res, rules, groups = '/cluster/ha/resources', '/cluster/ha/rules', '/cluster/ha/groups'
        return [('GET', res, self._ha_resources_list), ('POST', res, self._ha_resource_create),
                ('GET', res + '/{sid}', self._ha_resource_read), ('PUT', res + '/{sid}', self._ha_resource_update),
                ('DELETE', res + '/{sid}', self._ha_resource_delete),
                ('POST', res + '/{sid}/migrate', self._ha_resource_migrate),
                ('GET', rules, self._ha_rules_list), ('POST', rules, self._ha_rule_create),
                ('GET', rules + '/{rule}', self._ha_rule_read), ('PUT', rules + '/{rule}', self._ha_rule_update),
                ('DELETE', rules + '/{rule}', self._ha_rule_delete),
                ('GET', groups, self._ha_groups_list), ('POST', groups, self._ha_group_create),
                ('GET', groups + '/{group}', self._ha_group_read),
                ('PUT', groups + '/{group}', self._ha_group_update),
                ('DELETE', groups + '/{group}', self._ha_group_delete)]

    # ------------------------------------------------------------ helpers

    @staticmethod
    def _ha_locked(change, errmsg):
        """HA::Config lock_ha_domain: errors inside get errmsg as prefix."""
        try:
            return change()
        except PveError as e:
            raise die('{0}: {1}'.format(errmsg, perl_text(e))) from None

    def groups_migrated(self):
        """HA::Config have_groups_been_migrated: PVE 9 without any group left (PVE 8 always has groups)."""
        return self.pve_major >= 9 and not self.ha['groups']

    def parse_sid(self, sid):
        """HA::Config parse_sid: (sid, type, name); a bare VMID becomes vm:<id> or ct:<id>."""
        if sid.isdigit():
            if self.vm(int(sid)) is not None:
                return 'vm:' + sid, 'vm', sid
            if self.guest(int(sid)) is not None:
                return 'ct:' + sid, 'ct', sid
            raise die('unable to detect SID from VMID - VM/CT {0} does not exist'.format(sid))
        kind, sep, name = sid.partition(':')
        if not sep or not kind or not name:
            raise die("unable to parse service id '{0}'".format(sid))
        return sid, kind, name

    def _ha_vm(self, sid):
        kind, _, name = sid.partition(':')
        return self.vm(int(name)) if kind == 'vm' and name.isdigit() else None

    def _ha_digest(self, kind):
        return hashlib.sha1(json.dumps(self.ha[kind], sort_keys=True).encode()).hexdigest()

    async def _ha_later(self, action):
        """The CRM and LRM act about ha_delay PVE seconds after a request."""
        async def run():
            await self.pause(self.task_secs('ha_delay'))
            await action()
        if self.time_scale:
            asyncio.ensure_future(run())
        else:
            await run()

    # ------------------------------------------------------ the HA stack

    async def ha_follow(self, sid):
        """Make the VM match the requested state of its resource, as the CRM/LRM would."""
        resource, vm = self.ha['resources'].get(sid), self._ha_vm(sid)
        if resource is None or vm is None:
            return
        state = resource.get('state') or 'started'
        state = 'started' if state == 'enabled' else state
        if state == 'ignored':
            vm.ha_state = None
            return
        vm.ha_state = state
        want_running = state == 'started'
        if want_running != (vm.status == 'running'):
            await self._ha_later(lambda: self._lrm_power(vm, sid, want_running))

    async def _lrm_power(self, vm, sid, start):
        """The LRM's start (qmstart, with the bridge checks of any start) or stop, as root@pam."""
        if self.ha['resources'].get(sid) is None or vm not in self.vms:
            return

        async def power():
            if start:
                vm.apply_pending()
                vm.status = vm.qmpstatus = 'running'
            else:
                vm.status = vm.qmpstatus = 'stopped'
        ttype = 'qmstart' if start else 'qmshutdown'
        record = await finished(self, await self.task(vm.node, ttype, vm.vmid, 'root@pam', power, vm=vm))
        if record.get('exitstatus') != 'OK':
            # max_restart and max_relocate are used up at once: the service ends in `error`.
            vm.ha_state = 'error'

    async def _ha_request(self, vm, user, state):
        """fakepve's HA path of qm start/stop/shutdown: `ha-manager set <sid> --state`, then the CRM acts."""
        sid = 'vm:{0}'.format(vm.vmid)
        if sid not in self.ha['resources']:
            return await super()._ha_request(vm, user, state)
        verb = 'start' if state == 'started' else 'stop'

        async def request():
            self.ha['resources'][sid]['state'] = state
            await self.ha_follow(sid)
        return await self.task(vm.node, 'ha' + verb, vm.vmid, user, request, lock=False,
                               log=['Requesting HA {0} for VM {1}'.format(verb, vm.vmid)])

    async def ha_request_migration(self, vm, target, user):
        """qm migrate of an HA-managed VM: a `hamigrate` task; the CRM migrates it (online if running)."""
        async def request():
            await self.ha_crm_migrate(vm, target)
        return await self.task(vm.node, 'hamigrate', vm.vmid, user, request, lock=False,
                               log=['Requesting HA migration for VM {0} to node {1}'.format(vm.vmid, target)])

    async def ha_crm_migrate(self, vm, target):
        async def migrate():
            if target in self.nodes and self.nodes[target].get('online', True) and vm.node != target:
                await self.start_migration(vm, target, 'root@pam', vm.status == 'running')
        await self._ha_later(migrate)

    async def _qm_destroy(self, v, user):
        """qm destroy --purge also removes the VM's HA resource (and it from the rules) once it is gone."""
        upid = await super()._qm_destroy(v, user)
        sid = 'vm:{0}'.format(v['vmid'])
        if v.get('purge') and sid in self.ha['resources']:
            async def purge():
                if (await finished(self, upid)).get('exitstatus') == 'OK':
                    self._ha_forget(sid, True)
            if self.time_scale:
                asyncio.ensure_future(purge())
            else:
                await purge()
        return upid

    def _ha_forget(self, sid, purge):
        """HA::Config delete_service_from_config."""
        self.ha['resources'].pop(sid, None)
        vm = self._ha_vm(sid)
        if vm is not None:
            vm.ha_state = None
        if purge:
            for rid in list(self.ha['rules']):
                rule = self.ha['rules'][rid]
                rule['resources'] = [r for r in rule['resources'] if r != sid]
                if not rule['resources']:
                    del self.ha['rules'][rid]

    # ---------------------------------------------------------- resources

    def _resource_view(self, sid, resource):
        item = dict(resource, sid=sid, digest=self._ha_digest('resources'))
        item.setdefault('state', 'started')
        if self.groups_migrated():
            item.pop('group', None)
        elif item.get('group') and item['group'] not in self.ha['groups']:
            item['errors'] = {'group': "group '{0}' does not exist".format(item['group'])}
        return item

    async def _ha_resources_list(self, v, user):
        return [self._resource_view(sid, r) for sid, r in sorted(self.ha['resources'].items())
                if not v.get('type') or r['type'] == v['type']]

    async def _ha_resource_read(self, v, user):
        sid = self.parse_sid(v['sid'])[0]
        if sid not in self.ha['resources']:
            raise die("no such resource '{0}'".format(sid))
        return self._resource_view(sid, self.ha['resources'][sid])

    def _check_group_param(self, group):
        if group is None:
            return
        if self.groups_migrated():
            raise die("invalid parameter 'group': ha groups have been migrated to rules")

    async def _ha_resource_create(self, v, user):
        self.need_quorum()
        sid, kind, name = self.parse_sid(v['sid'])
        if v.get('type') and v['type'] != kind:
            raise die('types does not match')
        self._check_group_param(v.get('group'))
        if kind != 'vm':
            raise die('the simulator models HA resources of VMs only')
        if not (name.isdigit() and int(name) >= 10 and not name.startswith('0')):
            raise die('invalid VMID')
        if self.vm(int(name)) is None:
            if self.guest(int(name)) is not None:
                raise die("resource 'vm:{0}' - guest with ID {0} is not a VM".format(name))
            raise die("resource 'vm:{0}' does not exist in cluster".format(name))
        opts = dict((k, v[k]) for k in RESOURCE_OPTIONS if v.get(k) is not None)

        def create():
            if sid in self.ha['resources']:
                raise die("resource ID '{0}' already defined".format(sid))
            self.ha['resources'][sid] = dict(opts, type='vm')
        self._ha_locked(create, 'create resource failed')
        await self.ha_follow(sid)
        return None

    async def _ha_resource_update(self, v, user):
        sid, kind, _name = self.parse_sid(v['sid'])
        if v.get('type') and v['type'] != kind:
            raise die('types does not match')
        if v.get('group'):
            self._check_group_param(v['group'])
            if v['group'] not in self.ha['groups']:
                raise die("HA group '{0}' does not exist".format(v['group']))
        vm = self._ha_vm(sid)
        if vm is not None and vm.ha_state == 'error' and v.get('state') != 'disabled':
            raise die("service '{0}' in error state, must be disabled and fixed first".format(sid))

        def update():
            check_digest(self._ha_digest('resources'), v.get('digest'))
            resource = self.ha['resources'].get(sid)
            if resource is None:
                raise die("no such resource '{0}'".format(sid))
            for key in split_list(v.get('delete')):
                resource.pop(key, None)
            resource.update((k, v[k]) for k in RESOURCE_OPTIONS if v.get(k) is not None)
        self._ha_locked(update, 'update resources config failed')
        await self.ha_follow(sid)
        return None

    async def _ha_resource_delete(self, v, user):
        sid = self.parse_sid(v['sid'])[0]
        purge = v.get('purge') is None or bool(int(v['purge']))
        if sid not in self.ha['resources']:
            raise die("cannot delete service '{0}', not HA managed!".format(sid))
        self._ha_locked(lambda: self._ha_forget(sid, purge), 'delete resource failed')
        return None

    async def _ha_resource_migrate(self, v, user):
        sid = self.parse_sid(v['sid'])[0]
        vm = self._ha_vm(sid)
        if vm is None or not vm.ha_managed:
            raise die("resource '{0}' is not HA managed".format(sid))
        if vm.ha_state == 'error':
            raise die("service '{0}' in error state, must be disabled and fixed first".format(sid))
        await self.ha_crm_migrate(vm, v['node'])
        return {'sid': sid, 'requested-node': v['node']}

    # -------------------------------------------------------------- rules

    def _pve9_rules(self, method, path):
        if self.pve_major < 9:
            raise PveError(501, "Method '{0} {1}' not implemented".format(method, path))

    def _rule_view(self, rid, rule):
        item = dict(rule, rule=rid, digest=self._ha_digest('rules'))
        item['resources'] = ','.join(rule['resources'])
        return item

    async def _ha_rules_list(self, v, user):
        self._pve9_rules('GET', '/cluster/ha/rules')
        out = []
        for rid, rule in sorted(self.ha['rules'].items(), key=lambda kv: kv[1]['order']):
            if v.get('type') and rule['type'] != v['type']:
                continue
            if v.get('resource') and v['resource'] not in rule['resources']:
                continue
            out.append(self._rule_view(rid, rule))
        return out

    async def _ha_rule_read(self, v, user):
        self._pve9_rules('GET', '/cluster/ha/rules/' + v['rule'])
        if v['rule'] not in self.ha['rules']:
            raise die("no such ha rule '{0}'".format(v['rule']))
        return self._rule_view(v['rule'], self.ha['rules'][v['rule']])

    def _rule_options(self, kind, v, create):
        """SectionConfig check_config for a rule type."""
        if kind not in RULE_OPTIONS:
            raise die("unknown section type '{0}'".format(kind))
        required, optional = RULE_OPTIONS[kind]
        opts = {}
        for key, value in v.items():
            if key in ('rule', 'type', 'digest', 'delete') or value is None:
                continue
            if key not in required + optional:
                raise die("unexpected property '{0}'".format(key))
            opts[key] = split_list(value) if key == 'resources' else value
        for key in required if create else ():
            if key not in opts:
                raise die("missing value for required option '{0}'".format(key))
        return opts

    def _check_rule_refs(self, opts):
        """Rules.pm assert_valid_resources_param / assert_valid_nodes_param."""
        if 'resources' in opts:
            if not opts['resources']:
                raise die('no resources were specified')
            unmanaged = [r for r in sorted(opts['resources']) if r not in self.ha['resources']]
            if unmanaged:
                raise die('cannot use unmanaged resource(s) {0}.'.format(', '.join(unmanaged)))
        if opts.get('nodes'):
            names = [n.partition(':')[0] for n in split_list(opts['nodes'])]
            missing = [n for n in sorted(names) if n not in self.nodes]
            if missing:
                raise die('cannot use non-existent node(s) {0}.'.format(', '.join(missing)))

    async def _ha_rule_create(self, v, user):
        self._pve9_rules('POST', '/cluster/ha/rules')
        self.need_quorum()
        if not self.groups_migrated():
            raise die('cannot create ha rule: ha groups have not been migrated yet')
        rid = v['rule']
        check_configid('rule', rid)
        opts = self._rule_options(v.get('type'), v, True)

        def create():
            if rid in self.ha['rules']:
                raise die("HA rule '{0}' already defined".format(rid))
            self._check_rule_refs(opts)
            order = max([r['order'] for r in self.ha['rules'].values()] or [0]) + 1
            rule = dict(opts, type=v['type'], order=order)
            self._check_feasible(rid, rule)
            self.ha['rules'][rid] = rule
        self._ha_locked(create, 'create ha rule failed')
        return None

    def _check_feasible(self, rid, rule):
        """Rules.pm assert_feasibility, for NodeAffinity.pm check_single_resource_reference only: a resource
        already in another enabled node-affinity rule makes the new or changed rule invalid."""
        if rule.get('type') != 'node-affinity' or rule.get('disable'):
            return
        for other_id, other in self.ha['rules'].items():
            if other_id == rid or other.get('type') != 'node-affinity' or other.get('disable'):
                continue
            if set(other['resources']) & set(rule.get('resources') or ()):
                raise die("Rule '{0}' is invalid.".format(rid))

    async def _ha_rule_update(self, v, user):
        self._pve9_rules('PUT', '/cluster/ha/rules/' + v['rule'])
        if not self.groups_migrated():
            raise die('cannot update ha rule: ha groups have not been migrated yet')
        rid = v['rule']

        def update():
            check_digest(self._ha_digest('rules'), v.get('digest'))
            rule = self.ha['rules'].get(rid)
            if rule is None:
                raise die("HA rule '{0}' does not exist".format(rid))
            opts = self._rule_options(rule['type'], v, False)
            self._check_rule_refs(opts)
            changed = dict(rule)
            for key in split_list(v.get('delete')):
                changed.pop(key, None)
            changed.update(opts)
            self._check_feasible(rid, changed)
            rule.clear()
            rule.update(changed)
        self._ha_locked(update, 'update HA rules failed')
        return None

    async def _ha_rule_delete(self, v, user):
        self._pve9_rules('DELETE', '/cluster/ha/rules/' + v['rule'])
        self.ha['rules'].pop(v['rule'], None)
        return None

    # ------------------------------------------------------------- groups

    def _groups_gone(self, what):
        if self.groups_migrated():
            raise die('cannot {0}: ha groups have been migrated to rules'.format(what))

    async def _ha_groups_list(self, v, user):
        self._groups_gone('index groups')
        return [dict(g, group=gid, type='group', digest=self._ha_digest('groups'))
                for gid, g in sorted(self.ha['groups'].items())]

    async def _ha_group_read(self, v, user):
        self._groups_gone('read group')
        if v['group'] not in self.ha['groups']:
            raise die("no such ha group '{0}'".format(v['group']))
        return dict(self.ha['groups'][v['group']], group=v['group'], type='group',
                    digest=self._ha_digest('groups'))

    async def _ha_group_create(self, v, user):
        self._groups_gone('create group')
        gid = v['group']
        check_configid('group', gid)
        opts = dict((k, v[k]) for k in GROUP_OPTIONS if v.get(k) is not None)

        def create():
            if gid in self.ha['groups']:
                raise die("ha group ID '{0}' already defined".format(gid))
            self.ha['groups'][gid] = opts
        self._ha_locked(create, 'create ha group failed')
        return None

    async def _ha_group_update(self, v, user):
        self._groups_gone('update group')
        gid = v['group']

        def update():
            group = self.ha['groups'].get(gid)
            if group is None:
                raise die("no such ha group '{0}'".format(gid))
            for key in split_list(v.get('delete')):
                group.pop(key, None)
            group.update((k, v[k]) for k in GROUP_OPTIONS if v.get(k) is not None)
        self._ha_locked(update, 'update ha group failed')
        return None

    async def _ha_group_delete(self, v, user):
        self._groups_gone('delete group')
        gid = v['group']

        def delete():
            for sid, resource in sorted(self.ha['resources'].items()):
                if resource.get('group') == gid:
                    raise die("ha group is used by service '{0}'".format(sid))
            self.ha['groups'].pop(gid, None)
        self._ha_locked(delete, 'delete ha group failed')
        return None

    # -------------------------------------------------------------- state

    def ha_state_dump(self):
        return {'resources': copy.deepcopy(self.ha['resources']), 'rules': copy.deepcopy(self.ha['rules']),
                'groups': copy.deepcopy(self.ha['groups'])}
