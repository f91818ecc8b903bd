"""pve_ecorouter_nic through ansible-playbook against the simulator; the cluster is read back with sim.state()."""
import re

import pytest

pytest_plugins = ['deploystand_sim.pytest_fixtures']

pytestmark = pytest.mark.slow

POOL = 'netlab-student1'
TASK = 'router NICs'
MAC = re.compile(r'^1C:87:76:40:[0-9A-F]{2}:[0-9A-F]{2}$')


def add_pool(sim, pool=POOL):
    def make(pve):
        pve.pools.setdefault(pool, set())
        pve._pool_meta(pool)
    sim.call(make)


def add_bridges(sim, node, *names):
    """Bridges that exist and are up on the node (the network play made them)."""
    def make(pve):
        net = pve.node_net(node)
        for name in names:
            net['config'][name] = {'iface': name, 'type': 'bridge', 'active': 1, 'autostart': 1,
                                   'bridge_ports': 'none', 'comments': 'deploystand:netlab:student1@pve:' + name}
    sim.call(make)


def router_play(vmid, **args):
    module_args = dict(vmid=vmid, node='pve1', stand='netlab', bridges=['vmbr1001', 'vmbr1002'])
    module_args.update(args)
    return [{'name': 'router', 'hosts': 'localhost', 'gather_facts': False, 'tasks': [
        {'name': TASK, 'deploystand.proxmox.pve_ecorouter_nic': module_args, 'register': 'out'}]}]


def clone_router(playbook, sim, name='student1-router', vmid=10002, stand='netlab'):
    run = playbook([{'name': 'clone', 'hosts': 'localhost', 'gather_facts': False, 'tasks': [
        {'name': 'router VM', 'deploystand.proxmox.pve_stand_clone': dict(
            name=name, pool=POOL, stand=stand, node='pve1', template='ecorouter-tpl', vmid=vmid,
            tags=['ecorouter'])}]}], sim)
    assert run.rc == 0, run
    return run.result('router VM')['vmid']


def nets(config):
    return dict((k, v) for k, v in sorted(config.items()) if re.match(r'^net\d+$', k))


@pytest.fixture
def lab(sim):
    add_pool(sim)
    add_bridges(sim, 'pve1', 'vmbr1001', 'vmbr1002')
    return sim


def test_nics_are_vmxnet3_management_link_down_and_macs_in_the_range(lab, playbook):
    vmid = clone_router(playbook, lab)
    run = playbook(router_play(vmid), lab)
    assert run.rc == 0, run
    res = run.result(TASK)
    assert res['changed'] is True and res['vmid'] == vmid
    config = lab.state()['vms'][vmid]['config']
    assert sorted(nets(config)) == ['net0', 'net1', 'net2']
    assert [n['model'] for n in res['nics']] == ['vmxnet3'] * 3
    assert [(n['bridge'], n['link_down']) for n in res['nics']] == [
        ('vmbr0', True), ('vmbr1001', False), ('vmbr1002', False)]
    assert all(MAC.match(n['mac']) for n in res['nics']), res['nics']
    assert config['net0'].startswith('vmxnet3=1C:87:76:40:') and 'link_down=1' in config['net0']
    assert 'link_down' not in config['net1']
    assert 'ecorouter' in lab.state()['vms'][vmid]['tags']

    again = playbook(router_play(vmid), lab)
    assert again.rc == 0, again
    assert again.result(TASK)['changed'] is False
    assert again.result(TASK)['nics'] == res['nics']


def test_fewer_bridges_remove_extra_nics_and_keep_macs(lab, playbook):
    vmid = clone_router(playbook, lab)
    first = playbook(router_play(vmid), lab).result(TASK)['nics']
    run = playbook(router_play(vmid, bridges=['vmbr1002']), lab)
    assert run.rc == 0, run
    config = lab.state()['vms'][vmid]['config']
    assert sorted(nets(config)) == ['net0', 'net1']
    assert [n['mac'] for n in run.result(TASK)['nics']] == [n['mac'] for n in first[:2]]
    assert 'bridge=vmbr1002' in config['net1']


def test_check_mode_predicts_and_writes_nothing(lab, playbook):
    vmid = clone_router(playbook, lab)
    before = lab.state()['vms'][vmid]['config']
    run = playbook(router_play(vmid, state='started'), lab, check=True, diff=True)
    assert run.rc == 0, run
    res = run.result(TASK)
    assert res['changed'] and res['status'] == 'running'
    assert res['diff']['after']['nics'][0]['model'] == 'vmxnet3'
    vm = lab.state()['vms'][vmid]
    assert vm['config'] == before and vm['status'] == 'stopped'


def test_started_only_after_the_nics_are_right(lab, playbook):
    vmid = clone_router(playbook, lab)
    run = playbook(router_play(vmid, state='started'), lab)
    assert run.rc == 0, run
    vm = lab.state()['vms'][vmid]
    assert vm['status'] == 'running'
    assert all(v.startswith('vmxnet3=1C:87:76:40:') for v in nets(vm['config']).values())
    assert playbook(router_play(vmid, state='started'), lab).result(TASK)['changed'] is False


def test_start_fails_clearly_when_a_bridge_is_missing(lab, playbook):
    vmid = clone_router(playbook, lab)
    run = playbook(router_play(vmid, bridges=['vmbr1009'], state='started'), lab)
    assert run.rc != 0
    assert "bridge 'vmbr1009' does not exist" in run.result(TASK)['msg']
    assert 'Traceback' not in run.output


def test_invalid_mac_prefix_is_a_clear_error(lab, playbook):
    vmid = clone_router(playbook, lab)
    for prefix in ('1D:87:76:40', '1C:87:76', 'zz:87:76:40'):
        run = playbook(router_play(vmid, mac_prefix=prefix), lab)
        assert run.rc != 0
        assert 'mac_prefix' in run.result(TASK)['msg'] and 'unicast' in run.result(TASK)['msg']
        assert 'Traceback' not in run.output


def test_custom_prefix_and_stable_slot_macs(lab, playbook):
    vmid = clone_router(playbook, lab)
    run = playbook(router_play(vmid, mac_prefix='02:AA:BB:CC'), lab)
    assert run.rc == 0, run
    slot = (vmid % 8192) * 8
    assert [n['mac'] for n in run.result(TASK)['nics']] == [
        '02:AA:BB:CC:{0:02X}:{1:02X}'.format((slot + i) >> 8, (slot + i) & 0xFF) for i in range(3)]


def test_vm_of_another_stand_is_refused(lab, playbook):
    vmid = clone_router(playbook, lab, stand='other')
    run = playbook(router_play(vmid), lab)
    assert run.rc != 0
    assert 'not managed by stand netlab' in run.result(TASK)['msg']
    assert not any(v.startswith('vmxnet3') for v in nets(lab.state()['vms'][vmid]['config']).values())


def test_mac_clash_with_a_congruent_ecorouter_is_reported(lab, playbook):
    vmid = clone_router(playbook, lab, vmid=10002)
    other = clone_router(playbook, lab, name='student1-router2', vmid=10002 + 8192)
    assert playbook(router_play(vmid), lab).rc == 0
    run = playbook(router_play(other), lab)
    assert run.rc != 0
    assert 'MAC clash' in run.result(TASK)['msg'] and 'modulo 8192' in run.result(TASK)['msg']


def test_wrong_types_are_one_clear_message(lab, playbook):
    run = playbook(router_play('abc'), lab)
    assert run.rc != 0
    assert 'vmid' in run.result(TASK)['msg'] and 'Traceback' not in run.output
    run = playbook(router_play(99999), lab)
    assert run.rc != 0
    assert 'VM 99999 does not exist' in run.result(TASK)['msg']
