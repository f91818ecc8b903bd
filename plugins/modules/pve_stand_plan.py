#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: pve_stand_plan
short_description: Validate a stand and a class list against the cluster and plan the deployment
version_added: 0.1.0
description:
  - Reads the cluster once (resources, node bridges, users, pools and the configs of the named
    templates), validates the whole input, and returns the plan every later step follows - which node
    each student's stand goes to, the template each machine clones from, the private bridges each node
    needs, and preferred VMIDs for the VMs that do not exist yet.
  - Validation collects every problem and fails with one message listing them all; nothing is created.
  - For any caller but C(root@pam) it also checks, before anything is written, that the caller holds every
    privilege this run needs (C(GET /access/permissions); docs/permissions.md has the table), and names each
    missing privilege with the paths it is missing on.
  - It also refuses a class that does not fit in the nodes' free memory (see C(stand.memory_overcommit)) and a
    full clone to a storage that cannot take it.
  - Read-only, so it runs the same in check mode. It waits for clones still in progress in the stand's VMID
    range (see O(clone_wait)).
extends_documentation_fragment:
  - deploystand.proxmox.auth
  - deploystand.proxmox.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
    details: It only reads; the result has no before and after.
options:
  stand:
    description:
      - The stand definition (name, machines, networks, clone type, ranges, start). See docs/stand-model.md.
    type: dict
    required: true
  users:
    description:
      - The class list, in the seed tool's format - C(name@realm) strings, or mappings with C(name),
        optional C(password) and optional C(node) pin.
      - Any other type is reported with the other input problems (not coerced into a list).
    type: raw
    required: true
  purpose:
    description:
      - V(deploy) validates everything a deployment needs and plans it.
      - V(destroy) checks only the names, then lists what the stand owns for these students - their VMs
        (by pool, name and stand tag), pools, users and the nodes carrying their marked bridges - so that a
        template removed since the deployment does not block the clean-up.
      - V(power) and V(snapshot) (playbooks C(stand_power.yml), C(stand_snapshot.yml)) plan from what the stand
        owns, as V(destroy) does, each machine with its C(start_order), and check the privileges of that run.
      - V(reset) (C(stand_reset.yml)) plans as V(deploy) does, without the memory check (a reset creates nothing
        that did not run before), and refuses students that have no stand yet or whose private bridges are gone.
        See docs/lifecycle.md.
    type: str
    choices: [deploy, destroy, power, snapshot, reset]
    default: deploy
  clone_wait:
    description:
      - Seconds to wait, for all of them together, for clones in progress in the stand's VMID range before
        planning. PVE shows a VM being cloned without its name, notes or pool until the clone task ends, so a
        clone an interrupted run left running can only be told apart (and adopted, or destroyed) once it has
        finished.
      - The module fails naming the VM when a clone is still running after this time.
    type: int
    default: 600
author:
  - deploystand.proxmox contributors (@deploystand)
'''

EXAMPLES = r'''
- name: Plan the stand
  deploystand.proxmox.pve_stand_plan:
    stand: "{{ stand }}"
    users: "{{ users }}"
  register: plan

- name: Show where each student goes
  ansible.builtin.debug:
    msg: "{{ plan.plan.students | map(attribute='node') | list }}"
'''

RETURN = r'''
plan:
  description: The deployment plan (see docs/stand-model.md for every field).
  returned: success
  type: dict
  contains:
    stand:
      description: Stand name.
      type: str
    students:
      description: One entry per student, with node, pool, bridges and machines.
      type: list
      elements: dict
    nodes:
      description: Private bridges each node needs, by node name.
      type: dict
    foreign:
      description: Objects that look like the stand's but carry no marker; they are never touched.
      type: list
      elements: str
    foreign_summary:
      description:
        - The RV(plan.foreign) list as it is shown in the warnings - an administrator's objects one line
          each, the VMs in the VMID range in one line, and one line per other stand with counts.
      type: list
      elements: str
    skipped:
      description:
        - Students that get nothing in this run (no user, bridges or VMs) because a pool the stand did not
          make holds their pool id, each with C(userid), C(pool), C(comment), C(reason) and C(message).
      type: list
      elements: dict
    class_changes:
      description:
        - C(added) lists the students of this list without a pool of the stand yet; C(not_in_list) the
          students of the stand on the cluster (found by the pool marker) that this list leaves out.
          Those are kept, not destroyed.
      type: dict
    warnings:
      description: What the plan tells before any write (placement kept, class changes, skipped students).
      type: list
      elements: str
    ha_found:
      description:
        - O(purpose=deploy) and O(purpose=destroy) only. Whether the cluster holds an HA resource with a marker of
          this stand, or an HA rule (PVE 9) or group (PVE 8) named like the stand's placements. Without one, and
          with no machine asking for HA, the playbooks skip their HA step. False for an identity that cannot
          read the HA configuration (it cannot have made any).
      type: bool
web_url:
  description:
    - The Proxmox VE web address of the cluster this run talks to (O(api_host), O(api_port)), for the reports' cards.
  returned: success
  type: str
  sample: https://pve1.example.org:8006/
'''

from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.cluster import (
    exact_permissions, read_cluster,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.client import PveApiError, pve_web_url
from ansible_collections.deploystand.proxmox.plugins.module_utils.argspecs import with_default
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.module import PveModule
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.checks import clones_in_flight
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.plan import (
    build_plan, privilege_paths_to_verify,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.removal import plan_removal
from ansible_collections.deploystand.proxmox.plugins.module_utils.ops.ha import StandHa
from ansible_collections.deploystand.proxmox.plugins.module_utils.ops.vm import Vms, wait_for_clones
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.lifecycle_plan import (
    PURPOSES, lifecycle_paths_to_verify, plan_lifecycle,
)


def _templates_named(stand):
    machines = stand.get('machines') if isinstance(stand, dict) else None
    names, vmids = set(), set()
    for machine in machines if isinstance(machines, list) else []:
        if isinstance(machine, dict):
            if isinstance(machine.get('template'), str):
                names.add(machine['template'])
            if str(machine.get('template_vmid', '')).isdigit():
                vmids.add(int(machine['template_vmid']))
    return names, vmids


def _replan_with_exact_permissions(module, client, cluster):
    """The preflight judged some paths by inheritance from the permissions dump: before it refuses, ask
    PVE for exactly those paths (GET /access/permissions?path=...) and plan again with the answers."""
    stand, users = module.params['stand'], module.params['users']
    paths = privilege_paths_to_verify(stand, users, cluster)
    if paths:
        try:
            cluster['permissions'].update(exact_permissions(client, paths))
        except PveApiError as err:
            module.fail_api(err)
    return build_plan(stand, users, cluster)


VERBS = {'deploy': 'deployed', 'destroy': 'removed', 'power': 'powered', 'snapshot': 'snapshotted',
         'reset': 'reset'}


def _lifecycle_plan(module, client, cluster):
    """plan_lifecycle, asking PVE for the paths a refusal judged by inheritance before refusing."""
    args = (module.params['purpose'], module.params['stand'], module.params['users'])
    plan, errors = plan_lifecycle(*(args + (cluster,)))
    if errors:
        paths = lifecycle_paths_to_verify(*(args + (cluster,)))
        if paths:
            try:
                cluster['permissions'].update(exact_permissions(client, paths))
            except PveApiError as err:
                module.fail_api(err)
            plan, errors = plan_lifecycle(*(args + (cluster,)))
    return plan, errors


def main():
    module = PveModule(argument_spec=dict(stand=dict(type='dict', required=True),
                                          users=dict(type='raw', required=True, no_log=False),
                                          purpose=with_default('purpose', type='str', choices=['deploy', 'destroy'] + list(PURPOSES)),
                                          clone_wait=with_default('clone_wait', type='int')),
                       supports_check_mode=True)
    client = module.client()
    names, vmids = _templates_named(module.params['stand'])
    try:
        cluster = read_cluster(client, names, vmids)
        waiting = clones_in_flight(module.params['stand'], cluster)
        if waiting:
            # An interrupted run's clones are nameless until their disks are done (qemu-server clone_vm): only
            # then can the run adopt them instead of cloning again (or destroy them).
            module.warn('waiting for {0} clone(s) in progress in the VMID range to finish: {1}'.format(
                len(waiting), ', '.join(str(v) for v in waiting)))
            wait_for_clones(Vms(client), waiting, cluster['vms'], module.params['clone_wait'])
            cluster = read_cluster(client, names, vmids)
    except PveApiError as err:
        module.fail_api(err)
    purpose = module.params['purpose']
    if purpose in PURPOSES:
        plan, errors = _lifecycle_plan(module, client, cluster)
    else:
        planner = build_plan if purpose == 'deploy' else plan_removal
        plan, errors = planner(module.params['stand'], module.params['users'], cluster)
        if errors and planner is build_plan:
            plan, errors = _replan_with_exact_permissions(module, client, cluster)
    if errors:
        module.fail_json(msg='the stand cannot be {0} as described ({1} problem{2}; nothing was changed):\n'
                             '{3}'.format(VERBS[purpose],
                                          len(errors), '' if len(errors) == 1 else 's',
                                          '\n'.join('- ' + e for e in errors)),
                         problems=errors)
    if purpose in ('deploy', 'destroy'):
        try:
            # the playbooks skip their HA step when this is false and no machine asks for HA
            plan['ha_found'] = StandHa(client, {'stand': plan['stand']}).has_objects()
        except PveApiError as err:
            module.fail_api(err)
    # one line per other stand and one for the VMID range (issue 13): the full list is plan.foreign
    for line in plan.get('foreign_summary', []):
        module.warn('left alone (not made by this stand): ' + line)
    for line in plan.get('warnings', []):
        module.warn(line)
    module.exit_json(changed=False, plan=plan,
                     web_url=pve_web_url(module.params['api_host'], module.params['api_port']))


if __name__ == '__main__':
    main()
