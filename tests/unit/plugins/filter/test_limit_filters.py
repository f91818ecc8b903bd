"""-e stand_limit as every playbook reads it (plugins/filter/limit.py)."""
import pytest

from ansible_collections.deploystand.proxmox.plugins.filter.limit import stand_limit_ids


@pytest.mark.parametrize('given, ids', [
    ('student3@pve', ['student3@pve']),
    (' student3@pve , student4@pve,', ['student3@pve', 'student4@pve']),
    (['student3@pve', ' student4@pve '], ['student3@pve', 'student4@pve']),
    ('', []), (None, []), ([], []), (',', []),
])
def test_a_comma_list_a_yaml_list_or_nothing(given, ids):
    assert stand_limit_ids(given) == ids
