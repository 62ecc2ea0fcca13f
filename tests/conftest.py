# Copyright (c) medvlp contributors. All rights reserved.
"""Fixtures shared by the whole test suite."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
from demo_pretrain import DemoCheckpoints, DemoRuns, JoImTeRNetRun

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """Where the real test data lives: $MEDVLP_SHARED_DATA or <repo>/../shared/data."""
    return Path(os.environ.get('MEDVLP_SHARED_DATA', REPO_ROOT.parent / 'shared' / 'data'))


@pytest.fixture(scope='session')
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope='session')
def shared_data() -> Path:
    """The real chest X-ray / report data; tests using it skip when it is absent."""
    path = shared_data_dir()
    if not path.is_dir():
        pytest.skip(f'real data not found at {path}; set MEDVLP_SHARED_DATA to the folder '
                    'holding covid-cxr/, openi/ and vocab/')
    return path


@pytest.fixture(scope='session')
def run_tool():
    """Run a script from tools/ in a subprocess; returns the CompletedProcess."""

    def _run(*args, env=None, timeout=600, check=True):
        cmd = [sys.executable if str(args[0]).endswith('.py') else 'bash'] + \
            [str(REPO_ROOT / 'tools' / args[0])] + [str(a) for a in args[1:]]
        full_env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), PYTHON=sys.executable,
                        OMP_NUM_THREADS='1')
        full_env.update(env or {})
        proc = subprocess.run(cmd, cwd=REPO_ROOT, env=full_env, capture_output=True,
                              text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f'{" ".join(cmd)} exited {proc.returncode}\n'
                                 f'--- stdout ---\n{proc.stdout[-5000:]}\n'
                                 f'--- stderr ---\n{proc.stderr[-5000:]}')
        return proc

    return _run


@pytest.fixture
def clean_user_package():
    """Forget the docs' example package ``my_project`` before and after a test.

    Several guides put their worked example in a package of that name, each test in its own
    tmp folder; a cached import from another test would otherwise shadow this one's files.
    """

    def _forget():
        for name in [m for m in sys.modules if m == 'my_project' or
                     m.startswith('my_project.')]:
            del sys.modules[name]

    _forget()
    yield
    _forget()


@pytest.fixture(scope='session')
def mimic_layout(shared_data, tmp_path_factory):
    """A MIMIC-CXR-JPG + reports folder built from real data (see tests/mimic_layout.py)."""
    from mimic_layout import build_mimic_layout
    return build_mimic_layout(tmp_path_factory.mktemp('mimic_layout'), shared_data)


@pytest.fixture(scope='session')
def demo_runs(tmp_path_factory) -> DemoRuns:
    """The session's shared demo pre-training runs (tests/demo_pretrain.py), trained lazily."""
    return DemoRuns(tmp_path_factory.mktemp('demo_pretrain'))


@pytest.fixture(scope='session')
def demo_pretrain_checkpoints(demo_runs) -> DemoCheckpoints:
    """Real pre-training checkpoints through tools/train.py's ``main``, one per demo config.

    A mapping ``{'medim' | 'mrm' | 'joimternet': Path}`` that trains each run when its key is
    first read: one epoch for MedIM and MRM, and for JoImTeRNet the shared
    ``joimternet_demo_run``. The image encoder of each is a ViT with
    ``demo_pretrain.DEMO_BACKBONE_ARCH`` at ``DEMO_IMG_SIZE`` px under ``backbone.``.
    """
    return DemoCheckpoints(demo_runs)


@pytest.fixture(scope='session')
def joimternet_demo_run(demo_runs) -> JoImTeRNetRun:
    """(work_dir, config, checkpoint) of the JoImTeRNet demo config trained for
    ``demo_pretrain.JOIMTERNET_DEMO_EPOCHS`` epochs: it learns to pair the demo's images and
    reports (in-sample retrieval well above chance). Read-only for tests, but for new
    sub-folders."""
    return demo_runs.joimternet()
