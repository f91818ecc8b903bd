"""PveModule's ControllerWatch: a module notices that the ansible-playbook that started it is gone and
stops waiting (issue 13 item 22), on a made-up /proc and on real processes."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.client import PveApiError
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.module import ControllerWatch

ANSIBLE = b'python3\x00/usr/bin/ansible-playbook\x00deploy_stand.yml\x00'


def fake_proc(tmp_path, processes):
    """processes: {pid: (ppid, session, cmdline)} written as /proc/<pid>/stat and cmdline."""
    for pid, (ppid, session, cmdline) in processes.items():
        folder = tmp_path / str(pid)
        folder.mkdir(exist_ok=True)
        # a command name with a space and a parenthesis, as /proc allows
        (folder / 'stat').write_text('{0} (odd (name)) S {1} {2} {3} 0 -1 4194560'.format(pid, ppid, session, session))
        (folder / 'cmdline').write_bytes(cmdline)
    return str(tmp_path)


def ansible_tree(tmp_path, worker_parent=100):
    """controller 100 -> worker 200 (session leader) -> sh 300 -> module 400."""
    return fake_proc(tmp_path, {
        100: (1, 50, ANSIBLE), 200: (worker_parent, 200, ANSIBLE),
        300: (200, 200, b'/bin/sh\x00-c\x00python AnsiballZ_x.py\x00'), 400: (300, 200, b'python\x00AnsiballZ_x.py\x00')})


def test_the_worker_is_watched_and_its_reparenting_means_the_controller_is_gone(tmp_path):
    proc = ansible_tree(tmp_path)
    watch = ControllerWatch(proc=proc, pid=400)
    assert watch.watching and (watch.worker, watch.controller) == (200, 100)
    assert watch.alive()
    watch.check()
    ansible_tree(tmp_path, worker_parent=1)        # SIGKILL of the controller: init adopts the worker
    assert not watch.alive()
    with pytest.raises(PveApiError) as caught:
        watch.sleep(5)
    assert caught.value.kind == 'abandoned' and 'pid 100' in caught.value.message


def test_a_worker_that_is_gone_too_means_the_controller_is_gone(tmp_path):
    proc = ansible_tree(tmp_path)
    watch = ControllerWatch(proc=proc, pid=400)
    os.remove(os.path.join(proc, '200', 'stat'))
    assert not watch.alive()


SH = b'/bin/sh\x00-c\x00python AnsiballZ_x.py\x00'
PY = b'python\x00AnsiballZ_x.py\x00'
NOT_WATCHED = {
    # become with a pty: sudo leads the session and is no fork of ansible-playbook
    'session leader is no fork of its parent': {
        100: (1, 50, ANSIBLE), 200: (100, 200, b'sudo\x00-H\x00sh\x00'), 300: (200, 200, SH), 400: (300, 200, PY)},
    # an async task: async_wrapper daemonizes the module into a session of its own
    'module leads its own session': {300: (1, 300, SH), 400: (300, 400, PY)},
    # the worker's parent is init (a controller running as PID 1, or already gone)
    'controller is init': {200: (1, 200, ANSIBLE), 300: (200, 200, SH), 400: (300, 200, PY)},
    # the session leader is not above the module
    'session leader is no ancestor': {
        100: (1, 50, ANSIBLE), 200: (100, 200, ANSIBLE), 300: (1, 200, SH), 400: (300, 200, PY)},
}


@pytest.mark.parametrize('case', sorted(NOT_WATCHED) + ['no /proc'])
def test_without_an_ansible_worker_above_it_nothing_is_watched(tmp_path, case):
    proc = fake_proc(tmp_path, NOT_WATCHED[case]) if case in NOT_WATCHED else str(tmp_path / 'missing')
    watch = ControllerWatch(proc=proc, pid=400)
    assert not watch.watching and watch.alive()
    started = time.monotonic()
    watch.sleep(0.05)
    assert time.monotonic() - started >= 0.05


MODULE = textwrap.dedent('''
    import sys
    sys.path[:0] = {paths!r}
    from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.module import ControllerWatch
    from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.client import PveApiError
    watch = ControllerWatch()
    with open({out!r}, 'a') as out:
        out.write('watching %s\\n' % watch.watching)
    try:
        for _second in range(120):
            watch.sleep(1)
        outcome = 'waited to the end'
    except PveApiError as err:
        outcome = err.kind
    with open({out!r}, 'a') as out:
        out.write(outcome + '\\n')
''')


def _lines(path):
    return path.read_text().split() if path.exists() else []


def test_a_module_notices_that_the_killed_controller_is_gone(tmp_path):
    """The process shape of ansible-core: a controller forks a worker that leaves the process group
    (os.setsid) and starts the module through sh; a SIGKILL of the controller leaves both running."""
    out = tmp_path / 'module.txt'
    script = MODULE.format(paths=list(sys.path), out=str(out))
    controller = os.fork()
    if controller == 0:                                 # the controller
        try:
            if os.fork() == 0:                          # its worker
                os.setsid()
                subprocess.call(['/bin/sh', '-c', '"$0" -c "$1" && true', sys.executable, script])
            else:
                time.sleep(120)
        finally:
            os._exit(0)
    try:
        deadline = time.monotonic() + 30
        while 'watching' not in _lines(out):
            assert time.monotonic() < deadline, 'the module did not start'
            time.sleep(0.05)
        assert _lines(out) == ['watching', 'True']
        os.kill(controller, signal.SIGKILL)
        os.waitpid(controller, 0)
        killed = time.monotonic()
        while len(_lines(out)) < 3:
            assert time.monotonic() - killed < 10, 'the module went on waiting after its controller was killed'
            time.sleep(0.05)
        assert _lines(out)[2] == 'abandoned'
        assert time.monotonic() - killed < 3
    finally:
        try:
            os.kill(controller, signal.SIGKILL)
            os.waitpid(controller, 0)
        except OSError:
            pass
