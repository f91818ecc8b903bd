"""The changelog fragments and changelogs/config.yaml pass antsibull-changelog lint (pinned in
requirements/test.txt), so a release can build CHANGELOG.md from them."""
import os
import shutil
import subprocess
import sys

import pytest

from packaging_helpers import ROOT


def _antsibull_changelog():
    beside = os.path.join(os.path.dirname(sys.executable), 'antsibull-changelog')
    return beside if os.path.exists(beside) else shutil.which('antsibull-changelog')


def test_changelog_fragments_pass_antsibull_changelog_lint():
    tool = _antsibull_changelog()
    if tool is None:
        pytest.skip('antsibull-changelog is not installed (requirements/test.txt pins it; ./scripts/setup installs it)')
    proc = subprocess.run([tool, 'lint'], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=300)
    assert proc.returncode == 0, proc.stdout
    assert proc.stdout.strip() == '', proc.stdout
