"""argspecs.py: the one defaults table. The roles' defaults and argument specs (YAML, which cannot import
it) and the modules' argument specs hold the same defaults, so a default changed in one place only fails."""
import glob
import os

import pytest
import yaml

from ansible_collections.deploystand.proxmox.plugins.module_utils.argspecs import DEFAULTS, default, with_default
from ansible_collections.deploystand.proxmox.plugins.module_utils.ops.machine import (
    CLONE_ARGSPEC, ECOROUTER_ARGSPEC, NIC_SPEC, EcoRouterSpec, MachineSpec,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.inputs import normalize_stand

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))
ROLES = sorted(os.path.basename(p) for p in glob.glob(os.path.join(ROOT, 'roles', '*')))


def _yaml(*parts):
    with open(os.path.join(ROOT, *parts)) as handle:
        return yaml.safe_load(handle) or {}


def _role_defaults(role):
    return _yaml('roles', role, 'defaults', 'main.yml')


def _role_spec(role):
    return _yaml('roles', role, 'meta', 'argument_specs.yml')['argument_specs']['main']['options']


@pytest.mark.parametrize('role', ROLES)
def test_every_role_default_is_the_default_its_argument_spec_declares(role):
    spec = _role_spec(role)
    for name, value in _role_defaults(role).items():
        if isinstance(value, str) and '{{' in value:
            continue        # a template: the spec can only describe it
        assert name in spec, '{0}: {1} has a default but no argument spec'.format(role, name)
        assert spec[name].get('default') == value, '{0}: {1}'.format(role, name)
    for name, option in spec.items():
        value = _role_defaults(role).get(name)
        if 'default' in option and not (isinstance(value, str) and '{{' in value):
            assert value == option['default'], '{0}: {1}'.format(role, name)


def test_role_inputs_named_after_a_table_entry_default_to_the_table():
    checked = []
    for role in ROLES:
        for name, value in _role_defaults(role).items():
            key = name[len(role) + 1:]
            if key in DEFAULTS:
                assert value == DEFAULTS[key], '{0}: {1}'.format(role, name)
                checked.append(name)
    # the ones this collection has today: a renamed key would silently drop out of the check
    assert set(checked) >= {'stand_network_bridge_range', 'stand_network_apply_foreign_pending',
                            'stand_network_state', 'stand_student_update_password', 'stand_student_clone_slots',
                            'stand_student_student_vms', 'stand_student_state', 'stand_plan_purpose'}


def test_the_stand_input_defaults_are_the_table():
    stand, errors = normalize_stand({'name': 'netlab', 'machines': [
        {'name': 'pc', 'template': 'tpl', 'networks': [{'bridge': 'vmbr0'}]}]})
    assert errors == []
    for key in ('vmid_range', 'bridge_range', 'role', 'management_bridge', 'clone', 'start', 'memory_overcommit'):
        assert stand[key] == DEFAULTS[key], key
    assert stand['machines'][0]['device_type'] == DEFAULTS['device_type']


def test_the_vm_modules_take_their_defaults_from_the_table():
    for spec in (CLONE_ARGSPEC, ECOROUTER_ARGSPEC):
        for key, option in spec.items():
            if key in DEFAULTS and key != 'state':
                assert option['default'] == DEFAULTS[key], key
    assert NIC_SPEC['model']['default'] == DEFAULTS['nic_model']


@pytest.mark.parametrize('spec_class, argspec', [(MachineSpec, CLONE_ARGSPEC), (EcoRouterSpec, ECOROUTER_ARGSPEC)],
                         ids=['machine', 'ecorouter'])
def test_a_typed_spec_has_its_modules_options_and_defaults(spec_class, argspec):
    # a spec built inside another module (pve_stand_student) is what pve_stand_clone / pve_ecorouter_nic would get
    required = dict((key, 'x') for key, option in argspec.items() if option.get('required'))
    built = spec_class(**required)
    assert set(vars(built)) == set(argspec)
    for key, option in argspec.items():
        if not option.get('required'):
            assert getattr(built, key) == option.get('default'), key
    params = dict((key, option.get('default')) for key, option in argspec.items())
    params.update(required)
    assert spec_class.from_params(params) == built


def test_a_list_default_is_a_copy_never_the_table_itself():
    spec = with_default('vmid_range', type='list', elements='int')
    spec['default'].append(1)
    assert DEFAULTS['vmid_range'] == [10000, 19999]
    assert default('bridge_range') is not DEFAULTS['bridge_range']
