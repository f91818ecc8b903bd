# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One module run for a whole class: each student's run side by side in threads, each student's result
(or failure) kept apart.

Why: a day-2 playbook that starts one module process per student pays ~0.4 s of Python start and imports
and ~0.5 s of Ansible's per-host work for each of them; for 30 students that was 13 of the 16 s of a no-op
power run on 2 cores (benchmarks/README.md, "Day-2 lifecycle"). The day-2 modules therefore take the class
as `students` in one run on the controller, and the playbook hands each student host its own share with the
`stand_student_outcome` action (no process), so the recap and AWX's host events still name each student.

A student's failure is its own: it becomes that student's result (`failed`, `msg`), never the run's.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.deploystand.proxmox.plugins.module_utils.errors import RunFailed, StandError
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.client import PveApiError
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.names import pool_id

# The options a `students` entry may carry (the rest of the module's options hold for the whole class).
STUDENT_OPTIONS = ('userid', 'pool', 'node', 'machines', 'bridges')


def student_params(module, options=STUDENT_OPTIONS):
    """The parameter set of each student of this run: the module's own for one student, or one per entry of
    `students`, each checked against the module's own options for a student (a bad entry fails the run
    before anything is written, naming the entry). `options` are the keys an entry may give; a key an
    entry leaves out (or gives as null) keeps the module's value for the whole class."""
    p = module.params
    if p.get('students') is None:
        if not p.get('userid') or p.get('machines') is None:
            module.fail_json(msg='invalid input: give userid and machines (one student) or students (a class)')
        return [p]
    if p.get('userid') or p.get('machines'):
        module.fail_json(msg='invalid input: userid and machines are for one student; with students, give them '
                             'in each entry')
    if p['parallel'] < 1:
        module.fail_json(msg='invalid input: parallel must be at least 1')
    spec = dict((key, dict(module.argument_spec[key])) for key in options if key in module.argument_spec)
    for key in ('userid', 'machines'):
        spec[key]['required'] = True
        spec[key].pop('default', None)
    validator = ArgumentSpecValidator(spec)
    out, seen = [], set()
    for index, entry in enumerate(p['students']):
        given = dict((key, value) for key, value in entry.items() if value is not None)
        checked = validator.validate(given)
        if checked.error_messages:
            module.fail_json(msg='invalid input: students[{0}]: {1}'.format(index, checked.error_messages[0]))
        params = dict(p)
        params.update((key, value) for key, value in checked.validated_parameters.items() if key in given)
        if params['userid'] in seen:
            module.fail_json(msg='invalid input: students[{0}]: {1} is given twice'.format(index, params['userid']))
        seen.add(params['userid'])
        out.append(params)
    return out


def student_outcome(run, warnings, left_alone=None):
    """What one student's run came to: run.run()'s result, or the result so far with `failed` and `msg`
    (and, for an API error, its kind and task log). `warnings` is the list the run warns into;
    `left_alone(result)` names what the run did not touch (more warnings, for a run that finished)."""
    try:
        result = run.run()
    except RunFailed as exc:
        result = dict(exc.result or run.result, failed=True, msg=exc.message)
    except PveApiError as err:
        result = dict(run.result, failed=True, msg=err.message, error_kind=err.kind)
        if err.log:
            result['task_log'] = err.log
    except StandError as err:
        result = dict(run.result, failed=True, msg=str(err))
    if left_alone is not None and not result.get('failed'):
        warnings.extend(left_alone(result))
    result['warnings'] = list(warnings)
    result.setdefault('changed', False)
    return result


def run_class(params, one, parallel, client=None):
    """one(p) for every student's parameter set, at most `parallel` at a time; the results in order.
    `client` (shared by every thread) keeps as many connections open as machines may talk at once."""
    if client is not None:
        client.allow_parallel(max(10, sum(len(p['machines']) for p in params[:parallel])))
    out = [None] * len(params)
    cursor = {'next': 0}
    lock = threading.Lock()

    def worker():
        while True:
            with lock:
                index = cursor['next']
                cursor['next'] += 1
            if index >= len(params):
                return
            try:
                out[index] = one(params[index])
            except Exception as exc:  # pylint: disable=broad-except
                # one student's unexpected error must not lose the other students' results
                out[index] = {'changed': False, 'failed': True, 'warnings': [],
                              'msg': '{0}: unexpected error: {1!r}'.format(params[index]['userid'], exc)}
    threads = [threading.Thread(target=worker) for _index in range(min(parallel, len(params)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return out


def run_and_exit(module, students, run_kind, left_alone=None, client=None, finish=None):
    """The module's whole run: `run_kind(client, p, check_mode=, warn=)` for each student's parameter set
    (student_params), side by side on one client, then exit_with. The pool defaults to the stand's own.
    `finish(students, results)`, when given, returns more of the run's result once every student is done (a
    class-wide part), and may add to a student's failure."""
    client = client or module.client()

    def one(p):
        p['pool'] = p['pool'] or pool_id(p['stand'], p['userid'])
        warnings = []
        run = run_kind(client, p, check_mode=module.check_mode, warn=warnings.append)
        return student_outcome(run, warnings, left_alone)
    results = run_class(students, one, module.params['parallel'], client)
    exit_with(module, students, results, finish(students, results) if finish else None)


def merged(result, extra):
    """`result` with `extra` (a class-wide part's outcome) beside it, changed when either changed."""
    out = dict(result, **extra)
    out['changed'] = bool(result.get('changed') or extra.get('changed'))
    return out


def exit_with(module, params, results, extra=None):
    """Exit the module: as the one student's result (failing when it failed), or, for a class, with
    `students` (userid -> result) for `stand_student_outcome`, and `extra` beside. A class run fails only for the
    whole class."""
    extra = extra or {}
    for result in results:
        if not module._diff:
            result.pop('diff', None)
    if module.params.get('students') is None:
        result = merged(results[0], extra)
        for warning in result.pop('warnings'):
            module.warn(warning)
        if result.get('failed'):
            module.fail_json(**result)
        module.exit_json(**result)
    out = merged({'changed': any(r['changed'] for r in results)}, extra)
    out.update(students=dict((p['userid'], r) for p, r in zip(params, results)),
               failed_students=[p['userid'] for p, r in zip(params, results) if r.get('failed')])
    module.exit_json(**out)
