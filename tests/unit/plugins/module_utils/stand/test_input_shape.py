"""The shape of the teacher's input and its strings as typed (issue 13 items 4, 8, 16)."""
import pytest
from ansible.template import is_trusted_as_template, trust_as_template

from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.input_shape import (
    StandInputError, plain, read_inputs,
)

STAND = {'name': 'netlab', 'machines': [{'name': 'host1', 'template': 'linux-tpl', 'networks': [{'bridge': 'lan'}]}]}


def test_trusted_template_strings_come_back_as_plain_data_exactly_as_typed():
    users = [{'name': trust_as_template('a@pve'), 'password': trust_as_template('Ab{{ 7*7 }}cdef')}]
    out = read_inputs({'stand': STAND, 'users': users})
    password = out['users'][0]['password']
    assert password == 'Ab{{ 7*7 }}cdef' and type(password) is str and not is_trusted_as_template(password)
    assert plain((1, True, 2.5, None)) == [1, True, 2.5, None]


def test_an_awx_survey_renames_the_stand_and_gives_the_class_as_text():
    out = read_inputs({'stand': STAND, 'stand_name': 'lab2', 'stand_class': 'a@pve\n# comment\n\n b@pve \n'})
    assert out['stand']['name'] == 'lab2' and out['users'] == ['a@pve', 'b@pve']


def test_the_example_stand_is_said_once():
    out = read_inputs({'stand': STAND, 'users': ['a@pve']}, example=STAND)
    assert out['example_stand'] and out['notes'] == [
        "no stand file given: deploying the example stand 'netlab' of playbooks/vars/example_stand.yml "
        "(-e @my_stand.yml gives your own)"]
    assert not read_inputs({'stand': dict(STAND, name='x'), 'users': []}, example=STAND)['example_stand']


@pytest.mark.parametrize('variables,words', [
    (dict(STAND, stand=STAND, users=[]), 'found keys name, machines at the top level'),
    ({'stand': None, 'users': []}, 'stand: is empty (null)'),
    ({'stand': 'netlab', 'users': []}, 'stand: expected a mapping, got a string'),
    ({'users': []}, 'the variable `stand` is not defined'),
    ({'stand': STAND, 'user': []}, 'found `user`: did you mean `users`?'),
    ({'stand': STAND, 'userss': []}, 'found `userss`'),
    ({'stand': STAND}, 'the variable `users` is not defined; the file must look like `users: ['),
    ({'stand': STAND, 'users': None}, 'users: is empty (null)'),
])
def test_a_file_of_the_wrong_shape_says_what_is_missing_what_was_found_and_how_it_must_look(variables, words):
    with pytest.raises(StandInputError) as exc:
        read_inputs(variables)
    assert words in str(exc.value)
    assert 'must look like' in str(exc.value) and 'nothing was changed' in str(exc.value)
