# Copyright (c) medvlp contributors. All rights reserved.
"""A run resumed from a checkpoint reproduces the uninterrupted run's losses (RNGStateHook).

tools/train.py runs in this process (tests/tool_calls.py).
"""
import json

import pytest

from medvlp.utils import load_checkpoint_file
from tool_calls import call_tool

pytestmark = pytest.mark.slow

MEDIM = 'configs/medim/medim_vit-tiny-p16_1xb16-30e_demo.py'


def _options(num_workers, *extra):
    # with 0 workers a validation after the checkpoint draws random numbers in between
    validation = ['val_dataloader.dataset.indices=16', 'val_dataloader.num_workers=0',
                  'val_dataloader.persistent_workers=False', 'train_cfg.val_interval=1'] \
        if num_workers == 0 else ['train_cfg.val_interval=10']
    return ['train_dataloader.dataset.indices=32', f'train_dataloader.num_workers={num_workers}',
            'train_dataloader.persistent_workers=False', 'train_cfg.max_epochs=2',
            'default_hooks.checkpoint.interval=1', 'default_hooks.checkpoint.max_keep_ckpts=-1',
            'default_hooks.logger.interval=1', *validation, *extra]


def _losses(work_dir):
    log = next(work_dir.glob('*/vis_data/scalars.json'))
    rows = [json.loads(line) for line in log.read_text().splitlines()]
    return {row['step']: row['loss'] for row in rows if 'loss' in row}


@pytest.mark.parametrize('num_workers', [0, 2])
def test_resumed_run_reproduces_the_uninterrupted_losses(tmp_path, num_workers):
    full = tmp_path / 'full'
    # --resume on an empty work dir says so, then trains from scratch
    proc = call_tool('train.py', MEDIM, '--work-dir', full, '--resume', '--cfg-options',
                     *_options(num_workers))
    assert 'train.py: warning: --resume found no checkpoint to resume' in proc.stderr
    assert proc.stdout.count('train.py: finished') == 1
    assert 'rng_state' in load_checkpoint_file(str(full / 'epoch_1.pth'))

    resumed = tmp_path / 'resumed'
    proc = call_tool('train.py', MEDIM, '--work-dir', resumed, '--resume',
                     str(full / 'epoch_1.pth'), '--cfg-options', *_options(num_workers))
    assert 'restored the random state' in proc.stdout + proc.stderr
    expected, got = _losses(full), _losses(resumed)
    assert sorted(got) == [3, 4]  # the second epoch: 2 iterations of 16 samples
    for step in got:
        assert got[step] == pytest.approx(expected[step], abs=1e-5), (step, got, expected)
    # and the weights at the end are the same
    a = load_checkpoint_file(str(full / 'epoch_2.pth'))['state_dict']
    b = load_checkpoint_file(str(resumed / 'epoch_2.pth'))['state_dict']
    assert max((a[k].float() - b[k].float()).abs().max().item() for k in a) < 1e-5
