#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: pve_stand_student
short_description: One student's whole part of a lab stand in one run - user, pool, ACLs and machines
version_added: 0.1.0
description:
  - Does for one student what M(deploystand.proxmox.pve_user_pool), M(deploystand.proxmox.pve_stand_clone)
    and M(deploystand.proxmox.pve_ecorouter_nic) do, with the same rules and markers, in a single module run -
    the user, the pool and its ACLs first, then every machine at the same time (each in its own thread).
    An EcoRouter gets its NICs before it starts.
  - The deploy and destroy playbooks run it once for the whole class (O(students)); role C(stand_student) runs it
    for one student. One run per student instead of one per machine saves the controller about a second of CPU
    per machine and lists the cluster once per student, and one run for the class saves that again per student;
    clones still queue on the clone slots and PVE's storage locks (docs/performance.md).
  - O(state=absent) removes the owned machines first, then the VMs the student made in its stand pool
    (O(own_vms), unless O(student_vms=keep)), then the pool, the ACLs and the user where their markers say the
    stand made them; nothing is removed from a student whose machines could not all be removed. A pool that
    keeps VMs keeps its user, and a user another stand still uses is kept (RV(user_kept) says why).
  - With O(state=present), O(network_nodes) applies those nodes' pending network config (the bridges the network
    play staged) while the clones run, each node in its own thread; a machine on one of them waits for its node's
    apply after its clone, before its config and power are written (a NIC hot-plugged or a VM started needs its
    bridge up). A node whose apply fails or is refused fails the machines on it, with the node's message.
  - With O(state=absent), once every student of the run is done, the students' private bridges on each of
    O(network_nodes) go (as M(deploystand.proxmox.pve_bridge) O(state=absent) with their user ids, so only bridges
    carrying the stand's marker that no VM uses) and the node's config is applied, each node in its own thread.
  - When a part fails the others still run; the module then fails with every failed part in one message, and
    the result still carries what was done (the password set in this run included).
  - Idempotent; supports check mode (reads only and predicts C(changed) and each machine's result) and diff
    mode (see the attributes below).
extends_documentation_fragment:
  - deploystand.proxmox.auth
  - deploystand.proxmox.attributes
  - deploystand.proxmox.ecorouter
  - deploystand.proxmox.account_expiry
attributes:
  check_mode:
    description: Can run in check mode and predict C(changed) and each machine's result without writing anything.
    support: full
  diff_mode:
    description: Returns before and after of the student's user, pool and ACLs and of each machine.
    support: full
    details:
      - C(user) and C(pool) are their comments (and the pool's members), as M(deploystand.proxmox.pve_user_pool)
        shows them; C(acl) the student's ACL entries on the managed paths, as C(<path> <role>); never a password.
      - C(machines) maps each VM name to its name, node, pool, tags, NICs and status, as
        M(deploystand.proxmox.pve_stand_clone) shows them; an empty dict for a VM that does not exist (before) or is
        removed (after). An EcoRouter's after includes its NICs as M(deploystand.proxmox.pve_ecorouter_nic) sets
        them, except in check mode for a router that does not exist yet (its template's NICs are shown).
options:
  stand:
    description: Name of the stand; part of every marker and tag.
    type: str
    required: true
  userid:
    description:
      - The student, as C(name@realm), for a run of one student. Users of realm C(pve) are created when missing
        (see M(deploystand.proxmox.pve_user_pool)). Give either O(userid) or O(students).
    type: str
  students:
    description:
      - The class in one run (deploy_stand.yml and destroy_stand.yml use this, built by the filter
        C(deploystand.proxmox.stand_class_students)). One entry per student with its own O(userid), O(machines)
        and, when they differ from the module's, O(pool), O(node), O(bridges), O(stale_bridges),
        O(update_password), O(own_vms) and O(bridge_zone); every other option holds for the whole class. Each
        entry is checked as those options are, and as a run of one student is; a bad entry fails the run before
        anything is written.
      - The students go side by side (at most O(parallel) at once), each student's machines side by side within.
        A student's failure is its own (RV(students)), never the run's.
      - An entry never holds a password (the module's parameters may be logged); give them in O(passwords).
    type: list
    elements: dict
  passwords:
    description: With O(students), the password of each student that has one, user id to password.
    type: dict
  parallel:
    description: Students worked on at once in a run with O(students).
    type: int
    default: 30
  network_nodes:
    description:
      - Nodes whose network the run finishes (see above). Their pending network config is applied
        (C(PUT /nodes/{node}/network), only when the stand has something pending there), as
        M(deploystand.proxmox.pve_bridge) O(state=applied) does, while the clones run (O(state=present)) or after
        the students' bridges there are removed (O(state=absent)). Pending changes the stand did not make refuse the
        apply unless O(apply_foreign_pending=true).
    type: list
    elements: str
    default: []
  apply_foreign_pending:
    description: With O(network_nodes), also apply pending changes of interfaces the stand did not make (a warning lists them).
    type: bool
    default: false
  apply_timeout:
    description: With O(network_nodes), seconds to wait for each node's C(srvreload) task.
    type: int
    default: 120
  pool:
    description: Resource pool of the student. Default C(<stand>-<user name without realm>).
    type: str
  node:
    description:
      - Node the student's machines are cloned onto (a machine's own C(node) wins). Needed to create machines.
    type: str
  machines:
    description:
      - The student's machines, as M(deploystand.proxmox.pve_stand_plan) plans them (its C(students[].machines)).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: VM name (a DNS label).
        type: str
        required: true
      machine:
        description: The stand's name of the machine (informational).
        type: str
      device_type:
        description: V(ecorouter) gets its NICs in slot order with slot MACs; V(linux) gets O(machines[].networks).
        type: str
        choices: [linux, ecorouter]
        default: linux
      template:
        description: Template to clone, by name (a replica on the node is preferred).
        type: str
      template_vmid:
        description: Template to clone, by VMID.
        type: int
      template_node:
        description: Node of O(machines[].template_vmid).
        type: str
      target:
        description: Informational (the plan's clone target); the clone decides it again.
        type: str
      full:
        description: Full clone instead of linked.
        type: bool
        default: false
      storage:
        description: Target storage of a full clone.
        type: str
      format:
        description: Disk format of a full clone (V(raw), V(qcow2) or V(vmdk)).
        type: str
      vmid:
        description: VMID of the existing VM (the plan's), or null.
        type: int
      preferred_vmid:
        description: VMID to use for a new VM when free (the plan's); else the lowest free one of O(vmid_range).
        type: int
      node:
        description: Node of this machine (destroy plans carry it).
        type: str
      start_order:
        description: Informational here (the stand's start order; M(deploystand.proxmox.pve_stand_power) uses it).
        type: int
        default: 0
      networks:
        description: The machine's networks in NIC order.
        type: list
        elements: dict
        default: []
        suboptions:
          bridge:
            description: A real bridge (V(vmbr0)), or the plan's guess for an alias.
            type: str
          alias:
            description: A private network of the stand; mapped to the student's bridge by O(bridges).
            type: str
          link_down:
            description: Start with the link down.
            type: bool
            default: false
          management:
            description: The EcoRouter management NIC (C(net0)).
            type: bool
            default: false
  bridges:
    description:
      - The student's private bridges, network alias to interface (what M(deploystand.proxmox.pve_bridge)
        returned). The student may use each of them (O(bridge_role)); NICs on an alias go to its interface.
    type: dict
    default: {}
  stale_bridges:
    description:
      - Bridges the stand no longer gives the student (the plan's C(stale_grants)); the student's O(bridge_role)
        grant on each is removed (see M(deploystand.proxmox.pve_user_pool)).
    type: list
    elements: str
    default: []
  own_vms:
    description:
      - With O(state=absent), the VMs the student made itself in its stand pool (the removal plan's
        C(students[].own_vms)). Each is checked again to be in the pool under that name before anything is done.
    type: list
    elements: dict
    default: []
    suboptions:
      vmid: {description: The VM id., type: int, required: true}
      name: {description: Its name., type: str}
      node: {description: Its node., type: str}
  student_vms:
    description:
      - What O(state=absent) does with O(own_vms). V(remove) shuts them down softly (then stops them, like the
        stand's VMs) and destroys them; V(keep) leaves them, and with them the pool, the user and the bridges
        they use. Either way a warning names them.
    type: str
    choices: [remove, keep]
    default: remove
  vmid_range:
    description: VMIDs new VMs may take.
    type: list
    elements: int
    default: [10000, 19999]
  start:
    description: Start the machines (EcoRouters after their NICs are set).
    type: bool
    default: true
  baseline:
    description:
      - The stand's C(baseline) option. Each machine created in this run gets this snapshot right after it is
        made (disk-only, or with its RAM when O(baseline.vmstate) and the VM runs), as
        M(deploystand.proxmox.pve_stand_snapshot) takes it; a machine that existed before gets none, so a re-run
        never takes it. Null takes none.
    type: dict
    suboptions:
      snapshot:
        description: The snapshot name.
        type: str
        default: baseline
      vmstate:
        description: Include the RAM of a running VM.
        type: bool
        default: false
  role:
    description: Role granted to the student on C(/pool/<pool>).
    type: str
    default: PVEVMAdmin
  pool_audit_role:
    description: Also granted on C(/pool/<pool>) so the student sees the pool; an empty string grants none.
    type: str
    default: PVEPoolUser
  bridge_role:
    description: Role granted on each of the student's bridges. Must hold C(SDN.Use).
    type: str
    default: PVESDNUser
  bridge_zone:
    description:
      - The SDN zone of the student's bridges when they are VNets (stand.network mode sdn); the grants then go on
        C(/sdn/zones/<zone>/<vnet>) instead of C(/sdn/zones/localnetwork/<bridge>).
    type: str
  password:
    description: Password for a user created here; generated when not given.
    type: str
  update_password:
    description: V(on_create), V(always) or V(recover) (see M(deploystand.proxmox.pve_user_pool)).
    type: str
    choices: [on_create, always, recover]
    default: on_create
  password_length:
    description: Length of a generated password.
    type: int
    default: 20
  clone_slots:
    description: At most this many clones per storage (per node for local storage) at once from this controller.
    type: int
    default: 8
  lock_retries:
    description: Retries of a clone that failed on a PVE lock timeout.
    type: int
    default: 5
  timeout:
    description:
      - Seconds to wait for each PVE task, for a clone slot and for the clone lock to go, as in
        M(deploystand.proxmox.pve_stand_clone) (its O(deploystand.proxmox.pve_stand_clone#module:timeout) says
        how these bounds add up for one machine). The machines run side by side, so the module takes as long
        as its slowest machine.
    type: int
    default: 600
  shutdown_timeout:
    description: Seconds a clean shutdown may take before the VM is stopped.
    type: int
    default: 60
  state:
    description: V(present) or V(absent).
    type: str
    choices: [present, absent]
    default: present
seealso:
  - module: deploystand.proxmox.pve_user_pool
  - module: deploystand.proxmox.pve_stand_clone
  - module: deploystand.proxmox.pve_ecorouter_nic
author:
  - deploystand.proxmox contributors (@deploystand)
'''

EXAMPLES = r'''
- name: Plan the stand
  deploystand.proxmox.pve_stand_plan:
    stand: "{{ stand }}"
    users: [student1@pve]
  register: plan

- name: Everything of student1 (its bridges made by pve_bridge before)
  deploystand.proxmox.pve_stand_student:
    stand: netlab
    userid: student1@pve
    node: "{{ plan.plan.students[0].node }}"
    machines: "{{ plan.plan.students[0].machines }}"
    bridges: {lan: vmbr1000, dmz: vmbr1001}
  register: student
  no_log: true   # the result holds the password set in this run

- name: Everything of student1 is gone
  deploystand.proxmox.pve_stand_student:
    stand: netlab
    userid: student1@pve
    machines: [{name: student1-router, node: pve1}, {name: student1-host1, node: pve1}]
    state: absent
'''

RETURN = r'''
userid:
  description: The student.
  returned: always
  type: str
  sample: student1@pve
pool:
  description: The student's pool.
  returned: always
  type: str
  sample: netlab-student1
user_created:
  description: Whether the user was created in this run.
  returned: when the user part ran
  type: bool
password_set:
  description: Whether a password was set in this run.
  returned: when the user part ran
  type: bool
password:
  description: The password set in this run (only then). Register the result with no_log.
  returned: when a password was set
  type: str
expire:
  description: The user's C(expire) after the run (epoch seconds, C(0) = never); the report and status show it.
  returned: when O(expire) is given and the user part ran
  type: int
expire_managed:
  description: False when the user's expiry is not the stand's to set (the account existed before the stand).
  returned: when O(expire) is given and the user part ran
  type: bool
password_confirmed:
  description: With O(update_password=recover), the given password logged in as the student, so nothing was set.
  returned: when it happened
  type: bool
password_kept:
  description: With O(update_password=recover), why the password was left alone (a shared account, a token).
  returned: when it happened
  type: str
own_vms:
  description: With O(state=absent), the VMs the student made in its pool and what happened to each
    (C(action) V(removed), V(kept), or V(gone) when it was no longer in the pool).
  returned: with state=absent
  type: list
  elements: dict
  sample: [{vmid: 10050, name: my-test, node: pve1, action: removed}]
user_kept:
  description: Why the user was not deleted (another stand uses it, grants outside the stand, or its pool keeps VMs).
  returned: when state=absent kept a user the stand marked
  type: str
bridges:
  description: The student's private networks as given, network alias to bridge or VNet (O(bridges)).
  returned: always
  type: dict
students:
  description:
    - With O(students), each student's result (user id -> the keys a one-student run returns, plus C(failed) and
      C(msg) for a student that failed). Action C(deploystand.proxmox.stand_student_outcome) hands each to its
      student's host; register the run with no_log, as a result may hold a password.
  returned: when O(students) is given
  type: dict
failed_students:
  description: With O(students), the user ids whose run failed.
  returned: when O(students) is given
  type: list
  elements: str
networks:
  description:
    - With O(network_nodes), each node's part, node to C(applied) (bool), C(pending) (the changes found),
      C(foreign_pending) and, with O(state=absent), C(deleted) (bridges) and C(in_use) (bridges kept, with the
      guests using them); or to C(failed) and C(msg).
  returned: when O(network_nodes) is given
  type: dict
  sample: {"pve1": {"applied": true, "pending": [{"iface": "vmbr1001", "action": "added", "ours": true}], "foreign_pending": []}}
machines:
  description: One result per machine, as M(deploystand.proxmox.pve_stand_clone) returns it (EcoRouters with
    the NICs and status after pve_ecorouter_nic's part).
  returned: always
  type: list
  elements: dict
  sample: [{name: student1-router, vmid: 10000, node: pve1, created: true, changed: true, status: running}]
'''

import functools

from ansible_collections.deploystand.proxmox.plugins.module_utils.argspecs import (
    ACCOUNT_EXPIRY_OPTIONS, CLASS_OPTIONS, CLONE_OPTIONS, ECOROUTER_OPTIONS, NETWORK_APPLY_OPTIONS, PASSWORD_OPTIONS,
    ROLE_OPTIONS, VM_WAIT_OPTIONS, pieces, with_default,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.errors import RunFailed
from ansible_collections.deploystand.proxmox.plugins.module_utils.ops.bridges import NodeApplies
from ansible_collections.deploystand.proxmox.plugins.module_utils.ops.class_run import (
    merged, run_and_exit, student_params,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.module import PveModule
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.names import DEVICE_TYPES, pool_id
from ansible_collections.deploystand.proxmox.plugins.module_utils.ops.student import (
    StudentRun, StudentSpec, input_problems,
)

NETWORK_SPEC = dict(bridge=dict(type='str'), alias=dict(type='str'), link_down=dict(type='bool', default=False),
                    management=dict(type='bool', default=False))
MACHINE_SPEC = dict(
    name=dict(type='str', required=True), machine=dict(type='str'),
    device_type=with_default('device_type', type='str', choices=list(DEVICE_TYPES)),
    template=dict(type='str'), template_vmid=dict(type='int'), template_node=dict(type='str'),
    target=dict(type='str'), full=dict(type='bool', default=False), storage=dict(type='str'),
    format=dict(type='str'), vmid=dict(type='int'),
    preferred_vmid=dict(type='int'), node=dict(type='str'), start_order=dict(type='int', default=0),
    networks=dict(type='list', elements='dict', default=[], options=NETWORK_SPEC))
ARGSPEC = dict(
    stand=dict(type='str', required=True),
    userid=dict(type='str'),
    pool=dict(type='str'),
    node=dict(type='str'),
    machines=dict(type='list', elements='dict', default=[], options=MACHINE_SPEC),
    passwords=dict(type='dict', no_log=True),
    bridges=dict(type='dict', default={}),
    stale_bridges=dict(type='list', elements='str', default=[]),
    own_vms=dict(type='list', elements='dict', default=[], options=dict(
        vmid=dict(type='int', required=True), name=dict(type='str'), node=dict(type='str'))),
    student_vms=with_default('student_vms', type='str', choices=['remove', 'keep']),
    vmid_range=with_default('vmid_range', type='list', elements='int'),
    start=with_default('start', type='bool'),
    baseline=dict(type='dict', options=dict(snapshot=dict(type='str', default='baseline'),
                                            vmstate=dict(type='bool', default=False))),
    bridge_zone=dict(type='str'),
    state=with_default('state', type='str', choices=['present', 'absent']),
    network_nodes=dict(type='list', elements='str', default=[]),
    **pieces(ROLE_OPTIONS, ECOROUTER_OPTIONS, PASSWORD_OPTIONS, ACCOUNT_EXPIRY_OPTIONS, CLONE_OPTIONS, VM_WAIT_OPTIONS,
             CLASS_OPTIONS, NETWORK_APPLY_OPTIONS)
)
# what a `students` entry may give; every other option holds for the whole class
CLASS_STUDENT_OPTIONS = ('userid', 'pool', 'node', 'machines', 'bridges', 'stale_bridges', 'update_password',
                         'own_vms', 'bridge_zone')


def main():
    module = PveModule(argument_spec=ARGSPEC, supports_check_mode=True)
    p = module.params
    if p['students'] is not None:
        students = class_params(module)
        client = module.client()
        applies = deploy_applies(module, client)
        run_and_exit(module, students, functools.partial(StudentRun, network_ready=applies and applies.ready),
                     client=client, finish=lambda params, results: network_outcome(
                         module, client, applies, [student['userid'] for student in params], zip(params, results)))
    if not p['userid']:
        module.fail_json(msg='invalid input: give userid (one student) or students (a class)')
    problems = student_problems(p)
    if problems:
        module.fail_json(msg='invalid input: ' + '; '.join(problems), errors=problems)
    p['pool'] = p['pool'] or pool_id(p['stand'], p['userid'])
    client = module.client()
    applies = deploy_applies(module, client)
    run = StudentRun(client, p, check_mode=module.check_mode, warn=module.warn,
                     network_ready=applies and applies.ready)

    def converge():
        try:
            result = run.run()
        except RunFailed as exc:
            failed = dict(exc.result, failed=True, msg=exc.message)
            networks = network_outcome(module, client, applies, [p['userid']], [(p, failed)])   # may add to msg
            failed = merged(failed, networks)
            raise RunFailed(failed.pop('msg'), failed)
        return merged(result, network_outcome(module, client, applies, [p['userid']]))
    module.run(converge, partial=lambda: run.result)


def node_applies(module, client, remove_userids=None):
    """O(network_nodes)' network part (NodeApplies), each node's thread started now."""
    p = module.params
    return NodeApplies(client, p['stand'], p['network_nodes'], p['apply_foreign_pending'], p['apply_timeout'],
                       check_mode=module.check_mode, remove_userids=remove_userids)


def deploy_applies(module, client):
    """With O(state=present) and O(network_nodes): the nodes' staged network config, applied from now on while
    the machines clone; otherwise None."""
    p = module.params
    return node_applies(module, client) if p['state'] == 'present' and p['network_nodes'] else None


def network_outcome(module, client, applies, userids, failed=()):
    """RV(networks) and whether the nodes' part changed something, once every node is done; with O(state=absent)
    the part runs now, the students being done: their (`userids`) bridges go, then each node applies. With
    O(state=present) a failed student (of `failed`, (params, result) pairs) with machines on a node whose apply
    failed has that in its message too: its machines there could not have started even where something else
    failed first."""
    p = module.params
    if not p['network_nodes']:
        return {}
    networks = (applies or node_applies(module, client, list(userids))).finish(module.warn)
    for params, result in failed if p['state'] == 'present' else ():
        if not result.get('failed'):
            continue
        nodes = set(m.get('node') or params['node'] for m in params['machines']) | set(
            m['node'] for m in result.get('machines') or () if m.get('node'))
        for node in sorted(n for n in nodes if networks.get(n, {}).get('failed')):
            if 'node {0}'.format(node) not in result['msg']:
                result['msg'] = '{0}; network config of node {1} not applied: {2}'.format(
                    result['msg'], node, networks[node]['msg'])
    changed = any(n.get('applied') or n.get('deleted') for n in networks.values())
    return {'networks': networks, 'changed': changed}


def student_problems(p):
    problems = input_problems(StudentSpec.from_params(p))
    if p['state'] == 'present' and not p['node'] and any(not m['node'] for m in p['machines']):
        problems.append('node is needed to create machines (or give each machine its node)')
    return problems


def class_params(module):
    """Each student's parameter set of a class run, every one checked before anything is written; a student's
    password comes from O(passwords), so that none is in an entry (the module logs its entries)."""
    if module.params['password'] is not None:
        module.fail_json(msg='invalid input: with students, give the passwords in passwords, not password')
    students = student_params(module, CLASS_STUDENT_OPTIONS)
    passwords = module.params['passwords'] or {}
    unknown = sorted(set(passwords) - set(p['userid'] for p in students))
    if unknown:
        module.fail_json(msg='invalid input: passwords: {0} is not in students'.format(', '.join(unknown)))
    for index, p in enumerate(students):
        p['password'] = passwords.get(p['userid'])
        problems = student_problems(p)
        if problems:
            module.fail_json(msg='invalid input: students[{0}] ({1}): {2}'.format(index, p['userid'], '; '.join(problems)),
                             errors=problems)
    return students


if __name__ == '__main__':
    main()
