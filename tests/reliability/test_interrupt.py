"""A deploy or destroy killed midway (Ctrl-C, or SIGKILL of the whole job as a CI cancel does) converges
on the next run: no duplicate VM, no orphaned disk, no unmarked or half-made object left behind."""
import signal

import pytest

from reliability_support import (
    DEPLOY, DESTROY, assert_clean, comparable, deploy_vars, failure_messages, outcome, stand_vms, start_playbook, students,
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
    assert stand_vms(sim.state()), 'the kill landed after the destroy had finished'

    again = playbook(DESTROY, sim, extra_vars=deploy_vars(tmp_path, CLASS))
    assert again.rc == 0, failure_messages(again)
    assert comparable(sim.state()) == initial
