# Copyright (c) medvlp contributors. All rights reserved.
"""End-to-end runs of tools/train.py and tools/dist_train.sh on the embedded demo data.

The first training and one bad input run as processes of their own (``run_tool``); the rest
call the tools' ``main`` in this process (``call_tool``, tests/tool_calls.py), which skips a
subprocess's 5-10 s of imports and gives the same exit status and output.
"""
import json

import pytest

from medvlp.utils import load_checkpoint_file
from tool_calls import call_tool

pytestmark = pytest.mark.slow

DEMO_CONFIG = 'configs/demo/mae_vit-tiny-p16_1xb8-10e_demo.py'
ITERS_PER_EPOCH = 13  # 100 demo images, batch size 8
FAST = ['train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False']


def _adam_steps(checkpoint):
    return {int(s['step']) for s in checkpoint['optimizer']['state'].values()}


@pytest.fixture(scope='module')
def trained(tmp_path_factory, run_tool):
    work_dir = tmp_path_factory.mktemp('mae_demo')
    run_tool('train.py', DEMO_CONFIG, '--work-dir', work_dir, '--cfg-options',
             'train_cfg.max_epochs=2', *FAST)
    return work_dir


def test_train_saves_checkpoint(trained):
    ckpt = load_checkpoint_file(str(trained / 'epoch_2.pth'))
    assert ckpt['meta']['epoch'] == 2
    assert ckpt['meta']['iter'] == 2 * ITERS_PER_EPOCH
    assert any(k.startswith('backbone.') for k in ckpt['state_dict'])
    assert _adam_steps(ckpt) == {2 * ITERS_PER_EPOCH}
    # the loss was logged and went down over the two epochs
    log = next(trained.glob('*/vis_data/scalars.json'))
    losses = [json.loads(line)['loss'] for line in log.read_text().splitlines()
              if '"loss"' in line]
    assert len(losses) >= 2 and losses[-1] < losses[0]


@pytest.mark.parametrize('how', ['auto', 'path'])
def test_resume_restores_iteration_and_optimizer(trained, tmp_path, how):
    work_dir = tmp_path / 'resumed'
    if how == 'auto':  # resume from the latest checkpoint of a work dir
        import shutil
        shutil.copytree(trained, work_dir)
        resume = ['--resume']
    else:
        resume = ['--resume', str(trained / 'epoch_2.pth')]
    proc = call_tool('train.py', DEMO_CONFIG, '--work-dir', work_dir, *resume,
                     '--cfg-options', 'train_cfg.max_epochs=3', *FAST)
    assert 'resumed epoch: 2, iter: 26' in proc.stdout + proc.stderr
    ckpt = load_checkpoint_file(str(work_dir / 'epoch_3.pth'))
    assert ckpt['meta']['iter'] == 3 * ITERS_PER_EPOCH
    # Adam's step counters continued from the checkpoint instead of restarting at 0
    assert _adam_steps(ckpt) == {3 * ITERS_PER_EPOCH}


def test_dist_train_two_cpu_processes(tmp_path, run_tool):
    proc = run_tool('dist_train.sh', DEMO_CONFIG, 2, '--work-dir', tmp_path,
                    '--cfg-options', 'train_cfg.max_epochs=1', *FAST,
                    env={'PORT': '29531'})
    out = proc.stdout + proc.stderr
    assert "'backend': 'gloo'" in out or 'gloo' in out
    assert out.count('train.py: finished') == 1  # printed by rank 0 only
    ckpt = load_checkpoint_file(str(tmp_path / 'epoch_1.pth'))
    # 100 images over 2 processes with 8 each: ceil(50 / 8) = 7 iterations per epoch
    assert ckpt['meta']['iter'] == 7


@pytest.mark.parametrize('args, message', [
    (['configs/demo/no_such_config.py'], 'config file "configs/demo/no_such_config.py" '
     'does not exist'),
    ([DEMO_CONFIG, '--resume', 'work_dirs/none/epoch_9.pth'],
     '--resume: checkpoint "work_dirs/none/epoch_9.pth" does not exist'),
    ([DEMO_CONFIG, '--cfg-options', 'model.backbone.type=MAEVit'],
     'unknown type in config: MAEVit is not in the mmpretrain::model registry'),
    ([DEMO_CONFIG, '--auto-scale-lr', '--cfg-options', 'auto_scale_lr=None'],
     '--auto-scale-lr needs auto_scale_lr.base_batch_size'),
    ([DEMO_CONFIG, '--cfg-options', 'model.head.norm_pixel=True'],
     'wrong key in config: MAEPretrainHead takes no argument "norm_pixel"'),
    ([DEMO_CONFIG, '--test-out', 'metrics.json'],
     f'--test-out: {DEMO_CONFIG} has no test_dataloader, test_cfg and test_evaluator'),
    ([DEMO_CONFIG, '--test-out', 'metrics.pkl'], '--test-out must end with .json'),
])
def test_bad_input_gives_one_line_error(tmp_path, args, message):
    proc = call_tool('train.py', *args, '--work-dir', tmp_path, check=False)
    assert proc.returncode == 2
    assert f'train.py: error: {message}' in proc.stderr
    assert 'Traceback' not in proc.stderr


def test_bad_input_ends_the_process_with_status_2(tmp_path, run_tool):
    """The same one line from a process of its own, as a shell or CI job sees it."""
    proc = run_tool('train.py', 'configs/demo/no_such_config.py', '--work-dir', tmp_path,
                    check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        'train.py: error: config file "configs/demo/no_such_config.py" does not exist']


@pytest.mark.skipif(__import__('torch').cuda.is_available(), reason='checks the CPU message')
def test_amp_without_gpu_is_refused(tmp_path):
    proc = call_tool('train.py', DEMO_CONFIG, '--amp', '--work-dir', tmp_path, check=False)
    assert proc.returncode == 2
    assert 'train.py: error: --amp needs a CUDA GPU; this machine has none' in proc.stderr


def test_test_tool_explains_configs_without_test_loop(trained):
    """Pre-training configs have no test set: test.py says so instead of crashing."""
    proc = call_tool('test.py', DEMO_CONFIG, trained / 'epoch_2.pth', check=False)
    assert proc.returncode == 2
    assert 'test.py: error: the config has no test_dataloader' in proc.stderr
    missing = call_tool('test.py', DEMO_CONFIG, trained / 'epoch_99.pth', check=False)
    assert missing.returncode == 2
    assert 'does not exist' in missing.stderr and 'Traceback' not in missing.stderr


@pytest.mark.parametrize('supported, requested, expected', [
    (True, 'auto', 'bfloat16'), (False, 'auto', 'float16'), (True, 'float16', 'float16')])
def test_amp_uses_bf16_without_loss_scaling_where_supported(monkeypatch, repo_root,
                                                            supported, requested, expected):
    """--amp on a GPU: bf16 autocast (no GradScaler) where supported, else fp16 scaled."""
    import importlib.util

    import torch
    spec = importlib.util.spec_from_file_location('train_tool', repo_root / 'tools/train.py')
    train = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(torch.cuda, 'is_bf16_supported', lambda: supported)
    from medvlp.utils import load_config
    args = train.parse_args([str(repo_root / DEMO_CONFIG), '--amp', '--amp-dtype', requested,
                             '--work-dir', '/tmp/unused'])
    cfg = train.merge_args(load_config(args.config), args)
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.dtype == expected
    scale = cfg.optim_wrapper.loss_scale
    assert scale == (dict(enabled=False) if expected == 'bfloat16' else 'dynamic')
