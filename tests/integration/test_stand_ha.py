"""stand.ha (issue 17) through the real playbooks on the simulator's `sdn` scenario (which already has a foreign
HA resource, vm:100 with its rule): the stand's VMs become marked HA resources, a re-run changes nothing,
destroy removes exactly those, and machines on local storage are refused by the plan.

Node placement: one node-affinity rule per stand and node on PVE 9, one HA group per stand and node on PVE 8
(id deploystand_<stand>_<node>, comment with the marker deploystand:<stand>); look-alike and unmarked rules
and groups are never touched, and one that holds the stand's id is refused before anything is written."""
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEPLOY = os.path.join(ROOT, 'playbooks', 'deploy_stand.yml')
DESTROY = os.path.join(ROOT, 'playbooks', 'destroy_stand.yml')
AUTOMATION_ROLE = os.path.join(ROOT, 'playbooks', 'automation_role.yml')
CLASS = ['student1@pve', 'student2@pve']
TWO_NODES = ['student1@pve', {'name': 'student2@pve', 'node': 'pve2'}]      # the placement puts student1 on pve1
SHARED = {'name': 'netlab', 'ha': True, 'vmid_range': [21000, 21999],
          'machines': [{'name': 'srv', 'template': 'linux-shared-tpl', 'networks': ['lan']}]}

MARKER = 'deploystand:netlab'
# look-alikes of the stand's placements: another stand's id with netlab's marker, netlab's id form for a node
# the stand never uses, without the marker. Disabled rules: vm:100 is already in the gateway rule.
LOOK_ALIKE_RULES = [
    {'rule': 'deploystand_netlab2_pve1', 'type': 'node-affinity', 'resources': ['vm:100'], 'nodes': ['pve1'],
     'comment': MARKER + ' hand-made', 'disable': 1},
    {'rule': 'deploystand_netlab_pve9', 'type': 'node-affinity', 'resources': ['vm:100'], 'nodes': ['pve1'],
     'comment': 'hand-made', 'disable': 1},
]
GATEWAY = {'sid': 'vm:100', 'state': 'started', 'comment': 'gateway of the teachers'}

pytestmark = pytest.mark.slow


def run(playbook, sim, tmp_path, book, stand=SHARED, users=CLASS):
    return playbook(book, sim, extra_vars={'users': users, 'stand': stand,
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


def stand_vm_nodes(state):
    """{sid: node} of the stand's VMs."""
    return dict(('vm:{0}'.format(vmid), vm['node']) for vmid, vm in state['vms'].items()
                if 'stand-netlab' in vm['tags'])


def by_node(sid_nodes):
    out = {}
    for sid, node in sid_nodes.items():
        out.setdefault(node, []).append(sid)
    return dict((node, sorted(sids)) for node, sids in out.items())


def pve9_scenario(rules):
    return {'base': 'default', 'pve_version': 9,
            'ha': {'resources': [GATEWAY],
                   'rules': [{'rule': 'gateway', 'type': 'node-affinity', 'resources': ['vm:100'],
                              'nodes': ['pve1'], 'comment': 'keep the gateway on pve1'}] + rules}}


def test_pve9_one_marked_node_affinity_rule_per_node_and_destroy_leaves_look_alikes(sim_factory, playbook, tmp_path):
    sim = sim_factory(pve9_scenario(LOOK_ALIKE_RULES))
    before = sim.state()['ha']
    predicted = playbook(DEPLOY, sim, extra_vars={'users': TWO_NODES, 'stand': SHARED,
                                                  'stand_report_dir': str(tmp_path / 'reports')}, check=True)
    assert predicted.rc == 0, predicted
    assert sim.state()['ha'] == before      # check mode writes nothing
    first = run(playbook, sim, tmp_path, DEPLOY, users=TWO_NODES)
    assert first.rc == 0, first
    state = sim.state()
    placed = by_node(stand_vm_nodes(state))
    assert sorted(placed) == ['pve1', 'pve2'], placed
    ours = dict((rid, rule) for rid, rule in state['ha']['rules'].items() if rid.startswith('deploystand_netlab_')
                and rid != 'deploystand_netlab_pve9')
    assert sorted(ours) == sorted('deploystand_netlab_' + node for node in placed)
    for node, sids in placed.items():
        rule = ours['deploystand_netlab_' + node]
        assert rule['type'] == 'node-affinity' and sorted(rule['resources']) == sids
        assert rule['nodes'] == node and not int(rule.get('strict') or 0)
        assert MARKER in rule['comment'].split()
    for look_alike in ('deploystand_netlab2_pve1', 'deploystand_netlab_pve9', 'gateway'):
        assert state['ha']['rules'][look_alike] == before['rules'][look_alike]
    again = run(playbook, sim, tmp_path, DEPLOY, users=TWO_NODES)
    assert again.rc == 0 and again.changed_total == 0, again
    gone = run(playbook, sim, tmp_path, DESTROY, users=TWO_NODES)
    assert gone.rc == 0, gone
    assert sim.state()['ha'] == before


def test_pve9_a_rule_holding_the_stands_id_without_marker_is_refused_and_untouched(sim_factory, playbook, tmp_path):
    squatters = [{'rule': 'deploystand_netlab_' + node, 'type': 'node-affinity', 'resources': ['vm:100'],
                  'nodes': [node], 'comment': 'made by hand', 'disable': 1} for node in ('pve1', 'pve2', 'pve3')]
    sim = sim_factory(pve9_scenario(squatters))
    before = sim.state()['ha']
    refused = run(playbook, sim, tmp_path, DEPLOY)
    assert refused.rc != 0
    message = refused.failed[0]['result']['msg']
    assert message.startswith('HA placement refused, nothing was changed: HA rule deploystand_netlab_pve'), message
    assert 'without the marker deploystand:netlab' in message and 'Traceback' not in message
    assert sim.state()['ha'] == before


def test_pve8_one_marked_group_per_node_and_destroy_leaves_foreign_groups(sim_factory, playbook, tmp_path):
    foreign_groups = [
        {'group': 'teachers', 'nodes': ['pve1'], 'comment': 'the gateway stays on pve1'},
        {'group': 'deploystand_netlab2_pve1', 'nodes': ['pve1'], 'comment': MARKER},
        {'group': 'deploystand_netlab_pve9', 'nodes': ['pve2'], 'comment': 'hand-made'},
    ]
    sim = sim_factory({'base': 'default', 'pve_version': 8,
                       'ha': {'resources': [dict(GATEWAY, group='teachers')], 'groups': foreign_groups}})
    before = sim.state()['ha']
    first = run(playbook, sim, tmp_path, DEPLOY, users=TWO_NODES)
    assert first.rc == 0, first
    state = sim.state()
    sid_nodes = stand_vm_nodes(state)
    assert sorted(set(sid_nodes.values())) == ['pve1', 'pve2'], sid_nodes
    for sid, node in sid_nodes.items():
        assert state['ha']['resources'][sid]['group'] == 'deploystand_netlab_' + node
    ours = dict((gid, g) for gid, g in state['ha']['groups'].items() if gid not in before['groups'])
    assert sorted(ours) == sorted('deploystand_netlab_' + node for node in set(sid_nodes.values()))
    for gid, group in ours.items():
        assert group['nodes'] == gid.rsplit('_', 1)[1]
        assert not int(group.get('restricted') or 0) and not int(group.get('nofailback') or 0)
        assert MARKER in group['comment'].split()
    assert dict((g, state['ha']['groups'][g]) for g in before['groups']) == before['groups']
    again = run(playbook, sim, tmp_path, DEPLOY, users=TWO_NODES)
    assert again.rc == 0 and again.changed_total == 0, again
    gone = run(playbook, sim, tmp_path, DESTROY, users=TWO_NODES)
    assert gone.rc == 0, gone
    assert sim.state()['ha'] == before


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


class TokenOnly(object):
    """The connection of the automation token alone (as `. reports/automation-token.env` gives it)."""

    def __init__(self, sim, token_file):
        values = dict(re.findall(r"^export (\w+)='?([^'\n]*)'?$", token_file.read_text(), re.M))
        self.env = dict((k, v) for k, v in sim.env.items() if k not in ('PROXMOX_USER', 'PROXMOX_PASSWORD'))
        self.env.update(PROXMOX_TOKEN_ID=values['PROXMOX_TOKEN_ID'], PROXMOX_TOKEN_SECRET=values['PROXMOX_TOKEN_SECRET'])


def test_the_automation_token_needs_the_ha_role_on_root_alone(sim_factory, playbook, tmp_path):
    sim = sim_factory('sdn')
    token_file = tmp_path / 'automation-token.env'
    made = playbook(AUTOMATION_ROLE, sim, extra_vars={'automation_token_file': str(token_file)})
    assert made.rc == 0, made
    token = TokenOnly(sim, token_file)
    before = sim.state()
    refused = run(playbook, token, tmp_path, DEPLOY)
    assert refused.rc != 0
    message = refused.failed[0]['result']['msg']
    assert 'lacks Sys.Console on / (create, change and delete' in message, message
    assert sorted(sim.state()['vms']) == sorted(before['vms'])        # refused by the plan: nothing made

    ha_role = playbook(AUTOMATION_ROLE, sim, extra_vars={'automation_token_file': str(token_file),
                                                          'automation_ha': True})
    assert ha_role.rc == 0, ha_role
    state = sim.state()
    assert sorted(state['roles']['DeployStandHA']) == ['Sys.Audit', 'Sys.Console']
    on_root = sorted((e['path'], e['type'], int(e['propagate'])) for e in state['acl'] if e['roleid'] == 'DeployStandHA')
    assert on_root == [('/', 'token', 0), ('/', 'user', 0)]
    token = TokenOnly(sim, token_file)          # the same token, kept
    first = run(playbook, token, tmp_path, DEPLOY)
    assert first.rc == 0, first
    assert [rid for rid in sim.state()['ha']['rules'] if rid.startswith('deploystand_netlab_')]
    gone = run(playbook, token, tmp_path, DESTROY)
    assert gone.rc == 0, gone
    assert sim.state()['ha'] == before['ha']


def stand_rules(state):
    return dict((rid, sorted(rule['resources'])) for rid, rule in state['ha']['rules'].items()
                if rid.startswith('deploystand_netlab_') and rid != 'deploystand_netlab_pve9')


THIRD = {'name': 'student3@pve', 'node': 'pve2'}


def test_pve9_class_change_moves_resources_in_and_out_of_the_rules(sim_factory, playbook, tmp_path):
    sim = sim_factory(pve9_scenario(LOOK_ALIKE_RULES))
    before = sim.state()['ha']
    first = run(playbook, sim, tmp_path, DEPLOY)
    assert first.rc == 0, first
    # student3 asks for pve2: the class now has machines on two nodes
    bigger = playbook(DEPLOY, sim, extra_vars={'users': CLASS + [THIRD], 'stand': SHARED,
                                               'stand_report_dir': str(tmp_path / 'reports')})
    assert bigger.rc == 0, bigger
    state = sim.state()
    placed = by_node(stand_vm_nodes(state))
    assert len(sum(placed.values(), [])) == 3 and sorted(placed) == ['pve1', 'pve2'], placed
    assert stand_rules(state) == dict(('deploystand_netlab_' + node, sids) for node, sids in placed.items())
    # ha switched off for the class: the resources go and every rule the stand made with them
    no_ha = playbook(DEPLOY, sim, extra_vars={'users': CLASS + [THIRD], 'stand': dict(SHARED, ha=False),
                                              'stand_report_dir': str(tmp_path / 'reports')})
    assert no_ha.rc == 0, no_ha
    assert sim.state()['ha'] == before
