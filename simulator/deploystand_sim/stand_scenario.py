"""Scenarios that already hold deployed stands: the marked users, pools, VMs and bridges a deploy
would have made, written directly into the scenario (no deploy needed). For the listing and
inventory tests and benchmarks of many students:

    Simulator(stand_scenario({'netlab': 100}, machines=('router', 'host1', 'host2')))
    sim.call(with_agents, 'netlab')      # every running VM of the stand answers its guest agent

The objects follow the collection's naming and marker rules (docs/stand-model.md §3), spelled out
here on purpose: the simulator must not import the collection it tests.
"""

import os

import yaml

from .scenario import builtin

MACHINES = ('router', 'host1', 'host2')


def _student(n):
    return 'student{0}@pve'.format(n)


def stand_scenario(stands, machines=MACHINES, base='tiny', vmid_start=10000, bridge_start=1000,
                   node=None, memory_mb=1024, status='running'):
    """A scenario dict: `base` plus, for each stand name -> class size, the stand's objects on
    `node` (the base's first node by default): per student a user with the user marker, a pool
    with the pool marker, one VM per machine tagged `deploystand;stand-<stand>` in that pool, and
    one private bridge `lan` with the bridge marker."""
    raw = _raw(base)
    node = node or raw['nodes'][0]['name']
    vmid, bridge = vmid_start, bridge_start
    for stand, size in sorted(stands.items()):
        for n in range(1, size + 1):
            userid = _student(n)
            name = userid.split('@')[0]
            pool = '{0}-{1}'.format(stand, name)
            users = raw.setdefault('users', [])
            if userid not in [u['userid'] for u in users]:
                # a student of two stands: the first made the user, the second uses it as it is
                users.append({'userid': userid, 'comment': 'deploystand:' + stand})
            raw.setdefault('pools', []).append({'poolid': pool, 'comment': 'deploystand:{0}:{1}'.format(stand, userid)})
            raw.setdefault('bridges', {}).setdefault(node, []).append(
                {'name': 'vmbr{0}'.format(bridge), 'comments': 'deploystand:{0}:{1}:lan'.format(stand, userid)})
            for machine in machines:
                raw.setdefault('vms', []).append({
                    'vmid': vmid, 'name': '{0}-{1}'.format(name, machine), 'node': node, 'status': status,
                    'pool': pool, 'tags': ['deploystand', 'stand-' + stand], 'memory_mb': memory_mb,
                    'disk_gb': 1, 'nics': ['vmbr0', 'vmbr{0}'.format(bridge)]})
                vmid += 1
            bridge += 1
    return raw


def _raw(base):
    """The base scenario as written (not normalised), so that more objects can be added to it."""
    path = builtin(base) if os.path.sep not in base else base
    with open(path, encoding='utf-8') as fh:
        return yaml.safe_load(fh)


def with_agents(pve, stand, network='192.0.2.', first=10):
    """Give every running VM tagged stand-<stand> a guest agent that reports one address on eth0
    (network + a running number) besides the loopback, as PVE's network-get-interfaces answers."""
    host = first
    for vm in sorted(pve.vms, key=lambda v: v.vmid):
        if 'stand-' + stand not in str(vm.config.get('tags') or '').split(';') or vm.status != 'running':
            continue
        vm.config['agent'] = '1'
        vm.agent = {'interfaces': [
            {'name': 'lo', 'hardware-address': '00:00:00:00:00:00',
             'ip-addresses': [{'ip-address': '127.0.0.1', 'ip-address-type': 'ipv4', 'prefix': 8}]},
            {'name': 'eth0', 'hardware-address': 'bc:24:11:00:{0:02x}:{1:02x}'.format(host // 256, host % 256),
             'ip-addresses': [{'ip-address': '{0}{1}'.format(network, host), 'ip-address-type': 'ipv4',
                               'prefix': 24}]}]}
        host += 1
    return host - first
