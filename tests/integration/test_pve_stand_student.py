"""pve_stand_student through ansible-playbook against the simulator: a student's user, pool, ACLs and
machines in one run; the cluster is read back with sim.state() and the simulator's request counters."""
import pytest
from proxmoxer import ProxmoxAPI

pytest_plugins = ['deploystand_sim.pytest_fixtures']
pytestmark = pytest.mark.slow

TASK = 'student'
USER = 's1@pve'
POOL = 'netlab-s1'
ROUTER = {'name': 's1-router', 'device_type': 'ecorouter', 'template': 'ecorouter-tpl',
          'networks': [{'bridge': 'vmbr0', 'management': True, 'link_down': True}, {'alias': 'lan'}]}
HOSTS = [{'name': 's1-host{0}'.format(n), 'template': 'linux-tpl', 'networks': [{'alias': 'lan'}]} for n in (1, 2)]


def student_play(machines=None, **args):
    module_args = dict(stand='netlab', userid=USER, node='pve1', bridges={'lan': 'vmbr0'},
                       machines=[ROUTER] + HOSTS if machines is None else machines)
    module_args.update(args)
    return [{'name': 'student', 'hosts': 'localhost', 'gather_facts': False,
             'tasks': [{'name': TASK, 'deploystand.proxmox.pve_stand_student': module_args, 'register': 'out'}]}]


def pool_vms(state, pool=POOL):
    return dict((vm['name'], dict(vm, vmid=vmid)) for vmid, vm in state['vms'].items() if vm['pool'] == pool)


def requests(sim, method):
    return dict((path.split(' ', 1)[1], n) for path, n in sim.counters()['requests'].items()
                if path.startswith(method + ' '))


def test_one_run_makes_the_whole_student_and_a_rerun_changes_nothing(sim, playbook):
    sim.reset_counters()
    run = playbook(student_play(), sim)
    assert run.rc == 0, run
    result = run.result(TASK)
    assert result['changed'] and result['user_created'] and result['password_set'] and result['password']
    state = sim.state()
    assert USER in state['users'] and POOL in state['pools']
    vms = pool_vms(state)
    assert sorted(vms) == ['s1-host1', 's1-host2', 's1-router']
    assert set(vm['status'] for vm in vms.values()) == {'running'}
    router = vms['s1-router']
    assert 'ecorouter' in router['tags'] and router['config']['net0'].upper().startswith('VMXNET3=1C:87:76:40')
    assert 'bridge=vmbr0' in router['config']['net1'] and 'bridge=vmbr0' in vms['s1-host1']['config']['net0']
    assert [m['name'] for m in result['machines']] == ['s1-router', 's1-host1', 's1-host2']
    # the cluster is listed once for the whole student (the module's own read), not once per VM
    assert requests(sim, 'GET').get('/cluster/resources') == 1

    sim.reset_counters()
    again = playbook(student_play(), sim)
    assert again.rc == 0, again
    assert again.result(TASK)['changed'] is False and 'password' not in again.result(TASK)
    assert requests(sim, 'POST') == {'/access/ticket': 1} and requests(sim, 'PUT') == {}
    assert pool_vms(sim.state()) == vms


def test_a_failing_machine_does_not_stop_the_others_and_the_password_is_kept(sim, playbook):
    broken = dict(HOSTS[1], template='no-such-tpl')
    run = playbook(student_play(machines=[ROUTER, HOSTS[0], broken]), sim)
    assert run.rc != 0
    result = run.result(TASK)
    assert result['msg'].startswith('s1@pve: s1-host2: ') and 'no-such-tpl' in result['msg'], result['msg']
    assert 'Traceback' not in run.output
    # what was done is reported: the password of the user made in this run is not lost
    assert result['user_created'] and result['password']
    assert sorted(pool_vms(sim.state())) == ['s1-host1', 's1-router']


def test_absent_removes_the_machines_then_the_pool_and_the_user(sim, playbook):
    before = sim.state()
    assert playbook(student_play(), sim).rc == 0
    machines = [{'name': name, 'node': vm['node']} for name, vm in pool_vms(sim.state()).items()]
    run = playbook(student_play(machines=machines, state='absent'), sim)
    assert run.rc == 0, run
    assert run.result(TASK)['changed']
    state = sim.state()
    assert pool_vms(state) == {} and POOL not in state['pools'] and USER not in state['users']
    assert sorted(state['vms']) == sorted(before['vms'])


def test_check_mode_predicts_a_new_student_and_creates_nothing(sim, playbook):
    before = sim.state()
    run = playbook(student_play(), sim, check=True)
    assert run.rc == 0, run
    assert run.result(TASK)['changed'] and [m['created'] for m in run.result(TASK)['machines']] == [True] * 3
    assert sim.state() == before



def test_check_mode_with_diff_shows_the_user_pool_acls_and_each_machine(sim, playbook):
    before = sim.state()
    run = playbook(student_play(), sim, check=True, diff=True)
    assert run.rc == 0, run
    diff = run.result(TASK)['diff']
    assert diff['before']['user'] is None and diff['after']['user'] == {'comment': 'deploystand:netlab'}
    assert diff['before']['pool'] is None and diff['after']['pool']['comment'] == 'deploystand:netlab:s1@pve'
    assert diff['before']['acl'] == [] and '/pool/netlab-s1 PVEVMAdmin' in diff['after']['acl']
    assert '/sdn/zones/localnetwork/vmbr0 PVESDNUser' in diff['after']['acl']
    assert sorted(diff['before']['machines']) == sorted(diff['after']['machines']) == ['s1-host1', 's1-host2',
                                                                                        's1-router']
    assert diff['before']['machines']['s1-host1'] == {}
    host = diff['after']['machines']['s1-host1']
    assert host['pool'] == 'netlab-s1' and host['status'] == 'running' and 'stand-netlab' in host['tags']
    assert 'password' not in str(diff)
    assert 'before' in run.output and 's1-host1' in run.output       # Ansible shows the diff
    assert sim.state() == before


def test_check_mode_after_a_deploy_predicts_no_change_and_the_diff_shows_what_a_change_would_do(sim, playbook):
    assert playbook(student_play(), sim).rc == 0
    same = playbook(student_play(), sim, check=True, diff=True)
    assert same.rc == 0, same
    result = same.result(TASK)
    assert result['changed'] is False and result['diff']['before'] == result['diff']['after']

    before = sim.state()
    stopped = playbook(student_play(start=False, machines=[dict(HOSTS[0], networks=[{'alias': 'lan'},
                                                                                     {'bridge': 'vmbr0'}])]),
                       sim, check=True, diff=True)
    assert stopped.rc == 0, stopped
    diff = stopped.result(TASK)['diff']
    assert stopped.result(TASK)['changed']
    machine_before, machine_after = diff['before']['machines']['s1-host1'], diff['after']['machines']['s1-host1']
    assert [n['key'] for n in machine_before['nics']] == ['net0']
    assert [n['key'] for n in machine_after['nics']] == ['net0', 'net1']
    assert diff['before']['user'] == diff['after']['user'] and diff['before']['acl'] == diff['after']['acl']
    assert sim.state() == before


def test_without_diff_mode_no_diff_is_returned(sim, playbook):
    run = playbook(student_play(), sim, check=True)
    assert run.rc == 0, run
    assert 'diff' not in run.result(TASK)

def test_bad_input_is_one_message_and_nothing_is_created(sim, playbook):
    before = sim.state()
    run = playbook(student_play(machines=[HOSTS[0], dict(HOSTS[0], format='vhdx'), dict(HOSTS[1], networks=[
        {'alias': 'dmz'}])]), sim)
    assert run.rc != 0
    msg = run.result(TASK)['msg']
    assert msg.startswith('invalid input: ')
    assert "machines[1] (s1-host1): the name is given twice" in msg
    assert "format 'vhdx' is not one of raw, qcow2, vmdk" in msg
    assert "machines[2] (s1-host2): no private bridge was made for the network alias 'dmz'" in msg
    assert sim.state() == before


# ---------------------------------------------------------------- the network apply beside the clones (network_nodes)

def class_play(students, **args):
    """Each student's bridge staged by pve_bridge (not applied, as deploy_stand.yml's network play leaves it),
    then one class run that applies the nodes while it clones."""
    tasks = []
    for userid, node in students:
        tasks.append({'name': 'bridge of ' + userid, 'register': 'bridge_' + userid.split('@')[0],
                      'deploystand.proxmox.pve_bridge': {'node': node, 'stand': 'netlab',
                                                         'bridges': [{'userid': userid, 'alias': 'lan'}]}})
    module_args = dict(stand='netlab', network_nodes=sorted(set(node for _u, node in students)), students=[
        {'userid': userid, 'node': node, 'bridges': '{{{{ bridge_{0}.mapping[{1!r}] }}}}'.format(
            userid.split('@')[0], userid),
         'machines': [dict(HOSTS[0], name=userid.split('@')[0] + '-host1')]} for userid, node in students])
    module_args.update(args)
    tasks.append({'name': TASK, 'deploystand.proxmox.pve_stand_student': module_args, 'register': 'out'})
    return [{'name': 'class', 'hosts': 'localhost', 'gather_facts': False, 'tasks': tasks}]


def test_the_staged_bridges_are_applied_while_the_clones_run_and_each_vm_starts_after(sim_factory, playbook):
    # the apply takes 2 s and nothing else takes time: a VM that started before its node's apply ended would fail
    # ("bridge 'vmbrN' does not exist", as PVE's tap_plug says), so every VM running shows the wait
    timed = sim_factory(time_factor=1.0)
    timed.set_durations(network_apply=2.0, linked_clone=0.0, start=0.0, storage_lock_hold=0.0, request_latency=0.0)
    run = playbook(class_play([('s1@pve', 'pve1'), ('s2@pve', 'pve2')]), timed)
    assert run.rc == 0, run
    result = run.result(TASK)
    assert result['failed_students'] == [] and sorted(result['networks']) == ['pve1', 'pve2']
    assert all(node['applied'] for node in result['networks'].values())
    state = timed.state()
    for userid, node in (('s1@pve', 'pve1'), ('s2@pve', 'pve2')):
        iface = result['students'][userid]['bridges']['lan']
        assert state['networks'][node]['staged'] is None and iface in state['networks'][node]['running']
        vm = pool_vms(state, 'netlab-' + userid.split('@')[0])[userid.split('@')[0] + '-host1']
        assert vm['status'] == 'running' and 'bridge={0}'.format(iface) in vm['config']['net0']

    again = playbook(class_play([('s1@pve', 'pve1'), ('s2@pve', 'pve2')]), timed)
    assert again.rc == 0 and again.result(TASK)['changed'] is False, again
    assert not any(node['applied'] for node in again.result(TASK)['networks'].values())


def test_a_refused_apply_fails_only_the_machines_on_that_node_and_a_rerun_allowed_to_converges(sim, playbook):
    # an administrator's own bridge, staged on pve1 and not applied: the class run must not activate it unasked
    ProxmoxAPI(sim.host, port=sim.port, user='root@pam', password=sim.password, verify_ssl=sim.cafile) \
        .nodes('pve1').network.post(iface='vmbr500', type='bridge', comments='admin test bridge')
    students = [('s1@pve', 'pve1'), ('s2@pve', 'pve2')]
    run = playbook(class_play(students), sim)
    assert run.rc == 0, run
    result = run.result(TASK)
    assert result['failed_students'] == ['s1@pve'] and result['networks']['pve1']['failed']
    refused = result['students']['s1@pve']['msg']
    assert 'node pve1' in refused and 'vmbr500' in refused and 'apply_foreign_pending' in refused
    assert any('network config of node pve1 not applied' in w for w in result.get('warnings', [])), result
    state = sim.state()
    assert 'vmbr500' not in state['networks']['pve1']['running']
    # s1's VM is cloned but not configured or started; s2 on the other node is done
    assert pool_vms(state, 'netlab-s1')['s1-host1']['status'] == 'stopped'
    assert pool_vms(state, 'netlab-s2')['s2-host1']['status'] == 'running'
    assert 'Traceback' not in run.output

    run = playbook(class_play(students, apply_foreign_pending=True), sim)
    assert run.rc == 0 and run.result(TASK)['failed_students'] == [], run
    assert run.result(TASK)['networks']['pve1']['foreign_pending'] == ['vmbr500 (added)']
    assert pool_vms(sim.state(), 'netlab-s1')['s1-host1']['status'] == 'running'


def test_one_student_run_applies_its_node_too_and_a_destroy_run_removes_its_bridges(sim, playbook):
    staged = class_play([(USER, 'pve1')])[0]['tasks'][0]
    present = {'name': TASK, 'register': 'out', 'deploystand.proxmox.pve_stand_student': dict(
        stand='netlab', userid=USER, node='pve1', bridges="{{ bridge_s1.mapping['s1@pve'] }}",
        machines=HOSTS, network_nodes=['pve1'])}
    run = playbook([{'hosts': 'localhost', 'gather_facts': False, 'tasks': [staged, present]}], sim)
    assert run.rc == 0, run
    result = run.result(TASK)
    assert result['networks']['pve1']['applied'] and sim.state()['networks']['pve1']['staged'] is None
    assert set(vm['status'] for vm in pool_vms(sim.state()).values()) == {'running'}
    iface = result['bridges']['lan']

    absent = {'name': TASK, 'register': 'out', 'deploystand.proxmox.pve_stand_student': dict(
        stand='netlab', userid=USER, node='pve1', machines=HOSTS, network_nodes=['pve1'], state='absent')}
    run = playbook([{'hosts': 'localhost', 'gather_facts': False, 'tasks': [absent]}], sim)
    assert run.rc == 0, run
    assert run.result(TASK)['networks']['pve1']['deleted'] == [iface]
    network = sim.state()['networks']['pve1']
    assert network['staged'] is None and iface not in network['running'] and pool_vms(sim.state()) == {}
