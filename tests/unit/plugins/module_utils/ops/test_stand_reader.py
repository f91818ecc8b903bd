"""stand_reader against the simulator: a constant number of cluster reads, at most one agent call per
running VM, an agent that does not answer is "no address", a refused agent call is said once."""
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.client import PveClient
from ansible_collections.deploystand.proxmox.plugins.module_utils.ops.stand_reader import read_stands

from deploystand_sim.stand_scenario import stand_scenario, with_agents

AGENT_CALL = 'GET /nodes/{node}/qemu/{vmid}/agent/{command}'    # the simulator counts by route


def connect(sim, **overrides):
    options = dict(host=sim.host, port=sim.port, user='root@pam', password=sim.password, ca_path=sim.cafile,
                   sleep=lambda s: None)
    options.update(overrides)
    return PveClient(**options)


def cluster_reads(counters):
    return dict((k, v) for k, v in counters['requests'].items() if k != AGENT_CALL and 'access/ticket' not in k)


def test_the_cluster_is_read_a_constant_number_of_times_whatever_the_class_size(sim_factory):
    reads = []
    for size in (2, 12):
        sim = sim_factory(stand_scenario({'netlab': size}))
        client = connect(sim)
        sim.reset_counters()
        found = read_stands(client, created=True)
        assert len(found['stands']['netlab']['students']) == size
        reads.append(cluster_reads(sim.counters()))
    assert reads[0] == reads[1]
    assert sum(reads[0].values()) == 5      # resources, pools, users, 1 node's bridges, 1 storage's content


def test_one_agent_call_per_running_vm_and_addresses_from_the_agent(sim_factory):
    sim = sim_factory(stand_scenario({'netlab': 3}))
    sim.call(lambda pve: pve.vm(10001).__setattr__('status', 'stopped'))
    answering = sim.call(with_agents, 'netlab')
    sim.call(lambda pve: pve.vm(10002).__setattr__('agent', None))      # running, agent not running
    client = connect(sim)
    sim.reset_counters()
    found = read_stands(client, addresses=True, workers=3)
    assert sim.counters()['requests'][AGENT_CALL] == 8                   # 9 VMs, one stopped
    vms = dict((vm['vmid'], vm) for s in found['stands']['netlab']['students'].values() for vm in s['vms'])
    assert (vms[10000]['address'], vms[10000]['agent']) == ('192.0.2.10', 'ok')
    assert [a['interface'] for a in vms[10000]['addresses']] == ['lo', 'eth0']
    assert (vms[10001]['address'], vms[10001]['agent']) == (None, 'VM is stopped')
    assert (vms[10002]['address'], vms[10002]['agent']) == (None, 'QEMU guest agent is not running')
    assert answering == 8 and found['unseen'] == []


def test_a_refused_agent_call_is_no_address_and_one_warning(sim_factory):
    sim = sim_factory(stand_scenario({'netlab': 2}))
    sim.call(with_agents, 'netlab')
    sim.add_user('lister@pve', 'lister-password')
    # what a listing needs, without VM.GuestAgent.Audit (PVEAuditor holds it in PVE 9)
    sim.call(lambda pve: pve.grant('lister@pve', '/', 'VM.Audit', 'Pool.Audit', 'Sys.Audit', 'SDN.Audit',
                                   'User.Modify'))
    found = read_stands(connect(sim, user='lister@pve', password='lister-password'), addresses=True)
    vms = [vm for s in found['stands']['netlab']['students'].values() for vm in s['vms']]
    assert len(vms) == 6 and all(vm['address'] is None for vm in vms)
    assert len(found['unseen']) == 1 and 'VM.GuestAgent.Audit' in found['unseen'][0]
