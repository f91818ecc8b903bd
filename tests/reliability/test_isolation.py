"""Isolation and accounts (issue 13, items 1-3), tried the way students and teachers meet them: each
student logs in with its reported password and tries the other students' networks on every node; two
stands share one class and one is destroyed; a student's own VMs in its stand pool meet the destroy.
The simulator enforces PVE's ACLs, SDN.Use on bridges included."""
import copy
import csv

import pytest

from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.client import PveApiError, PveClient
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


def assert_isolated(sim, tmp_path, foreign=(ADMIN_UPLINK,)):
    """Logged in as each student: on every node it sees only its own bridges (and what every user
    sees), and every try to put a NIC on another student's bridge or a foreign one is refused."""
    state = sim.state()
    owners = bridge_owners(state)
    # what a user without any grant sees (teacher@pve of the scenario): the bridges every user sees
    everyone = dict((n, listed_bridges(login(sim, 'teacher@pve', 'teacher-pass'), n)) for n in NODES)
    for userid, password in sorted(passwords(tmp_path).items()):
        api = login(sim, userid, password)
        pool = 'netlab-' + userid.split('@')[0]
        own = set(k for k, u in owners.items() if u == userid)
        others = sorted(set(owners) - own) + list(foreign)
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
        assert own_iface in config['net0'], 'its VM is on its own bridge'
        mac = config['net0'].split(',')[0].split('=')[1]
        for _other_node, iface in others:
            for key in ('net0', 'net5'):
                err = refused(lambda: api.put('nodes/{0}/qemu/{1}/config'.format(own_node, vm),
                                              **{key: 'virtio={0},bridge={1}'.format(mac, iface)}),
                              userid, key, iface)
                assert err.status == 403 and 'SDN.Use' in err.message, (userid, key, iface, err.message)
        assert_a_migrated_vm_reaches_no_other_bridge(sim, api, pool, own_node, own_iface)
    assert_unique_names(state)


def assert_a_migrated_vm_reaches_no_other_bridge(sim, api, pool, own_node, own_iface):
    """Its own (diskless) VM on its own bridge, migrated to every other node: PVE moves it (VM.Migrate,
    no bridge check offline), but there no bridge has that name, so it does not start; an online
    migration fails on the target's tap_plug and the VM stays running where it was."""
    probe = free_vmid(sim)
    api.post('nodes/{0}/qemu'.format(own_node), vmid=probe, pool=pool, name='probe',
             net0='virtio,bridge={0}'.format(own_iface))
    where = own_node
    for target in (n for n in NODES if n != own_node):
        api.run_task('POST', 'nodes/{0}/qemu/{1}/migrate'.format(where, probe), target=target)
        where = target
        err = refused(lambda: api.run_task('POST', 'nodes/{0}/qemu/{1}/status/start'.format(where, probe)),
                      'start after migrate', target)
        assert "bridge '{0}' does not exist".format(own_iface) in err.message, err.message
    api.run_task('POST', 'nodes/{0}/qemu/{1}/migrate'.format(where, probe), target=own_node)
    api.run_task('POST', 'nodes/{0}/qemu/{1}/status/start'.format(own_node, probe))
    target = next(n for n in NODES if n != own_node)
    err = refused(lambda: api.run_task('POST', 'nodes/{0}/qemu/{1}/migrate'.format(own_node, probe),
                                       target=target, online=1), 'online migrate', target)
    assert sim.state()['vms'][probe]['node'] == own_node and sim.state()['vms'][probe]['status'] == 'running'
    api.run_task('POST', 'nodes/{0}/qemu/{1}/status/stop'.format(own_node, probe))
    api.run_task('DELETE', 'nodes/{0}/qemu/{1}'.format(own_node, probe))


def assert_unique_names(state):
    """Every name the stand grants exists on exactly one node, so no grant covers a bridge elsewhere (a
    VM migrated to another node would find no bridge of that name there, not another student's)."""
    owners = bridge_owners(state)
    names = [iface for _n, iface in owners]
    assert len(names) == len(set(names)), sorted(owners)
    for node, net in state['networks'].items():
        for iface in list(net['running']) + list(net['staged'] or {}):
            if (node, iface) not in owners:
                assert iface not in names, (node, iface)


def test_no_student_reaches_another_students_bridge_or_the_admins_on_any_node(sim, playbook, tmp_path):
    run = playbook(DEPLOY, sim, extra_vars=deploy_vars(tmp_path, CLASS))
    assert run.rc == 0, run
    owners = bridge_owners(sim.state())
    assert sorted(set(owners.values())) == ['student1@pve', 'student2@pve', 'student3@pve', 'student4@pve']
    assert set(n for n, _i in owners) == set(NODES), 'the class is spread over the three nodes'
    assert_isolated(sim, tmp_path)
    again = playbook(DEPLOY, sim, extra_vars=deploy_vars(tmp_path, CLASS))
    assert again.rc == 0 and again.changed_total == 0, again


def root(sim):
    return login(sim, 'root@pam', sim.password)


def apply(api, node):
    api.run_task('PUT', 'nodes/{0}/network'.format(node))


def rewire(api, state, pool, old, new):
    """As an older release would have wired them: every NIC of the pool's VMs on `old` moved to `new`."""
    for vmid, vm in state['vms'].items():
        if vm['pool'] != pool:
            continue
        for key, value in vm['config'].items():
            if key.startswith('net') and 'bridge={0}'.format(old) in value:
                api.put('nodes/{0}/qemu/{1}/config'.format(vm['node'], vmid),
                        **{key: value.replace('bridge={0}'.format(old), 'bridge={0}'.format(new))})


def test_a_stand_made_before_names_were_unique_is_moved_to_unique_bridges(sim, playbook, tmp_path):
    before = comparable(sim.state())
    assert playbook(DEPLOY, sim, extra_vars=deploy_vars(tmp_path, CLASS)).rc == 0
    api = root(sim)
    owners = dict((u, k) for k, u in bridge_owners(sim.state()).items())
    # the clashes a deploy before the fix left: an admin bridge on pve2 with student1's name, and
    # student3 (pve3) on a bridge named like student4's (pve1), with its grant on that name
    s1_node, s1_iface = owners['student1@pve']
    api.post('nodes/pve2/network', iface=s1_iface, type='bridge', autostart=1, comments='admin test')
    apply(api, 'pve2')
    s3_node, s3_iface = owners['student3@pve']
    s4_iface = owners['student4@pve'][1]
    api.post('nodes/pve3/network', iface=s4_iface, type='bridge', autostart=1,
             comments='deploystand:netlab:student3@pve:lan')
    apply(api, 'pve3')
    rewire(api, sim.state(), 'netlab-student3', s3_iface, s4_iface)
    api.put('access/acl', path='/sdn/zones/localnetwork/' + s4_iface, users='student3@pve', roles='PVESDNUser')
    api.put('access/acl', path='/sdn/zones/localnetwork/' + s3_iface, users='student3@pve', roles='PVESDNUser',
            delete=1)
    api.delete('nodes/pve3/network/' + s3_iface)
    apply(api, 'pve3')
    # the hole: student1 may use the admin's bridge, student3 and student4 each other's
    acl = sim.state()['acl']
    assert {'path': '/sdn/zones/localnetwork/' + s4_iface, 'type': 'user', 'ugid': 'student3@pve',
            'roleid': 'PVESDNUser', 'propagate': 1} in acl

    run = playbook(DEPLOY, sim, extra_vars=deploy_vars(tmp_path, CLASS))
    assert run.rc == 0, run
    for needle in ('bridge {0} on {1} is no longer given to it'.format(s1_iface, s1_node),
                   "also a bridge on pve2 ('admin test')",
                   'bridge {0} on pve3 is no longer given to it'.format(s4_iface),
                   'bridge {0} on pve1 is no longer given to it'.format(s4_iface)):
        assert needle in run.output, needle
    state = sim.state()
    moved = dict((u, k) for k, u in bridge_owners(state).items())
    assert moved['student2@pve'] == owners['student2@pve'], 'a bridge without a clash stays'
    for userid in ('student1@pve', 'student3@pve', 'student4@pve'):
        assert moved[userid][1] not in (s1_iface, s4_iface), (userid, moved[userid])
    # the old bridges are gone (their VMs moved, hot, while running), the admin's stays as it was
    assert s1_iface not in state['networks']['pve1']['running']
    assert s4_iface not in state['networks']['pve1']['running'] and s4_iface not in state['networks']['pve3']['running']
    assert state['networks']['pve2']['running'][s1_iface]['comments'] == 'admin test'
    assert all(net['staged'] is None for net in state['networks'].values())
    assert all(vm['status'] == 'running' for vm in state['vms'].values() if (vm['pool'] or '').startswith('netlab-'))
    # no student keeps a grant on a name it does not own
    granted = [(e['ugid'], e['path'].rsplit('/', 1)[1]) for e in state['acl']
               if e['path'].startswith('/sdn/zones/localnetwork/')]
    assert sorted(granted) == sorted((u, k[1]) for u, k in moved.items())
    assert_isolated(sim, tmp_path, foreign=(ADMIN_UPLINK, ('pve2', s1_iface)))

    again = playbook(DEPLOY, sim, extra_vars=deploy_vars(tmp_path, CLASS))
    assert again.rc == 0 and again.changed_total == 0, again
    gone = playbook(DESTROY, sim, extra_vars=deploy_vars(tmp_path, CLASS))
    assert gone.rc == 0, gone
    after = comparable(sim.state())
    after['networks']['pve2'].pop(s1_iface)
    assert after == before


# --- item 2: two stands for one class ----------------------------------------------------------------

TWO = ['student1@pve', 'student2@pve']


def stand_named(name):
    stand = copy.deepcopy(SMALL_STAND)
    stand['name'] = name
    return stand


def accounts(state):
    return dict((u, i['comment']) for u, i in state['users'].items() if u in TWO)


def test_destroying_one_of_two_stands_of_a_class_keeps_the_accounts_the_other_uses(sim_tiny, playbook, tmp_path):
    sim = sim_tiny
    before = comparable(sim.state())
    for name in ('neta', 'netb'):
        run = playbook(DEPLOY, sim, extra_vars=deploy_vars(tmp_path, TWO, stand_named(name)))
        assert run.rc == 0, run
    # neta made the accounts (its report has the passwords); netb marked them as its own too
    made = passwords(tmp_path, 'neta')
    assert sorted(made) == TWO and passwords(tmp_path, 'netb') == {}
    assert accounts(sim.state()) == dict((u, 'deploystand:neta deploystand:netb') for u in TWO)

    gone = playbook(DESTROY, sim, extra_vars=deploy_vars(tmp_path, TWO, stand_named('neta')))
    assert gone.rc == 0, gone
    for userid in TWO:
        assert 'user {0} is kept: stand netb still uses it'.format(userid) in gone.output      # warning
        assert '{0}: account kept - stand netb still uses it'.format(userid) in gone.output      # summary
        kept = gone.result('Student machines, user, pool and access are gone',
                           host=userid)
        assert kept['user_kept'] == 'stand netb still uses it' and not kept['user_deleted']
    state = sim.state()
    assert accounts(state) == dict((u, 'deploystand:netb') for u in TWO)
    assert not [p for p in state['pools'] if p.startswith('neta-')]
    # every student of netb still logs in with its password and sees and powers its netb VMs
    for userid in TWO:
        api = login(sim, userid, made[userid])
        mine = sorted((r['vmid'], r['pool']) for r in api.get('cluster/resources', type='vm'))
        pool = 'netb-' + userid.split('@')[0]
        assert len(mine) == 2 and set(p for _v, p in mine) == {pool}, mine
        api.run_task('POST', 'nodes/pve1/qemu/{0}/status/stop'.format(mine[0][0]))
        api.run_task('POST', 'nodes/pve1/qemu/{0}/status/start'.format(mine[0][0]))

    last = playbook(DESTROY, sim, extra_vars=deploy_vars(tmp_path, TWO, stand_named('netb')))
    assert last.rc == 0, last
    after = comparable(sim.state())
    assert dict((k, after[k]) for k in ('users', 'acl', 'pools', 'vms')) == \
        dict((k, before[k]) for k in ('users', 'acl', 'pools', 'vms'))
    assert after == before


# --- item 3: VMs a student made in its stand pool ---------------------------------------------------

def student_vm(sim, tmp_path, userid):
    """As the student: a VM of its own in its stand pool, on its private bridge, running."""
    api = login(sim, userid, passwords(tmp_path)[userid])
    iface = next(i for (n, i), u in bridge_owners(sim.state()).items() if u == userid)
    vmid = free_vmid(sim)
    api.post('nodes/pve1/qemu', vmid=vmid, pool='netlab-' + userid.split('@')[0], name='my-test',
             net0='virtio,bridge={0}'.format(iface))
    api.run_task('POST', 'nodes/pve1/qemu/{0}/status/start'.format(vmid))
    return vmid, iface


def test_destroy_removes_the_vms_students_made_in_their_pools_or_keeps_them_with_their_owner(
        sim_tiny, playbook, tmp_path):
    sim = sim_tiny
    before = comparable(sim.state())
    assert playbook(DEPLOY, sim, extra_vars=deploy_vars(tmp_path, TWO)).rc == 0
    vmid, iface = student_vm(sim, tmp_path, 'student1@pve')
    password = passwords(tmp_path)['student1@pve']

    # keep: the stand's VMs go; the student's VM stays with its pool, its user and the bridge it uses
    kept = playbook(DESTROY, sim, extra_vars=deploy_vars(tmp_path, TWO, stand_student_student_vms='keep'))
    assert kept.rc == 0, kept
    assert 'student1@pve: kept VM {0} (my-test), made by the student in its pool netlab-student1'.format(
        vmid) in kept.output
    assert 'student1@pve: account kept - its pool netlab-student1 still holds qemu/{0}'.format(vmid) in kept.output
    state = sim.state()
    assert [int(v) for v, vm in state['vms'].items() if vm['pool'] == 'netlab-student1'] == [vmid]
    assert state['vms'][vmid]['status'] == 'running'
    assert state['pools']['netlab-student1']['comment'].split()[0] == 'deploystand:netlab:student1@pve'
    assert 'student1@pve' in state['users'] and 'student2@pve' not in state['users']
    assert iface in state['networks']['pve1']['running']
    assert [b for b in bridge_owners(state).values()] == ['student1@pve'], 'the unused bridges went'
    api = login(sim, 'student1@pve', password)
    assert [int(r['vmid']) for r in api.get('cluster/resources', type='vm')] == [vmid]
    api.run_task('POST', 'nodes/pve1/qemu/{0}/status/stop'.format(vmid))
    api.run_task('POST', 'nodes/pve1/qemu/{0}/status/start'.format(vmid))

    # remove (the default): the student's VM is shut down and destroyed, then everything else goes
    gone = playbook(DESTROY, sim, extra_vars=deploy_vars(tmp_path, TWO))
    assert gone.rc == 0, gone
    assert 'student1@pve: removed VM {0} (my-test), made by the student in its pool netlab-student1'.format(
        vmid) in gone.output
    assert comparable(sim.state()) == before
