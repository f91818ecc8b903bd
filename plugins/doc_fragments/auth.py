# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

import yaml


def _plugin_options(documentation):
    """The same connection options for plugins (the inventory plugin), from the one table below:
    plugins read their environment variables from `env:`, so each option gets the E(VAR) its
    description names."""
    doc = yaml.safe_load(documentation)
    for option in doc['options'].values():
        found = re.search(r'E\((\w+)\)', ' '.join(option['description']))
        if found:
            option['env'] = [{'name': found.group(1)}]
    return yaml.safe_dump({'options': doc['options'], 'requirements': doc['requirements']}, sort_keys=False)


class ModuleDocFragment(object):
    """The connection options every module shares (module_utils/pve_module.py AUTH_ARGSPEC)."""

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
requirements:
  - proxmoxer >= 2.0
  - requests
'''

    # For plugins: extends_documentation_fragment deploystand.proxmox.auth.plugin
    PLUGIN = _plugin_options(DOCUMENTATION)
