# Copyright (c) medvlp contributors. All rights reserved.
"""Dataloader workers die with their trainer (parent-death signal)."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
MEDIM = 'configs/medim/medim_vit-tiny-p16_1xb16-30e_demo.py'

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith('linux'), reason='prctl is Linux-only')
]


def _alive(pid):
    try:
        with open(f'/proc/{pid}/stat') as f:
            return f.read().split()[2] != 'Z'
    except FileNotFoundError:
        return False


def test_workers_die_within_seconds_of_kill_9_of_the_trainer(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, 'tools/train.py', MEDIM, '--work-dir', str(tmp_path), '--no-validate',
         '--cfg-options', 'train_dataloader.num_workers=2',
         'train_dataloader.persistent_workers=True', 'default_hooks.logger.interval=1'],
        cwd=REPO_ROOT, env=dict(os.environ, PYTHONPATH=str(REPO_ROOT), OMP_NUM_THREADS='1'),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    workers = []
    try:
        for line in proc.stdout:  # training is under way once the first step is logged
            if 'Epoch(train)' in line:
                break
        workers = subprocess.run(['pgrep', '-P', str(proc.pid)], capture_output=True,
                                 text=True).stdout.split()
        assert len(workers) == 2, workers
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(_alive(w) for w in workers):
            time.sleep(0.1)
        assert not [w for w in workers if _alive(w)], 'workers outlived the trainer'
    finally:
        if proc.poll() is None:
            proc.kill()
        for worker in workers:
            if _alive(worker):
                os.kill(int(worker), signal.SIGKILL)


def test_parent_death_signal_reaches_a_blocked_child():
    """A grandchild blocked in sleep dies when its parent (the "trainer") is killed."""
    code = ('import os, sys, time\n'
            'from medvlp.utils.process import set_parent_death_signal\n'
            'pid = os.fork()\n'
            'if pid == 0:\n'
            '    set_parent_death_signal()\n'
            '    time.sleep(600)\n'
            '    os._exit(0)\n'
            'print(pid, flush=True)\n'
            'time.sleep(600)\n')
    proc = subprocess.Popen([sys.executable, '-c', code], cwd=REPO_ROOT, text=True,
                            env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)),
                            stdout=subprocess.PIPE)
    child = proc.stdout.readline().strip()
    try:
        time.sleep(0.5)  # let the child set the signal
        assert _alive(child)
        proc.kill()
        proc.wait()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and _alive(child):
            time.sleep(0.05)
        assert not _alive(child)
    finally:
        if _alive(child):
            os.kill(int(child), signal.SIGKILL)
