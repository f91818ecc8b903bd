"""Two teachers deploy two different stands at the same time on the same node, both with the default
VMID and bridge ranges: both succeed, and no VMID or bridge is shared."""
import pytest

from reliability_support import SMALL_STAND, deploy_vars, outcome, start_playbook, stand_bridges, stand_vms, \
    duplicate_vms, orphaned_disks, DEPLOY, DESTROY, comparable

pytestmark = pytest.mark.slow


def stand(name):
    return dict(SMALL_STAND, name=name)


def test_two_stands_deployed_at_once_share_no_vmid_or_bridge(sim_factory, playbook, tmp_path):
    sim = sim_factory('tiny', time_factor=0.05)
    initial = comparable(sim.state())
    classes = {'alpha': ['ann@pve', 'bob@pve'], 'beta': ['cid@pve', 'dee@pve']}
    jobs = dict((name, start_playbook(DEPLOY, sim, tmp_path,
                                      deploy_vars(tmp_path / name, users, stand=stand(name)), name))
                for name, users in classes.items())
    runs = dict((name, job.wait(900)) for name, job in jobs.items())
    for name, run in runs.items():
        assert run.rc == 0, (name, run.output[-4000:])

    state = sim.state()
    assert duplicate_vms(state) == {} and orphaned_disks(state) == []
    vmids = {}
    bridges = {}
    for name, users in classes.items():
        made = outcome(state, name)
        assert made['users'] == sorted(users)
        assert made['bridges'] == dict((u, ['lan']) for u in users)
        assert made['statuses'] == ['running']
        assert sorted(made['pools']) == sorted('{0}-{1}'.format(name, u.split('@')[0]) for u in users)
        vmids[name] = set(stand_vms(state, name))
        bridges[name] = set(stand_bridges(state, name))
        assert len(vmids[name]) == 4 and len(bridges[name]) == 2
    assert not vmids['alpha'] & vmids['beta']
    assert not bridges['alpha'] & bridges['beta']
    # every bridge carries the marker of exactly one stand, and each VM's NICs use its own stand's bridges
    for (node, iface), comments in stand_bridges(state, 'alpha').items():
        assert 'deploystand:beta:' not in comments
    for name in classes:
        own = set(iface for _node, iface in bridges[name])
        for vmid in vmids[name]:
            nets = [v for k, v in state['vms'][str(vmid) if str(vmid) in state['vms'] else vmid]['config'].items()
                    if k.startswith('net')]
            used = set(part.split('=', 1)[1] for v in nets for part in v.split(',') if part.startswith('bridge='))
            assert used - {'vmbr0'} <= own, (name, vmid, used)

    for name, users in classes.items():
        gone = playbook(DESTROY, sim, extra_vars=deploy_vars(tmp_path, users, stand=stand(name)))
        assert gone.rc == 0, gone
    assert comparable(sim.state()) == initial
