# Copyright (c) medvlp contributors. All rights reserved.
"""Every config in configs/ parses, and every model in it builds.

Benchmark specs (configs/benchmarks/specs/) are not runner configs; tests/test_benchmark/
checks them."""
from pathlib import Path

import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope

from medvlp.utils import register_all_modules

REPO_ROOT = Path(__file__).resolve().parents[1]
SPECS = REPO_ROOT / 'configs' / 'benchmarks' / 'specs'
CONFIGS = sorted(p.relative_to(REPO_ROOT) for p in (REPO_ROOT / 'configs').rglob('*.py')
                 if SPECS not in p.parents)
FULL_SIZE = ('vit-b', 'vit-l')  # built in their own tests, shrunk


@pytest.mark.parametrize('path', CONFIGS, ids=str)
def test_config_parses_and_model_builds(path):
    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(str(REPO_ROOT / path))
    if '_base_' not in path.parts:
        assert cfg.get('default_scope') in ('medvlp', 'mmseg'), 'inherit a default runtime'
    if 'model' not in cfg or any(tag in path.name for tag in FULL_SIZE):
        return
    scope = cfg.get('default_scope', 'medvlp')
    with DefaultScope.overwrite_default_scope(scope):
        if scope == 'mmseg':
            from mmseg.registry import MODELS
        else:
            from medvlp.registry import MODELS
        model = MODELS.build(cfg.model)
    assert sum(p.numel() for p in model.parameters()) > 0


MIMIC_PRETRAINING = sorted(p for p in CONFIGS if p.parts[1] in ('medim', 'mrm', 'joimternet')
                           and '_mimic' in p.name)


@pytest.mark.parametrize('path', MIMIC_PRETRAINING, ids=str)
def test_full_size_pretraining_loaders_keep_a_gpu_fed(path):
    """The MIMIC pre-training configs decode one grey channel of the converter's
    pre-resized JPEGs, crop it and send it to the GPU as one channel, and keep 8+ workers
    alive with pinned memory and prefetching (docs/en/input_pipeline.md)."""
    loader = Config.fromfile(str(REPO_ROOT / path)).train_dataloader
    load, crop = loader.dataset.pipeline[:2]
    assert (load['type'], load.get('channels')) == ('LoadCXRImage', 1)
    assert (crop['type'], crop.get('channels')) == ('CXRRandomResizedCrop', 1)
    assert 'TokenizeReport' in [t['type'] for t in loader.dataset.pipeline]
    assert loader.num_workers >= 8 and loader.persistent_workers and loader.pin_memory
    assert loader.prefetch_factor >= 2
    # text fields handed over, pinned and copied to the GPU as one block per field
    assert loader.collate_fn['type'] == 'medvlp.image_report_collate'
    # the model repeats the one channel to 3 on the GPU
    model = Config.fromfile(str(REPO_ROOT / path)).model
    assert model.data_preprocessor['type'] == 'CXRDataPreprocessor'
    # the official presets keep Pillow's resize, so their pixels are mmpretrain's
    if path.name in ('mrm_vit-b_mimic.py', 'medim_vit-b-p16_8xb18-50e_mimic_official.py'):
        assert crop['backend'] == 'pillow'


def three_channel(pipeline: list) -> list:
    """``pipeline`` with 3-channel images: a 3-channel load, or a 3-channel crop."""
    out = []
    for t in pipeline:
        if t['type'] == 'CXRRandomResizedCrop' or (
                t['type'] == 'LoadCXRImage' and
                not any(c['type'] == 'CXRRandomResizedCrop' for c in pipeline)):
            t = dict(t, channels=3)
        out.append(t)
    return out


# MRM's config is pre-training only (no validation loader)
LOADERS = [(path, split) for path in MIMIC_PRETRAINING for split in ('train', 'val')
           if split == 'train' or Config.fromfile(str(REPO_ROOT / path)).get('val_dataloader')]


@pytest.mark.parametrize('path, split', LOADERS, ids=lambda v: str(v))
def test_one_channel_loader_gives_the_model_the_three_channel_inputs(path, split):
    """On real demo X-rays, each MIMIC config's one-channel training and evaluation
    pipelines and its data preprocessor give the model exactly what the same pipelines
    with 3-channel images give."""
    import random

    import numpy as np
    import torch
    from mmengine.dataset import default_collate

    from medvlp.registry import DATASETS, MODELS
    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(str(REPO_ROOT / path))
    one = cfg.get(f'{split}_dataloader').dataset.pipeline
    assert one[0]['type'] == 'LoadCXRImage' and one[0].get('channels') == 1
    three = three_channel(one)
    batches = []
    with DefaultScope.overwrite_default_scope('medvlp'):
        preprocessor = MODELS.build(cfg.model.data_preprocessor)
        for pipeline in (one, three):
            dataset = DATASETS.build(dict(
                type='ImageReportDataset', data_root=str(REPO_ROOT / 'demo' / 'cxr'),
                ann_file='annotations.jsonl', data_prefix=dict(img_path=''),
                pipeline=pipeline, indices=4))
            random.seed(0)
            np.random.seed(0)
            batches.append(default_collate([dataset[i] for i in range(4)]))
    assert batches[0]['inputs'].shape[1] == 1 and batches[1]['inputs'].shape[1] == 3
    grey, colour = (preprocessor(batch, True)['inputs'] for batch in batches)
    assert grey.shape == colour.shape == (4, 3) + batches[1]['inputs'].shape[2:]
    assert torch.equal(grey, colour)
    assert grey.std() > 0  # real pixels, not a blank
