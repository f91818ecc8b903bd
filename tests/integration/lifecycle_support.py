"""Shared by the lifecycle tests (power, snapshots, reset): a class deployed once per test module on a
simulator of its own (time factor 0), the stand with a start order, and the cluster facts they read back."""
import importlib.util
import os

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEPLOY = os.path.join(ROOT, 'playbooks', 'deploy_stand.yml')
POWER = os.path.join(ROOT, 'playbooks', 'stand_power.yml')
SNAPSHOT = os.path.join(ROOT, 'playbooks', 'stand_snapshot.yml')
RESET = os.path.join(ROOT, 'playbooks', 'stand_reset.yml')
CLASS = ['student1@pve', 'student2@pve', 'student3@pve']

# The integration tests' runner, loaded by path under its own name: `from conftest import ...` gets whichever
# conftest.py pytest imported last when the whole suite is collected (tests/unit has one too).
_spec = importlib.util.spec_from_file_location(
    'deploystand_integration_conftest', os.path.join(ROOT, 'tests', 'integration', 'conftest.py'))
_integration = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_integration)
run_playbook = _integration.run_playbook
# an EcoRouter that starts first and a Linux host behind it on a private network
STAND = {
    'name': 'netlab',
    'machines': [
        {'name': 'router', 'device_type': 'ecorouter', 'template': 'ecorouter-tpl', 'start_order': 0,
         'networks': [{'bridge': 'vmbr0'}, {'bridge': 'lan'}]},
        {'name': 'host1', 'template': 'linux-tpl', 'start_order': 1, 'networks': [{'bridge': 'lan'}]},
    ],
}


def extra(tmp_path, users=None, stand=None, **more):
    out = {'users': users or CLASS, 'stand': stand or STAND, 'stand_report_dir': str(tmp_path / 'reports')}
    out.update(more)
    return out


def stand_vms(state, stand='netlab'):
    return dict((int(vmid), vm) for vmid, vm in state['vms'].items() if 'stand-' + stand in vm['tags'])


def statuses(state):
    """{vm name: status} of the stand's VMs."""
    return dict((vm['name'], vm['status']) for vm in stand_vms(state).values())


def snapshots(state):
    """{vm name: sorted snapshot names} of the stand's VMs."""
    return dict((vm['name'], sorted(vm.get('snapshots') or {})) for vm in stand_vms(state).values())


def changed_tasks(run):
    return [(t['host'], t['task']) for t in run.tasks if t['result'].get('changed')]


def load_yaml(path):
    with open(path) as handle:
        return yaml.safe_load(handle)
