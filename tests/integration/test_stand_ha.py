"""stand.ha (issue 17) through the real playbooks on the simulator's `sdn` scenario (which already has a foreign
HA resource, vm:100 with its rule): the stand's VMs become marked HA resources, a re-run changes nothing,
destroy removes exactly those, and machines on local storage are refused by the plan."""
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEPLOY = os.path.join(ROOT, 'playbooks', 'deploy_stand.yml')
DESTROY = os.path.join(ROOT, 'playbooks', 'destroy_stand.yml')
CLASS = ['student1@pve', 'student2@pve']
SHARED = {'name': 'netlab', 'ha': True, 'vmid_range': [21000, 21999],
          'machines': [{'name': 'srv', 'template': 'linux-shared-tpl', 'networks': ['lan']}]}

pytestmark = pytest.mark.slow


def run(playbook, sim, tmp_path, book, stand=SHARED):
    return playbook(book, sim, extra_vars={'users': CLASS, 'stand': stand,
                                           'stand_report_dir': str(tmp_path / 'reports')})


def test_ha_resources_are_marked_idempotent_and_removed_exactly(sim_factory, playbook, tmp_path):
    sim = sim_factory('sdn')
    before = sim.state()['ha']
    first = run(playbook, sim, tmp_path, DEPLOY)
    assert first.rc == 0, first
    state = sim.state()
    ours = dict((sid, r) for sid, r in state['ha']['resources'].items() if sid != 'vm:100')
    vms = dict((vmid, vm) for vmid, vm in state['vms'].items() if 'stand-netlab' in vm['tags'])
    assert sorted(ours) == sorted('vm:{0}'.format(vmid) for vmid in vms)
    for sid, resource in ours.items():
        vm = vms[int(sid.split(':')[1])] if int(sid.split(':')[1]) in vms else vms[sid.split(':')[1]]
        assert resource['comment'] == 'deploystand:netlab:{0}@pve'.format(vm['pool'].split('-', 1)[1])
        assert resource['state'] == 'started'
    again = run(playbook, sim, tmp_path, DEPLOY)
    assert again.rc == 0 and again.changed_total == 0, again
    gone = run(playbook, sim, tmp_path, DESTROY)
    assert gone.rc == 0, gone
    after = sim.state()
    assert after['ha'] == before
    assert not [vm for vm in after['vms'].values() if 'stand-netlab' in vm['tags']]


def test_ha_on_local_storage_is_refused_by_the_plan(sim_factory, playbook, tmp_path):
    sim = sim_factory('sdn')
    before = sim.state()
    local = dict(SHARED, machines=[{'name': 'srv', 'template': 'linux-tpl', 'networks': ['lan']},
                                   {'name': 'web', 'template': 'linux-shared-tpl', 'networks': ['lan'], 'ha': True},
                                   {'name': 'cli', 'template': 'linux-tpl', 'networks': ['lan'], 'ha': False}])
    refused = run(playbook, sim, tmp_path, DEPLOY, stand=local)
    assert refused.rc != 0
    message = refused.failed[0]['result']['msg']
    assert 'stand.machines[0].ha: machine srv has disks on local storage local-lvm' in message, message
    assert 'machines[1]' not in message and 'machines[2]' not in message
    after = sim.state()
    assert after['ha'] == before['ha'] and sorted(after['users']) == sorted(before['users'])
    assert sorted(after['vms']) == sorted(before['vms'])
