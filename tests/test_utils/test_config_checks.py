# Copyright (c) medvlp contributors. All rights reserved.
"""Config mistakes that used to fail after an epoch or deep in a library are named up front."""
import pytest
from mmengine.config import Config

from medvlp.utils import UserError
from medvlp.utils.config_checks import check_config

MEDIM = 'configs/medim/medim_vit-tiny-p16_1xb16-30e_demo.py'


def _cfg(**options):
    cfg = Config.fromfile(MEDIM)
    cfg.merge_from_dict(options)
    return cfg


def test_shipped_demo_config_passes():
    check_config(_cfg())


@pytest.mark.parametrize('options, message', [
    ({'default_hooks.checkpoint.max_keep_ckpt': 3},
     'default_hooks.checkpoint: CheckpointHook takes no argument "max_keep_ckpt" '
     '(did you mean "max_keep_ckpts"?)'),
    ({'default_hooks.non_finite.max_skip': 3},
     'default_hooks.non_finite: NonFiniteLossHook takes no argument "max_skip"'),
    ({'train_dataloader.dataset.pipeline.2.max_length': 200},
     'train_dataloader.dataset.pipeline: TokenizeReport max_length=200 exceeds the text '
     "encoder's 128 position embeddings (model.text_encoder.max_position_embeddings)"),
    ({'model.backbone.img_size': 100},
     'model.backbone.img_size=100 is not a multiple of model.backbone.patch_size=16'),
    ({'train_dataloader.dataset.pipeline.1.scale': 100},
     'train_dataloader.dataset.pipeline: RandomResizedCrop scale=100 is not a multiple of '
     'model.backbone.patch_size=16'),
])
def test_mistakes_are_one_line_errors_naming_the_setting(options, message):
    cfg = _cfg()
    pipeline = cfg.train_dataloader.dataset.pipeline
    assert pipeline[2]['type'] == 'TokenizeReport'
    assert pipeline[1]['type'].endswith('RandomResizedCrop')
    for key, value in options.items():
        if '.pipeline.' in key:
            index, arg = key.split('.pipeline.')[1].split('.')
            pipeline[int(index)][arg] = value
        else:
            cfg.merge_from_dict({key: value})
    with pytest.raises(UserError) as info:
        check_config(cfg)
    assert message in str(info.value) and '\n' not in str(info.value)


def test_medvlp_default_hooks_can_be_turned_off():
    from types import SimpleNamespace

    from medvlp.utils import apply_runner_args
    cfg = _cfg(**{'default_hooks.non_finite': None, 'default_hooks.rng_state': None,
                  'default_hooks.checkpoint': None})
    apply_runner_args(cfg, SimpleNamespace(launcher='none', work_dir='w', config=MEDIM))
    assert 'non_finite' not in cfg.default_hooks and 'rng_state' not in cfg.default_hooks
    # mmengine's own defaults keep their None, which is how mmengine removes them
    assert 'checkpoint' in cfg.default_hooks and cfg.default_hooks.checkpoint is None


def test_loaders_without_workers_lose_worker_only_options():
    from types import SimpleNamespace

    import torch

    from medvlp.utils import apply_runner_args
    cfg = Config.fromfile('configs/_base_/datasets/mimic_cxr_report.py')
    assert cfg.train_dataloader.get('prefetch_factor')  # what the full-size config sets
    cfg.train_dataloader.num_workers = 0  # e.g. --cfg-options train_dataloader.num_workers=0
    apply_runner_args(cfg, SimpleNamespace(launcher='none', work_dir='w', config=MEDIM))
    assert 'prefetch_factor' not in cfg.train_dataloader
    assert cfg.train_dataloader.persistent_workers is False
    # torch accepts the worker options left (it refuses prefetch_factor without workers)
    options = {k: cfg.train_dataloader[k] for k in ('num_workers', 'persistent_workers')}
    assert len(list(torch.utils.data.DataLoader(list(range(4)), **options))) == 4
