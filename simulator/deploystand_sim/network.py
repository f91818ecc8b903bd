"""Per-node network configuration with PVE's staging: /nodes/{node}/network.

Follows pve-manager PVE/API2/Network.pm and pve-common PVE/INotify.pm / Network/Interfaces.pm:
writes go to a shadow copy (/etc/network/interfaces.new) that GET already shows; the list carries
`active` from the running state and a top-level `changes` diff; `PUT /nodes/{n}/network` applies the
shadow in a `srvreload` task; `DELETE /nodes/{n}/network` drops it.

State per node (`pve.lab_net[node]`): `config` (the applied file, iface -> options), `staged`
(the shadow, or None) and `kept` (bridges ifreload refused to remove because guest ports were still
plugged: gone from the file, still up in the kernel).
"""

import copy
import difflib
import re

from fakepve.model import PveError
from fakepve.routing import die, param_error, split_list

IFACE = re.compile(r'^[a-z][a-z0-9_]{1,20}([:.]\d+)?$', re.I)
IFNAMSIZ = 16
# The options a bridge stanza keeps (API name -> ifupdown key).
OPTION_KEYS = ('bridge_ports', 'bridge_stp', 'bridge_fd', 'bridge_vlan_aware', 'bridge_vids', 'cidr', 'address',
               'netmask', 'gateway', 'mtu', 'comments', 'autostart')


def bridge(ports=None, comments=None, autostart=1, vlan_aware=False, **extra):
    """Options of a bridge as PVE's writer stores them."""
    opts = {'type': 'bridge', 'bridge_ports': ports or 'none', 'bridge_stp': 'off', 'bridge_fd': '0',
            'autostart': 1 if autostart else 0}
    if comments:
        opts['comments'] = comments
    if vlan_aware:
        opts.update(bridge_vlan_aware=1, bridge_vids='2-4094')
    opts.update(extra)
    return opts


def default_interfaces():
    """What a fresh PVE node has: eno1 enslaved to vmbr0."""
    return {'eno1': {'type': 'eth'}, 'vmbr0': bridge('eno1', autostart=1, cidr='192.0.2.10/24')}


def render(ifaces):
    """/etc/network/interfaces as PVE's writer lays it out (enough for a meaningful diff)."""
    lines = ['auto lo', 'iface lo inet loopback', '']
    for name in sorted(ifaces, key=lambda n: (ifaces[n].get('type') != 'eth', n)):
        opts = ifaces[name]
        if opts.get('autostart'):
            lines.append('auto ' + name)
        lines.append('iface {0} inet {1}'.format(name, 'static' if opts.get('cidr') or opts.get('address')
                                                 else 'manual'))
        for key in ('cidr', 'gateway', 'mtu'):
            if opts.get(key):
                lines.append('\t{0} {1}'.format('address' if key == 'cidr' else key, opts[key]))
        if opts.get('type') == 'bridge':
            lines.append('\tbridge-ports ' + (opts.get('bridge_ports') or 'none'))
            lines.append('\tbridge-stp ' + str(opts.get('bridge_stp', 'off')))
            lines.append('\tbridge-fd ' + str(opts.get('bridge_fd', '0')))
            if 'bridge_vlan_aware' in opts:
                lines.append('\tbridge-vlan-aware yes')
                lines.append('\tbridge-vids ' + str(opts.get('bridge_vids') or '2-4094'))
        for text in str(opts.get('comments') or '').splitlines():
            lines.append('#' + text)
        lines.append('')
    return [line + '\n' for line in lines]


class NetworkApi(object):
    """Mixin of LabPve: stateful node networks."""

    def _init_network(self):
        self.lab_net = {}

    def node_net(self, node):
        return self.lab_net.setdefault(node, {'config': default_interfaces(), 'staged': None, 'kept': {}})

    def active_bridges(self, node):
        """Bridges up in the node's kernel: the applied file plus the kept ones."""
        net = self.node_net(node)
        names = {n for n, o in net['config'].items() if o.get('type') == 'bridge'}
        return names | set(net['kept'])

    def net_changes(self, node):
        """The diff PVE puts next to `data` while a shadow file exists, or None."""
        net = self.node_net(node)
        if net['staged'] is None:
            return None
        diff = ''.join(difflib.unified_diff(render(net['config']), render(net['staged']),
                                            '/etc/network/interfaces', '/etc/network/interfaces.new'))
        return diff or None

    def _routes_network(self):
        base = '/nodes/{node}/network'
        one = base + '/{iface}'
        return [('GET', base, self._net_list), ('POST', base, self._net_create), ('PUT', base, self._net_apply),
                ('DELETE', base, self._net_revert), ('GET', one, self._net_read), ('PUT', one, self._net_update),
                ('DELETE', one, self._net_delete)]

    def _stateful_handler(self, template, handler):
        """The list answer also carries `changes` (pve-http-server Formatter/Standard.pm copies it)."""
        serve = super()._stateful_handler(template, handler)
        if template != '/nodes/{node}/network':
            return serve

        async def with_changes(request):
            response = await serve(request)
            node = request.match_info.get('node')
            changes = self.net_changes(node) if response.status == 200 and node in self.nodes else None
            if request.method == 'GET' and changes:
                import json
                from aiohttp import web
                body = json.loads(response.text)
                body['changes'] = changes
                return web.json_response(body)
            return response
        return with_changes

    # ---------------------------------------------------------------- views

    def _net_view(self, node, name, opts):
        item = {'iface': name, 'type': opts.get('type', 'eth'), 'families': ['inet'], 'priority': 1,
                'method': 'static' if opts.get('cidr') or opts.get('address') else 'manual', 'method6': 'manual'}
        net = self.node_net(node)
        # `active` comes from the kernel: 1 once applied, 0 while only in the shadow file.
        item['active'] = 1 if name in net['config'] or name in net['kept'] else 0
        if name in net['config'] and opts.get('type') == 'eth':
            item['exists'] = 1
        for key in OPTION_KEYS:
            if opts.get(key) is not None and key != 'autostart':
                item[key] = opts[key]
        if opts.get('autostart'):
            item['autostart'] = 1
        if 'bridge_vlan_aware' in opts:
            item['bridge_vlan_aware'] = 1
        return item

    def _net_current(self, node):
        net = self.node_net(node)
        return net['staged'] if net['staged'] is not None else net['config']

    def _bridge_visible(self, user, name):
        path = '/sdn/zones/localnetwork/' + name
        return self.allowed(user, path, 'SDN.Audit') or self.allowed(user, path, 'SDN.Use')

    async def _net_list(self, v, user):
        node, kind = v['node'], v.get('type')
        out = []
        for name, opts in sorted(self._net_current(node).items()):
            itype = opts.get('type', 'eth')
            if kind in ('any_bridge', 'any_local_bridge'):
                if itype not in ('bridge', 'OVSBridge'):
                    continue
            elif kind and itype != kind:
                continue
            # Network.pm check_sdn_bridge: bridges the caller may not audit or use are left out.
            if itype == 'bridge' and user.partition('!')[0] != 'root@pam' and not self._bridge_visible(user, name):
                continue
            out.append(self._net_view(node, name, opts))
        return out

    async def _net_read(self, v, user):
        node, name = v['node'], v['iface']
        opts = self._net_current(node).get(name)
        if opts is None:
            raise param_error(iface='interface does not exist')
        item = self._net_view(node, name, opts)
        item.pop('iface')
        return item

    # --------------------------------------------------------------- writes

    def _staged(self, node):
        net = self.node_net(node)
        if net['staged'] is None:
            net['staged'] = copy.deepcopy(net['config'])
        return net['staged']

    @staticmethod
    def _check_name(name):
        if not IFACE.match(name):
            raise param_error(iface="invalid format - value does not look like a valid network interface name")
        if len(name.encode()) >= IFNAMSIZ:
            # pve-common Network.pm check_iface_name (IFNAMSIZ)
            raise param_error(iface="interface name '{0}' is too long (max {1})".format(name, IFNAMSIZ - 1))

    def _set_options(self, ifaces, name, opts, v, deletes=()):
        for key in deletes:
            opts.pop(key, None)
        for key in OPTION_KEYS:
            if v.get(key) is not None:
                opts[key] = v[key]
        # Interfaces.pm writer: a defined bridge_vlan_aware (any value) makes the bridge VLAN-aware.
        if 'bridge_vlan_aware' in opts:
            opts['bridge_vlan_aware'] = 1
            opts.setdefault('bridge_vids', '2-4094')
        if opts.get('type') == 'bridge':
            opts.setdefault('bridge_ports', 'none')
            opts.setdefault('bridge_stp', 'off')
            opts.setdefault('bridge_fd', '0')
            for port in split_list(opts['bridge_ports']):
                if port == 'none':
                    continue
                for other, oopts in ifaces.items():
                    if other != name and port in split_list(oopts.get('bridge_ports')):
                        raise die("{0} is already used on interface '{1}'".format(port, other))
        if 'autostart' in opts:
            opts['autostart'] = 1 if int(opts['autostart']) else 0
        ifaces[name] = opts

    async def _net_create(self, v, user):
        node, name = v['node'], v['iface']
        self._check_name(name)
        if name in self._net_current(node):
            raise param_error(iface='interface already exists')
        ifaces = self._staged(node)
        self._set_options(ifaces, name, {'type': v['type']}, v)
        return None

    async def _net_update(self, v, user):
        node, name = v['node'], v['iface']
        current = self._net_current(node)
        if name not in current:
            raise param_error(iface='interface does not exist')
        ifaces = self._staged(node)
        opts = dict(ifaces[name])
        if v.get('type') and v['type'] != opts.get('type'):
            raise param_error(type='interface type cannot be changed')
        self._set_options(ifaces, name, opts, v, split_list(v.get('delete')))
        return None

    async def _net_delete(self, v, user):
        node, name = v['node'], v['iface']
        if name not in self._net_current(node):
            raise param_error(iface='interface does not exist')
        del self._staged(node)[name]
        return None

    async def _net_revert(self, v, user):
        self.node_net(v['node'])['staged'] = None
        return None

    async def _net_apply(self, v, user):
        node = v['node']
        return await self.task(node, 'srvreload', 'networking', user, lambda: self.reload_node_network(node))

    async def reload_node_network(self, node):
        """The work of a node's `srvreload`: the shadow file becomes the running one (ifreload -a).

        Returns the task log text or None. SDN extends this: every node reload also regenerates the
        node's SDN interfaces (pve-manager Network.pm reload_network_config)."""
        net = self.node_net(node)
        staged = net['staged']
        if staged is None:
            return None
        log = []
        # ifupdown2-pve: a removed bridge with guest ports still plugged stays up.
        plugged = self._plugged_ports(node)
        for name in sorted(set(net['config']) - set(staged)):
            if net['config'][name].get('type') == 'bridge' and plugged.get(name):
                log.append('cant remove bridge {0}, port {1} is present'.format(name, plugged[name][0]))
                net['kept'][name] = net['config'][name]
        for name in list(net['kept']):
            if name in staged or not plugged.get(name):
                del net['kept'][name]
        net['config'], net['staged'] = staged, None
        return '\n'.join(log) or None

    def _plugged_ports(self, node):
        """bridge -> tap devices of running VMs on the node plugged into it."""
        out = {}
        for vm in self.vms:
            if vm.node != node or vm.status != 'running':
                continue
            for key, bridge_name in self.vm_bridges(vm.config):
                out.setdefault(bridge_name, []).append('tap{0}i{1}'.format(vm.vmid, key[3:]))
        return out

    @staticmethod
    def vm_bridges(config):
        """[(netN, bridge)] of a VM config."""
        out = []
        for key in sorted(config):
            if re.fullmatch(r'net\d+', key):
                found = re.search(r'(?:^|,)bridge=([^,]+)', str(config[key]))
                if found:
                    out.append((key, found.group(1)))
        return out

    def sdn_zone_of(self, name):
        """The SDN zone whose path guards a bridge name: 'localnetwork' for a plain bridge (sdn.py knows VNets)."""
        return 'localnetwork'

    def tap_plug_check(self, node, name):
        """Why a NIC on bridge `name` cannot be plugged on `node` (pve-common Network.pm tap_plug), or None."""
        if name not in self.active_bridges(node):
            return "bridge '{0}' does not exist".format(name)
        return None

    def require_sdn_use(self, user, bridges):
        """GuestHelpers check_vnet_access: SDN.Use on each bridge; the literal root@pam skips it."""
        if user == 'root@pam':
            return
        for name in bridges:
            path = '/sdn/zones/{0}/{1}'.format(self.sdn_zone_of(name), name)
            if not self.allowed(user, path, 'SDN.Use'):
                raise PveError(403, 'Permission check failed ({0}, SDN.Use)'.format(path))
