# Copyright (c) medvlp contributors. All rights reserved.
"""`make test PYTEST_ARGS=...` runs what PYTEST_ARGS names, not always the whole suite."""
import shutil
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which('make') is None, reason='needs make')


def _pytest_command(*make_args):
    out = subprocess.run(['make', '-n', 'test', *make_args], cwd=REPO_ROOT, check=True,
                         capture_output=True, text=True).stdout
    return next(line.split() for line in out.splitlines() if '-m pytest' in line)


def test_pytest_args_select_the_tests():
    command = _pytest_command('PYTEST_ARGS=tests/test_utils -x')
    assert command[command.index('pytest') + 1:] == ['tests/test_utils', '-x']


def test_without_pytest_args_the_configured_testpaths_run():
    command = _pytest_command()
    assert command[-1] == 'pytest'  # setup.cfg: testpaths = tests
    assert 'testpaths = tests' in (REPO_ROOT / 'setup.cfg').read_text()
