#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: pve_user_pool
short_description: One student's Proxmox VE user, resource pool and ACLs for a lab stand
version_added: 0.1.0
description:
  - Ensures the user of one student of a stand, the student's resource pool and the ACL entries
    that let the student work in it (O(role) on C(/pool/<pool>)) and use its own bridges
    (O(bridge_role) on C(/sdn/zones/localnetwork/<bridge>)).
  - Everything it creates carries the stand's marker in its comment (C(deploystand:<stand>) on the
    user, C(deploystand:<stand>:<userid>) on the pool), and O(state=absent) removes only objects
    that carry it. A user or pool that exists without the marker is reported in RV(foreign) and a
    warning, never modified or deleted.
  - A user that carries another stand's user marker (the same class in two stands) gets this stand's
    marker added to its comment (one token per stand that uses it; RV(user_marked)); its password is
    left alone. O(state=absent) removes this stand's token and deletes the user only when no other stand
    uses it (another marker, or another stand's pool naming it) and it holds no grant this stand did not
    give; otherwise it is kept and RV(user_kept) says why.
  - O(state=absent) keeps a pool that still has members, and then its owner too, with the grant on the
    pool and on the bridges those members use, so that a marked pool is never left without its user.
  - Idempotent; supports check mode (reads only and predicts the change) and diff mode (user and
    pool comments and the student's ACL entries on the managed paths; never a password).
extends_documentation_fragment:
  - deploystand.proxmox.auth
  - deploystand.proxmox.attributes
  - deploystand.proxmox.account_expiry
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
options:
  stand:
    description:
      - Name of the stand (C([a-z][a-z0-9-]*), at most 20 characters). It is part of every marker.
    type: str
    required: true
  userid:
    description:
      - The student, as C(name@realm) (V(student1@pve)).
      - Users of realm C(pve) are created when missing. Users of any other realm (C(pam), C(ldap),
        C(ad), ...) must already exist; the module fails with a clear message if they do not, and
        never handles their passwords.
    type: str
    required: true
  pool:
    description:
      - Resource pool of the student. Default C(<stand>-<user name without realm>).
    type: str
  role:
    description:
      - Role granted to the student on C(/pool/<pool>).
    type: str
    default: PVEVMAdmin
  pool_audit_role:
    description:
      - Also granted on C(/pool/<pool>), so the student sees the pool itself (C(Pool.Audit)) in the pool
        list and the VMs' pool in the resource tree; O(role) alone lets it work on the member VMs only.
      - Set to an empty string to grant O(role) alone.
    type: str
    default: PVEPoolUser
  bridges:
    description:
      - Bridges (interface names such as V(vmbr1001)) the student may use; O(bridge_role) is granted on
        C(/sdn/zones/localnetwork/<bridge>) for each (PVE 8+ checks C(SDN.Use) there when NICs are
        created or changed).
      - With O(state=absent), give the same list to remove these grants from a user the stand did
        not create (for a user it created, deleting the user drops all of its ACL entries).
    type: list
    elements: str
    default: []
  stale_bridges:
    description:
      - Bridges the stand no longer gives the student (the plan's C(stale_grants)). With O(state=present), the
        student's O(bridge_role) grant on each is removed; a bridge name is one ACL path on every node, so a
        grant left behind would cover whatever bridge takes that name next. Names also in O(bridges) are kept.
    type: list
    elements: str
    default: []
  bridge_role:
    description:
      - Role granted on each bridge of O(bridges). Must hold C(SDN.Use).
    type: str
    default: PVESDNUser
  password:
    description:
      - Password for a user created by this module (8-64 characters). When not given, one is
        generated with O(password_length) characters.
    type: str
  update_password:
    description:
      - V(on_create) sets the password only when the user is created.
      - V(always) also resets the password of a user the stand created. A given O(password) is first
        tried with a login as the student and reset only when it does not work (so re-runs stay
        unchanged); without O(password) a new password is generated and set on every run.
      - V(recover) (what the deploy playbook hands over for a password its report holds but never saw
        confirmed) tries the given O(password) with a login as the student and sets it only when it does not
        work, and only on a user that this stand alone made; a user another stand shares, or one that existed
        before the stand, is never touched (RV(password_kept) says why).
      - Resetting uses C(PUT /access/password), which PVE refuses for API tokens, so it needs password
        authentication (O(api_password)), and every caller except C(root@pam) confirms with its own
        password, which the module sends from O(api_password).
    type: str
    choices: [on_create, always, recover]
    default: on_create
  password_length:
    description:
      - Length of generated passwords (16-64).
    type: int
    default: 20
  state:
    description:
      - V(present) ensures user, pool and ACL entries.
      - V(absent) removes the ACL entries it manages, deletes the pool when it carries the marker and is
        empty (a non-empty pool is kept with its owner and reported), and deletes the user when its comment
        holds the stand's user marker and nothing else uses it (see RV(user_kept)).
    type: str
    choices: [present, absent]
    default: present
notes:
  - The returned RV(password) is a secret. Protect the task with C(no_log=true) (or register it
    and write only the credentials report); the module returns the password only in the run that
    set it. A given O(password) is a C(no_log) option, so Ansible masks the same value in the result;
    take it from the input.
  - Passwords can be set only at user creation when the automation authenticates with an API token
    (PVE C(allowtoken => 0) on C(PUT /access/password)); the module fails with a message naming
    O(api_password) when a reset is needed under token authentication.
  - ACL entries are read once with C(GET /access/acl) and only missing ones are written with
    C(PUT /access/acl) (one call per path); C(propagate) is set so VLAN child paths of a bridge are
    covered.
  - Deleting a user makes PVE drop all of its ACL entries; deleting a pool drops every ACL entry on
    the pool. A pool that still has members cannot be deleted (PVE refuses), so it is kept and
    reported.
  - Pools are read with the C(GET /pools?poolid=) form on PVE 8.1+ and the legacy C(/pools/<id>)
    path before.
  - After a broken connection a write may or may not have happened; the module reads the object back
    and sends the write again only if it did not (at most 3 rounds).
author:
  - deploystand.proxmox contributors (@deploystand)
'''

EXAMPLES = r'''
- name: Student user, pool and ACLs exist
  deploystand.proxmox.pve_user_pool:
    stand: netlab
    userid: student1@pve
    bridges: [vmbr1001, vmbr1002]
  register: student
  no_log: true

- name: LDAP user (must already exist) gets a pool with a custom role
  deploystand.proxmox.pve_user_pool:
    stand: netlab
    userid: jdoe@ldap
    role: PVEVMUser

- name: Reset a given password on every run (needs password auth, not a token)
  deploystand.proxmox.pve_user_pool:
    stand: netlab
    userid: student2@pve
    password: "{{ vault_student2_password }}"
    update_password: always
  no_log: true

- name: Student removed (only what carries the stand's marker)
  deploystand.proxmox.pve_user_pool:
    stand: netlab
    userid: student1@pve
    state: absent
'''

RETURN = r'''
userid:
  description: The student.
  returned: always
  type: str
  sample: student1@pve
pool:
  description: The student's pool id.
  returned: always
  type: str
  sample: netlab-student1
user_created:
  description: The user was created in this run (predicted in check mode).
  returned: always
  type: bool
user_owned:
  description: The user carries the stand's marker (it was created by this stand).
  returned: always
  type: bool
pool_created:
  description: The pool was created in this run (predicted in check mode).
  returned: always
  type: bool
pool_deleted:
  description: The pool was deleted (state=absent).
  returned: when state=absent
  type: bool
user_deleted:
  description: The user was deleted (state=absent).
  returned: when state=absent
  type: bool
acls_added:
  description: ACL entries written, as C(<path> <role>).
  returned: always
  type: list
  elements: str
  sample: ["/pool/netlab-student1 PVEVMAdmin", "/sdn/zones/localnetwork/vmbr1001 PVESDNUser"]
acls_removed:
  description:
    - ACL entries removed, as C(<path> <role>); with O(state=absent) includes those PVE drops with the user, with
      O(state=present) the grants on O(stale_bridges).
  returned: always
  type: list
  elements: str
user_marked:
  description: This stand's marker was added to a user another stand made (predicted in check mode).
  returned: when it happened
  type: bool
user_shared_with:
  description: The other stands whose marker the user carries.
  returned: when user_marked
  type: list
  elements: str
user_kept:
  description: Why a user this stand marked was not deleted (another stand uses it, it has grants outside the
    stand, or its pool still holds members). Also a warning.
  returned: when state=absent kept such a user
  type: str
  sample: stand netlab2 still uses it
user_unmarked:
  description: This stand's marker was removed from a kept user (another stand's marker stays on it).
  returned: when it happened
  type: bool
password_set:
  description: A password was set in this run (at creation or by a reset; predicted in check mode).
  returned: always
  type: bool
password:
  description: The password set in this run. Never returned in check mode or when nothing was set.
  returned: when a password was set in this run
  type: str
expire:
  description: The user's C(expire) after the run (epoch seconds, C(0) = never).
  returned: when O(expire) is given and the user exists or is created
  type: int
expire_managed:
  description: False when the user's expiry is not the stand's to set (the account existed before the stand).
  returned: when O(expire) is given and the user exists or is created
  type: bool
expire_set:
  description: The user's C(expire) was changed in this run (predicted in check mode).
  returned: when it happened
  type: bool
expire_shared_with:
  description: The other stands that use the account; RV(expire) is the latest end among them and this stand.
  returned: when O(expire) is given and other stands use the account
  type: list
  elements: str
pool_updated:
  description: The pool's comment got the stand's first deploy or new end in this run (predicted in check mode).
  returned: when it happened
  type: bool
password_confirmed:
  description: With O(update_password=recover), the given password logged in as the student, so nothing was set.
  returned: when it happened
  type: bool
password_kept:
  description: With O(update_password=recover), why the password was left alone (a shared account, a token).
  returned: when it happened
  type: str
foreign:
  description: Objects with the stand's names that the stand does not own (or could not remove), left untouched.
  returned: always
  type: list
  elements: str
'''

from ansible_collections.deploystand.proxmox.plugins.module_utils.ops.user_pool import (
    UserPool, UserPoolError, check_params,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.argspecs import (
    ACCOUNT_EXPIRY_OPTIONS, PASSWORD_OPTIONS, ROLE_OPTIONS, pieces, with_default,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.module import PveModule


def main():
    module = PveModule(
        argument_spec=dict(
            stand=dict(type='str', required=True),
            userid=dict(type='str', required=True),
            pool=dict(type='str'),
            bridges=dict(type='list', elements='str', default=[]),
            stale_bridges=dict(type='list', elements='str', default=[]),
            state=with_default('state', type='str', choices=['present', 'absent']),
            **pieces(ROLE_OPTIONS, PASSWORD_OPTIONS, ACCOUNT_EXPIRY_OPTIONS)
        ),
        supports_check_mode=True,
    )
    errors = check_params(module.params)
    if errors:
        module.fail_json(msg='invalid input: ' + '; '.join(errors), errors=errors)
    work = UserPool(module.client(), module.params, check_mode=module.check_mode, warn=module.warn)
    module.run(work.present if module.params['state'] == 'present' else work.absent,
               partial=lambda: _partial(work.result, module.check_mode), refusals=(UserPoolError,))


def _partial(result, check_mode):
    """What was done before a failure, including a password set in this run (it could not be read
    again later); `changed` says whether anything was written."""
    out = dict((k, v) for k, v in result.items() if k not in ('diff', 'changed'))
    out['changed'] = not check_mode and any(result.get(k) for k in (
        'user_created', 'password_set', 'pool_created', 'acls_added', 'acls_removed', 'pool_deleted', 'user_deleted',
        'user_marked', 'user_unmarked', 'expire_set', 'pool_updated'))
    return out


if __name__ == '__main__':
    main()
