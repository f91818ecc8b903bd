"""Helpers of the reliability and security tests (issue 7): run the teacher's playbooks against the
simulator (to completion, or started in the background to be killed), and read the cluster back as
the facts the guarantees are about (what the stand made, duplicates, orphaned disks, unmarked objects)."""
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import time

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DEPLOY = os.path.join(ROOT, 'playbooks', 'deploy_stand.yml')
DESTROY = os.path.join(ROOT, 'playbooks', 'destroy_stand.yml')
AUTOMATION_ROLE = os.path.join(ROOT, 'playbooks', 'automation_role.yml')
STAND = yaml.safe_load(open(os.path.join(ROOT, 'playbooks', 'vars', 'example_stand.yml')))['stand']

# The integration tests' runner (ansible-playbook + the record callback), loaded under its own name.
_spec = importlib.util.spec_from_file_location(
    'deploystand_integration_conftest', os.path.join(ROOT, 'tests', 'integration', 'conftest.py'))
_integration = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_integration)
run_playbook = _integration.run_playbook
PlaybookRun = _integration.PlaybookRun

# A reduced stand for the properties that do not need the whole example: an EcoRouter and a Linux
# host on one private network (2 VMs and 1 bridge per student).
SMALL_STAND = {
    'name': 'netlab', 'clone': 'linked', 'vmid_range': [10000, 19999], 'bridge_range': [1000, 9999],
    'start': True,
    'machines': [
        {'name': 'router', 'device_type': 'ecorouter', 'template': 'ecorouter-tpl',
         'networks': [{'bridge': 'vmbr0'}, {'bridge': 'lan'}]},
        {'name': 'host1', 'device_type': 'linux', 'template': 'linux-tpl', 'networks': [{'bridge': 'lan'}]},
    ],
}


def students(count, prefix='student'):
    return ['{0}{1}@pve'.format(prefix, n) for n in range(1, count + 1)]


def failure_messages(run):
    """The message of every failed task, and of every failed item of a failed loop."""
    out = []
    for task in run.failed:
        result = task['result']
        items = [r for r in result.get('results') or [] if r.get('failed')]
        out.extend(r.get('msg', '') for r in items)
        if not items:
            out.append(result.get('msg', ''))
    return out


def deploy_vars(tmp_path, users, stand=None, **extra):
    out = {'users': users, 'stand': stand or SMALL_STAND, 'stand_report_dir': str(tmp_path / 'reports')}
    out.update(extra)
    return out


# ------------------------------------------------------------------------------ background runs

class Background(object):
    """ansible-playbook started in its own process group, to be interrupted or killed."""

    def __init__(self, playbook, env, tmp_path, extra_vars, name):
        self.record = tmp_path / 'record-{0}.jsonl'.format(name)
        self.log = tmp_path / 'output-{0}.txt'.format(name)
        vars_file = tmp_path / 'extra-vars-{0}.json'.format(name)
        vars_file.write_text(json.dumps(extra_vars))
        full_env = dict(os.environ)
        for key in list(full_env):
            if key.startswith('PROXMOX_'):
                del full_env[key]
        full_env.update(env)
        full_env.update({
            'ANSIBLE_CONFIG': os.path.join(ROOT, 'ansible.cfg'),
            'ANSIBLE_CALLBACK_PLUGINS': _integration.CALLBACKS,
            'ANSIBLE_CALLBACKS_ENABLED': 'record',
            'RECORD_FILE': str(self.record),
            'ANSIBLE_NOCOLOR': '1',
            'ANSIBLE_LOCAL_TEMP': str(tmp_path / 'ansible-tmp-{0}'.format(name)),
            'ANSIBLE_HOME': str(tmp_path / 'ansible-home-{0}'.format(name)),
            'PATH': os.path.dirname(sys.executable) + os.pathsep + full_env.get('PATH', ''),
        })
        self._out = open(str(self.log), 'w')
        self.proc = subprocess.Popen([_integration.ANSIBLE_PLAYBOOK, playbook, '-e', '@' + str(vars_file)],
                                     cwd=ROOT, env=full_env, stdout=self._out, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def signal(self, sig, group=True):
        if self.proc.poll() is None:
            if group:
                os.killpg(self.proc.pid, sig)
            else:
                self.proc.send_signal(sig)

    def processes(self):
        """Pids of every process of this run still alive (ansible-playbook, its workers, their modules),
        found by the run's RECORD_FILE in their environment, which all of them inherit."""
        mark = 'RECORD_FILE={0}'.format(self.record).encode()
        found = []
        for entry in os.listdir('/proc'):
            if not entry.isdigit():
                continue
            try:
                with open('/proc/{0}/environ'.format(entry), 'rb') as handle:
                    if mark in handle.read().split(b'\0'):
                        found.append(int(entry))
            except (IOError, OSError):
                continue
        return found

    def wait(self, timeout=600):
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            rc = self.proc.wait(30)
        self._out.close()
        records = []
        if self.record.exists():
            records = [json.loads(line) for line in self.record.read_text().splitlines() if line.strip()]
        return PlaybookRun(rc, self.log.read_text(), records)


def start_playbook(playbook, sim, tmp_path, extra_vars, name):
    return Background(playbook, sim.env, tmp_path, extra_vars, name)


def wait_until(predicate, timeout=120, poll=0.05):
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        value = predicate()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError('condition not reached within {0} s'.format(timeout))


# ------------------------------------------------------------------------------ cluster facts

def comparable(state):
    """The parts of a state dump that a deploy + destroy must leave as they were."""
    return {'users': state['users'], 'acl': state['acl'], 'pools': state['pools'],
            'vms': state['vms'], 'networks': dict((n, net['running']) for n, net in state['networks'].items()),
            'pending': dict((n, net['staged']) for n, net in state['networks'].items()),
            'volumes': state['volumes']}


def stand_vms(state, stand='netlab'):
    return dict((int(vmid), vm) for vmid, vm in state['vms'].items() if 'stand-' + stand in vm['tags'])


def stand_bridges(state, stand='netlab'):
    """{(node, iface): comments} of every bridge (running or staged) with a marker of the stand."""
    out = {}
    for node, net in state['networks'].items():
        for view in (net['running'], net['staged'] or {}):
            for iface, cfg in view.items():
                if 'deploystand:{0}:'.format(stand) in (cfg.get('comments') or ''):
                    out[(node, iface)] = cfg.get('comments')
    return out


def outcome(state, stand='netlab'):
    """What a deploy made, without VMIDs or bridge numbers: users, pools, VM names per pool, the
    aliases of the bridges per student, where each stand runs and whether everything runs."""
    vms = stand_vms(state, stand)
    pools = dict((p, sorted(vm['name'] for vm in vms.values() if vm['pool'] == p))
                 for p, info in state['pools'].items()
                 if 'deploystand:{0}:'.format(stand) in (info.get('comment') or ''))
    bridges = {}
    for (node, _iface), comments in stand_bridges(state, stand).items():
        for token in comments.split():
            parts = token.split(':')
            if len(parts) == 4 and parts[1] == stand:
                bridges.setdefault(parts[2], []).append(parts[3])
    users = sorted(u for u, info in state['users'].items()
                   if 'deploystand:{0}'.format(stand) in (info.get('comment') or '').split())
    return {'users': users, 'pools': pools, 'bridges': dict((k, sorted(v)) for k, v in bridges.items()),
            'statuses': sorted(set(vm['status'] for vm in vms.values())),
            'locks': sorted(set(str(vm['lock']) for vm in vms.values()))}


_VOLUME_VMID = re.compile(r'^(?:(\d+)/)?(?:vm|base)-(\d+)-')


def orphaned_disks(state):
    """Volumes whose VMID has no VM."""
    vmids = set(int(v) for v in state['vms'])
    out = []
    for storage, volumes in state['volumes'].items():
        for volume in volumes:
            found = _VOLUME_VMID.match(volume)
            if found and int(found.group(2)) not in vmids:
                out.append('{0}:{1}'.format(storage, volume))
    return out


def duplicate_vms(state):
    """(pool, name) pairs that more than one VM has."""
    seen = {}
    for vmid, vm in state['vms'].items():
        if vm['template']:
            continue
        seen.setdefault((vm['pool'], vm['name']), []).append(int(vmid))
    return dict((k, v) for k, v in seen.items() if len(v) > 1)


def unmarked_objects(state, before, stand='netlab'):
    """Objects that were not there before and carry no stand marker: VMs without the stand tags,
    bridges without a marker, users and pools without the marker, and pending network changes."""
    out = []
    for vmid, vm in state['vms'].items():
        if vmid not in before['vms'] and not {'deploystand', 'stand-' + stand} <= set(vm['tags']):
            out.append('VM {0} ({1}) tags {2}'.format(vmid, vm['name'], vm['tags']))
        if vmid not in before['vms'] and vm.get('lock'):
            out.append('VM {0} ({1}) still locked ({2})'.format(vmid, vm['name'], vm['lock']))
        if 'deploystand-pending' in str(vm['config'].get('description') or ''):
            out.append('VM {0} ({1}) still has the pending-clone marker'.format(vmid, vm['name']))
    for node, net in state['networks'].items():
        for iface, cfg in net['running'].items():
            if iface not in before['networks'][node]['running'] and 'deploystand:' not in (cfg.get('comments') or ''):
                out.append('bridge {0} on {1} without marker'.format(iface, node))
        if net['staged'] is not None:
            out.append('pending network changes on {0}'.format(node))
    for userid, info in state['users'].items():
        if userid not in before['users'] and 'deploystand:' + stand not in (info.get('comment') or ''):
            out.append('user {0} without marker'.format(userid))
    for poolid, info in state['pools'].items():
        if poolid not in before['pools'] and 'deploystand:' + stand not in (info.get('comment') or ''):
            out.append('pool {0} without marker'.format(poolid))
    return out


def assert_clean(state, before, stand='netlab'):
    assert duplicate_vms(state) == {}
    assert orphaned_disks(state) == []
    assert unmarked_objects(state, before, stand) == []


def automation_privileges():
    """The privilege list of playbooks/automation_role.yml (the one source of it)."""
    return list(yaml.safe_load(open(AUTOMATION_ROLE))[0]['vars']['automation_role_privs'])


def automation_paths():
    return list(yaml.safe_load(open(AUTOMATION_ROLE))[0]['vars']['automation_role_paths'])
