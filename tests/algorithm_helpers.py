# Copyright (c) medvlp contributors. All rights reserved.
"""Shared by the algorithm tests: a real demo batch and models built from a config."""
import copy
from pathlib import Path

from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from medvlp.utils import register_all_modules


def demo_config_and_batch(config: Path, work_dir: Path, batch_size: int):
    """The config (single-process loader) and one training batch of the demo data."""
    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(str(config))
    cfg.work_dir = str(work_dir)
    cfg.log_level = 'WARNING'
    cfg.train_dataloader.update(num_workers=0, persistent_workers=False,
                                batch_size=batch_size)
    with DefaultScope.overwrite_default_scope('medvlp'):
        batch = next(iter(Runner.build_dataloader(cfg.train_dataloader, seed=0)))
    return cfg, batch


def build_model(cfg: Config, init: bool = True, **overrides):
    """``cfg.model`` with ``overrides`` (dotted keys reach nested dicts), built in medvlp."""
    from medvlp.registry import MODELS
    model_cfg = copy.deepcopy(cfg.model)
    for key, value in overrides.items():
        target = model_cfg
        *parents, last = key.split('.')
        for parent in parents:
            target = target[parent]
        target[last] = value
    with DefaultScope.overwrite_default_scope('medvlp'):
        model = MODELS.build(model_cfg)
    if init:
        model.init_weights()
    return model
