"""deploy_stand.yml run the way AWX/AAP runs a job: ansible-runner with a private data dir holding the
project (with its collections/requirements.yml installed into the project, as project sync does), an
inventory, the survey answers in env/extravars, exactly what the credential type injects in env/envvars
(and the CA file it writes), no TTY. The credentials report must arrive as the job's artifact."""
import json
import os
import shutil
import subprocess

import ansible_runner
import jinja2.sandbox
import pytest
import yaml

from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.client import PveClient
from packaging_helpers import BIN, ROOT, clean_env

pytestmark = pytest.mark.slow

SURVEY = {'stand_class': 'awx1@pve\n# a comment line\nawx2@pve\n', 'stand_name': 'awxlab'}


def copy_project(dest):
    """The repository as AWX's project sync checks it out (tracked and new files; nothing git ignores)."""
    files = subprocess.run(['git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'], cwd=ROOT,
                           check=True, stdout=subprocess.PIPE).stdout.decode().split('\0')
    for rel in files:
        src = os.path.join(ROOT, rel)
        if rel and os.path.isfile(src) and not rel.startswith(('tests/', 'benchmarks/', 'simulator/')):
            os.makedirs(os.path.dirname(os.path.join(dest, rel)), exist_ok=True)
            shutil.copy2(src, os.path.join(dest, rel))


def injected(credential, private_data_dir):
    """What AWX injects for a credential of awx/credential_type.yml: env vars, and the files it writes."""
    ctype = yaml.safe_load(open(os.path.join(ROOT, 'awx', 'credential_type.yml')))['credential_types'][0]
    namespace = dict((f['id'], False) for f in ctype['inputs']['fields'] if f['type'] == 'boolean')
    namespace.update(credential)
    env = jinja2.sandbox.ImmutableSandboxedEnvironment()
    files = {}
    for name, template in ctype['injectors'].get('file', {}).items():
        path = os.path.join(private_data_dir, 'env', 'tmp_' + name.split('.', 1)[1])
        with open(path, 'w') as handle:
            handle.write(env.from_string(template).render(**namespace))
        os.chmod(path, 0o600)
        files[name.split('.', 1)[1]] = path
    namespace['tower'] = {'filename': files}
    return dict((k, env.from_string(v).render(**namespace)) for k, v in ctype['injectors']['env'].items())


def test_deploy_through_ansible_runner_like_awx(sim, tmp_path, monkeypatch):
    pdd = tmp_path / 'pdd'
    project = pdd / 'project'
    for sub in ('env', 'inventory', 'project'):
        (pdd / sub).mkdir(parents=True)
    copy_project(str(project))
    # Project sync: ansible-galaxy collection install -r collections/requirements.yml (cwd: the project).
    home = tmp_path / 'ansible-home'
    proc = subprocess.run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'install', '--offline', '-r',
                           'collections/requirements.yml', '-p', 'collections'], cwd=str(project),
                          env=clean_env(home), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True)
    assert proc.returncode == 0, proc.stdout
    installed = project / 'collections' / 'ansible_collections' / 'deploystand' / 'proxmox'
    assert (installed / 'MANIFEST.json').is_file() and not (installed / 'tests').exists()

    (pdd / 'inventory' / 'hosts').write_text(
        'localhost ansible_connection=local ansible_python_interpreter="{{ ansible_playbook_python }}"\n')
    # The survey's answers, and the job ids AWX adds to every job's extra vars (the report role turns the
    # artifact on by them).
    (pdd / 'env' / 'extravars').write_text(json.dumps(dict(SURVEY, awx_job_id=42, tower_job_id=42)))
    credential = {'host': sim.host, 'port': str(sim.port), 'user': 'root@pam', 'password': sim.password,
                  'ca_cert': open(sim.cafile).read()}
    envvars = injected(credential, str(pdd))
    assert envvars['PROXMOX_TOKEN_ID'] == '' and envvars['PROXMOX_VALIDATE_CERTS'] == 'true'
    assert open(envvars['PROXMOX_CA_PATH']).read() == credential['ca_cert']
    (pdd / 'env' / 'envvars').write_text(json.dumps(envvars))

    # The runner process: nothing of ours in its environment; PWD is the private data dir, as in an EE.
    for key in list(os.environ):
        if key.startswith(('PROXMOX_', 'ANSIBLE_', 'MOLECULE_')):
            monkeypatch.delenv(key)
    monkeypatch.setenv('ANSIBLE_HOME', str(home))
    monkeypatch.setenv('PATH', BIN + os.pathsep + os.environ['PATH'])
    monkeypatch.setenv('PWD', str(pdd))
    monkeypatch.chdir(str(pdd))
    run = ansible_runner.run(private_data_dir=str(pdd), playbook='playbooks/deploy_stand.yml', ident='job42',
                             quiet=True, forks=10)
    stdout = open(os.path.join(str(pdd), 'artifacts', 'job42', 'stdout')).read()
    assert run.status == 'successful' and run.rc == 0, stdout[-5000:]
    assert 'stand_report_credentials' not in stdout, 'the artifact must not be printed'

    # The cluster: the survey's class and stand name.
    state = sim.state()
    for userid in ('awx1@pve', 'awx2@pve'):
        name = userid.split('@')[0]
        assert state['pools']['awxlab-' + name]['comment'].split()[0] == 'deploystand:awxlab:' + userid
        vms = [vm for vm in state['vms'].values() if vm['pool'] == 'awxlab-' + name]
        assert sorted(vm['name'] for vm in vms) == [name + '-host1', name + '-host2', name + '-router']
        assert all('stand-awxlab' in vm['tags'] and vm['status'] == 'running' for vm in vms)

    # The credentials report as the job artifact (what AWX shows under the job's Artifacts).
    stats = [e for e in run.events if e.get('event') == 'playbook_on_stats']
    artifact = stats[-1]['event_data']['artifact_data']['stand_report_credentials']
    assert artifact['stand'] == 'awxlab'
    rows = dict((row['user'], row) for row in artifact['students'])
    assert sorted(rows) == ['awx1@pve', 'awx2@pve']
    for userid, row in rows.items():
        assert row['password_source'] == 'this run' and len(row['password']) >= 12
        assert row['pool'] == 'awxlab-' + userid.split('@')[0] and len(row['vms']) == 3
        # The student can log in with it.
        PveClient(sim.host, user=userid, password=row['password'], port=sim.port, ca_path=sim.cafile)
