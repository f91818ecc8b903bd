#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: pve_stand_status
short_description: The status of a stand's class - power, addresses, snapshots and drift - with its report files
version_added: 0.1.0
description:
  - For the stand and the class it is given (the deploy's inputs), shows per student the node, and per machine
    the VM, its power state, uptime, memory, guest agent addresses and snapshots, and the drift against the
    stand - a machine with no VM, an extra VM in the student's pool, a NIC on a bridge that is not the one the
    stand gives it, a machine on another node than the student's (docs/status.md).
  - One module run for the whole class. The cluster is read once (resources, pools, users, each online node's
    bridges), then per stand VM its config and snapshot list and, for a running VM, its guest agent's
    addresses, side by side in O(agent_workers) threads. An agent that is not running means "no address", not a
    failure.
  - Renders the terminal table and, with O(report_dir), writes C(<stand>-status.csv), C(.json) and C(.html) there
    in one step (files 0600; the directory made 0700 when missing). The HTML page has one card per student
    (green or red), the Proxmox VE web address and a picture of the student's network, and prints readably.
  - Reads only. In check mode nothing is written (the files are not made) and the status is still read.
  - The stand and the class are checked with the deploy's own rules; a bad one, or a O(limit) name that is not
    in the class, fails with every problem before anything is read. The templates need not exist.
extends_documentation_fragment:
  - deploystand.proxmox.auth
  - deploystand.proxmox.attributes
attributes:
  check_mode:
    support: full
    details: It reads only; in check mode it writes no report file either.
  diff_mode:
    support: none
    details: It changes nothing; the result has no before and after.
options:
  stand:
    description:
      - The stand definition, as for the deploy (docs/stand-model.md).
    type: dict
    required: true
  users:
    description:
      - The class list, as for the deploy (C(name@realm) strings or mappings with C(name), optional C(password),
        C(node)). Passwords are not read or returned.
    type: raw
    required: true
  limit:
    description:
      - Only these students of the class (userids). Empty takes the whole class.
    type: list
    elements: str
    default: []
  addresses:
    description:
      - Ask the guest agent of every running stand VM for its addresses (C(agent/network-get-interfaces)), once
        per VM, never retried. Needs C(VM.GuestAgent.Audit) (PVE 9) or C(VM.Monitor) (PVE 8) on the VMs.
    type: bool
    default: true
  address_interface:
    description:
      - Take a VM's main address only from guest interfaces of this name or glob (V(eth0), V(ens*)).
    type: str
  address_networks:
    description:
      - Take only a main address inside one of these networks (CIDR). Every address is listed anyway.
    type: list
    elements: str
    default: []
  address_family:
    description:
      - The family of the main address.
    type: str
    choices: [ipv4, ipv6, any]
    default: ipv4
  agent_workers:
    description:
      - How many per-VM reads (config, snapshots, agent) run at the same time.
    type: int
    default: 8
  report_dir:
    description:
      - Write C(<stand>-status.csv), C(<stand>-status.json) and C(<stand>-status.html) in this directory. No file
        when not given, and none in check mode.
    type: path
  web_url:
    description:
      - The Proxmox VE web address each card shows. Default C(https://<api_host>:<api_port>/).
    type: str
author:
  - deploystand.proxmox contributors (@deploystand)
'''

EXAMPLES = r'''
- name: Status of the class, with its report files
  deploystand.proxmox.pve_stand_status:
    stand: "{{ stand }}"
    users: "{{ users }}"
    report_dir: ./reports
  register: status

- name: Only student3, no guest agent calls
  deploystand.proxmox.pve_stand_status:
    stand: "{{ stand }}"
    users: "{{ users }}"
    limit: [student3@pve]
    addresses: false
'''

RETURN = r'''
status:
  description: The class status (every field in docs/status.md).
  returned: success
  type: dict
  contains:
    stand:
      description: The stand's name.
      type: str
    students:
      description:
        - One entry per student of the class (or of O(limit)), in class order - userid, pool, node, deployed, ok,
          machines (machine, name, vmid, node, status, uptime, memory, addresses, address, agent, snapshots, nics),
          extra_vms, bridges, drift (kind V(missing), V(extra), V(nic) or V(node), machine, vmid, message) and
          problems.
      type: list
      elements: dict
    summary:
      description: Counts - students, ok, machines, running, missing, drift, drift_by_kind.
      type: dict
    networks:
      description: The stand's network picture as data (machines and the networks their NICs join).
      type: list
      elements: dict
    unseen:
      description: What could not be read (offline nodes, refused agent calls, VMs gone while reading).
      type: list
      elements: str
table:
  description: The terminal table, one line per machine, at most 100 columns.
  returned: success
  type: list
  elements: str
files:
  description: The report files written (none in check mode or without O(report_dir)).
  returned: success
  type: list
  elements: str
web_url:
  description: The Proxmox VE web address the cards show.
  returned: success
  type: str
'''

import time

from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.client import PveApiError, pve_web_url
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.module import PveModule
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.info import (
    ADDRESS_FAMILIES, filter_problems,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.ops.stand_reader import (
    DEFAULT_AGENT_WORKERS,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.ops.status_reader import (
    StatusInputError, read_status,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.status_report import (
    render, status_table, write_reports,
)

ARGSPEC = dict(
    stand=dict(type='dict', required=True),
    users=dict(type='raw', required=True, no_log=False),
    limit=dict(type='list', elements='str', default=[]),
    addresses=dict(type='bool', default=True),
    address_interface=dict(type='str'),
    address_networks=dict(type='list', elements='str', default=[]),
    address_family=dict(type='str', default='ipv4', choices=list(ADDRESS_FAMILIES)),
    agent_workers=dict(type='int', default=DEFAULT_AGENT_WORKERS),
    report_dir=dict(type='path'),
    web_url=dict(type='str'),
)


def main():
    module = PveModule(argument_spec=ARGSPEC, supports_check_mode=True)
    p = module.params
    problems = filter_problems(students=p['limit'], networks=p['address_networks'], family=p['address_family'],
                               workers=p['agent_workers'])
    problems = [x.replace('students[', 'limit[', 1) for x in problems]
    if problems:
        module.fail_json(msg='; '.join(problems), problems=problems)
    try:
        status = read_status(module.client(), p['stand'], p['users'], limit=p['limit'], addresses=p['addresses'],
                             workers=p['agent_workers'], interface=p['address_interface'],
                             networks=p['address_networks'], family=p['address_family'])
    except StatusInputError as err:
        module.fail_json(msg='the status cannot be read ({0} problem{1}; nothing was read):\n{2}'.format(
            len(err.problems), '' if len(err.problems) == 1 else 's', '\n'.join('- ' + x for x in err.problems)),
            problems=err.problems)
    except PveApiError as err:
        module.fail_api(err)
    for line in status['unseen']:
        module.warn(line)
    web_url = p['web_url'] or pve_web_url(p['api_host'], p['api_port'])
    files = []
    if p['report_dir'] and not module.check_mode:
        contents = render(status, web_url=web_url, generated=time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()))
        try:
            files = write_reports(p['report_dir'], status['stand'], contents)
        except (IOError, OSError) as err:
            module.fail_json(msg='the status report cannot be written to {0}: {1}'.format(p['report_dir'], err))
    # the report is this run's output, not cluster state: writing it is no change
    module.exit_json(changed=False, status=status, table=status_table(status), files=files, web_url=web_url)


if __name__ == '__main__':
    main()
