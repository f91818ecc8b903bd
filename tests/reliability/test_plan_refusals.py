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
    ('no_images', {'type': 'dir', 'content': ['iso', 'backup']}, 'isos',
     "storage 'isos' does not take VM disks (content: backup,iso"),
    ('not_on_the_node', {'type': 'dir', 'content': ['images'], 'nodes': ['pve1']}, 'fast',
     "storage 'fast' is not available on node pve2 (it is enabled on pve1)"),
    ('format', None, 'local-lvm', "format 'qcow2': storage 'local-lvm' (lvmthin) holds raw only"),
]


@pytest.mark.parametrize('case,storage,name,needle', STORAGE_CASES, ids=[c[0] for c in STORAGE_CASES])
def test_a_full_clone_to_a_storage_that_cannot_take_it_is_refused_by_the_plan(sim_factory, playbook, tmp_path, case,
                                                                             storage, name, needle):
    def add(data):
        if storage:
            data['storages'].append(dict(storage, name=name))
    sim = sim_factory(scenario('default', add))
    before = comparable(sim.state())
    stand = dict(SMALL_STAND, clone='full', storage=name, format='qcow2' if case == 'format' else None)
    stand = dict((k, v) for k, v in stand.items() if v is not None)
    run = playbook(DEPLOY, sim, extra_vars=deploy_vars(tmp_path, [{'name': 'student1@pve', 'node': 'pve2'},
                                                                  'student2@pve'], stand=stand))
    message = assert_refused_by_the_plan(run, before, comparable(sim.state()), 'stand.storage (machine router',
                                         'stand.storage (machine host1', needle)
    assert message.count(needle) == 2, message


# --------------------------------------------------------------------------------- privileges

TOKEN = 'deploystand@pve!ansible'


def automation_token(sim, privileges):
    """The identity playbooks/automation_role.yml makes (a privsep token of deploystand@pve, the role
    granted to both on its paths), with the role holding `privileges`; returns the token's env."""
    from reliability_support import automation_paths

    def setup(pve):
        pve.lab_roles['DeployStandAutomation'] = set(privileges)
        pve.add_user('deploystand@pve')
        secret = pve.add_token('deploystand@pve', 'ansible', privsep=True)
        for path in automation_paths():
            pve.set_acl(path, 'DeployStandAutomation', 'deploystand@pve', 'user', 1)
            pve.set_acl(path, 'DeployStandAutomation', TOKEN, 'token', 1)
        return secret
    secret = sim.call(setup)
    env = dict((k, v) for k, v in sim.env.items() if k not in ('PROXMOX_USER', 'PROXMOX_PASSWORD'))
    env.update(PROXMOX_TOKEN_ID=TOKEN, PROXMOX_TOKEN_SECRET=secret)
    return env


def least_privileges():
    from reliability_support import automation_privileges
    return automation_privileges()


# what each missing privilege is named with (the path of the first deploy of SMALL_STAND on tiny)
MISSING = {
    'Sys.Audit': 'lacks Sys.Audit on /nodes/pve1',
    'Sys.Modify': 'lacks Sys.Modify on /nodes/pve1',
    'SDN.Audit': 'lacks SDN.Audit on /sdn/zones/localnetwork/vmbr1000, /sdn/zones/localnetwork/vmbr1001',
    'SDN.Use': 'lacks SDN.Use on /sdn/zones/localnetwork/vmbr0, /sdn/zones/localnetwork/vmbr1000',
    'VM.Audit': 'lacks VM.Audit on /vms, so it cannot see template',
    'VM.Clone': 'lacks VM.Clone on /vms/9002, /vms/9001',
    'VM.Allocate': 'lacks VM.Allocate on /pool/netlab-student1, /pool/netlab-student2',
    'VM.Config.Network': 'lacks VM.Config.Network on /pool/netlab-student1, /pool/netlab-student2',
    'VM.Config.Options': 'lacks VM.Config.Options on /pool/netlab-student1, /pool/netlab-student2',
    'VM.PowerMgmt': 'lacks VM.PowerMgmt on /pool/netlab-student1, /pool/netlab-student2',
    'Datastore.AllocateSpace': 'lacks Datastore.AllocateSpace on /storage/local-lvm',
    'Datastore.Audit': 'lacks Datastore.Audit on /storage/local-lvm',
    'Pool.Allocate': 'lacks Pool.Allocate on /pool/netlab-student1, /pool/netlab-student2',
    'Pool.Audit': 'lacks Pool.Audit on /pool/netlab-student1, /pool/netlab-student2',
    'Realm.AllocateUser': 'lacks Realm.AllocateUser on /access/realm/pve',
    'User.Modify': 'lacks User.Modify on /access/groups',
    'Permissions.Modify': 'lacks Permissions.Modify on /pool/netlab-student1, /pool/netlab-student2',
    # only stand.network mode sdn needs it: tests/integration/test_stand_sdn.py::test_sdn_mode_without_sdn_allocate_is_refused
    'SDN.Allocate': None,
    # only the day-2 playbooks need these (snapshot, reset, the status page's guest addresses):
    # tests/reliability/test_least_privilege.py::test_power_snapshot_and_reset_pass_with_the_least_privilege_token_alone
    # and ::test_status_runs_with_the_automation_token_and_with_an_auditor_alone
    'VM.Snapshot': None,
    'VM.Snapshot.Rollback': None,
    'VM.GuestAgent.Audit': None,
}


def test_every_privilege_of_the_least_privilege_role_is_in_the_table():
    assert sorted(MISSING) == sorted(least_privileges())


@pytest.mark.parametrize('missing', sorted(k for k, v in MISSING.items() if v))
def test_the_least_privilege_role_minus_one_privilege_is_refused_naming_it(sim_tiny, playbook, tmp_path, missing):
    env = automation_token(sim_tiny, [p for p in least_privileges() if p != missing])
    before = comparable(sim_tiny.state())
    run = playbook(DEPLOY, env, extra_vars=deploy_vars(tmp_path, students(2)))
    message = assert_refused_by_the_plan(run, before, comparable(sim_tiny.state()), TOKEN + ' ' + MISSING[missing])
    assert 'no template named' not in message
    # every line is about that privilege: one message, every path, nothing else
    assert all(missing in line for line in message.splitlines()[1:]), message


def test_a_privilege_only_some_runs_need_is_asked_for_only_then(sim_tiny, playbook, tmp_path):
    # without Sys.Modify, Pool.Allocate, Realm.AllocateUser and VM.PowerMgmt: the first deploy needs them all ...
    lacking = ('Sys.Modify', 'Pool.Allocate', 'Realm.AllocateUser', 'VM.PowerMgmt')
    env = automation_token(sim_tiny, [p for p in least_privileges() if p not in lacking])
    before = comparable(sim_tiny.state())
    run = playbook(DEPLOY, env, extra_vars=deploy_vars(tmp_path, students(2)))
    message = assert_refused_by_the_plan(run, before, comparable(sim_tiny.state()))
    assert sorted(line.split(' lacks ')[1].split(' on ')[0] for line in message.splitlines()[1:]) == sorted(lacking)
    # ... a deploy with start: false does not need VM.PowerMgmt (the others it still does)
    run = playbook(DEPLOY, env, extra_vars=deploy_vars(tmp_path, students(2), stand=dict(SMALL_STAND, start=False)))
    message = assert_refused_by_the_plan(run, before, comparable(sim_tiny.state()))
    assert 'VM.PowerMgmt' not in message and 'Sys.Modify' in message
    # ... and once root made the stand (users, pools, bridges, running VMs), the re-run needs none of them
    made = playbook(DEPLOY, sim_tiny, extra_vars=deploy_vars(tmp_path, students(2)))
    assert made.rc == 0, made
    again = playbook(DEPLOY, env, extra_vars=deploy_vars(tmp_path, students(2)))
    assert again.rc == 0 and again.changed_total == 0, again
    # a new student needs them again, named for that student only
    state = comparable(sim_tiny.state())
    more = playbook(DEPLOY, env, extra_vars=deploy_vars(tmp_path, students(3)))
    message = assert_refused_by_the_plan(more, state, comparable(sim_tiny.state()), 'netlab-student3')
    assert 'netlab-student1' not in message and 'netlab-student2' not in message


def test_a_grant_the_permissions_dump_cannot_show_is_asked_for_exactly_before_refusing(sim_tiny, playbook, tmp_path):
    # The user holds the role from / (propagated) and a non-propagated PVEPoolUser on /pool; its token holds
    # the role on its usual paths. On /pool the dump shows only Pool.Audit with flag 0 (user AND token), yet a
    # new pool below inherits the whole role for both (a level whose roles do not propagate passes on what
    # is above it). The plan asks PVE for those paths instead of refusing on the dump's face.
    env = automation_token(sim_tiny, least_privileges())

    def rearrange(pve):
        pve.drop_acl(lambda path, kind, ugid: ugid == 'deploystand@pve')
        pve.set_acl('/', 'DeployStandAutomation', 'deploystand@pve', 'user', 1)
        pve.set_acl('/pool', 'PVEPoolUser', 'deploystand@pve', 'user', 0)
    sim_tiny.call(rearrange)
    run = playbook(DEPLOY, env, extra_vars=deploy_vars(tmp_path, students(2)))
    assert run.rc == 0, run
    assert len(stand_vms(sim_tiny.state())) == 4
