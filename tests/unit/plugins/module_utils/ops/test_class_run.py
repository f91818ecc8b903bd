"""A class in one module run (ops/class_run.py): each student checked, run and reported on its own."""
import threading
import time

import pytest

from ansible_collections.deploystand.proxmox.plugins.module_utils.errors import RunFailed, StandError
from ansible_collections.deploystand.proxmox.plugins.module_utils.ops import class_run as C
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.client import TASK_FAILED, PveApiError

SPEC = dict(
    stand=dict(type='str', required=True),
    userid=dict(type='str'),
    pool=dict(type='str'),
    machines=dict(type='list', elements='dict', options=dict(name=dict(type='str', required=True),
                                                             start_order=dict(type='int', default=0))),
    students=dict(type='list', elements='dict'),
    parallel=dict(type='int', default=30),
)


class Exited(Exception):
    pass


class FakeModule(object):
    def __init__(self, diff=False, **params):
        self.argument_spec = SPEC
        self.params = dict(dict((key, spec.get('default')) for key, spec in SPEC.items()), **params)
        self._diff = diff
        self.warnings = []
        self.exit = None

    def fail_json(self, **result):
        self.exit = dict(result, failed=True)
        raise Exited()

    def exit_json(self, **result):
        self.exit = result
        raise Exited()

    def warn(self, message):
        self.warnings.append(message)


def checked(module):
    try:
        return C.student_params(module)
    except Exited:
        return module.exit['msg']


class Run(object):
    def __init__(self, outcome):
        self.outcome = outcome
        self.result = {'changed': False, 'machines': []}

    def run(self):
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome


def test_each_entry_of_the_class_is_checked_against_the_modules_own_options_and_defaulted():
    module = FakeModule(stand='netlab', students=[{'userid': 's1@pve', 'machines': [{'name': 's1-router'}]},
                                                  {'userid': 's2@pve', 'pool': 'p2', 'machines': []}])
    first, second = checked(module)
    assert first['machines'] == [{'name': 's1-router', 'start_order': 0}] and first['stand'] == 'netlab'
    assert (first['pool'], second['pool'], second['userid']) == (None, 'p2', 's2@pve')


def test_an_option_an_entry_leaves_out_or_gives_as_null_keeps_the_modules_value_for_the_class():
    module = FakeModule(stand='netlab', pool='shared-pool', students=[
        {'userid': 's1@pve', 'machines': []}, {'userid': 's2@pve', 'pool': None, 'machines': []},
        {'userid': 's3@pve', 'pool': 'own-pool', 'machines': []}])
    assert [p['pool'] for p in checked(module)] == ['shared-pool', 'shared-pool', 'own-pool']


def test_a_student_failing_on_a_refusal_of_the_stand_logic_is_that_students_result():
    result = C.student_outcome(Run(StandError('no bridge for network lan')), [])
    assert result['failed'] and result['msg'] == 'no bridge for network lan' and result['machines'] == []


@pytest.mark.parametrize('students, message', [
    ([{'userid': 's1@pve'}], 'students[0]: missing required arguments: machines'),
    ([{'userid': 's1@pve', 'machines': [], 'state': 'started'}], 'students[0]: '),
    ([{'userid': 's1@pve', 'machines': []}, {'userid': 's1@pve', 'machines': []}], 'students[1]: s1@pve is given twice'),
    ([{'userid': 's1@pve', 'machines': [{'start_order': 1}]}], 'students[0]: '),
])
def test_a_bad_entry_fails_the_run_before_anything_naming_the_entry(students, message):
    assert message in checked(FakeModule(stand='netlab', students=students))


def test_one_student_or_a_class_never_both():
    assert 'give userid and machines' in checked(FakeModule(stand='netlab', userid='s1@pve'))
    assert 'with students, give them in each entry' in checked(
        FakeModule(stand='netlab', userid='s1@pve', students=[]))
    assert 'parallel must be at least 1' in checked(FakeModule(stand='netlab', students=[], parallel=0))
    one = FakeModule(stand='netlab', userid='s1@pve', machines=[])
    assert checked(one) == [one.params]


def test_a_students_failure_is_its_own_result_with_the_result_so_far_and_the_task_log():
    refused = C.student_outcome(Run(RunFailed('s1@pve: nothing was changed', {'changed': False, 'machines': [1]})), [])
    assert (refused['failed'], refused['msg'], refused['machines']) == (True, 's1@pve: nothing was changed', [1])
    api = C.student_outcome(Run(PveApiError('clone failed', kind=TASK_FAILED, log=['TASK ERROR: x'])), ['w'])
    assert (api['failed'], api['error_kind'], api['task_log'], api['warnings']) == (True, TASK_FAILED,
                                                                                     ['TASK ERROR: x'], ['w'])


def test_what_a_finished_run_left_alone_is_added_to_the_students_warnings():
    done = C.student_outcome(Run({'changed': True, 'foreign': ['x']}), ['from the run'], lambda r: ['left alone: x'])
    assert done['warnings'] == ['from the run', 'left alone: x'] and done['changed'] is True
    failed = C.student_outcome(Run(RunFailed('no', None)), [], lambda r: ['left alone: x'])
    assert failed['warnings'] == []


def test_students_run_side_by_side_at_most_parallel_at_once_and_results_keep_the_class_order():
    running, peak, lock = [0], [0], threading.Lock()

    def one(p):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.02)
        with lock:
            running[0] -= 1
        if p['userid'] == 's3':
            raise KeyError('boom')
        return {'changed': True, 'who': p['userid']}
    params = [{'userid': 's{0}'.format(i), 'machines': []} for i in range(10)]
    results = C.run_class(params, one, 4)
    assert peak[0] == 4
    assert [r.get('who') for r in results] == ['s0', 's1', 's2', None, 's4', 's5', 's6', 's7', 's8', 's9']
    assert results[3]['failed'] and 'unexpected error' in results[3]['msg'] and 's3' in results[3]['msg']


def test_a_class_exits_with_each_students_result_and_fails_only_as_a_whole():
    module = FakeModule(stand='netlab', students=[])
    params = [{'userid': 's1@pve'}, {'userid': 's2@pve'}]
    results = [{'changed': True, 'diff': {'before': 1}, 'warnings': []},
               {'changed': False, 'failed': True, 'msg': 'no', 'warnings': ['w']}]
    with pytest.raises(Exited):
        C.exit_with(module, params, results)
    assert module.exit['changed'] is True and not module.exit.get('failed')
    assert module.exit['failed_students'] == ['s2@pve']
    assert module.exit['students']['s2@pve']['warnings'] == ['w'] and module.warnings == []
    assert 'diff' not in module.exit['students']['s1@pve']      # outside diff mode


def test_one_student_exits_as_before_warnings_through_the_module_and_failing_when_it_failed():
    module = FakeModule(diff=True, stand='netlab', userid='s1@pve', machines=[])
    with pytest.raises(Exited):
        C.exit_with(module, [module.params], [{'changed': False, 'failed': True, 'msg': 'no', 'diff': {},
                                               'warnings': ['left alone: x']}])
    assert module.exit['failed'] and module.exit['msg'] == 'no' and module.exit['diff'] == {}
    assert module.warnings == ['left alone: x'] and 'warnings' not in module.exit
