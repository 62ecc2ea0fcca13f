# Copyright (c) medvlp contributors. All rights reserved.
"""tools/train.py --tensorboard logs the training scalars as TensorBoard events."""
import pytest
from mmengine.config import Config

from medvlp.utils import UserError
from medvlp.visualization.tracking import add_trackers
from tool_calls import call_tool

MAE_DEMO = 'configs/demo/mae_vit-tiny-p16_1xb8-10e_demo.py'


def test_add_trackers_keeps_the_local_backend_once():
    cfg = Config(dict(visualizer=dict(type='Visualizer',
                                      vis_backends=[dict(type='LocalVisBackend')])))
    add_trackers(cfg, ['tensorboard'])
    add_trackers(cfg, ['tensorboard'])
    assert [b['type'] for b in cfg.visualizer.vis_backends] == ['LocalVisBackend',
                                                                'TensorboardVisBackend']
    with pytest.raises(UserError, match='unknown tracker "wandb"'):
        add_trackers(cfg, ['wandb'])


def test_mlflow_without_the_package_is_a_one_line_error(monkeypatch):
    import importlib.util
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, 'find_spec',
                        lambda name, *a: None if name == 'mlflow' else real(name, *a))
    with pytest.raises(UserError, match='--mlflow needs the mlflow package'):
        add_trackers(Config(dict()), ['mlflow'])


@pytest.mark.slow
def test_train_with_tensorboard_writes_loss_events(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    call_tool('train.py', MAE_DEMO, '--work-dir', tmp_path, '--tensorboard', '--cfg-options',
              'train_cfg.max_epochs=1', 'default_hooks.logger.interval=2',
              'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False')
    events = list(tmp_path.glob('*/vis_data/events.out.tfevents.*'))
    assert len(events) == 1
    acc = EventAccumulator(str(events[0].parent))
    acc.Reload()
    assert {'loss', 'lr'} <= set(acc.Tags()['scalars'])
    assert len(acc.Scalars('loss')) >= 2
    assert list(tmp_path.glob('*/vis_data/scalars.json'))  # the local backend still writes
