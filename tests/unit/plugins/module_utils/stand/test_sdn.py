"""stand.network (issue 17): the input, VNet ids and tags, placement across a multi-node zone, and the bad
inputs the plan refuses with one message each (nothing is written: the plan runs before any write)."""
import copy

import pytest

from ansible_collections.deploystand.proxmox.plugins.module_utils.stand import sdn as N
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.plan import build_plan
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.removal import plan_removal

from test_stand_support import linux_stand, make_cluster

USERS = ['student1@pve', 'student2@pve']
HOSTS = [{'name': 'h%d' % n, 'template': 'alpine-tpl', 'networks': ['lan']} for n in (1, 2)]


def sdn_cluster(zones=None, vnets=None, **kwargs):
    cluster = make_cluster(**kwargs)
    cluster['sdn'] = {'zones': zones if zones is not None else {
        'vx': {'type': 'vxlan', 'peers': '192.0.2.11,192.0.2.12'}, 'one': {'type': 'simple', 'nodes': 'pve1'},
        'ev': {'type': 'evpn'}},
        'vnets': vnets or {}, 'pending': {'zones': {}, 'vnets': {}}}
    return cluster


def sdn_stand(**network):
    net = {'mode': 'sdn', 'zone': 'vx'}
    net.update(network)
    return linux_stand(machines=copy.deepcopy(HOSTS), network=net)


def plan(stand=None, cluster=None, users=USERS):
    return build_plan(stand or sdn_stand(), users, cluster or sdn_cluster())


def test_bridges_mode_is_the_default_and_plans_no_sdn():
    result, errors = plan(linux_stand())
    assert errors == [] and result['sdn'] is None and result['network_mode'] == 'bridges'
    assert result['nodes']


def test_vnets_get_short_ids_markers_and_the_lowest_free_vnis():
    vnets = {'teach1': {'zone': 'vx', 'tag': 5000, 'alias': 'teachers'}}
    result, errors = plan(sdn_stand(vni_range=[5000, 5010]), sdn_cluster(vnets=vnets))
    assert errors == []
    got = result['sdn']['vnets']
    assert [v['alias'] for v in got] == ['deploystand:netlab:student1@pve:lan', 'deploystand:netlab:student2@pve:lan']
    assert [v['tag'] for v in got] == [5001, 5002]
    assert all(len(v['vnet']) <= 8 and N.SDN_ID_RE.match(v['vnet']) for v in got)
    assert result['nodes'] == {}
    nic = result['students'][0]['machines'][0]['networks'][0]
    assert nic['bridge'] == got[0]['vnet']


def test_rerun_finds_vnets_by_marker_whatever_the_order_of_the_class():
    first, _ = plan()
    existing = dict((v['vnet'], {'zone': 'vx', 'tag': v['tag'], 'alias': v['alias']}) for v in first['sdn']['vnets'])
    again, errors = plan(cluster=sdn_cluster(vnets=existing), users=list(reversed(USERS)))
    assert errors == []
    assert sorted((v['vnet'], v['tag'], v['exists']) for v in again['sdn']['vnets']) == \
        sorted((v['vnet'], v['tag'], True) for v in first['sdn']['vnets'])


def test_a_multi_node_zone_spreads_one_students_machines_and_is_deterministic():
    one, _ = plan()
    two, _ = plan()
    nodes = [m['node'] for m in one['students'][0]['machines']]
    assert len(set(nodes)) == 2
    assert one == two


def test_a_simple_zone_keeps_a_student_on_one_node_of_the_zone():
    result, errors = plan(sdn_stand(zone='one'))
    assert errors == []
    assert all(v['tag'] is None for v in result['sdn']['vnets'])
    assert set(m.get('node') or s['node'] for s in result['students'] for m in s['machines']) == {'pve1'}


def test_create_zone_gets_the_stands_own_zone_id():
    result, errors = plan(linux_stand(machines=copy.deepcopy(HOSTS), network={
        'mode': 'sdn', 'create_zone': {'type': 'vxlan', 'peers': ['192.0.2.11', '192.0.2.12']}}))
    assert errors == []
    assert result['sdn']['create_zone']['zone'] == N.own_zone_id('netlab') == result['sdn']['zone']
    assert len(result['sdn']['zone']) == 8


@pytest.mark.parametrize('network, cluster, expected', [
    ({'zone': 'nozone'}, None, "stand.network.zone: SDN zone 'nozone' does not exist"),
    ({'zone': 'ev'}, None, "stand.network.zone: zone 'ev' is of type evpn"),
    ({'vni_range': [5000, 5000]}, None, 'stand.network.vni_range: [5000, 5000] has 1 free tag for zone vx'),
    ({}, {'vnets': {N.vnet_prefix('netlab') + '0': {'zone': 'vx', 'tag': 9, 'alias': 'someone else'}}},
     "has an id of this stand's VNets"),
    ({}, 'no-sdn', 'stand.network.mode: sdn, but this cluster has no SDN API'),
    ({'zone': None, 'create_zone': {'type': 'vxlan', 'peers': ['192.0.2.11']}},
     {'zones': {N.own_zone_id('netlab'): {'type': 'simple'}}}, 'exists with type simple, not vxlan'),
    ({'zone': None}, None, 'mode sdn needs zone (an existing SDN zone) or create_zone'),
    ({'mode': 'sdm'}, None, "stand.network.mode: 'sdm' is not one of bridges, sdn"),
    ({'zone': 'waytoolongzone'}, None, 'is not an SDN zone id'),
])
def test_bad_sdn_input_is_one_clear_message(network, cluster, expected):
    if cluster == 'no-sdn':
        facts = make_cluster()
        facts['sdn'] = None
    else:
        facts = sdn_cluster(**(cluster or {}))
    net = {'mode': 'sdn', 'zone': 'vx'}
    net.update(network)
    if net.get('zone') is None:
        net.pop('zone')
    result, errors = build_plan(linux_stand(machines=copy.deepcopy(HOSTS), network=net), USERS, facts)
    assert result is None
    assert len(errors) == 1, errors
    assert expected in errors[0]


def test_removal_lists_only_the_stands_vnets_of_the_given_students():
    vnets = {'ne5e0': {'zone': 'vx', 'tag': 1, 'alias': 'deploystand:netlab:student1@pve:lan'},
             'ne5e1': {'zone': 'vx', 'tag': 2, 'alias': 'deploystand:netlab:student2@pve:lan'},
             'other': {'zone': 'vx', 'tag': 3, 'alias': 'deploystand:netlab2:student1@pve:lan'},
             'look': {'zone': 'vx', 'tag': 4, 'alias': 'xdeploystand:netlab:student1@pve:lan'}}
    removal, errors = plan_removal(sdn_stand(), ['student1@pve'], sdn_cluster(vnets=vnets))
    assert errors == []
    assert [v['vnet'] for v in removal['sdn']['vnets']] == ['ne5e0']
    assert removal['sdn']['delete_zone'] is None


def test_privilege_needs_name_the_vnet_paths_and_the_sdn_apply():
    cluster = sdn_cluster()
    cluster['identity'] = 'deploystand@pve!ansible'
    cluster['permissions'] = {'/': {'Sys.Audit': 1}}
    cluster['acl'] = []
    result, errors = plan(cluster=cluster)
    assert result is None
    text = '\n'.join(errors)
    assert '/sdn/zones/vx/' in text and '/sdn/zones/localnetwork/' + N.vnet_prefix('netlab') not in text
    assert 'SDN.Allocate' in text


def test_a_student_larger_than_any_node_fits_a_multi_node_zone_but_not_bridges():
    from test_stand_support import node
    big = [{'name': 'h%d' % n, 'template': 'alpine-tpl', 'networks': ['lan']} for n in (1, 2, 3)]
    nodes = {'pve1': node(12, 7), 'pve2': node(12, 7), 'pve3': node(12, 7)}     # 5 GiB free each; 6 needed
    bridges, errors = build_plan(linux_stand(machines=copy.deepcopy(big)), ['student1@pve'],
                                   sdn_cluster(nodes=nodes))
    assert bridges is None and any(e.startswith('capacity:') for e in errors)
    spread, errors = build_plan(linux_stand(machines=copy.deepcopy(big), network={'mode': 'sdn', 'zone': 'vx'}),
                                  ['student1@pve'], sdn_cluster(nodes=nodes))
    assert errors == []
    assert len(set(m['node'] for m in spread['students'][0]['machines'])) >= 2
    too_big, errors = build_plan(linux_stand(machines=copy.deepcopy(big) * 1, network={'mode': 'sdn', 'zone': 'vx'}),
                                   ['student1@pve', 'student2@pve', 'student3@pve'], sdn_cluster(nodes=nodes))
    assert too_big is None and any('fits on no node of the zone' in e for e in errors)
