# -*- coding: utf-8 -*-
"""Benchmark-only callback: counts module runs per host and times every task; writes JSON to $BENCH_STATS_FILE."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = '''
name: bench_stats
type: aggregate
short_description: module runs per host and task timings (benchmarks only)
description:
  - Counts the module runs (a task or loop item that starts a module process; skipped items and
    controller-only actions such as set_fact, debug, add_host, meta, include_tasks and fail do not count)
    per host and per action, and the wall time of every task, and writes them as JSON to BENCH_STATS_FILE.
'''

# Actions that run in the controller process and start no module.
CONTROLLER_ONLY = frozenset((
    'set_fact', 'debug', 'add_host', 'group_by', 'meta', 'include_tasks', 'import_tasks', 'include_role',
    'import_role', 'include_vars', 'fail', 'assert', 'pause', 'set_stats', 'noop', 'validate_argument_spec'))


def _short(action):
    return action.rsplit('.', 1)[-1]


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'bench_stats'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super(CallbackModule, self).__init__()
        self._path = os.environ.get('BENCH_STATS_FILE')
        self.module_runs = {}      # host -> count
        self.by_action = {}        # action -> count
        self.failed = []           # (host, task, msg)
        self.tasks = []            # [name, play, started, ended]
        self._current = None
        self._play = None

    def _close_task(self):
        if self._current is not None:
            self._current[3] = time.time()
            self._current = None

    def v2_playbook_on_play_start(self, play):
        self._close_task()
        self._play = play.get_name()

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._close_task()
        self._current = [task.get_name(), self._play, time.time(), None]
        self.tasks.append(self._current)

    def v2_playbook_on_handler_task_start(self, task):
        self.v2_playbook_on_task_start(task, False)

    def _count(self, result):
        action = _short(result._task.action)
        if action in CONTROLLER_ONLY:
            return
        data = result._result
        if isinstance(data.get('results'), list):
            runs = sum(1 for item in data['results'] if isinstance(item, dict) and not item.get('skipped'))
        else:
            runs = 0 if data.get('skipped') else 1
        host = result._host.get_name()
        self.module_runs[host] = self.module_runs.get(host, 0) + runs
        self.by_action[action] = self.by_action.get(action, 0) + runs

    def v2_runner_on_ok(self, result):
        self._count(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._count(result)
        if not ignore_errors:
            self.failed.append((result._host.get_name(), result._task.get_name(), str(result._result.get('msg'))[:300]))

    def v2_runner_on_skipped(self, result):
        self._count(result)

    def v2_runner_on_unreachable(self, result):
        self.failed.append((result._host.get_name(), result._task.get_name(), 'unreachable'))

    def v2_playbook_on_stats(self, stats):
        self._close_task()
        if not self._path:
            return
        recap = dict((h, stats.summarize(h)) for h in sorted(stats.processed))
        with open(self._path, 'w') as out:
            json.dump({'module_runs': self.module_runs, 'by_action': self.by_action, 'failed': self.failed,
                       'tasks': self.tasks, 'recap': recap}, out)
