"""The guest agent's network-get-interfaces and its errors (docs/simulator.md, "Guest agent")."""
import re
import time

import pytest
from proxmoxer.core import ResourceException

from deploystand_sim import ScenarioError, load
from deploystand_sim.agent import default_network
from sim_helpers import client, vm_user, wait
from test_sim_snapshots import SHORT, make_vm

MAC = re.compile(r'=([0-9A-F:]{17})')


def interfaces(vm):
    return vm.agent('network-get-interfaces').get()['result']


def ipv4(entry):
    return ['{0}/{1}'.format(a['ip-address'], a['prefix']) for a in entry['ip-addresses']
            if a['ip-address-type'] == 'ipv4']


def agent_error(vm):
    with pytest.raises(ResourceException) as caught:
        interfaces(vm)
    return caught.value.status_code, caught.value.content


def test_addresses_per_nic_from_the_netn_macs(sim_tiny):
    api = client(sim_tiny)
    vm = make_vm(api, 400)
    vm.config.put(net1='virtio,bridge=vmbr1001', net2='virtio,bridge=vmbr1002,link_down=1')
    api.nodes('pve1').network.post(iface='vmbr1001', type='bridge')
    api.nodes('pve1').network.post(iface='vmbr1002', type='bridge')
    wait(api, 'pve1', api.nodes('pve1').network.put())
    wait(api, 'pve1', vm.status.start.post())
    config = vm.config.get()
    got = interfaces(vm)
    assert [i['name'] for i in got] == ['lo', 'ens18', 'ens19', 'ens20']
    assert ipv4(got[0]) == ['127.0.0.1/8']
    assert [i['hardware-address'] for i in got[1:]] == [
        MAC.search(config[k]).group(1).lower() for k in ('net0', 'net1', 'net2')]
    assert ipv4(got[1]) == ['192.0.2.{0}/24'.format(20 + 400 % 234)]
    assert ipv4(got[2]) == [default_network('vmbr1001').replace('.0/24', '.{0}/24'.format(20 + 400 % 234))]
    assert ipv4(got[3]) == []  # link down: no address
    assert all(a['ip-address'].startswith('fe80::') for i in got[1:] for a in i['ip-addresses']
               if a['ip-address-type'] == 'ipv6')
    assert interfaces(vm) == got  # deterministic


def test_scenario_guest_networks_and_a_per_vm_override(sim_factory):
    sim = sim_factory({'nodes': [{'name': 'pve1'}], 'guest_networks': {'vmbr0': '172.16.0.0/16'},
                       'templates': [{'vmid': 9001, 'name': 'linux-tpl', 'agent': True}]})
    api = client(sim)
    vm = make_vm(api, 401, running=True)
    assert ipv4(interfaces(vm)[1]) == ['172.16.{0}.{1}/16'.format(*divmod(20 + 401 % (65534 - 20), 256))]
    sim.set_guest(401, addresses={'net0': ['10.9.8.7/24']})
    assert ipv4(interfaces(vm)[1]) == ['10.9.8.7/24']
    sim.set_guest(401, addresses={})
    assert ipv4(interfaces(vm)[1])[0].startswith('172.16.')


def test_no_agent_key_in_the_config(sim_tiny):
    api = client(sim_tiny)
    vm = make_vm(api, 402, source=9002, running=True)  # ecorouter-tpl has no `agent` option
    status, body = agent_error(vm)
    assert (status, body) == (500, 'No QEMU guest agent configured')


def test_agent_configured_but_vm_stopped(sim_tiny):
    api = client(sim_tiny)
    vm = make_vm(api, 403)
    assert agent_error(vm) == (500, 'VM 403 is not running')


@pytest.mark.parametrize('change', ['agent_off', 'guest_without_agent', 'hangs'])
def test_agent_not_running(sim_tiny, change):
    api = client(sim_tiny)
    vm = make_vm(api, 404)
    if change == 'agent_off':
        vm.config.put(agent=0)  # the key stays: configured, but QEMU has no agent channel
    elif change == 'guest_without_agent':
        sim_tiny.set_guest(404, agent=False)
    else:
        sim_tiny.set_guest(404, hangs=True)
    wait(api, 'pve1', vm.status.start.post())
    assert agent_error(vm) == (500, 'QEMU guest agent is not running')


def test_agent_answers_once_the_guest_has_booted(sim_factory):
    sim = sim_factory('tiny', time_factor=0.01, durations=dict(SHORT, guest_boot=40))
    api = client(sim)
    vm = make_vm(api, 405, running=True)
    assert agent_error(vm) == (500, 'QEMU guest agent is not running')
    time.sleep(0.5)
    assert ipv4(interfaces(vm)[1])


def test_a_clone_inherits_the_guest_agent_of_its_source(sim_tiny):
    api = client(sim_tiny)
    sim_tiny.set_guest(9001, agent=False)
    vm = make_vm(api, 406, running=True)
    assert agent_error(vm) == (500, 'QEMU guest agent is not running')
    sim_tiny.set_guest(9001, agent=True)
    assert interfaces(make_vm(api, 407, running=True))


def test_agent_reads_need_guest_agent_audit(sim_tiny):
    api = client(sim_tiny)
    make_vm(api, 408, running=True)
    api.access.roles.post(roleid='Looker', privs='VM.Audit')
    assert interfaces(vm_user(sim_tiny, 408, 'PVEAuditor'))
    with pytest.raises(ResourceException,
                       match=r'403.*\(/vms/408, VM.GuestAgent.Audit\|VM.GuestAgent.Unrestricted\)'):
        interfaces(vm_user(sim_tiny, 408, 'Looker', userid='st2@pve'))


def test_guest_networks_are_validated():
    with pytest.raises(ScenarioError, match=r'guest_networks.vmbr0: expected an IPv4 network'):
        load({'nodes': [{'name': 'pve1'}], 'guest_networks': {'vmbr0': '10.1.2.300/24'}})
    with pytest.raises(ScenarioError, match=r'templates\[0\].agent: expected true or false'):
        load({'nodes': [{'name': 'pve1'}], 'templates': [{'vmid': 9001, 'name': 't', 'agent': 'yes'}]})
