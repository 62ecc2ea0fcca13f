# Copyright (c) medvlp contributors. All rights reserved.
"""Checkpoints saved by tools/train.py carry a sha256 sidecar that every load checks."""
import pytest

from medvlp.utils import load_checkpoint_file
from medvlp.utils.checkpoint import CorruptCheckpointError, verify_checkpoint_digest
from tool_calls import call_tool

pytestmark = pytest.mark.slow
CONFIG = 'configs/demo/mae_vit-tiny-p16_1xb8-10e_demo.py'
FAST = ['train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False']


def _overwrite_middle(path, size=4096):
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + size] = bytes(size)
    path.write_bytes(bytes(data))


def test_sidecars_corruption_and_auto_resume_fallback(tmp_path):
    call_tool('train.py', CONFIG, '--work-dir', tmp_path, '--cfg-options',
              'train_cfg.max_epochs=3', 'default_hooks.checkpoint.interval=1',
              'default_hooks.checkpoint.max_keep_ckpts=2', *FAST)
    # max_keep_ckpts removed epoch_1.pth, and its sidecar with it
    assert sorted(p.name for p in tmp_path.glob('*.sha256')) == \
        ['epoch_2.pth.sha256', 'epoch_3.pth.sha256']
    assert all(verify_checkpoint_digest(str(tmp_path / f'epoch_{e}.pth')) for e in (2, 3))

    latest = tmp_path / 'epoch_3.pth'
    _overwrite_middle(latest)
    with pytest.raises(CorruptCheckpointError, match='checksum'):
        load_checkpoint_file(str(latest))

    # an explicit --resume of the damaged file is a one-line error naming it
    proc = call_tool('train.py', CONFIG, '--work-dir', tmp_path / 'explicit', '--resume',
                     latest, '--cfg-options', 'train_cfg.max_epochs=4', *FAST, check=False)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert 'error: checkpoint' in proc.stderr and 'epoch_3.pth' in proc.stderr
    assert 'Traceback' not in proc.stderr

    # auto-resume skips it, says so, and resumes from the newest intact one
    proc = call_tool('train.py', CONFIG, '--work-dir', tmp_path, '--resume', '--cfg-options',
                     'train_cfg.max_epochs=4', *FAST)
    out = proc.stdout + proc.stderr
    assert 'auto-resume: skipping' in out and 'epoch_3.pth' in out
    assert 'resumed epoch: 2' in out
    assert load_checkpoint_file(str(tmp_path / 'epoch_4.pth'))['meta']['epoch'] == 4
