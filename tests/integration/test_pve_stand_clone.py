"""pve_stand_clone through ansible-playbook against the simulator; the cluster is read back with sim.state()."""
import re
import threading
import time

import pytest

import importlib.util
import os

_spec = importlib.util.spec_from_file_location(
    'integration_conftest', os.path.join(os.path.dirname(os.path.abspath(__file__)), 'conftest.py'))
_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_conftest)
run_playbook = _conftest.run_playbook

pytest_plugins = ['deploystand_sim.pytest_fixtures']

pytestmark = pytest.mark.slow

POOL = 'netlab-student1'
TASK = 'stand VM'


def add_pool(sim, pool=POOL):
    def make(pve):
        pve.pools.setdefault(pool, set())
        pve._pool_meta(pool)['comment'] = 'deploystand:netlab:student1@pve'
    sim.call(make)


def clone_play(task_name=TASK, **args):
    module_args = dict(name='student1-host1', pool=POOL, stand='netlab', node='pve1', template='linux-tpl')
    module_args.update(args)
    module_args = dict((k, v) for k, v in module_args.items() if v is not None)
    return [{'name': 'clone', 'hosts': 'localhost', 'gather_facts': False,
             'tasks': [{'name': task_name, 'deploystand.proxmox.pve_stand_clone': module_args,
                        'register': 'out'}]}]


def ours(state, name='student1-host1', pool=POOL):
    return dict((vmid, vm) for vmid, vm in state['vms'].items() if vm['name'] == name and vm['pool'] == pool)


def volumes_of(state, vmid):
    pattern = re.compile(r'(^|/)vm-{0}-disk-'.format(vmid))
    return [(sid, name) for sid, names in state['volumes'].items() for name in names if pattern.search(name)]


def nets(config):
    return dict((k, v) for k, v in config.items() if re.match(r'^net\d+$', k))


@pytest.fixture
def lab(sim):
    add_pool(sim)
    return sim


# ------------------------------------------------------------------------------------------- create

def test_linked_clone_from_the_node_replica_then_rerun_changes_nothing(lab, playbook):
    run = playbook(clone_play(node='pve2', vmid=10005, nics=[{'bridge': 'vmbr0'}]), lab)
    assert run.rc == 0, run
    res = run.result(TASK)
    assert res['changed'] and res['created']
    assert res['vmid'] == 10005 and res['node'] == 'pve2'
    state = lab.state()
    vm = state['vms'][10005]
    assert vm['name'] == 'student1-host1' and vm['pool'] == POOL and vm['node'] == 'pve2'
    assert sorted(vm['tags']) == ['deploystand', 'stand-netlab']
    assert vm['lock'] is None
    assert vm['config']['scsi0'].startswith('local-lvm:vm-10005-disk-0')
    assert 'deploystand-pending' not in (vm['config'].get('description') or '')
    mac = res['nics'][0]['mac']

    again = playbook(clone_play(node='pve2', vmid=10005, nics=[{'bridge': 'vmbr0'}]), lab)
    assert again.rc == 0, again
    res2 = again.result(TASK)
    assert res2['changed'] is False and res2['created'] is False
    assert res2['vmid'] == 10005 and res2['nics'][0]['mac'] == mac
    assert len(ours(lab.state())) == 1


def test_rerun_without_vmid_finds_the_vm_by_pool_name_and_tags(lab, playbook):
    assert playbook(clone_play(), lab).rc == 0
    first = ours(lab.state())
    run = playbook(clone_play(vmid=12345), lab)
    assert run.rc == 0, run
    assert run.result(TASK)['changed'] is False
    assert ours(lab.state()).keys() == first.keys()


def test_new_vm_takes_the_lowest_free_id_of_the_range(lab, playbook):
    run = playbook(clone_play(vmid_range=[200, 300]), lab)
    assert run.rc == 0, run
    assert run.result(TASK)['vmid'] == 200


def test_check_mode_predicts_a_new_vm_and_writes_nothing(lab, playbook):
    before = lab.state()
    run = playbook(clone_play(vmid=10010, nics=[{'bridge': 'vmbr0'}, {'bridge': 'vmbr0', 'link_down': True}]),
                   lab, check=True, diff=True)
    assert run.rc == 0, run
    res = run.result(TASK)
    assert res['changed'] and res['created'] and res['vmid'] == 10010
    assert [n['key'] for n in res['nics']] == ['net0', 'net1'] and res['nics'][1]['link_down'] is True
    assert res['diff']['before'] == {} and res['diff']['after']['name'] == 'student1-host1'
    assert lab.state()['vms'] == before['vms']


def test_diff_shows_nics_and_tags_before_and_after(lab, playbook):
    assert playbook(clone_play(nics=[{'bridge': 'vmbr0'}]), lab).rc == 0
    run = playbook(clone_play(nics=[{'bridge': 'vmbr0', 'link_down': True}, {'bridge': 'vmbr0', 'model': 'e1000'}],
                              tags=['linux']), lab, diff=True)
    assert run.rc == 0, run
    diff = run.result(TASK)['diff']
    assert diff['before']['tags'] == ['deploystand', 'stand-netlab']
    assert diff['after']['tags'] == ['deploystand', 'linux', 'stand-netlab']
    assert [n['link_down'] for n in diff['before']['nics']] == [False]
    assert [(n['model'], n['link_down']) for n in diff['after']['nics']] == [('virtio', True), ('e1000', False)]
    assert diff['before']['nics'][0]['mac'] == diff['after']['nics'][0]['mac']
    assert '--- before' in run.output or 'before' in run.output


def test_nic_changes_keep_macs_and_extra_nics_are_removed(lab, playbook):
    assert playbook(clone_play(nics=[{'bridge': 'vmbr0'}, {'bridge': 'vmbr0'}]), lab).rc == 0
    vmid = next(iter(ours(lab.state())))
    macs = [v.split(',')[0].split('=')[1] for k, v in sorted(nets(lab.state()['vms'][vmid]['config']).items())]
    run = playbook(clone_play(nics=[{'bridge': 'vmbr0', 'link_down': True, 'model': 'e1000'}]), lab)
    assert run.rc == 0, run
    assert run.result(TASK)['changed'] is True
    config = lab.state()['vms'][vmid]['config']
    assert sorted(nets(config)) == ['net0']
    assert config['net0'].startswith('e1000=' + macs[0]) and 'link_down=1' in config['net0']
    given = playbook(clone_play(nics=[{'bridge': 'vmbr0', 'mac': '02:11:22:33:44:56'}]), lab)
    assert given.rc == 0, given
    assert lab.state()['vms'][vmid]['config']['net0'].startswith('virtio=02:11:22:33:44:56')


def test_started_then_stopped(lab, playbook):
    run = playbook(clone_play(state='started'), lab)
    assert run.rc == 0, run
    assert run.result(TASK)['status'] == 'running'
    vmid = run.result(TASK)['vmid']
    assert lab.state()['vms'][vmid]['status'] == 'running'
    assert playbook(clone_play(state='started'), lab).result(TASK)['changed'] is False
    stop = playbook(clone_play(state='stopped'), lab)
    assert stop.rc == 0, stop
    assert stop.result(TASK)['changed'] and stop.result(TASK)['status'] == 'stopped'
    assert lab.state()['vms'][vmid]['status'] == 'stopped'


# ------------------------------------------------------------------------------------------- absent

def test_absent_deletes_only_our_vm_and_frees_its_disks(lab, playbook):
    add_pool(lab, 'other-pool')
    assert playbook(clone_play(state='started'), lab).rc == 0
    # the same name in another pool, without our tags: foreign
    foreign = playbook(clone_play(pool='other-pool', stand='other'), lab)
    assert foreign.rc == 0, foreign
    foreign_id = foreign.result(TASK)['vmid']
    vmid = next(iter(ours(lab.state())))
    assert volumes_of(lab.state(), vmid)

    run = playbook(clone_play(state='absent', template=None), lab)
    assert run.rc == 0, run
    res = run.result(TASK)
    assert res['changed'] and res['status'] == 'absent'
    assert [f['vmid'] for f in res['foreign']] == [foreign_id]
    state = lab.state()
    assert vmid not in state['vms']
    assert foreign_id in state['vms'] and 100 in state['vms'] and state['vms'][100]['status'] == 'running'
    assert volumes_of(state, vmid) == []
    again = playbook(clone_play(state='absent', template=None), lab)
    assert again.rc == 0 and again.result(TASK)['changed'] is False


def test_a_vm_of_the_same_name_in_the_pool_without_our_tags_is_refused(lab, playbook):
    def plant(pve):
        vm = pve.add_vm(4242, 'student1-host1', node='pve1')
        pve._pool_join(POOL, 4242)
        return vm.vmid
    lab.call(plant)
    run = playbook(clone_play(), lab)
    assert run.rc != 0
    msg = run.result(TASK)['msg']
    assert 'exists in pool' in msg and 'not owned' in msg and 'Traceback' not in run.output
    gone = playbook(clone_play(state='absent'), lab)
    assert gone.rc == 0 and gone.result(TASK)['changed'] is False
    assert 4242 in lab.state()['vms']


# ------------------------------------------------------------------------------------ concurrency

def test_two_parallel_clones_with_the_same_preferred_vmid_get_distinct_ids(lab, tmp_path):
    results = {}

    def one(name):
        (tmp_path / name).mkdir()
        results[name] = run_playbook(clone_play(name=name, vmid=10100), lab.env, tmp_path / name)
    threads = [threading.Thread(target=one, args=(n,)) for n in ('student1-a', 'student1-b')]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for name, run in results.items():
        assert run.rc == 0, run
    ids = sorted(r.result(TASK)['vmid'] for r in results.values())
    assert len(set(ids)) == 2 and 10100 in ids
    state = lab.state()
    assert sorted(vmid for vmid, vm in state['vms'].items() if vm['name'].startswith('student1-')) == ids


def test_two_clusters_behind_one_address_do_not_share_clone_slots(sim_factory, tmp_path):
    """Two clusters reached at one address (two tunnels, two port forwards) have their own clone slots:
    a slow clone holding the only slot of local-lvm@pve1 on one does not hold up a clone on the other."""
    slow = sim_factory('tiny', time_factor=1.0, durations={'linked_clone': 15})
    fast = sim_factory('tiny')
    assert slow.host == fast.host and slow.port != fast.port
    add_pool(slow)
    add_pool(fast)
    env = {'DEPLOYSTAND_CLONE_SLOTS_DIR': str(tmp_path / 'slots')}
    done = {}

    def clone_on_the_slow_cluster():
        (tmp_path / 'slow').mkdir()
        done['slow'] = run_playbook(clone_play(clone_slots=1), slow.env, tmp_path / 'slow', env=env)
    holder = threading.Thread(target=clone_on_the_slow_cluster)
    holder.start()
    try:
        deadline = time.monotonic() + 120
        while not any(vm['lock'] == 'clone' for vm in slow.state()['vms'].values()):
            assert time.monotonic() < deadline and holder.is_alive(), done
            time.sleep(0.1)
        (tmp_path / 'fast').mkdir()
        run = run_playbook(clone_play(clone_slots=1, timeout=5), fast.env, tmp_path / 'fast', env=env)
        assert run.rc == 0, run
        assert len(ours(fast.state())) == 1
    finally:
        holder.join(120)
    assert done['slow'].rc == 0, done['slow']


# ------------------------------------------------------------------------------------- cross-node

def test_shared_storage_template_is_cloned_to_another_node_with_target(lab, playbook):
    run = playbook(clone_play(node='pve3', template='linux-shared-tpl'), lab)
    assert run.rc == 0, run
    res = run.result(TASK)
    assert res['node'] == 'pve3'
    assert lab.state()['vms'][res['vmid']]['node'] == 'pve3'


def test_local_template_without_replica_on_the_node_is_a_clear_error(lab, playbook):
    def plant(pve):
        src = pve.vm(9002)
        pve.add_vm(9500, 'solo-tpl', node='pve1', config=dict(src.config, name='solo-tpl'))
        pve.vm(9500).template = True
    lab.call(plant)
    run = playbook(clone_play(node='pve2', template='solo-tpl'), lab)
    assert run.rc != 0
    msg = run.result(TASK)['msg']
    assert 'solo-tpl' in msg and 'pve2' in msg and 'local-lvm' in msg, msg
    assert 'Traceback' not in run.output


# ---------------------------------------------------------------------------------- lock contention

def test_lock_contention_is_retried(sim_factory, playbook):
    lab = sim_factory(faults={'lock_contention': 0.5, 'seed': 7})
    add_pool(lab)
    run = playbook(clone_play(lock_retries=10), lab)
    assert run.rc == 0, run
    assert len(ours(lab.state())) == 1


def test_lock_contention_gives_up_with_pves_text(sim_factory, playbook):
    lab = sim_factory(faults={'lock_contention': 1.0})
    add_pool(lab)
    run = playbook(clone_play(lock_retries=1), lab)
    assert run.rc != 0
    msg = run.result(TASK)['msg']
    assert 'got timeout' in msg and 'lock_retries' in msg, msg
    assert ours(lab.state()) == {}


# -------------------------------------------------------------------------------------- bad input

@pytest.mark.parametrize('args, words', [
    (dict(template='no-such-tpl'), ['no-such-tpl', 'no template']),
    (dict(template='gateway'), ['gateway', 'not a template']),
    (dict(storage='local-lvm'), ['storage', 'full clones only']),
    (dict(name='student1_host1'), ['DNS label']),
    (dict(vmid='abc'), ['vmid']),
    (dict(pool='no-such-pool'), ['pool no-such-pool does not exist']),
    (dict(vmid_range=[200, 200], vmid=None), []),
])
def test_bad_input_fails_with_one_clear_message(lab, playbook, args, words):
    if args.get('vmid_range'):
        lab.call(lambda pve: pve.add_vm(200, 'taken', node='pve1'))
        words = ['vmid_range [200, 200] has no free VMID left']
    run = playbook(clone_play(**args), lab)
    assert run.rc != 0
    msg = run.result(TASK)['msg']
    for word in words:
        assert word in msg, msg
    assert 'Traceback' not in run.output
    assert ours(lab.state()) == {}


# ------------------------------------------------------------------------------ broken connections

def test_dropped_connections_still_converge_to_one_vm(sim_factory, playbook):
    lab = sim_factory(faults={'drop_rate': 0.15, 'seed': 3})
    add_pool(lab)
    playbook(clone_play(state='started', nics=[{'bridge': 'vmbr0'}]), lab)
    lab.set_faults(drop_rate=0.0)
    again = playbook(clone_play(state='started', nics=[{'bridge': 'vmbr0'}]), lab)
    assert again.rc == 0, again
    vms = ours(lab.state())
    assert len(vms) == 1 and list(vms.values())[0]['status'] == 'running'
