# Copyright (c) medvlp contributors. All rights reserved.
"""Layer-wise lr decay on an mmseg EncoderDecoder and an mmpretrain ImageClassifier."""
import re

import pytest
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope
from torch import nn

BASE_LR, DECAY = 1e-3, 0.65
OPTIM = dict(
    optimizer=dict(type='AdamW', lr=BASE_LR, weight_decay=0.05),
    constructor='medvlp.LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(layer_decay_rate=DECAY, norm_decay_mult=0.0, flat_decay_mult=0.0))


def expected_lr(name: str, num_layers: int) -> float:
    """depth 0: stem; layers.i: i + 1; the rest (norm, neck, heads): num_layers + 1."""
    top = num_layers + 1
    if re.match(r'backbone\.(patch_embed|cls_token|pos_embed)', name):
        depth = 0
    elif (m := re.match(r'backbone\.layers\.(\d+)\.', name)):
        depth = int(m.group(1)) + 1
    else:
        depth = top
    return BASE_LR * DECAY**(top - depth)


def lr_of_each_param(optim_wrapper, model):
    by_id = {id(p): group['lr'] for group in optim_wrapper.optimizer.param_groups
             for p in group['params']}
    return {name: by_id[id(p)] for name, p in model.named_parameters() if p.requires_grad}


def check(lrs, num_layers):
    assert any(n.startswith('backbone.layers.') for n in lrs)
    for name, lr in lrs.items():
        assert lr == pytest.approx(expected_lr(name, num_layers)), name
    layer_lrs = [lrs[f'backbone.layers.{i}.ln1.weight'] for i in range(num_layers)]
    assert layer_lrs == sorted(layer_lrs) and len(set(layer_lrs)) == num_layers


def test_encoder_decoder_around_mmpretrain_vit(repo_root):
    from mmseg.registry import MODELS
    cfg = Config.fromfile(str(repo_root / 'configs/_base_/models/seg_upernet_vit-tiny-p16.py'))
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(cfg.model)
        optim_wrapper = build_optim_wrapper(model, OPTIM)
    lrs = lr_of_each_param(optim_wrapper, model)
    check(lrs, num_layers=4)
    assert lrs['decode_head.conv_seg.weight'] == pytest.approx(BASE_LR)
    assert lrs['backbone.patch_embed.projection.weight'] == pytest.approx(BASE_LR * DECAY**5)
    # Norms and 1-D parameters get no weight decay, matrices the base one.
    decay = {id(p): g['weight_decay'] for g in optim_wrapper.optimizer.param_groups
             for p in g['params']}
    assert decay[id(model.backbone.layers[0].ln1.weight)] == 0
    assert decay[id(model.backbone.layers[0].attn.qkv.weight)] == 0.05


def test_mmseg_own_constructor_rejects_mmpretrain_vit(repo_root):
    """The trap this constructor exists for (if mmseg fixes it, this test says so)."""
    from mmseg.registry import MODELS
    cfg = Config.fromfile(str(repo_root / 'configs/_base_/models/seg_upernet_vit-tiny-p16.py'))
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(cfg.model)
        with pytest.raises(NotImplementedError):
            build_optim_wrapper(model, dict(
                OPTIM, constructor='LearningRateDecayOptimizerConstructor',
                paramwise_cfg=dict(num_layers=4, decay_rate=DECAY,
                                   decay_type='layer_wise_vit')))


def test_image_classifier():
    from mmpretrain.registry import MODELS
    model_cfg = dict(
        type='ImageClassifier',
        backbone=dict(type='VisionTransformer', arch=dict(
            embed_dims=48, num_layers=3, num_heads=2, feedforward_channels=96),
            img_size=32, patch_size=16),
        neck=None,
        head=dict(type='LinearClsHead', num_classes=3, in_channels=48))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(model_cfg)
        optim_wrapper = build_optim_wrapper(model, OPTIM)
    lrs = lr_of_each_param(optim_wrapper, model)
    check(lrs, num_layers=3)
    assert lrs['head.fc.weight'] == pytest.approx(BASE_LR)


def test_model_without_layer_depths_is_a_clear_error():
    model = nn.Module()
    model.backbone = nn.Linear(2, 2)
    with pytest.raises(NotImplementedError, match='"backbone" module with get_layer_depth'):
        build_optim_wrapper(model, OPTIM)
