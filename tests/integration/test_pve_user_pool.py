"""pve_user_pool through ansible-playbook against the simulator; the cluster is read back with sim.state()
and, for the student's view, with proxmoxer logged in as the student."""
import pytest
from proxmoxer import ProxmoxAPI

pytest_plugins = ['deploystand_sim.pytest_fixtures']

pytestmark = pytest.mark.slow

MODULE = 'deploystand.proxmox.pve_user_pool'
STAND = 'netlab'


def play(*tasks):
    """One play on localhost; tasks are (name, module args[, extra task keys])."""
    out = []
    for task in tasks:
        name, args = task[0], task[1]
        item = {'name': name, MODULE: args}
        if len(task) > 2:
            item.update(task[2])
        out.append(item)
    return [{'hosts': 'localhost', 'gather_facts': False, 'tasks': out}]


def student(userid='student1@pve', **extra):
    args = {'stand': STAND, 'userid': userid}
    args.update(extra)
    return args


def failed(run, name):
    """True if the task failed (the recorded status; Ansible keeps `failed` out of the result itself)."""
    return [t['status'] for t in run.tasks if t['task'] == name][-1] in ('failed', 'ignored')


def acl_of(state, userid):
    return sorted((e['path'], e['roleid']) for e in state['acl'] if e['ugid'] == userid)


def as_student(sim, userid, password):
    return ProxmoxAPI(sim.host, port=sim.port, user=userid, password=password, verify_ssl=sim.cafile)


def test_student_lifecycle_create_rerun_check_diff_login_and_absent(sim, playbook):
    run = playbook(play(('student exists', student(bridges=['vmbr1001', 'vmbr1002']))), sim)
    assert run.rc == 0, run
    result = run.result('student exists')
    assert result['changed'] and result['user_created'] and result['pool_created'] and result['password_set']
    assert result['pool'] == 'netlab-student1' and result['foreign'] == []
    password = result['password']
    state = sim.state()
    assert state['users']['student1@pve']['comment'] == 'deploystand:netlab'
    assert state['pools']['netlab-student1']['comment'] == 'deploystand:netlab:student1@pve'
    assert acl_of(state, 'student1@pve') == [('/pool/netlab-student1', 'PVEPoolUser'),
                                             ('/pool/netlab-student1', 'PVEVMAdmin'),
                                             ('/sdn/zones/localnetwork/vmbr1001', 'PVESDNUser'),
                                             ('/sdn/zones/localnetwork/vmbr1002', 'PVESDNUser')]

    # the student logs in with the returned password, sees its pool and may use its bridges
    api = as_student(sim, 'student1@pve', password)
    assert api.pools.get(poolid='netlab-student1')[0]['poolid'] == 'netlab-student1'
    perms = api.access.permissions.get()
    assert 'VM.Allocate' in perms['/pool/netlab-student1']
    assert 'SDN.Use' in perms['/sdn/zones/localnetwork/vmbr1001']

    # second run: nothing to do, and no password in the result
    run = playbook(play(('student exists', student(bridges=['vmbr1001', 'vmbr1002']))), sim)
    assert run.rc == 0 and run.changed_total == 0, run
    assert 'password' not in run.result('student exists')

    # check mode + diff: a new bridge grant and a new student are predicted, nothing is written
    before = sim.state()
    run = playbook(play(('student exists', student(bridges=['vmbr1001', 'vmbr1002', 'vmbr1003'])),
                        ('second student exists', student('student2@pve'))), sim, check=True, diff=True)
    assert run.rc == 0, run
    first, second = run.result('student exists'), run.result('second student exists')
    assert first['changed'] and first['acls_added'] == ['/sdn/zones/localnetwork/vmbr1003 PVESDNUser']
    assert first['diff']['after']['acl'][-1] == '/sdn/zones/localnetwork/vmbr1003 PVESDNUser'
    assert second['changed'] and second['user_created'] and 'password' not in second
    assert second['diff']['before']['user'] is None
    assert second['diff']['after']['user'] == {'comment': 'deploystand:netlab'}
    assert 'password' not in str(second['diff'])
    assert sim.state() == before

    # --diff on a real run shows the before/after of the ACL change
    run = playbook(play(('student exists', student(bridges=['vmbr1001', 'vmbr1002', 'vmbr1003']))), sim, diff=True)
    result = run.result('student exists')
    assert result['diff']['before']['acl'] != result['diff']['after']['acl']
    assert '+' in run.output and 'vmbr1003' in run.output

    # absent: the check predicts, the real run removes user, pool and (with the user) its ACLs
    run = playbook(play(('student absent', student(state='absent'))), sim, check=True)
    assert run.result('student absent')['changed'] and sim.state()['users'].get('student1@pve')
    run = playbook(play(('student absent', student(state='absent'))), sim)
    assert run.rc == 0, run
    result = run.result('student absent')
    assert result['user_deleted'] and result['pool_deleted']
    state = sim.state()
    assert 'student1@pve' not in state['users'] and 'netlab-student1' not in state['pools']
    assert acl_of(state, 'student1@pve') == []
    assert 'teacher@pve' in state['users']
    run = playbook(play(('student absent', student(state='absent'))), sim)
    assert run.rc == 0 and run.changed_total == 0, run


def test_given_password_with_update_always_is_idempotent_and_resets_when_changed(sim, playbook):
    tasks = lambda pw: play(('student exists', student('student3@pve', password=pw, update_password='always'),  # noqa
                             {'no_log': False}))
    run = playbook(tasks('First-pass-123'), sim)
    result = run.result('student exists')
    # Ansible masks a returned value equal to a no_log option: the given password never shows
    assert run.rc == 0 and result['password_set'] and result['password'] == 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER', run
    as_student(sim, 'student3@pve', 'First-pass-123').version.get()
    run = playbook(tasks('First-pass-123'), sim)
    assert run.rc == 0 and run.changed_total == 0 and 'password' not in run.result('student exists'), run
    run = playbook(tasks('Second-pass-456'), sim)
    result = run.result('student exists')
    assert run.rc == 0 and result['changed'] and result['password_set'] and not result['user_created'], run
    as_student(sim, 'student3@pve', 'Second-pass-456').version.get()


def test_foreign_look_alikes_are_used_or_refused_and_survive_absent(sim, playbook):
    # an admin made student1@pve without a marker, and a pool named like student2's
    sim.add_user('student1@pve', 'admin-set-pass', comment='created by the admin')
    ProxmoxAPI(sim.host, port=sim.port, user='root@pam', password=sim.password,
               verify_ssl=sim.cafile).pools.post(poolid='netlab-student2', comment='hand made')

    run = playbook(play(('first student', student(update_password='always'), {'ignore_errors': True}),
                        ('second student', student('student2@pve'), {'ignore_errors': True})), sim)
    first, second = run.result('first student'), run.result('second student')
    assert not failed(run, 'first student'), first
    assert not first['user_created'] and not first['user_owned'] and not first['password_set']
    assert any('student1@pve' in f for f in first['foreign']) and 'password' not in first
    assert failed(run, 'second student') and 'netlab-student2' in second['msg'] and 'not touched' in second['msg']
    assert 'Traceback' not in run.output
    state = sim.state()
    assert state['users']['student1@pve']['comment'] == 'created by the admin'
    assert ('/pool/netlab-student1', 'PVEVMAdmin') in acl_of(state, 'student1@pve')
    assert 'student2@pve' not in state['users']                       # refused before any write
    assert state['pools']['netlab-student2']['comment'] == 'hand made'
    as_student(sim, 'student1@pve', 'admin-set-pass').version.get()   # password untouched

    run = playbook(play(('first absent', student(state='absent')),
                        ('second absent', student('student2@pve', state='absent'))), sim)
    assert run.rc == 0, run
    state = sim.state()
    assert 'student1@pve' in state['users'] and acl_of(state, 'student1@pve') == []
    assert not run.result('first absent')['user_deleted']
    assert 'netlab-student2' in state['pools'] and run.result('second absent')['foreign']


def test_token_auth_creates_with_password_but_cannot_reset_it(sim, playbook):
    secret = sim.add_token('root@pam', 'ci', privsep=False)
    env = {'PROXMOX_TOKEN_ID': 'root@pam!ci', 'PROXMOX_TOKEN_SECRET': secret}
    run = playbook(play(('student exists', student('student4@pve'))), sim, env=env)
    assert run.rc == 0 and run.result('student exists')['password_set'], run
    run = playbook(play(('password reset', student('student4@pve', update_password='always'),
                         {'ignore_errors': True})), sim, env=env)
    result = run.result('password reset')
    assert failed(run, 'password reset') and 'api_password' in result['msg'] and 'token' in result['msg']
    assert 'Traceback' not in run.output


def test_bad_input_fails_with_one_clear_message(sim, playbook):
    cases = [
        ('unknown realm', student('student5@nosuch')),
        ('ldap user missing', student('jdoe@ldap')),
        ('no realm', student('student5')),
        ('short generated password', student('student5@pve', password_length=8)),
        ('wrong type', student('student5@pve', password_length='long')),
        ('bad bridge', student('student5@pve', bridges=['vmbr 1'])),
        ('unknown role', student('student5@pve', role='NoSuchRole')),
    ]
    run = playbook(play(*[(name, args, {'ignore_errors': True}) for name, args in cases]), sim)
    assert 'Traceback' not in run.output
    msgs = dict((name, run.result(name)) for name, _args in cases)
    assert all(failed(run, name) for name in msgs), msgs
    assert "realm 'nosuch' must exist" in msgs['unknown realm']['msg']
    assert "realm 'ldap' must exist" in msgs['ldap user missing']['msg']
    assert 'no realm' in msgs['no realm']['msg']
    assert 'password_length' in msgs['short generated password']['msg']
    assert 'password_length' in msgs['wrong type']['msg']
    assert 'bridges' in msgs['bad bridge']['msg']
    assert 'NoSuchRole' in msgs['unknown role']['msg']
    state = sim.state()
    assert not [u for u in state['users'] if u.startswith('student5') or u == 'jdoe@ldap']


def test_dropped_connections_converge_to_one_user_pool_and_acl_set(sim_factory, playbook):
    lab = sim_factory(faults={'drop_rate': 0.2, 'seed': 5})
    names = ['student%d@pve' % i for i in range(1, 5)]
    tasks = [('student %s' % u, student(u, bridges=['vmbr1001']), {'ignore_errors': True}) for u in names]
    first = playbook(play(*tasks), lab)
    assert 'Traceback' not in first.output
    lab.set_faults(drop_rate=0.0)
    again = playbook(play(*tasks), lab)
    assert again.rc == 0, again
    state = lab.state()
    for userid in names:
        pool = 'netlab-' + userid.split('@')[0]
        assert state['users'][userid]['comment'] == 'deploystand:netlab'
        assert state['pools'][pool]['comment'] == 'deploystand:netlab:' + userid
        assert acl_of(state, userid) == [('/pool/' + pool, 'PVEPoolUser'), ('/pool/' + pool, 'PVEVMAdmin'),
                                         ('/sdn/zones/localnetwork/vmbr1001', 'PVESDNUser')]
    third = playbook(play(*tasks), lab)
    assert third.changed_total == 0, third


def test_two_stands_share_one_account_and_a_stale_bridge_grant_goes(sim, playbook):
    other = dict(student(bridges=['vmbr1004']), stand='netlab2')
    run = playbook(play(('netlab', student(bridges=['vmbr1001'])), ('netlab2', other)), sim)
    assert run.rc == 0, run
    password = run.result('netlab')['password']
    shared = run.result('netlab2')
    assert shared['user_marked'] and shared['user_shared_with'] == ['netlab'] and not shared['password_set']
    assert sim.state()['users']['student1@pve']['comment'] == 'deploystand:netlab deploystand:netlab2'

    # netlab moves the student from vmbr1001 to vmbr1002: the old grant goes, netlab2's stays
    moved = student(bridges=['vmbr1002'], stale_bridges=['vmbr1001'])
    run = playbook(play(('moved', moved)), sim, check=True, diff=True)
    assert run.result('moved')['acls_removed'] == ['/sdn/zones/localnetwork/vmbr1001 PVESDNUser']
    assert ('/sdn/zones/localnetwork/vmbr1001', 'PVESDNUser') in acl_of(sim.state(), 'student1@pve')
    run = playbook(play(('moved', moved), ('again', moved)), sim)
    assert run.rc == 0 and not run.result('again')['changed'], run
    bridges = [p for p, r in acl_of(sim.state(), 'student1@pve') if p.startswith('/sdn/')]
    assert bridges == ['/sdn/zones/localnetwork/vmbr1002', '/sdn/zones/localnetwork/vmbr1004']

    # netlab's absent keeps the account for netlab2 (and says so); netlab2's absent then deletes it
    run = playbook(play(('netlab absent', student(state='absent', bridges=['vmbr1002']))), sim)
    result = run.result('netlab absent')
    assert result['user_kept'] == 'stand netlab2 still uses it' and not result['user_deleted'], run
    assert 'user student1@pve is kept: stand netlab2 still uses it' in run.output
    state = sim.state()
    assert state['users']['student1@pve']['comment'] == 'deploystand:netlab2'
    assert acl_of(state, 'student1@pve') == [('/pool/netlab2-student1', 'PVEPoolUser'),
                                             ('/pool/netlab2-student1', 'PVEVMAdmin'),
                                             ('/sdn/zones/localnetwork/vmbr1004', 'PVESDNUser')]
    as_student(sim, 'student1@pve', password).version.get()
    run = playbook(play(('netlab2 absent', dict(other, state='absent'))), sim)
    assert run.result('netlab2 absent')['user_deleted'], run
    assert 'student1@pve' not in sim.state()['users']
