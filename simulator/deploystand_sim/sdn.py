"""Stateful SDN: zones, VNets, the pending and the running config, the PVE 9 lock and the apply.

Follows pve-network (src/PVE/API2/Network/SDN.pm, SDN/Zones.pm, SDN/Vnets.pm, src/PVE/Network/SDN.pm,
Network/SDN/Zones.pm, Zones/Plugin.pm, Zones/SimplePlugin.pm, VlanPlugin.pm, VxlanPlugin.pm,
VnetPlugin.pm) and pve-manager PVE/API2/Network.pm; docs/simulator.md lists each fact.

State: `pve.sdn` holds the written config (`zones`, `vnets`: what zones.cfg and vnets.cfg hold), the
`running` config (what the last apply committed: `version`, `zones`, `vnets`) and the lock token.
`pve.sdn_nodes[node]` is what a node generated from the running config at its last network reload
(its /etc/network/interfaces.d/sdn): `version` and the VNet bridges that are up (`vnets`, `kept`).
"""

import copy
import hashlib
import json
import uuid

from fakepve.lxc import random_mac
from fakepve.model import PveError, TaskError
from fakepve.routing import check_digest, die, param_error, split_list

from .tasks import finished

ZONE_OPTIONS = {
    'simple': ('nodes', 'mtu', 'dns', 'reversedns', 'dnszone', 'ipam', 'dhcp'),
    'vlan': ('nodes', 'bridge', 'bridge-disable-mac-learning', 'mtu', 'dns', 'reversedns', 'dnszone', 'ipam'),
    'vxlan': ('nodes', 'peers', 'vxlan-port', 'mtu', 'dns', 'reversedns', 'dnszone', 'ipam', 'fabric'),
}
ZONE_REQUIRED = {'vlan': ('bridge',)}
VNET_OPTIONS = ('zone', 'tag', 'alias', 'vlanaware', 'isolate-ports')
# Parameters of the API calls that are not section options.
ZONE_PARAMS = ('type', 'zone', 'lock-token', 'digest', 'delete')
VNET_PARAMS = ('type', 'vnet', 'lock-token', 'digest', 'delete')
PERL_LIB = '/usr/share/perl5/PVE/'
# The token a simulated foreign lock holder has; no client ever sees it.
FOREIGN_TOKEN = 'foreign-holder'


def perl_die(message, source, line):
    """A Perl `die` without a newline: the message gets ' at FILE line N.' (line numbers of pve-network HEAD)."""
    return '{0} at {1}{2} line {3}.'.format(message, PERL_LIB, source, line)


INVALID_TOKEN = perl_die('invalid lock token provided!', 'Network/SDN.pm', 291)


def perl_text(error):
    """How a PveError reads once Perl interpolates it into a string (PVE::Exception::stringify)."""
    if error.errors:
        lines = ['{0}: {1}'.format(k, str(v).rstrip('\n')) for k, v in sorted(error.errors.items())]
        return '{0} {1}\n{2}'.format(error.status, error.message, '\n'.join(lines))
    return error.message


def normalise(value):
    """Section config values as stored: booleans 1/0, numbers as numbers, the rest as strings."""
    if isinstance(value, bool):
        return 1 if value else 0
    return value


def node_list(value):
    """`nodes` as PVE encodes it after decoding (a set joined by commas; sorted here)."""
    return ','.join(sorted(set(split_list(value))))


class SdnApi(object):
    """Mixin of LabPve: /cluster/sdn, /nodes/{node}/sdn and the VNets in node networks."""

    def _init_sdn(self):
        self.sdn = {'zones': {}, 'vnets': {}, 'running': {}, 'lock': None}
        self.sdn_nodes = {}
        # 9 (the default) or 8: PVE 8 has no SDN lock, rollback or HA rules.
        self.pve_major = 9

    def sdn_node(self, node):
        return self.sdn_nodes.setdefault(node, {'version': None, 'vnets': {}, 'kept': {}})

    def _routes_sdn(self):
        zones, vnets = '/cluster/sdn/zones', '/cluster/sdn/vnets'
        node = '/nodes/{node}/sdn/zones'
        return [('GET', zones, self._sdn_zones_list), ('POST', zones, self._sdn_zone_create),
                ('GET', zones + '/{zone}', self._sdn_zone_read), ('PUT', zones + '/{zone}', self._sdn_zone_update),
                ('DELETE', zones + '/{zone}', self._sdn_zone_delete),
                ('GET', vnets, self._sdn_vnets_list), ('POST', vnets, self._sdn_vnet_create),
                ('GET', vnets + '/{vnet}', self._sdn_vnet_read), ('PUT', vnets + '/{vnet}', self._sdn_vnet_update),
                ('DELETE', vnets + '/{vnet}', self._sdn_vnet_delete),
                ('PUT', '/cluster/sdn', self._sdn_apply), ('POST', '/cluster/sdn/lock', self._sdn_lock),
                ('DELETE', '/cluster/sdn/lock', self._sdn_unlock),
                ('POST', '/cluster/sdn/rollback', self._sdn_rollback),
                ('GET', node, self._sdn_node_zones), ('GET', node + '/{zone}/content', self._sdn_zone_content)]

    # ------------------------------------------------------------- the lock

    def _pve9_only(self, method, path):
        if self.pve_major < 9:
            raise PveError(501, "Method '{0} {1}' not implemented".format(method, path))

    def _lock_token(self, v):
        """The lock-token parameter; PVE 8 has none and refuses it as an unknown parameter."""
        if self.pve_major < 9:
            for name in ('lock-token', 'release-lock'):
                if v.get(name) is not None:
                    raise param_error(**{name: 'property is not defined in schema and the schema does not allow '
                                               'additional properties'})
        return v.get('lock-token')

    def sdn_lock_holder(self):
        """The token of whoever holds the global SDN lock, or None (/etc/pve/sdn/.lock)."""
        if self.faults.get('sdn_foreign_lock'):
            return FOREIGN_TOKEN
        return self.sdn['lock']

    def _locked(self, change, errmsg, token):
        """Network::SDN lock_sdn_config: a held lock needs its token; every error gets errmsg as prefix."""
        try:
            holder = self.sdn_lock_holder()
            if holder is not None and holder != token:
                raise die(INVALID_TOKEN)
            return change()
        except PveError as e:
            raise die('{0}: {1}'.format(errmsg, perl_text(e))) from None

    def _release_lock(self):
        self.sdn['lock'] = None
        self.faults['sdn_foreign_lock'] = 0.0

    async def _sdn_lock(self, v, user):
        self._pve9_only('POST', '/cluster/sdn/lock')

        def take():
            if not v.get('allow-pending') and self.sdn_has_pending():
                raise die(perl_die('configuration has pending changes', 'API2/Network/SDN.pm', 149))
            # PVE makes a UUIDv7 (generate_lock_token).
            self.sdn['lock'] = str(uuid.uuid4())
            return self.sdn['lock']
        return self._locked(take, 'could not acquire lock for SDN config', None)

    async def _sdn_unlock(self, v, user):
        self._pve9_only('DELETE', '/cluster/sdn/lock')
        if v.get('force'):
            self._release_lock()
            return None
        return self._locked(self._release_lock, 'could not release lock', v.get('lock-token'))

    async def _sdn_rollback(self, v, user):
        self._pve9_only('POST', '/cluster/sdn/rollback')
        token = v.get('lock-token')
        release = v.get('release-lock') is None or bool(int(v['release-lock']))

        def rollback():
            running = self.sdn['running']
            self.sdn['zones'] = copy.deepcopy(running.get('zones') or {})
            self.sdn['vnets'] = copy.deepcopy(running.get('vnets') or {})
            if token and release:
                self._release_lock()
        return self._locked(rollback, 'could not rollback SDN configuration', token)

    # ------------------------------------------------------ pending config

    def _sdn_pending_config(self, kind):
        """Network::SDN pending_config: running values with `state` and the `pending` differences."""
        running = self.sdn['running'].get(kind) or {}
        config = self.sdn[kind]
        out = {}
        for oid in sorted(running):
            now, written = running[oid], config.get(oid) or {}
            entry = out[oid] = dict(now)
            for key in sorted(now):
                if not written:
                    entry['state'] = 'deleted'
                elif key not in written:
                    entry.setdefault('pending', {})[key] = 'deleted'
                    entry['state'] = 'changed'
                elif str(now[key]) != str(written[key]):
                    entry['state'] = 'changed'
            if 'state' in entry:
                entry.setdefault('pending', {})
        for oid in sorted(config):
            written, now = config[oid], running.get(oid) or {}
            entry = out.setdefault(oid, {})
            for key in sorted(written):
                if key in ('type', 'vnet'):
                    entry[key] = written[key]
                elif key not in now or str(written[key]) != str(now[key]):
                    entry.setdefault('pending', {})[key] = written[key]
                if not now:
                    entry['state'] = 'new'
                elif key not in now:
                    entry['state'] = 'changed'
            if 'state' in entry:
                entry.setdefault('pending', {})
        return out

    def sdn_has_pending(self):
        return any('pending' in e for kind in ('zones', 'vnets') for e in self._sdn_pending_config(kind).values())

    def _digest(self, kind):
        return hashlib.sha1(json.dumps(self.sdn[kind], sort_keys=True).encode()).hexdigest()

    def _view_config(self, kind, v):
        """(objects, digest) of the config a GET shows: pending=1, running=1 or the written one."""
        if v.get('pending'):
            return self._sdn_pending_config(kind), None
        if v.get('running'):
            return self.sdn['running'].get(kind) or {}, None
        return self.sdn[kind], self._digest(kind)

    @staticmethod
    def _check_options(allowed, v, create, required=(), skip=()):
        """SectionConfig check_config: only the type's options, the required ones on create."""
        opts = {}
        for key, value in v.items():
            if key in skip or value is None:
                continue
            if key not in allowed:
                raise die("unexpected property '{0}'".format(key))
            opts[key] = node_list(value) if key == 'nodes' else normalise(value)
        if create:
            for key in required:
                if key not in opts:
                    raise die("missing value for required option '{0}'".format(key))
        return opts

    def sdn_check_any(self, user, path, privs):
        return any(self.allowed(user, path, p) for p in privs)

    def sdn_bridge_access(self, user, zone, bridge, privs):
        """RPCEnvironment check_sdn_bridge: the bridge's path, or any VLAN below it that has an ACL entry."""
        path = '/sdn/zones/{0}/{1}'.format(zone, bridge)
        if self.sdn_check_any(user, path, privs):
            return True
        vlans = {e[0] for e in getattr(self, 'lab_acl', ()) if e[0].startswith(path + '/')}
        return any(self.sdn_check_any(user, vlan, privs) for vlan in vlans)

    # ---------------------------------------------------------------- zones

    @staticmethod
    def _object_view(key, oid, cfg, digest):
        """A zone or VNet as the API shows it: its options, its id under `key`, the file's digest."""
        item = dict(cfg, **{key: oid})
        if digest:
            item['digest'] = digest
        return item

    async def _sdn_zones_list(self, v, user):
        objects, digest = self._view_config('zones', v)
        out = []
        for zid in sorted(objects):
            if not self.sdn_check_any(user, '/sdn/zones/' + zid, ('SDN.Audit', 'SDN.Allocate')):
                continue
            item = self._object_view('zone', zid, objects[zid], digest)
            if v.get('type') and item.get('type') != v['type']:
                continue
            out.append(item)
        return out

    async def _sdn_zone_read(self, v, user):
        objects, digest = self._view_config('zones', v)
        if v['zone'] not in objects:
            raise die("sdn '{0}' does not exist".format(v['zone']))
        return self._object_view('zone', v['zone'], objects[v['zone']], digest)

    @staticmethod
    def _zone_update_hook(zone):
        if zone['type'] == 'vxlan' and bool(zone.get('peers')) == bool(zone.get('fabric')):
            text = 'must have exactly one of peers / fabric defined'
            raise param_error(peers=text, fabric=text)

    def sdn_create_zone(self, zid, ztype, opts, token=None):
        """POST /cluster/sdn/zones without the HTTP part (the scenario uses it too)."""
        if ztype not in ZONE_OPTIONS:
            raise PveError(501, "zone type '{0}' is not modelled by the simulator (simple, vlan, vxlan)".format(ztype))
        opts = self._check_options(ZONE_OPTIONS[ztype], opts, True, ZONE_REQUIRED.get(ztype, ()), ZONE_PARAMS)

        def create():
            if zid in self.sdn['zones']:
                raise die("sdn zone object ID '{0}' already defined".format(zid))
            zone = dict(opts, type=ztype)
            self._zone_update_hook(zone)
            self.sdn['zones'][zid] = zone
        self._locked(create, 'create sdn zone object failed', token)

    async def _sdn_zone_create(self, v, user):
        token = self._lock_token(v)
        self.need_quorum()
        self.sdn_create_zone(v['zone'], v['type'], v, token)
        return None

    async def _sdn_zone_update(self, v, user):
        token, zid = self._lock_token(v), v['zone']

        def update():
            check_digest(self._digest('zones'), v.get('digest'))
            zone = self.sdn['zones'].get(zid)
            if zone is None:
                raise die("sdn '{0}' does not exist".format(zid))
            opts = self._check_options(ZONE_OPTIONS[zone['type']], v, False, skip=ZONE_PARAMS)
            new = dict(zone)
            for key in split_list(v.get('delete')):
                if key in ZONE_REQUIRED.get(zone['type'], ()):
                    raise die("unable to delete required option '{0}'".format(key))
                new.pop(key, None)
            new.update(opts)
            self._zone_update_hook(new)
            self.sdn['zones'][zid] = new
        self._locked(update, 'update sdn zone object failed', token)
        return None

    async def _sdn_zone_delete(self, v, user):
        token, zid = self._lock_token(v), v['zone']

        def delete():
            if zid not in self.sdn['zones']:
                raise die("sdn '{0}' does not exist".format(zid))
            for vid in sorted(self.sdn['vnets']):
                if self.sdn['vnets'][vid].get('zone') == zid:
                    raise die(perl_die('zone {0} is used by vnet {1}'.format(zid, vid),
                                       'Network/SDN/Zones/Plugin.pm', 148))
            del self.sdn['zones'][zid]
        self._locked(delete, 'delete sdn zone object failed', token)
        return None

    # ---------------------------------------------------------------- VNets

    def _vnet_update_hook(self, vnets, vid, line):
        """The zone plugin's vnet_update_hook: tag rules per zone type, the MAC of a simple zone's VNet."""
        vnet = vnets[vid]
        zone = self.sdn['zones'].get(vnet.get('zone'))
        if zone is None:
            # Zones::Plugin->lookup(undef) croaks: PVE does not say that the zone is missing.
            raise die(perl_die('cannot lookup undefined type!', 'API2/Network/SDN/Vnets.pm', line))
        tag = vnet.get('tag')
        if zone['type'] == 'simple':
            if tag is not None:
                raise param_error(tag='vlan tag is not allowed on simple zone')
            vnet.setdefault('mac', random_mac())
        elif zone['type'] == 'vlan':
            if tag is None:
                raise param_error(tag='missing vlan tag')
            if int(tag) > 4096:
                raise param_error(tag='vlan tag max value is 4096')
            for other in sorted(vnets):
                if other != vid and vnets[other].get('zone') == vnet['zone'] and vnets[other].get('tag') == tag:
                    raise param_error(tag='tag {0} already exist in vnet {1}'.format(tag, other))
        elif zone['type'] == 'vxlan':
            if tag is None:
                raise param_error(tag='missing vxlan tag')
            if int(tag) > 16777216:
                raise param_error(tag='vxlan tag max value is 16777216')
            for other in sorted(vnets):
                other_zone = self.sdn['zones'].get(vnets[other].get('zone')) or {}
                if other != vid and other_zone.get('type') in ('vxlan', 'evpn') and vnets[other].get('tag') == tag:
                    # VNIs are unique across every VXLAN and EVPN zone (the trailing blank is PVE's).
                    raise param_error(tag='vxlan tag {0} already exist in vnet {1} in zone {2} '.format(
                        tag, other, vnets[other]['zone']))

    def sdn_create_vnet(self, vid, opts, token=None):
        """POST /cluster/sdn/vnets without the HTTP part (the scenario uses it too)."""
        def create():
            checked = self._check_options(VNET_OPTIONS, opts, True, ('zone',), VNET_PARAMS)
            if vid in self.sdn['vnets']:
                raise die("sdn vnet object ID '{0}' already defined".format(vid))
            vnets = copy.deepcopy(self.sdn['vnets'])
            vnets[vid] = dict(checked, type='vnet')
            self._vnet_update_hook(vnets, vid, 326)
            self.sdn['vnets'] = vnets
        self._locked(create, 'create sdn vnet object failed', token)

    async def _sdn_vnet_create(self, v, user):
        token = self._lock_token(v)
        self.need_quorum()
        self.sdn_create_vnet(v['vnet'], v, token)
        return None

    def _check_vnet_access(self, user, vid, privs):
        """Vnets.pm check_vnet_access: the VNet must exist in the written config; any of privs on its path."""
        vnet = self.sdn['vnets'].get(vid)
        if vnet is None:
            raise die("sdn vnet '{0}' does not exist".format(vid))
        path = '/sdn/zones/{0}/{1}'.format(vnet.get('zone'), vid)
        if not self.sdn_check_any(user, path, privs):
            raise PveError(403, 'Permission check failed ({0}, {1})'.format(path, '|'.join(privs)))

    async def _sdn_vnets_list(self, v, user):
        objects, digest = self._view_config('vnets', v)
        out = []
        for vid in sorted(objects):
            item = objects[vid]
            zone = item.get('zone') or (item.get('pending') or {}).get('zone')
            if self.sdn_check_any(user, '/sdn/zones/{0}/{1}'.format(zone, vid), ('SDN.Audit', 'SDN.Allocate')):
                out.append(self._object_view('vnet', vid, item, digest))
        return out

    async def _sdn_vnet_read(self, v, user):
        vid = v['vnet']
        self._check_vnet_access(user, vid, ('SDN.Audit', 'SDN.Allocate'))
        objects, digest = self._view_config('vnets', v)
        if vid not in objects:
            raise die("sdn vnet '{0}' does not exist".format(vid))
        return self._object_view('vnet', vid, objects[vid], digest)

    async def _sdn_vnet_update(self, v, user):
        token, vid = self._lock_token(v), v['vnet']
        self._check_vnet_access(user, vid, ('SDN.Allocate',))

        def update():
            check_digest(self._digest('vnets'), v.get('digest'))
            opts = self._check_options(VNET_OPTIONS, v, False, skip=VNET_PARAMS)
            vnets = copy.deepcopy(self.sdn['vnets'])
            vnet = vnets[vid]
            for key in split_list(v.get('delete')):
                vnet.pop(key, None)
            vnet.update(opts)
            if not vnet.get('zone'):
                raise param_error(zone='cannot delete zone')
            self._vnet_update_hook(vnets, vid, 402)
            self.sdn['vnets'] = vnets
        self._locked(update, 'update sdn vnet object failed', token)
        return None

    async def _sdn_vnet_delete(self, v, user):
        token, vid = self._lock_token(v), v['vnet']
        self._check_vnet_access(user, vid, ('SDN.Allocate',))

        def delete():
            if vid not in self.sdn['vnets']:
                raise die("sdn vnet '{0}' does not exist".format(vid))
            del self.sdn['vnets'][vid]
        self._locked(delete, 'delete sdn vnet object failed', token)
        return None

    # ---------------------------------------------------------------- apply

    def sdn_commit(self):
        """Network::SDN commit_config: the written config becomes the running one, with a new version."""
        version = int(self.sdn['running'].get('version') or 0) + 1
        self.sdn['running'] = {'version': version, 'zones': copy.deepcopy(self.sdn['zones']),
                               'vnets': copy.deepcopy(self.sdn['vnets'])}

    async def _sdn_apply(self, v, user):
        token = self._lock_token(v)
        release = v.get('release-lock') is None or bool(int(v['release-lock']))
        if self.roll('sdn_apply_fail_rate'):
            raise die("could not commit SDN config: cfs-lock 'domain-sdn' error: got lock request timeout")

        def commit():
            self.sdn_commit()
            if token and release:
                self._release_lock()
        self._locked(commit, 'could not commit SDN config', token)
        self.need_quorum()
        nodes = sorted(self.nodes)

        async def reload_all():
            # API2/Network/SDN.pm reload: `pvesh set /nodes/<n>/network` on every node, one after another;
            # a node that fails is only warned about: the apply task itself still ends OK.
            lines = []
            for node in nodes:
                lines.append('{0}: reloading network config'.format(node))
                await self.pause(self.task_secs('sdn_apply'))
                problem = await self._reload_for_apply(node)
                if problem:
                    lines.append(problem)
            return '\n'.join(lines)
        return await self.task(nodes[0], 'reloadnetworkall', '', user, reload_all)

    async def _reload_for_apply(self, node):
        """One node's `srvreload` (as root@pam, like pvesh); the warning the apply task logs if it fails."""
        command = "command 'pvesh set /nodes/{0}/network --regenerate-frr 0' failed: exit code 255".format(node)
        if not self.nodes[node].get('online', True):
            return command
        broken = self.roll('sdn_reload_fail_rate')

        async def reload():
            if broken:
                raise TaskError("command 'ifreload -a' failed: exit code 1")
            return await self.reload_node_network(node)
        record = await finished(self, await self.task(node, 'srvreload', 'networking', 'root@pam', reload))
        return None if record.get('exitstatus') == 'OK' else command

    async def reload_node_network(self, node):
        """Every node reload regenerates the node's SDN interfaces from the running config (Network.pm)."""
        note = await super().reload_node_network(node)
        return '\n'.join(x for x in (note, self.sdn_generate(node)) if x) or None

    def sdn_generate(self, node):
        """Zones::generate_etc_network_config on one node, then ifreload: the node's VNet bridges."""
        running = self.sdn['running']
        if not running.get('version'):
            return None
        warnings, up = [], {}
        for vid in sorted(running.get('vnets') or {}):
            vnet = running['vnets'][vid]
            zid = vnet.get('zone')
            zone = (running.get('zones') or {}).get(zid)
            if zone is None:
                warnings.append("can't generate vnet '{0}': zone {1} don't exist".format(vid, zid))
                continue
            if zone.get('nodes') and node not in split_list(zone['nodes']):
                continue
            problem = self._vnet_problem(node, zid, zone)
            if problem:
                warnings.append('zone {0} : vnet {1} : {2}'.format(zid, vid, problem))
                continue
            up[vid] = {'zone': zid, 'type': zone['type'], 'tag': vnet.get('tag'),
                       'vlanaware': int(vnet.get('vlanaware') or 0), 'alias': vnet.get('alias'),
                       'segment': self._vnet_segment(node, vid, vnet, zone)}
        state = self.sdn_node(node)
        plugged = self._plugged_ports(node)
        for vid in sorted(set(state['vnets']) - set(up)):
            if plugged.get(vid):
                warnings.append('cant remove bridge {0}, port {1} is present'.format(vid, plugged[vid][0]))
                state['kept'][vid] = state['vnets'][vid]
        for vid in list(state['kept']):
            if vid in up or not plugged.get(vid):
                del state['kept'][vid]
        state['vnets'], state['version'] = up, running['version']
        return '\n'.join(warnings) or None

    def _vnet_problem(self, node, zid, zone):
        """Why a zone's plugin cannot generate its VNets on this node (the text PVE warns with), or None."""
        if zone['type'] == 'vlan':
            bridge_name = zone.get('bridge')
            if bridge_name not in self.node_net(node)['config']:
                return perl_die("can't find bridge {0}".format(bridge_name), 'Network/SDN/Zones/Plugin.pm', 323)
        if zone['type'] == 'vxlan' and not (zone.get('peers') or zone.get('fabric')):
            return perl_die('neither peers nor fabric configured for VXLAN zone {0}'.format(zid),
                            'Network/SDN/Zones/VxlanPlugin.pm', 117)
        return None

    # ------------------------------------------------------------ segments

    def node_ip(self, node):
        """The node's address as /cluster/status shows it."""
        return '192.0.2.{0}'.format(10 + sorted(self.nodes).index(node) + 1)

    def bridge_segment(self, node, name):
        """The layer-2 network a local bridge is: its uplink port's LAN, or a network of this node alone."""
        opts = self.node_net(node)['config'].get(name) or self.node_net(node)['kept'].get(name) or {}
        ports = [p for p in split_list(opts.get('bridge_ports')) if p != 'none']
        return 'lan:' + ports[0] if ports else 'local:{0}:{1}'.format(node, name)

    def _vnet_segment(self, node, vid, vnet, zone):
        if zone['type'] == 'simple':
            return 'simple:{0}:{1}'.format(node, vid)
        if zone['type'] == 'vlan':
            return '{0}.{1}'.format(self.bridge_segment(node, zone['bridge']), vnet['tag'])
        if self.node_ip(node) in split_list(zone.get('peers')):
            return 'vxlan:{0}'.format(vnet['tag'])
        # A node missing from `peers` sends to the peers, but none of them sends to it.
        return 'vxlan:{0}:unpeered:{1}'.format(vnet['tag'], node)

    def segment(self, node, bridge_name):
        """The layer-2 network a NIC on `bridge_name` joins on `node`, or None if no such bridge is up there.

        A simulator notion (no traffic flows): two NICs with the same segment can reach each other."""
        state = self.sdn_node(node)
        vnet = state['vnets'].get(bridge_name) or state['kept'].get(bridge_name)
        if vnet:
            return vnet['segment']
        if bridge_name in self.active_bridges(node):
            return self.bridge_segment(node, bridge_name)
        return None

    # ------------------------------------------------- node network hooks

    def active_bridges(self, node):
        state = self.sdn_node(node)
        return super().active_bridges(node) | set(state['vnets']) | set(state['kept'])

    def sdn_zone_of(self, name):
        """GuestHelpers check_vnet_access: a VNet of the written config is guarded by its zone's path."""
        vnet = self.sdn['vnets'].get(name)
        if vnet is not None and vnet.get('zone'):
            return vnet['zone']
        return super().sdn_zone_of(name)

    def tap_plug_check(self, node, name):
        """Network::SDN::Zones tap_plug: a VNet of the running config only plugs on its zone's nodes."""
        vnet = (self.sdn['running'].get('vnets') or {}).get(name)
        zone = (self.sdn['running'].get('zones') or {}).get((vnet or {}).get('zone')) or {}
        if vnet is not None and zone.get('nodes') and node not in split_list(zone['nodes']):
            return 'vnet {0} is not allowed on this node'.format(name)
        return super().tap_plug_check(node, name)

    def _local_vnets(self, node, user):
        """Network::SDN get_local_vnets: VNets of the running config on this node the caller may audit or use."""
        running = self.sdn['running']
        out = {}
        for vid in sorted(running.get('vnets') or {}):
            vnet = running['vnets'][vid]
            zid = vnet.get('zone')
            if not zid or not self.sdn_bridge_access(user, zid, vid, ('SDN.Audit', 'SDN.Use')):
                continue
            zone = (running.get('zones') or {}).get(zid) or {}
            if zone.get('nodes') and node not in split_list(zone['nodes']):
                continue
            out[vid] = {'iface': vid, 'type': 'vnet', 'active': '1', 'ipam': 1 if zone.get('ipam') else 0,
                        'vlanaware': 1 if vnet.get('vlanaware') else 0, 'comments': vnet.get('alias')}
        return out

    async def _net_list(self, v, user):
        """GET /nodes/{n}/network: VNets join the list for type any_bridge, include_sdn and vnet."""
        kind = v.get('type')
        if kind == 'include_sdn':
            out = await super()._net_list(dict(v, type=None), user)
        elif kind == 'vnet':
            out = []
        else:
            out = await super()._net_list(v, user)
        if kind in ('any_bridge', 'include_sdn', 'vnet'):
            vnets = self._local_vnets(v['node'], user)
            out = sorted([i for i in out if i['iface'] not in vnets] + list(vnets.values()),
                         key=lambda i: i['iface'])
        return out

    # ------------------------------------------------------- node status

    def _node_sdn_status(self, node):
        """Zones::status on one node: {zone: status}, {vnet: (zone, status, statusmsg)}."""
        running = self.sdn['running']
        if not running.get('version'):
            return {}, {}
        local = self.sdn_node(node)
        error = None
        if local['version'] is None:
            error = 'local sdn network configuration is not yet generated, please reload'
        elif local['version'] < running['version']:
            error = 'local sdn network configuration is too old, please reload'
        zones, vnets = {}, {}
        for zid, zone in sorted((running.get('zones') or {}).items()):
            if not zone.get('nodes') or node in split_list(zone['nodes']):
                zones[zid] = 'pending' if error else 'available'
        for vid, vnet in sorted((running.get('vnets') or {}).items()):
            zid = vnet.get('zone')
            zone = (running.get('zones') or {}).get(zid)
            if zone is None:
                vnets[vid] = (zid, 'error', "unknown zone '{0}' configured".format(zid))
                continue
            if zone.get('nodes') and node not in split_list(zone['nodes']):
                continue
            if error:
                vnets[vid] = (zid, 'pending', error)
            elif vid not in local['vnets']:
                missing = zone.get('bridge') if zone['type'] == 'vlan' and self._vnet_problem(node, zid, zone) \
                    else None
                vnets[vid] = (zid, 'error', 'missing ' + missing if missing else
                              "vnet is not generated. Please check the 'reload network' task log.")
                zones[zid] = 'error'
            else:
                vnets[vid] = (zid, 'available', None)
        return zones, vnets

    async def _sdn_node_zones(self, v, user):
        zones, _vnets = self._node_sdn_status(v['node'])
        return [{'zone': zid, 'status': status} for zid, status in sorted(zones.items())]

    async def _sdn_zone_content(self, v, user):
        _zones, vnets = self._node_sdn_status(v['node'])
        out = []
        for vid, (zid, status, message) in sorted(vnets.items()):
            if zid == v['zone']:
                item = {'vnet': vid, 'status': status}
                if message:
                    item['statusmsg'] = message
                out.append(item)
        return out

    # -------------------------------------------------------------- state

    def sdn_state(self):
        """The SDN part of the state dump (the lock token itself is left out)."""
        holder = self.sdn_lock_holder()
        nodes = dict((node, {'version': self.sdn_node(node)['version'],
                             'vnets': copy.deepcopy(self.sdn_node(node)['vnets']),
                             'kept': sorted(self.sdn_node(node)['kept'])}) for node in sorted(self.nodes))
        return {'zones': copy.deepcopy(self.sdn['zones']), 'vnets': copy.deepcopy(self.sdn['vnets']),
                'running': copy.deepcopy(self.sdn['running']), 'pending': self.sdn_has_pending(),
                'lock': None if holder is None else ('foreign' if holder == FOREIGN_TOKEN else 'api'),
                'nodes': nodes}
