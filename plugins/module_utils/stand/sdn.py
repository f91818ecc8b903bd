# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The `stand.network` input and the SDN part of the plan (issue 17): pure logic, no HTTP.

`mode: bridges` (the default) keeps today's node-local private bridges. `mode: sdn` gives each
(student, network alias) one SDN VNet in a zone, found again by its marker in the VNet `alias`
(the only free-text field PVE stores for a VNet: pve-network `VnetPlugin.pm` `alias`), with VNet ids
of at most 8 characters (`pve-sdn-vnet-id`: `[a-zA-Z][a-zA-Z0-9]*[a-zA-Z0-9]`, 2..8 characters,
`VnetPlugin.pm`). See docs/stand-model.md §6.
"""
from __future__ import absolute_import, division, print_function

import hashlib
import re

from ansible_collections.deploystand.proxmox.plugins.module_utils.errors import StandError
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.facts import _online_nodes, _vm_by_id
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.inputs import (
    _choice_field, _range_field, _string_field, _type_name, _unknown_keys,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.names import (
    NODE_RE, bridge_marker, owns, parse_marker,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.placement import (
    _free_memory, _gib, _machine_memory, _room, resolve_template,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.privileges import _need

__metaclass__ = type

MODES = ('bridges', 'sdn')
NETWORK_KEYS = ('mode', 'zone', 'create_zone', 'vni_range', 'tag_range', 'vnet_prefix')
CREATE_ZONE_KEYS = ('type', 'zone', 'peers', 'nodes')
CREATE_TYPES = ('simple', 'vxlan')
USABLE_TYPES = ('simple', 'vlan', 'vxlan')
SDN_ID_RE = re.compile(r'^[a-zA-Z][a-zA-Z0-9]*[a-zA-Z0-9]$')     # pve-sdn-zone-id / pve-sdn-vnet-id
SDN_ID_MAX = 8
PREFIX_RE = re.compile(r'^[a-zA-Z][a-zA-Z0-9]{0,5}$')           # leaves at least 2 digits of the 8
IP_RE = re.compile(r'^[0-9a-fA-F.:]+$')
DEFAULT_VNI_RANGE = [100000, 199999]
DEFAULT_TAG_RANGE = [2, 4094]
VNI_MAX = 16777215            # VxlanPlugin.pm: vxlan tag max value
VLAN_MAX = 4094
SDN_ROLE = 'PVESDNUser'


def default_network():
    return {'mode': 'bridges', 'zone': None, 'create_zone': None, 'vni_range': list(DEFAULT_VNI_RANGE),
            'tag_range': list(DEFAULT_TAG_RANGE), 'vnet_prefix': None}


def _hash(text, length):
    return hashlib.sha1(text.encode('utf-8')).hexdigest()[:length]


def own_zone_id(stand_name):
    """The id of a zone the stand creates: 'ds' + 6 hex digits of the stand name's hash (8 characters)."""
    return 'ds' + _hash('deploystand:' + str(stand_name), 6)


def vnet_prefix(stand_name, given=None):
    """VNet ids are <prefix><number>: the given prefix, or 2 letters/digits of the stand name + 2 hex digits
    of its hash (stands with similar names get different prefixes)."""
    if given:
        return given
    letters = re.sub(r'[^a-z0-9]', '', str(stand_name))[:2] or 'st'
    return letters + _hash('deploystand:' + str(stand_name), 2)


def _ip_list(field, value, errors):
    items = value if isinstance(value, list) else str(value).replace(',', ' ').split() if value else []
    out = []
    for item in items:
        if not isinstance(item, str) or not IP_RE.match(item):
            errors.append('%s: %r is not an IP address' % (field, item))
        else:
            out.append(item)
    return out


def _node_list(field, value, errors):
    items = value if isinstance(value, list) else str(value).replace(',', ' ').split() if value else []
    out = []
    for item in items:
        if not isinstance(item, str) or not NODE_RE.match(item):
            errors.append('%s: %r is not a node name' % (field, item))
        else:
            out.append(item)
    return sorted(set(out))


def normalize_network(raw, errors):
    """The `stand.network` value -> normalised dict (errors appended, each naming its field)."""
    net = default_network()
    if raw is None:
        return net
    if not isinstance(raw, dict):
        errors.append('stand.network: expected a mapping (mode, zone or create_zone, ...), got %s' % _type_name(raw))
        return net
    field = 'stand.network'
    errors += _unknown_keys(field, raw, NETWORK_KEYS)
    net['mode'] = _choice_field(field, raw, 'mode', MODES, 'bridges', errors)
    net['vni_range'] = _range_field(field, raw, 'vni_range', DEFAULT_VNI_RANGE, 1, VNI_MAX, errors)
    net['tag_range'] = _range_field(field, raw, 'tag_range', DEFAULT_TAG_RANGE, 1, VLAN_MAX, errors)
    net['vnet_prefix'] = _string_field(field, raw, 'vnet_prefix', PREFIX_RE,
                                       'a letter, then at most 5 letters or digits', errors)
    zone = raw.get('zone')
    if zone is not None and (not isinstance(zone, str) or not SDN_ID_RE.match(zone) or len(zone) > SDN_ID_MAX):
        errors.append("%s.zone: %r is not an SDN zone id (2 to 8 letters or digits, starting with a letter)"
                      % (field, zone))
        zone = None
    net['zone'] = zone
    create = raw.get('create_zone')
    if create is not None:
        cfield = field + '.create_zone'
        if not isinstance(create, dict):
            errors.append('%s: expected a mapping {type: simple|vxlan, peers, nodes}, got %s'
                          % (cfield, _type_name(create)))
        else:
            errors += _unknown_keys(cfield, create, CREATE_ZONE_KEYS)
            ztype = create.get('type')
            if ztype is None:
                errors.append('%s.type: is required (simple or vxlan)' % cfield)
            elif ztype not in CREATE_TYPES:
                errors.append('%s.type: %r is not one of %s' % (cfield, ztype, ', '.join(CREATE_TYPES)))
            zid = create.get('zone')
            if zid is not None and (not isinstance(zid, str) or not SDN_ID_RE.match(zid) or len(zid) > SDN_ID_MAX):
                errors.append('%s.zone: %r is not an SDN zone id (2 to 8 letters or digits)' % (cfield, zid))
            peers = _ip_list(cfield + '.peers', create.get('peers'), errors)
            if ztype == 'vxlan' and not peers:
                errors.append('%s.peers: a vxlan zone needs the addresses of its nodes (peers)' % cfield)
            if ztype == 'simple' and create.get('peers'):
                errors.append('%s.peers: only a vxlan zone has peers' % cfield)
            net['create_zone'] = {'type': ztype, 'zone': zid, 'peers': peers,
                                  'nodes': _node_list(cfield + '.nodes', create.get('nodes'), errors)}
    if net['mode'] == 'sdn':
        if raw.get('zone') is None and create is None:
            errors.append('%s: mode sdn needs zone (an existing SDN zone) or create_zone (a zone the stand owns)'
                          % field)
        if net['zone'] is not None and create is not None:
            errors.append('%s: give zone or create_zone, not both' % field)
    elif (zone is not None or create is not None) and raw.get('mode') in (None, 'bridges'):
        errors.append('%s: zone and create_zone are for mode sdn (mode is %s)' % (field, net['mode']))
    return net


def is_sdn(stand):
    return bool(stand and (stand.get('network') or {}).get('mode') == 'sdn')


# ---------------------------------------------------------------------------------------------
# The plan's SDN part
# ---------------------------------------------------------------------------------------------

def _zone_nodes(zone, cluster):
    nodes = zone.get('nodes')
    if isinstance(nodes, str):
        nodes = [n for n in nodes.replace(',', ' ').split() if n]
    return sorted(nodes) if nodes else sorted(str(n) for n in (cluster.get('nodes') or {}))


def _marker_of(vnet, stand_name):
    """(userid, alias) of this stand's marker in a VNet's alias, or None."""
    marker = parse_marker(vnet.get('alias'))
    if marker and marker['stand'] == stand_name and marker['userid'] and marker['alias']:
        return marker['userid'], marker['alias']
    return None


def owned_vnets(stand_name, sdn):
    """{vnet id: (userid, alias)} of the VNets whose alias carries this stand's marker (exact token)."""
    out = {}
    for vid, vnet in sorted((sdn.get('vnets') or {}).items()):
        owner = _marker_of(vnet, stand_name)
        if owner and owns(vnet.get('alias'), bridge_marker(stand_name, owner[0], owner[1])):
            out[vid] = owner
    return out


def _resolve_zone(stand, sdn, cluster, errors):
    """(zone id, zone type, zone nodes, create dict or None) or None on errors."""
    net = stand['network']
    zones = sdn.get('zones') or {}
    if net['zone']:
        zid = net['zone']
        zone = zones.get(zid)
        if zone is None:
            errors.append('stand.network.zone: SDN zone %r does not exist (zones: %s)'
                          % (zid, ', '.join(sorted(zones)) or 'none'))
            return None
        if zone.get('type') not in USABLE_TYPES:
            errors.append('stand.network.zone: zone %r is of type %s; a stand uses a simple, vlan or vxlan zone'
                          % (zid, zone.get('type')))
            return None
        return zid, zone['type'], _zone_nodes(zone, cluster), None
    create = net['create_zone']
    zid = create['zone'] or own_zone_id(stand['name'])
    zone = zones.get(zid)
    if zone is not None:
        if zone.get('type') != create['type']:
            errors.append('stand.network.create_zone: zone %r exists with type %s, not %s (not the stand\'s)'
                          % (zid, zone.get('type'), create['type']))
            return None
        strangers = [vid for vid, v in sorted((sdn.get('vnets') or {}).items())
                     if v.get('zone') == zid and not _marker_of(v, stand['name'])]
        if strangers:
            errors.append('stand.network.create_zone: zone %r exists and holds VNets that are not this stand\'s '
                          '(%s): give another create_zone.zone or use it as zone' % (zid, ', '.join(strangers)))
            return None
    for node in create['nodes']:
        if node not in (cluster.get('nodes') or {}):
            errors.append('stand.network.create_zone.nodes: node %r does not exist' % node)
    nodes = create['nodes'] or sorted(str(n) for n in (cluster.get('nodes') or {}))
    if create['type'] == 'simple' and not create['nodes']:
        nodes = sorted(str(n) for n in (cluster.get('nodes') or {}))
    return zid, create['type'], nodes, {'zone': zid, 'type': create['type'], 'peers': create['peers'],
                                        'nodes': create['nodes']}


def _used_tags(sdn, zid, ztype):
    """Tags a new VNet of this zone may not take: VXLAN tags are unique across all VXLAN and EVPN zones,
    VLAN tags within the zone (VxlanPlugin.pm / VlanPlugin.pm vnet_update_hook)."""
    zones = sdn.get('zones') or {}
    used = set()
    for vnet in (sdn.get('vnets') or {}).values():
        if vnet.get('tag') is None:
            continue
        other = (zones.get(vnet.get('zone')) or {}).get('type')
        if (ztype == 'vxlan' and other in ('vxlan', 'evpn')) or (ztype == 'vlan' and vnet.get('zone') == zid):
            used.add(int(vnet['tag']))
    return used


def _id_space(prefix):
    return re.compile(r'^%s(\d+)$' % re.escape(prefix))


def _spread_machines(stand, planned, zone_nodes, cluster, errors):
    """A multi-node zone: each new machine goes to the zone node with the fewest clones placed by this run,
    then the most free memory, then by name, among those with room for it; existing VMs stay where they are.
    Same input and cluster -> same placement."""
    online = [n for n in _online_nodes(cluster) if n in zone_nodes]
    if not online:
        errors.append('stand.network: no node of the zone is online (%s)' % ', '.join(zone_nodes))
        return
    by_name = dict((m['name'], m) for m in stand['machines'])
    placed_memory, clones = {}, {}
    for student in planned:
        for machine in student['machines']:
            if machine['vmid'] is not None:
                vm = _vm_by_id(cluster, machine['vmid']) or {}
                machine['node'] = vm.get('node')
                continue
            source = by_name[machine['machine']]
            need = _machine_memory(source, cluster)
            hosts = []
            for node in online:
                try:
                    hosts.append((node, resolve_template(source, node, cluster)))
                except StandError:
                    continue
            if not hosts:
                continue          # the plan already reported the template problem on the student's node
            fitting = [h for h in hosts if _room(stand, cluster, h[0], placed_memory) >= need]
            if not fitting:
                errors.append('capacity: %s (%s, %s) fits on no node of the zone: %s (memory_overcommit %g)'
                              % (machine['name'], student['userid'], _gib(need),
                                 ', '.join('%s: %s free' % (h[0], _gib(max(0, _free_memory(cluster, h[0], placed_memory))))
                                           for h in hosts), stand.get('memory_overcommit') or 1.0))
                fitting = hosts
            node, resolved = min(fitting, key=lambda h: (clones.get(h[0], 0),
                                                         -_free_memory(cluster, h[0], placed_memory), h[0]))
            machine['node'] = node
            machine['template_vmid'], machine['template_node'], machine['target'] = resolved
            placed_memory[node] = placed_memory.get(node, 0) + need
            clones[node] = clones.get(node, 0) + 1
        nodes = [m.get('node') for m in student['machines'] if m.get('node')]
        if nodes:
            student['node'] = min(set(nodes), key=lambda n: (-nodes.count(n), n))


def _place_in_simple_zone(stand, planned, zone_nodes, zid, cluster, errors):
    """A simple zone's VNet is a separate bridge on each node: a student's machines stay on one node, which must
    be in the zone. A student the plan put elsewhere (balanced, not kept or pinned) moves to the zone node with
    the most free memory among those with room and its templates."""
    by_name = dict((m['name'], m) for m in stand['machines'])
    placed_memory = {}
    for student in planned:
        if student['node'] in zone_nodes:
            continue
        if any(m['vmid'] is not None for m in student['machines']):
            errors.append('%s: its stand VMs are on node %s, which is not in zone %s (nodes: %s)'
                          % (student['userid'], student['node'], zid, ', '.join(zone_nodes)))
            continue
        hosts = []
        for node in [n for n in _online_nodes(cluster) if n in zone_nodes]:
            try:
                hosts.append((node, [resolve_template(by_name[m['machine']], node, cluster)
                                     for m in student['machines']]))
            except StandError:
                continue
        if not hosts:
            errors.append('%s: no online node of zone %s (%s) can host its machines'
                          % (student['userid'], zid, ', '.join(zone_nodes)))
            continue
        need = sum(_machine_memory(by_name[m['machine']], cluster) for m in student['machines'])
        fitting = [h for h in hosts if _room(stand, cluster, h[0], placed_memory) >= need] or hosts
        node, resolved = min(fitting, key=lambda h: (-_free_memory(cluster, h[0], placed_memory), h[0]))
        student['node'] = node
        for machine, (vmid, source, target) in zip(student['machines'], resolved):
            machine['template_vmid'], machine['template_node'], machine['target'] = vmid, source, target
        placed_memory[node] = placed_memory.get(node, 0) + need


def plan_sdn(stand, planned, cluster, errors):
    """The SDN part of the deploy plan (None in bridges mode); fills each alias NIC's bridge with its VNet.

    {'zone', 'zone_type', 'zone_nodes', 'create_zone': {...} | None, 'vnets': [{vnet, zone, tag, alias,
    userid, network, exists}], 'stale': [{vnet, userid, network}]}"""
    if not is_sdn(stand):
        return None
    sdn = cluster.get('sdn')
    if sdn is None:
        errors.append('stand.network.mode: sdn, but this cluster has no SDN API (GET /cluster/sdn/zones is not '
                      'there: PVE 8.1+ with libpve-network-perl is needed); use mode bridges')
        return None
    resolved = _resolve_zone(stand, sdn, cluster, errors)
    if resolved is None:
        return None
    zid, ztype, zone_nodes, create = resolved
    name = stand['name']
    net = stand['network']
    owned = owned_vnets(name, sdn)
    by_owner = {}
    for vid, owner in sorted(owned.items()):
        by_owner.setdefault(owner, vid)
    prefix = vnet_prefix(name, net['vnet_prefix'])
    space = _id_space(prefix)
    vnets = sdn.get('vnets') or {}
    for vid in sorted(vnets):
        if space.match(vid) and vid not in owned:
            errors.append('stand.network: VNet %s (zone %s, alias %r) has an id of this stand\'s VNets (%s<n>) but '
                          'not its marker: set stand.network.vnet_prefix to another prefix'
                          % (vid, vnets[vid].get('zone'), vnets[vid].get('alias') or '', prefix))
    for vid, owner in sorted(owned.items()):
        if vnets[vid].get('zone') != zid:
            errors.append('stand.network: VNet %s of %s (%s) is in zone %s, not %s: destroy the stand to move its '
                          'networks to another zone' % (vid, owner[0], owner[1], vnets[vid].get('zone'), zid))
    if ztype == 'simple':
        _place_in_simple_zone(stand, planned, zone_nodes, zid, cluster, errors)
    else:
        _spread_machines(stand, planned, zone_nodes, cluster, errors)
    if ztype == 'vxlan':
        tag_range, range_key = net['vni_range'], 'vni_range'
    else:
        tag_range, range_key = net['tag_range'], 'tag_range'
    used_tags = _used_tags(sdn, zid, ztype)
    taken_ids = set(vnets) | set(b for node in (cluster.get('bridges') or {}).values() for b in node)
    next_number = [0]
    limit = 10 ** (SDN_ID_MAX - len(prefix))
    out, new_count = [], 0

    def new_id():
        while next_number[0] < limit:
            candidate = '%s%d' % (prefix, next_number[0])
            next_number[0] += 1
            if candidate not in taken_ids:
                taken_ids.add(candidate)
                return candidate
        return None

    free_tags = (t for t in range(tag_range[0], tag_range[1] + 1) if t not in used_tags)
    for student in planned:
        mapping = {}
        for bridge in student['bridges']:
            owner = (student['userid'], bridge['alias'])
            vid = by_owner.get(owner)
            exists = vid is not None
            tag = None
            if exists:
                tag = vnets[vid].get('tag')
            else:
                vid = new_id()
                if vid is None:
                    errors.append('stand.network.vnet_prefix: no free VNet id %s<n> left (at most %d)' % (prefix, limit))
                    return None
                if ztype != 'simple':
                    tag = next(free_tags, None)
                    new_count += 1
                    if tag is None:
                        continue
            mapping[bridge['alias']] = vid
            bridge['iface'] = vid
            bridge['acl_path'] = '/sdn/zones/%s/%s' % (zid, vid)
            out.append({'vnet': vid, 'zone': zid, 'tag': int(tag) if tag is not None else None,
                        'alias': bridge['marker'], 'userid': student['userid'], 'network': bridge['alias'],
                        'exists': exists})
        for machine in student['machines']:
            for network in machine['networks']:
                if network['alias'] and network['alias'] in mapping:
                    network['bridge'] = mapping[network['alias']]
    short = sum(1 for s in planned for b in s['bridges'] if 'iface' not in b)
    if short:
        free = len([t for t in range(tag_range[0], tag_range[1] + 1) if t not in used_tags])
        errors.append('stand.network.%s: [%d, %d] has %d free tag%s for zone %s (%s), the class needs %d more'
                      % (range_key, tag_range[0], tag_range[1], free, '' if free == 1 else 's', zid, ztype,
                         new_count))
        return None
    planned_ids = set(v['vnet'] for v in out)
    userids = set(s['userid'] for s in planned)
    stale = [{'vnet': vid, 'zone': zid, 'userid': owner[0], 'network': owner[1],
              'alias': bridge_marker(name, owner[0], owner[1])} for vid, owner in sorted(owned.items())
             if owner[0] in userids and vid not in planned_ids]
    return {'zone': zid, 'zone_type': ztype, 'zone_nodes': zone_nodes, 'create_zone': create,
            'spread': ztype != 'simple',
            'vnets': out, 'stale': stale, 'pve_major': _major(cluster)}


def _major(cluster):
    try:
        return int(str(cluster.get('release') or '9').split('.', maxsplit=1)[0])
    except ValueError:
        return 9


def adjust_needs(needs, sdn):
    """Privilege needs of an sdn plan: the VNets' paths instead of /sdn/zones/localnetwork/<vnet>, and the
    SDN privileges of the VNet step (docs/permissions.md)."""
    if not sdn:
        return needs
    paths = dict(('/sdn/zones/localnetwork/%s' % v['vnet'], '/sdn/zones/%s/%s' % (v['zone'], v['vnet']))
                 for v in sdn['vnets'])
    out = []
    for need in needs:
        moved = tuple(paths.get(p, p) for p in need['paths'])
        out.append(dict(need, paths=moved, shown=paths.get(need['shown'], need['shown'])))
    zone_path = '/sdn/zones/%s' % sdn['zone']
    changes = sdn['create_zone'] or any(not v['exists'] for v in sdn['vnets']) or sdn['stale']
    out.append(_need('sdn_audit', [zone_path]))
    if changes:
        out.append(_need('sdn_apply', ['/sdn']))
        out.append(_need('sdn_allocate', [zone_path]))
    if sdn['create_zone'] and not sdn.get('zone_exists'):
        out.append(_need('sdn_zone_create', ['/sdn/zones']))
    return out


# ---------------------------------------------------------------------------------------------
# Removal
# ---------------------------------------------------------------------------------------------

def plan_sdn_removal(stand, userids, cluster):
    """What destroy removes of SDN: the VNets whose alias carries the stand's marker and one of these
    students, and the stand's own zone (create_zone) when no other VNet is left in it. None without SDN."""
    sdn = cluster.get('sdn')
    if not sdn:
        return None
    name = stand['name']
    owned = owned_vnets(name, sdn)
    vnets = sdn.get('vnets') or {}
    gone = [{'vnet': vid, 'zone': vnets[vid].get('zone'), 'userid': owner[0], 'network': owner[1],
             'alias': bridge_marker(name, owner[0], owner[1])}
            for vid, owner in sorted(owned.items()) if owner[0] in userids]
    net = stand.get('network') or default_network()
    zone = None
    create = net.get('create_zone')
    if create:
        zid = create.get('zone') or own_zone_id(name)
        left = [vid for vid, v in vnets.items() if v.get('zone') == zid and vid not in set(g['vnet'] for g in gone)]
        if zid in (sdn.get('zones') or {}) and not left:
            zone = zid
    if not gone and zone is None:
        return None
    zones = sorted(set(g['zone'] for g in gone))
    return {'vnets': gone, 'zone': zones[0] if zones else None, 'delete_zone': zone, 'pve_major': _major(cluster)}
