# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one defaults table and the argument-spec pieces every module composes.

A default lives here once: the modules' argument specs, the stand input normalisation
(``stand/inputs.py``) and the ``ops/`` code read it from ``DEFAULTS``; the roles' ``defaults/main.yml``
and ``meta/argument_specs.yml`` cannot import Python, so ``tests/unit/plugins/module_utils/
test_argspecs.py`` holds them equal to this table. Pure data: standard library only (the connection
options, which need Ansible's ``env_fallback``, are ``pve/module.py`` ``AUTH_ARGSPEC``).
"""
from __future__ import absolute_import, division, print_function

import copy

__metaclass__ = type

DEFAULTS = dict(
    vmid_range=[10000, 19999],          # stand.vmid_range, pve_stand_clone/pve_stand_student vmid_range
    bridge_range=[1000, 9999],          # stand.bridge_range, pve_bridge, role stand_network
    role='PVEVMAdmin',                  # stand.role: the student's role on its pool
    pool_audit_role='PVEPoolUser',      # granted besides role on the pool
    bridge_role='PVESDNUser',           # granted on each private bridge
    management_bridge='vmbr0',          # stand.management_bridge: an EcoRouter's net0
    mac_prefix='1C:87:76:40',           # the OUI of EcoRouter MACs (stand/allocation.py ecorouter_mac)
    password_length=20,                 # a generated password
    update_password='on_create',
    clone='linked',                     # stand.clone, pve_stand_clone clone
    device_type='linux',                # a machine of the stand
    nic_model='virtio',                 # a NIC's model
    clone_slots=8,                      # clones at once per API host and storage
    lock_retries=5,
    timeout=600,                        # a clone task
    shutdown_timeout=60,
    apply_timeout=120,                  # pve_bridge: PUT /nodes/<node>/network
    apply_foreign_pending=False,
    clone_wait=600,                     # pve_stand_plan: clones in progress in the VMID range
    start=True,                         # stand.start
    memory_overcommit=1.0,              # stand.memory_overcommit
    student_vms='remove',               # pve_stand_student state=absent, role stand_student
    purpose='deploy',                   # pve_stand_plan, role stand_plan
    parallel=30,                        # students at once in one class run (ops/class_run.py)
    state='present',
)


def default(key):
    """DEFAULTS[key], a copy (a list default is never shared between two argument specs)."""
    return copy.deepcopy(DEFAULTS[key])


def with_default(key, **spec):
    """An option spec with its default from the table: with_default('role', type='str')."""
    spec['default'] = default(key)
    return spec


def pieces(*specs):
    """The options of several pieces as one dict, for `**pieces(ROLE_OPTIONS, ...)` in an argument spec."""
    out = {}
    for spec in specs:
        out.update(spec)
    return out


# --- pieces ------------------------------------------------------------------------------------------

# a class in one module run (ops/class_run.py): pve_stand_power, pve_stand_snapshot
# applying a node's pending network config (pve_bridge state=applied, pve_stand_student network_nodes)
NETWORK_APPLY_OPTIONS = dict(
    apply_foreign_pending=with_default('apply_foreign_pending', type='bool'),
    apply_timeout=with_default('apply_timeout', type='int'),
)

CLASS_OPTIONS = dict(
    students=dict(type='list', elements='dict'),
    parallel=with_default('parallel', type='int'),
)

# the roles a student gets (pve_user_pool, pve_stand_student)
ROLE_OPTIONS = dict(
    role=with_default('role', type='str'),
    pool_audit_role=with_default('pool_audit_role', type='str'),
    bridge_role=with_default('bridge_role', type='str'),
)

# the student's password (pve_user_pool, pve_stand_student)
PASSWORD_OPTIONS = dict(
    password=dict(type='str', no_log=True),
    update_password=with_default('update_password', type='str', choices=['on_create', 'always', 'recover'],
                                 no_log=False),
    password_length=with_default('password_length', type='int', no_log=False),
)

# the account's end (pve_user_pool, pve_stand_student; documented by the account_expiry doc fragment)
ACCOUNT_EXPIRY_OPTIONS = dict(
    expire=dict(type='int'),
    since=dict(type='str'),
)

# how long a VM step may take (pve_stand_clone, pve_ecorouter_nic, pve_stand_student)
VM_WAIT_OPTIONS = dict(
    timeout=with_default('timeout', type='int'),
    shutdown_timeout=with_default('shutdown_timeout', type='int'),
)

# an EcoRouter's NICs (pve_stand_student, pve_stand_snapshot's re-clone; documented by the ecorouter doc fragment)
ECOROUTER_OPTIONS = dict(
    management_bridge=with_default('management_bridge', type='str'),
    mac_prefix=with_default('mac_prefix', type='str'),
)

# the clone bound (pve_stand_clone, pve_stand_student, pve_stand_snapshot's re-clone)
CLONE_OPTIONS = dict(
    clone_slots=with_default('clone_slots', type='int'),
    lock_retries=with_default('lock_retries', type='int'),
)
