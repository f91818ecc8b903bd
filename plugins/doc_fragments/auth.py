# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """The connection options every module shares (module_utils/pve/module.py AUTH_ARGSPEC)."""

    DOCUMENTATION = r'''
options:
  api_host:
    description:
      - Host name or address of a Proxmox VE node serving the API.
      - Read from the environment variable E(PROXMOX_HOST) when not given.
    type: str
    required: true
  api_port:
    description:
      - TCP port of the API.
      - Read from E(PROXMOX_PORT) when not given.
    type: int
    default: 8006
  api_user:
    description:
      - User to authenticate as, with its realm (V(root@pam), V(automation@pve)).
      - With an API token this is the token's owner.
      - Read from E(PROXMOX_USER) when not given.
    type: str
    default: root@pam
  api_password:
    description:
      - Password of O(api_user). One of O(api_password) or O(api_token_id) is required.
      - Read from E(PROXMOX_PASSWORD) when not given.
      - Resetting student passwords needs password authentication; PVE refuses it for API tokens.
    type: str
  api_token_id:
    description:
      - Name of an API token of O(api_user) (V(ansible)), or the full token id (V(automation@pve!ansible)).
      - Read from E(PROXMOX_TOKEN_ID) when not given.
    type: str
  api_token_secret:
    description:
      - Secret (UUID) of the API token.
      - Read from E(PROXMOX_TOKEN_SECRET) when not given.
    type: str
  validate_certs:
    description:
      - Verify the API's TLS certificate. Leave it on and give O(ca_path) for a self-signed cluster CA;
        without verification the credentials go to whoever answers on that address (a warning says so).
      - Read from E(PROXMOX_VALIDATE_CERTS) when not given.
    type: bool
    default: true
  ca_path:
    description:
      - PEM file of the CA that signed the API certificate, for example a copy of C(/etc/pve/pve-root-ca.pem).
      - Read from E(PROXMOX_CA_PATH) when not given.
    type: path
  api_timeout:
    description:
      - Seconds to wait for one API response.
      - Read from E(PROXMOX_TIMEOUT) when not given.
    type: int
    default: 30
notes:
  - All API calls run on the controller; no SSH to the Proxmox VE nodes is needed.
  - Set the connection once for all modules with C(module_defaults) and the action group
    C(group/deploystand.proxmox.pve).
  - Every wait is bounded. One API request waits at most O(api_timeout); reads, the login and requests PVE
    refused on a lock timeout are sent at most 5 times, about 11 s of back-off in all; task, lock and
    clone-slot waits are bounded by the module's own timeout options (each says what it bounds).
  - The module stops waiting and fails (C(error_kind=abandoned)) within a second once the ansible-playbook
    process that started it is gone, as after a SIGKILL of the playbook's process group, which ansible-core's
    workers have left (Linux, read from C(/proc); async tasks are not watched). Tasks already started on
    Proxmox VE go on; the next run converges.
requirements:
  - proxmoxer >= 2.0
  - requests
'''

    # For plugins (the inventory plugin): `extends_documentation_fragment: [deploystand.proxmox.auth,
    # deploystand.proxmox.auth.plugin]`. Ansible merges an option's keys across fragments, so this only adds
    # the `env:` entries plugins read their settings from; the options themselves are documented once, above.
    PLUGIN = r'''
options:
  api_host:
    env:
      - name: PROXMOX_HOST
  api_port:
    env:
      - name: PROXMOX_PORT
  api_user:
    env:
      - name: PROXMOX_USER
  api_password:
    env:
      - name: PROXMOX_PASSWORD
  api_token_id:
    env:
      - name: PROXMOX_TOKEN_ID
  api_token_secret:
    env:
      - name: PROXMOX_TOKEN_SECRET
  validate_certs:
    env:
      - name: PROXMOX_VALIDATE_CERTS
  ca_path:
    env:
      - name: PROXMOX_CA_PATH
  api_timeout:
    env:
      - name: PROXMOX_TIMEOUT
'''
