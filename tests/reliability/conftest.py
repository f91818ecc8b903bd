"""Fixtures of the reliability tests; the helpers are in reliability_support.py."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from reliability_support import run_playbook  # noqa: E402


@pytest.fixture
def playbook(tmp_path):
    """playbook(path_or_plays, sim, **kwargs) -> PlaybookRun (tests/integration/conftest.py run_playbook)."""
    def run(plays, sim, **kwargs):
        return run_playbook(plays, sim.env if hasattr(sim, 'env') else sim, tmp_path, **kwargs)
    return run
