"""The collection as users meet it: docs render, the action group sets the connection once."""
import os
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULES = sorted(yaml.safe_load(open(os.path.join(ROOT, 'meta', 'runtime.yml')))['action_groups']['pve'])
STAND = yaml.safe_load(open(os.path.join(ROOT, 'playbooks', 'vars', 'example_stand.yml')))['stand']


def test_action_group_lists_every_module_that_talks_to_pve():
    # a module with an action plugin of its name runs on the controller and takes no connection options
    controller = set(f[:-3] for f in os.listdir(os.path.join(ROOT, 'plugins', 'action')) if f.endswith('.py'))
    present = sorted(f[:-3] for f in os.listdir(os.path.join(ROOT, 'plugins', 'modules'))
                     if f.endswith('.py') and f[:-3] not in controller)
    assert controller and MODULES == present


@pytest.mark.parametrize('module', MODULES)
def test_module_documentation_renders_with_the_shared_connection_options(module):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'))
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-doc'), '-t', 'module',
                           'deploystand.proxmox.' + module], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, timeout=120)
    assert proc.returncode == 0, proc.stdout
    for option in ('api_host', 'api_token_secret', 'validate_certs', 'ca_path', 'EXAMPLES', 'RETURN VALUES'):
        assert option in proc.stdout, option
    assert 'WARNING' not in proc.stdout


def test_module_defaults_for_the_action_group_set_the_connection_once(sim, playbook):
    play = [{
        'name': 'plan with the connection from module_defaults only',
        'hosts': 'localhost', 'gather_facts': False,
        'module_defaults': {'group/deploystand.proxmox.pve': {
            'api_host': sim.host, 'api_port': sim.port, 'api_user': 'root@pam', 'api_password': sim.password,
            'ca_path': sim.cafile}},
        'tasks': [{'name': 'plan', 'deploystand.proxmox.pve_stand_plan': {'stand': STAND,
                                                                          'users': ['student1@pve']}}],
    }]
    # No PROXMOX_* variable at all: the connection can only come from module_defaults.
    run = playbook(play, type('NoEnv', (), {'env': {}})())
    assert run.rc == 0, run
    assert run.result('plan')['plan']['students'][0]['userid'] == 'student1@pve'
    # the address the reports' cards show is the one of this connection too
    assert run.result('plan')['web_url'] == 'https://{0}:{1}/'.format(sim.host, sim.port)
