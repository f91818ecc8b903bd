# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one Proxmox VE API client of the collection.

Every module and plugin talks to PVE through `PveClient`: it logs in (ticket or API token),
verifies TLS by default, retries what is safe to retry, waits for tasks, and turns every PVE or
transport error into a `PveApiError` whose `kind` callers branch on and whose message a teacher
can act on. No other file builds a session, polls a task or matches PVE's error text.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import random
import re
import time

try:
    import requests
    from proxmoxer import ProxmoxAPI
    from proxmoxer.core import AuthenticationError, ResourceException
    HAS_PROXMOXER = True
    PROXMOXER_IMPORT_ERROR = None
except ImportError as exc:  # reported by PveModule with the install hint
    HAS_PROXMOXER = False
    PROXMOXER_IMPORT_ERROR = exc

DEFAULT_PORT = 8006
DEFAULT_TIMEOUT = 30
DEFAULT_TASK_TIMEOUT = 900


def pve_web_url(host, port=None):
    """The Proxmox VE web interface of an API address: pveproxy serves both on the same host and port
    (an IPv6 address in brackets). None without a host."""
    if not host:
        return None
    host = str(host)
    host = '[{0}]'.format(host) if ':' in host and not host.startswith('[') else host
    return 'https://{0}:{1}/'.format(host, port or DEFAULT_PORT)


# Error kinds callers may branch on.
AUTH = 'auth'                  # wrong credentials, disabled/expired user or token
TLS = 'tls'                    # certificate could not be verified
UNREACHABLE = 'unreachable'    # no TCP/TLS connection, node offline
CONNECTION = 'connection'      # the connection broke mid-request: a write may or may not have happened
PERMISSION = 'permission'      # 403: names the path and the privilege
NOT_FOUND = 'not_found'        # the object does not exist
EXISTS = 'exists'              # the object already exists
LOCKED = 'locked'              # a config/storage/cluster lock could not be taken in time: nothing happened
PARAMETER = 'parameter'        # 400: PVE refused a parameter
VERSION = 'version'            # the endpoint does not exist on this PVE release
TASK_FAILED = 'task_failed'    # a worker task ended with an error
TASK_TIMEOUT = 'task_timeout'  # a worker task outlived its timeout
WAIT_TIMEOUT = 'wait_timeout'  # a state waited for (pve/wait.py poll_until) did not come in time
CONFLICT = 'conflict'          # the config changed since it was read (digest mismatch): re-read, decide again
SERVER = 'server'              # any other server-side error
ABANDONED = 'abandoned'        # ansible-playbook that started the module is gone: the module stopped waiting

# PVE's own error texts, mapped to kinds. Order matters: the first match wins.
_ERROR_PATTERNS = (
    (LOCKED, re.compile(r"got timeout|got lock request timeout|VM is locked|is locked \(|"
                        r"cfs-lock .* error|trying to acquire (cfs )?lock", re.I)),
    (NOT_FOUND, re.compile(r"does not exist|no such |not found|doesn't exist|unable to find", re.I)),
    (EXISTS, re.compile(r"already exists|is already a pool member", re.I)),
    (PERMISSION, re.compile(r"^Permission check failed", re.I)),
    (CONFLICT, re.compile(r"checksum mismatch", re.I)),
)
_PERMISSION_DETAIL = re.compile(r"Permission check failed \(([^,()]+), ([^)]+)\)")
# Statuses that say nothing happened on the server and the same request may simply be sent again.
_TRANSIENT_STATUS = (502, 503, 504)
_UNREACHABLE_STATUS = (595, 596)
_TASK_OK = re.compile(r'^(OK|WARNINGS: \d+)$')


class PveApiError(Exception):
    """An API call failed; `kind` says how, `message` says it in words a teacher can act on."""

    def __init__(self, message, kind=SERVER, status=None, path=None, errors=None, log=None, cause=None):
        super(PveApiError, self).__init__(message)
        self.message = message
        self.kind = kind
        # For TASK_FAILED: the kind of the task's own error (LOCKED for a lock timeout inside the task).
        self.cause = cause
        self.status = status
        self.path = path
        self.errors = errors or {}
        self.log = log or []

    def __str__(self):
        return self.message


def classify(status, text, errors=None):
    """The kind of a PVE error from its HTTP status and message (the one place that reads PVE's text).

    A 400 is PARAMETER, except when PVE reports a missing or existing object as a parameter error
    (Network.pm: `raise_param_exc({iface => 'interface does not exist'})`, `... already exists`)."""
    if status == 401:
        return AUTH
    if status == 403:
        return PERMISSION
    if status == 400:
        detail = ' '.join(str(v) for v in (errors or {}).values())
        for kind, pattern in _ERROR_PATTERNS:
            if kind in (NOT_FOUND, EXISTS) and pattern.search(detail):
                return kind
        return PARAMETER
    if status == 501:
        return VERSION
    if status in _UNREACHABLE_STATUS:
        return UNREACHABLE
    for kind, pattern in _ERROR_PATTERNS:
        if pattern.search(text or ''):
            return kind
    return SERVER


def explain(kind, status, text, method, path, errors=None, user=None):
    """The message for an API error: PVE's own words plus what to do about them."""
    text = (text or '').strip()
    where = '{0} /{1}'.format(method, path)
    if kind == PERMISSION:
        found = _PERMISSION_DETAIL.search(text)
        if found:
            return ('permission denied: {0} lacks the privilege {1} on {2} ({3}); grant a role holding '
                    '{1} on that path (see docs/permissions.md)'.format(
                        user or 'the API user', found.group(2), found.group(1), where))
        return 'permission denied on {0}: {1}'.format(where, text or 'HTTP 403')
    if kind == PARAMETER:
        details = '; '.join('{0}: {1}'.format(k, str(v).strip().replace('\n', ' '))
                            for k, v in sorted((errors or {}).items()))
        return 'PVE refused the parameters of {0}: {1}'.format(where, details or text)
    if kind == VERSION:
        return ('{0} is not available on this Proxmox VE version ({1}); deploystand.proxmox needs '
                'PVE 8.0 or newer'.format(where, text or 'HTTP 501'))
    if kind == AUTH:
        if 'expired' in text:
            return 'authentication failed: {0} (create a new API token or extend its expiry)'.format(text)
        return 'authentication failed for {0} at {1}: {2}'.format(user or 'the API user', where, text or 'HTTP 401')
    if kind == UNREACHABLE:
        return '{0}: the node is unreachable or offline ({1})'.format(where, text or 'HTTP {0}'.format(status))
    return '{0} failed: {1}'.format(where, text or 'HTTP {0}'.format(status))


def upid_node(upid):
    """The node a task runs on: field 2 of the UPID (UPID:<node>:<pid>:...)."""
    parts = str(upid).split(':')
    if len(parts) < 8 or parts[0] != 'UPID':
        raise PveApiError('not a task id: {0!r}'.format(upid), kind=SERVER)
    return parts[1]


def upid_label(upid):
    """'qmclone 9001' for a UPID: the worker type and its id, for messages."""
    parts = str(upid).split(':')
    return ' '.join(p for p in parts[5:7] if p) if len(parts) >= 8 else str(upid)


class PveClient(object):
    """A logged-in connection to one PVE cluster.

    get/post/put/delete take an API path relative to /api2/json ('nodes/pve1/qemu/100/config')
    and keyword parameters; they return PVE's `data`. Reads and requests PVE refused with a lock
    timeout (nothing happened) are retried with jittered backoff; any other write is sent once.
    """

    def __init__(self, host, user=None, password=None, token_id=None, token_secret=None, port=DEFAULT_PORT,
                 validate_certs=True, ca_path=None, timeout=DEFAULT_TIMEOUT, retries=4, backoff=0.5,
                 sleep=time.sleep):
        if not HAS_PROXMOXER:
            raise PveApiError('the Python library proxmoxer is required on the controller: pip install '
                              'proxmoxer requests ({0})'.format(PROXMOXER_IMPORT_ERROR), kind=SERVER)
        self.host = host
        self.port = int(port or DEFAULT_PORT)
        self.user, self.token_name = _split_token(user, token_id)
        self.validate_certs = validate_certs
        self.ca_path = ca_path
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self._sleep = sleep
        self._release = None
        verify = (ca_path or True) if validate_certs else False
        options = dict(host=host, port=self.port, user=self.user, verify_ssl=verify, timeout=timeout)
        if self.token_name:
            options.update(token_name=self.token_name, token_value=token_secret)
        else:
            options.update(password=password)
        self._api = self._with_retries('POST', 'access/ticket', True, lambda: ProxmoxAPI(**options))

    @property
    def url(self):
        return 'https://{0}:{1}'.format(self.host, self.port)

    def accepts(self, user=None, password=None, token_id=None, token_secret=None):
        """True if PVE accepts these credentials at this client's address (same TLS settings and timeout),
        False if it refuses them: a password by its login, a token by one GET /version (any identity may
        read it). One try, no retries of a refusal."""
        try:
            other = PveClient(self.host, user=user, password=password, token_id=token_id, token_secret=token_secret,
                              port=self.port, validate_certs=self.validate_certs, ca_path=self.ca_path,
                              timeout=self.timeout, retries=1, sleep=self._sleep)
            if token_id:
                other.get('version')
            return True
        except PveApiError as err:
            if err.kind == AUTH:
                return False
            raise

    def sleep(self, seconds):
        """Every wait of the modules sleeps here, so that the module's sleep (PveModule's, which stops
        waiting once ansible-playbook is gone) applies to all of them."""
        self._sleep(seconds)

    def allow_parallel(self, requests_at_once):
        """Keep up to that many connections to PVE open: requests keeps 10 per host, and a class run's threads
        beyond that would each open and drop a connection (a TLS handshake per request)."""
        session = self._api._store['session']
        session.mount('https://', requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=requests_at_once))

    @property
    def identity(self):
        """Who the calls run as: user@realm or user@realm!token."""
        return '{0}!{1}'.format(self.user, self.token_name) if self.token_name else self.user

    # ------------------------------------------------------------------ calls

    def get(self, api_path, **params):
        return self._call('GET', api_path, params)

    def post(self, api_path, **params):
        return self._call('POST', api_path, params)

    def put(self, api_path, **params):
        return self._call('PUT', api_path, params)

    def delete(self, api_path, **params):
        return self._call('DELETE', api_path, params)

    def get_once(self, api_path, **params):
        """GET sent exactly once, never retried: for calls whose failure is itself the answer (a guest
        agent that is not running, or hangs until PVE's own timeout), where a retry only multiplies the wait."""
        return self._call('GET', api_path, params, retries=0)

    def get_envelope(self, api_path, **params):
        """GET returning PVE's whole answer, not only `data`: some answers carry more beside it
        (GET nodes/{node}/network has `changes`, the diff of the pending network config)."""
        path = api_path.strip('/')
        resource = self._api(path)
        url = resource._store['base_url']
        session = resource._store['session']

        def send():
            response = session.request('GET', url, params=dict((k, _wire(v)) for k, v in params.items()
                                                               if v is not None))
            if response.status_code >= 400:
                raise ResourceException(response.status_code, response.reason, response.reason,
                                        errors=_json_errors(response))
            return response.json()
        return self._with_retries('GET', path, True, send)

    def exists(self, api_path, **params):
        """True if GET api_path answers, False if PVE says the object does not exist."""
        try:
            self.get(api_path, **params)
            return True
        except PveApiError as err:
            if err.kind == NOT_FOUND:
                return False
            raise

    def _call(self, method, path, params, retries=None):
        path = path.strip('/')
        params = dict((k, _wire(v)) for k, v in params.items() if v is not None)
        resource = self._api(path)

        def send():
            if method == 'GET':
                return resource.get(**params)
            return getattr(resource, method.lower())(**params)
        return self._with_retries(method, path, method == 'GET', send, retries)

    def _with_retries(self, method, path, safe, send, retries=None):
        """Send, retrying only what cannot have taken effect twice.

        safe: the request may be repeated whatever happened (reads, the login).
        """
        attempt = 0
        while True:
            try:
                return send()
            except PveApiError:
                raise
            except Exception as exc:  # pylint: disable=broad-except
                error = self._translate(exc, method, path)
                if not _may_repeat(error, safe) or attempt >= (self.retries if retries is None else retries):
                    raise error
                attempt += 1
                self._sleep(self.backoff * (2 ** (attempt - 1)) * (0.5 + random.random()))

    def _translate(self, exc, method, path):
        if isinstance(exc, ResourceException):
            text = str(exc.content or '')
            kind = classify(exc.status_code, text, exc.errors)
            if exc.status_code == 400 and kind != PARAMETER and exc.errors:
                text = '; '.join('{0}: {1}'.format(k, str(v).strip()) for k, v in sorted(exc.errors.items()))
            return PveApiError(explain(kind, exc.status_code, text, method, path, exc.errors, self.identity),
                               kind=kind, status=exc.status_code, path=path, errors=exc.errors)
        if isinstance(exc, AuthenticationError):
            return PveApiError(
                'login failed for {0} at {1}: wrong user name or password, or the user is disabled, expired '
                'or in another realm (user names carry their realm: root@pam, teacher@pve)'.format(
                    self.user, self.url), kind=AUTH, status=401, path=path)
        if isinstance(exc, requests.exceptions.SSLError):
            return PveApiError(
                'the TLS certificate of {0} could not be verified ({1}). Give the cluster CA with ca_path '
                '(PROXMOX_CA_PATH), e.g. a copy of /etc/pve/pve-root-ca.pem from any node; turning off '
                'validate_certs would send the password or token to whoever answers on that address'.format(
                    self.url, _first_line(exc)), kind=TLS, path=path)
        if isinstance(exc, (requests.exceptions.ConnectTimeout,)) or (
                isinstance(exc, requests.exceptions.ConnectionError) and _refused(exc)):
            return PveApiError('cannot reach the Proxmox VE API at {0} ({1}): check api_host/api_port '
                               '(PROXMOX_HOST/PROXMOX_PORT) and that pveproxy runs'.format(self.url, _first_line(exc)),
                               kind=UNREACHABLE, path=path)
        if isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.Timeout)):
            return PveApiError('the connection to {0} broke during {1} /{2} ({3})'.format(
                self.url, method, path, _first_line(exc)), kind=CONNECTION, path=path)
        raise exc

    # ------------------------------------------------------------------ tasks

    def wait_task(self, upid, timeout=DEFAULT_TASK_TIMEOUT, poll=0.2, max_poll=1.0):
        """Wait for a worker task; returns its status. Raises TASK_FAILED (with PVE's own error and the
        end of the task log) or TASK_TIMEOUT. `OK` and `WARNINGS: n` are success."""
        node = upid_node(upid)
        path = 'nodes/{0}/tasks/{1}/status'.format(node, upid)
        started = time.monotonic()
        while True:
            status = self.get(path)
            if status.get('status') == 'stopped':
                exitstatus = status.get('exitstatus', '')
                if _TASK_OK.match(exitstatus):
                    return status
                raise PveApiError('task {0} on {1} failed: {2}'.format(upid_label(upid), node, exitstatus),
                                  kind=TASK_FAILED, path=path, log=self.task_log(upid),
                                  cause=classify(None, exitstatus))
            waited = time.monotonic() - started
            if waited >= timeout:
                raise PveApiError('task {0} on {1} is still running after {2:.0f} s (timeout {3} s): {4}'.format(
                    upid_label(upid), node, waited, timeout, upid), kind=TASK_TIMEOUT, path=path)
            self._sleep(min(poll, max(0.0, timeout - waited)))
            poll = min(poll * 1.5, max_poll)

    def task_log(self, upid, lines=10):
        """The last lines of a task's log (empty when it cannot be read)."""
        node = upid_node(upid)
        try:
            entries = self.get('nodes/{0}/tasks/{1}/log'.format(node, upid), start=0, limit=500)
        except PveApiError:
            return []
        return [entry.get('t', '') for entry in entries or []][-lines:]

    def run_task(self, method, api_path, timeout=DEFAULT_TASK_TIMEOUT, **params):
        """Call an endpoint that starts a worker and wait for it; returns the UPID."""
        upid = self._call(method, api_path, params)
        if upid:
            self.wait_task(upid, timeout=timeout)
        return upid

    # ---------------------------------------------------------------- version

    def release(self):
        """The PVE release as (major, minor), read once."""
        if self._release is None:
            text = str(self.get('version').get('release', '0.0'))
            found = re.match(r'(\d+)\.(\d+)', text)
            self._release = (int(found.group(1)), int(found.group(2))) if found else (0, 0)
        return self._release

    def require_release(self, minimum, feature):
        if self.release() < minimum:
            raise PveApiError('{0} needs Proxmox VE {1}.{2} or newer; this cluster runs {3}.{4}'.format(
                feature, minimum[0], minimum[1], *self.release()), kind=VERSION)

    def pool_path(self, poolid):
        """(path, params) to read/update/delete one pool: the query form since PVE 8.1, the legacy path before."""
        if self.release() >= (8, 1):
            return 'pools', {'poolid': poolid}
        return 'pools/{0}'.format(poolid), {}


def _may_repeat(error, safe):
    """True if sending the same request again cannot do anything twice.

    Always: PVE refused it on a lock timeout, a proxy said the backend was not reached, or no
    connection was made. Reads and the login (`safe`) also on a broken connection or a 5xx.
    """
    if error.kind in (TLS, AUTH, PERMISSION, PARAMETER, NOT_FOUND, EXISTS, VERSION, ABANDONED):
        return False
    if error.kind == LOCKED or error.status in _TRANSIENT_STATUS:
        return True
    if error.kind == UNREACHABLE and error.status is None:
        return True
    return safe and error.kind in (CONNECTION, SERVER, UNREACHABLE)


def _split_token(user, token_id):
    """(user, token name): token_id may be the bare name or the full user@realm!name."""
    if token_id and '!' in token_id:
        owner, name = token_id.split('!', 1)
        return owner, name
    return user, token_id or None


def _wire(value):
    """Parameters as PVE reads them: booleans as 0/1, lists comma-separated."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (list, tuple)):
        return ','.join(str(v) for v in value)
    return value


def _json_errors(response):
    try:
        return response.json().get('errors')
    except ValueError:
        return None


def _first_line(exc):
    text = str(exc)
    # requests nests the root cause; the innermost reason is the useful part.
    found = re.search(r"\(Caused by \w+\((?:.*?: )?'?(.*?)'?\)\)", text)
    return (found.group(1) if found else text).splitlines()[0][:300]


def _refused(exc):
    text = str(exc)
    return any(s in text for s in ('Connection refused', 'Name or service not known', 'No route to host',
                                   'Failed to establish a new connection', 'nodename nor servname'))
