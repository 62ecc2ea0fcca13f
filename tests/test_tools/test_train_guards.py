# Copyright (c) medvlp contributors. All rights reserved.
"""tools/train.py stops early and in one line on what would otherwise train a broken model.

Its ``main`` runs in this process (tests/tool_calls.py): the same exit status and stderr as a
subprocess, without the imports (test_train.py runs the script as a process of its own).
"""
import pytest

from tool_calls import call_tool

pytestmark = pytest.mark.slow

MEDIM = 'configs/medim/medim_vit-tiny-p16_1xb16-30e_demo.py'
FAST = ['train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False']


def _one_line_error(proc, status=2):
    assert proc.returncode == status, proc.stderr[-3000:]
    assert 'Traceback' not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith('train.py: error:')]
    assert len(errors) == 1, proc.stderr[-3000:]
    return errors[0]


def test_diverging_training_stops_at_the_first_non_finite_loss(tmp_path):
    proc = call_tool('train.py', MEDIM, '--work-dir', tmp_path, '--no-validate',
                    '--cfg-options', 'optim_wrapper.optimizer.lr=1e30',
                    'train_cfg.max_epochs=1', 'default_hooks.checkpoint.interval=1', *FAST,
                    check=False)
    error = _one_line_error(proc, status=1)
    assert 'non-finite loss (loss_' in error and 'at iteration 2 (epoch 1)' in error
    assert not list(tmp_path.glob('*.pth'))  # no checkpoint of the broken model


def test_mask_ratio_that_masks_nothing_is_refused_before_training(tmp_path):
    proc = call_tool('train.py', MEDIM, '--work-dir', tmp_path, '--cfg-options',
                    'model.kwm_generator.mask_rule.high_ratio=0.0',
                    'model.kwm_generator.mask_rule.low_ratio=0.0', *FAST, check=False)
    assert 'high_ratio=0.0 and low_ratio=0.0 mask no patch' in _one_line_error(proc)


def test_batch_larger_than_the_dataset_with_drop_last_is_named(tmp_path):
    proc = call_tool('train.py', MEDIM, '--work-dir', tmp_path, '--cfg-options',
                    'train_dataloader.batch_size=128', 'train_dataloader.drop_last=True',
                    *FAST, check=False)
    error = _one_line_error(proc)
    assert 'train_dataloader.batch_size=128 exceeds the 100 training samples' in error


def test_medvlp_value_errors_show_their_traceback_with_medvlp_debug(tmp_path):
    # without MEDVLP_DEBUG such errors are one line (see the mask-ratio test above)
    debug = call_tool('train.py', MEDIM, '--work-dir', tmp_path, '--cfg-options',
                     'model.loss_weights.kmw=1.0', *FAST, env={'MEDVLP_DEBUG': '1'},
                     check=False)
    assert debug.returncode != 0 and 'Traceback' in debug.stderr
    assert "ValueError: unknown loss_weights keys ['kmw']" in debug.stderr
