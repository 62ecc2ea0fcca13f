# Copyright (c) medvlp contributors. All rights reserved.
"""tools/setup_env.sh is idempotent: a second run over a ready environment does nothing."""
import os
import subprocess
import sys
from pathlib import Path

import pytest


def _setup_env(repo_root, venv, *args):
    return subprocess.run(['bash', str(repo_root / 'tools/setup_env.sh'), *args],
                          env=dict(os.environ, MEDVLP_VENV=str(venv)),
                          capture_output=True, text=True, timeout=120)


def test_ready_environment_is_left_alone(repo_root):
    venv = Path(sys.prefix)
    if not (venv / '.medvlp-env-stamp').is_file():
        pytest.skip('the tests do not run inside an environment made by tools/setup_env.sh')
    check = _setup_env(repo_root, venv, '--check')
    if check.returncode == 1:
        pytest.skip('this environment is older than the requirement files; the test must '
                    'not reinstall it: run make env')
    assert check.returncode == 0, check.stderr
    proc = _setup_env(repo_root, venv)
    assert proc.returncode == 0, proc.stderr
    assert f'environment {venv} is up to date' in proc.stdout


def test_check_reports_a_missing_environment(repo_root, tmp_path):
    proc = _setup_env(repo_root, tmp_path / 'no-venv', '--check')
    assert proc.returncode == 1
    assert 'is missing or out of date; run: bash tools/setup_env.sh' in proc.stdout
    assert not (tmp_path / 'no-venv').exists()  # nothing was created


def test_mmcv_source_build_uses_cxx20(repo_root):
    """The from-source path rewrites mmcv's C++ standard flags for torch >= 2.13."""
    script = (repo_root / 'tools/setup_env.sh').read_text()
    sed = next(line.strip() for line in script.splitlines() if line.strip().startswith('sed '))
    sample = ("extra_compile_args = {'cxx': ['-std=c++14']}\n"
              "cuda_args = ['-std=c++17']\n")
    expression = sed.split("'")[1]
    out = subprocess.run(['sed', '-E', expression], input=sample, capture_output=True,
                         text=True, check=True).stdout
    assert out.count('-std=c++20') == 2 and 'c++14' not in out and 'c++17' not in out
