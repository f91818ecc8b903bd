"""Scenario files: the cluster a simulator starts with (see docs/simulator.md for the format).

`load(name_or_path_or_dict)` validates and returns a normalised dict; `build(scenario, **overrides)`
makes a LabPve from it. A bad file gives one ScenarioError naming the file and the key.
"""

import ipaddress
import os

import yaml

from fakepve.routing import split_list

from .network import bridge
from .server import LabPve, normalise_tags
from .timing import DURATIONS, FAULTS

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'scenarios')
GiB = 1024 ** 3
STORAGE_TYPES = {'lvmthin': {'vgname': 'pve', 'thinpool': 'data'}, 'lvm': {'vgname': 'pve'},
                 'dir': {'path': '/var/lib/vz'}, 'nfs': {'server': '192.0.2.50', 'export': '/export/pve'},
                 'rbd': {'pool': 'rbd'}, 'zfspool': {'pool': 'rpool/data'}, 'cifs': {'server': '192.0.2.51'},
                 'pbs': {'server': '192.0.2.52', 'datastore': 'lab'},
                 'iscsi': {'portal': '192.0.2.53', 'target': 'iqn.2026-01.test.lab:storage'}}


class ScenarioError(ValueError):
    """A scenario that cannot be used; the message names the file and the key."""


def builtin(name):
    return os.path.join(HERE, name + '.yml')


class _Checker(object):
    def __init__(self, source):
        self.source = source

    def fail(self, where, message):
        raise ScenarioError('scenario {0}: {1}: {2}'.format(self.source, where, message))

    def get(self, data, key, where, kind, default=None, required=False):
        if key not in data or data[key] is None:
            if required:
                self.fail(where + key, 'is required')
            return default
        return self.check(data[key], kind, where + key)

    def check(self, value, kind, where):
        names = {int: 'an integer', float: 'a number', str: 'a string', bool: 'true or false', list: 'a list',
                 dict: 'a mapping'}
        if kind is float:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        elif kind is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
        else:
            ok = isinstance(value, kind)
        if not ok:
            self.fail(where, 'expected {0}, got {1!r}'.format(names[kind], value))
        return value

    def keys(self, data, where, allowed):
        self.check(data, dict, where.rstrip('.') or 'top level')
        extra = sorted(set(data) - set(allowed))
        if extra:
            self.fail(where + extra[0], 'unknown key (known: {0})'.format(', '.join(sorted(allowed))))


def _read(source):
    """(name shown in errors, raw dict)."""
    if isinstance(source, dict):
        return '<dict>', source
    path = builtin(source) if os.path.sep not in str(source) and not str(source).endswith(('.yml', '.yaml')) \
        else str(source)
    name = os.path.basename(path)
    if not os.path.exists(path):
        raise ScenarioError('scenario {0}: no such file (built-in scenarios: {1})'.format(
            source, ', '.join(sorted(f[:-4] for f in os.listdir(HERE) if f.endswith('.yml')))))
    try:
        with open(path, encoding='utf-8') as fh:
            data = yaml.safe_load(fh)
    except yaml.YAMLError as e:
        raise ScenarioError('scenario {0}: not valid YAML: {1}'.format(name, e)) from None
    return name, data if data is not None else {}


TOP = ('root_password', 'nodes', 'storages', 'bridges', 'templates', 'users', 'tokens', 'pools', 'acl', 'vms',
       'durations', 'faults', 'description', 'base', 'pve_version', 'sdn', 'ha', 'guest_networks')


def load(source):
    """The validated scenario as a dict of lists and mappings with defaults filled in."""
    name, raw = _read(source)
    c = _Checker(name)
    c.keys(raw, '', TOP)
    raw = _with_base(c, raw)
    out = {'root_password': str(c.get(raw, 'root_password', '', str, 'secret'))}
    nodes = []
    for i, node in enumerate(c.get(raw, 'nodes', '', list, [])):
        w = 'nodes[{0}].'.format(i)
        c.keys(node, w, ('name', 'memory_gb', 'memory_used_gb', 'online'))
        nodes.append({'name': c.get(node, 'name', w, str, required=True),
                      'memory_gb': c.get(node, 'memory_gb', w, float, 64),
                      'memory_used_gb': c.get(node, 'memory_used_gb', w, float, 4),
                      'online': c.get(node, 'online', w, bool, True)})
    if not nodes:
        c.fail('nodes', 'at least one node is required')
    node_names = [n['name'] for n in nodes]
    out['nodes'] = nodes
    storages = []
    for i, store in enumerate(c.get(raw, 'storages', '', list, [
            {'name': 'local-lvm', 'type': 'lvmthin'}])):
        w = 'storages[{0}].'.format(i)
        c.keys(store, w, ('name', 'type', 'shared', 'content', 'nodes'))
        kind = c.get(store, 'type', w, str, 'lvmthin')
        if kind not in STORAGE_TYPES:
            c.fail(w + 'type', 'expected one of {0}, got {1!r}'.format(', '.join(sorted(STORAGE_TYPES)), kind))
        content = c.get(store, 'content', w, list, ['images', 'rootdir'])
        storages.append({'name': c.get(store, 'name', w, str, required=True), 'type': kind,
                         'shared': c.get(store, 'shared', w, bool, kind in ('nfs', 'rbd', 'cifs')),
                         'content': [c.check(x, str, '{0}content[{1}]'.format(w, j)) for j, x in enumerate(content)],
                         # storage.cfg `nodes`: the nodes it is enabled on (all when not given)
                         'nodes': [c.check(x, str, '{0}nodes[{1}]'.format(w, j))
                                   for j, x in enumerate(c.get(store, 'nodes', w, list, []))]})
    out['storages'] = storages
    store_names = [s['name'] for s in storages]

    def node_ref(value, where):
        if value not in node_names:
            c.fail(where, 'unknown node {0!r} (nodes: {1})'.format(value, ', '.join(node_names)))
        return value

    def storage_ref(value, where):
        if value not in store_names:
            c.fail(where, 'unknown storage {0!r} (storages: {1})'.format(value, ', '.join(store_names)))
        return value

    bridges = {}
    for node, items in c.get(raw, 'bridges', '', dict, {}).items():
        node_ref(node, 'bridges.' + str(node))
        for i, br in enumerate(c.check(items, list, 'bridges.' + node)):
            w = 'bridges.{0}[{1}].'.format(node, i)
            c.keys(br, w, ('name', 'ports', 'comments', 'vlan_aware', 'autostart'))
            bridges.setdefault(node, []).append({
                'name': c.get(br, 'name', w, str, required=True), 'ports': c.get(br, 'ports', w, str, 'none'),
                'comments': c.get(br, 'comments', w, str), 'vlan_aware': c.get(br, 'vlan_aware', w, bool, False),
                'autostart': c.get(br, 'autostart', w, bool, True)})
    out['bridges'] = bridges

    def guest(item, w, template):
        allowed = ('vmid', 'name', 'node', 'storage', 'disk_gb', 'memory_mb', 'nics', 'tags', 'cores', 'agent',
                   'guest_agent', 'acpi')
        c.keys(item, w, allowed + (() if template else ('status', 'pool')))
        g = {'vmid': c.get(item, 'vmid', w, int, required=True), 'name': c.get(item, 'name', w, str, required=True),
             'node': node_ref(c.get(item, 'node', w, str, node_names[0]), w + 'node'),
             'storage': storage_ref(c.get(item, 'storage', w, str, store_names[0]), w + 'storage'),
             'disk_gb': c.get(item, 'disk_gb', w, float, 10), 'memory_mb': c.get(item, 'memory_mb', w, int, 1024),
             'cores': c.get(item, 'cores', w, int, 1),
             'nics': [c.check(x, str, '{0}nics[{1}]'.format(w, j))
                      for j, x in enumerate(c.get(item, 'nics', w, list, ['vmbr0']))],
             'tags': normalise_tags(';'.join(str(t) for t in c.get(item, 'tags', w, list, []))),
             'template': template, 'agent': c.get(item, 'agent', w, bool, False),
             'acpi': c.get(item, 'acpi', w, bool, True)}
        # The config's `agent` option and whether the guest OS runs qemu-guest-agent (default: the same).
        g['guest_agent'] = c.get(item, 'guest_agent', w, bool, g['agent'])
        if not template:
            g['status'] = c.get(item, 'status', w, str, 'stopped')
            if g['status'] not in ('running', 'stopped'):
                c.fail(w + 'status', "expected 'running' or 'stopped', got {0!r}".format(g['status']))
            g['pool'] = c.get(item, 'pool', w, str)
        return g

    guests = [guest(t, 'templates[{0}].'.format(i), True) for i, t in enumerate(c.get(raw, 'templates', '', list, []))]
    guests += [guest(v, 'vms[{0}].'.format(i), False) for i, v in enumerate(c.get(raw, 'vms', '', list, []))]
    seen = {}
    for g in guests:
        if g['vmid'] in seen:
            c.fail('vmid {0}'.format(g['vmid']), 'used by both {0!r} and {1!r}'.format(seen[g['vmid']], g['name']))
        seen[g['vmid']] = g['name']
    out['guests'] = guests

    users = []
    for i, u in enumerate(c.get(raw, 'users', '', list, [])):
        w = 'users[{0}].'.format(i)
        c.keys(u, w, ('userid', 'password', 'comment', 'email', 'enable', 'expire', 'firstname', 'lastname'))
        userid = c.get(u, 'userid', w, str, required=True)
        if '@' not in userid:
            c.fail(w + 'userid', 'expected user@realm, got {0!r}'.format(userid))
        users.append(dict((k, u[k]) for k in u))
    out['users'] = users
    userids = {'root@pam'} | {u['userid'] for u in users}
    tokens = []
    for i, t in enumerate(c.get(raw, 'tokens', '', list, [])):
        w = 'tokens[{0}].'.format(i)
        c.keys(t, w, ('userid', 'tokenid', 'privsep', 'expire', 'comment', 'secret'))
        if c.get(t, 'userid', w, str, required=True) not in userids:
            c.fail(w + 'userid', 'unknown user {0!r}'.format(t['userid']))
        tokens.append({'userid': t['userid'], 'tokenid': c.get(t, 'tokenid', w, str, required=True),
                       'privsep': c.get(t, 'privsep', w, bool, True), 'expire': c.get(t, 'expire', w, int, 0),
                       'comment': c.get(t, 'comment', w, str), 'secret': c.get(t, 'secret', w, str)})
    out['tokens'] = tokens
    pools = []
    for i, p in enumerate(c.get(raw, 'pools', '', list, [])):
        w = 'pools[{0}].'.format(i)
        c.keys(p, w, ('poolid', 'comment', 'vms'))
        pools.append({'poolid': c.get(p, 'poolid', w, str, required=True), 'comment': c.get(p, 'comment', w, str),
                      'vms': [c.check(x, int, '{0}vms[{1}]'.format(w, j))
                              for j, x in enumerate(c.get(p, 'vms', w, list, []))]})
    out['pools'] = pools
    acl = []
    for i, a in enumerate(c.get(raw, 'acl', '', list, [])):
        w = 'acl[{0}].'.format(i)
        c.keys(a, w, ('path', 'roles', 'users', 'tokens', 'propagate'))
        acl.append({'path': c.get(a, 'path', w, str, required=True),
                    'roles': split_list(c.get(a, 'roles', w, str, required=True)),
                    'users': split_list(c.get(a, 'users', w, str, '')),
                    'tokens': split_list(c.get(a, 'tokens', w, str, '')),
                    'propagate': c.get(a, 'propagate', w, bool, True)})
    out['acl'] = acl
    durations = c.get(raw, 'durations', '', dict, {})
    c.keys(durations, 'durations.', DURATIONS)
    for key in durations:
        c.check(durations[key], float, 'durations.' + key)
    out['durations'] = durations
    faults = c.get(raw, 'faults', '', dict, {})
    c.keys(faults, 'faults.', FAULTS)
    for key in faults:
        if key != 'seed':
            c.check(faults[key], float, 'faults.' + key)
    out['faults'] = faults
    _load_services(c, raw, out, node_names)
    networks = {}
    for bridge_name, cidr in c.get(raw, 'guest_networks', '', dict, {}).items():
        w = 'guest_networks.{0}'.format(bridge_name)
        if cidr is not None:
            try:
                ipaddress.IPv4Network(c.check(cidr, str, w), strict=False)
            except ValueError:
                c.fail(w, 'expected an IPv4 network such as 10.1.0.0/24 (or null), got {0!r}'.format(cidr))
        networks[str(bridge_name)] = cidr
    out['guest_networks'] = networks
    out['source'] = name
    return out


def _guest_config(g, sid, store):
    fmt_file = store['type'] in ('nfs', 'dir', 'cifs')
    prefix = 'base' if g['template'] else 'vm'
    vol = '{0}-{1}-disk-0'.format(prefix, g['vmid'])
    vol = '{0}/{1}.qcow2'.format(g['vmid'], vol) if fmt_file else vol
    size = g['disk_gb']
    config = {'name': g['name'], 'memory': str(g['memory_mb']), 'cores': g['cores'], 'ostype': 'l26',
              'scsihw': 'virtio-scsi-single', 'boot': 'order=scsi0',
              'scsi0': '{0}:{1},size={2}G'.format(sid, vol, int(size) if size == int(size) else size)}
    for i, br in enumerate(g['nics']):
        config['net{0}'.format(i)] = 'virtio,bridge={0}'.format(br)
    if g['tags']:
        config['tags'] = g['tags']
    if g['template']:
        config['template'] = 1
    if g['agent']:
        config['agent'] = '1'
    return config


def build(source='default', password=None, time_factor=0.0, durations=None, faults=None, seed=None,
          host='127.0.0.1', port=0):
    """A LabPve (not yet started) holding the scenario; keyword arguments override the file."""
    sc = load(source)
    durations = dict(sc['durations'], **(durations or {}))
    faults = dict(sc['faults'], **(faults or {}))
    if seed is not None:
        faults['seed'] = seed
    pve = LabPve(password=password or sc['root_password'], host=host, port=port, time_factor=time_factor,
                 durations=durations, faults=faults)
    pve.nodes = {}
    for node in sc['nodes']:
        pve.add_node(node['name'], online=node['online'])
        pve.node_memory[node['name']] = {'maxmem': int(node['memory_gb'] * GiB),
                                         'mem': int(node['memory_used_gb'] * GiB)}
        pve.node_net(node['name'])
    pve.storages = {}
    for store in sc['storages']:
        opts = dict(STORAGE_TYPES[store['type']], type=store['type'], active=1, files=set(),
                    content=','.join(store['content']))
        if store['shared']:
            opts['shared'] = 1
        if store['nodes']:
            opts['nodes'] = ','.join(store['nodes'])
        if store['type'] in ('nfs', 'cifs'):
            opts['path'] = '/mnt/pve/' + store['name']
        pve.storages[store['name']] = opts
    for node, items in sc['bridges'].items():
        config = pve.node_net(node)['config']
        for br in items:
            config[br['name']] = bridge(None if br['ports'] == 'none' else br['ports'], br['comments'],
                                        br['autostart'], br['vlan_aware'])
    for g in sc['guests']:
        vm = pve.add_vm(g['vmid'], g['name'], node=g['node'], status=g.get('status', 'stopped'),
                        config=_guest_config(g, g['storage'], pve.storages[g['storage']]),
                        template=g['template'])
        vm.agent = {} if g['guest_agent'] else None
        vm.acpi = g['acpi']
        if g.get('pool'):
            pve.pools.setdefault(g['pool'], set()).add(g['vmid'])
            pve._pool_meta(g['pool'])
    for u in sc['users']:
        pve.add_user(u['userid'], u.get('password'), **dict((k, v) for k, v in u.items()
                                                             if k not in ('userid', 'password')))
    for t in sc['tokens']:
        secret = pve.add_token(t['userid'], t['tokenid'], t['privsep'], t['expire'], t['comment'])
        if t['secret']:
            pve.lab_users[t['userid']]['tokens'][t['tokenid']]['secret'] = t['secret']
        else:
            t['secret'] = secret
    for p in sc['pools']:
        pve.pools.setdefault(p['poolid'], set()).update(p['vms'])
        pve._pool_meta(p['poolid'])['comment'] = p['comment']
    pve._sync_pools()
    pve.guest_networks.update(sc['guest_networks'])
    for a in sc['acl']:
        for role in a['roles']:
            if pve.role_privs(role) is None:
                raise ScenarioError('scenario {0}: acl: unknown role {1!r}'.format(sc['source'], role))
            for u in a['users']:
                pve.set_acl(a['path'], role, u, 'user', a['propagate'])
            for t in a['tokens']:
                pve.set_acl(a['path'], role, t, 'token', a['propagate'])
    _build_services(pve, sc)
    pve.scenario = sc
    return pve


# ------------------------------------------------------------------ base, PVE version, SDN, HA

SDN_ZONE_KEYS = ('zone', 'type', 'nodes', 'peers', 'bridge', 'mtu', 'vxlan-port', 'ipam', 'applied')
SDN_VNET_KEYS = ('vnet', 'zone', 'tag', 'alias', 'vlanaware', 'isolate-ports', 'applied')
HA_KEYS = {'resources': ('sid', 'state', 'comment', 'group', 'max_restart', 'max_relocate', 'failback'),
           'rules': ('rule', 'type', 'resources', 'nodes', 'strict', 'affinity', 'comment', 'disable'),
           'groups': ('group', 'nodes', 'restricted', 'nofailback', 'comment')}
PVE_RELEASES = {8: ('8.4.1', '8.4'), 9: ('9.0.10', '9.0')}


def _with_base(c, raw):
    """`base: <scenario>`: start from that scenario; the keys given here replace its keys."""
    if raw.get('base') is None:
        return raw
    base = c.check(raw['base'], str, 'base')
    merged = dict(_read(base)[1])
    if merged.get('base') is not None:
        c.fail('base', 'the base scenario {0!r} has a base itself'.format(base))
    merged.update((k, v) for k, v in raw.items() if k != 'base')
    c.keys(merged, '', TOP)
    return merged


def _joined(c, value, where):
    """A list of strings or a comma-separated string, as PVE's list options take it."""
    if isinstance(value, list):
        return ','.join(c.check(x, str, '{0}[{1}]'.format(where, i)) for i, x in enumerate(value))
    return c.check(value, str, where)


def _items(c, data, key, where, allowed, required):
    """[(where, item)] of a list of mappings with only `allowed` keys and the `required` ones present."""
    out = []
    for i, item in enumerate(c.get(data, key, where, list, [])):
        w = '{0}{1}[{2}].'.format(where, key, i)
        c.keys(item, w, allowed)
        for name in required:
            if item.get(name) is None:
                c.fail(w + name, 'is required')
        out.append((w, dict(item)))
    return out


def _load_services(c, raw, out, node_names):
    version = c.get(raw, 'pve_version', '', int, 9)
    if version not in PVE_RELEASES:
        c.fail('pve_version', 'expected 8 or 9, got {0!r}'.format(version))
    out['pve_version'] = version
    sdn = c.get(raw, 'sdn', '', dict, {})
    c.keys(sdn, 'sdn.', ('zones', 'vnets'))
    zones = []
    for w, zone in _items(c, sdn, 'zones', 'sdn.', SDN_ZONE_KEYS, ('zone', 'type')):
        for key in ('nodes', 'peers'):
            if zone.get(key) is not None:
                zone[key] = _joined(c, zone[key], w + key)
        for node in (zone.get('nodes') or '').split(','):
            if node and node not in node_names:
                c.fail(w + 'nodes', 'unknown node {0!r} (nodes: {1})'.format(node, ', '.join(node_names)))
        zone['applied'] = c.get(zone, 'applied', w, bool, True)
        zones.append((w, zone))
    vnets = []
    zone_ids = [z['zone'] for _w, z in zones]
    for w, vnet in _items(c, sdn, 'vnets', 'sdn.', SDN_VNET_KEYS, ('vnet', 'zone')):
        if vnet['zone'] not in zone_ids:
            c.fail(w + 'zone', 'unknown zone {0!r} (zones: {1})'.format(vnet['zone'], ', '.join(zone_ids) or 'none'))
        vnet['applied'] = c.get(vnet, 'applied', w, bool, True)
        vnets.append((w, vnet))
    out['sdn'] = {'zones': zones, 'vnets': vnets}
    ha = c.get(raw, 'ha', '', dict, {})
    c.keys(ha, 'ha.', tuple(HA_KEYS))
    out['ha'] = {}
    for kind, allowed in HA_KEYS.items():
        out['ha'][kind] = []
        for w, item in _items(c, ha, kind, 'ha.', allowed, allowed[:1]):
            for key in ('resources', 'nodes'):
                if item.get(key) is not None:
                    item[key] = _joined(c, item[key], w + key)
            out['ha'][kind].append((w, item))
    if out['ha']['groups'] and version >= 9:
        c.fail('ha.groups', 'PVE 9 has HA rules instead of groups (set pve_version: 8)')
    if out['ha']['rules'] and version < 9:
        c.fail('ha.rules', 'PVE 8 has no HA rules (use ha.groups)')


def _build_services(pve, sc):
    from fakepve.model import PveError
    pve.pve_major = sc['pve_version']
    pve.version, pve.release_version = PVE_RELEASES[sc['pve_version']]

    def made(where, call, *args):
        try:
            call(*args)
        except PveError as e:
            raise ScenarioError('scenario {0}: {1}{2}'.format(
                sc['source'], where.rstrip('.'), ': ' + e.message.replace('\n', ' ').strip())) from None

    def options(item, drop):
        return dict((k, v) for k, v in item.items() if k not in drop)
    for applied in (True, False):
        for w, zone in sc['sdn']['zones']:
            if zone['applied'] == applied:
                made(w, pve.sdn_create_zone, zone['zone'], zone['type'], options(zone, ('zone', 'type', 'applied')))
        for w, vnet in sc['sdn']['vnets']:
            if vnet['applied'] == applied:
                made(w, pve.sdn_create_vnet, vnet['vnet'], options(vnet, ('vnet', 'applied')))
        if applied and (sc['sdn']['zones'] or sc['sdn']['vnets']):
            pve.sdn_commit()
            for node in sorted(pve.nodes):
                pve.sdn_generate(node)
    for w, item in sc['ha']['groups']:
        pve.ha['groups'][item['group']] = options(item, ('group',))
    for w, item in sc['ha']['resources']:
        sid = item['sid'] if ':' in str(item['sid']) else 'vm:{0}'.format(item['sid'])
        vm = pve.vm(int(sid.partition(':')[2])) if sid.partition(':')[2].isdigit() else None
        if vm is None:
            raise ScenarioError('scenario {0}: {1}sid: no VM {2!r}'.format(sc['source'], w, item['sid']))
        pve.ha['resources'][sid] = dict(options(item, ('sid',)), type='vm')
        state = item.get('state') or 'started'
        vm.ha_state = None if state == 'ignored' else state
    for order, (w, item) in enumerate(sc['ha']['rules'], 1):
        rule = options(item, ('rule',))
        rule['resources'] = [r for r in str(rule.get('resources') or '').split(',') if r]
        missing = [r for r in rule['resources'] if r not in pve.ha['resources']]
        if missing:
            raise ScenarioError('scenario {0}: {1}resources: not HA resources: {2}'.format(
                sc['source'], w, ', '.join(missing)))
        rule['order'] = order
        pve.ha['rules'][item['rule']] = rule
