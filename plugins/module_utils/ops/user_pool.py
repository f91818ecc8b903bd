# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One student's user, pool and ACLs (the logic behind the pve_user_pool module).

The pure part decides (who owns a user or a pool, what the input is worth; which ACL entries are missing
is stand/acls.py) and is unit-tested without a cluster; `UserPool` reads the cluster through the one
client, asks the pure part and writes only what is missing. Ownership follows docs/stand-model.md 3 (markers): the
user's comment holds `deploystand:<stand>`, the pool's `deploystand:<stand>:<userid>`.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools
import re

from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.formats import BRIDGE_ID_RE, parse_net
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.acls import (
    acl_label, acl_view, acl_writes, bridge_acl_path, held_acls, missing_acls, outside_entries, pool_acl_path,
    wanted_acls,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.inputs import normalize_users
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.names import (
    PASSWORD_LEN, POOL_ID_RE, ROLE_RE, owns, parse_marker, pool_id, pool_id_problem, pool_marker,
    split_userid, stand_name_problem, user_marker,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.passwords import generate_password, password_control_problem
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.client import NOT_FOUND, PveApiError
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.wait import converge
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand import expiry as expirylib

MIN_GENERATED_PASSWORD = 16
CREATED_REALM = 'pve'            # the only realm whose users this module creates


class UserPoolError(Exception):
    """A request pve_user_pool refuses; the message says what to do."""


# ------------------------------------------------------------------------------ pure decisions

def ownership(record, marker):
    """'missing' (record is None), 'owned' (its comment holds marker) or 'foreign'."""
    if record is None:
        return 'missing'
    return 'owned' if owns(record.get('comment'), marker) else 'foreign'


def user_stands(comment):
    """Stands whose user marker (deploystand:<stand>) the comment carries: one token per stand that
    uses the account."""
    out = []
    for token in str(comment or '').split():
        found = parse_marker(token)
        if found and found['userid'] is None and token == user_marker(found['stand']):
            out.append(found['stand'])
    return out


def with_marker(comment, marker):
    """The comment with the marker token added (after what it holds)."""
    text = str(comment or '').rstrip()
    return '{0} {1}'.format(text, marker) if text else marker


def without_marker(comment, marker):
    """The comment without the marker token; everything else is kept as it was."""
    kept = re.sub(r'(^|\s)' + re.escape(marker) + r'(?=\s|$)', r'\1', str(comment or ''))
    return re.sub(r'[ \t]{2,}', ' ', kept).strip()


def pool_stands_of(pools, userid, stand):
    """Other stands whose pool marker names this user: they still use the account."""
    out = []
    for record in pools or ():
        for token in str(record.get('comment') or '').split():
            found = parse_marker(token)
            if (found and found['userid'] == userid and found['alias'] is None and found['stand'] != stand
                    and token == pool_marker(found['stand'], userid) and found['stand'] not in out):
                out.append(found['stand'])
    return out


def pool_members(record):
    """Members of a pool record as 'qemu/101'-style ids (empty for an empty pool)."""
    out = []
    for member in (record or {}).get('members') or ():
        out.append(str(member.get('id') or member.get('vmid') or member.get('storage') or member))
    return out


def check_params(params):
    """Every problem with the module input, as one list of messages (empty when it is usable).

    params: stand, userid, pool (None = default), role, bridges, bridge_role, password,
    password_length. The password itself is never echoed."""
    errors = []
    stand = params.get('stand')
    problem = stand_name_problem(stand)
    if problem:
        errors.append(problem)
    userid = params.get('userid')
    _students, user_errors = normalize_users([{'name': userid}])
    errors.extend(e.replace('users[0].name', 'userid').replace('users[0]', 'userid') for e in user_errors)
    if not user_errors and not errors:
        if params.get('pool') is None:
            problem = pool_id_problem(stand, userid)
            if problem:
                errors.append('pool: the default pool id of %s %s; give pool explicitly' % (userid, problem))
    if params.get('pool') is not None and not POOL_ID_RE.match(str(params['pool'])):
        errors.append("pool: %r is not a pool id PVE accepts (letters, digits, '.', '-' and '_', starting with a "
                      "letter)" % params['pool'])
    for key in ('role', 'bridge_role', 'pool_audit_role'):
        value = params.get(key)
        if value is None or (key == 'pool_audit_role' and value == ''):  # '' grants no audit role
            continue
        if not ROLE_RE.match(str(value)):
            errors.append('%s: %r is not a role id' % (key, value))
    for key in ('bridges', 'stale_bridges'):
        for iface in params.get(key) or ():
            if not isinstance(iface, str) or not BRIDGE_ID_RE.match(iface):
                errors.append("%s: %r is not a bridge name (letters, digits, '_', '-', '.')" % (key, iface))
    errors.extend(expiry_param_problems(params))
    password = params.get('password')
    if password is not None and not PASSWORD_LEN[0] <= len(password) <= PASSWORD_LEN[1]:
        errors.append('password: must be %d-%d characters (PVE rule), got %d'
                      % (PASSWORD_LEN[0], PASSWORD_LEN[1], len(password)))
    elif password is not None and password_control_problem(password):
        errors.append('password: ' + password_control_problem(password))
    length = params.get('password_length')
    if length is not None and not MIN_GENERATED_PASSWORD <= length <= PASSWORD_LEN[1]:
        errors.append('password_length: must be %d-%d, got %d'
                      % (MIN_GENERATED_PASSWORD, PASSWORD_LEN[1], length))
    return errors


def expiry_param_problems(params):
    """expire (epoch seconds, 0 = never) and since (the stand's first deploy, YYYY-MM-DD)."""
    errors = []
    expire = params.get('expire')
    if expire is not None and (isinstance(expire, bool) or not isinstance(expire, int) or expire < 0):
        errors.append('expire: must be epoch seconds (0 = never), got %r' % (expire,))
    since = params.get('since')
    if since is not None and expirylib.since_of(expirylib.SINCE_PREFIX + str(since)) != since:
        errors.append('since: must be a date YYYY-MM-DD, got %r' % (since,))
    return errors


def read_user(client, userid):
    """GET /access/users/<userid>, or None when PVE says there is no such user."""
    try:
        return client.get('access/users/{0}'.format(userid))
    except PveApiError as err:
        if err.kind == NOT_FOUND:
            return None
        raise


def default_pool(stand, userid):
    return pool_id(stand, userid)


def realm_of(userid):
    return split_userid(userid)[1]


# ----------------------------------------------------------------------------- the API steps

class UserPool(object):
    """Converges one student's user, pool and ACLs; `present()` / `absent()` return the result.

    params: the module's own options (stand, userid, pool, role, bridges, bridge_role, password,
    update_password, password_length) plus api_password (for PUT /access/password confirmation).
    warn: a callable that reports a warning (module.warn)."""

    def __init__(self, client, params, check_mode=False, warn=None, password_checker=None):
        self.client = client
        self.p = params
        self.check_mode = check_mode
        self._warn = warn or (lambda msg: None)
        self._password_works = password_checker or self._login_works
        self.stand = params['stand']
        self.userid = params['userid']
        self.pool = params.get('pool') or default_pool(self.stand, self.userid)
        self.user_marker = user_marker(self.stand)
        self.pool_marker = pool_marker(self.stand, self.userid)
        self.zone = params.get('bridge_zone') or None
        self.wanted = wanted_acls(self.userid, self.pool, params['role'], params.get('bridges') or [],
                                  params['bridge_role'], params.get('pool_audit_role'), self.zone)
        # grants on bridges the stand no longer gives the student (a bridge name is one ACL path on
        # every node, so a grant left behind covers whatever bridge has that name next)
        stale = sorted(set(params.get('stale_bridges') or ()) - set(params.get('bridges') or ()))
        # (a stand switched from node bridges to VNets still holds grants on the bridges' localnetwork paths)
        self.stale = [acl for zone in sorted(set([None, self.zone]), key=str)
                      for acl in wanted_acls(self.userid, self.pool, None, stale, params['bridge_role'], zone=zone)]
        self.paths = set(w['path'] for w in self.wanted + self.stale)
        self.result = {'userid': self.userid, 'pool': self.pool, 'user_created': False, 'user_owned': False,
                       'pool_created': False, 'acls_added': [], 'acls_removed': [], 'password_set': False,
                       'foreign': [], 'changed': False}

    # ------------------------------------------------------------------ reads

    def read_user(self):
        return read_user(self.client, self.userid)

    def read_pool(self):
        path, params = self.client.pool_path(self.pool)
        try:
            data = self.client.get(path, **params)
        except PveApiError as err:
            if err.kind == NOT_FOUND:
                return None
            raise
        if isinstance(data, list):
            data = data[0] if data else None
        return data

    def read_acl(self):
        return self.client.get('access/acl') or []

    def _login_works(self, password):
        """True if the student can log in with this password (POST /access/ticket as the student)."""
        return self.client.accepts(user=self.userid, password=password)

    # ---------------------------------------------------------------- helpers

    def _foreign(self, text):
        self.result['foreign'].append(text)
        self._warn(text)

    def _user_view(self, user):
        if user is None:
            return None
        view = {'comment': user.get('comment') or ''}
        if self.p.get('expire') is not None:        # the expiry is shown where the stand manages it
            view['expire'] = int(user.get('expire') or 0)
        return view

    @staticmethod
    def _pool_view(pool):
        if pool is None:
            return None
        return {'comment': pool.get('comment') or '', 'members': pool_members(pool)}

    def _acl_done(self, entries, present):
        def done():
            acl = self.read_acl()
            still_missing = missing_acls(acl, entries) if present else held_acls(acl, entries)
            return not still_missing
        return done

    def _write_acls(self, entries, delete=False):
        for call in acl_writes(entries):
            group = [e for e in entries if e['path'] == call['path']]
            params = dict(call)
            if delete:
                params['delete'] = 1

            converge(functools.partial(self.client.put, 'access/acl', **params), self._acl_done(group, not delete))

    # ---------------------------------------------------------------- present

    def present(self):
        r = self.result
        user = self.read_user()
        pool = self.read_pool()
        acl = self.read_acl()
        before = {'user': self._user_view(user), 'pool': self._pool_view(pool),
                  'acl': acl_view(acl, self.userid, self.paths)}
        # before any write: a refused run changes nothing
        self._refuse_foreign_pool(pool)
        self._refuse_unknown_roles()
        after_user = self._ensure_user(user)
        after_pool = self._ensure_pool(pool)
        missing = missing_acls(acl, self.wanted)
        stale = held_acls(acl, self.stale)
        if missing and not self.check_mode:
            self._write_acls(missing)
        if stale and not self.check_mode:
            self._write_acls(stale, delete=True)
        r['acls_added'] = [acl_label(e) for e in missing]
        r['acls_removed'] = [acl_label(e) for e in stale]
        after = {'user': after_user, 'pool': after_pool,
                 'acl': sorted((set(before['acl']) | set(r['acls_added'])) - set(r['acls_removed']))}
        r['changed'] = bool(r['user_created'] or r['password_set'] or r['pool_created'] or missing or stale
                            or r.get('user_marked') or r.get('expire_set') or r.get('pool_updated'))
        r['diff'] = {'before': before, 'after': after}
        return r

    def _ensure_user(self, user):
        r = self.result
        owner = ownership(user, self.user_marker)
        if owner == 'missing':
            realm = realm_of(self.userid)
            if realm != CREATED_REALM:
                raise UserPoolError(
                    "user {0} does not exist. Only users of realm '{1}' are created by this module; users of realm "
                    "'{2}' must exist before the stand (check the realm name, or create the user in realm '{2}' "
                    "first)".format(self.userid, CREATED_REALM, realm))
            password = self.p.get('password') or generate_password(self.p['password_length'])
            if not self.check_mode:
                extra = {'expire': self.p['expire']} if self.p.get('expire') else {}

                def write():
                    self.client.post('access/users', userid=self.userid, password=password,
                                     comment=self.user_marker, **extra)
                converge(write, lambda: ownership(self.read_user(), self.user_marker) == 'owned')
                r['password'] = password
            r.update(user_created=True, user_owned=True, password_set=True)
            if self.p.get('expire') is not None:
                r.update(expire=self.p['expire'], expire_managed=True)
            return self._user_view({'comment': self.user_marker, 'expire': self.p.get('expire')})
        if owner == 'foreign' and user_stands(user.get('comment')):
            user = self._add_marker(user)
        elif owner == 'foreign':
            self._foreign('user {0} existed before the stand (its comment {1!r} has no marker {2}): used as is, '
                          'only ACLs are added, never modified or deleted'.format(
                              self.userid, user.get('comment') or '', self.user_marker))
            if self.p.get('expire') is not None:        # its expiry is the admin's
                r.update(expire=int(user.get('expire') or 0), expire_managed=False)
            if self.p.get('update_password') == 'always' and realm_of(self.userid) == CREATED_REALM:
                self._warn('update_password=always: the password of {0} is not reset, because the stand did not '
                           'create this user'.format(self.userid))
            return self._user_view(user)
        r['user_owned'] = True
        user = self._ensure_expire(user)
        if self.p.get('update_password') == 'recover':
            self._recover_password(user)
        elif self.p.get('update_password') == 'always':
            if realm_of(self.userid) == CREATED_REALM:
                self._reset_password()
            else:
                self._warn('update_password=always: {0} is not in realm {1}; its password is not managed here'.format(
                    self.userid, CREATED_REALM))
        return self._user_view(user)

    def _ensure_expire(self, user):
        """PVE's own `expire` of an account the stand owns (carries its marker): the stand's end (0 = never). An
        account other stands use too gets the latest end among them (0 when one of them has none, or its end
        cannot be read from its pool), so that no stand cuts off another's students.
        An account that existed before the stand is never given one (the caller does not get here)."""
        wanted = self.p.get('expire')
        if wanted is None:
            return user
        r = self.result
        current = int(user.get('expire') or 0)
        others = self._other_stand_ends(user)
        if others:
            wanted = 0 if not wanted or not all(others.values()) else max([wanted] + list(others.values()))
            r['expire_shared_with'] = sorted(others)
        r.update(expire=wanted, expire_managed=True)
        if current == wanted:
            return user
        if not self.check_mode:
            def write():
                self.client.put('access/users/{0}'.format(self.userid), expire=wanted)
            converge(write, lambda: int((self.read_user() or {}).get('expire') or 0) == wanted)
        r['expire_set'] = True
        return dict(user, expire=wanted)

    def _other_stand_ends(self, user):
        """{stand: end (epoch, 0 = none known)} of the other stands whose user marker the account carries, each
        end read from that stand's pool of this user."""
        stands = [st for st in user_stands(user.get('comment')) if st != self.stand]
        if not stands:          # the usual case: one stand, no read (a stand that took the account over
            return {}           # before markers were per stand has added its own marker by now)
        pools = self._read_pools()
        ends = {}
        for other in stands:
            marker = pool_marker(other, self.userid)
            comments = [p.get('comment') for p in pools if owns(p.get('comment'), marker)]
            ends[other] = (expirylib.expires_of(comments[0]) or 0) if comments else 0
        return ends

    def _add_marker(self, user):
        """A user another deploystand stand made (or uses): this stand adds its own marker token, so that
        destroying either stand keeps the account while the other still uses it. The password stays the
        one the other stand set (unless update_password=always)."""
        r = self.result
        others = user_stands(user.get('comment'))
        comment = with_marker(user.get('comment'), self.user_marker)
        if not self.check_mode:
            def write():
                current = self.read_user() or user
                self.client.put('access/users/{0}'.format(self.userid),
                                comment=with_marker(current.get('comment'), self.user_marker))
            converge(write, lambda: ownership(self.read_user(), self.user_marker) == 'owned')
        r.update(user_marked=True, user_shared_with=others)
        return dict(user, comment=comment)

    def _recover_password(self, user):
        """update_password=recover (issue 13): the given password is the one the stand's report holds but
        never saw confirmed (written ahead by a run cut short, or a stand-made user whose password was never
        recorded). If it logs in, nothing changes; else it is set - only on a user this stand alone made."""
        r = self.result
        given = self.p.get('password')
        others = [s for s in user_stands((user or {}).get('comment')) if s != self.stand]
        if not given:
            return
        if realm_of(self.userid) != CREATED_REALM:
            r['password_kept'] = 'not in realm {0}'.format(CREATED_REALM)
            return
        if others or r.get('user_marked'):
            r['password_kept'] = 'the account is shared with stand {0}, whose report holds its password'.format(
                ', '.join(others or r.get('user_shared_with') or ['another']))
            return
        if self._password_works(given):
            r['password_confirmed'] = True
            return
        if getattr(self.client, 'token_name', None):
            r['password_kept'] = ('PVE refuses PUT /access/password for API tokens: run once with password '
                                  'authentication to set it')
            self._warn('the password of {0} is not the one the report holds and cannot be set: {1}'.format(
                self.userid, r['password_kept']))
            return
        self._warn('the password of {0} was never confirmed (a run was cut short, or no report held it): the '
                   'one the report holds is set now (update_password=recover)'.format(self.userid))
        self._reset_password()

    def _reset_password(self):
        """update_password=always: a given password that already works is left alone; otherwise
        PUT /access/password (password auth only; non-root callers confirm with their own password)."""
        r = self.result
        given = self.p.get('password')
        if given and self._password_works(given):
            return
        if getattr(self.client, 'token_name', None):
            raise UserPoolError(
                'update_password=always cannot reset the password of {0}: PVE refuses PUT /access/password for API '
                'tokens (the automation authenticates as {1}). Use password authentication (api_user with '
                'api_password / PROXMOX_PASSWORD instead of api_token_id), or update_password=on_create'.format(
                    self.userid, self.client.identity))
        password = given or generate_password(self.p['password_length'])
        if not self.check_mode:
            params = {'userid': self.userid, 'password': password}
            if self.client.identity != 'root@pam':
                if not self.p.get('api_password'):
                    raise UserPoolError('resetting the password of {0} as {1} needs api_password: PVE asks every '
                                        'caller except root@pam for its own password'.format(
                                            self.userid, self.client.identity))
                params['confirmation-password'] = self.p['api_password']

            def write():
                self.client.put('access/password', **params)
            converge(write, lambda: self._password_works(password))
            r['password'] = password
        r['password_set'] = True

    def _refuse_unknown_roles(self):
        wanted = sorted(set(w['roleid'] for w in self.wanted))
        known = set(r.get('roleid') for r in self.client.get('access/roles') or ())
        unknown = [r for r in wanted if r not in known]
        if unknown:
            raise UserPoolError('role {0} does not exist on this cluster (roles: {1}); nothing was changed'.format(
                ', '.join(unknown), ', '.join(sorted(k for k in known if k))))

    def _refuse_foreign_pool(self, pool):
        if ownership(pool, self.pool_marker) == 'foreign':
            self.result['foreign'].append('pool {0} (comment {1!r})'.format(self.pool, pool.get('comment') or ''))
            raise UserPoolError(
                'pool {0} exists but does not belong to stand {1} for {2} (its comment {3!r} has no marker {4}); it '
                'was not touched. Rename or remove that pool, or choose another pool name'.format(
                    self.pool, self.stand, self.userid, pool.get('comment') or '', self.pool_marker))

    def _ensure_pool(self, pool):
        owner = ownership(pool, self.pool_marker)
        if owner == 'owned':
            return self._update_pool_comment(pool)
        comment = expirylib.pool_comment(self.pool_marker, self.p.get('since'), self.p.get('expire'))
        if not self.check_mode:
            def write():
                self.client.post('pools', poolid=self.pool, comment=comment)
            converge(write, lambda: ownership(self.read_pool(), self.pool_marker) == 'owned')
        self.result['pool_created'] = True
        return {'comment': comment, 'members': []}

    def _update_pool_comment(self, pool):
        """The stand's first deploy and end in its pool's comment (expiry.pool_comment): what the listing and
        stand_cleanup.yml read, whoever owns the account."""
        current = pool.get('comment') or ''
        wanted = current
        if self.p.get('expire') is not None:
            wanted = expirylib.pool_comment(current, self.p.get('since') if self.p.get('expire') else None,
                                            self.p['expire'])
        if wanted == ' '.join(current.split()) or wanted == current:
            return self._pool_view(pool)
        if not self.check_mode:
            path, params = self.client.pool_path(self.pool)

            def write():
                self.client.put(path, comment=wanted, **params)
            converge(write, lambda: ((self.read_pool() or {}).get('comment') or '') == wanted)
        self.result['pool_updated'] = True
        return dict(self._pool_view(pool), comment=wanted)

    # ----------------------------------------------------------------- absent

    def absent(self):
        """Remove what the stand gave the student. The pool goes when it is empty; a pool that still
        holds something (the student's own VMs kept, anything that could not be removed) keeps its
        owner too, with its grants on the pool and on the bridges those members use. The user goes
        only when no other stand uses it (its marker, a pool of another stand naming it) and it has
        no grant outside this stand; otherwise it is kept and the result says why (user_kept)."""
        r = self.result
        user = self.read_user()
        pool = self.read_pool()
        acl = self.read_acl() if user is not None else []
        user_owner = ownership(user, self.user_marker)
        pool_owner = ownership(pool, self.pool_marker)
        before = {'user': self._user_view(user), 'pool': self._pool_view(pool),
                  'acl': acl_view(acl, self.userid, self.paths)}
        after = {'user': self._user_view(user), 'pool': self._pool_view(pool), 'acl': list(before['acl'])}
        r['user_owned'] = user_owner == 'owned'
        if user_owner == 'foreign':
            self._foreign('user {0} existed before the stand (comment {1!r}): not deleted; only the stand\'s ACL '
                          'entries are removed'.format(self.userid, user.get('comment') or ''))
        if pool_owner == 'foreign':
            self._foreign('pool {0} has no marker {1} (comment {2!r}): not touched'.format(
                self.pool, self.pool_marker, pool.get('comment') or ''))

        members = pool_members(pool) if pool_owner == 'owned' else []
        r['pool_deleted'] = False
        if pool_owner == 'owned' and not members:
            if not self.check_mode:
                path, params = self.client.pool_path(self.pool)
                converge(lambda: self.client.delete(path, **params), lambda: self.read_pool() is None)
            r['pool_deleted'] = True
            after['pool'] = None

        r['user_deleted'] = False
        keep_reason, others = self._keep_reason(user, members, acl) if user_owner == 'owned' else (None, [])
        if user_owner == 'owned' and keep_reason is None:
            if not self.check_mode:
                converge(lambda: self.client.delete('access/users/{0}'.format(self.userid)),
                         lambda: self.read_user() is None)
            # deleting the user drops all its ACL entries (User.pm delete_user)
            r['acls_removed'] = [acl_label(e) for e in held_acls(acl, self.wanted)]
            r['user_deleted'] = True
            after.update(user=None, acl=[])
        else:
            if keep_reason is not None:
                r['user_kept'] = keep_reason
                if members:
                    self._foreign('pool {0} still holds {1}: kept, and so is its owner {2} with its grants on the '
                                  'pool and on the bridges those VMs use'.format(self.pool, ', '.join(members),
                                                                                 self.userid))
                else:
                    self._warn('user {0} is kept: {1}'.format(self.userid, keep_reason))
                after['user'] = self._unmark_user(user, members, others)
            ours = held_acls(acl, self._grants_to_remove(members))
            if ours and not self.check_mode:
                self._write_acls(ours, delete=True)
            r['acls_removed'] = [acl_label(e) for e in ours]
            after['acl'] = sorted(set(before['acl']) - set(r['acls_removed']))
        r['changed'] = bool(r['acls_removed'] or r['pool_deleted'] or r['user_deleted'] or r.get('user_unmarked'))
        r['diff'] = {'before': before, 'after': after}
        return r

    def _keep_reason(self, user, members, acl):
        """(why a user this stand marked must not be deleted now or None, the other stands that use it)."""
        if members:
            return 'its pool {0} still holds {1} (the stand keeps the pool and its owner)'.format(
                self.pool, ', '.join(members)), []
        others = [st for st in user_stands(user.get('comment')) if st != self.stand]
        others += [st for st in pool_stands_of(self._read_pools(), self.userid, self.stand) if st not in others]
        if others:
            return 'stand {0} still use{1} it'.format(', '.join(others), 's' if len(others) == 1 else ''), others
        # grants of the bridge role on bridges are what stands give (their bridges may be gone already after an
        # interrupted destroy); another stand that uses the account is found by its marker or its pool instead
        outside = [e for e in outside_entries(acl, self.userid, self.wanted)
                   if not (e.startswith(bridge_acl_path('', self.zone)) and e.endswith(' ' + self.p['bridge_role']))]
        if outside:
            return 'it has grants that stand {0} did not give: {1} (remove them to let destroy delete it)'.format(
                self.stand, ', '.join(outside)), []
        return None, []

    def _read_pools(self):
        try:
            return self.client.get('pools') or []
        except PveApiError as err:
            if err.kind == NOT_FOUND:
                return []
            raise

    def _unmark_user(self, user, members, others):
        """A kept user loses this stand's marker when another stand uses it (that stand's marker is added
        if it lacks one: an account adopted before markers were per stand); with members left in the pool
        it keeps it, so that a later destroy takes it up."""
        comment = user.get('comment') or ''
        if members or not others:
            return self._user_view(user)
        new = without_marker(comment, self.user_marker)
        for other in others:
            if other not in user_stands(new):
                new = with_marker(new, user_marker(other))
        if not self.check_mode:
            def write():
                self.client.put('access/users/{0}'.format(self.userid), comment=new)
            converge(write, lambda: ownership(self.read_user(), self.user_marker) != 'owned')
        self.result['user_unmarked'] = True
        return {'comment': new}

    def _grants_to_remove(self, members):
        """This stand's grants of a kept user: all, except, while the pool keeps members, those on the pool
        and on the bridges the members' NICs use (the student keeps working on what it keeps)."""
        if not members:
            return self.wanted
        used = self._member_bridges(members)
        pool_path = pool_acl_path(self.pool)
        return [w for w in self.wanted if w['path'] != pool_path
                and w['path'] not in set(bridge_acl_path(b, self.zone) for b in used)]

    def _member_bridges(self, members):
        """Bridges the NICs of the pool's VMs use (their configs, pending changes included)."""
        used = set()
        record = self.read_pool() or {}
        for member in record.get('members') or ():
            if member.get('type') != 'qemu' or member.get('vmid') is None:
                continue
            try:
                config = self.client.get('nodes/{0}/qemu/{1}/config'.format(member.get('node'), member['vmid']))
            except PveApiError as err:
                if err.kind == NOT_FOUND:
                    continue
                raise
            for key, value in (config or {}).items():
                if re.match(r'^net\d+$', str(key)):
                    bridge = parse_net(value).get('bridge')
                    if bridge:
                        used.add(bridge)
        return used
