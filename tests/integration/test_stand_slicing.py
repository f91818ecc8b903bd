"""AWX job slicing of a day-2 playbook over the stands inventory plugin: the same playbook
(playbooks/stand_guest_facts.yml) run once over every host, and run as 3 slices at the same time - each
slice the hosts AWX gives it (the inventory's hosts ordered by name, every 3rd from the slice's offset:
awx/main/models/inventory.py Inventory.get_script_data / get_sliced_hosts), passed as the slice's --limit -
writes the same files, and each slice touched only its own hosts."""
import importlib.util
import json
import os
import subprocess
import sys
import threading

import pytest

from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.client import PveClient
from deploystand_sim.stand_scenario import with_agents

pytestmark = pytest.mark.slow

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEPLOY = os.path.join(ROOT, 'playbooks', 'deploy_stand.yml')
FACTS = os.path.join(ROOT, 'playbooks', 'stand_guest_facts.yml')
ANSIBLE_INVENTORY = os.path.join(os.path.dirname(sys.executable), 'ansible-inventory')
CLASS = ['student1@pve', 'student2@pve', 'student3@pve']
STAND = {'name': 'netlab', 'machines': [
    {'name': 'router', 'device_type': 'ecorouter', 'template': 'ecorouter-tpl',
     'networks': [{'bridge': 'vmbr0'}, {'bridge': 'lan'}]},
    {'name': 'host1', 'template': 'linux-tpl', 'networks': [{'bridge': 'lan'}]}]}
SLICES = 3

# The integration tests' runner (ansible-playbook + the record callback), loaded under its own name.
_spec = importlib.util.spec_from_file_location(
    'deploystand_integration_runner', os.path.join(os.path.dirname(os.path.abspath(__file__)), 'conftest.py'))
_runner = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_runner)
run_playbook = _runner.run_playbook


def awx_slices(hosts, count):
    """AWX's slices: the hosts ordered by name, slice n (1-based) = hosts[n-1::count] (get_sliced_hosts)."""
    ordered = sorted(hosts)
    return [ordered[offset::count] for offset in range(count)]


def inventory_hosts(sim, inventory, tmp_path):
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith('PROXMOX_'))
    env.update(sim.env)
    env.update({'ANSIBLE_CONFIG': os.path.join(ROOT, 'ansible.cfg'), 'ANSIBLE_HOME': str(tmp_path / 'home')})
    proc = subprocess.run([ANSIBLE_INVENTORY, '-i', str(inventory), '--list'], cwd=ROOT, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return sorted(json.loads(proc.stdout)['_meta']['hostvars'])


def written(directory):
    return dict((name, json.loads((directory / name).read_text())) for name in sorted(os.listdir(str(directory))))


def test_three_concurrent_slices_give_the_same_result_as_one_job(sim_tiny, playbook, tmp_path):
    sim = sim_tiny
    deployed = playbook(DEPLOY, sim, extra_vars={'users': CLASS, 'stand': STAND,
                                                 'stand_report_dir': str(tmp_path / 'reports')})
    assert deployed.rc == 0, deployed
    sim.call(with_agents, 'netlab')
    # one student's router is off: its facts say so (and it has no address)
    api = PveClient(sim.host, user='root@pam', password=sim.password, port=sim.port, ca_path=sim.cafile)
    vmid, router = [(v, vm) for v, vm in sim.state()['vms'].items() if vm['name'] == 'student2-router'][0]
    api.run_task('POST', 'nodes/{0}/qemu/{1}/status/stop'.format(router['node'], vmid))

    inventory = tmp_path / 'lab.stands.yml'
    inventory.write_text('plugin: deploystand.proxmox.stands\n')
    hosts = inventory_hosts(sim, inventory, tmp_path)
    assert len(hosts) == 6
    before = sim.state()

    single_dir = tmp_path / 'single'
    (tmp_path / 'run-single').mkdir()
    single = run_playbook(FACTS, sim.env, tmp_path / 'run-single', args=['-i', str(inventory)],
                          extra_vars={'stand_guest_facts_dir': str(single_dir)})
    assert single.rc == 0 and single.changed_total == 0, single
    one_job = written(single_dir)
    assert sorted(one_job) == [h + '.json' for h in hosts]

    sliced_dir = tmp_path / 'sliced'
    slices = awx_slices(hosts, SLICES)
    runs = [None] * SLICES

    def job(index):
        work = tmp_path / 'run-slice{0}'.format(index + 1)
        work.mkdir()
        runs[index] = run_playbook(FACTS, sim.env, work, args=['-i', str(inventory), '--limit', ','.join(slices[index])],
                                   extra_vars={'stand_guest_facts_dir': str(sliced_dir)})
    threads = [threading.Thread(target=job, args=(i,)) for i in range(SLICES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for index, run in enumerate(runs):
        assert run.rc == 0 and run.changed_total == 0, run
        read = sorted(t['host'] for t in run.tasks if t['task'] == 'VM state, NICs and addresses are read through the API')
        assert read == sorted(slices[index])                     # each slice read its hosts only
    assert written(sliced_dir) == one_job
    assert sim.state() == before                                  # a read-only job

    facts = one_job['netlab-student2-router.json']
    assert (facts['status'], facts['address'], facts['userid']) == ('stopped', None, 'student2@pve')
    host1 = one_job['netlab-student1-host1.json']
    assert host1['status'] == 'running' and host1['address'] and host1['nics'][0]['bridge'].startswith('vmbr')
