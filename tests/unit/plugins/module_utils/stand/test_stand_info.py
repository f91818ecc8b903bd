"""stand_info: stands found from PVE's answers by their markers only, look-alikes, agent addresses."""
import pytest

from ansible_collections.deploystand.proxmox.plugins.module_utils.stand import info as I


def qemu(vmid, name, pool=None, tags='', node='pve1', status='running', maxmem=1073741824, **extra):
    item = {'type': 'qemu', 'vmid': vmid, 'name': name, 'node': node, 'status': status, 'maxmem': maxmem,
            'uptime': 60 if status == 'running' else 0, 'template': 0}
    if pool:
        item['pool'] = pool
    if tags:
        item['tags'] = tags
    item.update(extra)
    return item


def node(name, status='online'):
    return {'type': 'node', 'node': name, 'status': status}


TAGS = 'deploystand;stand-netlab'


def netlab(users=('s1@pve', 's2@pve')):
    """Pools, users, VMs and bridges of a complete stand netlab (router + host1 per student)."""
    resources, pools, user_list, bridges = [node('pve1')], [], [], {'pve1': [{'iface': 'vmbr0', 'active': 1}]}
    for n, userid in enumerate(users):
        name = userid.split('@')[0]
        pools.append({'poolid': 'netlab-' + name, 'comment': 'deploystand:netlab:' + userid})
        user_list.append({'userid': userid, 'comment': 'deploystand:netlab', 'enable': 1, 'expire': 0})
        resources.append(qemu(10000 + 2 * n, name + '-router', 'netlab-' + name, TAGS + ';ecorouter'))
        resources.append(qemu(10001 + 2 * n, name + '-host1', 'netlab-' + name, TAGS, status='stopped'))
        bridges['pve1'].append({'iface': 'vmbr{0}'.format(1000 + n), 'active': 1,
                                'comments': 'deploystand:netlab:{0}:lan\n'.format(userid)})
    return resources, pools, user_list, bridges


def test_a_complete_stand_is_found_with_its_students_vms_and_bridges():
    found = I.find_stands(*netlab())
    assert sorted(found['stands']) == ['netlab'] and found['look_alikes'] == []
    stand = found['stands']['netlab']
    assert (stand['vm_count'], stand['running'], stand['bridge_count'], stand['nodes'], stand['complete']) == \
        (4, 2, 2, ['pve1'], True)
    s1 = stand['students']['s1@pve']
    assert s1['pool'] == 'netlab-s1' and s1['user']['owned'] and s1['user']['expire'] is None
    assert [(v['vmid'], v['name'], v['machine'], v['status']) for v in s1['vms']] == [
        (10000, 's1-router', 'router', 'running'), (10001, 's1-host1', 'host1', 'stopped')]
    assert s1['bridges'] == [{'node': 'pve1', 'iface': 'vmbr1000', 'alias': 'lan', 'active': True}]
    assert s1['memory'] == 2 * 1073741824 and s1['complete'] and s1['problems'] == []


def test_expiry_and_an_existing_unmarked_user_are_shown():
    resources, pools, users, bridges = netlab()
    users[0].update(expire=1798761600)          # 2027-01-01
    users[1].update(comment='the admin made me')
    found = I.find_stands(resources, pools, users, bridges)
    s1, s2 = (found['stands']['netlab']['students'][u]['user'] for u in ('s1@pve', 's2@pve'))
    assert (s1['expire'], s1['expire_at']) == (1798761600, '2027-01-01T00:00:00Z')
    assert s2['exists'] and not s2['owned'] and found['look_alikes'] == []


def test_created_is_the_earliest_disk_of_the_stand():
    volumes = [{'volid': 'local-lvm:vm-10000-disk-0', 'vmid': 10000, 'ctime': 2000},
               {'volid': 'local-lvm:vm-10001-disk-0', 'vmid': 10001, 'ctime': 1500},
               {'volid': 'local-lvm:base-9001-disk-0', 'vmid': 9001, 'ctime': 10},
               {'volid': 'local-lvm:vm-10002-disk-0', 'vmid': 10002, 'ctime': 0}]
    stand = I.find_stands(*netlab(), volumes=volumes)['stands']['netlab']
    assert stand['students']['s1@pve']['created'] == 1500 and stand['created'] == 1500
    assert stand['students']['s2@pve']['created'] is None
    assert I.find_stands(*netlab())['stands']['netlab']['created'] is None


def test_markers_are_exact_other_stands_and_look_alikes_are_kept_apart():
    resources, pools, users, bridges = netlab(['s1@pve'])
    resources += [
        qemu(100, 'gateway'),                                                  # foreign, no marker: not listed
        qemu(10010, 's1-router', 'netlab-s1', ''),                             # in the pool, untagged
        qemu(10011, 's9-router', None, TAGS),                                  # tagged, pool gone
        qemu(10012, 's1-router', 'teachers', TAGS),                            # tagged, someone else's pool
    ]
    pools += [{'poolid': 'netlab2-s1', 'comment': 'deploystand:netlab2:s1@pve'},   # another stand
              {'poolid': 'netlab-s7', 'comment': 'admin pool'},                    # no marker: not listed
              {'poolid': 'renamed', 'comment': 'deploystand:netlab:s5@pve'}]       # marker, wrong id
    resources.append(qemu(10020, 's1-router', 'netlab2-s1', 'deploystand;stand-netlab2'))
    users += [{'userid': 's3@pve', 'comment': 'deploystand:netlab'},          # user left, pool gone
              {'userid': 'teacher@pve', 'comment': 'deploystand:net'}]         # stand net's user
    bridges['pve1'] += [{'iface': 'vmbr1005', 'comments': 'deploystand:netlab:s4@pve:lan'},
                        {'iface': 'vmbr1006', 'comments': 'deploystand:netlabX'},
                        {'iface': 'vmbr1007', 'comments': 'lab uplink deploystand:netlab2:s1@pve:wan'}]
    found = I.find_stands(resources, pools, users, bridges)
    assert sorted(found['stands']) == ['netlab', 'netlab2']
    assert [v['vmid'] for v in found['stands']['netlab']['students']['s1@pve']['vms']] == [10000, 10001]
    netlab2 = found['stands']['netlab2']['students']['s1@pve']
    assert [v['vmid'] for v in netlab2['vms']] == [10020]
    assert [b['iface'] for b in netlab2['bridges']] == ['vmbr1007']
    assert netlab2['problems'] == [] and not netlab2['user']['owned']
    got = [(i['kind'], str(i['id']), i['stand'], i['userid']) for i in found['look_alikes']]
    assert got == [('user', 'teacher@pve', 'net', 'teacher@pve'), ('vm', '10011', 'netlab', None), ('vm', '10012', 'netlab', None),
                   ('vm', '10010', 'netlab', 's1@pve'), ('user', 's3@pve', 'netlab', 's3@pve'),
                   ('bridge', 'vmbr1005', 'netlab', 's4@pve'), ('pool', 'renamed', 'netlab', 's5@pve')]
    assert 'in no pool' in found['look_alikes'][1]['why']
    assert 'in pool teachers, not a pool of that stand' in found['look_alikes'][2]['why']


def test_a_half_destroyed_student_is_incomplete_and_says_why():
    resources, pools, users, bridges = netlab()
    users.pop()                                              # s2's user gone
    resources[:] = [r for r in resources if r.get('pool') != 'netlab-s2']   # and its VMs
    stand = I.find_stands(resources, pools, users, bridges)['stands']['netlab']
    assert not stand['complete'] and stand['students']['s1@pve']['complete']
    assert stand['students']['s2@pve']['problems'] == [
        'user s2@pve does not exist', 'pool netlab-s2 holds no VM of the stand']


def test_filters_keep_only_the_named_stands_and_students():
    resources, pools, users, bridges = netlab()
    pools.append({'poolid': 'other-s1', 'comment': 'deploystand:other:s1@pve'})
    bridges['pve1'].append({'iface': 'vmbr1009', 'comments': 'deploystand:netlab:s9@pve:lan'})
    found = I.find_stands(resources, pools, users, bridges, stands=['netlab'], students=['s2@pve'])
    assert list(found['stands']) == ['netlab'] and list(found['stands']['netlab']['students']) == ['s2@pve']
    assert found['look_alikes'] == []
    assert I.find_stands(resources, pools, users, bridges, stands=['nosuch'])['stands'] == {}


def test_offline_nodes_and_clones_in_progress_are_warned_about():
    resources, pools, users, bridges = netlab()
    resources += [node('pve2', 'offline'), {'type': 'qemu', 'vmid': 10050, 'name': 'VM 10050', 'node': 'pve1',
                                             'lock': 'clone', 'status': 'stopped'}]
    warnings = I.find_stands(resources, pools, users, bridges)['unseen']
    assert any('being cloned' in w for w in warnings)
    assert any(w.startswith('node pve2 is offline') for w in warnings)


def test_stand_vms_lists_every_vm_in_order():
    found = I.find_stands(*netlab())
    assert [(s['stand'], st['userid'], vm['vmid']) for s, st, vm in I.stand_vms(found)] == [
        ('netlab', 's1@pve', 10000), ('netlab', 's1@pve', 10001),
        ('netlab', 's2@pve', 10002), ('netlab', 's2@pve', 10003)]


def test_machine_of_follows_the_vm_name_rule():
    assert I.machine_of('john-doe-router', 'John.Doe@pve') == 'router'
    assert I.machine_of('renamed', 's1@pve') is None and I.machine_of('s1-', 's1@pve') is None


AGENT = {'result': [
    {'name': 'lo', 'hardware-address': '00:00:00:00:00:00',
     'ip-addresses': [{'ip-address': '127.0.0.1', 'ip-address-type': 'ipv4', 'prefix': 8},
                      {'ip-address': '::1', 'ip-address-type': 'ipv6', 'prefix': 128}]},
    {'name': 'eth0', 'hardware-address': 'bc:24:11:00:00:01',
     'ip-addresses': [{'ip-address': 'fe80::1%eth0', 'ip-address-type': 'ipv6', 'prefix': 64},
                      {'ip-address': '2001:db8::10', 'ip-address-type': 'ipv6', 'prefix': 64},
                      {'ip-address': '192.0.2.10', 'ip-address-type': 'ipv4', 'prefix': 24}]},
    {'name': 'eth1', 'hardware-address': 'bc:24:11:00:00:02',
     'ip-addresses': [{'ip-address': '10.1.0.5', 'ip-address-type': 'ipv4', 'prefix': 16}]},
    {'name': 'eth2', 'hardware-address': 'bc:24:11:00:00:03'},
]}


def test_guest_addresses_read_pve_agent_answer():
    addresses = I.guest_addresses(AGENT)
    assert len(addresses) == 6 and addresses[3] == {
        'interface': 'eth0', 'mac': 'bc:24:11:00:00:01', 'address': '2001:db8::10', 'prefix': 64, 'family': 'ipv6'}
    assert I.guest_addresses({'result': None}) == [] and I.guest_addresses('garbage') == []


@pytest.mark.parametrize('selection, expected', [
    ({}, '192.0.2.10'),
    ({'family': 'ipv6'}, '2001:db8::10'),
    ({'family': 'any'}, '2001:db8::10'),
    ({'interface': 'eth1'}, '10.1.0.5'),
    ({'interface': 'eth*', 'networks': ['10.0.0.0/8']}, '10.1.0.5'),
    ({'networks': ['198.51.100.0/24']}, None),
    ({'interface': 'ens*'}, None),
])
def test_pick_address_skips_loopback_and_link_local_and_follows_the_selection(selection, expected):
    assert I.pick_address(I.guest_addresses(AGENT), **selection) == expected


def test_address_problem_names_a_bad_network_or_family():
    assert I.address_problem(networks=['10.0.0.0/8']) is None
    assert 'not a network' in I.address_problem(networks=['10.0.0/33'])
    assert 'address_family' in I.address_problem(family='ipv5')


def test_filter_problems_name_the_option_and_every_bad_value():
    assert I.filter_problems(['netlab'], ['s1@pve'], ['10.0.0.0/8'], 'ipv4', 8) == []
    problems = I.filter_problems(['netlab', 'Bad'], ['s1'], ['nonet'], 'ipv4', 0)
    assert [p.split(':')[0] for p in problems] == ['stands[1]', 'students[0]', 'address_networks',
                                                   'agent_workers must be a whole number of at least 1, got 0']
