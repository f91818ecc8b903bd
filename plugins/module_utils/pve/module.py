# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`PveModule`: an AnsibleModule with the shared connection options and the one client, whose
waits stop once the ansible-playbook that started the module is gone (`ControllerWatch`)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import time

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.deploystand.proxmox.plugins.module_utils.errors import RunFailed, StandError
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.client import (
    ABANDONED, DEFAULT_PORT, DEFAULT_TIMEOUT, HAS_PROXMOXER, PROXMOXER_IMPORT_ERROR, PveApiError, PveClient,
)

# The connection options of every module; documented once in doc_fragments/auth.py.
AUTH_ARGSPEC = dict(
    api_host=dict(type='str', required=True, fallback=(env_fallback, ['PROXMOX_HOST'])),
    api_port=dict(type='int', default=DEFAULT_PORT, fallback=(env_fallback, ['PROXMOX_PORT'])),
    api_user=dict(type='str', default='root@pam', fallback=(env_fallback, ['PROXMOX_USER'])),
    api_password=dict(type='str', no_log=True, fallback=(env_fallback, ['PROXMOX_PASSWORD'])),
    api_token_id=dict(type='str', no_log=False, fallback=(env_fallback, ['PROXMOX_TOKEN_ID'])),
    api_token_secret=dict(type='str', no_log=True, fallback=(env_fallback, ['PROXMOX_TOKEN_SECRET'])),
    validate_certs=dict(type='bool', default=True, fallback=(env_fallback, ['PROXMOX_VALIDATE_CERTS'])),
    ca_path=dict(type='path', fallback=(env_fallback, ['PROXMOX_CA_PATH'])),
    api_timeout=dict(type='int', default=DEFAULT_TIMEOUT, fallback=(env_fallback, ['PROXMOX_TIMEOUT'])),
)
AUTH_REQUIRED_ONE_OF = [('api_password', 'api_token_id')]
AUTH_REQUIRED_TOGETHER = [('api_token_id', 'api_token_secret')]


# How far up the process tree the Ansible worker may be (module, sh -c, sh -c, worker).
_ANCESTORS = 8
# Longest single sleep between two looks at the controller.
WATCH_INTERVAL = 1.0


def _proc_stat(pid, proc='/proc'):
    """(ppid, session) of a process from /proc/<pid>/stat, or None when it is gone or unreadable."""
    try:
        with open('{0}/{1}/stat'.format(proc, pid)) as handle:
            text = handle.read()
    except (IOError, OSError):
        return None
    # "pid (comm) state ppid pgrp session ...": comm may hold spaces and parentheses
    fields = text[text.rfind(')') + 2:].split()
    try:
        return int(fields[1]), int(fields[3])
    except (IndexError, ValueError):
        return None


def _proc_cmdline(pid, proc='/proc'):
    try:
        with open('{0}/{1}/cmdline'.format(proc, pid), 'rb') as handle:
            return handle.read()
    except (IOError, OSError):
        return None


class ControllerWatch(object):
    """Tells whether the ansible-playbook process that started this module still runs.

    ansible-core runs every task in a worker it forks from ansible-playbook and moves into a session
    of its own (WorkerProcess._detach calls os.setsid), and the module runs inside that session. A
    SIGKILL of ansible-playbook's process group (a cancelled CI job, a closed laptop) therefore leaves
    the worker and the module running, and nobody will read the module's result. The worker is the
    leader of the module's session and a fork of the controller (the same command line); once the
    controller is gone the worker is re-parented (to init or a subreaper).

    Where this shape is not found (not Linux, an async task, become with a pty, a module started by
    hand) `watching` is False and the controller counts as alive."""

    def __init__(self, proc='/proc', pid=None):
        self.proc = proc
        self.worker = self.controller = None
        pid = os.getpid() if pid is None else pid
        own = _proc_stat(pid, proc)
        if own is None or own[1] == pid:
            return
        session = own[1]
        ancestor = own[0]
        for _level in range(_ANCESTORS):
            if ancestor == session:
                break
            found = _proc_stat(ancestor, proc)
            if found is None or found[0] <= 1:
                return
            ancestor = found[0]
        else:
            return
        leader = _proc_stat(session, proc)
        if leader is None or leader[0] <= 1:
            return         # no controller left to watch (or it is init itself)
        if _proc_cmdline(session, proc) != _proc_cmdline(leader[0], proc):
            return         # the session leader is no fork of its parent: not an Ansible worker
        self.worker, self.controller = session, leader[0]

    @property
    def watching(self):
        return self.controller is not None

    def alive(self):
        if not self.watching:
            return True
        found = _proc_stat(self.worker, self.proc)
        return found is not None and found[0] == self.controller

    def check(self):
        """Raises PveApiError(kind=abandoned) once the controller is gone."""
        if not self.alive():
            raise PveApiError(
                'ansible-playbook (pid {0}), which started this module, is gone: the module stopped waiting. '
                'Tasks already started on Proxmox VE go on; run the playbook again to converge'.format(
                    self.controller), kind=ABANDONED)

    def sleep(self, seconds):
        """time.sleep that looks at the controller at least every WATCH_INTERVAL seconds."""
        end = time.monotonic() + max(0.0, seconds)
        while True:
            self.check()
            left = end - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, WATCH_INTERVAL))


class PveModule(AnsibleModule):
    """AnsibleModule + AUTH_ARGSPEC; `client()` connects once, `fail_api()` reports a PveApiError."""

    def __init__(self, argument_spec, **kwargs):
        spec = dict(AUTH_ARGSPEC)
        spec.update(argument_spec)
        kwargs['required_one_of'] = AUTH_REQUIRED_ONE_OF + list(kwargs.get('required_one_of', []))
        kwargs['required_together'] = AUTH_REQUIRED_TOGETHER + list(kwargs.get('required_together', []))
        super(PveModule, self).__init__(argument_spec=spec, **kwargs)
        self._client = None
        self.controller = ControllerWatch()

    def client(self):
        """The connected PveClient (connects on first use; fails the module cleanly on any error)."""
        if self._client is None:
            if not HAS_PROXMOXER:
                self.fail_json(msg=missing_required_lib('proxmoxer'), exception=str(PROXMOXER_IMPORT_ERROR))
            p = self.params
            if not p['validate_certs']:
                self.warn('validate_certs is off: the TLS certificate of {0} is not checked, so the password or '
                          'token goes to whoever answers on that address. Give the cluster CA with ca_path '
                          'instead.'.format(p['api_host']))
            try:
                self._client = PveClient(p['api_host'], user=p['api_user'], password=p['api_password'],
                                         token_id=p['api_token_id'], token_secret=p['api_token_secret'],
                                         port=p['api_port'], validate_certs=p['validate_certs'],
                                         ca_path=p['ca_path'], timeout=p['api_timeout'],
                                         sleep=self.controller.sleep)
            except PveApiError as err:
                self.fail_api(err)
        return self._client

    def run(self, action, partial=dict, refusals=(), context=None, pop_diff=True):
        """Run `action()` and exit with its result; every error kind ends in one `fail_json`, never a
        traceback: a `RunFailed` with its message and its own result so far; a `PveApiError` through
        `fail_api`; a refusal (`StandError`, or one of `refusals`) with its message. Both of the latter
        return `partial()`, what was done before the error. `context` prefixes a StandError's message
        (e.g. 'node pve1'); `pop_diff` drops the result's diff outside diff mode."""
        try:
            result = action()
        except RunFailed as exc:
            self.fail_json(msg=exc.message, **exc.result)
        except PveApiError as err:
            self.fail_api(err, **partial())
        except StandError as err:
            self.fail_json(msg='{0}: {1}'.format(context, err) if context else str(err), **partial())
        except tuple(refusals) as err:
            self.fail_json(msg=str(err), **partial())
        if pop_diff and not self._diff:
            result.pop('diff', None)
        self.exit_json(**result)

    def fail_api(self, err, **result):
        """Fail with the error's message (and, for a failed task, the end of its log); never a traceback."""
        result.setdefault('changed', False)
        if err.log:
            result['task_log'] = err.log
        self.fail_json(msg=err.message, error_kind=err.kind, **result)
