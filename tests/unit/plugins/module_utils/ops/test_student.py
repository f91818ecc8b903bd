"""How pve_stand_student turns a plan's machines into the parts it runs (pure, no cluster)."""
import dataclasses

from ansible_collections.deploystand.proxmox.plugins.module_utils.ops import student as S

ROUTER = {'name': 's1-router', 'device_type': 'ecorouter', 'template_vmid': 9002, 'template_node': 'pve1',
          'full': False, 'vmid': None, 'preferred_vmid': 10000,
          'networks': [{'bridge': 'vmbr0', 'alias': None, 'link_down': True, 'management': True},
                       {'bridge': None, 'alias': 'lan', 'link_down': False, 'management': False},
                       {'bridge': 'vmbr0', 'alias': None, 'link_down': False, 'management': False}]}
HOST = {'name': 's1-host1', 'device_type': 'linux', 'template_vmid': 9001, 'template_node': 'pve1',
        'full': True, 'storage': 'shared-nfs', 'format': 'qcow2', 'vmid': 10007, 'preferred_vmid': 10001,
        'networks': [{'bridge': None, 'alias': 'lan', 'link_down': True, 'management': False}]}


def params(**over):
    p = {'stand': 'netlab', 'userid': 's1@pve', 'pool': 'netlab-s1', 'node': 'pve1', 'machines': [ROUTER, HOST],
         'bridges': {'lan': 'vmbr1004'}, 'vmid_range': [10000, 19999], 'start': True,
         'management_bridge': 'vmbr0', 'mac_prefix': '1C:87:76:40', 'role': 'PVEVMAdmin',
         'pool_audit_role': 'PVEPoolUser', 'bridge_role': 'PVESDNUser', 'password': None,
         'update_password': 'on_create', 'password_length': 20, 'clone_slots': 8, 'lock_retries': 5,
         'timeout': 600, 'shutdown_timeout': 60, 'state': 'present'}
    p.update(over)
    return S.StudentSpec.from_params(p)


def test_a_linux_machine_gets_its_private_bridge_and_starts_with_the_clone():
    clone = S.machine_spec(params(), HOST)
    assert clone.nics == [{'bridge': 'vmbr1004', 'model': 'virtio', 'link_down': True, 'mac': None}]
    assert (clone.state, clone.clone, clone.storage, clone.format) == ('started', 'full', 'shared-nfs',
                                                                                  'qcow2')
    # the VM the plan found wins over the preferred id of a new one
    assert clone.vmid == 10007 and clone.tags == [] and clone.pool == 'netlab-s1'


def test_an_ecorouter_is_cloned_stopped_and_gets_its_data_ports_in_order_before_it_starts():
    clone = S.machine_spec(params(), ROUTER)
    assert (clone.state, clone.nics, clone.tags, clone.vmid) == ('present', None, ['ecorouter'], 10000)
    router = S.ecorouter_spec(params(), ROUTER, 10000, 'pve2')
    assert router.bridges == ['vmbr1004', 'vmbr0']       # net0 (management) is added by the NIC step
    assert (router.node, router.state, router.management_bridge) == ('pve2', 'started', 'vmbr0')


def test_start_false_leaves_every_machine_stopped():
    assert S.machine_spec(params(start=False), HOST).state == 'present'
    assert S.ecorouter_spec(params(start=False), ROUTER, 10000, 'pve1').state == 'present'


def test_absent_removes_each_machine_on_its_own_node_without_needing_bridges():
    gone = S.machine_spec(params(state='absent', bridges={}), dict(HOST, node='pve3'))
    assert (gone.state, gone.node, gone.nics) == ('absent', 'pve3', None)
    assert S.input_problems(params(state='absent', bridges={})) == []


def test_the_student_gets_use_of_each_of_its_bridges_once():
    assert S.access_params(params(bridges={'lan': 'vmbr1004', 'dmz': 'vmbr1001', 'again': 'vmbr1004'}))[
        'bridges'] == ['vmbr1001', 'vmbr1004']


def test_every_input_problem_is_listed_with_its_machine():
    problems = S.input_problems(params(userid='bad user', bridges={}, machines=[HOST, dict(HOST, format='vhdx')]))
    assert any(p.startswith('userid') for p in problems)
    assert "machines[0] (s1-host1): no private bridge was made for the network alias 'lan'" in problems
    assert 'machines[1] (s1-host1): the name is given twice' in problems
    assert "machines[1] (s1-host1): format 'vhdx' is not one of raw, qcow2, vmdk" in problems


def test_a_stand_name_the_other_modules_refuse_is_refused_once_for_the_whole_student():
    # 21 characters: matches the pattern, but pve_user_pool and pve_bridge refuse it (20 at most)
    for bad in ('a' * 21, 'Net_Lab'):
        problems = S.input_problems(params(stand=bad))
        assert [p for p in problems if 'stand' in p] == [S.stand_name_problem(bad)]
    # pve_stand_clone applies the same rule to its one machine (MachineSpec.problems)
    assert S.machine_spec(params(stand='a' * 21), HOST).problems() == [S.stand_name_problem('a' * 21)]
    assert S.input_problems(params(stand='a' * 20)) == []


def test_a_student_spec_has_the_modules_options_and_defaults_and_never_shows_its_password():
    from ansible_collections.deploystand.proxmox.plugins.modules.pve_stand_student import ARGSPEC
    bare = S.StudentSpec(stand='netlab', userid='s1@pve')
    for f in dataclasses.fields(bare):
        assert f.name in ARGSPEC, f.name
        if f.name not in ('stand', 'userid'):
            assert getattr(bare, f.name) == ARGSPEC[f.name].get('default'), f.name
    assert 'Secret-1' not in repr(S.StudentSpec(stand='netlab', userid='s1@pve', password='Secret-1'))
    # a module with other options (pve_stand_snapshot's reset) gives what it has; the rest keep their defaults
    reset = S.StudentSpec.from_params({'stand': 'netlab', 'userid': 's1@pve', 'name': 'baseline', 'start': False})
    assert (reset.start, reset.role, reset.vmid_range) == (False, 'PVEVMAdmin', [10000, 19999])
