"""Markers, ownership, derived names, tags, passwords, MACs and NIC strings."""
import re

import pytest

from ansible_collections.deploystand.proxmox.plugins.module_utils.errors import StandError
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.formats import (
    format_net, format_tags, parse_net, parse_tags, valid_mac,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.allocation import (
    ecorouter_mac, is_ecorouter_mac,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.names import (
    MANAGED_TAG, bridge_marker, owns, parse_marker, pool_id, pool_id_problem, pool_marker, split_userid,
    stand_tag, user_marker, vm_name, vm_name_problem,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.passwords import generate_password


# --- markers and ownership -------------------------------------------------------------------

def test_markers_have_the_documented_shape():
    assert MANAGED_TAG == 'deploystand'
    assert stand_tag('netlab') == 'stand-netlab'
    assert user_marker('netlab') == 'deploystand:netlab'
    assert pool_marker('netlab', 'student1@pve') == 'deploystand:netlab:student1@pve'
    assert bridge_marker('netlab', 'student1@pve', 'lan') == 'deploystand:netlab:student1@pve:lan'


def test_parse_marker_finds_a_bridge_marker_among_other_comment_lines():
    text = 'lab bridge, do not edit\ndeploystand:netlab:student1@pve:lan\nmore text'
    assert parse_marker(text) == {'stand': 'netlab', 'userid': 'student1@pve', 'alias': 'lan'}


def test_parse_marker_leaves_missing_parts_none():
    assert parse_marker('deploystand:netlab') == {'stand': 'netlab', 'userid': None, 'alias': None}
    assert parse_marker('deploystand:netlab:s1@pve')['alias'] is None


def test_parse_marker_returns_none_without_a_marker():
    assert parse_marker('') is None
    assert parse_marker(None) is None
    assert parse_marker('deploystandnetlab, deploystand is great') is None


def test_parse_marker_skips_malformed_markers():
    assert parse_marker('deploystand:Net_Lab') is None
    assert parse_marker('deploystand:netlab:nouserrealm') is None


def test_owns_matches_the_exact_marker():
    assert owns('deploystand:netlab:student1@pve', 'deploystand:netlab:student1@pve')


def test_owns_rejects_a_stand_whose_name_is_a_prefix():
    comment = 'deploystand:netlab2:student1@pve'
    assert not owns(comment, pool_marker('netlab', 'student1@pve'))
    assert not owns('deploystand:netlab', user_marker('net'))


def test_owns_rejects_a_longer_marker_of_the_same_stand():
    # a pool marker must not make the stand think it owns the user, and vice versa
    assert not owns('deploystand:netlab:student1@pve', 'deploystand:netlab')
    assert not owns('deploystand:netlab', 'deploystand:netlab:student1@pve')


def test_owns_finds_the_marker_on_its_own_line_of_a_longer_comment():
    assert owns('Teacher notes\ndeploystand:netlab\n', 'deploystand:netlab')


def test_owns_is_false_for_empty_comments():
    assert not owns(None, 'deploystand:netlab')
    assert not owns('', 'deploystand:netlab')


# --- names -----------------------------------------------------------------------------------

def test_split_userid_splits_at_the_last_at_sign():
    assert split_userid('student1@pve') == ('student1', 'pve')
    assert split_userid('a@b@pve') == ('a@b', 'pve')
    assert split_userid('student1') == ('student1', None)


def test_pool_id_is_stand_dash_user_name_without_realm():
    assert pool_id('netlab', 'student1@pve') == 'netlab-student1'


def test_pool_id_keeps_dots_and_underscores():
    assert pool_id('netlab', 'John.Doe_2@pve') == 'netlab-John.Doe_2'
    assert pool_id_problem('netlab', 'John.Doe_2@pve') is None


def test_pool_id_problem_rejects_characters_pve_pools_refuse():
    assert 'netlab-a+b' in pool_id_problem('netlab', 'a+b@pve')


def test_vm_name_is_user_dash_machine():
    assert vm_name('student1@pve', 'router') == 'student1-router'


def test_vm_name_maps_underscore_and_dot_to_dash_and_lower_cases():
    assert vm_name('John.Doe_2@pve', 'router') == 'john-doe-2-router'


def test_vm_name_rejects_a_name_starting_with_a_dash_after_mapping():
    with pytest.raises(StandError, match='not a DNS label'):
        vm_name('_admin@pve', 'router')


def test_vm_name_rejects_non_ascii_letters():
    with pytest.raises(StandError, match='not a DNS label'):
        vm_name('jürgen@pve', 'router')


def test_vm_name_rejects_labels_longer_than_63_characters():
    assert vm_name_problem('a' * 56 + '@pve', 'router') is None      # exactly 63
    assert 'longer than 63' in vm_name_problem('a' * 57 + '@pve', 'router')


# --- tags ------------------------------------------------------------------------------------

def test_parse_tags_splits_on_commas_semicolons_and_spaces_like_pve():
    assert parse_tags('Stand-Netlab;deploystand, extra  extra') == ['deploystand', 'extra', 'stand-netlab']


def test_parse_tags_of_nothing_is_empty():
    assert parse_tags('') == []
    assert parse_tags(None) == []


def test_format_tags_joins_sorted_unique_with_semicolons():
    assert format_tags(['stand-netlab', 'deploystand', 'deploystand']) == 'deploystand;stand-netlab'


# --- passwords -------------------------------------------------------------------------------

def test_generated_password_has_the_requested_length():
    assert len(generate_password()) == 20
    assert len(generate_password(12)) == 12


def test_generated_password_avoids_look_alike_characters():
    for _ in range(200):
        assert not set(generate_password()) & set('0Oo1lI')


def test_generated_password_has_lower_upper_and_digit():
    for _ in range(200):
        password = generate_password(8)
        assert re.search('[a-z]', password) and re.search('[A-Z]', password) and re.search('[0-9]', password)


def test_generated_passwords_differ():
    assert len(set(generate_password() for _ in range(50))) == 50


def test_generate_password_refuses_lengths_pve_refuses():
    with pytest.raises(StandError):
        generate_password(7)
    with pytest.raises(StandError):
        generate_password(65)


# --- MACs ------------------------------------------------------------------------------------

def test_ecorouter_mac_uses_the_oui_and_upper_case():
    assert ecorouter_mac(10001, 1) == '1C:87:76:40:38:89'    # (10001 % 8192) * 8 + 1 = 0x3889


def test_ecorouter_mac_is_a_valid_unicast_pve_mac():
    for vmid in (100, 8191, 10000, 999999999):
        for index in range(8):
            assert valid_mac(ecorouter_mac(vmid, index))


def test_ecorouter_mac_is_stable_for_a_vm_and_nic():
    assert ecorouter_mac(12345, 3) == ecorouter_mac(12345, 3)
    assert ecorouter_mac('12345', '3') == ecorouter_mac(12345, 3)


def test_ecorouter_macs_are_distinct_for_8192_consecutive_vmids():
    macs = set(ecorouter_mac(vmid, i) for vmid in range(10000, 10000 + 8192) for i in range(8))
    assert len(macs) == 8192 * 8


def test_ecorouter_mac_repeats_for_vmids_equal_mod_8192():
    assert ecorouter_mac(10000, 0) == ecorouter_mac(10000 + 8192, 0)


def test_ecorouter_mac_refuses_a_ninth_nic():
    with pytest.raises(StandError, match='0..7'):
        ecorouter_mac(10000, 8)


def test_is_ecorouter_mac_accepts_either_case_and_rejects_other_ouis():
    assert is_ecorouter_mac('1c:87:76:40:00:01')
    assert not is_ecorouter_mac('BC:24:11:00:00:01')
    assert not is_ecorouter_mac('1C:87:76:40:00')


def test_valid_mac_rejects_multicast_and_malformed():
    assert valid_mac('BC:24:11:AA:BB:CC')
    assert not valid_mac('01:00:5E:00:00:01')        # I/G bit set
    assert not valid_mac('BC-24-11-AA-BB-CC')
    assert not valid_mac(None)


# --- NIC strings -----------------------------------------------------------------------------

def test_parse_net_reads_model_mac_bridge_and_link_down():
    nic = parse_net('virtio=BC:24:11:AA:BB:CC,bridge=vmbr1001,firewall=1,link_down=1')
    assert nic == {'model': 'virtio', 'mac': 'BC:24:11:AA:BB:CC', 'bridge': 'vmbr1001',
                   'link_down': True, 'firewall': '1'}


def test_parse_net_accepts_the_model_macaddr_form():
    nic = parse_net('model=vmxnet3,macaddr=1C:87:76:40:00:00,bridge=vmbr0')
    assert (nic['model'], nic['mac'], nic['bridge']) == ('vmxnet3', '1C:87:76:40:00:00', 'vmbr0')


def test_parse_net_without_mac_or_bridge():
    assert parse_net('virtio') == {'model': 'virtio', 'mac': None, 'bridge': None, 'link_down': False}


def test_format_net_puts_model_mac_first_then_bridge_then_sorted_options():
    nic = {'model': 'vmxnet3', 'mac': '1C:87:76:40:00:00', 'bridge': 'vmbr0', 'link_down': True,
           'tag': '10', 'firewall': '1'}
    assert format_net(nic) == 'vmxnet3=1C:87:76:40:00:00,bridge=vmbr0,firewall=1,link_down=1,tag=10'


@pytest.mark.parametrize('text', [
    'virtio=BC:24:11:AA:BB:CC,bridge=vmbr1001,firewall=1,link_down=1',
    'vmxnet3=1C:87:76:40:00:08,bridge=vmbr0,link_down=1',
    'e1000=BC:24:11:00:00:02,bridge=vmbr1,mtu=1500,queues=2,rate=10,tag=20,trunks=1;2',
    'virtio,bridge=vmbr0',
])
def test_format_net_round_trips_canonical_strings(text):
    assert format_net(parse_net(text)) == text
    assert parse_net(format_net(parse_net(text))) == parse_net(text)


def test_format_net_omits_link_down_when_false():
    assert format_net({'model': 'virtio', 'mac': None, 'bridge': 'vmbr0', 'link_down': False}) == 'virtio,bridge=vmbr0'
