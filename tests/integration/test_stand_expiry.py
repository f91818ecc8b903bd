"""stand.expires through deploy_stand.yml (PVE's own `expire` on the accounts the stand made, the pool tokens,
re-runs, a changed and a removed end, logins refused after the end) and stand_cleanup.yml (only the expired
stand goes, from the cluster alone; foreign objects, the other stand and a shared account stay; --check
changes nothing; a re-run changes nothing)."""
import calendar
import json
import os
import time

import pytest

from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.client import PveClient

pytestmark = pytest.mark.slow

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEPLOY = os.path.join(ROOT, 'playbooks', 'deploy_stand.yml')
CLEANUP = os.path.join(ROOT, 'playbooks', 'stand_cleanup.yml')
PASSWORD = 'Given-pass-123'


def stand(name, expires=None):
    out = {'name': name, 'start': False,
           'machines': [{'name': 'host1', 'template': 'linux-tpl', 'networks': [{'bridge': 'lan'}]}]}
    if expires is not None:
        out['expires'] = expires
    return out


def users(*names):
    return [{'name': n, 'password': PASSWORD} for n in names]


def end_of(day):
    return calendar.timegm(time.strptime(day, '%Y-%m-%d')) + 86399


def today():
    return time.strftime('%Y-%m-%d', time.gmtime())


def deploy(playbook, sim, tmp_path, name, class_, expires=None, **kwargs):
    return playbook(DEPLOY, sim, extra_vars={'users': class_, 'stand': stand(name, expires),
                                             'stand_report_dir': str(tmp_path / 'reports')}, **kwargs)


def login(sim, userid):
    return PveClient(sim.host, user='root@pam', password=sim.password, port=sim.port,
                     ca_path=sim.cafile).accepts(user=userid, password=PASSWORD)


def test_expires_sets_pves_expire_on_the_accounts_the_stand_made_and_follows_the_input(sim_tiny, playbook, tmp_path):
    sim = sim_tiny
    root = PveClient(sim.host, user='root@pam', password=sim.password, port=sim.port, ca_path=sim.cafile)
    # an account that existed before the stand: its expiry is the admin's
    root.post('access/users', userid='teacher@pve', comment='course admin', expire=1900000000, password=PASSWORD)
    class_ = users('student1@pve', 'student2@pve') + ['teacher@pve']

    first = deploy(playbook, sim, tmp_path, 'netlab', class_, expires='2027-01-31')
    assert first.rc == 0, first
    state = sim.state()
    for userid in ('student1@pve', 'student2@pve'):
        assert state['users'][userid]['expire'] == end_of('2027-01-31')
        pool = state['pools']['netlab-' + userid.split('@')[0]]['comment']
        assert pool == 'deploystand:netlab:{0} deploystand-since:{1} deploystand-expires:2027-01-31T23:59:59Z'.format(
            userid, today())
    assert state['users']['teacher@pve']['expire'] == 1900000000
    assert state['pools']['netlab-teacher']['comment'].endswith('deploystand-expires:2027-01-31T23:59:59Z')
    # the student's host reports the end PVE holds (its share of the class run)
    outcome = first.result('Student user, pool, access and machines exist', host='student1@pve')
    assert outcome['expire'] == end_of('2027-01-31') and outcome['expire_managed'] is True, outcome
    # the credentials report shows the end PVE holds, not the input (here the same day, in UTC)
    ledger = json.loads((tmp_path / 'reports' / 'netlab-credentials.json').read_text())
    rows = dict((row['user'], row) for row in ledger['students'])
    assert rows['student1@pve']['expires'] == '2027-01-31T23:59:59Z', rows['student1@pve']

    again = deploy(playbook, sim, tmp_path, 'netlab', class_, expires='2027-01-31')
    assert again.rc == 0 and again.changed_total == 0, again

    # days count from the first deploy the pools recorded, and a re-run with the same days changes nothing
    days = deploy(playbook, sim, tmp_path, 'netlab', class_, expires=45)
    assert days.rc == 0 and days.changed_total > 0, days
    wanted = end_of(today()) + 45 * 86400
    assert sim.state()['users']['student1@pve']['expire'] == wanted
    ledger = json.loads((tmp_path / 'reports' / 'netlab-credentials.json').read_text())
    assert [r['expires'] for r in ledger['students'] if r['user'] == 'student1@pve'] == [
        time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(wanted))]
    assert deploy(playbook, sim, tmp_path, 'netlab', class_, expires='45').changed_total == 0

    # check mode predicts the change and writes nothing
    before = sim.state()
    predicted = deploy(playbook, sim, tmp_path, 'netlab', class_, expires='2026-01-31', check=True)
    assert predicted.rc == 0 and predicted.changed_total > 0, predicted
    assert sim.state()['users'] == before['users'] and sim.state()['pools'] == before['pools']

    # an end in the past: a warning, and PVE refuses the students' logins (the admin's account still works)
    assert login(sim, 'student1@pve')
    past = deploy(playbook, sim, tmp_path, 'netlab', class_, expires='2026-01-31')
    assert past.rc == 0, past
    assert 'stand.expires: the stand ended at 2026-01-31T23:59:59Z' in past.output
    assert not login(sim, 'student1@pve') and not login(sim, 'student2@pve') and login(sim, 'teacher@pve')

    # no expires any more: never (PVE's 0), the token is gone, the first deploy stays recorded
    never = deploy(playbook, sim, tmp_path, 'netlab', class_)
    assert never.rc == 0 and never.changed_total > 0, never
    state = sim.state()
    assert state['users']['student1@pve']['expire'] == 0 and login(sim, 'student1@pve')
    assert state['pools']['netlab-student1']['comment'] == 'deploystand:netlab:student1@pve deploystand-since:' + today()
    assert state['users']['teacher@pve']['expire'] == 1900000000
    assert deploy(playbook, sim, tmp_path, 'netlab', class_).changed_total == 0


def test_a_bad_expires_is_one_message_and_nothing_is_written(sim_tiny, playbook, tmp_path):
    before = sim_tiny.state()
    run = deploy(playbook, sim_tiny, tmp_path, 'netlab', users('student1@pve'), expires='end of term')
    assert run.rc != 0 and len(run.failed) == 1, run
    assert "stand.expires: 'end of term' is neither a date" in run.failed[0]['result']['msg']
    assert 'Traceback' not in run.output
    assert sim_tiny.state()['users'] == before['users'] and sim_tiny.state()['pools'] == before['pools']


# ------------------------------------------------------------------------------------------ clean-up

def add_foreign_objects(api):
    """Objects with oldlab's names but without its markers, and a look-alike carrying its marker."""
    api.run_task('POST', 'nodes/pve1/qemu/9001/clone', newid=20002, name='s2-host1')        # no marker at all
    api.post('pools', poolid='oldlab-s9', comment='the admin made this pool')               # no marker at all
    api.post('pools', poolid='oldlab-archive', comment='deploystand:oldlab:s7@pve')         # marker, wrong id
    api.post('access/users', userid='admin2@pve', comment='deploystand-ish admin')


def without(state, stand):
    """The state dump without what `stand` owns (its pools, VMs, marked bridges, the users only it used)."""
    pools = dict((k, v) for k, v in state['pools'].items() if not (v['comment'] or '').startswith(
        'deploystand:{0}:'.format(stand)) or k == '{0}-archive'.format(stand))
    vms = dict((k, v) for k, v in state['vms'].items() if 'stand-' + stand not in v['tags'])
    networks = dict((node, sorted(iface for iface, cfg in net['running'].items()
                                  if 'deploystand:{0}:'.format(stand) not in (cfg.get('comments') or '')))
                    for node, net in state['networks'].items())
    return pools, vms, networks


@pytest.fixture
def two_stands(sim_tiny, playbook, tmp_path):
    """oldlab (s1, s2; ended 2026-11-30) and newlab (s1, s3; 30 days): s1 is shared."""
    old = deploy(playbook, sim_tiny, tmp_path, 'oldlab', users('s1@pve', 's2@pve'), expires='2026-11-30')
    assert old.rc == 0, old
    new = deploy(playbook, sim_tiny, tmp_path, 'newlab', users('s1@pve', 's3@pve'), expires=30)
    assert new.rc == 0, new
    add_foreign_objects(PveClient(sim_tiny.host, user='root@pam', password=sim_tiny.password, port=sim_tiny.port,
                                  ca_path=sim_tiny.cafile))
    return sim_tiny


def test_cleanup_removes_only_the_expired_stand_and_keeps_everything_else(two_stands, playbook):
    sim = two_stands
    before = sim.state()
    # the shared account works while one of its stands does: the latest end among them
    assert before['users']['s1@pve']['expire'] == end_of(today()) + 30 * 86400

    # a named stand whose end has not passed is not removed
    named = playbook(CLEANUP, sim, extra_vars={'stand_cleanup_stands': ['newlab']})
    assert named.rc == 0 and named.changed_total == 0, named
    assert 'keeping newlab: ends ' in named.output

    checked = playbook(CLEANUP, sim, check=True)
    assert checked.rc == 0, checked
    assert 'would remove oldlab: ended 2026-11-30T23:59:59Z; students s1@pve, s2@pve' in checked.output
    assert sim.state() == before

    run = playbook(CLEANUP, sim)
    assert run.rc == 0 and run.changed_total > 0, run
    after = sim.state()
    assert without(after, 'oldlab') == without(before, 'oldlab')
    assert 'oldlab-s1' not in after['pools'] and 'oldlab-s2' not in after['pools']
    assert after['pools']['oldlab-archive'] == before['pools']['oldlab-archive']      # a look-alike stays
    assert not [v for v in after['vms'].values() if 'stand-oldlab' in v['tags']]
    assert 's2@pve' not in after['users']
    # s1 is newlab's too: kept, without oldlab's marker, with newlab's end
    assert after['users']['s1@pve']['comment'] == 'deploystand:newlab'
    assert after['users']['s1@pve']['expire'] == before['users']['s1@pve']['expire']
    for userid in ('s3@pve', 'admin2@pve'):
        assert after['users'][userid] == before['users'][userid]
    assert 'stand newlab still uses it' in run.output

    again = playbook(CLEANUP, sim)
    assert again.rc == 0 and again.changed_total == 0, again
    assert sim.state() == after
