"""pve_bridge through ansible-playbook against the simulator; node networks are read back with sim.state()."""
import pytest
from proxmoxer import ProxmoxAPI

pytest_plugins = ['deploystand_sim.pytest_fixtures']

pytestmark = pytest.mark.slow

MODULE = 'deploystand.proxmox.pve_bridge'
LAN1 = 'deploystand:netlab:student1@pve:lan'


def play(*tasks):
    out = []
    for task in tasks:
        item = {'name': task[0], MODULE: task[1]}
        if len(task) > 2:
            item.update(task[2])
        out.append(item)
    return [{'hosts': 'localhost', 'gather_facts': False, 'tasks': out}]


def args(node='pve2', **extra):
    out = {'node': node, 'stand': 'netlab'}
    out.update(extra)
    return out


def wanted(*pairs):
    return [{'userid': u, 'alias': a} for u, a in pairs]


def failed(run, name):
    return [t['status'] for t in run.tasks if t['task'] == name][-1] in ('failed', 'ignored')


def net(sim, node):
    return sim.state()['networks'][node]


def root_api(sim):
    return ProxmoxAPI(sim.host, port=sim.port, user='root@pam', password=sim.password, verify_ssl=sim.cafile)


def test_bridges_lifecycle_create_rerun_check_stable_apply_and_absent(sim, playbook):
    two = wanted(('student1@pve', 'lan'), ('student1@pve', 'wan'), ('student2@pve', 'lan'))
    run = playbook(play(('bridges exist', args(bridges=two))), sim)
    assert run.rc == 0, run
    result = run.result('bridges exist')
    # vmbr1000 on pve2 is the admin's unmarked "lab uplink": skipped, never reused; pve2 is the second of
    # three nodes, so its new bridges take the numbers N with N mod 3 = 1 (no other node makes those)
    assert result['mapping'] == {'student1@pve': {'lan': 'vmbr1003', 'wan': 'vmbr1006'},
                                 'student2@pve': {'lan': 'vmbr1009'}}
    assert result['created'] == ['vmbr1003', 'vmbr1006', 'vmbr1009'] and result['changed']
    staged = net(sim, 'pve2')['staged']
    assert staged['vmbr1003']['comments'] == LAN1 and staged['vmbr1003']['autostart'] == 1
    assert staged['vmbr1003']['bridge_ports'] == 'none' and 'bridge_vlan_aware' not in staged['vmbr1003']
    assert staged['vmbr1000']['comments'] == 'lab uplink'

    run = playbook(play(('bridges exist', args(bridges=two))), sim)
    assert run.rc == 0 and run.changed_total == 0, run

    # a student added in front keeps everybody's bridges; check mode predicts and writes nothing
    three = wanted(('student0@pve', 'lan')) + two
    before = sim.state()
    run = playbook(play(('bridges exist', args(bridges=three))), sim, check=True, diff=True)
    result = run.result('bridges exist')
    assert result['changed'] and result['mapping']['student0@pve'] == {'lan': 'vmbr1012'}
    assert result['mapping']['student1@pve'] == {'lan': 'vmbr1003', 'wan': 'vmbr1006'}
    assert result['diff']['after']['bridges']['vmbr1012'] == 'deploystand:netlab:student0@pve:lan'
    assert 'vmbr1012' not in result['diff']['before']['bridges']
    assert sim.state() == before
    run = playbook(play(('bridges exist', args(bridges=three))), sim, diff=True)
    assert run.result('bridges exist')['created'] == ['vmbr1012'] and 'vmbr1012' in run.output

    # apply: check mode predicts; the real run applies once; then nothing is pending
    run = playbook(play(('network applied', args(state='applied'))), sim, check=True)
    result = run.result('network applied')
    assert result['changed'] and result['applied'] and net(sim, 'pve2')['staged'] is not None
    assert sorted(p['iface'] for p in result['pending']) == ['vmbr1003', 'vmbr1006', 'vmbr1009', 'vmbr1012']
    run = playbook(play(('network applied', args(state='applied')),
                        ('network applied again', args(state='applied'))), sim)
    assert run.rc == 0, run
    assert run.result('network applied')['applied'] and not run.result('network applied again')['changed']
    state = net(sim, 'pve2')
    assert state['staged'] is None and 'vmbr1012' in state['running']
    envelope = root_api(sim).nodes('pve2').network.get()
    assert all(i.get('active') for i in envelope if i['iface'].startswith('vmbr'))

    # absent for one student, then for the whole stand; the unmarked vmbr1000 survives
    run = playbook(play(('student0 bridges absent', args(state='absent', userids=['student0@pve']))), sim)
    assert run.result('student0 bridges absent')['deleted'] == ['vmbr1012']
    run = playbook(play(('stand bridges absent', args(state='absent')),
                        ('network applied', args(state='applied'))), sim)
    assert run.rc == 0, run
    assert run.result('stand bridges absent')['deleted'] == ['vmbr1003', 'vmbr1006', 'vmbr1009']
    state = net(sim, 'pve2')
    assert state['staged'] is None
    assert sorted(i for i in state['running'] if i.startswith('vmbr')) == ['vmbr0', 'vmbr1000']
    run = playbook(play(('stand bridges absent', args(state='absent'))), sim)
    assert run.changed_total == 0, run


def test_apply_refuses_foreign_pending_changes_unless_allowed(sim, playbook):
    root_api(sim).nodes('pve1').network.post(iface='vmbr500', type='bridge', comments='admin test bridge')
    run = playbook(play(('bridges exist', args('pve1', bridges=wanted(('student1@pve', 'lan')))),
                        ('network applied', args('pve1', state='applied'), {'ignore_errors': True})), sim)
    result = run.result('network applied')
    assert failed(run, 'network applied') and 'vmbr500' in result['msg'] and 'apply_foreign_pending' in result['msg']
    assert 'vmbr1000' not in result['msg'] and 'Traceback' not in run.output
    assert net(sim, 'pve1')['staged'] is not None and 'vmbr1000' not in net(sim, 'pve1')['running']

    run = playbook(play(('network applied', args('pve1', state='applied', apply_foreign_pending=True))), sim)
    result = run.result('network applied')
    assert run.rc == 0 and result['applied'] and result['foreign_pending'] == ['vmbr500 (added)'], run
    assert net(sim, 'pve1')['staged'] is None and 'vmbr500' in net(sim, 'pve1')['running']


def test_bridge_in_use_is_kept_and_hidden_names_are_skipped(sim, playbook):
    # an automation user without SDN.Audit: the bridge list hides vmbr1000 and its own bridges (Sys.Audit on
    # every node: a new name is checked on the other nodes too)
    sim.add_user('automation@pve', 'automation-pass')
    sim.call(lambda pve: pve.lab_roles.__setitem__('NodeNet', {'Sys.Audit', 'Sys.Modify'}))
    sim.set_acl('/nodes', 'NodeNet', users=['automation@pve'])
    env = {'PROXMOX_USER': 'automation@pve', 'PROXMOX_PASSWORD': 'automation-pass'}
    lan = args(bridges=wanted(('student1@pve', 'lan')))
    run = playbook(play(('bridges exist', lan), ('bridges exist again', lan)), sim, env=env)
    assert run.rc == 0, run
    first, again = run.result('bridges exist'), run.result('bridges exist again')
    assert first['created'] == ['vmbr1003'] and first['taken'] == ['vmbr1000']
    assert not again['changed'] and again['mapping'] == first['mapping']

    # a VM on pve2 uses the bridge: absent keeps it and says so
    root_api(sim).nodes('pve2').qemu(9011).config.put(net1='virtio,bridge=vmbr1003')
    run = playbook(play(('bridges absent', args(state='absent'))), sim)
    result = run.result('bridges absent')
    assert run.rc == 0 and result['deleted'] == [] and not result['changed'], run
    assert result['in_use'] == [{'iface': 'vmbr1003', 'used_by': ['qemu/9011']}]
    assert 'vmbr1003' in net(sim, 'pve2')['staged']


def test_bad_input_fails_with_one_clear_message(sim, playbook):
    lan = wanted(('student1@pve', 'lan'))
    cases = [
        ('reversed range', args(bridges=lan, bridge_range=[2000, 1000])),
        ('range too high', args(bridges=lan, bridge_range=[1000, 20000])),
        ('range exhausted', args(bridges=lan, bridge_range=[1000, 1000])),
        ('range not numbers', args(bridges=lan, bridge_range=['a', 'b'])),
        ('bad userid', args(bridges=wanted(('student1', 'lan')))),
        ('bad alias', args(bridges=wanted(('student1@pve', 'LAN-1')))),
        ('missing alias', args(bridges=[{'userid': 'student1@pve'}])),
        ('unknown node', args('pve9', bridges=lan)),
    ]
    run = playbook(play(*[(name, a, {'ignore_errors': True}) for name, a in cases]), sim)
    assert 'Traceback' not in run.output
    res = dict((name, run.result(name)) for name, _a in cases)
    assert all(failed(run, name) for name in res), res
    assert 'bridge_range' in res['reversed range']['msg'] and 'bridge_range' in res['range too high']['msg']
    assert 'pve2' in res['range exhausted']['msg'] and 'free' in res['range exhausted']['msg']
    assert 'bridge_range' in res['range not numbers']['msg']
    assert 'bridges[0].userid' in res['bad userid']['msg'] and 'bridges[0].alias' in res['bad alias']['msg']
    assert 'alias' in res['missing alias']['msg']
    assert 'pve9' in res['unknown node']['msg']
    assert net(sim, 'pve2')['staged'] is None


def test_dropped_connections_never_give_an_alias_two_bridges(sim_factory, playbook):
    lab = sim_factory(faults={'drop_rate': 0.2, 'seed': 11})
    many = wanted(*[('student%d@pve' % i, a) for i in range(1, 5) for a in ('lan', 'wan')])
    task = ('bridges exist', args(bridges=many), {'ignore_errors': True})
    first = playbook(play(task, ('network applied', args(state='applied'), {'ignore_errors': True})), lab)
    assert 'Traceback' not in first.output
    lab.set_faults(drop_rate=0.0)
    again = playbook(play(task, ('network applied', args(state='applied'))), lab)
    assert again.rc == 0, again
    staged = net(lab, 'pve2')['running']
    markers = [o.get('comments') for o in staged.values() if str(o.get('comments', '')).startswith('deploystand:')]
    assert len(markers) == len(set(markers)) == 8
    assert net(lab, 'pve2')['staged'] is None
    third = playbook(play(task), lab)
    assert third.changed_total == 0, third


def test_names_are_unique_in_the_cluster_even_for_runs_on_all_nodes_at_once(sim, playbook):
    # the same students' bridges asked on the three nodes in parallel (three hosts, three forks), and an
    # admin's bridge of this stand's next name hidden on pve3
    root_api(sim).nodes('pve3').network.post(iface='vmbr1002', type='bridge', comments='admin, hidden')
    hosts = [{'hosts': 'pve1,pve2,pve3', 'gather_facts': False, 'strategy': 'free',
              'vars': {'ansible_connection': 'local', 'ansible_python_interpreter': '{{ ansible_playbook_python }}'},
              'tasks': [{'name': 'bridges exist', MODULE: args(
                  node='{{ inventory_hostname }}',
                  bridges=wanted(*[('student%d@pve' % i, a) for i in range(1, 4) for a in ('lan', 'wan')]))}]}]
    run = playbook(hosts, sim, args=['-i', 'pve1,pve2,pve3,', '-f', '3'])
    assert run.rc == 0, run
    made = dict((t['host'], t['result']['created']) for t in run.tasks if t['task'] == 'bridges exist')
    names = [i for created in made.values() for i in created]
    assert len(names) == 18 == len(set(names)), made
    assert 'vmbr1000' not in names and 'vmbr1002' not in names        # the uplink on pve2, the hidden one on pve3
    for node, created in made.items():
        index = ['pve1', 'pve2', 'pve3'].index(node)
        assert all(int(i[4:]) % 3 == index for i in created), (node, created)


def test_a_marked_bridge_whose_name_is_on_another_node_is_replaced_then_removed_by_name(sim, playbook):
    api = root_api(sim)
    api.nodes('pve1').network.post(iface='vmbr1000', type='bridge', comments=LAN1)   # pve2 has the uplink vmbr1000
    lan = args('pve1', bridges=wanted(('student1@pve', 'lan')))
    run = playbook(play(('bridges exist', lan), ('again', lan)), sim)
    assert run.rc == 0, run
    first, again = run.result('bridges exist'), run.result('again')
    assert first['mapping'] == {'student1@pve': {'lan': 'vmbr1002'}} and first['created'] == ['vmbr1002']
    assert first['stale'] == [{'userid': 'student1@pve', 'alias': 'lan', 'marker': LAN1, 'iface': 'vmbr1000'}]
    assert not again['changed'] and again['stale'] == first['stale']
    run = playbook(play(('stale gone', args('pve1', state='absent', ifaces=['vmbr1000', 'vmbr0']))), sim)
    assert run.result('stale gone')['deleted'] == ['vmbr1000'], run
    assert sorted(net(sim, 'pve1')['staged']) == ['eno1', 'vmbr0', 'vmbr1002']
    assert net(sim, 'pve2')['running']['vmbr1000']['comments'] == 'lab uplink'


def test_the_network_role_applies_a_removal_a_killed_run_left_staged(sim, playbook):
    run = playbook(play(('bridges exist', args('pve1', bridges=wanted(('student1@pve', 'lan'))), {'register': 'made'}),
                        ('network applied', args('pve1', state='applied'))), sim)
    assert run.rc == 0, run
    iface = run.result('bridges exist')['mapping']['student1@pve']['lan']
    # a run killed after deleting the bridge and before its apply: the deletion is only staged
    assert playbook(play(('bridges absent', args('pve1', state='absent'))), sim).rc == 0
    assert net(sim, 'pve1')['staged'] is not None and iface in net(sim, 'pve1')['running']
    # the re-run deletes nothing, yet applies (as destroy_stand.yml's class run and stand_cleanup.yml need)
    role = [{'hosts': 'localhost', 'gather_facts': False, 'roles': [{
        'role': 'deploystand.proxmox.stand_network',
        'vars': {'stand_network_node': 'pve1', 'stand_network_stand': 'netlab', 'stand_network_state': 'absent',
                 'stand_network_userids': ['student1@pve']}}]}]
    run = playbook(role, sim)
    assert run.rc == 0, run
    assert net(sim, 'pve1')['staged'] is None and iface not in net(sim, 'pve1')['running']
    again = playbook(role, sim)
    assert again.rc == 0 and again.changed_total == 0, again
