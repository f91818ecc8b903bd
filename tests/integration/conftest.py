"""Runs real playbooks through ansible-playbook against the simulator and reads the results back."""
import json
import os
import subprocess
import sys
import textwrap

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CALLBACKS = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'callback_plugins')
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')


class PlaybookRun(object):
    """What one ansible-playbook run did: rc, output, every task result, the recap."""

    def __init__(self, rc, output, records):
        self.rc = rc
        self.output = output
        self.tasks = [r for r in records if r['type'] == 'task']
        stats = [r for r in records if r['type'] == 'stats']
        self.stats = stats[-1]['hosts'] if stats else {}

    def results(self, task=None, host=None):
        """Results of the tasks named `task` (all when None), optionally on one host."""
        return [t['result'] for t in self.tasks
                if (task is None or t['task'] == task) and (host is None or t['host'] == host)]

    def result(self, task, host=None):
        found = self.results(task, host)
        assert found, 'no result for task {0!r}; tasks run: {1}'.format(task, [t['task'] for t in self.tasks])
        return found[-1]

    @property
    def failed(self):
        return [t for t in self.tasks if t['status'] == 'failed']

    @property
    def changed_total(self):
        return sum(h.get('changed', 0) for h in self.stats.values())

    def __repr__(self):
        return 'PlaybookRun(rc={0}, failed={1})\n{2}'.format(self.rc, [(t['task'], t['result'].get('msg'))
                                                                   for t in self.failed], self.output[-3000:])


def run_playbook(playbook, sim_env, tmp_path, extra_vars=None, args=(), env=None, check=False, diff=False,
                 timeout=900):
    """Run a playbook (a path, or YAML text / a list of plays written to a temp file) against the simulator.

    The connection comes only from the PROXMOX_* variables in sim_env, as AWX's credential injects it.
    """
    if not (isinstance(playbook, str) and os.path.exists(playbook)):
        text = playbook if isinstance(playbook, str) else yaml.safe_dump(playbook, sort_keys=False)
        path = tmp_path / 'playbook-{0}.yml'.format(len(list(tmp_path.glob('playbook-*.yml'))))
        path.write_text(textwrap.dedent(text))
        playbook = str(path)
    record = tmp_path / 'record-{0}.jsonl'.format(len(list(tmp_path.glob('record-*.jsonl'))))
    full_env = dict(os.environ)
    for key in list(full_env):
        if key.startswith('PROXMOX_'):
            del full_env[key]
    full_env.update(sim_env)
    full_env.update({
        'ANSIBLE_CONFIG': os.path.join(ROOT, 'ansible.cfg'),
        'ANSIBLE_CALLBACK_PLUGINS': CALLBACKS,
        'ANSIBLE_CALLBACKS_ENABLED': 'record',
        'RECORD_FILE': str(record),
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_FORCE_COLOR': '0',
        'ANSIBLE_LOCAL_TEMP': str(tmp_path / 'ansible-tmp'),
        'ANSIBLE_HOME': str(tmp_path / 'ansible-home'),
        'PATH': os.path.dirname(sys.executable) + os.pathsep + full_env.get('PATH', ''),
    })
    full_env.update(env or {})
    cmd = [ANSIBLE_PLAYBOOK, playbook]
    if extra_vars:
        vars_file = tmp_path / 'extra-vars-{0}.json'.format(len(list(tmp_path.glob('extra-vars-*.json'))))
        vars_file.write_text(json.dumps(extra_vars))
        cmd += ['-e', '@' + str(vars_file)]
    if check:
        cmd.append('--check')
    if diff:
        cmd.append('--diff')
    cmd += list(args)
    proc = subprocess.run(cmd, cwd=ROOT, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=timeout)
    records = []
    if record.exists():
        records = [json.loads(line) for line in record.read_text().splitlines() if line.strip()]
    return PlaybookRun(proc.returncode, proc.stdout, records)


@pytest.fixture
def playbook(tmp_path):
    """playbook(plays_or_path, sim, **kwargs) -> PlaybookRun; see run_playbook."""
    def run(plays, sim, **kwargs):
        return run_playbook(plays, sim.env, tmp_path, **kwargs)
    return run
