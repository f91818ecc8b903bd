# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The least-privilege automation identity (the logic behind pve_automation_identity): a custom role
holding exactly the given privileges, a user, a privilege-separated API token of that user, the role
granted to both on the given paths, and the token's secret in an env file.

PVE shows a token's secret once, in the answer that creates it, so the secret is written to the
file right after, atomically and mode 0600; when that fails the token is deleted again and the run
fails, so a secret is never lost. Everything is read and decided before the first write: a run that
refuses (bad input, a token whose secret is not in the file) changes nothing.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import re
import shlex
import tempfile
import time

from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.names import (
    REALM_RE, ROLE_RE, USERID_LEN, USER_NAME_FORBIDDEN_RE, split_userid,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.ops.user_pool import (
    CREATED_REALM, read_user,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.wait import converge
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.client import CONNECTION, PveApiError
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.lifecycle_input import PVE8_PRIVILEGES

ALL_PRIVILEGES_ROLE = 'Administrator'   # PVE's built-in role holding every privilege (AccessControl.pm)
RESERVED_ROLE_RE = re.compile(r'^PVE', re.I)   # Role.pm create_role refuses this namespace
PRIVILEGE_RE = re.compile(r'^[A-Z][A-Za-z]*(\.[A-Z][A-Za-z]*)+$')
# The top levels of AccessControl.pm check_path; PVE checks the rest of the path itself.
ACL_TOP_LEVELS = ('access', 'vms', 'nodes', 'storage', 'pool', 'sdn', 'mapping')
TOKEN_ROUNDS = 3
_EXPORT = re.compile(r'^export (PROXMOX_[A-Z_]+)=(.*)$')


class IdentityError(Exception):
    """A request pve_automation_identity refuses, or a failure; the message says what to do."""


# ------------------------------------------------------------------------------ pure decisions

def split_privileges(text):
    """PVE's comma-separated privilege list as a set."""
    return set(p for p in re.split(r'[,;\s]+', str(text or '')) if p)


def full_token_id(userid, token):
    return '{0}!{1}'.format(userid, token)


def check_params(p):
    """Every problem with the module input, as one list of messages (empty when it is usable)."""
    errors = []
    role = p.get('role')
    if not isinstance(role, str) or not ROLE_RE.match(role):
        errors.append("role: %r is not a role id (letters, digits, '.', '-' and '_')" % (role,))
    elif RESERVED_ROLE_RE.match(role):
        errors.append("role: %r is in PVE's own namespace (PVE refuses custom role ids starting with 'PVE')"
                      % role)
    privileges = p.get('privileges') or []
    if not privileges:
        errors.append('privileges: at least one privilege is needed')
    bad = [x for x in privileges if not PRIVILEGE_RE.match(str(x))]
    if bad:
        errors.append('privileges: %s %s not a privilege name (such as VM.Audit)'
                      % (', '.join(repr(x) for x in bad), 'is' if len(bad) == 1 else 'are'))
    userid = p.get('userid')
    name, realm = split_userid(userid)
    if (not name or realm is None or USER_NAME_FORBIDDEN_RE.search(name)
            or not REALM_RE.match(realm)
            or not USERID_LEN[0] <= len(str(userid)) <= USERID_LEN[1]):
        errors.append('userid: %r is not a PVE user id (name@realm, no spaces, colons or slashes, %d-%d '
                      'characters)' % (userid, USERID_LEN[0], USERID_LEN[1]))
    token = p.get('token')
    if not isinstance(token, str) or not REALM_RE.match(token):
        errors.append("token: %r is not a token name (a letter, then letters, digits, '.', '-' or '_'; at least "
                      "2 characters)" % (token,))
    paths = p.get('paths') or []
    if not paths:
        errors.append('paths: at least one path is needed')
    for path in paths:
        problem = acl_path_problem(path)
        if problem:
            errors.append('paths: %r %s' % (path, problem))
    token_file = p.get('token_file')
    if not token_file:
        errors.append('token_file: a file name is needed')
    elif os.path.isdir(token_file):
        errors.append('token_file: %s is a directory; give the name of the file to write' % token_file)
    return errors


def acl_path_problem(path):
    if not isinstance(path, str) or not path.startswith('/'):
        return 'is not an ACL path (it starts with /)'
    if path == '/':
        return None
    parts = path[1:].split('/')
    if any(not part or re.search(r'\s', part) for part in parts):
        return 'is not an ACL path (no empty parts, no trailing /, no spaces)'
    if parts[0] not in ACL_TOP_LEVELS:
        return 'is not an ACL path PVE knows (/, or below /%s)' % ', /'.join(ACL_TOP_LEVELS)
    return None


def wanted_grants(role, paths, userid, tokenid):
    """The ACL entries (path, type, ugid, roleid) the identity needs, all propagated."""
    out = []
    for path in sorted(set(paths)):
        out.append((path, 'user', userid, role))
        out.append((path, 'token', tokenid, role))
    return out


def held_grants(acl, role, userid, tokenid):
    """{(path, type, ugid, roleid): propagate} of the role's entries for the user and the token."""
    out = {}
    for entry in acl or ():
        key = (entry.get('path'), entry.get('type', 'user'), entry.get('ugid'), entry.get('roleid'))
        if key[3] == role and (key[1:3] == ('user', userid) or key[1:3] == ('token', tokenid)):
            out[key] = int(entry.get('propagate', 1))
    return out


def grant_changes(acl, role, paths, userid, tokenid, token_fresh=False, propagate=True):
    """(missing, extra): wanted entries not held with that propagate flag, and the role's entries for the
    user or token on other paths. A token made in this run holds no entry yet (PVE drops a deleted
    token's entries: AccessControl.pm parse_user_config ignores ACL entries of unknown tokens)."""
    held = held_grants(acl, role, userid, tokenid)
    if token_fresh:
        held = dict((k, v) for k, v in held.items() if k[1] != 'token')
    wanted = wanted_grants(role, paths, userid, tokenid)
    missing = [w for w in wanted if held.get(w) != int(bool(propagate))]
    extra = sorted(k for k in held if k not in wanted)
    return missing, extra


def grant_label(entry):
    """'/vms DeployStandAutomation token deploystand@pve!ansible'."""
    path, kind, ugid, role = entry
    return '{0} {1} {2} {3}'.format(path, role, kind, ugid)


def acl_writes(entries):
    """PUT /access/acl parameters for entries: one call per path, the user and the token together."""
    by_path = {}
    for path, kind, ugid, role in entries:
        call = by_path.setdefault(path, {'path': path, 'roles': role})
        call.setdefault('users' if kind == 'user' else 'tokens', []).append(ugid)
    return [by_path[path] for path in sorted(by_path)]


def token_file_text(values):
    """The env file: one `export NAME=value` a line, values quoted for the shell; PROXMOX_PASSWORD of
    the administrator is unset so that a shell that sources it deploys with the token alone."""
    lines = ['# deploystand automation token (pve_automation_identity); keep it secret like a password',
             'unset PROXMOX_PASSWORD']
    for name in ('PROXMOX_HOST', 'PROXMOX_PORT', 'PROXMOX_USER', 'PROXMOX_TOKEN_ID', 'PROXMOX_TOKEN_SECRET',
                 'PROXMOX_CA_PATH', 'PROXMOX_VALIDATE_CERTS'):
        if values.get(name) not in (None, ''):
            lines.append('export {0}={1}'.format(name, shlex.quote(str(values[name]))))
    return '\n'.join(lines) + '\n'


def parse_token_file(text):
    """{NAME: value} of the export lines of an env file (as token_file_text writes them)."""
    out = {}
    for line in (text or '').splitlines():
        found = _EXPORT.match(line.strip())
        if found:
            try:
                words = shlex.split(found.group(2))
            except ValueError:
                continue
            out[found.group(1)] = words[0] if words else ''
    return out


# ------------------------------------------------------------------------------ the token file

def read_token_file(path):
    """{NAME: value} of the file, or None when it does not exist."""
    try:
        with open(path) as handle:
            return parse_token_file(handle.read())
    except (IOError, OSError) as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):      # no file (or no directory) there yet
            return None
        raise IdentityError('token_file {0} cannot be read: {1}'.format(path, exc.strerror or exc))


def _missing_dirs(directory):
    """The directories that would have to be made for `directory`, outermost first."""
    out = []
    while directory and not os.path.exists(directory):
        out.insert(0, directory)
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    return out


def prepare_token_dir(path, check_mode=False):
    """Make the file's directory (new ones 0700) and prove a file can be written in it, before a token
    is made. In check mode only whether that would work is checked."""
    directory = os.path.dirname(os.path.abspath(path))
    missing = _missing_dirs(directory)
    existing = os.path.dirname(missing[0]) if missing else directory
    if not os.path.isdir(existing):
        raise IdentityError('token_file {0}: {1} is not a directory, so the secret could not be stored; nothing '
                            'was changed'.format(path, existing))
    if check_mode:
        if not os.access(existing, os.W_OK | os.X_OK):
            raise IdentityError('token_file {0}: {1} is not writable, so the secret could not be stored; nothing '
                                'was changed'.format(path, existing))
        return missing
    try:
        for folder in missing:
            os.mkdir(folder, 0o700)
            os.chmod(folder, 0o700)       # mkdir's mode is cut by the umask
        handle, probe = tempfile.mkstemp(dir=directory, prefix='.probe-')
        os.close(handle)
        os.remove(probe)
    except (IOError, OSError) as exc:
        raise IdentityError('token_file {0} cannot be written ({1}), so the secret could not be stored; nothing '
                            'was changed'.format(path, exc.strerror or exc))
    return missing


def write_token_file(path, text):
    """Write atomically: a 0600 temporary file in the same directory, flushed, then renamed over."""
    directory = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(dir=directory, prefix='.' + os.path.basename(path) + '.')
    try:
        with os.fdopen(handle, 'w') as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o600)
        os.rename(temporary, path)
    except BaseException:
        try:
            os.remove(temporary)
        except OSError:
            pass
        raise


# ----------------------------------------------------------------------------- the API steps

class AutomationIdentity(object):
    """Converges role, user, token, grants and token file; run() returns the result.

    params: the module's options plus the connection (api_host, api_port, ca_path, validate_certs)
    written into the token file. on_secret(value) is called with every secret the module holds, so
    that Ansible masks it (module.no_log_values)."""

    def __init__(self, client, params, check_mode=False, warn=None, on_secret=None, writer=write_token_file):
        self.client = client
        self.p = params
        self.check_mode = check_mode
        self._warn = warn or (lambda msg: None)
        self._on_secret = on_secret or (lambda value: None)
        self._write = writer
        self.userid = params['userid']
        self.tokenid = full_token_id(self.userid, params['token'])
        self.privileges = sorted(set(params['privileges']))
        self.result = {'changed': False, 'role': params['role'], 'privileges': self.privileges,
                       'userid': self.userid, 'tokenid': self.tokenid, 'token_file': params['token_file'],
                       'role_created': False, 'role_updated': False, 'user_created': False,
                       'token_created': False, 'token_renewed': False, 'token_file_written': False,
                       'acls_added': [], 'acls_removed': []}

    # ------------------------------------------------------------------ reads

    def read_roles(self):
        return dict((r.get('roleid'), r) for r in self.client.get('access/roles') or ())

    def read_user(self):
        return read_user(self.client, self.userid)

    def read_token(self):
        """The token's info ({tokenid, privsep, expire, comment}), or None."""
        for token in self.client.get('access/users/{0}/token'.format(self.userid)) or ():
            if token.get('tokenid') == self.p['token']:
                return token
        return None

    def read_acl(self):
        return self.client.get('access/acl') or []

    def secret_works(self, secret):
        return self.client.accepts(token_id=self.tokenid, token_secret=secret)

    # ------------------------------------------------------------ decisions

    def _renew_hint(self):
        return ('run again with token_renew=true (automation_token_renew=true for playbooks/automation_role.yml) '
                'to replace the token and write its new secret to {0}'.format(self.p['token_file']))

    def kept_token_problem(self, token, stored):
        """Why an existing token cannot simply be kept (a message), or None when the file works with it."""
        path = self.p['token_file']
        if stored is None:
            return ('token {0} exists, but {1} does not: PVE shows a secret only once, so it cannot be written '
                    'again; {2}'.format(self.tokenid, path, self._renew_hint()))
        if stored.get('PROXMOX_TOKEN_ID') != self.tokenid or not stored.get('PROXMOX_TOKEN_SECRET'):
            return ('{0} holds no secret of token {1} (it names {2!r}); {3}'.format(
                path, self.tokenid, stored.get('PROXMOX_TOKEN_ID'), self._renew_hint()))
        self._on_secret(stored['PROXMOX_TOKEN_SECRET'])
        if not int(token.get('privsep', 1)):
            return ('token {0} has privilege separation off (it holds all of the user\'s privileges); {1}'.format(
                self.tokenid, self._renew_hint()))
        expire = int(token.get('expire') or 0)
        if expire and expire < time.time():
            return 'token {0} expired; {1}'.format(self.tokenid, self._renew_hint())
        if not self.secret_works(stored['PROXMOX_TOKEN_SECRET']):
            return 'PVE refuses the secret in {0} for token {1}; {2}'.format(path, self.tokenid, self._renew_hint())
        return None

    def _refuse_unknown_privileges(self, roles):
        known = split_privileges((roles.get(ALL_PRIVILEGES_ROLE) or {}).get('privs'))
        # a PVE 9 privilege this release names the PVE 8 way (VM.GuestAgent.Audit -> VM.Monitor): the same grant
        renamed = dict((new, old) for new, old in PVE8_PRIVILEGES.items()
                       if known and new in self.privileges and new not in known and old in known)
        if renamed:
            self.privileges = sorted(set(renamed.get(p, p) for p in self.privileges))
            self.result['privileges'] = self.privileges
        unknown = [p for p in self.privileges if known and p not in known]
        if unknown:
            raise IdentityError('privileges: {0} {1} not known to this PVE release; nothing was changed'.format(
                ', '.join(unknown), 'is' if len(unknown) == 1 else 'are'))

    def _refuse_builtin_role(self, roles):
        role = roles.get(self.p['role'])
        if role is not None and int(role.get('special') or 0):
            raise IdentityError('role {0} is a built-in role of PVE and cannot be changed: choose another role '
                                'name; nothing was changed'.format(self.p['role']))

    def _refuse_foreign_realm(self, user):
        realm = split_userid(self.userid)[1]
        if user is None and realm != CREATED_REALM:
            raise IdentityError("user {0} does not exist: only users of realm '{1}' are created here (the token "
                                "never logs in with a password); create it first or choose a {1} user; nothing was "
                                "changed".format(self.userid, CREATED_REALM))

    # --------------------------------------------------------------- writes

    def ensure_role(self, roles):
        role = self.p['role']
        current = roles.get(role)
        have = None if current is None else sorted(split_privileges(current.get('privs')))
        if have == self.privileges:
            return have
        privs = ','.join(self.privileges)
        if not self.check_mode:
            def write():
                if current is None:
                    self.client.post('access/roles', roleid=role, privs=privs)
                else:
                    self.client.put('access/roles/{0}'.format(role), privs=privs)
            converge(write, lambda: sorted(split_privileges(
                (self.read_roles().get(role) or {}).get('privs'))) == self.privileges)
        self.result['role_created' if current is None else 'role_updated'] = True
        return have

    def ensure_user(self, user):
        if user is not None:
            return
        if not self.check_mode:
            converge(lambda: self.client.post('access/users', userid=self.userid, comment=self.p['comment']),
                     lambda: self.read_user() is not None)
        self.result['user_created'] = True

    def new_token(self, existing):
        """Delete `existing` (renewal), make the token, write its secret. Returns nothing; on a file that
        cannot be written the new token is deleted again and IdentityError raised."""
        path = 'access/users/{0}/token/{1}'.format(self.userid, self.p['token'])
        done = dict(token_renewed=existing is not None, token_created=True, token_file_written=True)
        if self.check_mode:
            self.result.update(done)
            return
        if existing is not None:
            converge(lambda: self.client.delete(path), lambda: self.read_token() is None)
            self.result['token_renewed'] = True
        secret = self._create_token(path)
        self._on_secret(secret)
        c = self.client
        text = token_file_text({
            'PROXMOX_HOST': c.host, 'PROXMOX_PORT': c.port, 'PROXMOX_USER': self.userid,
            'PROXMOX_TOKEN_ID': self.tokenid, 'PROXMOX_TOKEN_SECRET': secret,
            'PROXMOX_CA_PATH': os.path.abspath(c.ca_path) if c.ca_path else None,
            'PROXMOX_VALIDATE_CERTS': None if c.validate_certs else 'false'})
        try:
            self._write(self.p['token_file'], text)
        except (IOError, OSError) as exc:
            converge(lambda: self.client.delete(path), lambda: self.read_token() is None)
            raise IdentityError(
                'the token file {0} could not be written ({1}): token {2} was deleted again, so no secret is lost{3}; '
                'fix the file\'s place and run again'.format(
                    self.p['token_file'], exc.strerror or exc, self.tokenid,
                    ' (the token it was to replace is gone as well)' if existing is not None else ''))
        self.result.update(done)

    def _create_token(self, path):
        """POST the token; its answer is the only copy of the secret. After a broken connection the token may
        exist without us knowing its secret: it is deleted and made again (bounded)."""
        for _round in range(TOKEN_ROUNDS):
            try:
                answer = self.client.post(path, privsep=1, comment=self.p['comment'])
                return answer['value']
            except PveApiError as err:
                if err.kind != CONNECTION:
                    raise
                broken = err
            if self.read_token() is not None:
                converge(lambda: self.client.delete(path), lambda: self.read_token() is None)
        raise broken

    def ensure_grants(self, acl, token_fresh):
        role = self.p['role']
        missing, extra = grant_changes(acl, role, self.p['paths'], self.userid, self.tokenid, token_fresh,
                                       self._propagate())
        if not self.check_mode:
            for params in acl_writes(missing):
                self._put_acl(params, missing, present=True)
            for params in acl_writes(extra):
                self._put_acl(dict(params, delete=1), extra, present=False)
        self.result['acls_added'] = [grant_label(e) for e in missing]
        self.result['acls_removed'] = [grant_label(e) for e in extra]
        return missing, extra

    def _propagate(self):
        """1, or 0 for grants that hold on the paths themselves only (the HA role on /)."""
        return 0 if self.p.get('propagate') is False else 1

    def _put_acl(self, params, entries, present):
        group = [e for e in entries if e[0] == params['path']]
        # a removal matches the entry whatever its flag; a grant must end with the wanted one
        flag = self._propagate() if present else 1

        def done():
            held = held_grants(self.read_acl(), self.p['role'], self.userid, self.tokenid)
            if present:
                return all(held.get(e) == flag for e in group)
            return all(e not in held for e in group)
        converge(lambda: self.client.put('access/acl', propagate=flag, **params), done)

    # ------------------------------------------------------------------ run

    def run(self):
        r = self.result
        roles = self.read_roles()
        user = self.read_user()
        token = self.read_token() if user is not None else None
        acl = self.read_acl()
        stored = read_token_file(self.p['token_file'])
        # every refusal before the first write
        self._refuse_builtin_role(roles)
        self._refuse_unknown_privileges(roles)
        self._refuse_foreign_realm(user)
        renew = token is None or self.p['token_renew']
        if not renew:
            problem = self.kept_token_problem(token, stored)
            if problem:
                raise IdentityError(problem + '; nothing was changed')
            self._keep_file_private()
        else:
            prepare_token_dir(self.p['token_file'], self.check_mode)

        before = self._view(roles.get(self.p['role']), user, token, stored, acl)
        self.ensure_role(roles)
        self.ensure_user(user)
        if renew:
            self.new_token(token)
            if not self.check_mode:
                acl = self.read_acl()
        self.ensure_grants(acl, token_fresh=renew and self.check_mode)
        r['changed'] = bool(r['role_created'] or r['role_updated'] or r['user_created'] or r['token_created']
                            or r['acls_added'] or r['acls_removed'] or r.get('token_file_mode_fixed'))
        r['diff'] = {'before': before, 'after': self._after(before)}
        return r

    def _keep_file_private(self):
        """A kept token file readable by others is made 0600 again (it holds the secret)."""
        path = self.p['token_file']
        mode = os.stat(path).st_mode & 0o777
        if mode & 0o077:
            self._warn('token_file {0} is mode {1:04o}: {2} 0600, it holds the token secret'.format(
                path, mode, 'would be made' if self.check_mode else 'made'))
            if not self.check_mode:
                os.chmod(path, 0o600)
            self.result['token_file_mode_fixed'] = True

    # ---------------------------------------------------------------- diffs

    def _view(self, role, user, token, stored, acl):
        held = held_grants(acl, self.p['role'], self.userid, self.tokenid)
        return {
            'role': None if role is None else {'roleid': self.p['role'],
                                               'privileges': sorted(split_privileges(role.get('privs')))},
            'user': None if user is None else {'userid': self.userid},
            'token': None if token is None else {'tokenid': self.tokenid, 'privsep': int(token.get('privsep', 1))},
            'token_file': {'path': self.p['token_file'],
                           'secret': 'none' if not (stored or {}).get('PROXMOX_TOKEN_SECRET') else 'stored'},
            'acl': sorted(grant_label(k) + ('' if v else ' (not propagated)') for k, v in held.items()),
        }

    def _after(self, before):
        r = self.result
        after = dict(before)
        after['role'] = {'roleid': self.p['role'], 'privileges': self.privileges}
        after['user'] = {'userid': self.userid}
        after['token'] = {'tokenid': self.tokenid, 'privsep': 1}
        if r['token_file_written']:
            after['token_file'] = {'path': self.p['token_file'], 'secret': 'new'}
        after['acl'] = sorted(grant_label(w) for w in wanted_grants(self.p['role'], self.p['paths'], self.userid,
                                                                    self.tokenid))
        return after
