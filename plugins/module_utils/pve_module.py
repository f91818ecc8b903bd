# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`PveModule`: an AnsibleModule with the shared connection options and the one client."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.deploystand.proxmox.plugins.module_utils.pve_client import (
    DEFAULT_PORT, DEFAULT_TIMEOUT, HAS_PROXMOXER, PROXMOXER_IMPORT_ERROR, PveApiError, PveClient)

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


class PveModule(AnsibleModule):
    """AnsibleModule + AUTH_ARGSPEC; `client()` connects once, `fail_api()` reports a PveApiError."""

    def __init__(self, argument_spec, **kwargs):
        spec = dict(AUTH_ARGSPEC)
        spec.update(argument_spec)
        kwargs['required_one_of'] = AUTH_REQUIRED_ONE_OF + list(kwargs.get('required_one_of', []))
        kwargs['required_together'] = AUTH_REQUIRED_TOGETHER + list(kwargs.get('required_together', []))
        super(PveModule, self).__init__(argument_spec=spec, **kwargs)
        self._client = None

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
                                         ca_path=p['ca_path'], timeout=p['api_timeout'])
            except PveApiError as err:
                self.fail_api(err)
        return self._client

    def fail_api(self, err, **result):
        """Fail with the error's message (and, for a failed task, the end of its log); never a traceback."""
        result.setdefault('changed', False)
        if err.log:
            result['task_log'] = err.log
        self.fail_json(msg=err.message, error_kind=err.kind, **result)
