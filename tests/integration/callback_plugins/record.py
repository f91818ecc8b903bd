# -*- coding: utf-8 -*-
"""Test-only callback: writes every task result and the final stats as JSON lines to $RECORD_FILE."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = '''
name: record
type: aggregate
short_description: write task results as JSON lines (tests only)
description: Writes one JSON line per task result and one with the play recap to the file in RECORD_FILE.
'''


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'record'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super(CallbackModule, self).__init__()
        self._path = os.environ.get('RECORD_FILE')

    def _write(self, entry):
        if self._path:
            with open(self._path, 'a') as out:
                out.write(json.dumps(entry, default=str) + '\n')

    def _result(self, result, status):
        self._write({'type': 'task', 'status': status, 'host': result._host.get_name(),
                     'task': result._task.get_name(), 'action': result._task.action,
                     'result': self._clean(result._result)})

    @staticmethod
    def _clean(data):
        try:
            return json.loads(json.dumps(data, default=str))
        except (TypeError, ValueError):
            return {'unserialisable': str(data)}

    def v2_runner_on_ok(self, result):
        self._result(result, 'ok')

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._result(result, 'ignored' if ignore_errors else 'failed')

    def v2_runner_on_skipped(self, result):
        self._result(result, 'skipped')

    def v2_runner_on_unreachable(self, result):
        self._result(result, 'unreachable')

    def v2_playbook_on_stats(self, stats):
        hosts = sorted(stats.processed.keys())
        self._write({'type': 'stats', 'hosts': dict((h, stats.summarize(h)) for h in hosts)})
