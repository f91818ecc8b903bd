"""pve_user_pool's decisions: ownership, input checks, and the flow on a fake client (the ACL diffing is
tests/unit/plugins/module_utils/stand/test_acls.py, converge tests/unit/plugins/module_utils/pve/test_wait.py)."""
import pytest

from ansible_collections.deploystand.proxmox.plugins.module_utils.ops import user_pool as A
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.client import PveApiError

USER = 'student1@pve'


def entry(path, role, ugid=USER, propagate=1, kind='user'):
    return {'path': path, 'roleid': role, 'ugid': ugid, 'propagate': propagate, 'type': kind}


# --- ownership ---------------------------------------------------------------------------------

def test_a_user_is_owned_only_with_the_stands_user_marker():
    marker = 'deploystand:netlab'
    assert A.ownership(None, marker) == 'missing'
    assert A.ownership({'comment': 'deploystand:netlab'}, marker) == 'owned'
    assert A.ownership({'comment': 'created by admin'}, marker) == 'foreign'
    assert A.ownership({}, marker) == 'foreign'
    assert A.ownership({'comment': 'deploystand:netlab2'}, marker) == 'foreign'
    # a pool marker of the same stand is not a user marker
    assert A.ownership({'comment': 'deploystand:netlab:student1@pve'}, marker) == 'foreign'


def test_pool_members_lists_guests_and_storages():
    pool = {'members': [{'id': 'qemu/101', 'vmid': 101}, {'id': 'storage/pve1/local', 'storage': 'local'}]}
    assert A.pool_members(pool) == ['qemu/101', 'storage/pve1/local']
    assert A.pool_members({'members': []}) == []
    assert A.pool_members(None) == []


# --- input ---------------------------------------------------------------------------------------

def params(**over):
    p = dict(stand='netlab', userid=USER, pool=None, role='PVEVMAdmin', bridges=[], bridge_role='PVESDNUser',
             password=None, update_password='on_create', password_length=20)
    p.update(over)
    return p


def test_good_input_has_no_problems():
    assert A.check_params(params()) == []
    assert A.check_params(params(userid='jdoe@ldap', bridges=['vmbr1001'], password='x' * 12)) == []


@pytest.mark.parametrize('over, words', [
    ({'userid': 'student1'}, 'no realm'),
    ({'userid': 'stu dent@pve'}, 'whitespace'),
    ({'userid': 'student1@1bad'}, 'realm'),
    ({'stand': 'Net_Lab'}, 'stand'),
    ({'pool': '1pool'}, 'pool'),
    ({'password_length': 12}, 'password_length: must be 16-64'),
    ({'password': 'short'}, 'password: must be 8-64 characters'),
    ({'bridges': ['vmbr 1']}, 'bridges'),
    ({'role': 'bad role'}, 'role'),
])
def test_bad_input_gives_one_message_naming_the_field(over, words):
    errors = A.check_params(params(**over))
    assert errors and any(words in e for e in errors), errors


def test_a_bad_password_is_never_echoed():
    errors = A.check_params(params(password='tiny42'))
    assert errors and not any('tiny42' in e for e in errors)


# --- the flow, on a fake client ------------------------------------------------------------------

class FakeClient(object):
    """Just enough of PveClient for UserPool: users, pools (8.1+ query form), ACLs, passwords."""

    def __init__(self, users=None, pools=None, acl=None, token=None, identity='root@pam'):
        self.users = users or {}
        self.pools = pools or {}
        self.acl = acl or []
        self.token_name = token
        self.identity = identity
        self.configs = {}
        self.writes = []

    def pool_path(self, poolid):
        return 'pools', {'poolid': poolid}

    def get(self, api_path, **params):
        path = api_path
        if path.startswith('access/users/'):
            userid = path.split('/', 2)[2]
            if userid not in self.users:
                raise PveApiError('no such user', kind='not_found')
            return dict(self.users[userid])
        if path == 'pools' and 'poolid' not in params:
            return [dict(rec, poolid=pid) for pid, rec in sorted(self.pools.items())]
        if path == 'pools':
            if params['poolid'] not in self.pools:
                raise PveApiError('does not exist', kind='not_found')
            return [dict(self.pools[params['poolid']], poolid=params['poolid'])]
        if path == 'access/acl':
            return list(self.acl)
        if path.startswith('nodes/'):
            return dict(self.configs[int(path.split('/')[3])])
        if path == 'access/roles':
            return [{'roleid': r} for r in ('PVEVMAdmin', 'PVEVMUser', 'PVESDNUser', 'PVEPoolUser')]
        raise AssertionError(path)

    def post(self, api_path, **params):
        path = api_path
        self.writes.append(('POST', path, params))
        if path == 'access/users':
            self.users[params['userid']] = {'comment': params.get('comment'), 'expire': params.get('expire', 0)}
        elif path == 'pools':
            self.pools[params['poolid']] = {'comment': params.get('comment'), 'members': []}

    def put(self, api_path, **params):
        path = api_path
        self.writes.append(('PUT', path, params))
        if path.startswith('access/users/'):
            self.users[path.split('/', 2)[2]].update(params)
        if path == 'pools':
            self.pools[params['poolid']]['comment'] = params['comment']
        if path == 'access/acl':
            for role in params['roles']:
                self.acl = [e for e in self.acl if (e['path'], e['roleid'], e['ugid']) !=
                            (params['path'], role, params['users'])]
                if not params.get('delete'):
                    self.acl.append(entry(params['path'], role, params['users'], params['propagate']))

    def delete(self, api_path, **params):
        path = api_path
        self.writes.append(('DELETE', path, params))
        if path.startswith('access/users/'):
            userid = path.split('/', 2)[2]
            del self.users[userid]
            self.acl = [e for e in self.acl if e['ugid'] != userid]
        elif path == 'pools':
            del self.pools[params['poolid']]


def run(client, state='present', check_mode=False, works=lambda pw: False, **over):
    p = params(**over)
    p.setdefault('api_password', 'secret')
    work = A.UserPool(client, p, check_mode=check_mode, warn=lambda m: None, password_checker=works)
    return work.present() if state == 'present' else work.absent()


def test_present_creates_user_with_password_and_marker_then_pool_then_acls():
    client = FakeClient()
    result = run(client, bridges=['vmbr1001'])
    assert result['user_created'] and result['pool_created'] and result['password_set']
    assert len(result['password']) == 20
    assert [w[:2] for w in client.writes] == [('POST', 'access/users'), ('POST', 'pools'), ('PUT', 'access/acl'),
                                              ('PUT', 'access/acl')]
    assert client.writes[0][2]['comment'] == 'deploystand:netlab'
    assert client.pools['netlab-student1']['comment'] == 'deploystand:netlab:student1@pve'
    again = run(client, bridges=['vmbr1001'])
    assert not again['changed'] and 'password' not in again


def test_check_mode_predicts_everything_and_writes_nothing():
    client = FakeClient()
    result = run(client, check_mode=True)
    assert result['changed'] and result['user_created'] and result['pool_created'] and result['acls_added']
    assert client.writes == [] and 'password' not in result
    assert result['diff']['before']['user'] is None and result['diff']['after']['user'] == {
        'comment': 'deploystand:netlab'}


def test_a_foreign_pool_with_our_name_fails_before_anything_is_written():
    client = FakeClient(pools={'netlab-student1': {'comment': 'made by hand', 'members': []}})
    with pytest.raises(A.UserPoolError) as exc:
        run(client)
    assert 'netlab-student1' in str(exc.value) and client.writes == []


def test_a_pre_existing_user_gets_acls_only_and_is_reported():
    client = FakeClient(users={USER: {'comment': 'admin made this'}})
    result = run(client, update_password='always')
    assert not result['user_created'] and not result['user_owned'] and not result['password_set']
    assert result['foreign'] and USER in result['foreign'][0]
    assert not any(w[1].startswith('access/users') or w[1] == 'access/password' for w in client.writes)


def test_an_unknown_role_fails_before_anything_is_written():
    client = FakeClient()
    with pytest.raises(A.UserPoolError) as exc:
        run(client, role='NoSuchRole')
    assert 'NoSuchRole' in str(exc.value) and client.writes == []


def test_a_missing_user_of_another_realm_is_an_error_not_a_creation():
    client = FakeClient()
    with pytest.raises(A.UserPoolError) as exc:
        run(client, userid='jdoe@ldap')
    assert "realm 'ldap' must exist" in str(exc.value) and client.writes == []


def test_always_with_a_working_given_password_changes_nothing():
    client = FakeClient(users={USER: {'comment': 'deploystand:netlab'}},
                        pools={'netlab-student1': {'comment': 'deploystand:netlab:student1@pve', 'members': []}},
                        acl=[entry('/pool/netlab-student1', 'PVEVMAdmin')])
    result = run(client, update_password='always', password='Given-pass-1', works=lambda pw: True)
    assert not result['changed'] and client.writes == []


def test_always_resets_with_confirmation_for_non_root_callers():
    client = FakeClient(users={USER: {'comment': 'deploystand:netlab'}}, identity='automation@pve')
    result = run(client, update_password='always', password='Given-pass-1')
    put = [w for w in client.writes if w[1] == 'access/password'][0][2]
    assert put == {'userid': USER, 'password': 'Given-pass-1', 'confirmation-password': 'secret'}
    assert result['password'] == 'Given-pass-1' and result['password_set']


def test_always_under_token_auth_fails_naming_api_password():
    client = FakeClient(users={USER: {'comment': 'deploystand:netlab'}}, token='ansible',
                        identity='automation@pve!ansible')
    with pytest.raises(A.UserPoolError) as exc:
        run(client, update_password='always')
    assert 'api_password' in str(exc.value) and 'token' in str(exc.value)


def test_absent_deletes_owned_empty_pool_and_owned_user_and_reports_dropped_acls():
    client = FakeClient()
    run(client, bridges=['vmbr1001'])
    client.writes = []
    result = run(client, state='absent', bridges=['vmbr1001'])
    assert result['pool_deleted'] and result['user_deleted'] and len(result['acls_removed']) == 2
    # the user's deletion drops its ACLs: no separate ACL writes
    assert [w[:2] for w in client.writes] == [('DELETE', 'pools'), ('DELETE', 'access/users/' + USER)]
    assert client.users == {} and client.pools == {}


def test_absent_keeps_a_foreign_user_and_pool_and_removes_only_our_grants():
    client = FakeClient(users={USER: {'comment': 'admin'}},
                        pools={'netlab-student1': {'comment': 'hand made', 'members': []}},
                        acl=[entry('/pool/netlab-student1', 'PVEVMAdmin'), entry('/vms/100', 'PVEVMUser')])
    result = run(client, state='absent')
    assert not result['pool_deleted'] and not result['user_deleted'] and len(result['foreign']) == 2
    assert client.acl == [entry('/vms/100', 'PVEVMUser')]
    assert USER in client.users and 'netlab-student1' in client.pools


def test_absent_keeps_a_non_empty_pool_and_says_why():
    client = FakeClient(users={USER: {'comment': 'deploystand:netlab'}},
                        pools={'netlab-student1': {'comment': 'deploystand:netlab:student1@pve',
                                                   'members': [{'id': 'qemu/10001'}]}})
    result = run(client, state='absent')
    assert not result['pool_deleted'] and any('qemu/10001' in f for f in result['foreign'])
    # never a marked pool without its owner: the user stays, with its marker, for a later destroy
    assert not result['user_deleted'] and 'netlab-student1 still holds qemu/10001' in result['user_kept']
    assert client.users[USER]['comment'] == 'deploystand:netlab'


def test_the_student_also_gets_the_pool_audit_role_so_it_sees_its_pool():
    wanted = A.wanted_acls(USER, 'p', 'PVEVMAdmin', [], 'PVESDNUser', 'PVEPoolUser')
    assert sorted(w['roleid'] for w in wanted if w['path'] == '/pool/p') == ['PVEPoolUser', 'PVEVMAdmin']


# --- accounts shared by stands, stale grants, kept pools (issue 13) --------------------------------

POOL = 'netlab-student1'
OWN_POOL = {'comment': 'deploystand:netlab:student1@pve', 'members': []}


def test_marker_tokens_are_added_and_removed_without_touching_the_rest():
    assert A.user_stands('course deploystand:a deploystand:b:x@pve deploystand:c') == ['a', 'c']
    assert A.with_marker('course deploystand:a', 'deploystand:b') == 'course deploystand:a deploystand:b'
    assert A.with_marker('', 'deploystand:b') == 'deploystand:b'
    assert A.without_marker('course deploystand:a deploystand:ab', 'deploystand:a') == 'course deploystand:ab'
    assert A.pool_stands_of([{'comment': 'deploystand:b:student1@pve'}, {'comment': 'deploystand:c:x@pve'},
                             {'comment': 'deploystand:netlab:student1@pve'}], USER, 'netlab') == ['b']


def test_stale_bridge_grants_are_removed_on_deploy_and_only_those():
    client = FakeClient(users={USER: {'comment': 'deploystand:netlab'}}, pools={POOL: dict(OWN_POOL)},
                        acl=[entry('/pool/' + POOL, 'PVEVMAdmin'), entry('/sdn/zones/localnetwork/vmbr1000', 'PVESDNUser'),
                             entry('/sdn/zones/localnetwork/vmbr1001', 'PVESDNUser', ugid='student2@pve')])
    result = run(client, bridges=['vmbr1002'], stale_bridges=['vmbr1000', 'vmbr1001', 'vmbr1002'])
    assert result['acls_added'] == ['/sdn/zones/localnetwork/vmbr1002 PVESDNUser']
    assert result['acls_removed'] == ['/sdn/zones/localnetwork/vmbr1000 PVESDNUser'] and result['changed']
    assert sorted((e['path'], e['ugid']) for e in client.acl) == [
        ('/pool/' + POOL, USER), ('/sdn/zones/localnetwork/vmbr1001', 'student2@pve'),
        ('/sdn/zones/localnetwork/vmbr1002', USER)]
    assert not run(client, bridges=['vmbr1002'], stale_bridges=['vmbr1000'])['changed']


def test_a_user_another_stand_made_gets_this_stands_marker_too_and_keeps_its_password():
    client = FakeClient(users={USER: {'comment': 'deploystand:other'}})
    predicted = run(client, check_mode=True)
    assert predicted['user_marked'] and client.writes == []
    result = run(client)
    assert result['user_owned'] and result['user_marked'] and result['user_shared_with'] == ['other']
    assert not result['password_set'] and not result['foreign'] and 'password' not in result
    assert client.users[USER]['comment'] == 'deploystand:other deploystand:netlab'
    assert not run(client)['changed']


def test_destroying_one_of_two_stands_keeps_the_account_and_removes_only_its_own_marker_and_grants():
    client = FakeClient(users={USER: {'comment': 'deploystand:other deploystand:netlab'}},
                        pools={POOL: dict(OWN_POOL), 'other-student1': {'comment': 'deploystand:other:student1@pve',
                                                                          'members': [{'id': 'qemu/20000'}]}},
                        acl=[entry('/pool/' + POOL, 'PVEVMAdmin'), entry('/pool/other-student1', 'PVEVMAdmin'),
                             entry('/sdn/zones/localnetwork/vmbr1000', 'PVESDNUser')])
    result = run(client, state='absent', bridges=['vmbr1000'])
    assert not result['user_deleted'] and result['user_kept'] == 'stand other still uses it'
    assert result['pool_deleted'] and client.users[USER]['comment'] == 'deploystand:other'
    assert client.acl == [entry('/pool/other-student1', 'PVEVMAdmin')]


def test_an_account_adopted_by_another_stand_before_markers_per_stand_is_kept_and_handed_over():
    # made by netlab (its marker only); stand other adopted it as "existed before" and has its pool
    client = FakeClient(users={USER: {'comment': 'deploystand:netlab'}},
                        pools={POOL: dict(OWN_POOL), 'other-student1': {'comment': 'deploystand:other:student1@pve',
                                                                          'members': []}},
                        acl=[entry('/pool/' + POOL, 'PVEVMAdmin'), entry('/pool/other-student1', 'PVEVMAdmin')])
    result = run(client, state='absent')
    assert result['user_kept'] == 'stand other still uses it'
    assert client.users[USER]['comment'] == 'deploystand:other'


def test_an_account_with_grants_outside_the_stand_is_kept_and_says_which():
    client = FakeClient(users={USER: {'comment': 'deploystand:netlab'}}, pools={POOL: dict(OWN_POOL)},
                        acl=[entry('/pool/' + POOL, 'PVEVMAdmin'), entry('/vms/100', 'PVEVMUser'),
                             entry('/sdn/zones/localnetwork/vmbr1009', 'PVESDNUser')])
    result = run(client, state='absent')
    assert not result['user_deleted'] and '/vms/100 PVEVMUser' in result['user_kept']
    assert 'vmbr1009' not in result['user_kept']       # a bridge grant is what a stand gives, not "outside"
    assert entry('/vms/100', 'PVEVMUser') in client.acl and client.users[USER]['comment'] == 'deploystand:netlab'


def test_a_pool_that_keeps_vms_keeps_its_owner_the_pool_grant_and_the_grants_of_the_bridges_they_use():
    pool = {'comment': 'deploystand:netlab:student1@pve',
            'members': [{'id': 'qemu/10050', 'type': 'qemu', 'vmid': 10050, 'node': 'pve1'}]}
    client = FakeClient(users={USER: {'comment': 'deploystand:netlab'}}, pools={POOL: pool},
                        acl=[entry('/pool/' + POOL, 'PVEVMAdmin'), entry('/sdn/zones/localnetwork/vmbr1000', 'PVESDNUser'),
                             entry('/sdn/zones/localnetwork/vmbr1002', 'PVESDNUser')])
    client.configs[10050] = {'net0': 'virtio=BC:24:11:00:00:01,bridge=vmbr1002'}
    result = run(client, state='absent', bridges=['vmbr1000', 'vmbr1002'])
    assert not result['pool_deleted'] and not result['user_deleted'] and 'qemu/10050' in result['user_kept']
    assert result['acls_removed'] == ['/sdn/zones/localnetwork/vmbr1000 PVESDNUser']
    assert sorted(e['path'] for e in client.acl) == ['/pool/' + POOL, '/sdn/zones/localnetwork/vmbr1002']


def test_bridge_grants_left_by_an_interrupted_destroy_do_not_keep_the_account():
    client = FakeClient(users={USER: {'comment': 'deploystand:netlab'}},
                        acl=[entry('/sdn/zones/localnetwork/vmbr1009', 'PVESDNUser')])
    result = run(client, state='absent')
    assert result['user_deleted'] and client.users == {}


# --- expire (stand.expires) ----------------------------------------------------------------------

END = 1801439999          # 2027-01-31T23:59:59Z
LATER = END + 86400 * 30
OWN_POOL = {'comment': 'deploystand:netlab:student1@pve', 'members': []}


def test_expire_is_set_at_creation_and_kept_in_the_pool_with_the_first_deploy():
    client = FakeClient()
    result = run(client, expire=END, since='2026-12-02')
    assert client.users[USER]['expire'] == END and result['expire'] == END and result['expire_managed']
    assert client.pools['netlab-student1']['comment'] == (
        'deploystand:netlab:student1@pve deploystand-since:2026-12-02 deploystand-expires:2027-01-31T23:59:59Z')
    again = run(client, expire=END, since='2026-12-24')
    assert not again['changed'] and not again.get('expire_set') and not again.get('pool_updated')


def test_a_changed_end_is_written_to_the_user_and_the_pool_and_0_removes_it():
    client = FakeClient(users={USER: {'comment': 'deploystand:netlab', 'expire': END}},
                        pools={'netlab-student1': dict(OWN_POOL)}, acl=[entry('/pool/netlab-student1', 'PVEVMAdmin'),
                                                                       entry('/pool/netlab-student1', 'PVEPoolUser')])
    moved = run(client, expire=LATER, since='2026-12-02')
    assert moved['changed'] and moved['expire_set'] and moved['pool_updated'] and client.users[USER]['expire'] == LATER
    assert 'deploystand-since:2026-12-02' in client.pools['netlab-student1']['comment']
    never = run(client, expire=0, since='2026-12-03')
    assert never['changed'] and client.users[USER]['expire'] == 0
    assert client.pools['netlab-student1']['comment'] == 'deploystand:netlab:student1@pve deploystand-since:2026-12-02'


def test_check_mode_predicts_a_new_end_and_writes_nothing():
    client = FakeClient(users={USER: {'comment': 'deploystand:netlab', 'expire': END}},
                        pools={'netlab-student1': dict(OWN_POOL)})
    result = run(client, check_mode=True, expire=LATER, since='2026-12-02')
    assert result['changed'] and result['expire_set'] and client.writes == []
    assert result['diff']['before']['user']['expire'] == END and result['diff']['after']['user']['expire'] == LATER


def test_a_shared_account_gets_the_latest_end_of_its_stands_and_never_when_one_has_none():
    def client_with(other_pool_comment):
        return FakeClient(users={USER: {'comment': 'deploystand:netlab deploystand:netlab2', 'expire': 0}},
                          pools={'netlab-student1': dict(OWN_POOL),
                                 'netlab2-student1': {'comment': other_pool_comment, 'members': []}})
    later = client_with('deploystand:netlab2:student1@pve deploystand-expires:2027-03-02T23:59:59Z')
    result = run(later, expire=END)
    assert later.users[USER]['expire'] == END + 30 * 86400 and result['expire_shared_with'] == ['netlab2']
    earlier = client_with('deploystand:netlab2:student1@pve deploystand-expires:2026-12-31T23:59:59Z')
    run(earlier, expire=END)
    assert earlier.users[USER]['expire'] == END
    endless = client_with('deploystand:netlab2:student1@pve')
    run(endless, expire=END)
    assert endless.users[USER]['expire'] == 0


def test_an_account_that_existed_before_the_stand_keeps_its_expiry():
    client = FakeClient(users={USER: {'comment': 'admin made this', 'expire': 123}})
    result = run(client, expire=END)
    assert client.users[USER]['expire'] == 123 and result['expire_managed'] is False and result['expire'] == 123
    assert not any(w[1].startswith('access/users') for w in client.writes)


def test_bad_expire_and_since_are_input_errors():
    params = dict(stand='netlab', userid=USER, role='PVEVMAdmin', bridge_role='PVESDNUser', bridges=[])
    errors = A.check_params(dict(params, expire=-1, since='02.12.2026'))
    assert any(e.startswith('expire: ') for e in errors) and any(e.startswith('since: ') for e in errors)
    assert A.check_params(dict(params, expire=END, since='2026-12-02')) == []

# update_password=recover (issue 13 item 6): the password the report holds but never saw confirmed.

def recover_client(comment='deploystand:netlab', **kwargs):
    client = FakeClient(users={USER: {'comment': comment}}, **kwargs)
    client.password = 'Old-unknown-1'
    original_put = client.put

    def put(api_path, **params):
        original_put(api_path, **params)
        if api_path == 'access/password':
            client.password = params['password']
    client.put = put
    return client


def test_recover_with_a_password_that_logs_in_confirms_it_and_writes_nothing():
    client = recover_client()
    client.password = 'Recorded-pw-1'
    result = run(client, update_password='recover', password='Recorded-pw-1', works=lambda pw: pw == client.password)
    assert result['password_confirmed'] and not result['password_set']
    assert not any(w[1] == 'access/password' for w in client.writes)


def test_recover_sets_the_recorded_password_on_a_user_of_the_stand_whose_password_does_not_log_in():
    client = recover_client()
    result = run(client, update_password='recover', password='Recorded-pw-1', works=lambda pw: pw == client.password)
    assert result['password_set'] and client.password == 'Recorded-pw-1'


@pytest.mark.parametrize('comment', ['deploystand:netlab deploystand:otherlab', 'deploystand:otherlab',
                                     'made by the admin'])
def test_recover_never_touches_a_shared_account_or_one_that_existed_before_the_stand(comment):
    client = recover_client(comment=comment)
    result = run(client, update_password='recover', password='Recorded-pw-1', works=lambda pw: pw == client.password)
    assert not result['password_set'] and client.password == 'Old-unknown-1'
    assert not any(w[1] == 'access/password' for w in client.writes)
    if 'otherlab' in comment:
        assert 'otherlab' in result['password_kept']


def test_recover_under_token_auth_says_why_it_cannot_set_the_password():
    client = recover_client(token='ansible', identity='automation@pve!ansible')
    result = run(client, update_password='recover', password='Recorded-pw-1', works=lambda pw: pw == client.password)
    assert not result['password_set'] and 'token' in result['password_kept']


def test_a_stand_moved_to_vnets_drops_its_students_grants_on_the_old_node_bridges_too():
    run = A.UserPool(None, params(bridges=['vnetab01'], stale_bridges=['vmbr1002', 'vnetab01'], bridge_zone='teach'))
    assert sorted(acl['path'] for acl in run.stale) == ['/sdn/zones/localnetwork/vmbr1002', '/sdn/zones/teach/vmbr1002']
    bridged = A.UserPool(None, params(bridges=['vmbr1001'], stale_bridges=['vmbr1002']))
    assert [acl['path'] for acl in bridged.stale] == ['/sdn/zones/localnetwork/vmbr1002']
