#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# The work is done by the action plugin of the same name (plugins/action/stand_report.py), on the controller.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: stand_report
short_description: The stand's credentials ledger and report, written on the controller in one step
version_added: 0.1.0
description:
  - An action plugin, run on the controller. The ledger C(<dir>/<stand>-credentials.json) is the source of truth,
    keyed by user id; C(.csv), C(.md) and C(.html) are rendered from it each time, every file mode 0600 and written
    atomically, the directory made with mode 0700 when missing. A password the ledger once held is never lost.
  - O(step=ahead), before the students are deployed - every password the run hands to PVE is written first, with
    status C(pending) - a given one, one the ledger holds, or a new generated one for a user the stand will create
    or a user the stand made whose password no report holds. Returns RV(handover) for M(deploystand.proxmox.pve_stand_student)
    (C(update_password=recover) for a pending password).
  - O(step=final), after the students - the outcome of each student of O(scope) (its result in O(results), or
    else its C(stand_student_summary) host variable) is merged; in O(mode=deploy) every other student of the ledger is kept and marked C(not in this run),
    in O(mode=destroy) the removed accounts are marked C(destroyed) (or C(stand removed, account kept)).
  - Each format escapes its special characters (Markdown cells and code spans, CSV quoting, HTML entities, JSON).
  - The C(.html) is the handout to print - one card per student (one sheet each when printed) with the user, the
    password, node, pool, status, machines and bridges, the Proxmox VE web address (O(web_url)) and a small
    picture of the student's network (router, hosts, private networks) drawn from the plan.
  - The files are this run's output, not cluster state, so the task never reports a change. In check mode
    nothing is written.
  - A ledger that is not valid JSON is refused, never overwritten. A report of an earlier version (only the CSV)
    is read from its CSV once.
options:
  step:
    description: V(ahead) records the passwords before PVE gets them; V(final) merges the run and writes the report.
    type: str
    choices: [ahead, final]
    default: final
  stand:
    description: The stand name.
    type: str
    required: true
  dir:
    description: The report directory.
    type: path
    required: true
  students:
    description:
      - The plan's entries of the students of this run (userid, password, user_exists, user_owned, node, pool, machines).
      - With O(step=ahead), the passwords to record. With O(step=final), the machines and their networks, kept in
        the ledger for the picture of each student's network on the handout (a student not given keeps the
        ledger's).
    type: list
    elements: dict
  update_password:
    description: With O(step=ahead), the students' update_password; V(always) hands over new generated passwords.
    type: str
    choices: [on_create, always, recover]
    default: on_create
  password_length:
    description: Length of a generated password.
    type: int
    default: 20
  mode:
    description: With O(step=final), V(deploy) or V(destroy). A destroy writes only where a report of the stand exists.
    type: str
    choices: [deploy, destroy]
    default: deploy
  scope:
    description: With O(step=final), the students of this run (inventory host names = user ids).
    type: list
    elements: str
  not_in_list:
    description: Students of the stand on the cluster that this class list leaves out; kept, marked C(not in this run).
    type: list
    elements: str
  expires:
    description: The stand's expiry, for the C(expires) column (empty when not set).
    type: str
  results:
    description:
      - With O(step=final), the class run's results, user id to result (the RV(deploystand.proxmox.pve_stand_student#module:students)
        of M(deploystand.proxmox.pve_stand_student) run with its O(deploystand.proxmox.pve_stand_student#module:students));
        a student of O(scope) without one did not get that far, and its row stays as it was.
      - Without it, each student host's C(stand_student_summary) (role C(stand_student)) is read.
    type: dict
  write:
    description: Write the files (V(false) only computes the result).
    type: bool
    default: true
  web_url:
    description:
      - The Proxmox VE web address on every card of the handout (C(.html)).
      - Default C(https://<PROXMOX_HOST>:<PROXMOX_PORT>/), the cluster the modules connect to (port 8006 when
        E(PROXMOX_PORT) is not set); no address when E(PROXMOX_HOST) is not set either.
    type: str
    default: ""
extends_documentation_fragment:
  - deploystand.proxmox.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
author:
  - deploystand.proxmox contributors (@deploystand)
'''

EXAMPLES = r'''
- name: Passwords are on disk before PVE gets them
  deploystand.proxmox.stand_report:
    step: ahead
    stand: netlab
    dir: "{{ playbook_dir }}/reports"
    students: "{{ plan.plan.students }}"
  register: ahead
  no_log: true

- name: Credentials report is written
  deploystand.proxmox.stand_report:
    step: final
    stand: netlab
    dir: "{{ playbook_dir }}/reports"
    mode: deploy
    scope: "{{ groups['deploystand_students'] }}"
  register: report
  no_log: true
'''

RETURN = r'''
handover:
  description: With O(step=ahead), per user id the C(password) to hand to PVE (null - none) and the C(update_password).
  returned: step=ahead
  type: dict
notes:
  description: With O(step=ahead), the accounts that get a new password and why (no password in them).
  returned: step=ahead
  type: list
  elements: str
summary:
  description: With O(step=final), the summary table lines (student, node, changed, VMs, bridges), never a password.
  returned: step=final
  type: list
  elements: str
counts:
  description: With O(step=final), the number of ledger rows per status.
  returned: step=final
  type: dict
counts_text:
  description: RV(counts) as one line, statuses with no row left out.
  returned: step=final
  type: str
artifact:
  description: With O(step=final), the ledger as data (the JSON file's content) for the AWX job artifact.
  returned: step=final
  type: dict
paths:
  description: The files written.
  returned: success
  type: list
  elements: str
written:
  description: Whether the files were written (not in check mode, not for a destroy without a report).
  returned: success
  type: bool
'''
