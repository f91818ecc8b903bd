"""stand.network mode sdn (issue 17) through the real playbooks on the simulator's `sdn` scenario: a VXLAN
stand across nodes, one apply per run that changes something and none otherwise, destroy back to the cluster
as it was, what a student may do on VNets, and the SDN faults converging on the next run."""
import os

import pytest
import yaml

from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.client import (
    PERMISSION, PveApiError, PveClient,
)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEPLOY = os.path.join(ROOT, 'playbooks', 'deploy_stand.yml')
DESTROY = os.path.join(ROOT, 'playbooks', 'destroy_stand.yml')
PASSWORD = 'Student-pass-1'
CLASS = [{'name': 'student1@pve', 'password': PASSWORD}, {'name': 'student2@pve', 'password': PASSWORD}]
MACHINES = [{'name': 'h{0}'.format(n), 'template': 'linux-tpl', 'networks': ['lan']} for n in (1, 2, 3)]
STAND = {'name': 'netlab', 'vmid_range': [20000, 20999], 'machines': MACHINES,
         'network': {'mode': 'sdn', 'zone': 'teach', 'vni_range': [5000, 5099]}}
APPLY = 'PUT /cluster/sdn'

pytestmark = pytest.mark.slow


def applied_draft(sim):
    """The scenario's `draft` VNet is a foreign pending change: apply it, as its admin would, so the cluster is
    clean before the stand (the test of the refusal keeps it pending)."""
    def commit(pve):
        pve.sdn_commit()
        for node in pve.nodes:
            pve.sdn_generate(node)
    sim.call(commit)


def applies(sim):
    return sim.counters()['requests'].get(APPLY, 0)


def run(playbook, sim, tmp_path, book, stand=STAND, users=CLASS, **extra):
    extra_vars = {'users': users, 'stand': stand, 'stand_report_dir': str(tmp_path / 'reports')}
    extra_vars.update(extra)
    return playbook(book, sim, extra_vars=extra_vars)


def stand_vnets(state, stand='netlab'):
    return dict((vid, v) for vid, v in state['sdn']['vnets'].items()
                if (v.get('alias') or '').startswith('deploystand:{0}:'.format(stand)))


def nics(vm):
    return sorted(v.split('bridge=')[1].split(',')[0] for k, v in vm['config'].items() if k.startswith('net'))


def comparable(state):
    """What destroy must give back: users, pools, ACLs, VMs, SDN zones and VNets (written and running)."""
    running = dict(state['sdn']['running'])
    running.pop('version', None)
    return {'users': sorted(state['users']), 'pools': sorted(state['pools']), 'acl': state['acl'],
            'vms': sorted(state['vms']), 'zones': state['sdn']['zones'], 'vnets': state['sdn']['vnets'],
            'running': running, 'pending': state['sdn']['pending'], 'lock': state['sdn']['lock']}


def test_vxlan_stand_spans_nodes_one_apply_then_none_and_destroy_restores(sim_factory, playbook, tmp_path):
    sim = sim_factory('sdn')
    applied_draft(sim)
    before = sim.state()
    sim.reset_counters()

    first = run(playbook, sim, tmp_path, DEPLOY)
    assert first.rc == 0, first
    assert applies(sim) == 1
    state = sim.state()
    vnets = stand_vnets(state)
    assert sorted(v['alias'] for v in vnets.values()) == ['deploystand:netlab:student1@pve:lan',
                                                          'deploystand:netlab:student2@pve:lan']
    assert all(len(vid) <= 8 and v['zone'] == 'teach' and 5000 <= v['tag'] <= 5099 for vid, v in vnets.items())
    mine = [vm for vm in state['vms'].values() if vm['pool'] == 'netlab-student1']
    assert len(mine) == 3
    nodes = sorted(set(vm['node'] for vm in mine))
    assert len(nodes) >= 2, 'one student on several nodes: {0}'.format(nodes)
    (vnet,) = [vid for vid, v in vnets.items() if 'student1@pve' in v['alias']]
    assert all(nics(vm) == [vnet] for vm in mine)
    assert all(vm['status'] == 'running' for vm in mine)
    # the same VNet on both nodes after the apply: one layer-2 network
    segments = set(sim.call(lambda pve, n: pve.segment(n, vnet), n) for n in nodes)
    assert segments == {'vxlan:{0}'.format(vnets[vnet]['tag'])}
    assert state['sdn']['lock'] is None and not state['sdn']['pending']

    sim.reset_counters()
    again = run(playbook, sim, tmp_path, DEPLOY)
    assert again.rc == 0, again
    assert again.changed_total == 0, [(t['task'], t['host']) for t in again.tasks if t['result'].get('changed')]
    assert applies(sim) == 0
    assert not any(k.startswith(('POST /cluster/sdn', 'DELETE /cluster/sdn')) for k in sim.counters()['requests'])

    gone = run(playbook, sim, tmp_path, DESTROY)
    assert gone.rc == 0, gone
    after = sim.state()
    assert comparable(after) == comparable(before)
    # foreign VNets, the look-alike of another stand's marker included, are untouched
    assert set(['teachnet', 'vnother1', 'officenet', 'draft']) <= set(after['sdn']['vnets'])


def test_network_change_adds_and_removes_vnets_and_moves_the_nics(sim_factory, playbook, tmp_path):
    sim = sim_factory('sdn')
    applied_draft(sim)
    assert run(playbook, sim, tmp_path, DEPLOY).rc == 0
    old = set(stand_vnets(sim.state()))
    changed = dict(STAND, machines=[dict(m, networks=['dmz']) for m in MACHINES])
    sim.reset_counters()
    second = run(playbook, sim, tmp_path, DEPLOY, stand=changed)
    assert second.rc == 0, second
    state = sim.state()
    vnets = stand_vnets(state)
    assert sorted(v['alias'].split(':')[-1] for v in vnets.values()) == ['dmz', 'dmz']
    assert not old & set(vnets)
    for vm in state['vms'].values():
        if vm['pool'] == 'netlab-student1':
            assert nics(vm) == [vid for vid, v in vnets.items() if 'student1@pve' in v['alias']]
    # adding before the VMs move, removing after: one apply each, nothing left up on the nodes
    assert applies(sim) == 2
    assert not any(n['kept'] for n in state['sdn']['nodes'].values())


def test_a_class_change_adds_vnets_in_one_apply_and_a_students_destroy_removes_its_own_in_one(
        sim_factory, playbook, tmp_path):
    sim = sim_factory('sdn')
    applied_draft(sim)
    assert run(playbook, sim, tmp_path, DEPLOY).rc == 0
    first = stand_vnets(sim.state())

    def owners(vnets):
        return sorted(v['alias'].split(':')[2] for v in vnets.values())
    assert owners(first) == ['student1@pve', 'student2@pve']
    # student3 joins, student2 is not in this list (kept, as every student left out of a class list)
    sim.reset_counters()
    joined = run(playbook, sim, tmp_path, DEPLOY, users=[CLASS[0], {'name': 'student3@pve', 'password': PASSWORD}])
    assert joined.rc == 0, joined
    after = stand_vnets(sim.state())
    assert applies(sim) == 1
    assert owners(after) == ['student1@pve', 'student2@pve', 'student3@pve']
    assert all(after[vid] == vnet for vid, vnet in first.items())     # the others' VNets kept their ids and tags
    # destroying student2 alone removes its VNet, the others stay: one apply
    sim.reset_counters()
    gone = run(playbook, sim, tmp_path, DESTROY, users=[CLASS[1]])
    assert gone.rc == 0, gone
    state = sim.state()
    assert applies(sim) == 1
    assert owners(stand_vnets(state)) == ['student1@pve', 'student3@pve']
    assert not any(vm['pool'] == 'netlab-student2' for vm in state['vms'].values())
    assert not any(n['kept'] for n in state['sdn']['nodes'].values())


def test_a_vlan_zone_carries_each_students_vnet_with_a_tag_of_the_range_across_nodes(sim_factory, playbook, tmp_path):
    """A VLAN zone (one tag per VNet on a VLAN-aware bridge of every node): the stand takes tags from tag_range,
    a student's machines may sit on several nodes and share its VNet's segment; re-run without apply."""
    sim = sim_factory('sdn')
    root = PveClient(sim.host, user='root@pam', password=sim.password, port=sim.port, ca_path=sim.cafile)
    root.post('cluster/sdn/zones', zone='labvlan', type='vlan', bridge='vmbr0')
    applied_draft(sim)      # the admin's zone (and the scenario's draft) applied, as before any stand
    before = sim.state()
    stand = dict(STAND, network={'mode': 'sdn', 'zone': 'labvlan', 'tag_range': [200, 209]})
    sim.reset_counters()
    first = run(playbook, sim, tmp_path, DEPLOY, stand=stand)
    assert first.rc == 0, first
    assert applies(sim) == 1
    state = sim.state()
    vnets = stand_vnets(state)
    assert len(vnets) == 2 and all(v['zone'] == 'labvlan' and 200 <= v['tag'] <= 209 for v in vnets.values())
    assert len(set(v['tag'] for v in vnets.values())) == 2
    mine = [vm for vm in state['vms'].values() if vm['pool'] == 'netlab-student1']
    (vnet,) = [vid for vid, v in vnets.items() if 'student1@pve' in v['alias']]
    assert all(nics(vm) == [vnet] for vm in mine)
    segments = set(sim.call(lambda pve, n: pve.segment(n, vnet), vm['node']) for vm in mine)
    assert len(segments) == 1 and None not in segments, segments
    sim.reset_counters()
    again = run(playbook, sim, tmp_path, DEPLOY, stand=stand)
    assert again.rc == 0 and again.changed_total == 0 and applies(sim) == 0, again
    assert run(playbook, sim, tmp_path, DESTROY, stand=stand).rc == 0
    assert comparable(sim.state())['vnets'] == comparable(before)['vnets']


def test_a_stand_switched_from_bridges_to_sdn_moves_its_nics_and_leaves_no_bridge_or_grant_behind(
        sim_factory, playbook, tmp_path):
    sim = sim_factory('sdn')
    applied_draft(sim)
    bridged = dict(STAND)
    bridged.pop('network')
    assert run(playbook, sim, tmp_path, DEPLOY, stand=bridged).rc == 0
    old = sim.state()
    old_bridges = set(nic for vm in old['vms'].values() if vm['pool'] == 'netlab-student1' for nic in nics(vm))
    assert old_bridges and not old_bridges & set(old['sdn']['vnets'])

    switched = run(playbook, sim, tmp_path, DEPLOY)
    assert switched.rc == 0, switched
    state = sim.state()
    vnets = stand_vnets(state)
    (vnet,) = [vid for vid, v in vnets.items() if 'student1@pve' in v['alias']]
    assert all(nics(vm) == [vnet] for vm in state['vms'].values() if vm['pool'] == 'netlab-student1')
    # the node bridges of the bridges mode are gone, and so are the students' grants on them
    for node, network in state['networks'].items():
        assert not old_bridges & set(network['running']) and network['staged'] is None, node
    assert not [entry for entry in state['acl'] if any(entry['path'].endswith('/' + b) for b in old_bridges)]
    again = run(playbook, sim, tmp_path, DEPLOY)
    assert again.rc == 0 and again.changed_total == 0, again


def test_a_stand_spread_over_nodes_is_refused_back_to_bridges_mode_with_nothing_changed(sim_factory, playbook, tmp_path):
    """Node bridges exist on one node: a student whose VXLAN machines sit on several nodes cannot go back to
    mode bridges (its NICs would point at bridges that are not on their node); one message, nothing written."""
    sim = sim_factory('sdn')
    applied_draft(sim)
    assert run(playbook, sim, tmp_path, DEPLOY).rc == 0
    before = sim.state()
    bridged = dict(STAND)
    bridged.pop('network')
    refused = run(playbook, sim, tmp_path, DEPLOY, stand=bridged)
    assert refused.rc != 0
    message = refused.result('deploystand.proxmox.stand_plan : Stand input problems are reported', 'localhost')['msg']
    assert 'with stand.network mode bridges' in message and 'nothing was changed' in message, message
    after = sim.state()
    assert (after['vms'], after['acl'], after['networks']) == (before['vms'], before['acl'], before['networks'])


def test_foreign_pending_sdn_change_blocks_until_allowed(sim_factory, playbook, tmp_path):
    sim = sim_factory('sdn')
    before = sim.state()
    refused = run(playbook, sim, tmp_path, DEPLOY)
    assert refused.rc != 0
    failed = refused.failed[0]['result']['msg']
    assert 'vnet draft (new)' in failed and 'stand_sdn_apply_foreign_pending' in failed
    state = sim.state()
    assert state['sdn']['vnets'] == before['sdn']['vnets'] and state['sdn']['lock'] is None
    allowed = run(playbook, sim, tmp_path, DEPLOY, stand_sdn_apply_foreign_pending=True)
    assert allowed.rc == 0, allowed
    assert len(stand_vnets(sim.state())) == 2 and not sim.state()['sdn']['pending']


def test_student_uses_only_its_own_vnet(sim_factory, playbook, tmp_path):
    sim = sim_factory('sdn')
    applied_draft(sim)
    assert run(playbook, sim, tmp_path, DEPLOY).rc == 0
    state = sim.state()
    vnets = stand_vnets(state)
    mine = [vid for vid, v in vnets.items() if 'student1@pve' in v['alias']]
    theirs = [vid for vid, v in vnets.items() if 'student2@pve' in v['alias']]
    student = PveClient(sim.host, user='student1@pve', password=PASSWORD, port=sim.port, ca_path=sim.cafile)
    assert sorted(v['vnet'] for v in student.get('cluster/sdn/vnets')) == mine
    vmid, vm = min(((k, v) for k, v in state['vms'].items() if v['pool'] == 'netlab-student1'),
                   key=lambda item: item[1]['name'])
    path = 'nodes/{0}/qemu/{1}/config'.format(vm['node'], vmid)
    with pytest.raises(PveApiError) as refused:
        student.put(path, net5='virtio,bridge={0}'.format(theirs[0]))
    assert refused.value.kind == PERMISSION and theirs[0] in refused.value.message
    student.put(path, net5='virtio,bridge={0}'.format(mine[0]))      # its own VNet: allowed
    pending = student.get('nodes/{0}/qemu/{1}/pending'.format(vm['node'], vmid))
    assert any(item['key'] == 'net5' and mine[0] in str(item.get('pending', item.get('value')))
               for item in pending), pending


def test_sdn_mode_without_sdn_allocate_is_refused_by_the_plan_and_works_with_the_role(sim_factory, playbook, tmp_path):
    """The automation role of playbooks/automation_role.yml, granted on its paths, deploys a stand in mode sdn;
    without SDN.Allocate the plan refuses naming it, before anything is written."""
    sim = sim_factory('sdn')
    applied_draft(sim)
    role = yaml.safe_load(open(os.path.join(ROOT, 'playbooks', 'automation_role.yml')))[0]['vars']
    token = 'deploystand@pve!ansible'

    def setup(pve, privileges):
        pve.lab_roles['DeployStandAutomation'] = set(privileges)
        pve.add_user('deploystand@pve')
        secret = pve.add_token('deploystand@pve', 'ansible', privsep=True)
        for path in role['automation_role_paths']:
            pve.set_acl(path, 'DeployStandAutomation', 'deploystand@pve', 'user', 1)
            pve.set_acl(path, 'DeployStandAutomation', token, 'token', 1)
        return secret

    secret = sim.call(setup, [p for p in role['automation_role_privs'] if p != 'SDN.Allocate'])
    env = dict((k, v) for k, v in sim.env.items() if k not in ('PROXMOX_USER', 'PROXMOX_PASSWORD'))
    env.update(PROXMOX_TOKEN_ID=token, PROXMOX_TOKEN_SECRET=secret)
    before = sim.state()
    extra = {'users': CLASS, 'stand': STAND, 'stand_report_dir': str(tmp_path / 'reports')}
    as_token = type('TokenEnv', (), {'env': env})       # what the playbook fixture reads of a sim
    refused = playbook(DEPLOY, as_token, extra_vars=extra)
    assert refused.rc != 0
    message = refused.failed[0]['result']['msg']
    assert 'lacks SDN.Allocate on /sdn' in message, message
    after = sim.state()
    assert after['sdn'] == before['sdn'] and sorted(after['users']) == sorted(before['users'])
    sim.call(lambda pve: pve.lab_roles['DeployStandAutomation'].add('SDN.Allocate'))
    done = playbook(DEPLOY, as_token, extra_vars=extra)
    assert done.rc == 0, done
    assert len(stand_vnets(sim.state())) == 2


@pytest.mark.parametrize('fault', ['sdn_apply_fail_rate', 'sdn_foreign_lock', 'sdn_reload_fail_rate'])
def test_sdn_faults_converge_on_the_next_run(sim_factory, playbook, tmp_path, fault):
    sim = sim_factory('sdn')
    applied_draft(sim)
    sim.set_faults(**{fault: 1.0})
    broken = run(playbook, sim, tmp_path, DEPLOY)
    assert broken.rc != 0
    state = sim.state()
    if fault == 'sdn_foreign_lock':
        assert not stand_vnets(state)            # nothing written without the lock
    else:
        assert state['sdn']['lock'] is None      # our lock released after the failed apply
    if fault != 'sdn_reload_fail_rate':
        # the VNet step fails before any VM is made; a failed node reload is only a warning of the apply task
        assert not [vm for vm in state['vms'].values() if vm['pool'] and vm['pool'].startswith('netlab-')]
    sim.set_faults(**{fault: 0.0})
    fixed = run(playbook, sim, tmp_path, DEPLOY)
    assert fixed.rc == 0, fixed
    state = sim.state()
    assert len(stand_vnets(state)) == 2 and not state['sdn']['pending'] and state['sdn']['lock'] is None
    assert all(n['version'] == state['sdn']['running']['version'] for n in state['sdn']['nodes'].values())


def test_check_mode_predicts_every_vnet_change_without_lock_or_apply(sim_factory, playbook, tmp_path):
    sim = sim_factory('sdn')
    applied_draft(sim)
    before = sim.state()
    sim.reset_counters()
    extra = {'users': CLASS, 'stand': STAND, 'stand_report_dir': str(tmp_path / 'reports')}
    checked = playbook(DEPLOY, sim, extra_vars=extra, check=True)
    assert checked.rc == 0, checked
    predicted = checked.result("The stand's VNets exist (one SDN apply when they changed)", 'localhost')
    assert predicted['changed'] and len(predicted['created']) == 2 and predicted['applied']
    requests = sim.counters()['requests']
    assert not [k for k in requests if k.startswith(('POST /cluster/sdn', 'PUT /cluster/sdn', 'DELETE /cluster/sdn'))]
    assert sim.state()['sdn'] == before['sdn']


def test_pve8_own_zone_without_lock_is_made_and_removed_with_the_stand(sim_factory, playbook, tmp_path):
    """PVE 8 has no SDN lock: the run says what is not protected; the stand's own zone (create_zone) is made with
    its VNets in the one apply and removed by destroy once empty."""
    sim = sim_factory({'base': 'default', 'pve_version': 8})
    before = sim.state()
    own = dict(STAND, network={'mode': 'sdn', 'vni_range': [5000, 5099], 'create_zone': {
        'type': 'vxlan', 'peers': ['192.0.2.11', '192.0.2.12', '192.0.2.13']}})
    sim.reset_counters()
    first = run(playbook, sim, tmp_path, DEPLOY, stand=own)
    assert first.rc == 0, first
    result = first.result("The stand's VNets exist (one SDN apply when they changed)", 'localhost')
    assert result['lock'] == 'none (PVE 8)' and 'no SDN lock' in result['unprotected']
    assert any('no SDN lock' in w for w in result.get('warnings', []))
    state = sim.state()
    (zone,) = state['sdn']['zones']
    assert len(zone) == 8 and state['sdn']['zones'][zone]['type'] == 'vxlan'
    assert len(stand_vnets(state)) == 2 and applies(sim) == 1
    sim.reset_counters()
    again = run(playbook, sim, tmp_path, DEPLOY, stand=own)
    assert again.rc == 0 and again.changed_total == 0 and applies(sim) == 0, again
    gone = run(playbook, sim, tmp_path, DESTROY, stand=own)
    assert gone.rc == 0, gone
    after = sim.state()
    assert after['sdn']['zones'] == {} and after['sdn']['vnets'] == {} and not after['sdn']['pending']
    assert sorted(after['users']) == sorted(before['users']) and sorted(after['vms']) == sorted(before['vms'])
