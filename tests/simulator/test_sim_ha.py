"""HA resources, rules and groups (pve-ha-manager API2/HA/*.pm; docs/simulator.md, HA)."""
import time

import pytest
from proxmoxer.core import ResourceException

from sim_helpers import client, raw, wait

MARK = 'deploystand:lab:st1@pve'


def clone(api, newid, source=9100):
    wait(api, 'pve1', api.nodes('pve1').qemu(source).clone.post(newid=newid, name='m{0}'.format(newid)))


def test_resource_with_a_marker_and_the_crm_starts_the_vm(sim, root):
    clone(root, 500)
    root.cluster.ha.resources.post(sid='vm:500', comment=MARK)
    resource = root.cluster.ha.resources('vm:500').get()
    assert (resource['sid'], resource['state'], resource['comment'], resource['type']) == \
        ('vm:500', 'started', MARK, 'vm')
    # the default requested state is `started`: the HA manager starts a stopped VM
    assert sim.state()['vms'][500]['status'] == 'running'
    assert [r['hastate'] for r in root.cluster.resources.get(type='vm') if r['vmid'] == 500] == ['started']
    assert root.nodes('pve1').qemu(500).status.current.get()['ha'] == {'managed': 1, 'state': 'started'}


def test_crm_start_takes_the_ha_delay(sim_factory):
    sim = sim_factory('default', time_factor=1.0, durations=dict(ha_delay=0.4, start=0.1, request_latency=0))
    api = client(sim)
    clone(api, 501)
    api.cluster.ha.resources.post(sid='501', state='started')
    assert sim.state()['vms'][501]['status'] == 'stopped'
    deadline = time.time() + 5
    while sim.state()['vms'][501]['status'] != 'running' and time.time() < deadline:
        time.sleep(0.05)
    assert sim.state()['vms'][501]['status'] == 'running'


def test_power_goes_through_the_ha_stack(sim, root):
    clone(root, 502)
    root.cluster.ha.resources.post(sid='vm:502', state='stopped')
    upid = root.nodes('pve1').qemu(502).status.start.post()
    assert ':hastart:502:' in upid and wait(root, 'pve1', upid)['exitstatus'] == 'OK'
    assert root.cluster.ha.resources('vm:502').get()['state'] == 'started'
    assert sim.state()['vms'][502]['status'] == 'running'
    upid = root.nodes('pve1').qemu(502).status.shutdown.post()
    assert ':hastop:502:' in upid
    assert root.cluster.ha.resources('vm:502').get()['state'] == 'stopped'
    assert sim.state()['vms'][502]['status'] == 'stopped'


def test_destroy_needs_purge_and_purge_removes_resource_and_rule(sim, root):
    clone(root, 503)
    root.cluster.ha.resources.post(sid='vm:503', state='stopped')
    root.cluster.ha.rules.post(rule='lab', type='node-affinity', resources='vm:503', nodes='pve1,pve2')
    with pytest.raises(ResourceException, match='used in HA resources and purge parameter not set'):
        root.nodes('pve1').qemu(503).delete()
    assert wait(root, 'pve1', root.nodes('pve1').qemu(503).delete(purge=1))['exitstatus'] == 'OK'
    assert sim.state()['ha'] == {'resources': {}, 'rules': {}, 'groups': {}}


def test_removing_a_resource_keeps_the_vm_running(sim, root):
    clone(root, 504)
    root.cluster.ha.resources.post(sid='vm:504')
    root.cluster.ha.resources('vm:504').delete()
    assert root.cluster.ha.resources.get() == []
    assert sim.state()['vms'][504]['status'] == 'running'
    assert root.nodes('pve1').qemu(504).status.current.get()['ha'] == {'managed': 0}
    with pytest.raises(ResourceException, match=r"cannot delete service 'vm:504', not HA managed!"):
        root.cluster.ha.resources('vm:504').delete()


@pytest.mark.parametrize('sid,message', [
    ('vm:999', "resource 'vm:999' does not exist in cluster"),
    ('999', 'unable to detect SID from VMID - VM/CT 999 does not exist'),
])
def test_resource_for_a_missing_vm(sim, root, sid, message):
    code, body = raw(sim, 'POST', '/cluster/ha/resources', sid=sid)
    assert (code, body['message']) == (500, message + '\n')


def test_duplicate_resource_and_sys_console(sim, root):
    clone(root, 505)
    root.cluster.ha.resources.post(sid='505', state='stopped')
    with pytest.raises(ResourceException, match="create resource failed: resource ID 'vm:505' already defined"):
        root.cluster.ha.resources.post(sid='vm:505')
    root.access.acl.put(path='/', roles='PVEVMAdmin', users='teacher@pve')
    teacher = client(sim, 'teacher@pve', 'teacher-pass')
    with pytest.raises(ResourceException, match=r'403.*\(/, Sys.Console\)'):
        teacher.cluster.ha.resources('vm:505').delete()


def test_failed_start_puts_the_service_in_error(sim, root):
    clone(root, 506)
    root.nodes('pve1').qemu(506).config.put(net0='virtio,bridge=nosuchbr')
    root.cluster.ha.resources.post(sid='vm:506')
    assert sim.state()['vms'][506]['status'] == 'stopped'
    assert root.nodes('pve1').qemu(506).status.current.get()['ha']['state'] == 'error'
    with pytest.raises(ResourceException, match="service 'vm:506' in error state, must be disabled and fixed first"):
        root.cluster.ha.resources('vm:506').put(state='started')
    root.cluster.ha.resources('vm:506').put(state='disabled')


def test_migrate_of_an_ha_vm_goes_through_the_crm(sim, root):
    clone(root, 507)
    root.cluster.ha.resources.post(sid='vm:507')
    upid = root.nodes('pve1').qemu(507).migrate.post(target='pve2', online=1)
    assert ':hamigrate:507:' in upid and wait(root, 'pve1', upid)['exitstatus'] == 'OK'
    assert (sim.state()['vms'][507]['node'], sim.state()['vms'][507]['status']) == ('pve2', 'running')
    assert root.cluster.ha.resources('vm:507').migrate.post(node='pve3') == {'sid': 'vm:507',
                                                                          'requested-node': 'pve3'}
    assert sim.state()['vms'][507]['node'] == 'pve3'


def test_rules_need_managed_resources_and_existing_nodes(sim, root):
    clone(root, 508)
    root.cluster.ha.resources.post(sid='vm:508', state='stopped')
    root.cluster.ha.rules.post(rule='keep', type='node-affinity', resources='vm:508', nodes='pve1:2,pve2',
                               comment=MARK)
    rule = root.cluster.ha.rules('keep').get()
    assert (rule['resources'], rule['nodes'], rule['comment'], rule['order']) == ('vm:508', 'pve1:2,pve2', MARK, 1)
    _code, body = raw(sim, 'POST', '/cluster/ha/rules', rule='r2', type='node-affinity', resources='vm:508,vm:9001',
                      nodes='pve1')
    assert body['message'] == 'create ha rule failed: cannot use unmanaged resource(s) vm:9001.\n'
    _code, body = raw(sim, 'POST', '/cluster/ha/rules', rule='r3', type='node-affinity', resources='vm:508',
                      nodes='pve7')
    assert body['message'] == 'create ha rule failed: cannot use non-existent node(s) pve7.\n'
    assert [r['rule'] for r in root.cluster.ha.rules.get(resource='vm:508')] == ['keep']


def test_pve9_has_no_groups(sim, root):
    clone(root, 509)
    with pytest.raises(ResourceException, match='cannot index groups: ha groups have been migrated to rules'):
        root.cluster.ha.groups.get()
    with pytest.raises(ResourceException, match="invalid parameter 'group': ha groups have been migrated to rules"):
        root.cluster.ha.resources.post(sid='vm:509', group='lab')


def test_a_resource_is_in_one_enabled_node_affinity_rule_only(sim, root):
    clone(root, 510)
    clone(root, 511)
    for sid in ('vm:510', 'vm:511'):
        root.cluster.ha.resources.post(sid=sid, state='stopped')
    root.cluster.ha.rules.post(rule='first', type='node-affinity', resources='vm:510', nodes='pve1')
    _code, body = raw(sim, 'POST', '/cluster/ha/rules', rule='second', type='node-affinity',
                      resources='vm:510,vm:511', nodes='pve2')
    assert body['message'] == "create ha rule failed: Rule 'second' is invalid.\n"
    root.cluster.ha.rules.post(rule='second', type='node-affinity', resources='vm:511', nodes='pve2')
    _code, body = raw(sim, 'PUT', '/cluster/ha/rules/second', resources='vm:510,vm:511')
    assert body['message'] == "update HA rules failed: Rule 'second' is invalid.\n"
    # a disabled rule does not count (Rules.pm exclude_disabled_rules)
    root.cluster.ha.rules.post(rule='off', type='node-affinity', resources='vm:510', nodes='pve3', disable=1)
    assert sorted(r['rule'] for r in root.cluster.ha.rules.get(resource='vm:510')) == ['first', 'off']


@pytest.mark.parametrize('rule', ['1rule', 'a', 'has.dot', 'has space'])
def test_rule_ids_are_pve_config_ids(sim, root, rule):
    clone(root, 512)
    root.cluster.ha.resources.post(sid='vm:512', state='stopped')
    code, body = raw(sim, 'POST', '/cluster/ha/rules', rule=rule, type='node-affinity', resources='vm:512',
                     nodes='pve1')
    assert code == 400 and body['errors'] == {'rule': "invalid format - invalid configuration ID '{0}'\n".format(rule)}
