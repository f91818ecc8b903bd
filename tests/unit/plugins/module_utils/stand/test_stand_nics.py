"""stand/allocation.py machine_nics: a plan machine's networks and the student's bridges -> the NICs to set."""
import pytest

from ansible_collections.deploystand.proxmox.plugins.module_utils.errors import StandError
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.allocation import machine_nics


def test_aliases_take_the_bridge_the_network_play_made_not_the_plans_guess():
    networks = [{'bridge': 'vmbr0', 'alias': None, 'link_down': True},
                {'bridge': 'vmbr1000', 'alias': 'lan', 'link_down': False}]
    assert machine_nics(networks, {'lan': 'vmbr1007'}) == [
        {'bridge': 'vmbr0', 'model': 'virtio', 'link_down': True},
        {'bridge': 'vmbr1007', 'model': 'virtio', 'link_down': False}]


def test_an_alias_without_a_bridge_is_a_clear_error():
    with pytest.raises(StandError, match="'dmz'"):
        machine_nics([{'alias': 'dmz'}], {'lan': 'vmbr1000'})
