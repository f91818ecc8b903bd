"""playbooks/automation_role.yml makes a role with exactly the privileges deploy and destroy need, a
user and a privilege-separated token; the whole deploy -> re-run -> destroy passes with that token
alone. Taking away a privilege the plan needs is refused with the privilege named."""
import json
import os
import re

import pytest

from reliability_support import (
    AUTOMATION_ROLE, DEPLOY, DESTROY, STAND, automation_paths, automation_privileges, comparable, students)

pytestmark = pytest.mark.slow
CLASS = students(2)


def token_env(sim, token_file):
    text = token_file.read_text()
    values = dict(re.findall(r"^export (\w+)='?([^'\n]*)'?$", text, re.M))
    env = dict((k, v) for k, v in sim.env.items() if k not in ('PROXMOX_USER', 'PROXMOX_PASSWORD'))
    env.update(PROXMOX_TOKEN_ID=values['PROXMOX_TOKEN_ID'], PROXMOX_TOKEN_SECRET=values['PROXMOX_TOKEN_SECRET'])
    return env, values['PROXMOX_TOKEN_SECRET']


def test_deploy_rerun_and_destroy_pass_with_the_least_privilege_token_alone(sim, playbook, tmp_path):
    token_file = tmp_path / 'automation-token.env'
    made = playbook(AUTOMATION_ROLE, sim, extra_vars={'automation_token_file': str(token_file)})
    assert made.rc == 0, made
    assert oct(token_file.stat().st_mode & 0o777) == '0o600'
    env, secret = token_env(sim, token_file)
    assert secret and secret not in made.output

    state = sim.state()
    assert sorted(state['roles']['DeployStandAutomation']) == sorted(automation_privileges())
    assert state['users']['deploystand@pve']['tokens'][0]['privsep'] in (1, True)
    granted = sorted((e['path'], e['type'], e['ugid']) for e in state['acl'] if e['roleid'] == 'DeployStandAutomation')
    assert granted == sorted([(p, 'user', 'deploystand@pve') for p in automation_paths()]
                             + [(p, 'token', 'deploystand@pve!ansible') for p in automation_paths()])
    again = playbook(AUTOMATION_ROLE, sim, extra_vars={'automation_token_file': str(token_file)})
    assert again.rc == 0 and again.changed_total == 0, [t['task'] for t in again.tasks if t['result'].get('changed')]

    before = comparable(sim.state())
    extra = {'users': CLASS, 'stand': STAND, 'stand_report_dir': str(tmp_path / 'reports')}
    first = playbook(DEPLOY, env, extra_vars=extra)
    assert first.rc == 0, first
    assert secret not in first.output
    vms = [vm for vm in sim.state()['vms'].values() if 'stand-netlab' in vm['tags']]
    assert len(vms) == 6 and all(vm['status'] == 'running' for vm in vms)

    second = playbook(DEPLOY, env, extra_vars=extra)
    assert second.rc == 0, second
    assert second.changed_total == 0, [(t['host'], t['task']) for t in second.tasks if t['result'].get('changed')]

    gone = playbook(DESTROY, env, extra_vars=extra)
    assert gone.rc == 0, gone
    assert comparable(sim.state()) == before


STATUS = os.path.join(os.path.dirname(DEPLOY), 'stand_status.yml')


def test_status_runs_with_the_automation_token_and_with_an_auditor_alone(sim, playbook, tmp_path):
    """stand_status.yml reads only: it passes with the automation token, and with a user holding nothing but
    PVE's built-in PVEAuditor role on / (audit privileges only), and shows the same clean class."""
    token_file = tmp_path / 'automation-token.env'
    assert playbook(AUTOMATION_ROLE, sim, extra_vars={'automation_token_file': str(token_file)}).rc == 0
    env, secret = token_env(sim, token_file)
    extra = {'users': CLASS, 'stand': STAND, 'stand_report_dir': str(tmp_path / 'reports')}
    assert playbook(DEPLOY, env, extra_vars=extra).rc == 0

    from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.client import PveClient
    api = PveClient(sim.host, user='root@pam', password=sim.password, port=sim.port, ca_path=sim.cafile)
    api.post('access/users', userid='auditor@pve', password='Audit-only-1')
    api.put('access/acl', path='/', roles='PVEAuditor', users='auditor@pve')
    auditor = dict((k, v) for k, v in sim.env.items() if k not in ('PROXMOX_USER', 'PROXMOX_PASSWORD'))
    auditor.update(PROXMOX_USER='auditor@pve', PROXMOX_PASSWORD='Audit-only-1')

    before = comparable(sim.state())
    for who, identity in (('token', env), ('auditor', auditor)):
        status_dir = tmp_path / ('status-' + who)
        run = playbook(STATUS, identity, extra_vars={'users': CLASS, 'stand': STAND,
                                                     'stand_status_dir': str(status_dir)})
        assert run.rc == 0, run
        assert secret not in run.output
        status = json.loads((status_dir / 'netlab-status.json').read_text())
        assert status['summary']['ok'] == 2 and status['summary']['drift'] == 0, (who, status['summary'])
        hosts = [m for s in status['students'] for m in s['machines'] if m['machine'] != 'router']
        assert len(hosts) == 4 and all(m['status'] == 'running' for m in hosts)
        if who == 'auditor' or 'VM.GuestAgent.Audit' in automation_privileges():
            assert all(m['address'] for m in hosts), (who, hosts)
        else:
            # until the automation role holds the guest-agent audit privilege: no address, said once
            assert any('VM.GuestAgent.Audit' in line for line in status['unseen']), status['unseen']
        assert sorted(p.name for p in status_dir.iterdir()) == ['netlab-status.csv', 'netlab-status.html',
                                                                 'netlab-status.json']
    assert comparable(sim.state()) == before
