"""A deploy or destroy killed midway (Ctrl-C, or SIGKILL of the whole job as a CI cancel does) converges
on the next run: no duplicate VM, no orphaned disk, no unmarked or half-made object left behind."""
import json
import os
import shutil
import signal
import time

import pytest
from proxmoxer import ProxmoxAPI

from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.client import PveApiError, PveClient

from reliability_support import (
    DEPLOY, DESTROY, Background, assert_clean, comparable, deploy_vars, duplicate_vms, failure_messages, outcome, stand_vms, start_playbook, students,
    wait_until)

CLASS = students(3)
EXPECTED = {
    'users': CLASS,
    'pools': dict(('netlab-student{0}'.format(n), ['student{0}-host1'.format(n), 'student{0}-router'.format(n)])
                  for n in (1, 2, 3)),
    'bridges': dict((u, ['lan']) for u in CLASS),
    'statuses': ['running'], 'locks': ['None'],
}
pytestmark = pytest.mark.slow


def clones_running(sim):
    return any(vm['lock'] == 'clone' for vm in sim.state()['vms'].values())


@pytest.mark.parametrize('sig', [signal.SIGINT, signal.SIGKILL], ids=['sigint', 'sigkill'])
def test_deploy_killed_while_cloning_converges_on_the_next_run(sim_factory, playbook, tmp_path, sig):
    # 1 PVE second = 0.3 s: a linked clone takes about a second, so the kill lands in the middle
    sim = sim_factory('tiny', time_factor=0.3)
    before = sim.state()
    job = start_playbook(DEPLOY, sim, tmp_path, deploy_vars(tmp_path, CLASS), 'killed')
    wait_until(lambda: clones_running(sim), timeout=300)
    job.signal(sig)
    killed = job.wait(120)
    assert killed.rc != 0
    assert 'Traceback' not in killed.output

    again = playbook(DEPLOY, sim, extra_vars=deploy_vars(tmp_path, CLASS))
    assert again.rc == 0, failure_messages(again)
    state = sim.state()
    assert outcome(state) == EXPECTED
    assert_clean(state, before)
    assert len(stand_vms(state)) == 6


def test_a_clone_the_killed_run_left_running_is_waited_for_and_adopted(sim_factory, playbook, tmp_path):
    """The re-run starts while a clone of the killed run is still copying disks. PVE shows that VM without
    name, notes or pool until the task ends, so it can be neither adopted nor told apart from a foreign
    VM yet: the plan waits for it, then the run adopts it (no second clone, no 'foreign VM' refusal)."""
    sim = sim_factory('tiny', time_factor=1.0, durations={'linked_clone': 0.2, 'start': 0.1, 'stop': 0.1,
                                                          'destroy': 0.1, 'network_apply': 0.1,
                                                          'request_latency': 0.0})
    assert playbook(DEPLOY, sim, extra_vars=deploy_vars(tmp_path, CLASS)).rc == 0
    api = ProxmoxAPI(sim.host, port=sim.port, user='root@pam', password=sim.password, verify_ssl=sim.cafile)
    host = next(v for v, vm in sim.state()['vms'].items() if vm['name'] == 'student2-host1')
    api.nodes('pve1').qemu(host).status.stop.post()
    wait_until(lambda: sim.state()['vms'][host]['status'] == 'stopped')
    api.nodes('pve1').qemu(host).delete()
    wait_until(lambda: host not in sim.state()['vms'])
    # the killed run had just submitted this clone, the way pve_stand_clone does
    sim.set_durations(linked_clone=8)
    template = next(v for v, vm in sim.state()['vms'].items() if vm['name'] == 'linux-tpl')
    api.nodes('pve1').qemu(template).clone.post(newid=host, name='student2-host1', pool='netlab-student2',
                                                description='deploystand-pending:netlab')

    again = playbook(DEPLOY, sim, extra_vars=deploy_vars(tmp_path, CLASS))
    assert again.rc == 0, failure_messages(again)
    wait_until(lambda: not clones_running(sim), timeout=60)
    state = sim.state()
    assert duplicate_vms(state) == {} and len(stand_vms(state)) == 6
    assert outcome(state) == EXPECTED
    assert state['vms'][host]['name'] == 'student2-host1' and 'deploystand' in state['vms'][host]['tags']
    assert 'waiting for 1 clone(s) in progress in the VMID range to finish: {0}'.format(host) in again.output
    assert 'VM {0} (student2-host1) was cloned by an interrupted run; it is adopted'.format(host) in again.output


@pytest.mark.parametrize('sig', [signal.SIGINT, signal.SIGKILL], ids=['sigint', 'sigkill'])
def test_destroy_killed_midway_converges_on_the_next_destroy(sim_factory, playbook, tmp_path, sig):
    sim = sim_factory('tiny')
    initial = comparable(sim.state())
    assert playbook(DEPLOY, sim, extra_vars=deploy_vars(tmp_path, CLASS)).rc == 0
    deployed = len(stand_vms(sim.state()))
    sim.call(lambda pve: setattr(pve, 'time_scale', 0.3))

    job = start_playbook(DESTROY, sim, tmp_path, deploy_vars(tmp_path, CLASS), 'killed')
    wait_until(lambda: len(stand_vms(sim.state())) < deployed, timeout=300)
    job.signal(sig)
    killed = job.wait(120)
    assert 'Traceback' not in killed.output
    # a student's VMs go at the same time (one module run each), its pool and user after them
    state = sim.state()
    assert stand_vms(state) or any(pool.startswith('netlab-') for pool in state['pools']), \
        'the kill landed after the destroy had finished'

    again = playbook(DESTROY, sim, extra_vars=deploy_vars(tmp_path, CLASS))
    assert again.rc == 0, failure_messages(again)
    assert comparable(sim.state()) == initial


def test_destroy_right_after_a_killed_deploy_removes_everything_it_made(sim_factory, playbook, tmp_path):
    """The teacher stops a deploy (SIGKILL) and destroys at once: the clones the killed run left, untagged
    and maybe still copying, are waited for and removed with the rest; the cluster is as before."""
    sim = sim_factory('tiny', time_factor=0.3)
    initial = comparable(sim.state())
    job = start_playbook(DEPLOY, sim, tmp_path, deploy_vars(tmp_path, CLASS), 'killed')
    wait_until(lambda: clones_running(sim), timeout=300)
    job.signal(signal.SIGKILL)
    job.wait(120)

    gone = playbook(DESTROY, sim, extra_vars=deploy_vars(tmp_path, CLASS))
    assert gone.rc == 0, failure_messages(gone)
    assert comparable(sim.state()) == initial


def test_no_module_of_a_killed_deploy_goes_on_waiting(sim_factory, tmp_path):
    """ansible-core's workers leave ansible-playbook's process group (os.setsid), so a SIGKILL of the group
    (a cancelled CI job) used to leave every module waiting on its PVE tasks until their timeouts (600 s
    each, in series). Every wait now sleeps through the controller watch: within one poll (1 s) plus one
    API request (api_timeout, 5 s here) of the kill no process of the run is left (docs/reliability.md)."""
    quick = dict(start=0.01, stop=0.01, shutdown=0.01, destroy=0.01, network_apply=0.01, request_latency=0.0)
    # slow_factor multiplies every task: the clones take 300 s, everything else about 1 s
    sim = sim_factory('tiny', time_factor=1.0, durations=dict(quick, linked_clone=3.0), faults={'slow_factor': 100.0})
    api_timeout = 5
    job = Background(DEPLOY, dict(sim.env, PROXMOX_TIMEOUT=str(api_timeout)), tmp_path,
                     deploy_vars(tmp_path, CLASS), 'killed')
    try:
        wait_until(lambda: sum(vm['lock'] == 'clone' for vm in sim.state()['vms'].values()) >= len(CLASS), timeout=300)
        assert len(job.processes()) > 1 + len(CLASS)     # the controller, workers and modules, all waiting
        job.signal(signal.SIGKILL)
        killed = job.wait(60)
        assert killed.rc != 0
        started = time.monotonic()
        bound = 1 + api_timeout + 10                     # one poll, one request, the processes' own exit
        while job.processes():
            assert time.monotonic() - started < bound, 'still running {0:.0f} s after the kill: {1}'.format(
                time.monotonic() - started, job.processes())
            time.sleep(0.2)
        print('all processes of the killed run ended {0:.1f} s after the kill'.format(time.monotonic() - started))
        assert clones_running(sim)                       # PVE's own tasks go on; the next run adopts them
    finally:
        for pid in job.processes():
            os.kill(pid, signal.SIGKILL)


# Issue 13 item 6: the passwords of a deploy killed after PVE made the users.

def report_rows(tmp_path):
    with open(str(tmp_path / 'reports' / 'netlab-credentials.json')) as handle:
        return dict((row['user'], row) for row in json.load(handle)['students'])


def logs_in(sim, userid, password):
    try:
        PveClient(sim.host, user=userid, password=password, port=sim.port, ca_path=sim.cafile).get('version')
        return True
    except PveApiError:
        return False


def staged_bridges(sim):
    return [node for node, net in sim.state()['networks'].items() if net['staged'] is not None]


def test_a_deploy_killed_after_staging_its_bridges_applies_them_on_the_next_run(sim_factory, playbook, tmp_path):
    """Killed between the bridges (staged in interfaces.new) and their apply: the re-run makes no bridge, yet
    applies the staged ones before any VM of theirs starts (a VM on a bridge that is not up does not start)."""
    sim = sim_factory('tiny', time_factor=1.0, durations={'linked_clone': 0.2, 'start': 0.1, 'network_apply': 0.1,
                                                          'request_latency': 0.0})
    job = start_playbook(DEPLOY, sim, tmp_path, deploy_vars(tmp_path, CLASS), 'killed')
    wait_until(lambda: staged_bridges(sim), timeout=300)
    job.signal(signal.SIGKILL)
    assert job.wait(120).rc != 0
    assert staged_bridges(sim), 'killed before the apply'
    assert not stand_vms(sim.state()), 'killed before the clones'

    again = playbook(DEPLOY, sim, extra_vars=deploy_vars(tmp_path, CLASS))
    assert again.rc == 0, failure_messages(again)
    state = sim.state()
    assert staged_bridges(sim) == [] and outcome(state) == EXPECTED


def test_a_deploy_killed_after_the_users_were_made_leaves_every_password_on_disk(sim_factory, playbook, tmp_path):
    sim = sim_factory('tiny', time_factor=0.3)
    job = start_playbook(DEPLOY, sim, tmp_path, deploy_vars(tmp_path, CLASS), 'killed')
    # users are made first, then the clones (a linked clone takes about a second here): kill in between
    wait_until(lambda: all(u in sim.state()['users'] for u in CLASS) and clones_running(sim), timeout=300)
    job.signal(signal.SIGKILL)
    killed = job.wait(120)
    assert killed.rc != 0 and 'Credentials report (mode 0600)' not in killed.output, 'killed before the report'
    ledger = tmp_path / 'reports' / 'netlab-credentials.json'
    assert oct(ledger.stat().st_mode & 0o777) == '0o600'
    written = report_rows(tmp_path)
    assert sorted(written) == CLASS and set(r['status'] for r in written.values()) == {'pending'}
    assert all(logs_in(sim, u, written[u]['password']) for u in CLASS), 'the password on disk is the one PVE got'

    again = playbook(DEPLOY, sim, extra_vars=deploy_vars(tmp_path, CLASS))
    assert again.rc == 0, failure_messages(again)
    rows = report_rows(tmp_path)
    assert set(r['status'] for r in rows.values()) == {'active'}
    assert dict((u, r['password']) for u, r in rows.items()) == dict((u, r['password']) for u, r in written.items())
    for userid in CLASS:
        assert logs_in(sim, userid, rows[userid]['password']), userid
    assert outcome(sim.state()) == EXPECTED


def test_a_user_of_the_stand_whose_password_was_never_recorded_gets_a_new_one_said_in_the_output(
        sim_factory, playbook, tmp_path):
    """What a run killed before this fix left: users the stand made, and no report holding their password."""
    sim = sim_factory('tiny')
    assert playbook(DEPLOY, sim, extra_vars=deploy_vars(tmp_path, CLASS)).rc == 0
    lost = report_rows(tmp_path)
    shutil.rmtree(str(tmp_path / 'reports'))
    again = playbook(DEPLOY, sim, extra_vars=deploy_vars(tmp_path, CLASS))
    assert again.rc == 0, failure_messages(again)
    for userid in CLASS:
        assert '{0}: the stand made this account but no report holds its password'.format(userid) in again.output
    rows = report_rows(tmp_path)
    for userid in CLASS:
        assert rows[userid]['password'] != lost[userid]['password'] and rows[userid]['status'] == 'active'
        assert logs_in(sim, userid, rows[userid]['password']) and not logs_in(sim, userid, lost[userid]['password'])
    third = playbook(DEPLOY, sim, extra_vars=deploy_vars(tmp_path, CLASS))
    assert third.rc == 0 and third.changed_total == 0, failure_messages(third)
    assert 'no report holds its password' not in third.output
