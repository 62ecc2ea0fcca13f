# Copyright (c) medvlp contributors. All rights reserved.
"""tools/setup_env.sh is idempotent: a second run over a ready environment does nothing."""
import os
import subprocess
import sys
from pathlib import Path

import pytest


def test_ready_environment_is_left_alone(repo_root):
    venv = Path(sys.prefix)
    if not (venv / '.medvlp-env-stamp').is_file():
        pytest.skip('the tests do not run inside an environment made by tools/setup_env.sh')
    proc = subprocess.run(['bash', str(repo_root / 'tools/setup_env.sh')],
                          env=dict(os.environ, MEDVLP_VENV=str(venv)),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert f'environment {venv} is up to date' in proc.stdout


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
