"""ansible-test sanity reports no error on the built collection (scripts/sanity)."""
import os
import subprocess
import time

import pytest

from packaging_helpers import ROOT

pytestmark = pytest.mark.slow


def test_ansible_test_sanity_is_clean(tmp_path):
    env = dict(os.environ, SANITY_WORKDIR=str(tmp_path / 'sanity'))
    started = time.monotonic()
    proc = subprocess.run([os.path.join(ROOT, 'scripts', 'sanity')], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, timeout=1500)
    print('ansible-test sanity: {0:.0f} s'.format(time.monotonic() - started))
    assert proc.returncode == 0, proc.stdout[-8000:]
    assert 'ERROR' not in proc.stdout, proc.stdout[-8000:]
