# Copyright (c) medvlp contributors. All rights reserved.
"""NonFiniteLossHook: training stops (or skips) at a NaN/inf loss before the weights break."""
import pytest
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn

from medvlp.engine.hooks import NonFiniteLossHook
from medvlp.registry import HOOKS
from medvlp.utils import TrainingError


class ToyModel(BaseModel):
    """A linear regressor whose ``loss_bad`` term is NaN (or inf) on chosen iterations."""

    def __init__(self, bad_iters=(), value=float('nan')):
        super().__init__()
        self.linear = nn.Linear(4, 1)
        self.bad_iters = set(bad_iters)
        self.value = value
        self.calls = 0

    def forward(self, inputs, targets=None, mode='tensor'):
        self.calls += 1
        inputs = torch.stack(inputs) if isinstance(inputs, list) else inputs
        pred = self.linear(inputs).squeeze(1)
        targets = torch.stack(targets) if isinstance(targets, list) else targets
        mse = ((pred - targets) ** 2).mean()
        bad = mse * (self.value if self.calls in self.bad_iters else 0.)
        return dict(loss_mse=mse, loss_bad=bad)


def _dataset(n=16):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(n, 4, generator=gen)
    return [dict(inputs=x[i], targets=x[i].sum()) for i in range(n)]


def _runner(tmp_path, model, hook_cfg, max_iters=6):
    return Runner(
        model=model,
        work_dir=str(tmp_path),
        train_dataloader=dict(dataset=_dataset(), batch_size=4, num_workers=0,
                              sampler=dict(type='DefaultSampler', shuffle=False),
                              collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1, by_epoch=False)),
        custom_hooks=[hook_cfg] if hook_cfg else None,
        default_scope='medvlp')


def _finite_weights(model):
    return all(torch.isfinite(p).all() for p in model.parameters())


@pytest.mark.parametrize('value', [float('nan'), float('inf')])
def test_stops_at_first_non_finite_loss_naming_term_and_iteration(tmp_path, value):
    model = ToyModel(bad_iters={3}, value=value)
    runner = _runner(tmp_path, model, dict(type='NonFiniteLossHook'))
    with pytest.raises(TrainingError) as info:
        runner.train()
    message = str(info.value)
    assert '\n' not in message
    assert 'non-finite loss (loss_bad) at iteration 3' in message
    # the bad step never reached the weights, nor a checkpoint
    assert _finite_weights(model)
    saved = sorted(p.name for p in tmp_path.glob('iter_*.pth'))
    assert saved == ['iter_1.pth', 'iter_2.pth']
    for name in saved:
        state = torch.load(tmp_path / name, weights_only=False)['state_dict']
        assert all(torch.isfinite(t).all() for t in state.values())


def test_without_the_hook_the_weights_become_nan(tmp_path):
    """What the hook prevents: mmengine trains on and saves a NaN model."""
    model = ToyModel(bad_iters={3})
    _runner(tmp_path, model, None).train()
    assert not _finite_weights(model)


def test_skips_and_counts_up_to_max_skips(tmp_path):
    model = ToyModel(bad_iters={2, 5})
    runner = _runner(tmp_path, model, dict(type='NonFiniteLossHook', max_skips=2))
    runner.train()
    hook = next(h for h in runner.hooks if isinstance(h, NonFiniteLossHook))
    assert hook.skipped == 2 and runner.iter == 6
    assert _finite_weights(model)

    model = ToyModel(bad_iters={2, 4, 5})
    runner = _runner(tmp_path / 'again', model, dict(type='NonFiniteLossHook', max_skips=2))
    with pytest.raises(TrainingError, match=r'at iteration 5 after skipping 2'):
        runner.train()
    assert _finite_weights(model)


def test_is_on_in_the_default_runtime_and_checks_its_argument():
    from mmengine.config import Config
    cfg = Config.fromfile('configs/_base_/default_runtime.py')
    assert cfg.default_hooks.non_finite.type == 'NonFiniteLossHook'
    with pytest.raises(ValueError, match='max_skips must be an integer >= 0'):
        HOOKS.build(dict(type='NonFiniteLossHook', max_skips=-1))
