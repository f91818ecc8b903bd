"""The collection as users get it: `ansible-galaxy collection build` ships no tests, simulator, benchmarks
or dev files, and the installed tarball deploys a stand from outside the repository."""
import os
import subprocess
import tarfile

import pytest

from packaging_helpers import BIN, ROOT, build_collection, clean_env, install_collection

pytestmark = pytest.mark.slow

NOT_SHIPPED = ('tests/', 'simulator/', 'benchmarks/', 'extensions/', 'scripts/', 'requirements/', 'collections/',
               '.ci/', '.venv/', '.sim/', '.git/', 'reports/', 'inventory/', 'changelogs/fragments/', '.ansible/')
NOT_SHIPPED_FILES = ('ansible.cfg', 'pytest.ini', '.gitignore', '.ansible-lint', 'docs/CONTRACTS.md')
SHIPPED = ('MANIFEST.json', 'FILES.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'meta/runtime.yml',
           'meta/execution-environment.yml', 'meta/ee-requirements.txt', 'meta/ee-bindep.txt',
           'playbooks/deploy_stand.yml', 'playbooks/destroy_stand.yml', 'playbooks/stand_plan_scope.yml',
           'playbooks/vars/example_stand.yml',
           'plugins/module_utils/pve/client.py', 'plugins/doc_fragments/auth.py', 'plugins/filter/networks.py',
           'awx/credential_type.yml', 'awx/survey_deploy.json', 'docs/stand-model.md',
           'playbooks/stand_list.yml', 'plugins/inventory/stands.py', 'plugins/filter/stand_list.py', 'docs/inventory.md',
           'playbooks/stand_status.yml', 'docs/status.md',
           'playbooks/stand_cleanup.yml', 'playbooks/stand_guest_facts.yml', 'plugins/filter/expiry.py',
           'plugins/module_utils/stand/expiry.py')
MODULES = ('pve_bridge', 'pve_ecorouter_nic', 'pve_guest_info', 'pve_stand_clone', 'pve_stand_info', 'pve_stand_plan',
           'pve_stand_ha', 'pve_stand_status', 'pve_stand_student', 'pve_stand_vnets', 'pve_user_pool')
ROLES = ('stand_network', 'stand_plan', 'stand_report', 'stand_student')


@pytest.fixture(scope='module')
def tarball(tmp_path_factory):
    return build_collection(tmp_path_factory.mktemp('build'))


def test_tarball_ships_the_collection_and_nothing_else(tarball):
    with tarfile.open(tarball) as tar:
        names = [m.name[2:] if m.name.startswith('./') else m.name for m in tar.getmembers()]
    files = set(names)
    for path in SHIPPED:
        assert path in files, path
    for module in MODULES:
        assert 'plugins/modules/{0}.py'.format(module) in files
    for role in ROLES:
        assert 'roles/{0}/tasks/main.yml'.format(role) in files
        assert 'roles/{0}/meta/argument_specs.yml'.format(role) in files
    leaked = [n for n in names if n.startswith(NOT_SHIPPED) or n in NOT_SHIPPED_FILES or '__pycache__' in n
              or n.endswith(('.pyc', '.tar.gz'))]
    assert leaked == []


def test_installed_collection_deploys_from_outside_the_repository(tarball, sim, tmp_path):
    collections = tmp_path / 'collections'
    work = tmp_path / 'teacher'
    work.mkdir()
    # As from the teacher's shell in that directory (PWD is where the report goes by default).
    env = clean_env(tmp_path / 'ansible-home', ANSIBLE_COLLECTIONS_PATH=str(collections), PWD=str(work), **sim.env)
    install_collection(tarball, collections, env)
    (work / 'users.yml').write_text('users:\n  - alice@pve\n  - name: bob@pve\n    password: Bob-Passw0rd-1\n')
    assert not (work / 'ansible.cfg').exists()
    proc = subprocess.run([os.path.join(BIN, 'ansible-playbook'), 'deploystand.proxmox.deploy_stand',
                           '-e', '@users.yml'], cwd=str(work), env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-5000:]
    assert ROOT not in proc.stdout.replace(str(tmp_path), ''), 'nothing may come from the checkout'
    state = sim.state()
    for name in ('alice', 'bob'):
        vms = [vm for vm in state['vms'].values() if vm['pool'] == 'netlab-' + name]
        assert sorted(vm['name'] for vm in vms) == [name + '-host1', name + '-host2', name + '-router']
        assert all(vm['status'] == 'running' for vm in vms)
        # the marker, then the first deploy the stand records (docs/stand-model.md "The end of a stand")
        assert state['pools']['netlab-' + name]['comment'].split()[0] == 'deploystand:netlab:{0}@pve'.format(name)
        assert state['pools']['netlab-' + name]['comment'].split()[1].startswith('deploystand-since:')
    report = (work / 'reports' / 'netlab-credentials.csv').read_text()
    assert 'bob@pve,"Bob-Passw0rd-1"' in report
