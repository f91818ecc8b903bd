"""Deploying or destroying some students of a class, with the forms docs/playbooks.md gives: the short
`-e stand_limit=student3@pve`, and `--limit 'localhost,deploystand_nodes,student3@pve'`. The plain
`--limit student3@pve` matches no host of the inventory (the plays add the students at run time), so
Ansible stops before any play; that is what the documentation says too."""
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEPLOY = os.path.join(ROOT, 'playbooks', 'deploy_stand.yml')
DESTROY = os.path.join(ROOT, 'playbooks', 'destroy_stand.yml')
CLASS = ['student1@pve', 'student2@pve', 'student3@pve']
# one Linux host per student on a private network of its own
STAND = {'name': 'netlab', 'machines': [{'name': 'host1', 'template': 'linux-tpl', 'networks': [{'bridge': 'lan'}]}]}

pytestmark = pytest.mark.slow


def made(state):
    """userid -> (has a user, VM names in its pool, aliases of its bridges) for what the stand made."""
    out = {}
    for userid in CLASS:
        name = userid.split('@')[0]
        vms = sorted(vm['name'] for vm in state['vms'].values() if vm['pool'] == 'netlab-' + name)
        bridges = sorted(cfg['comments'].split(':')[-1] for net in state['networks'].values()
                         for cfg in list(net['running'].values()) + list((net['staged'] or {}).values())
                         if 'deploystand:netlab:{0}:'.format(userid) in (cfg.get('comments') or ''))
        out[userid] = (userid in state['users'], vms, bridges)
    return out


NOTHING = (False, [], [])


def everything(n):
    return (True, ['student{0}-host1'.format(n)], ['lan'])


def run(playbook, sim, tmp_path, book, *args):
    extra = {'users': CLASS, 'stand': STAND, 'stand_report_dir': str(tmp_path / 'reports')}
    return playbook(book, sim, extra_vars=extra, args=list(args))


def test_stand_limit_deploys_and_destroys_only_the_named_students(sim_tiny, playbook, tmp_path):
    one = run(playbook, sim_tiny, tmp_path, DEPLOY, '-e', 'stand_limit=student3@pve')
    assert one.rc == 0, one
    assert made(sim_tiny.state()) == {'student1@pve': NOTHING, 'student2@pve': NOTHING,
                                      'student3@pve': everything(3)}

    whole = run(playbook, sim_tiny, tmp_path, DEPLOY)
    assert whole.rc == 0, whole
    # two at once, as --limit takes them (a comma-separated list)
    gone = run(playbook, sim_tiny, tmp_path, DESTROY, '-e', 'stand_limit=student1@pve,student3@pve')
    assert gone.rc == 0, gone
    assert made(sim_tiny.state()) == {'student1@pve': NOTHING, 'student2@pve': everything(2),
                                      'student3@pve': NOTHING}


def test_the_limit_pattern_with_the_plays_hosts_works_for_deploy_and_destroy(sim_tiny, playbook, tmp_path):
    limit = ('--limit', 'localhost,deploystand_nodes,student2@pve')
    one = run(playbook, sim_tiny, tmp_path, DEPLOY, *limit)
    assert one.rc == 0, one
    assert made(sim_tiny.state()) == {'student1@pve': NOTHING, 'student2@pve': everything(2),
                                      'student3@pve': NOTHING}
    gone = run(playbook, sim_tiny, tmp_path, DESTROY, *limit)
    assert gone.rc == 0, gone
    assert made(sim_tiny.state()) == dict((u, NOTHING) for u in CLASS)


def test_a_student_not_in_the_class_is_refused_and_the_plain_limit_stops_before_any_play(sim_tiny, playbook,
                                                                                       tmp_path):
    before = sim_tiny.state()
    unknown = run(playbook, sim_tiny, tmp_path, DEPLOY, '-e', 'stand_limit=student3@pve,student9@pve')
    assert unknown.rc != 0
    messages = [t['result'].get('msg', '') for t in unknown.failed]
    assert len(messages) == 1 and 'stand_limit: student9@pve is not in the class' in messages[0], messages
    assert 'student1@pve, student2@pve, student3@pve' in messages[0]
    assert 'Traceback' not in unknown.output
    assert sim_tiny.state() == before

    plain = run(playbook, sim_tiny, tmp_path, DEPLOY, '--limit', 'student3@pve')
    assert plain.rc != 0 and 'no hosts to target' in plain.output
    assert sim_tiny.state() == before
