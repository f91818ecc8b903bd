"""Users, API tokens, roles and ACLs, with PVE's permission model.

Follows pve-access-control: src/PVE/API2/User.pm (users, tokens), API2/ACL.pm (ACL writes and
`check_path`), API2/Role.pm and AccessControl.pm (`$privgroups`, `roles()`), and
pve-manager's RPCEnvironment.pm (`compile_acl_path`, pool roles, privsep tokens).

All state lives in plain dicts on the server instance so `Simulator.state()` can dump it.
Errors written inside PVE's `lock_user_config` carry its prefix ("create user failed: ...").
"""

import re
import time
import uuid

from fakepve import shapes
from fakepve.model import PveError
from fakepve.routing import die, param_error, split_list

REALMS = ('pam', 'pve')
ALL_PRIVS = tuple(shapes.PRIVILEGES)

_VM_USER = ('VM.Audit', 'VM.Console', 'VM.PowerMgmt', 'VM.Backup', 'VM.Config.CDROM', 'VM.Config.Cloudinit',
            'VM.GuestAgent.Audit', 'VM.GuestAgent.FileRead', 'VM.GuestAgent.FileWrite',
            'VM.GuestAgent.FileSystemMgmt')
_VM_ADMIN = _VM_USER + ('VM.Allocate', 'VM.Clone', 'VM.Config.Disk', 'VM.Config.CPU', 'VM.Config.Memory',
                        'VM.Config.Network', 'VM.Config.HWType', 'VM.Config.Options', 'VM.Migrate', 'VM.Replicate',
                        'VM.Snapshot', 'VM.Snapshot.Rollback', 'VM.GuestAgent.Unrestricted')
_AUDIT = ('VM.Audit', 'VM.GuestAgent.Audit', 'Sys.Audit', 'Datastore.Audit', 'SDN.Audit', 'Pool.Audit',
          'Mapping.Audit')
# PVE 9 built-in roles (pve-access-control AccessControl.pm create_roles).
BUILTIN_ROLES = {
    'Administrator': ALL_PRIVS,
    'NoAccess': (),
    'PVEAuditor': _AUDIT,
    'PVEVMUser': _VM_USER,
    'PVEVMAdmin': _VM_ADMIN,
    'PVEPoolUser': ('Pool.Audit',),
    'PVEPoolAdmin': ('Pool.Allocate', 'Pool.Audit'),
    'PVESDNUser': ('SDN.Use', 'SDN.Audit'),
    'PVESDNAdmin': ('SDN.Allocate', 'SDN.Audit', 'SDN.Use'),
    'PVEDatastoreUser': ('Datastore.AllocateSpace', 'Datastore.Audit'),
    'PVEDatastoreAdmin': ('Datastore.Allocate', 'Datastore.AllocateSpace', 'Datastore.AllocateTemplate',
                          'Datastore.Audit'),
    'PVETemplateUser': ('VM.Clone', 'VM.Audit'),
    'PVEUserAdmin': ('User.Modify', 'Group.Allocate', 'Realm.Allocate', 'Realm.AllocateUser', 'Sys.Audit'),
    'PVEAdmin': tuple(p for p in ALL_PRIVS if p not in ('Permissions.Modify', 'Sys.Modify', 'Realm.Allocate')),
}

# AccessControl.pm check_path, reduced to the forms the lab uses plus the common top levels.
_ACL_PATHS = [r'/', r'/access(/groups(/[^/]+)?|/realm(/[^/]+)?)?', r'/vms(/\d+)?', r'/nodes(/[^/]+)?',
              r'/storage(/[^/]+)?', r'/pool(/[^/]+){0,3}', r'/sdn(/zones(/[^/]+(/[^/]+(/\d+)?)?)?)?',
              r'/mapping(/[^/]+(/[^/]+)?)?']
ACL_PATH = re.compile(r'^(?:' + '|'.join(_ACL_PATHS) + r')$')
USERID = re.compile(r'^[^\s:/]+@([A-Za-z][A-Za-z0-9.\-_]+)$')


def token_parts(authid):
    """('user@realm', 'tokenid') of 'user@realm!tokenid', or (authid, None)."""
    user, _, tok = authid.partition('!')
    return user, (tok or None)


class AccessModel(object):
    """Mixin of LabPve: the user.cfg state and the permission computation."""

    def _init_access(self):
        # userid -> {comment, email, enable, expire, firstname, lastname, password, tokens: {tid: {...}}}
        self.lab_users = {'root@pam': self._new_user({'comment': 'root'})}
        # custom roles: roleid -> set(privs); built-ins are read from BUILTIN_ROLES
        self.lab_roles = {}
        # [(path, type, ugid, roleid, propagate)] in insertion order
        self.lab_acl = []
        # fakepve only enforces permissions once `acl` is not None; ours are always enforced.
        self.acl = {}

    @staticmethod
    def _new_user(fields):
        user = {'comment': None, 'email': None, 'enable': 1, 'expire': 0, 'firstname': None, 'lastname': None,
                'password': None, 'tokens': {}}
        user.update((k, v) for k, v in fields.items() if k in user)
        return user

    # ----------------------------------------------------------------- users

    def add_user(self, userid, password=None, **fields):
        """Create a user (as POST /access/users would); returns its record."""
        if userid in self.lab_users:
            raise die("create user failed: user '{0}' already exists".format(userid))
        self.lab_users[userid] = self._new_user(dict(fields, password=password))
        return self.lab_users[userid]

    def add_token(self, userid, tokenid, privsep=True, expire=0, comment=None):
        """Create an API token; returns the secret (PVE shows it once)."""
        user = self._user(userid)
        secret = str(uuid.uuid4())
        user['tokens'][tokenid] = {'privsep': 1 if privsep else 0, 'expire': int(expire or 0),
                                   'comment': comment, 'secret': secret}
        return secret

    def _user(self, userid):
        user = self.lab_users.get(userid)
        if user is None:
            raise die("no such user ('{0}')".format(userid))
        return user

    def user_usable(self, userid):
        """True if the user exists, is enabled and not expired (PVE check_user_enabled)."""
        user = self.lab_users.get(userid)
        if user is None or not int(user.get('enable', 1)):
            return False
        expire = int(user.get('expire') or 0)
        return not (expire and expire < time.time())

    def check_password(self, user, password):
        """Login check for POST /access/ticket: realm, user state and password."""
        realm = user.rpartition('@')[2]
        if realm not in REALMS or not self.user_usable(user):
            return False
        if user == 'root@pam':
            return password == self.password
        stored = self.lab_users[user].get('password')
        # A pam user logs in through the host's PAM: only if a Linux password was set for it.
        return stored is not None and password == stored

    def token_secret_ok(self, authid, secret):
        """None if the token header is valid; else the PveError to answer with."""
        userid, tid = token_parts(authid)
        token = (self.lab_users.get(userid) or {}).get('tokens', {}).get(tid)
        if token is None or token['secret'] != secret or not self.user_usable(userid):
            return PveError(401, 'authentication failure')
        if token['expire'] and token['expire'] < time.time():
            return PveError(401, "token '{0}' access expired".format(authid))
        return None

    # ----------------------------------------------------------------- roles

    def role_privs(self, roleid):
        if roleid in BUILTIN_ROLES:
            return set(BUILTIN_ROLES[roleid])
        return self.lab_roles.get(roleid)

    def all_roles(self):
        out = dict((k, set(v)) for k, v in BUILTIN_ROLES.items())
        out.update((k, set(v)) for k, v in self.lab_roles.items())
        return out

    # ------------------------------------------------------------ ACL entries

    def set_acl(self, path, roleid, ugid, kind='user', propagate=1, delete=False):
        key = (path, kind, ugid, roleid)
        self.lab_acl = [e for e in self.lab_acl if e[:4] != key]
        if not delete:
            self.lab_acl.append(key + (1 if propagate else 0,))

    def drop_acl(self, match):
        """Remove every ACL entry for which match(path, type, ugid) is true."""
        self.lab_acl = [e for e in self.lab_acl if not match(e[0], e[1], e[2])]

    def _roles_on(self, ugid, path):
        """PVE AccessControl::roles for one user or token: {roleid: propagate}.

        Walks from / to the path; entries on an ancestor count only if propagated, and a deeper
        level that names the ugid replaces what the levels above gave.
        """
        parts = [p for p in path.split('/') if p]
        levels = ['/'] + ['/' + '/'.join(parts[:i]) for i in range(1, len(parts) + 1)]
        roles = {}
        for depth, level in enumerate(levels):
            final = depth == len(levels) - 1
            found = dict((e[3], e[4]) for e in self.lab_acl
                         if e[0] == level and e[2] == ugid and (final or e[4]))
            if found:
                roles = found
        if 'NoAccess' in roles:
            return {'NoAccess': roles['NoAccess']}
        return roles

    def _compiled_roles(self, ugid, path):
        """RPCEnvironment compile_acl_path: {roleid: propagate} of the path's own roles, plus those of the
        pool holding it with propagate 0 (only where the path's ACL did not set them). NoAccess on the path
        wins over the pool, and a pool's NoAccess over the path's other roles."""
        roles = self._roles_on(ugid, path)
        pool = None
        found = re.match(r'^/vms/(\d+)$', path)
        if found:
            pool = self._pool_of_vm(int(found.group(1)))
        elif path.startswith('/storage/'):
            pool = self._pool_of_storage(path.split('/')[2])
        if pool and 'NoAccess' not in roles:
            pool_roles = self._roles_on(ugid, '/pool/' + pool)
            if 'NoAccess' in pool_roles:
                roles = {'NoAccess': 0}
            else:
                roles = dict(roles)
                for roleid in pool_roles:
                    roles.setdefault(roleid, 0)
        return roles

    def priv_flags_of(self, authid, path):
        """RPCEnvironment permissions(): {privilege: propagate (0/1)} that authid (a user or user!token)
        holds on path. A privilege's flag is 1 when a propagated role gives it; a privsep token gets the
        privileges both it and its user hold, each flag the AND of the two."""
        userid, tid = token_parts(authid)
        if userid == 'root@pam' and tid is None:
            return dict.fromkeys(ALL_PRIVS, 1)
        if not self.user_usable(userid):
            return {}
        token = None
        if tid is not None:
            token = self.lab_users[userid]['tokens'].get(tid)
            if token is None:
                return {}
        if userid == 'root@pam':
            flags = dict.fromkeys(ALL_PRIVS, 1)
        else:
            flags = self._flags_from_roles(self._compiled_roles(userid, path))
        if token is not None and token['privsep']:
            own = self._flags_from_roles(self._compiled_roles(authid, path))
            flags = dict((priv, flags[priv] and own[priv]) for priv in own if priv in flags)
        return flags

    def privs_of(self, authid, path):
        """The set of privileges authid (a user or user!token) holds on path."""
        return set(self.priv_flags_of(authid, path))

    def _flags_from_roles(self, roles):
        out = {}
        for roleid, propagate in roles.items():
            for priv in self.role_privs(roleid) or set():
                out[priv] = 1 if (out.get(priv) or propagate) else 0
        return out

    def allowed(self, user, path, priv):
        """fakepve's permission hook, always enforced: True if user holds priv on path."""
        if user is None:
            return False
        return priv in self.privs_of(user, path.rstrip('/') or '/')

    def grant(self, user, path, *privs):
        """fakepve's privilege grant, kept working through a hidden per-grant role."""
        roleid = 'SimGrant{0}'.format(len(self.lab_roles))
        self.lab_roles[roleid] = set(privs)
        self.set_acl(path.rstrip('/') or '/', roleid, user, 'token' if '!' in user else 'user')

    def check_permissions(self, user, perms, values, declared=None):
        """fakepve skips the schema rule for every root@pam token; PVE only for root@pam itself and
        non-privsep root tokens (whose privileges are root's anyway), so privsep root tokens are checked."""
        userid, tid = token_parts(user or '')
        if tid and userid == 'root@pam':
            if perms is None or ('check' not in perms and perms.get('user') not in ('all', 'world')):
                ok, why = False, 'user != root@pam'
            elif 'check' in perms:
                ok, why = self._check(user, perms['check'], values, declared)
            else:
                ok, why = True, ''
            if not ok:
                raise PveError(403, 'Permission check failed ({0})'.format(why) if why else 'Permission check failed')
            return
        super().check_permissions(user, perms, values, declared)


class AccessRoutes(object):
    """Mixin of LabPve: the /access endpoints that fakepve answers with canned data."""

    def _routes_access(self):
        users = '/access/users'
        user = users + '/{userid}'
        token = user + '/token/{tokenid}'
        return [('GET', users, self._users_list), ('POST', users, self._users_create),
                ('GET', user, self._users_read), ('PUT', user, self._users_update),
                ('DELETE', user, self._users_delete),
                ('GET', user + '/token', self._tokens_list), ('GET', token, self._token_read),
                ('POST', token, self._token_create), ('DELETE', token, self._token_delete),
                ('GET', '/access/acl', self._acl_read), ('PUT', '/access/acl', self._acl_update),
                ('GET', '/access/roles', self._roles_list), ('POST', '/access/roles', self._roles_create),
                ('GET', '/access/roles/{roleid}', self._role_read),
                ('PUT', '/access/roles/{roleid}', self._role_update),
                ('DELETE', '/access/roles/{roleid}', self._role_delete),
                ('GET', '/access/permissions', self._permissions_read)]

    # ---------------------------------------------------------------- users

    @staticmethod
    def _user_view(userid, user, full=False):
        item = {'userid': userid, 'enable': int(user['enable']), 'expire': int(user['expire'] or 0)}
        for key in ('comment', 'email', 'firstname', 'lastname'):
            if user.get(key) is not None:
                item[key] = user[key]
        item['realm-type'] = userid.rpartition('@')[2]
        if full:
            item['tokens'] = [dict({'tokenid': tid, 'privsep': t['privsep'], 'expire': t['expire']},
                                   **({'comment': t['comment']} if t.get('comment') else {}))
                              for tid, t in sorted(user['tokens'].items())]
        return item

    def _can_see_user(self, caller, userid):
        return caller.partition('!')[0] == userid or self.allowed(caller, '/access/groups', 'User.Modify') \
            or self.allowed(caller, '/access/groups', 'Sys.Audit')

    async def _users_list(self, v, user):
        enabled = v.get('enabled')
        out = []
        for userid, rec in sorted(self.lab_users.items()):
            if not self._can_see_user(user, userid):
                continue
            if enabled is not None and int(rec['enable']) != int(enabled):
                continue
            out.append(self._user_view(userid, rec, full=bool(v.get('full'))))
        return out

    async def _users_create(self, v, user):
        userid = v['userid']
        realm = userid.rpartition('@')[2]
        if realm not in REALMS:
            raise die("create user failed: auth domain '{0}' does not exist".format(realm))
        if v.get('groups'):
            raise die("create user failed: no such group '{0}'".format(split_list(v['groups'])[0]))
        self.add_user(userid, v.get('password'), **dict((k, v[k]) for k in (
            'comment', 'email', 'enable', 'expire', 'firstname', 'lastname') if v.get(k) is not None))
        return None

    async def _users_read(self, v, user):
        rec = self._user(v['userid'])
        data = self._user_view(v['userid'], rec)
        data.pop('userid')
        data.pop('realm-type')
        data['tokens'] = dict((tid, dict({'privsep': t['privsep'], 'expire': t['expire']},
                                         **({'comment': t['comment']} if t.get('comment') else {})))
                              for tid, t in rec['tokens'].items())
        return data

    async def _users_update(self, v, user):
        rec = self.lab_users.get(v['userid'])
        if rec is None:
            raise die("update user failed: no such user ('{0}')".format(v['userid']))
        if v.get('groups'):
            raise die("update user failed: no such group '{0}'".format(split_list(v['groups'])[0]))
        for key in ('comment', 'email', 'enable', 'expire', 'firstname', 'lastname'):
            if v.get(key) is not None:
                rec[key] = v[key]
        return None

    async def _users_delete(self, v, user):
        userid = v['userid']
        if userid not in self.lab_users:
            raise die("delete user failed: no such user ('{0}')".format(userid))
        del self.lab_users[userid]
        # User.pm delete_user: the user's ACL entries and its tokens (and their ACLs) go with it.
        self.drop_acl(lambda path, kind, ugid: ugid == userid or ugid.startswith(userid + '!'))
        self.tickets = dict((t, s) for t, s in self.tickets.items() if s['user'] != userid)
        return None

    # --------------------------------------------------------------- tokens

    async def _tokens_list(self, v, user):
        rec = self._user(v['userid'])
        return [dict({'tokenid': tid, 'privsep': t['privsep'], 'expire': t['expire']},
                     **({'comment': t['comment']} if t.get('comment') else {}))
                for tid, t in sorted(rec['tokens'].items())]

    async def _token_read(self, v, user):
        rec = self._user(v['userid'])
        token = rec['tokens'].get(v['tokenid'])
        if token is None:
            raise die("no such token '{0}' for user '{1}'".format(v['tokenid'], v['userid']))
        return dict({'privsep': token['privsep'], 'expire': token['expire']},
                    **({'comment': token['comment']} if token.get('comment') else {}))

    async def _token_create(self, v, user):
        rec = self._user(v['userid'])
        tid = v['tokenid']
        if tid in rec['tokens']:
            raise param_error(tokenid='Token already exists.')
        privsep = v.get('privsep')
        secret = self.add_token(v['userid'], tid, privsep=True if privsep is None else bool(int(privsep)),
                                expire=v.get('expire') or 0, comment=v.get('comment'))
        token = rec['tokens'][tid]
        info = {'privsep': token['privsep'], 'expire': token['expire']}
        if token.get('comment'):
            info['comment'] = token['comment']
        return {'full-tokenid': '{0}!{1}'.format(v['userid'], tid), 'info': info, 'value': secret}

    async def _token_delete(self, v, user):
        rec = self._user(v['userid'])
        tid = v['tokenid']
        if tid not in rec['tokens']:
            raise die("no such token '{0}' for user '{1}'".format(tid, v['userid']))
        del rec['tokens'][tid]
        full = '{0}!{1}'.format(v['userid'], tid)
        self.drop_acl(lambda path, kind, ugid: ugid == full)
        return None

    # ------------------------------------------------------------------ ACL

    async def _acl_read(self, v, user):
        # ACL.pm read_acl: entries on paths the caller may audit (Sys.Audit or Permissions.Modify).
        out = []
        for path, kind, ugid, roleid, propagate in self.lab_acl:
            if roleid.startswith('SimGrant'):
                continue
            if not (self.allowed(user, path, 'Sys.Audit') or self.allowed(user, path, 'Permissions.Modify')):
                continue
            out.append({'path': path, 'type': kind, 'ugid': ugid, 'roleid': roleid, 'propagate': propagate})
        return out

    async def _acl_update(self, v, user):
        path = '/' + '/'.join(p for p in v['path'].split('/') if p)
        if not ACL_PATH.match(path):
            raise param_error(path="invalid ACL path '{0}'".format(v['path']))
        users, groups, tokens = (split_list(v.get(k)) for k in ('users', 'groups', 'tokens'))
        if not (users or groups or tokens):
            raise param_error(groups='either users, groups or tokens is required')
        fail = 'ACL update failed: '
        roles = split_list(v['roles'])
        for roleid in roles:
            if self.role_privs(roleid) is None:
                raise die(fail + "role '{0}' does not exist".format(roleid))
        for group in groups:
            raise die(fail + "group '{0}' does not exist".format(group))
        for userid in users:
            if userid not in self.lab_users:
                raise die(fail + "user '{0}' does not exist".format(userid))
        for tokenid in tokens:
            owner, tid = token_parts(tokenid)
            if tid is None or tid not in (self.lab_users.get(owner) or {}).get('tokens', {}):
                raise die(fail + "no such token '{0}' for user '{1}'".format(tid, owner))
        propagate = 1 if v.get('propagate') is None else int(bool(int(v['propagate'])))
        delete = bool(int(v.get('delete') or 0))
        for roleid in roles:
            for ugid in users:
                self.set_acl(path, roleid, ugid, 'user', propagate, delete)
            for ugid in tokens:
                self.set_acl(path, roleid, ugid, 'token', propagate, delete)
        return None

    # ---------------------------------------------------------------- roles

    async def _roles_list(self, v, user):
        out = []
        for roleid, privs in sorted(self.all_roles().items()):
            if roleid.startswith('SimGrant'):
                continue
            item = {'roleid': roleid, 'privs': ','.join(sorted(privs))}
            if roleid in BUILTIN_ROLES:
                item['special'] = 1
            out.append(item)
        return out

    def _check_privs(self, text):
        privs = split_list(text)
        for priv in privs:
            if priv not in ALL_PRIVS:
                raise die("invalid privilege '{0}'".format(priv))
        return set(privs)

    async def _roles_create(self, v, user):
        roleid = v['roleid']
        if roleid.lower().startswith('pve'):
            raise param_error(roleid="cannot use role ID starting with the (case-insensitive) 'PVE' namespace")
        if self.role_privs(roleid) is not None:
            raise die("create role failed: role '{0}' already exists".format(roleid))
        try:
            self.lab_roles[roleid] = self._check_privs(v.get('privs'))
        except PveError as e:
            raise die('create role failed: ' + e.message) from e
        return None

    async def _role_read(self, v, user):
        privs = self.role_privs(v['roleid'])
        if privs is None:
            raise die("role '{0}' does not exist".format(v['roleid']))
        return dict.fromkeys(sorted(privs), 1)

    async def _role_update(self, v, user):
        roleid = v['roleid']
        fail = 'update role failed: '
        if roleid in BUILTIN_ROLES:
            raise die(fail + "auto-generated role '{0}' cannot be modified".format(roleid))
        if roleid not in self.lab_roles:
            raise die(fail + "role '{0}' does not exist".format(roleid))
        try:
            privs = self._check_privs(v.get('privs'))
        except PveError as e:
            raise die(fail + e.message) from e
        if v.get('append'):
            self.lab_roles[roleid] |= privs
        else:
            self.lab_roles[roleid] = privs
        return None

    async def _role_delete(self, v, user):
        roleid = v['roleid']
        fail = 'delete role failed: '
        if roleid in BUILTIN_ROLES:
            raise die(fail + "auto-generated role '{0}' cannot be deleted".format(roleid))
        if roleid not in self.lab_roles:
            raise die(fail + "role '{0}' does not exist".format(roleid))
        del self.lab_roles[roleid]
        self.lab_acl = [e for e in self.lab_acl if e[3] != roleid]
        return None

    # ---------------------------------------------------------- permissions

    # The paths GET /access/permissions dumps without `path` (RPCEnvironment get_effective_permissions).
    PERMISSION_TOP_PATHS = ('/', '/access', '/access/groups', '/nodes', '/pool', '/sdn', '/storage', '/vms')

    async def _permissions_read(self, v, user):
        """pve-access-control API2/AccessControl.pm `permissions`: {path: {privilege: propagate}}. Without
        `path`: the top-level paths, every ACL path and the pools' member /vms/<id> and /storage/<id>,
        leaving out paths with no privilege; with `path`: that one path, even when it holds none. Another
        user's (or its tokens') permissions need Sys.Audit on /access."""
        who = v.get('userid') or user
        owner = token_parts(who)[0]
        if who != user and owner != user and not self.allowed(user, '/access', 'Sys.Audit'):
            raise PveError(403, 'Permission check failed (/access, Sys.Audit)')
        if v.get('path') is not None:
            return {v['path']: self.priv_flags_of(who, v['path'])}
        paths = set(self.PERMISSION_TOP_PATHS)
        paths.update(e[0] for e in self.lab_acl)
        for pool, members in self.pools.items():
            paths.update('/vms/{0}'.format(vmid) for vmid in members)
        paths.update('/storage/' + sid for pool, meta in self.pool_info.items() if pool in self.pools
                     for sid in meta['storage'])
        out = {}
        for path in sorted(paths):
            flags = self.priv_flags_of(who, path)
            if flags:
                out[path] = dict(sorted(flags.items()))
        return out
