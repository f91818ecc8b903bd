"""The plan refuses before any write (issue 13): a class that does not fit in memory, a full clone to
a storage that cannot take it, and missing privileges. Each refusal is one clear message from the
plan, no traceback, and the cluster is exactly as before (sim.state() compared)."""
import copy
import os

import pytest
import yaml

from reliability_support import DEPLOY, ROOT, SMALL_STAND, comparable, deploy_vars, stand_vms, students

pytestmark = pytest.mark.slow
PLAN_FAILED = 'Stand input problems are reported'


def scenario(name='tiny', change=None):
    data = yaml.safe_load(open(os.path.join(ROOT, 'simulator', 'deploystand_sim', 'scenarios', name + '.yml')))
    data = copy.deepcopy(data)
    if change:
        change(data)
    return data


def assert_refused_by_the_plan(run, before, after, *needles):
    assert run.rc != 0 and 'Traceback' not in run.output, run
    assert len(run.failed) == 1, run
    assert run.failed[0]['task'].endswith(PLAN_FAILED), run.failed[0]['task']
    message = run.failed[0]['result']['msg']
    for needle in needles:
        assert needle in message, message
    assert after == before
    return message


# ------------------------------------------------------------------------------------- memory

def big_linux_template(data):
    """tiny: one 32 GiB node with 28 GiB free; the linux template takes 12 GiB (14 GiB a student)."""
    for template in data['templates']:
        if template['name'] == 'linux-tpl':
            template['memory_mb'] = 12 * 1024


def test_a_class_that_does_not_fit_in_memory_is_refused_with_the_numbers(sim_factory, playbook, tmp_path):
    sim = sim_factory(scenario('tiny', big_linux_template))
    before = comparable(sim.state())
    run = playbook(DEPLOY, sim, extra_vars=deploy_vars(tmp_path, students(3)))
    assert_refused_by_the_plan(run, before, comparable(sim.state()),
                               'capacity: the stand needs more memory than the nodes have free',
                               'pve1: 28.0 GiB free, 42.0 GiB needed by 3 students',
                               'in total 28.0 GiB free on 1 online node, 42.0 GiB needed', 'memory_overcommit')


def test_overcommit_deploys_with_one_warning_and_the_rerun_changes_nothing(sim_factory, playbook, tmp_path):
    sim = sim_factory(scenario('tiny', big_linux_template))
    stand = dict(SMALL_STAND, memory_overcommit=1.5)
    run = playbook(DEPLOY, sim, extra_vars=deploy_vars(tmp_path, students(3), stand=stand))
    assert run.rc == 0, run
    assert run.output.count('stand.memory_overcommit 1.5: memory is overcommitted on pve1: 28.0 GiB free, '
                            '42.0 GiB needed by 3 students') == 1
    assert len(stand_vms(sim.state())) == 6
    # the stand's VMs are placed now: the re-run needs no memory and says nothing about it
    again = playbook(DEPLOY, sim, extra_vars=deploy_vars(tmp_path, students(3), stand=stand))
    assert again.rc == 0 and again.changed_total == 0, again
    assert 'overcommitted' not in again.output


# ---------------------------------------------------------------------------- full-clone storage

STORAGE_CASES = [
    ('missing', None, 'nosuch', "storage 'nosuch' does not exist"),
    ('no_images', {'type': 'dir', 'path': '/mnt/isos', 'content': 'iso,backup'}, 'isos',
     "storage 'isos' does not take VM disks (content: backup,iso"),
    ('not_on_the_node', {'type': 'dir', 'path': '/mnt/fast', 'content': 'images', 'nodes': 'pve1'}, 'fast',
     "storage 'fast' is not available on node pve2 (it is enabled on pve1)"),
    ('format', None, 'local-lvm', "format 'qcow2': storage 'local-lvm' (lvmthin) holds raw only"),
]


@pytest.mark.parametrize('case,storage,name,needle', STORAGE_CASES, ids=[c[0] for c in STORAGE_CASES])
def test_a_full_clone_to_a_storage_that_cannot_take_it_is_refused_by_the_plan(sim, playbook, tmp_path, case,
                                                                             storage, name, needle):
    from ansible_collections.deploystand.proxmox.plugins.module_utils.pve_client import PveClient
    if storage:
        api = PveClient(sim.host, user='root@pam', password=sim.password, port=sim.port, ca_path=sim.cafile)
        api.post('storage', storage=name, **storage)
    before = comparable(sim.state())
    stand = dict(SMALL_STAND, clone='full', storage=name, format='qcow2' if case == 'format' else None)
    stand = dict((k, v) for k, v in stand.items() if v is not None)
    run = playbook(DEPLOY, sim, extra_vars=deploy_vars(tmp_path, [{'name': 'student1@pve', 'node': 'pve2'},
                                                                  'student2@pve'], stand=stand))
    message = assert_refused_by_the_plan(run, before, comparable(sim.state()), 'stand.storage (machine router',
                                         'stand.storage (machine host1', needle)
    assert message.count(needle) == 2, message
