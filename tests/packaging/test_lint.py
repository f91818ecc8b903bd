"""ansible-lint --profile production reports nothing on the repository (roles, playbooks, molecule)."""
import os
import subprocess
import time

import pytest

from packaging_helpers import BIN, ROOT, clean_env

pytestmark = pytest.mark.slow


def test_ansible_lint_production_profile_is_clean(tmp_path):
    started = time.monotonic()
    proc = subprocess.run([os.path.join(BIN, 'ansible-lint'), '--profile', 'production', '--offline', '--nocolor'],
                          cwd=ROOT, env=clean_env(tmp_path / 'ansible-home'), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, timeout=900)
    print('ansible-lint: {0:.0f} s'.format(time.monotonic() - started))
    assert proc.returncode == 0, proc.stdout[-8000:]
