"""The pure rules of the day-2 playbooks (plugins/module_utils/lifecycle_input.py) and their place in the
stand's input and plan."""
import pytest

from ansible_collections.deploystand.proxmox.plugins.module_utils.stand import lifecycle_input as L
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.inputs import normalize_stand


@pytest.mark.parametrize('name', ['baseline', 'B1', 'lesson-2', 'a_b', 'x' * 40])
def test_names_pve_accepts(name):
    assert L.snapshot_name_problem(name) is None


@pytest.mark.parametrize('name, expected', [
    ('1st', 'not a PVE snapshot name'), ('a', 'not a PVE snapshot name'), ('with space', 'not a PVE snapshot name'),
    ('x' * 41, 'longer than 40'), ('current', 'reserved'), ('', 'required'), (None, 'required'),
    ('bäse', 'not a PVE snapshot name')])
def test_names_pve_rejects(name, expected):
    assert expected in L.snapshot_name_problem(name)


def test_start_waves_go_lowest_first_and_reverse_for_stops():
    machines = [{'name': 'h1', 'start_order': 1}, {'name': 'r', 'start_order': 0}, {'name': 'h2', 'start_order': 1}]
    assert [[m['name'] for m in w] for w in L.start_waves(machines)] == [['r'], ['h1', 'h2']]
    assert [[m['name'] for m in w] for w in L.start_waves(machines, reverse=True)] == [['h1', 'h2'], ['r']]


def test_only_snapshots_with_the_stand_marker_are_the_stands():
    ours = {'description': L.stand_snapshot_description('netlab', 'taken')}
    assert L.is_stand_snapshot(ours, 'netlab')
    assert not L.is_stand_snapshot(ours, 'net')
    assert not L.is_stand_snapshot({'description': 'my own baseline'}, 'netlab')
    assert not L.is_stand_snapshot({'description': 'deploystand-snapshot:netlab2'}, 'netlab')


def test_children_and_the_current_pseudo_entry():
    listing = [{'name': 'baseline'}, {'name': 'mine', 'parent': 'baseline'},
               {'name': 'current', 'parent': 'mine'}]
    assert L.snapshot_children(listing, 'baseline') == ['mine']
    assert sorted(L.real_snapshots(listing)) == ['baseline', 'mine']


def test_vmstate_storage_follows_find_vmstate_storage():
    storages = {'local': {'type': 'dir'}, 'local-lvm': {'type': 'lvmthin'}, 'ceph': {'type': 'rbd', 'shared': 1},
                'pbs': {'type': 'pbs'}, 'off': {'type': 'dir', 'active': 0}}
    assert L.vmstate_storage({'vmstatestorage': 'pbs'}, storages, ['local-lvm']) == 'pbs'
    assert L.vmstate_storage({}, storages, ['local-lvm', 'ceph']) == 'ceph'
    assert L.vmstate_storage({}, storages, ['local-lvm']) == 'local-lvm'
    assert L.vmstate_storage({}, storages, []) == 'local'
    assert L.vmstate_storage_problem('local-lvm', storages) is None
    assert 'cannot hold' in L.vmstate_storage_problem('pbs', storages)
    assert 'not online' in L.vmstate_storage_problem('off', storages)
    assert 'does not exist' in L.vmstate_storage_problem('gone', storages)


def test_stand_baseline_and_start_order_in_the_input():
    machine = {'name': 'h', 'template': 't', 'networks': ['lan'], 'start_order': '2'}
    stand, errors = normalize_stand({'name': 'netlab', 'baseline': {'snapshot': 'start'}, 'machines': [machine]})
    assert errors == []
    assert stand['baseline'] == {'snapshot': 'start', 'vmstate': False}
    assert stand['machines'][0]['start_order'] == 2
    stand, errors = normalize_stand({'name': 'netlab', 'baseline': True, 'machines': [machine]})
    assert stand['baseline'] == {'snapshot': 'baseline', 'vmstate': False}
    _stand, errors = normalize_stand({'name': 'netlab', 'baseline': {'snapshot': '1x', 'ram': 1},
                                        'machines': [dict(machine, start_order='first')]})
    assert any(e.startswith('stand.baseline.snapshot:') for e in errors)
    assert any("unknown key 'ram'" in e for e in errors)
    assert any(e.startswith('stand.machines[0].start_order:') for e in errors)
