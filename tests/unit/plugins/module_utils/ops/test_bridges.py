"""pve_bridge's decisions: the pending-changes diff per interface, whose change it is, which bridges a stand
owns, which names are free, and the flow on a fake client."""
import textwrap

import pytest

from ansible_collections.deploystand.proxmox.plugins.module_utils.ops import bridges as N
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.client import PveApiError
from ansible_collections.deploystand.proxmox.plugins.module_utils.errors import StandError

LAN = 'deploystand:netlab:student1@pve:lan'
WAN = 'deploystand:netlab:student1@pve:wan'


def diff(text):
    return textwrap.dedent(text).lstrip('\n').replace('    ', '\t')


ADDED = diff('''
    --- /etc/network/interfaces
    +++ /etc/network/interfaces.new
    @@ -13,3 +13,10 @@
     	bridge-fd 0
     #lab uplink
     
    +auto vmbr1001
    +iface vmbr1001 inet manual
    +	bridge-ports none
    +	bridge-stp off
    +	bridge-fd 0
    +#deploystand:netlab:student1@pve:lan
    +
''')

# What PVE's diff looks like when a stanza replaces another at the same place: lines of both
# interfaces interleave, and the shared lines are context of both.
REPLACED = diff('''
    --- /etc/network/interfaces
    +++ /etc/network/interfaces.new
    @@ -10,10 +10,10 @@
     	bridge-stp off
     	bridge-fd 0
     
    -auto vmbr1000
    -iface vmbr1000 inet manual
    +auto vmbr1001
    +iface vmbr1001 inet manual
     	bridge-ports none
     	bridge-stp off
     	bridge-fd 0
    -#lab uplink
    +#deploystand:netlab:student1@pve:lan
     
''')

REMOVED_OURS = diff('''
    --- /etc/network/interfaces
    +++ /etc/network/interfaces.new
    @@ -19,10 +19,3 @@
     	bridge-fd 0
     #lab uplink
     
    -auto vmbr1001
    -iface vmbr1001 inet manual
    -	bridge-ports none
    -	bridge-stp off
    -	bridge-fd 0
    -#deploystand:netlab:student1@pve:lan
    -
''')

# An admin changed the MTU of vmbr0 far below its header: the hunk cannot name the interface.
MID_STANZA = diff('''
    --- /etc/network/interfaces
    +++ /etc/network/interfaces.new
    @@ -8,9 +8,9 @@
     	bridge-ports eno1
     	bridge-stp off
     	bridge-fd 0
    -	mtu 1500
    +	mtu 9000
     
     auto vmbr1000
     iface vmbr1000 inet manual
''')

SOURCE_LINE = diff('''
    --- /etc/network/interfaces
    +++ /etc/network/interfaces.new
    @@ -20,3 +20,4 @@
     #deploystand:netlab:student1@pve:lan
     
     source /etc/network/interfaces.d/*
    +source /etc/network/more.d/*
''')


def bridge(iface, comments=None, active=1):
    item = {'iface': iface, 'type': 'bridge', 'active': active}
    if comments:
        item['comments'] = comments
    return item


BASE = [{'iface': 'eno1', 'type': 'eth', 'active': 1}, bridge('vmbr0'), bridge('vmbr1000', 'lab uplink')]


# --- parsing the diff --------------------------------------------------------------------------

def test_an_added_stanza_is_attributed_to_its_interface_with_its_marker():
    parsed = N.parse_changes(ADDED)
    assert list(parsed) == ['vmbr1001']
    assert parsed['vmbr1001']['removed'] == []
    assert '#' + LAN in parsed['vmbr1001']['added']


def test_interleaved_stanzas_are_split_by_side():
    parsed = N.parse_changes(REPLACED)
    assert sorted(parsed) == ['vmbr1000', 'vmbr1001']
    assert parsed['vmbr1000']['added'] == [] and '#lab uplink' in parsed['vmbr1000']['removed']
    assert parsed['vmbr1001']['removed'] == [] and '#' + LAN in parsed['vmbr1001']['added']
    # shared context belongs to both sides' stanzas
    assert '\tbridge-ports none' in parsed['vmbr1000']['old'] and '\tbridge-ports none' in parsed['vmbr1001']['new']


def test_changes_before_any_header_in_their_hunk_are_unattributed():
    parsed = N.parse_changes(MID_STANZA)
    assert list(parsed) == [None]
    assert parsed[None]['removed'] == ['\tmtu 1500'] and parsed[None]['added'] == ['\tmtu 9000']


def test_a_top_level_line_is_not_part_of_the_stanza_above_it():
    parsed = N.parse_changes(SOURCE_LINE)
    assert list(parsed) == [None]


def test_no_changes_parse_to_nothing():
    assert N.parse_changes(None) == {}
    assert N.parse_changes('') == {}


# --- whose pending change ----------------------------------------------------------------------

def test_our_new_bridge_is_our_pending_change():
    pending = N.pending_changes(ADDED, BASE + [bridge('vmbr1001', LAN, active=0)], 'netlab')
    assert pending == [{'iface': 'vmbr1001', 'action': 'added', 'ours': True, 'markers': [LAN]}]


def test_a_bridge_of_another_stand_is_foreign():
    pending = N.pending_changes(ADDED.replace('netlab', 'otherlab'),
                                BASE + [bridge('vmbr1001', LAN.replace('netlab', 'otherlab'), active=0)], 'netlab')
    assert [p['ours'] for p in pending] == [False]


def test_a_removed_bridge_is_ours_only_when_its_removed_lines_carry_our_marker():
    pending = N.pending_changes(REMOVED_OURS, BASE, 'netlab')
    assert pending == [{'iface': 'vmbr1001', 'action': 'removed', 'ours': True, 'markers': [LAN]}]
    pending = N.pending_changes(REPLACED, BASE[:2] + [bridge('vmbr1001', LAN, active=0)], 'netlab')
    assert {p['iface']: (p['action'], p['ours']) for p in pending} == {
        'vmbr1000': ('removed', False), 'vmbr1001': ('added', True)}


def test_unattributed_lines_are_never_ours():
    pending = N.pending_changes(MID_STANZA, BASE, 'netlab')
    assert [(p['iface'], p['ours']) for p in pending] == [(None, False)]
    assert 'mtu' in N.describe_change(pending[0])


def test_an_inactive_bridge_of_ours_without_a_diff_is_pending_too():
    pending = N.pending_changes(None, BASE + [bridge('vmbr1001', LAN, active=0)], 'netlab')
    assert pending == [{'iface': 'vmbr1001', 'action': 'inactive', 'ours': True, 'markers': [LAN]}]
    assert N.pending_changes(None, BASE + [bridge('vmbr1009', 'admin', active=0)], 'netlab') == []


def test_nothing_pending_when_the_config_is_applied():
    assert N.pending_changes(None, BASE + [bridge('vmbr1001', LAN)], 'netlab') == []


# --- ownership and selection -------------------------------------------------------------------

def test_bridge_markers_ignore_other_stands_and_prefixes():
    text = 'note\n' + LAN + '\ndeploystand:netlab2:x@pve:lan\ndeploystand:net:x@pve:lan'
    assert N.bridge_markers(text, 'netlab') == [('student1@pve', 'lan')]
    assert N.bridge_markers('deploystand:netlab', 'netlab') == []


def test_absent_selects_only_marked_bridges_of_the_stand():
    bridges = {'vmbr0': '', 'vmbr1000': 'lab uplink', 'vmbr1001': LAN, 'vmbr1002': WAN,
               'vmbr1003': 'deploystand:netlab:student2@pve:lan', 'vmbr1004': 'deploystand:other:student1@pve:lan'}
    assert [i for i, _ in N.select_owned(bridges, 'netlab')] == ['vmbr1001', 'vmbr1002', 'vmbr1003']
    assert [i for i, _ in N.select_owned(bridges, 'netlab', userids=['student2@pve'])] == ['vmbr1003']
    assert [i for i, _ in N.select_owned(bridges, 'netlab', pairs=[('student1@pve', 'wan')])] == ['vmbr1002']
    assert N.select_owned({'vmbr1000': 'lab uplink'}, 'netlab') == []


def test_next_candidate_skips_taken_names_and_fails_when_the_range_is_exhausted():
    assert N.next_candidate({'vmbr1000': 'x', 'vmbr1001': '?'}, LAN, 'lan', [1000, 1005]) == 'vmbr1002'
    with pytest.raises(StandError):
        N.next_candidate({'vmbr1000': 'x'}, LAN, 'lan', [1000, 1000])


def test_vm_bridges_reads_every_nic():
    config = {'net0': 'virtio=BC:24:11:00:00:01,bridge=vmbr0,firewall=1', 'net1': 'vmxnet3,bridge=vmbr1001',
              'net2': 'e1000', 'scsi0': 'local-lvm:vm-1-disk-0', 'name': 'bridge=vmbr9'}
    assert N.vm_bridges(config) == {'vmbr0', 'vmbr1001'}


# --- input -------------------------------------------------------------------------------------

def params(**over):
    p = dict(node='pve1', stand='netlab', bridges=[{'userid': 'student1@pve', 'alias': 'lan'}], userids=[],
             bridge_range=[1000, 9999])
    p.update(over)
    return p


@pytest.mark.parametrize('over, words', [
    ({'bridge_range': [2000, 1000]}, 'bridge_range'),
    ({'bridge_range': [1000, 20000]}, 'bridge_range'),
    ({'bridge_range': [1000]}, 'two integers'),
    ({'bridges': [{'userid': 'student1', 'alias': 'lan'}]}, 'bridges[0].userid'),
    ({'bridges': [{'userid': 'student1@pve', 'alias': 'Lan-1'}]}, 'bridges[0].alias'),
    ({'userids': ['x y@pve']}, 'userids[0]'),
    ({'stand': 'Bad_Stand'}, 'stand'),
])
def test_bad_input_gives_a_message_naming_the_field(over, words):
    errors = N.check_params(params(**over))
    assert errors and any(words in e for e in errors), errors


def test_good_input_has_no_problems():
    assert N.check_params(params()) == []


# --- the flow, on a fake client ----------------------------------------------------------------

class FakeClient(object):
    """A node network: visible/hidden bridges, POST/DELETE staging, a pending diff, VM configs."""

    def __init__(self, bridges=None, hidden=(), vms=None, race=(), changes=None, others=None, offline=(),
                 acl=()):
        self.bridges = dict(bridges or {})
        self.others = dict(others or {})     # other nodes: {node: {iface: comments}}
        self.offline = set(offline)
        self.acl = list(acl)
        self.hidden = set(hidden)            # exist, but the filtered list does not show them
        self.race = list(race)               # names a concurrent run takes just before our POST
        self.vms = vms or {}
        self.changes = changes
        self.writes = []

    def get(self, api_path, **params):
        parts = api_path.split('/')
        if api_path == 'nodes':
            return [{'node': n, 'status': 'offline' if n in self.offline else 'online'}
                    for n in ['pve1'] + sorted(self.others)]
        if api_path == 'access/acl':
            return list(self.acl)
        if parts[0] == 'nodes' and parts[1] in self.others and parts[2] == 'network':
            assert parts[1] not in self.offline, 'an offline node is never read'
            names = self.others[parts[1]]
            if len(parts) == 3:
                return [bridge(i, c) for i, c in sorted(names.items()) if i not in self.hidden]
            if parts[3] not in names:
                raise PveApiError('interface does not exist', kind='not_found')
            return {'comments': names[parts[3]], 'type': 'bridge'}
        if api_path == 'nodes/pve1/network':
            return [bridge(i, c) for i, c in sorted(self.bridges.items()) if i not in self.hidden]
        if parts[:3] == ['nodes', 'pve1', 'network']:
            if parts[3] not in self.bridges:
                raise PveApiError('interface does not exist', kind='not_found')
            return {'comments': self.bridges[parts[3]], 'type': 'bridge'}
        if api_path == 'nodes/pve1/qemu':
            return [{'vmid': v} for v in self.vms]
        if api_path == 'nodes/pve1/lxc':
            return []
        if parts[2] == 'qemu':
            return self.vms[int(parts[3])]
        raise AssertionError(api_path)

    def get_envelope(self, api_path, **params):
        """GET nodes/pve1/network with its `changes` (the pending diff) beside the data."""
        assert api_path == 'nodes/pve1/network'
        return {'data': [bridge(i, c) for i, c in sorted(self.bridges.items())], 'changes': self.changes}

    def post(self, api_path, **params):
        self.writes.append(('POST', params['iface'], params))
        if self.race and self.race[0] == params['iface']:
            self.bridges[self.race.pop(0)] = 'someone else'
        if params['iface'] in self.bridges:
            raise PveApiError('interface already exists', kind='exists')
        self.bridges[params['iface']] = params['comments']

    def delete(self, api_path, **params):
        iface = api_path.split('/')[-1]
        self.writes.append(('DELETE', iface, params))
        del self.bridges[iface]


def test_new_bridges_take_the_lowest_free_numbers_without_ports_or_vlan_awareness():
    client = FakeClient({'vmbr0': '', 'vmbr1000': 'lab uplink'})
    work = N.NodeBridges(client, 'pve1', 'netlab')
    result = work.present([{'userid': 'student1@pve', 'alias': 'lan'}, {'userid': 'student1@pve', 'alias': 'wan'}],
                          [1000, 9999])
    assert result['mapping'] == {'student1@pve': {'lan': 'vmbr1001', 'wan': 'vmbr1002'}}
    assert result['created'] == ['vmbr1001', 'vmbr1002'] and result['changed']
    sent = client.writes[0][2]
    assert sent == {'iface': 'vmbr1001', 'type': 'bridge', 'autostart': 1, 'comments': LAN}
    assert 'bridge_vlan_aware' not in sent and 'bridge_ports' not in sent


def test_alias_keeps_its_bridge_when_a_student_is_added():
    client = FakeClient({'vmbr0': '', 'vmbr1001': WAN, 'vmbr1003': LAN})
    result = N.NodeBridges(client, 'pve1', 'netlab').present(
        [{'userid': 'student0@pve', 'alias': 'lan'}, {'userid': 'student1@pve', 'alias': 'lan'},
         {'userid': 'student1@pve', 'alias': 'wan'}], [1000, 9999])
    assert result['mapping'] == {'student0@pve': {'lan': 'vmbr1000'},
                                 'student1@pve': {'lan': 'vmbr1003', 'wan': 'vmbr1001'}}
    assert result['created'] == ['vmbr1000']


def test_a_bridge_hidden_from_the_list_is_not_created_again():
    client = FakeClient({'vmbr0': '', 'vmbr1000': 'private'}, hidden=['vmbr1000'])
    result = N.NodeBridges(client, 'pve1', 'netlab').present([{'userid': 'student1@pve', 'alias': 'lan'}],
                                                             [1000, 9999])
    assert result['mapping']['student1@pve']['lan'] == 'vmbr1001' and result['taken'] == ['vmbr1000']
    assert [w[1] for w in client.writes] == ['vmbr1001']


def test_a_name_taken_by_a_concurrent_run_is_skipped():
    client = FakeClient({'vmbr0': ''}, race=['vmbr1000'])
    result = N.NodeBridges(client, 'pve1', 'netlab').present([{'userid': 'student1@pve', 'alias': 'lan'}],
                                                             [1000, 9999])
    assert result['created'] == ['vmbr1001'] and result['taken'] == ['vmbr1000']
    assert client.bridges['vmbr1000'] == 'someone else'


def test_check_mode_predicts_names_and_writes_nothing():
    client = FakeClient({'vmbr0': ''})
    result = N.NodeBridges(client, 'pve1', 'netlab', check_mode=True).present(
        [{'userid': 'student1@pve', 'alias': 'lan'}], [1000, 9999])
    assert result['changed'] and result['mapping']['student1@pve']['lan'] == 'vmbr1000'
    assert client.writes == [] and result['created'] == ['vmbr1000']   # predicted
    assert result['diff']['after']['bridges'] == {'vmbr1000': LAN}


def test_an_exhausted_range_fails():
    client = FakeClient({'vmbr1000': 'x', 'vmbr1001': 'y'})
    with pytest.raises(StandError):
        N.NodeBridges(client, 'pve1', 'netlab').present([{'userid': 'student1@pve', 'alias': 'lan'}], [1000, 1001])


def test_absent_deletes_unused_marked_bridges_and_keeps_used_and_unmarked_ones():
    client = FakeClient({'vmbr0': '', 'vmbr1000': 'lab uplink', 'vmbr1001': LAN, 'vmbr1002': WAN},
                        vms={10001: {'net0': 'virtio=BC:24:11:00:00:01,bridge=vmbr1002'}})
    result = N.NodeBridges(client, 'pve1', 'netlab').absent()
    assert result['deleted'] == ['vmbr1001']
    assert result['in_use'] == [{'iface': 'vmbr1002', 'used_by': ['qemu/10001']}]
    assert sorted(client.bridges) == ['vmbr0', 'vmbr1000', 'vmbr1002']


def test_absent_with_nothing_of_ours_reads_no_vm_configs():
    client = FakeClient({'vmbr0': '', 'vmbr1000': 'lab uplink'}, vms={1: None})
    result = N.NodeBridges(client, 'pve1', 'netlab').absent()
    assert not result['changed'] and client.writes == []


def test_a_removal_a_killed_run_staged_and_never_applied_is_still_due():
    # the bridge is gone from the pending view (the killed run deleted it); its removal is not applied yet
    staged = N.NodeBridges(FakeClient({'vmbr0': ''}, changes=REMOVED_OURS), 'pve1', 'netlab').absent()
    assert staged['deleted'] == [] and not staged['changed'] and staged['unapplied']
    applied = N.NodeBridges(FakeClient({'vmbr0': ''}), 'pve1', 'netlab').absent()
    assert not applied['unapplied']
    # another stand's staged removal is that stand's to apply
    other = FakeClient({'vmbr0': ''}, changes=REMOVED_OURS.replace('netlab', 'otherlab'))
    assert not N.NodeBridges(other, 'pve1', 'netlab').absent()['unapplied']


def test_a_skipped_name_does_not_steal_the_name_planned_for_the_next_alias():
    client = FakeClient({'vmbr0': '', 'vmbr1000': 'hidden admin bridge'}, hidden=['vmbr1000'])
    result = N.NodeBridges(client, 'pve1', 'netlab').present(
        [{'userid': 'student1@pve', 'alias': 'lan'}, {'userid': 'student1@pve', 'alias': 'wan'}], [1000, 9999])
    assert result['mapping'] == {'student1@pve': {'lan': 'vmbr1002', 'wan': 'vmbr1001'}}
    assert len(set(result['mapping']['student1@pve'].values())) == 2


def test_a_hidden_bridge_that_carries_our_marker_is_reused_not_duplicated():
    client = FakeClient({'vmbr0': '', 'vmbr1000': LAN}, hidden=['vmbr1000'])
    result = N.NodeBridges(client, 'pve1', 'netlab').present([{'userid': 'student1@pve', 'alias': 'lan'}],
                                                             [1000, 9999])
    assert result['mapping'] == {'student1@pve': {'lan': 'vmbr1000'}} and not result['changed']
    assert client.writes == []


# --- names unique in the cluster (issue 13 item 1) ----------------------------------------------

def present(client, wanted=(('student1@pve', 'lan'),), node='pve1', **kwargs):
    return N.NodeBridges(client, node, 'netlab').present(
        [dict(userid=u, alias=a, **({'iface': i[0]} if i else {})) for u, a, *i in wanted], [1000, 9999], **kwargs)


def test_a_name_that_is_a_bridge_on_another_node_is_never_made_here():
    # listed there, or hidden from the list (then found by the single GET before the POST)
    client = FakeClient({'vmbr0': ''}, others={'pve3': {'vmbr1000': 'lab uplink', 'vmbr1003': 'hidden'},
                                              'pve2': {}}, hidden=['vmbr1003'])
    result = present(client)
    # pve1 is the first of three nodes: its new names are N mod 3 = 0 (1002, 1005, ...)
    assert result['created'] == ['vmbr1002'] and result['taken'] == []
    client = FakeClient({'vmbr0': ''}, others={'pve2': {'vmbr1000': 'hidden'}}, hidden=['vmbr1000'])
    result = present(client)
    assert result['created'] == ['vmbr1002'] and result['taken'] == ['vmbr1000']     # two nodes: even numbers


def test_an_owned_bridge_whose_name_exists_on_another_node_is_replaced_and_reported_stale():
    client = FakeClient({'vmbr0': '', 'vmbr1000': LAN}, others={'pve2': {'vmbr1000': 'lab uplink'}})
    result = present(client)
    assert result['mapping'] == {'student1@pve': {'lan': 'vmbr1002'}} and result['created'] == ['vmbr1002']
    assert result['stale'] == [{'userid': 'student1@pve', 'alias': 'lan', 'marker': LAN, 'iface': 'vmbr1000'}]
    assert 'vmbr1000' in client.bridges, 'the stale bridge is deleted later, once its VMs moved'
    again = present(client)
    assert not again['changed'] and again['mapping'] == result['mapping'] and again['stale'] == result['stale']


def test_the_plans_proposal_is_made_and_reserved_or_granted_names_are_never_taken():
    client = FakeClient({'vmbr0': ''})
    assert present(client, [('student1@pve', 'lan', 'vmbr1007')])['created'] == ['vmbr1007']
    client = FakeClient({'vmbr0': ''}, acl=[{'path': '/sdn/zones/localnetwork/vmbr1001', 'ugid': 'x@pve'}])
    assert present(client, reserved=['vmbr1000'])['created'] == ['vmbr1002']


def test_an_offline_node_counts_for_the_share_but_is_not_read():
    client = FakeClient({'vmbr0': ''}, others={'pve2': {}, 'pve3': {}}, offline=['pve3'])
    assert present(client, node='pve1')['created'] == ['vmbr1002']


def test_absent_with_ifaces_deletes_only_those_marked_bridges():
    client = FakeClient({'vmbr0': '', 'vmbr1000': LAN, 'vmbr1002': LAN, 'vmbr1004': 'lab'})
    result = N.NodeBridges(client, 'pve1', 'netlab').absent(ifaces=['vmbr1000', 'vmbr1004'])
    assert result['deleted'] == ['vmbr1000'] and sorted(client.bridges) == ['vmbr0', 'vmbr1002', 'vmbr1004']


class LoggedClient(FakeClient):
    """FakeClient that logs every request in order; a path in `fail_once` breaks the first time it is read."""

    def __init__(self, *args, **kwargs):
        self.fail_once = set(kwargs.pop('fail_once', ()))
        super(LoggedClient, self).__init__(*args, **kwargs)
        self.log = []

    def get(self, api_path, **params):
        self.log.append(('GET', api_path))
        if api_path in self.fail_once:
            self.fail_once.discard(api_path)
            raise PveApiError('connection reset', kind='connection')
        return super(LoggedClient, self).get(api_path, **params)

    def post(self, api_path, **params):
        self.log.append(('POST', params['iface']))
        return super(LoggedClient, self).post(api_path, **params)


def test_the_new_names_are_read_before_the_first_bridge_is_made_and_a_failed_read_is_made_again():
    wanted = [('student{0}@pve'.format(n), 'lan') for n in (1, 2, 3)]
    client = LoggedClient({'vmbr0': ''}, others={'pve2': {'vmbr1004': 'hidden'}}, hidden=['vmbr1004'],
                          fail_once=['nodes/pve1/network/vmbr1002'])
    result = present(client, wanted)
    # two nodes: pve1 takes the even numbers; vmbr1004 is pve2's (hidden from its list), so it is passed over
    assert result['created'] == ['vmbr1000', 'vmbr1002', 'vmbr1006'] and result['taken'] == ['vmbr1004']
    first_write = client.log.index(('POST', 'vmbr1000'))
    read_before = set(path for method, path in client.log[:first_write] if method == 'GET')
    assert {'nodes/pve2/network/vmbr1000', 'nodes/pve1/network/vmbr1000', 'nodes/pve2/network/vmbr1004'} <= read_before
    # the read that broke is made again, in turn, before that bridge is made
    again = client.log.index(('POST', 'vmbr1002'))
    assert ('GET', 'nodes/pve1/network/vmbr1002') in client.log[first_write:again]
