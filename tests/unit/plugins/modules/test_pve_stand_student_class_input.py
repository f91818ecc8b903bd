"""pve_stand_student's class run input (students, passwords): each student checked before anything is written,
and never a password in an entry."""
import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.deploystand.proxmox.plugins.modules import pve_stand_student as M

MACHINE = {'name': 's1-router', 'template': 'ecorouter-tpl', 'device_type': 'ecorouter'}


class Exited(Exception):
    pass


class FakeModule(object):
    argument_spec = M.ARGSPEC

    def __init__(self, **params):
        checked = ArgumentSpecValidator(M.ARGSPEC).validate(params)
        assert not checked.error_messages, checked.error_messages
        self.params = checked.validated_parameters
        self.exit = None

    def fail_json(self, **result):
        self.exit = result
        raise Exited()


def class_params(**params):
    module = FakeModule(**params)
    try:
        return M.class_params(module)
    except Exited:
        return module.exit['msg']


def entry(userid, **more):
    name = userid.split('@')[0]
    return dict(userid=userid, node='pve1', machines=[dict(MACHINE, name=name + '-router')], **more)


def test_each_student_gets_its_own_password_and_options_and_the_class_the_rest():
    first, second = class_params(stand='netlab', students=[entry('s1@pve', update_password='recover'),
                                                           entry('s2@pve', pool='p2')],
                                 passwords={'s1@pve': 'Given-Password-1'}, update_password='always')
    assert (first['password'], first['update_password'], first['pool']) == ('Given-Password-1', 'recover', None)
    assert (second['password'], second['update_password'], second['pool']) == (None, 'always', 'p2')
    assert first['stand'] == second['stand'] == 'netlab'


@pytest.mark.parametrize('params, message', [
    # a password in an entry would be in the module's logged parameters
    (dict(students=[entry('s1@pve', password='x' * 12)]), 'students[0]: '),
    (dict(students=[entry('s1@pve')], password='x' * 12), 'give the passwords in passwords'),
    (dict(students=[entry('s1@pve')], passwords={'s9@pve': 'x' * 12}), 'passwords: s9@pve is not in students'),
    # checked as a run of one student is: a machine needs a node to be made on
    (dict(students=[dict(entry('s1@pve'), node=None)]), 'students[0] (s1@pve): node is needed'),
    (dict(students=[entry('s1@pve', bridges={'lan': 'not a bridge!'})]), 'students[0] (s1@pve): '),
    (dict(students=[entry('s1@pve'), entry('s1@pve')]), 'students[1]: s1@pve is given twice'),
])
def test_a_bad_entry_fails_the_run_before_anything_naming_the_student(params, message):
    found = class_params(stand='netlab', **params)
    assert isinstance(found, str) and message in found, found
