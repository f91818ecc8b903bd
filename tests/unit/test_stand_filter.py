"""The stand filter plugin exposes the same names as the plan."""
import pytest

from ansible_collections.deploystand.proxmox.plugins.filter.stand import FilterModule

FILTERS = FilterModule().filters()


def test_filter_plugin_exposes_the_documented_filters():
    assert sorted(FILTERS) == ['stand_bridge_marker', 'stand_ecorouter_mac', 'stand_pool_id',
                               'stand_pool_marker', 'stand_tags', 'stand_user_marker', 'stand_vm_name']


def test_filters_give_the_plan_names():
    assert FILTERS['stand_pool_id']('s1@pve', 'netlab') == 'netlab-s1'
    assert FILTERS['stand_vm_name']('John_Doe@pve', 'router') == 'john-doe-router'
    assert FILTERS['stand_user_marker']('netlab') == 'deploystand:netlab'
    assert FILTERS['stand_pool_marker']('s1@pve', 'netlab') == 'deploystand:netlab:s1@pve'
    assert FILTERS['stand_bridge_marker']('s1@pve', 'netlab', 'lan') == 'deploystand:netlab:s1@pve:lan'
    assert FILTERS['stand_tags']('netlab') == ['deploystand', 'stand-netlab']
    assert FILTERS['stand_ecorouter_mac'](10001, 1) == '1C:87:76:40:38:89'


def test_filters_have_docstrings():
    assert all(f.__doc__ for f in FILTERS.values())


def test_filter_errors_are_clear_filter_errors_not_tracebacks():
    with pytest.raises(Exception, match='stand_vm_name: _x@pve: gives VM name'):
        FILTERS['stand_vm_name']('_x@pve', 'router')
