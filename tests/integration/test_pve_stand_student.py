"""pve_stand_student through ansible-playbook against the simulator: a student's user, pool, ACLs and
machines in one run; the cluster is read back with sim.state() and the simulator's request counters."""
import pytest

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
