#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: pve_automation_identity
short_description: A least-privilege Proxmox VE identity for the automation - role, user, API token, grants, token file
version_added: 0.1.0
description:
  - Ensures a custom role holding exactly O(privileges), a user O(userid), an API token O(token) of that user with
    privilege separation on, and the role granted with propagation to both the user and the token on each of
    O(paths) (a privilege-separated token holds the intersection of its own and its user's grants). Grants of the
    role to the user or the token on other paths are removed.
  - PVE shows a token's secret once, in the answer that creates it. The module writes it to O(token_file) at once
    (an env file of C(export PROXMOX_...) lines, mode 0600, written atomically; missing directories are made with
    mode 0700), and never returns or prints it. When the file cannot be written the new token is deleted again
    and the module fails, so no secret is ever lost.
  - An existing token is kept when O(token_file) holds its secret and PVE accepts it. A token whose secret is
    not in the file (the file is missing, names another token, or PVE refuses its secret), that has privilege
    separation off or that has expired makes the module fail before any write, saying to renew it with
    O(token_renew).
  - O(token_renew=true) replaces the token (delete and create; PVE drops a deleted token's grants) and grants the
    role to the new token again, so a renewal always ends with a working token.
  - Run it as an administrator (for example C(root@pam)); the result is what M(deploystand.proxmox.pve_stand_plan)
    and the deploy and destroy playbooks need, used with the token alone.
extends_documentation_fragment:
  - deploystand.proxmox.auth
  - deploystand.proxmox.attributes
attributes:
  check_mode:
    description: Reads only, and predicts every change (a new token and its file included); writes nothing on PVE
      or on disk.
    support: full
  diff_mode:
    description: Returns before and after of the role's privileges, the user, the token, the role's grants to
      the user and the token, and whether the token file holds a secret (never the secret).
    support: full
options:
  role:
    description:
      - Id of the custom role. PVE refuses ids starting with C(PVE) for custom roles, and built-in roles cannot
        be changed.
    type: str
    default: DeployStandAutomation
  privileges:
    description:
      - Exactly the privileges the role holds (C(PUT /access/roles/<role>) replaces them). Each must be known to
        the cluster's PVE release (checked against the built-in role C(Administrator), which holds them all).
    type: list
    elements: str
    required: true
  userid:
    description:
      - The automation user, C(name@realm). It is created (without a password - the token never logs in with one)
        when missing, in realm C(pve) only; a user of another realm must exist.
    type: str
    default: deploystand@pve
  token:
    description:
      - Name of the API token of O(userid) (its full id is C(<userid>!<token>)).
    type: str
    default: ansible
  paths:
    description:
      - ACL paths the role is granted on, propagated below each (for example C(/vms), C(/pool),
        C(/sdn/zones/localnetwork)).
    type: list
    elements: str
    required: true
  propagate:
    description:
      - Whether the grants on O(paths) propagate below each path. V(false) grants the role on the paths themselves
        only, as for the HA role on C(/) (C(Sys.Audit) and C(Sys.Console) there must not reach C(/nodes), where
        C(Sys.Console) opens node shells). A held grant with the other flag is written again with this one.
    type: bool
    default: true
  comment:
    description:
      - Comment of a user or token created by the module.
    type: str
    default: deploystand automation
  token_file:
    description:
      - Where the token's secret goes, as C(export PROXMOX_HOST=...), C(PROXMOX_PORT), C(PROXMOX_USER),
        C(PROXMOX_TOKEN_ID), C(PROXMOX_TOKEN_SECRET) and, when set, C(PROXMOX_CA_PATH) and
        C(PROXMOX_VALIDATE_CERTS) lines (the API address and CA of this connection), after an
        C(unset PROXMOX_PASSWORD) line, so that sourcing it in a shell leaves the token alone.
      - Written with mode 0600 through a temporary file in the same directory; directories that do not exist are
        made with mode 0700. An existing file readable by others is made 0600.
    type: path
    required: true
  token_renew:
    description:
      - Replace the token (a new secret, written to O(token_file)) even when the current one works.
    type: bool
    default: false
notes:
  - "PVE behaviour relied on (pve-access-control): C(POST /access/users/<user>/token/<token>) returns the secret
    once as C(value) and takes C(privsep) (default 1); a deleted token's ACL entries are dropped (user.cfg entries
    of tokens that do not exist are ignored when it is read and left out when it is written), so a renewed token
    needs its grants again; C(PUT /access/roles/<role>) without C(append) replaces the privileges; custom role ids
    must not start with C(PVE)."
  - After a broken connection a write is read back and decided again (at most 3 rounds); a token whose creation
    answer was lost (so its secret is unknown) is deleted and made again.
  - The secret is added to the values Ansible masks, and the module never returns it.
seealso:
  - module: deploystand.proxmox.pve_stand_plan
author:
  - deploystand.proxmox contributors (@deploystand)
'''

EXAMPLES = r'''
- name: Least-privilege identity for the deploy (run once as root@pam)
  deploystand.proxmox.pve_automation_identity:
    role: DeployStandAutomation
    privileges: [Sys.Audit, Sys.Modify, SDN.Audit, SDN.Use, VM.Audit, VM.Clone, VM.Allocate]
    userid: deploystand@pve
    token: ansible
    paths: [/nodes, /vms, /storage, /pool, /sdn/zones/localnetwork]
    token_file: "{{ playbook_dir }}/../reports/automation-token.env"

- name: The HA role (stand.ha), on / only, for the same user and token
  deploystand.proxmox.pve_automation_identity:
    role: DeployStandHA
    privileges: [Sys.Audit, Sys.Console]
    paths: [/]
    propagate: false
    token_file: "{{ playbook_dir }}/../reports/automation-token.env"

- name: A new secret for the same token (the old one stops working)
  deploystand.proxmox.pve_automation_identity:
    privileges: "{{ automation_role_privs }}"
    paths: "{{ automation_role_paths }}"
    token_file: /root/deploystand-token.env
    token_renew: true
'''

RETURN = r'''
role:
  description: The role id.
  returned: always
  type: str
  sample: DeployStandAutomation
privileges:
  description: The role's privileges after the run, sorted.
  returned: always
  type: list
  elements: str
userid:
  description: The automation user.
  returned: always
  type: str
  sample: deploystand@pve
tokenid:
  description: The full token id, as C(PROXMOX_TOKEN_ID) takes it.
  returned: always
  type: str
  sample: deploystand@pve!ansible
token_file:
  description: The file holding the token's secret.
  returned: always
  type: str
role_created:
  description: The role was created (predicted in check mode).
  returned: always
  type: bool
role_updated:
  description: The role's privileges were set to O(privileges) (predicted in check mode).
  returned: always
  type: bool
user_created:
  description: The user was created (predicted in check mode).
  returned: always
  type: bool
token_created:
  description: A token was created and its secret written to RV(token_file) (predicted in check mode).
  returned: always
  type: bool
token_renewed:
  description: The token existed and was replaced (O(token_renew)).
  returned: always
  type: bool
token_file_written:
  description: RV(token_file) was written in this run (predicted in check mode).
  returned: always
  type: bool
acls_added:
  description: Grants written, as C(<path> <role> <user|token> <id>).
  returned: always
  type: list
  elements: str
  sample: ["/vms DeployStandAutomation token deploystand@pve!ansible"]
acls_removed:
  description: Grants of the role to the user or token on paths not in O(paths), removed.
  returned: always
  type: list
  elements: str
'''

from ansible_collections.deploystand.proxmox.plugins.module_utils.ops.automation_identity import (
    AutomationIdentity, IdentityError, check_params,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.module import PveModule


def main():
    module = PveModule(
        argument_spec=dict(
            role=dict(type='str', default='DeployStandAutomation'),
            privileges=dict(type='list', elements='str', required=True),
            userid=dict(type='str', default='deploystand@pve'),
            token=dict(type='str', default='ansible', no_log=False),
            paths=dict(type='list', elements='str', required=True),
            propagate=dict(type='bool', default=True),
            comment=dict(type='str', default='deploystand automation'),
            token_file=dict(type='path', required=True, no_log=False),
            token_renew=dict(type='bool', default=False, no_log=False),
        ),
        supports_check_mode=True,
    )
    errors = check_params(module.params)
    if errors:
        module.fail_json(msg='invalid input: ' + '; '.join(errors), errors=errors)
    work = AutomationIdentity(module.client(), module.params, check_mode=module.check_mode, warn=module.warn,
                              on_secret=module.no_log_values.add)
    module.run(work.run, partial=lambda: _partial(work.result, module.check_mode), refusals=(IdentityError,))


def _partial(result, check_mode):
    """What was written before a failure; `changed` says whether anything was."""
    out = dict((k, v) for k, v in result.items() if k not in ('diff', 'changed'))
    out['changed'] = not check_mode and any(result.get(k) for k in (
        'role_created', 'role_updated', 'user_created', 'token_created', 'token_renewed', 'acls_added',
        'acls_removed'))
    return out


if __name__ == '__main__':
    main()
