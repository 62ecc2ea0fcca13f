# Copyright (c) medvlp contributors. All rights reserved.
"""The downstream classification recipes: composition, MRM's step/lr table, the frozen
linear probe, layer-wise lr decay, and loading medvlp pre-training checkpoints."""
import glob
import os.path as osp
import re

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

from medvlp.registry import MODELS
from demo_pretrain import DEMO_BACKBONE_ARCH, DEMO_IMG_SIZE
from medvlp.utils.pretrained import PretrainedMismatchError

ROOT = osp.join(osp.dirname(__file__), '..', '..')


RECIPES = osp.join(ROOT, 'configs', 'benchmarks', 'classification')
#: MRM's fine-tuning table: (task, % labels) -> (warm-up steps, steps, lr)
MRM_TABLE = {
    ('nih', 1): (50, 3000, 3e-2), ('nih', 10): (500, 30000, 3e-3),
    ('nih', 100): (5000, 200000, 3e-3), ('chexpert', 1): (150, 2000, 3e-3),
    ('chexpert', 10): (1500, 60000, 5e-4), ('chexpert', 100): (15000, 200000, 5e-4),
    ('rsna', 1): (50, 2000, 3e-3), ('rsna', 10): (200, 10000, 5e-4),
    ('rsna', 100): (2000, 50000, 5e-4), ('covid', 100): (50, 1000, 3e-2),
}
NUM_CLASSES = {'nih': 14, 'chexpert': 5, 'rsna': 1, 'covid': 1}
PROTOCOLS = ('ft', 'linear-probe', 'ft-layer-decay')


def recipe(task, fraction, protocol):
    found = glob.glob(osp.join(RECIPES, task,
                               f'vit-base-p16_{protocol}_8xb12-*_{task}-{fraction}pct.py'))
    assert len(found) == 1, (task, fraction, protocol, found)
    return Config.fromfile(found[0])


def demo_sized(cfg, checkpoint=None):
    """A recipe's model with the backbone at the demo checkpoints' size."""
    model = cfg.model.copy()
    model.backbone.arch = dict(DEMO_BACKBONE_ARCH)
    model.backbone.img_size = DEMO_IMG_SIZE
    if model.backbone.get('frozen_stages', -1) > 0:
        model.backbone.frozen_stages = DEMO_BACKBONE_ARCH['num_layers']
    model.head.in_channels = DEMO_BACKBONE_ARCH['embed_dims']
    if checkpoint is not None:
        model.backbone.init_cfg.checkpoint = str(checkpoint)
    return model


@pytest.fixture(autouse=True)
def medvlp_scope():
    # scoped to each test: a global default scope would leak into later test modules
    with DefaultScope.overwrite_default_scope('medvlp'):
        yield


@pytest.mark.parametrize('task, fraction', sorted(MRM_TABLE))
def test_recipes_follow_the_protocols(task, fraction):
    warmup, steps, lr = MRM_TABLE[task, fraction]
    for protocol in PROTOCOLS:
        cfg = recipe(task, fraction, protocol)
        backbone = cfg.model.backbone
        assert cfg.model.type == 'mmpretrain.ImageClassifier'
        assert backbone.type == 'mmpretrain.VisionTransformer'
        assert backbone.init_cfg == dict(type='Pretrained', checkpoint=backbone.init_cfg.checkpoint,
                                         prefix='backbone.')
        assert cfg.model.head.type == 'mmpretrain.MultiLabelLinearClsHead'
        assert cfg.model.head.num_classes == NUM_CLASSES[task]
        assert cfg.train_cfg.max_iters == steps
        assert [s['end'] for s in cfg.param_scheduler] == [warmup, steps]
        assert cfg.param_scheduler[1]['begin'] == warmup
        assert all(not s['by_epoch'] for s in cfg.param_scheduler)
        assert cfg.default_hooks.checkpoint.save_best == 'cls/auc'
        assert cfg.default_hooks.checkpoint.rule == 'greater'
        assert cfg.val_evaluator.type == 'MultiLabelAUROC'
        if task != 'covid':
            assert cfg.train_dataloader.dataset.fraction == fraction
        train = [t['type'] for t in cfg.train_dataloader.dataset.pipeline]
        assert 'mmpretrain.RandomResizedCrop' in train and 'mmpretrain.RandomFlip' in train
        assert cfg.train_dataloader.dataset.pipeline[1].crop_ratio_range == (0.08, 1.0)
        assert cfg.train_dataloader.batch_size * 8 == cfg.auto_scale_lr.base_batch_size == 96
        optim = cfg.optim_wrapper
        if protocol == 'ft':
            assert (backbone.out_type, backbone.final_norm) == ('avg_featmap', False)
            assert optim.optimizer == dict(type='SGD', lr=lr, momentum=0.9, weight_decay=0.0)
            assert optim.clip_grad.max_norm == 1.0
        elif protocol == 'linear-probe':
            assert backbone.frozen_stages == 12
            assert backbone.drop_path_rate == 0 and backbone.drop_rate == 0
            assert optim.optimizer.type == 'AdamW' and optim.optimizer.lr == 5e-4
        else:
            assert optim.constructor == 'mmpretrain.LearningRateDecayOptimWrapperConstructor'
            assert optim.paramwise_cfg.layer_decay_rate == 0.65


def test_official_lists_reach_the_recipes(tmp_path):
    from medvlp.registry import DATASETS
    cfg = recipe('nih', 1, 'ft')
    train = DATASETS.build(dict(cfg.train_dataloader.dataset, data_root=str(tmp_path),
                                on_missing='unchecked'))
    val = DATASETS.build(dict(cfg.val_dataloader.dataset, data_root=str(tmp_path),
                              on_missing='unchecked'))
    assert (len(train), len(val)) == (785, 11219)
    assert len(train.metainfo['classes']) == cfg.model.head.num_classes


def features_twice(model):
    model.train()
    x = torch.randn(2, 3, DEMO_IMG_SIZE, DEMO_IMG_SIZE, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        return model.extract_feat(x)[0], model.extract_feat(x)[0]


def test_frozen_probe_encoder_is_deterministic_in_train_mode():
    probe = MODELS.build(demo_sized(recipe('nih', 1, 'linear-probe')))
    first, second = features_twice(probe)
    assert torch.equal(first, second)
    assert not any(p.requires_grad for p in probe.backbone.parameters())
    assert all(p.requires_grad for p in probe.head.parameters())
    # with the fine-tune's stochastic depth the same check fails: it can detect noise
    noisy = demo_sized(recipe('nih', 1, 'linear-probe'))
    noisy.backbone.drop_path_rate = 0.3
    first, second = features_twice(MODELS.build(noisy))
    assert not torch.equal(first, second)


def test_layer_decay_lrs():
    cfg = recipe('chexpert', 10, 'ft-layer-decay')
    model = MODELS.build(demo_sized(cfg))
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    base = cfg.optim_wrapper.optimizer.lr
    num_layers = DEMO_BACKBONE_ARCH['num_layers']
    names = {id(p): n for n, p in model.named_parameters()}
    for group in wrapper.optimizer.param_groups:
        name = names[id(group['params'][0])]
        match = re.match(r'backbone\.layers\.(\d+)\.', name)
        if match:
            depth = int(match.group(1)) + 1
        elif name.startswith('head.'):
            depth = num_layers + 1
        else:
            continue
        assert group['lr'] == pytest.approx(base * 0.65**(num_layers + 1 - depth)), name
        if name.endswith('.bias') or '.ln' in name:
            assert group['weight_decay'] == 0
        else:
            assert group['weight_decay'] == 0.05


@pytest.mark.parametrize('protocol', PROTOCOLS)
def test_demo_checkpoints_load_with_only_new_keys_missing(demo_pretrain_checkpoints, protocol):
    from medvlp.utils import load_checkpoint_file
    for method, checkpoint in sorted(demo_pretrain_checkpoints.items()):
        model = MODELS.build(demo_sized(recipe('rsna', 10, protocol), checkpoint))
        model.init_weights()
        state = load_checkpoint_file(str(checkpoint))['state_dict']
        mine = model.state_dict()
        loaded = [k for k in mine if k in state]
        missing = sorted(k for k in mine if k not in state)
        new = ['head.fc.bias', 'head.fc.weight']
        if protocol != 'linear-probe':  # MRM's new norm after the patch-token mean
            new = ['backbone.ln2.bias', 'backbone.ln2.weight'] + new
        assert missing == new, (method, protocol, missing)
        assert all(torch.equal(mine[k], state[k].to(mine[k].dtype)) for k in loaded), method


def test_mismatching_checkpoints_fail_clearly(demo_pretrain_checkpoints, tmp_path):
    checkpoint = demo_pretrain_checkpoints['joimternet']
    wide = demo_sized(recipe('nih', 10, 'ft'), checkpoint)
    wide.backbone.arch = dict(DEMO_BACKBONE_ARCH, embed_dims=120)
    wide.head.in_channels = 120
    with pytest.raises(PretrainedMismatchError, match='another shape'):
        MODELS.build(wide).init_weights()
    # timm key layout that was never converted: nothing under backbone.
    from medvlp.utils import load_checkpoint_file
    state = load_checkpoint_file(str(checkpoint))['state_dict']
    timm = {k.replace('backbone.layers', 'blocks'): v for k, v in state.items()
            if k.startswith('backbone.layers')}
    torch.save(dict(model=timm), tmp_path / 'timm.pth')
    with pytest.raises(PretrainedMismatchError, match='no weights under prefix "backbone."'):
        MODELS.build(demo_sized(recipe('nih', 10, 'ft'), tmp_path / 'timm.pth')).init_weights()
