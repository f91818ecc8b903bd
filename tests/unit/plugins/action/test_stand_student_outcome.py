"""The action stand_student_outcome: a student host's own share of a class run, never its password."""
from unittest.mock import MagicMock

from ansible_collections.deploystand.proxmox.plugins.action.stand_student_outcome import ActionModule


def outcome(class_result, userid):
    task = MagicMock(args={'class_result': class_result, 'userid': userid}, async_val=0, check_mode=False)
    task.action = 'deploystand.proxmox.stand_student_outcome'
    action = ActionModule(task=task, connection=MagicMock(), play_context=MagicMock(), loader=MagicMock(),
                          templar=MagicMock(), shared_loader_obj=MagicMock())
    return action.run(task_vars={})


def test_the_host_gets_its_students_result_without_the_password_the_run_set():
    result = outcome({'students': {'s1@pve': {'changed': True, 'password_set': True, 'password': 'Set-Here-1',
                                              'machines': [{'name': 's1-router'}]}}}, 's1@pve')
    assert result['changed'] is True and result['password_set'] is True and result['machines'] == [{'name': 's1-router'}]
    assert 'password' not in result and 'Set-Here-1' not in repr(result)


def test_a_class_run_that_failed_as_a_whole_fails_every_student_with_its_message():
    result = outcome({'failed': True, 'msg': 'invalid input: students[0] (s1@pve): node is needed'}, 's2@pve')
    assert result['failed'] and result['msg'] == 'invalid input: students[0] (s1@pve): node is needed'


def test_a_student_the_class_run_does_not_hold_fails_naming_those_it_holds():
    result = outcome({'students': {'s1@pve': {'changed': False}}}, 's9@pve')
    assert result['failed'] and result['msg'] == 's9@pve: not in the class run (its result lists s1@pve)'
