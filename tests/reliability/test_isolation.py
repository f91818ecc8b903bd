"""Isolation and accounts (issue 13, items 1-3), tried the way students and teachers meet them: each
student logs in with its reported password and tries the other students' networks on every node; two
stands share one class and one is destroyed; a student's own VMs in its stand pool meet the destroy.
The simulator enforces PVE's ACLs, SDN.Use on bridges included."""
import copy
import csv

import pytest

from ansible_collections.deploystand.proxmox.plugins.module_utils.pve_client import PveApiError, PveClient
from reliability_support import DEPLOY, DESTROY, SMALL_STAND, comparable, deploy_vars

pytestmark = pytest.mark.slow
NODES = ('pve1', 'pve2', 'pve3')
# Spread over the three nodes of the default scenario; student4 is placed by memory (pve1 has the most).
CLASS = [{'name': 'student1@pve', 'node': 'pve1'}, {'name': 'student2@pve', 'node': 'pve2'},
         {'name': 'student3@pve', 'node': 'pve3'}, 'student4@pve']
ADMIN_UPLINK = ('pve2', 'vmbr1000')          # "lab uplink" of the default scenario, no marker


def passwords(tmp_path, stand='netlab'):
    with (tmp_path / 'reports' / '{0}-credentials.csv'.format(stand)).open() as handle:
        return dict((row['user'], row['password']) for row in csv.DictReader(handle) if row['password'])


def login(sim, userid, password):
    return PveClient(sim.host, user=userid, password=password, port=sim.port, ca_path=sim.cafile)


def bridge_owners(state, stand='netlab'):
    """{(node, iface): userid} of every applied bridge carrying a bridge marker of the stand."""
    out = {}
    for node, net in state['networks'].items():
        for iface, cfg in net['running'].items():
            for token in (cfg.get('comments') or '').split():
                parts = token.split(':')
                if len(parts) == 4 and parts[:2] == ['deploystand', stand]:
                    out[(node, iface)] = parts[2]
    return out


def listed_bridges(api, node):
    try:
        return set(b['iface'] for b in api.get('nodes/{0}/network'.format(node), type='any_bridge'))
    except PveApiError as err:
        assert err.kind == 'permission', err.message
        return set()


def refused(call, *context):
    try:
        call()
    except PveApiError as err:
        return err
    pytest.fail('not refused: {0}'.format(context))


def free_vmid(sim):
    used = set(int(v) for v in sim.state()['vms'])
    return next(v for v in range(20000, 30000) if v not in used)


def test_no_student_reaches_another_students_bridge_or_the_admins_on_any_node(sim, playbook, tmp_path):
    run = playbook(DEPLOY, sim, extra_vars=deploy_vars(tmp_path, CLASS))
    assert run.rc == 0, run
    state = sim.state()
    owners = bridge_owners(state)
    assert sorted(set(u for u in owners.values())) == ['student1@pve', 'student2@pve', 'student3@pve',
                                                       'student4@pve']
    assert set(n for n, _i in owners) == set(NODES), 'the class is spread over the three nodes'
    # what a user without any grant sees (teacher@pve of the scenario): the bridges every user sees
    everyone = dict((n, listed_bridges(login(sim, 'teacher@pve', 'teacher-pass'), n)) for n in NODES)

    for userid, password in sorted(passwords(tmp_path).items()):
        api = login(sim, userid, password)
        pool = 'netlab-' + userid.split('@')[0]
        own = set(k for k, u in owners.items() if u == userid)
        others = sorted(set(owners) - own) + [ADMIN_UPLINK]
        for node in NODES:
            # the node's list shows its own bridges there and nothing of anyone else's
            assert listed_bridges(api, node) == set(i for n, i in own if n == node) | everyone[node], \
                (userid, node)
            # a VM of its own, in its own pool, on this node, with a NIC on another student's bridge
            # (or on the admin's uplink) is refused: SDN.Use on that bridge is missing
            for other_node, iface in others:
                err = refused(lambda: api.post('nodes/{0}/qemu'.format(node), vmid=free_vmid(sim), pool=pool,
                                               name='probe', net0='virtio,bridge={0}'.format(iface)),
                              userid, node, other_node, iface)
                assert err.status == 403 and 'SDN.Use' in err.message, (userid, node, other_node, iface,
                                                                         err.message)
        # its own bridge works for a VM of its own (so the refusals above are about the bridge)
        own_node, own_iface = sorted(own)[0]
        probe = free_vmid(sim)
        api.post('nodes/{0}/qemu'.format(own_node), vmid=probe, pool=pool, name='probe',
                 net0='virtio,bridge={0}'.format(own_iface))
        api.run_task('DELETE', 'nodes/{0}/qemu/{1}'.format(own_node, probe))
        # rewiring one of its own stand VMs to another student's bridge is refused too
        vm = next(int(v) for v, info in sim.state()['vms'].items()
                  if info['pool'] == pool and info['name'].endswith('-host1'))
        config = api.get('nodes/{0}/qemu/{1}/config'.format(own_node, vm))
        mac = config['net0'].split(',')[0].split('=')[1]
        for _other_node, iface in others:
            for key in ('net0', 'net5'):
                err = refused(lambda: api.put('nodes/{0}/qemu/{1}/config'.format(own_node, vm),
                                              **{key: 'virtio={0},bridge={1}'.format(mac, iface)}),
                              userid, key, iface)
                assert err.status == 403 and 'SDN.Use' in err.message, (userid, key, iface, err.message)

    # every name the stand grants exists on exactly one node, so no grant covers a bridge elsewhere (a
    # VM migrated to another node would find no bridge of that name there, not another student's)
    names = [iface for _n, iface in owners]
    assert len(names) == len(set(names)), sorted(owners)
    for node, net in state['networks'].items():
        for iface in net['running']:
            if (node, iface) not in owners:
                assert iface not in names, (node, iface)
