"""`molecule test -s default` (extensions/molecule/default) passes: simulator up, deploy, idempotence,
verify, destroy, nothing owned left, simulator down."""
import os
import subprocess
import time

import pytest

from packaging_helpers import BIN, ROOT, clean_env, free_port

pytestmark = pytest.mark.slow


def test_molecule_default_scenario(tmp_path):
    env = clean_env(tmp_path / 'ansible-home', DEPLOYSTAND_SIM_PORT=str(free_port()))
    started = time.monotonic()
    proc = subprocess.run([os.path.join(BIN, 'molecule'), 'test', '-s', 'default'], cwd=ROOT, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=1200)
    took = time.monotonic() - started
    print('molecule test -s default: {0:.0f} s'.format(took))
    assert proc.returncode == 0, proc.stdout[-6000:]
    for step in ('create', 'converge', 'idempotence', 'verify', 'side_effect', 'destroy'):
        assert '{0}: Executed: Successful'.format(step) in proc.stdout, (step, proc.stdout[-6000:])
