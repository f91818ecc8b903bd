"""Filters the roles use to hand the plan around."""
from ansible_collections.deploystand.proxmox.plugins.filter.networks import stand_node_bridges, stand_settings


def test_only_students_in_scope_get_bridges_and_only_the_keys_pve_bridge_takes():
    node = [{'userid': 'a@pve', 'alias': 'lan', 'marker': 'm', 'iface': 'vmbr1000', 'exists': False},
            {'userid': 'b@pve', 'alias': 'lan', 'marker': 'n', 'iface': 'vmbr1001', 'exists': False}]
    assert stand_node_bridges(node, ['b@pve']) == [{'userid': 'b@pve', 'alias': 'lan', 'iface': 'vmbr1001'}]


def test_stand_settings_never_carry_the_students_and_their_passwords():
    plan = {'stand': 'netlab', 'start': True, 'students': [{'password': 'secret-secret'}], 'nodes': {}}
    assert stand_settings(plan) == {'stand': 'netlab', 'start': True}
