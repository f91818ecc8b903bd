"""StandHa's placement flow on a small fake cluster: which rules or groups are made, changed and deleted, in an
order PVE accepts (a resource in one node-affinity rule only; a group in use cannot go), foreign ids refused
before any write, check mode writing nothing."""
import pytest

from ansible_collections.deploystand.proxmox.plugins.module_utils.ops.ha import HaRefused, StandHa
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.client import PERMISSION, PveApiError

S1, S2 = 'student1@pve', 'student2@pve'


class FakeHa(object):
    """Just the HA endpoints StandHa calls, with the two PVE refusals its order must respect."""

    def __init__(self, major, vms, resources=None, rules=None, groups=None):
        self.major = major
        self.vms = vms                      # [(vmid, pool, name)]
        self.resources = dict(resources or {})
        self.rules = dict(rules or {})
        self.groups = dict(groups or {})
        self.writes = []

    def release(self):
        return (self.major, 0)

    def get(self, path, **params):
        if path == 'cluster/resources':
            return [{'type': 'qemu', 'vmid': v, 'pool': p, 'name': n, 'tags': 'stand-netlab'} for v, p, n in self.vms]
        if path == 'cluster/ha/resources':
            return [dict(r, sid=sid) for sid, r in self.resources.items()]
        if path == 'cluster/ha/rules':
            return [dict(r, rule=rid, resources=','.join(r['resources'])) for rid, r in self.rules.items()]
        if path == 'cluster/ha/groups':
            if self.major >= 9 and not self.groups:
                raise PveApiError('cannot index groups: ha groups have been migrated to rules')
            return [dict(g, group=gid) for gid, g in self.groups.items()]
        raise AssertionError(path)

    get_once = get

    def _single_reference(self, rid, resources):
        for other, rule in self.rules.items():
            assert other == rid or not set(rule['resources']) & set(resources), \
                'a resource in two node-affinity rules: %s and %s' % (rid, other)

    def post(self, path, **params):
        self.writes.append(('post', path, params))
        if path == 'cluster/ha/resources':
            self.resources[params.pop('sid')] = params
        elif path == 'cluster/ha/rules':
            rid, resources = params.pop('rule'), params.pop('resources').split(',')
            self._single_reference(rid, resources)
            self.rules[rid] = dict(params, resources=resources)
        elif path == 'cluster/ha/groups':
            self.groups[params.pop('group')] = params

    def put(self, path, **params):
        self.writes.append(('put', path, params))
        kind, name = path.split('/')[2:4]
        if kind == 'rules':
            if 'resources' in params:
                params['resources'] = params['resources'].split(',')
                self._single_reference(name, params['resources'])
            self.rules[name].update(params)
        else:
            getattr(self, kind)[name].update(params)

    def delete(self, path, **params):
        self.writes.append(('delete', path, params))
        kind, name = path.split('/')[2:4]
        if kind == 'groups':
            assert not [s for s, r in self.resources.items() if r.get('group') == name], 'group in use'
        getattr(self, kind).pop(name)


def machine(vmid, userid, node):
    user = userid.split('@')[0]
    return {'userid': userid, 'pool': 'netlab-' + user, 'name': '%s-srv%d' % (user, vmid), 'node': node,
            'marker': 'deploystand:netlab:' + userid}


def vms_of(machines):
    return [(int(m['name'].rsplit('srv', 1)[1]), m['pool'], m['name']) for m in machines]


def run(client, machines, userids=(S1, S2), state='present', check=False):
    params = {'stand': 'netlab', 'machines': machines, 'userids': list(userids), 'start': True, 'state': state}
    return StandHa(client, params, check_mode=check).run()


def marked_rule(resources, node='pve1'):
    return {'type': 'node-affinity', 'resources': resources, 'nodes': node, 'strict': 0,
            'comment': 'deploystand:netlab HA placement of stand netlab on ' + node}


def test_pve9_one_rule_per_node_then_nothing_to_do():
    machines = [machine(101, S1, 'pve1'), machine(102, S2, 'pve2'), machine(103, S2, 'pve2')]
    client = FakeHa(9, vms_of(machines))
    first = run(client, machines)
    assert first['placements_added'] == ['deploystand_netlab_pve1', 'deploystand_netlab_pve2']
    assert client.rules['deploystand_netlab_pve2']['resources'] == ['vm:102', 'vm:103']
    assert client.rules['deploystand_netlab_pve1']['nodes'] == 'pve1'
    # resources first: PVE refuses a rule of unmanaged resources
    assert [w[1] for w in client.writes[:3]] == ['cluster/ha/resources'] * 3
    client.writes = []
    again = run(client, machines)
    assert again['changed'] is False and client.writes == []


def test_pve9_a_moved_resource_leaves_its_old_rule_before_joining_the_new_one():
    machines = [machine(101, S1, 'pve1'), machine(102, S1, 'pve1')]
    client = FakeHa(9, vms_of(machines))
    run(client, machines)
    moved = [machine(101, S1, 'pve1'), machine(102, S1, 'pve2')]
    result = run(client, moved)
    assert client.rules['deploystand_netlab_pve1']['resources'] == ['vm:101']
    assert client.rules['deploystand_netlab_pve2']['resources'] == ['vm:102']
    assert result['placements_changed'] == ['deploystand_netlab_pve1']
    assert result['placements_added'] == ['deploystand_netlab_pve2']


def test_pve9_a_class_change_keeps_other_students_and_deletes_an_emptied_rule():
    machines = [machine(101, S1, 'pve1'), machine(102, S2, 'pve1'), machine(103, S2, 'pve2')]
    client = FakeHa(9, vms_of(machines))
    run(client, machines)
    # ha dropped for student2's machines, in a run scoped to student2 only: student1 keeps its place
    result = run(client, [], userids=[S2])
    assert sorted(result['removed']) == ['vm:102', 'vm:103']
    assert client.rules == {'deploystand_netlab_pve1': marked_rule(['vm:101'])}
    assert result['placements_removed'] == ['deploystand_netlab_pve2']


def test_absent_takes_resources_out_of_rules_then_removes_rules_and_resources():
    machines = [machine(101, S1, 'pve1'), machine(102, S2, 'pve1')]
    client = FakeHa(9, vms_of(machines))
    run(client, machines)
    half = run(client, [], userids=[S1], state='absent')
    assert half['removed'] == ['vm:101'] and client.rules['deploystand_netlab_pve1']['resources'] == ['vm:102']
    rest = run(client, [], userids=[S2], state='absent')
    assert rest['placements_removed'] == ['deploystand_netlab_pve1']
    assert client.rules == {} and client.resources == {}


def test_a_foreign_rule_with_the_stands_id_is_refused_before_any_write():
    machines = [machine(101, S1, 'pve1')]
    foreign = {'type': 'node-affinity', 'resources': ['vm:100'], 'nodes': 'pve1', 'comment': 'mine'}
    client = FakeHa(9, vms_of(machines), resources={'vm:100': {'comment': 'gateway'}},
                    rules={'deploystand_netlab_pve1': foreign})
    with pytest.raises(HaRefused) as refused:
        run(client, machines)
    assert "HA rule deploystand_netlab_pve1 exists without the marker deploystand:netlab (comment 'mine')" \
        in str(refused.value)
    assert client.writes == []
    # destroy never touches it either
    assert run(client, [], state='absent')['changed'] is False and client.writes == []


def test_check_mode_predicts_and_writes_nothing():
    machines = [machine(101, S1, 'pve1')]
    client = FakeHa(8, vms_of(machines))
    result = run(client, machines, check=True)
    assert result['changed'] and result['added'] == ['vm:101']
    assert result['placements_added'] == ['deploystand_netlab_pve1'] and client.writes == []


def test_pve8_group_first_resources_name_it_and_an_unused_group_goes_after_them():
    machines = [machine(101, S1, 'pve1'), machine(102, S2, 'pve2')]
    client = FakeHa(8, vms_of(machines), resources={'vm:100': {'comment': 'gateway', 'group': 'teachers'}},
                    groups={'teachers': {'nodes': 'pve1'}})
    run(client, machines)
    assert client.groups['deploystand_netlab_pve2'] == {
        'nodes': 'pve2', 'restricted': 0, 'nofailback': 0,
        'comment': 'deploystand:netlab HA placement of stand netlab on pve2'}
    assert client.resources['vm:102']['group'] == 'deploystand_netlab_pve2'
    client.writes = []
    assert run(client, machines)['changed'] is False and client.writes == []
    gone = run(client, [], state='absent')
    assert sorted(gone['placements_removed']) == ['deploystand_netlab_pve1', 'deploystand_netlab_pve2']
    assert sorted(client.groups) == ['teachers'] and sorted(client.resources) == ['vm:100']


def test_pve8_an_existing_resource_without_group_is_regrouped():
    machines = [machine(101, S1, 'pve1')]
    client = FakeHa(8, vms_of(machines), resources={'vm:101': {'comment': 'deploystand:netlab:' + S1}})
    result = run(client, machines)
    assert result['regrouped'] == ['vm:101'] and client.resources['vm:101']['group'] == 'deploystand_netlab_pve1'


def test_pve9_with_groups_not_yet_migrated_is_refused_before_any_write():
    machines = [machine(101, S1, 'pve1')]
    client = FakeHa(9, vms_of(machines), groups={'teachers': {'nodes': 'pve1'}})
    with pytest.raises(HaRefused) as refused:
        run(client, machines)
    assert 'still has the HA groups teachers' in str(refused.value) and client.writes == []


def test_pve9_a_stand_resource_an_admin_put_in_a_rule_keeps_that_placement():
    machines = [machine(101, S1, 'pve1'), machine(102, S1, 'pve1')]
    admin = {'type': 'node-affinity', 'resources': ['vm:102'], 'nodes': 'pve3', 'comment': 'keep it on pve3'}
    client = FakeHa(9, vms_of(machines), rules={'pinned': admin})
    result = run(client, machines)
    assert client.rules['deploystand_netlab_pve1']['resources'] == ['vm:101']
    assert client.rules['pinned'] == admin
    assert 'vm:102 is in the node-affinity rule pinned, which the stand did not make' in ' '.join(result['foreign'])


class NoHaAudit(FakeHa):
    def get(self, path, **params):
        if path.startswith('cluster/ha/'):
            raise PveApiError('Permission check failed (/, Sys.Audit)', kind=PERMISSION, status=403)
        return FakeHa.get(self, path, **params)


def test_a_deploy_without_ha_by_an_identity_that_cannot_read_ha_does_nothing_but_one_with_ha_fails():
    client = NoHaAudit(9, [])
    result = run(client, [])
    assert result['changed'] is False and 'Sys.Audit' in result['unreadable']
    with pytest.raises(PveApiError):
        run(NoHaAudit(9, vms_of([machine(101, S1, 'pve1')])), [machine(101, S1, 'pve1')])


def has_objects(client):
    return StandHa(client, {'stand': 'netlab'}).has_objects()


@pytest.mark.parametrize('major', [8, 9])
def test_the_plan_finds_the_stands_ha_objects_or_says_there_are_none(major):
    # none at all, or only an admin's resource and placement: the playbooks may skip the HA step
    admin = {'type': 'node-affinity', 'resources': ['vm:100'], 'nodes': 'pve1', 'comment': 'gateway'}
    placements = {'rules': {'gateway': admin}} if major >= 9 else {'groups': {'gateway': {'nodes': 'pve1'}}}
    assert has_objects(FakeHa(major, [])) is False
    assert has_objects(FakeHa(major, [], resources={'vm:100': {'comment': 'gateway'}}, **placements)) is False
    # a resource with a student's marker of the stand (another stand's does not count)
    assert has_objects(FakeHa(major, [], resources={'vm:101': {'comment': 'deploystand:netlab:' + S1}})) is True
    assert has_objects(FakeHa(major, [], resources={'vm:101': {'comment': 'deploystand:other:' + S1}})) is False
    # a placement of the stand's form, made by the stand or a look-alike: the HA step runs (and reports it)
    ours = {'type': 'node-affinity', 'resources': ['vm:101'], 'nodes': 'pve2', 'comment': 'mine'}
    kind = 'rules' if major >= 9 else 'groups'
    assert has_objects(FakeHa(major, [], **{kind: {'deploystand_netlab_pve2': ours}})) is True


def test_an_identity_that_cannot_read_ha_has_no_ha_objects_to_find():
    assert has_objects(NoHaAudit(9, [])) is False
