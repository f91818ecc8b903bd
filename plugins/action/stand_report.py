# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin deploystand.proxmox.stand_report: the credentials ledger and report, on the controller.

step=ahead (before the students are deployed): every password this run hands to PVE is written to the
ledger first (status pending), so a run killed after PVE got it still has it on disk.
step=final (after the students): this run's outcome is merged into the ledger and every format (json,
csv, md, html) is rendered from it in one step. The logic is in module_utils/report.py.
The handout (html) shows the Proxmox VE web address: web_url, else the one of the connection the modules
use (PROXMOX_HOST and PROXMOX_PORT, on the controller as the modules run there)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.plugins.action import ActionBase

from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.client import pve_web_url

from ansible_collections.deploystand.proxmox.plugins.module_utils.stand import report as R
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.passwords import generate_password
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.input_shape import plain


ARGSPEC = dict(
    step=dict(type='str', choices=['ahead', 'final'], default='final'),
    stand=dict(type='str', required=True),
    dir=dict(type='path', required=True),
    students=dict(type='list', elements='dict', default=[], no_log=True),
    update_password=dict(type='str', choices=['on_create', 'always', 'recover'], default='on_create', no_log=False),
    password_length=dict(type='int', default=20, no_log=False),
    mode=dict(type='str', choices=['deploy', 'destroy'], default='deploy'),
    scope=dict(type='list', elements='str', default=[]),
    not_in_list=dict(type='list', elements='str', default=[]),
    expires=dict(type='str', default=''),
    write=dict(type='bool', default=True),
    web_url=dict(type='str', default=''),
    results=dict(type='dict', no_log=True),
)


def connection_web_url():
    """The web address of the cluster the modules talk to: their api_host/api_port come from the
    environment (module_utils/pve/module.py), the same on the controller; None when it is not set."""
    return pve_web_url(os.environ.get('PROXMOX_HOST'), os.environ.get('PROXMOX_PORT'))


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(ARGSPEC)

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        _validated, args = self.validate_argument_spec(argument_spec=ARGSPEC)
        stand, directory = args['stand'], args['dir']
        check = bool(self._task.check_mode)
        write = args['write'] and not check
        if args.get('step') != 'ahead' and args.get('mode') == 'destroy' and not R.exists(directory, stand):
            write = False       # no report of this stand here: no password to keep, nothing to mark
        try:
            ledger = R.read_ledger(directory, stand)
            if args.get('step') == 'ahead':
                length = args['password_length']
                ledger, handover, notes = R.write_ahead(
                    ledger, plain(args.get('students') or []), lambda: generate_password(length),
                    update_password=args.get('update_password') or 'on_create')
                result.update(handover=handover, notes=notes)
            else:
                scope = args.get('scope') or []
                if args.get('results') is None:
                    summaries = self._summaries(task_vars or {}, scope)
                else:
                    summaries = self._class_summaries(args['mode'] or 'deploy', plain(args['results']), scope,
                                                      plain(args.get('students') or []))
                ledger = R.merge_run(ledger, args.get('mode') or 'deploy', summaries,
                                     [str(u) for u in args.get('scope') or []],
                                     not_in_list=[str(u) for u in args.get('not_in_list') or []],
                                     expires=args.get('expires') or '',
                                     networks=R.networks_of(plain(args.get('students') or [])))
                result.update(summary=R.summary_lines([summaries[u] for u in summaries]),
                              counts=R.counts(ledger), artifact=R.artifact(ledger),
                              counts_text=', '.join('{0}: {1}'.format(k, v) for k, v in R.counts(ledger).items() if v))
            web_url = args.get('web_url') or connection_web_url()
            paths = R.write_all(directory, ledger, web_url=web_url) if write else []
        except (R.ReportError, OSError, ValueError) as err:
            result.update(failed=True, msg='credentials report {0}: {1}'.format(
                R.path_of(directory, stand, 'json'), err))
            return result
        # the files are this run's output, not cluster state: a re-run reports changed=0
        result.update(changed=False, paths=paths, written=bool(paths))
        return result

    @staticmethod
    def _class_summaries(mode, results, scope, plan_students):
        """{userid: summary} of the students of this run from a class run's results (pve_stand_student with
        students: userid -> result), each with the password the module set itself when it did."""
        plan = dict((s.get('userid'), s) for s in plan_students)
        out = {}
        for userid in scope:
            result = results.get(str(userid))
            if result is None:
                continue
            out[str(userid)] = R.with_set_password(R.student_summary(mode, plan.get(str(userid)) or {}, result),
                                                   result)
        return out

    @staticmethod
    def _summaries(task_vars, scope):
        """{userid: stand_student_summary} of the students of this run that have one, read once per host,
        with the password the module set itself when it did (update_password=always without a handover)."""
        hostvars = task_vars.get('hostvars') or {}
        # What set_fact and register left on each host are its non-persistent facts: read there directly,
        # because hostvars[host] computes every variable of the host (about 30 ms each: 9 s for 300
        # students); hostvars is the fallback when that cache is not there (another ansible-core).
        cache = getattr(getattr(hostvars, '_variable_manager', None), '_nonpersistent_fact_cache', None)
        out = {}
        for host in scope:
            facts = cache.get(host) if hasattr(cache, 'get') else None
            if not facts or 'stand_student_summary' not in facts:
                try:
                    facts = hostvars[host]
                except KeyError:
                    continue
            summary = facts.get('stand_student_summary')
            if not summary:
                continue
            outcome = facts.get('stand_student_result') or {}
            summary = R.with_set_password(plain(dict(summary)), {'password': plain(outcome.get('password'))})
            out[str(summary.get('userid') or host)] = summary
        return out
