"""Filters of issue 13: names the plan gives on other nodes, stale bridges of the students in scope, and
the destroy's notes about kept accounts and students' own VMs."""
from ansible_collections.deploystand.proxmox.plugins.filter.accounts import stand_destroy_notes
from ansible_collections.deploystand.proxmox.plugins.filter.networks import (
    stand_reserved_bridges, stand_stale_ifaces)


def test_reserved_names_are_the_plans_bridges_on_the_other_nodes():
    nodes = {'pve1': [{'iface': 'vmbr1002'}], 'pve2': [{'iface': 'vmbr1003'}, {'iface': 'vmbr1006'}], 'pve3': []}
    assert stand_reserved_bridges(nodes, 'pve2') == ['vmbr1002']
    assert stand_reserved_bridges(nodes, 'pve3') == ['vmbr1002', 'vmbr1003', 'vmbr1006']


def test_stale_names_are_those_of_the_students_in_scope_from_the_plan_and_from_pve_bridge():
    plan = [{'userid': 'a@pve', 'iface': 'vmbr1000'}, {'userid': 'b@pve', 'iface': 'vmbr1001'}]
    reported = [{'userid': 'a@pve', 'iface': 'vmbr1004'}, {'userid': 'c@pve', 'iface': 'vmbr1007'}]
    assert stand_stale_ifaces(plan, ['a@pve'], reported) == ['vmbr1000', 'vmbr1004']
    assert stand_stale_ifaces(['vmbr1005'], ['a@pve'], reported) == ['vmbr1004', 'vmbr1005']
    assert stand_stale_ifaces([], ['z@pve']) == []


def test_destroy_notes_name_each_kept_account_and_each_own_vm():
    rows = [{'userid': 'a@pve', 'pool': 'netlab-a', 'user_kept': 'stand b still uses it', 'own_vms': []},
            {'userid': 'c@pve', 'pool': 'netlab-c', 'user_kept': '',
             'own_vms': [{'vmid': 5, 'name': 'x', 'action': 'removed'}, {'vmid': 6, 'name': 'y', 'action': 'gone'}]},
            {'userid': 'd@pve', 'pool': 'netlab-d'}]
    assert stand_destroy_notes(rows) == ['a@pve: account kept - stand b still uses it',
                                         'c@pve: removed VM 5 (x), made by the student in its pool netlab-c']
