"""Users, login, tokens, passwords (docs/simulator.md "Users", "Login", "API tokens")."""
import time

import pytest
from proxmoxer import AuthenticationError
from proxmoxer.core import ResourceException

from sim_helpers import client


def test_password_login_over_verified_tls(sim):
    api = client(sim)
    assert api.version.get()['release'] == '9.0'


def test_wrong_password_is_refused(sim):
    with pytest.raises(AuthenticationError):
        client(sim, password='wrong')


def test_user_crud_and_login(sim, root):
    root.access.users.post(userid='st1@pve', password='password1', comment='student', email='s@x.org')
    assert 'st1@pve' in [u['userid'] for u in root.access.users.get()]
    assert root.access.users('st1@pve').get()['comment'] == 'student'
    client(sim, 'st1@pve', 'password1').version.get()
    root.access.users('st1@pve').put(comment='changed', enable=0)
    assert root.access.users('st1@pve').get()['comment'] == 'changed'
    with pytest.raises(AuthenticationError):
        client(sim, 'st1@pve', 'password1')
    root.access.users('st1@pve').delete()
    with pytest.raises(ResourceException, match=r"no such user \('st1@pve'\)"):
        root.access.users('st1@pve').get()


def test_duplicate_user_is_refused(root):
    with pytest.raises(ResourceException, match="user 'teacher@pve' already exists"):
        root.access.users.post(userid='teacher@pve', password='password1')


def test_expired_user_cannot_log_in(sim, root):
    root.access.users.post(userid='old@pve', password='password1', expire=int(time.time()) - 10)
    with pytest.raises(AuthenticationError):
        client(sim, 'old@pve', 'password1')


def test_unknown_realm_and_passwordless_pam_user(sim, root):
    with pytest.raises(ResourceException, match="auth domain 'ldap' does not exist"):
        root.access.users.post(userid='x@ldap')
    root.access.users.post(userid='bob@pam')
    with pytest.raises(AuthenticationError):
        client(sim, 'bob@pam', '')


def test_password_change_works_for_our_users_and_refuses_tokens(sim, root):
    root.access.users.post(userid='st2@pve', password='password1')
    root.access.password.put(userid='st2@pve', password='password2')
    client(sim, 'st2@pve', 'password2').version.get()
    secret = sim.add_token('root@pam', 'auto', privsep=False)
    tok = client(sim, 'root@pam', token='auto', secret=secret)
    with pytest.raises(ResourceException, match='403'):
        tok.access.password.put(userid='st2@pve', password='password3')


def test_token_create_use_and_delete(sim, root):
    made = root.access.users('teacher@pve').token('ci').post(comment='ci')
    assert made['full-tokenid'] == 'teacher@pve!ci'
    tok = client(sim, 'teacher@pve', token='ci', secret=made['value'])
    assert tok.version.get()['release'] == '9.0'
    assert root.access.users('teacher@pve').token('ci').get()['privsep'] == 1
    root.access.users('teacher@pve').token('ci').delete()
    with pytest.raises(ResourceException, match='401'):
        tok.version.get()


def test_expired_token_is_rejected_with_pve_text(sim):
    secret = sim.add_token('teacher@pve', 'old', expire=int(time.time()) - 5)
    tok = client(sim, 'teacher@pve', token='old', secret=secret)
    with pytest.raises(ResourceException, match=r"token 'teacher@pve!old' access expired"):
        tok.version.get()


def test_deleting_a_user_removes_its_acls_and_tokens(sim, root):
    sim.add_token('teacher@pve', 't1')
    root.access.acl.put(path='/vms/100', roles='PVEVMUser', users='teacher@pve')
    root.access.acl.put(path='/vms/100', roles='PVEVMUser', tokens='teacher@pve!t1')
    root.access.users('teacher@pve').delete()
    state = sim.state()
    assert 'teacher@pve' not in state['users']
    assert not [a for a in state['acl'] if a['ugid'].startswith('teacher@pve')]
