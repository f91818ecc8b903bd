"""The pure helpers of stand.ha node placement: placement ids, the marker comment, PVE's list values."""
import re

from ansible_collections.deploystand.proxmox.plugins.module_utils.stand import ha as H
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.names import STAND_NAME_MAX, owns

CONFIGID_RE = re.compile(r'^[a-z][a-z0-9_-]+$', re.I)     # pve-common JSONSchema.pm CONFIGID_RE


def test_placement_id_is_a_pve_configid_and_names_its_node_back():
    for stand, node in (('netlab', 'pve1'), ('a', 'x'), ('a' * STAND_NAME_MAX, 'node-with-dash-9')):
        pid = H.placement_id(stand, node)
        assert CONFIGID_RE.match(pid), pid
        assert H.placement_node(stand, pid) == node


def test_dashes_in_stand_and_node_never_make_two_stands_share_an_id():
    assert H.placement_id('a-b', 'c') != H.placement_id('a', 'b-c')
    assert H.placement_node('a', H.placement_id('a-b', 'c')) is None
    assert H.placement_node('a-b', H.placement_id('a', 'b-c')) is None


def test_look_alike_ids_are_not_the_stands():
    assert H.placement_node('netlab', 'deploystand_netlab2_pve1') is None
    assert H.placement_node('netlab', 'deploystand_netlab_') is None
    assert H.placement_node('netlab', 'deploystand_netlab_pve1.example') is None
    assert H.placement_node('netlab', 'gateway') is None
    assert H.placement_node('netlab', None) is None


def test_the_comment_carries_the_stand_marker_as_a_whole_token():
    comment = H.placement_comment('netlab', 'pve2')
    assert owns(comment, H.placement_marker('netlab'))
    assert not owns(comment, H.placement_marker('net'))
    assert len(comment) <= 4096         # the comment's maxLength (Rules.pm, Groups.pm)


def test_ha_node_problem_follows_pve_verify_ha_node():
    assert H.ha_node_problem('pve1') is None and H.ha_node_problem(None) is None
    assert 'not a valid HA node name' in H.ha_node_problem('pve1.lab')
    assert H.ha_node_problem('-pve') is not None


def test_parse_node_list_gives_priorities_and_zero_without_one():
    assert H.parse_node_list('pve1:2,pve2, pve3:1') == {'pve1': 2, 'pve2': 0, 'pve3': 1}
    assert H.parse_node_list('') == {} and H.parse_node_list(None) == {}


def test_split_resources_takes_the_string_pve_returns_or_a_list():
    assert H.split_resources('vm:102,vm:101') == ['vm:101', 'vm:102']
    assert H.split_resources(['vm:2', 'vm:1', 'vm:1']) == ['vm:1', 'vm:2']
    assert H.split_resources(None) == []


def test_the_plan_gives_each_ha_machine_the_node_it_placed_it_on():
    from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.plan import build_plan
    from test_stand_support import linux_stand, make_cluster
    raw = linux_stand(clone='full', storage='nfs', node='pve1')
    raw['ha'] = True
    plan, errors = build_plan(raw, ['s1@pve', 's2@pve'], make_cluster())
    assert errors == []
    nodes = dict((s['userid'], s['node']) for s in plan['students'])
    assert plan['ha']['machines'] and all(m['node'] == nodes[m['userid']] for m in plan['ha']['machines'])
