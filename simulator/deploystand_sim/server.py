"""LabPve: fakepve's FakePve with the state and behaviour the lab stand depends on.

fakepve (AGPL) is subclassed and called, never copied. What this adds: stateful users, tokens,
roles and ACLs with PVE's permission model always enforced (access.py), staged node networks
(network.py), durations, the storage lock, faults and counters (timing.py), snapshots, rollback and
power with PVE's locks (lifecycle.py), the guest agent (agent.py), plus the VM details
fakepve 0.5.0 lacks: SDN.Use on bridges, a fresh MAC for a netN sent without one, tag
normalisation, a start that needs its bridges, per-node memory. SDN (sdn.py), a real migration
(migrate.py) and HA (ha.py) are mixins of their own.
"""

import base64
import hmac
import json
import re
import time

from aiohttp import web

from fakepve import FakePve
from fakepve.model import PveError, TaskError
from fakepve.qemu import DRIVE_KEY, drives_of, volume_ref, with_mac
from fakepve.routing import split_list
from fakepve.server import API, GENERIC, USER, error, params

from .access import AccessModel, AccessRoutes, token_parts
from .ha import HaApi
from .migrate import MigrateApi
from .agent import GuestAgent
from .lifecycle import Lifecycle
from .network import NetworkApi
from .sdn import SdnApi
from .timing import FULL_CLONE_REFERENCE, TASK_DURATION, Timing, failure_text

GiB = 1024 ** 3
NET_KEY = re.compile(r'^net\d+$')
TOKEN_HEADER = re.compile(r'^PVEAPIToken[= ](.+)$')


def nic_parts(value):
    """(model, MAC, bridge) of a netN value (`virtio=MAC,bridge=vmbr1,...`)."""
    parts = dict(p.partition('=')[::2] for p in str(value).split(',') if p)
    first = str(value).split(',')[0].partition('=')
    return first[0], first[2], parts.get('bridge')


def normalise_tags(text):
    """GuestHelpers::get_unique_tags with the default tag-style: lower-case, sorted, unique, ';'-joined."""
    return ';'.join(sorted({t.lower() for t in re.split(r'[;,\s]+', str(text or '')) if t}))


class LabPve(AccessRoutes, AccessModel, HaApi, MigrateApi, SdnApi, NetworkApi, Timing, GuestAgent, Lifecycle,
             FakePve):
    """A simulated PVE 9 cluster; build one from a scenario with scenario.build()."""

    def __init__(self, user='root@pam', password='secret', host='127.0.0.1', port=0, time_factor=0.0,
                 durations=None, faults=None):
        super().__init__(user=user, password=password, host=host, port=port)
        self._init_access()
        self._init_network()
        self._init_sdn()
        self._init_ha()
        self._init_timing(time_factor, durations, faults)
        self._init_lifecycle()
        self._init_agent()
        # node -> {'maxmem': bytes, 'mem': bytes}
        self.node_memory = {}
        self._clone_ctx = None

    # ------------------------------------------------------------ plumbing

    def _build_app(self):
        app = super()._build_app()
        # Outermost: the control endpoint (never subject to faults) and the counters.
        app.middlewares.insert(0, self._sim_middleware)
        return app

    @web.middleware
    async def _sim_middleware(self, request, handler):
        if request.path.startswith('/sim/'):
            return await self._control(request)
        if request.path.startswith(API + '/') or request.path.startswith('/api2/extjs/'):
            self.count(request.method, self._template(request))
            if request.method == 'GET' and self.roll('error_rate'):
                return error(503, 'Service Unavailable')
        return await handler(request)

    def _template(self, request):
        if 'tail' in request.match_info:
            match = self.resolve(request, API)
            return match.template if match else request.path
        resource = request.match_info.route.resource
        canonical = resource.canonical if resource is not None else request.path
        return re.sub(r'^/api2/(json|extjs)', '', canonical)

    def _authenticate(self, request):
        if request.path.endswith('/access/ticket'):
            return None
        found = TOKEN_HEADER.match(request.headers.get('Authorization', ''))
        if found:
            # pve-http-server extract_auth_value: the secret follows the last '='.
            tokenid, _, secret = found.group(1).rpartition('=')
            failure = self.token_secret_ok(tokenid, secret)
            if failure:
                raise failure
            return tokenid
        user = super()._authenticate(request)
        if not self.user_usable(user):
            raise PveError(401, 'permission denied - invalid PVE ticket')
        return user

    def check_password(self, user, password):
        # A still valid ticket of the same user renews it (AccessControl.pm, POST /access/ticket).
        session = self.tickets.get(password)
        if session and session['user'] == user and session['expires'] > time.time():
            return self.user_usable(user)
        return super().check_password(user, password)

    async def _password(self, request):
        """PUT /access/password against our user store (AccessControl.pm; allowtoken => 0)."""
        user = request[USER]
        if '!' in user:
            raise PveError(403, 'Permission check failed (API token not allowed)')
        p = self._verify(request, await params(request))
        userid = p['userid']
        if userid not in self.lab_users:
            raise PveError(500, "no such user ('{0}')".format(userid))
        realm = userid.rpartition('@')[2]
        if user != 'root@pam':
            if userid != user and not (self.allowed(user, '/access/realm/' + realm, 'Realm.AllocateUser')
                                       and self.allowed(user, '/access/groups', 'User.Modify')):
                raise PveError(403, 'Permission check failed (/access/realm/{0}, Realm.AllocateUser)'.format(realm))
            if realm == 'pam':
                raise PveError(500, 'you are not authorized to change PAM passwords')
            confirmation = p.get('confirmation-password')
            if confirmation is None:
                raise PveError(400, 'Parameter verification failed.',
                               {'confirmation-password': 'password is required to modify user'})
            if not self.check_password(user, confirmation):
                raise PveError(500, 'authentication failure')
        if userid == 'root@pam':
            self.password = p['password']
        self.lab_users[userid]['password'] = p['password']
        return web.json_response({'data': None})

    # --------------------------------------------------------------- nodes

    def _node_fields(self, item, user):
        name = item.get('node')
        if not self.allowed(user, '/nodes/' + name, 'Sys.Audit'):
            # PVE lists the node but leaves its stats out.
            for key in ('cpu', 'maxcpu', 'mem', 'maxmem', 'disk', 'maxdisk', 'uptime'):
                item.pop(key, None)
        elif name in self.node_memory and 'maxmem' in item:
            item.update(self.node_memory[name])
        return item

    async def _nodes(self, request):
        body = json.loads((await super()._nodes(request)).text)
        body['data'] = [self._node_fields(i, request[USER]) for i in body['data']]
        return web.json_response(body)

    async def _resources(self, request):
        body = json.loads((await super()._resources(request)).text)
        user = request[USER]
        body['data'] = [self._node_fields(i, user) if i.get('type') == 'node' else i for i in body['data']
                        if i.get('type') != 'storage' or self._storage_visible(user, i['storage'])]
        return web.json_response(body)

    def _storage_visible(self, user, storage):
        # pve-manager API2/Cluster.pm resources: a storage is listed only with Datastore.Audit on it.
        return self.allowed(user, '/storage/' + storage, 'Datastore.Audit')

    # ----------------------------------------------------------------- VMs

    def _bridges_of(self, values):
        return [b for _k, b in self.vm_bridges(dict((k, v) for k, v in values.items() if NET_KEY.match(k)))]

    async def _qm_create(self, v, user):
        self.require_sdn_use(user, self._bridges_of(v))
        return await super()._qm_create(v, user)

    async def _apply_config(self, vm, user, p):
        p = dict(p)
        deletes = split_list(p.get('delete'))
        touched = [k for k in list(p) + deletes if NET_KEY.match(k)]
        current = dict(vm.config, **dict((k, x) for k, x in vm.pending.items() if x is not None))
        # QemuServer check_bridge_access: the new bridge and the one configured now.
        bridges = self._bridges_of(dict((k, p[k]) for k in touched if k in p))
        bridges += self._bridges_of(dict((k, current[k]) for k in touched if k in current))
        self.require_sdn_use(user, dict.fromkeys(bridges))
        for key in touched:
            if key in p:
                # parse_net autogenerates a MAC when the value has none; update_vm_api writes it back.
                p[key] = with_mac(p[key])
        if p.get('tags') is not None:
            p['tags'] = normalise_tags(p['tags'])
        result = await super()._apply_config(vm, user, p)
        self._hotplug_nics(vm, [k for k in touched if k in p])
        return result

    def _hotplug_nics(self, vm, keys):
        """qemu-server vmconfig_update_net: on a running VM, a NIC whose model and MAC stay is changed
        at once (tap unplugged, plugged into the new bridge); if the tap cannot be plugged there (the
        same check as a start), the change stays pending and the update fails with 'hotplug problem - ...'."""
        if vm.status != 'running':
            return
        errors = {}
        for key in keys:
            new, old = vm.pending.get(key), vm.config.get(key)
            if new is None or old is None:
                continue
            (new_model, new_mac, new_bridge), (old_model, old_mac, old_bridge) = nic_parts(new), nic_parts(old)
            if (new_model, new_mac.upper()) != (old_model, old_mac.upper()) or not (new_bridge and old_bridge):
                continue          # a new device: needs a hot-plug of the whole NIC (left pending here)
            problem = self.tap_plug_check(vm.node, new_bridge)
            if problem:
                errors[key] = 'hotplug problem - {0}'.format(problem)
                continue
            vm.config[key] = vm.pending.pop(key)
        if errors:
            raise PveError(400, 'Parameter verification failed.', errors)

    async def _qm_clone(self, v, user):
        node, vmid = v['node'], int(v['vmid'])
        src = self.vm(vmid)
        ctx = None
        if src is not None and src.node == node:
            # check_bridge_access on the source config (qemu-server 8.0.2+).
            self.require_sdn_use(user, dict.fromkeys(b for _k, b in self.vm_bridges(src.config)))
            full = v.get('full')
            full = (not src.template) if full is None else bool(int(full))
            disks = []
            for _key, volume, _props in drives_of(src.config, skip_cdrom=True):
                sid, name = volume_ref(volume)
                if sid in self.storages:
                    size = int((self._volumes(sid).get(name) or {}).get('size') or 0)
                    disks.append((v.get('storage') or sid, size))
            ctx = {'newid': int(v['newid']), 'full': full, 'disks': disks}
        self._clone_ctx = ctx
        try:
            return await super()._qm_clone(v, user)
        finally:
            self._clone_ctx = None

    async def _clone_work(self, node, ctx):
        """The storage-side part of a clone: each disk allocated under the storage lock, then the copy."""
        for sid, _size in ctx['disks']:
            await self.storage_lock(node, sid)
        if ctx['full']:
            total = sum(size for _sid, size in ctx['disks'])
            await self.pause(self.task_secs('full_clone', total / FULL_CLONE_REFERENCE))
        else:
            await self.pause(self.task_secs('linked_clone'))

    def _start_bridges_ok(self, vm):
        for _key, name in self.vm_bridges(dict(vm.config, **dict(
                (k, x) for k, x in vm.pending.items() if x is not None))):
            problem = self.tap_plug_check(vm.node, name)
            if problem:
                raise TaskError(problem)

    async def task(self, node, ttype, tid, user, body, vm=None, lock=True, log=()):
        """fakepve's task runner, with durations, injected failures and the clone's storage work."""
        clone = self._clone_ctx if ttype == 'qmclone' else None
        if clone is not None and vm is not None:
            # qemu-server clone_vm: the new config starts as "# qmclone temporary file\nlock: clone\n";
            # the name, description and the rest appear only when the disks are done, the pool at the end.
            clone['config'] = vm.config
            vm.config = {'lock': 'clone', 'description': ' qmclone temporary file\n'}
            vm.name = 'VM {0}'.format(vm.vmid)

        async def timed():
            try:
                if self.roll('task_fail_rate'):
                    raise TaskError(failure_text(ttype, clone['newid'] if clone else tid))
                if clone is not None:
                    await self._clone_work(node, clone)
                    if vm is not None:
                        vm.config = clone['config']
                        vm.name = vm.config.get('name') or vm.name
                elif ttype in TASK_DURATION:
                    await self.pause(self.task_secs(TASK_DURATION[ttype]))
                if ttype == 'qmstart' and vm is not None and not vm.template and vm.status != 'running' \
                        and not (vm.lock and vm.lock != 'suspended'):
                    self._start_bridges_ok(vm)
            except TaskError as e:
                if clone is not None:
                    # A failed clone removes what it made: the new config (and any volumes).
                    if vm in self.vms:
                        self.vms.remove(vm)
                    raise TaskError('clone failed: {0}'.format(e)) from e
                raise
            return await body()
        return await super().task(node, ttype, tid, user, timed, vm=vm, lock=lock, log=log)

    # --------------------------------------------------------------- pools

    async def _pool_delete(self, v, user):
        result = await super()._pool_delete(v, user)
        # Pool.pm delete_pool_acl
        self.drop_acl(lambda path, kind, ugid: path == '/pool/' + v['poolid'])
        return result

    def _pool_leave(self, vmid):
        # Called by the destroy task: remove_vm_access drops the VM's ACLs with its pool membership.
        super()._pool_leave(vmid)
        self.drop_acl(lambda path, kind, ugid: path == '/vms/{0}'.format(vmid))

    # ------------------------------------------------------------- control

    def _control_authorised(self, request):
        auth = request.headers.get('Authorization', '')
        if not auth.startswith('Basic '):
            return False
        try:
            user, _, password = base64.b64decode(auth[6:]).decode().partition(':')
        except (ValueError, UnicodeDecodeError):
            return False
        return user in ('root', 'root@pam') and hmac.compare_digest(password.encode(), self.password.encode())

    async def _control(self, request):
        """/sim/state, /sim/counters, /sim/counters/reset, /sim/faults, /sim/durations (basic auth: root)."""
        if not self._control_authorised(request):
            return web.json_response({'message': 'authentication required'}, status=401,
                                     headers={'WWW-Authenticate': 'Basic realm="deploystand-sim"'})
        route = (request.method, request.path.rstrip('/'))
        try:
            if route == ('GET', '/sim/state'):
                return web.json_response(self.state())
            if route == ('GET', '/sim/counters'):
                return web.json_response(self.counters())
            if route == ('POST', '/sim/counters/reset'):
                self.reset_counters()
                return web.json_response(self.counters())
            if route[1] in ('/sim/faults', '/sim/durations'):
                kind = route[1].rsplit('/', 1)[1]
                if request.method == 'PUT':
                    body = await request.json()
                    if not isinstance(body, dict):
                        raise ValueError('expected a JSON object')
                    (self.set_faults if kind == 'faults' else self.set_durations)(**body)
                elif request.method != 'GET':
                    return web.json_response({'message': 'method not allowed'}, status=405)
                return web.json_response(getattr(self, kind))
        except (ValueError, TypeError) as e:
            return web.json_response({'message': str(e)}, status=400)
        return web.json_response({'message': 'no such control endpoint'}, status=404)

    # --------------------------------------------------------------- state

    def state(self):
        """A JSON-able dump of the cluster (no secrets)."""
        users = {}
        for userid, rec in sorted(self.lab_users.items()):
            users[userid] = {'comment': rec['comment'], 'email': rec['email'], 'enable': int(rec['enable']),
                             'expire': int(rec['expire'] or 0),
                             'tokens': [{'tokenid': tid, 'privsep': t['privsep'], 'expire': t['expire'],
                                         'comment': t['comment']} for tid, t in sorted(rec['tokens'].items())]}
        acl = [{'path': p, 'type': k, 'ugid': u, 'roleid': r, 'propagate': g} for p, k, u, r, g in self.lab_acl]
        roles = dict((r, sorted(p)) for r, p in sorted(self.all_roles().items()))
        pools = dict((name, {'comment': self._pool_meta(name)['comment'], 'members': sorted(ids)})
                     for name, ids in sorted(self.pools.items()))
        vms = {}
        for vm in sorted(self.vms, key=lambda x: x.vmid):
            vms[vm.vmid] = {'name': vm.name, 'node': vm.node, 'pool': vm.pool, 'template': bool(vm.template),
                            'status': vm.status, 'lock': vm.lock,
                            'tags': [t for t in str(vm.config.get('tags') or '').split(';') if t],
                            'config': dict(vm.config), 'snapshots': self.snapshot_dump(vm)}
        networks = {}
        for node in sorted(self.nodes):
            net = self.node_net(node)
            running = dict((n, dict(o)) for n, o in net['config'].items())
            running.update((n, dict(o, kept=1)) for n, o in net['kept'].items())
            networks[node] = {'running': running,
                              'staged': None if net['staged'] is None else dict(
                                  (n, dict(o)) for n, o in net['staged'].items())}
        volumes = dict((sid, sorted(n for n, vol in self._volumes(sid).items() if vol.get('content') == 'images'))
                       for sid in sorted(self.storages))
        return {'users': users, 'acl': acl, 'roles': roles, 'pools': pools, 'vms': vms, 'networks': networks,
                'volumes': volumes, 'sdn': self.sdn_state(),
                'ha': self.ha_state_dump()}


__all__ = ['LabPve', 'DRIVE_KEY', 'GENERIC', 'token_parts', 'normalise_tags']
