# Copyright (c) medvlp contributors. All rights reserved.
"""The segmentation recipes: they parse and build, demo pre-training checkpoints load into
their backbone, a mismatching checkpoint fails clearly, and the PSAHead trap is avoided."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.structures import PixelData

from medvlp.utils import load_checkpoint_file, register_all_modules
from demo_pretrain import DEMO_BACKBONE_ARCH
from medvlp.utils.pretrained import PretrainedMismatchError

REPO_ROOT = Path(__file__).resolve().parents[2]


RECIPES = sorted((REPO_ROOT / 'configs/benchmarks/segmentation').glob('*.py'))
TINY_UPERNET = ('configs/benchmarks/segmentation/'
                'upernet_vit-tiny-p16_1xb8-120it_covid-lung-96px.py')
TINY_SETR = ('configs/benchmarks/segmentation/'
             'setr_vit-tiny-p16_frozen_1xb8-120it_covid-lung-96px.py')


def build_model(model_cfg):
    from mmseg.registry import MODELS
    register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope('mmseg'):
        return MODELS.build(model_cfg)


def tiny_batch(model, n=2, size=96):
    from mmseg.structures import SegDataSample
    torch.manual_seed(0)
    inputs, samples = [], []
    for _ in range(n):
        inputs.append(torch.randint(0, 256, (3, size, size), dtype=torch.uint8))
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(data=torch.randint(0, 2, (1, size, size)))
        sample.set_metainfo(dict(img_shape=(size, size), ori_shape=(size, size),
                                 pad_shape=(size, size)))
        samples.append(sample)
    return model.data_preprocessor(dict(inputs=inputs, data_samples=samples), True)


@pytest.mark.parametrize('path', RECIPES, ids=lambda p: p.stem)
def test_recipe_parses(path):
    cfg = Config.fromfile(str(path))
    assert cfg.default_scope == 'mmseg' and 'medvlp' in cfg.custom_imports.imports
    backbone = cfg.model.backbone
    assert backbone.type == 'mmpretrain.VisionTransformer'
    assert backbone.init_cfg == dict(type='Pretrained', checkpoint=backbone.init_cfg.checkpoint,
                                     prefix='backbone.')
    assert tuple(backbone.img_size) == tuple(cfg.model.data_preprocessor.size)
    metrics = [m['type'] for m in cfg.test_evaluator]
    assert metrics == ['medvlp.PerImageDiceMetric', 'IoUMetric']
    if 'mrm_' in path.name:  # MRM's SIIM recipe
        assert cfg.optim_wrapper.constructor == 'medvlp.LayerDecayOptimWrapperConstructor'
        assert cfg.optim_wrapper.paramwise_cfg.layer_decay_rate == 0.65
        assert cfg.optim_wrapper.optimizer.type == 'AdamW'
        assert cfg.optim_wrapper.optimizer.weight_decay == 0.05
        assert [s.type for s in cfg.param_scheduler] == ['LinearLR', 'PolyLR']
        assert [loss.type for loss in cfg.model.decode_head.loss_decode] == ['FocalLoss',
                                                                          'DiceLoss']
        resize = [t for t in cfg.train_pipeline if t.type == 'Resize'][0]
        assert resize.scale == (512, 512) and resize.keep_ratio
        assert any(t.type == 'RandomFlip' for t in cfg.train_pipeline)
        assert cfg.model.data_preprocessor.size == (512, 512)  # pads to 512


@pytest.mark.parametrize('config', [TINY_UPERNET, TINY_SETR])
def test_tiny_recipes_train_a_step(config):
    cfg = Config.fromfile(str(REPO_ROOT / config))
    cfg.model.backbone.init_cfg = None
    model = build_model(cfg.model)
    losses = model(**tiny_batch(model), mode='loss')
    total = sum(v for k, v in losses.items() if 'loss' in k)
    assert torch.isfinite(total)
    total.backward()
    grad = model.backbone.patch_embed.projection.weight.grad
    if 'frozen' in config:  # only the decoder trains
        assert grad is None and not any(p.requires_grad for p in model.backbone.parameters())
    else:
        assert grad.abs().sum() > 0


@pytest.mark.parametrize('name', ['medim', 'mrm', 'joimternet'])
def test_demo_checkpoints_load_without_missing_backbone_keys(name, demo_pretrain_checkpoints):
    checkpoint = str(demo_pretrain_checkpoints[name])
    cfg = Config.fromfile(str(REPO_ROOT / TINY_UPERNET))
    assert dict(cfg.model.backbone.arch) == DEMO_BACKBONE_ARCH
    cfg.model.backbone.init_cfg.checkpoint = checkpoint
    model = build_model(cfg.model)
    model.init_weights()
    state = load_checkpoint_file(checkpoint)['state_dict']
    backbone = model.backbone.state_dict()
    missing = [k for k in backbone if f'backbone.{k}' not in state]
    assert not missing, f'{name}: backbone keys not in the checkpoint: {missing}'
    for key, value in backbone.items():
        assert torch.equal(value, state[f'backbone.{key}'].to(value.dtype)), key


def test_mismatching_checkpoint_fails_clearly(demo_pretrain_checkpoints):
    cfg = Config.fromfile(str(REPO_ROOT / TINY_UPERNET))
    cfg.model.backbone.arch = dict(embed_dims=64, num_layers=4, num_heads=2,
                                   feedforward_channels=128)
    cfg.model.neck.in_channels = [64] * 4
    cfg.model.neck.out_channels = 64
    cfg.model.decode_head.in_channels = [64] * 4
    cfg.model.auxiliary_head.in_channels = 64
    cfg.model.backbone.init_cfg.checkpoint = str(demo_pretrain_checkpoints['medim'])
    model = build_model(cfg.model)
    with pytest.raises(PretrainedMismatchError, match='another shape'):
        model.init_weights()
    cfg.model.backbone.init_cfg.prefix = 'image_encoder.'
    model = build_model(cfg.model)
    with pytest.raises(PretrainedMismatchError, match='no weights under prefix'):
        model.init_weights()


def psa_model(head_type):
    cfg = Config.fromfile(str(REPO_ROOT / 'configs/_base_/models/seg_upernet_vit-tiny-p16.py'))
    cfg.model.decode_head = dict(
        type=head_type, in_channels=96, in_index=3, channels=32, mask_size=(6, 6),
        psa_type='bi-direction', compact=False, shrink_factor=2, normalization_factor=1.0,
        psa_softmax=True, dropout_ratio=0.1, num_classes=2, norm_cfg=cfg.norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0))
    return build_model(cfg.model)


def test_psa_head_on_vit_features():
    # The trap: mmcv's CPU psamask on channels-last ViT feature maps.
    plain = psa_model('PSAHead')
    with pytest.raises(RuntimeError, match='view size is not compatible'):
        plain(**tiny_batch(plain), mode='loss')
    model = psa_model('medvlp.ContiguousPSAHead')
    data = tiny_batch(model)
    losses = model(**data, mode='loss')
    assert torch.isfinite(losses['decode.loss_ce'])
    losses['decode.loss_ce'].backward()
    # Same numbers as PSAHead on contiguous features (same weights and BN statistics).
    model.load_state_dict(plain.state_dict())
    model.eval()
    plain.eval()
    with torch.no_grad():
        feats = model.extract_feat(data['inputs'])
        ours = model.decode_head(feats)
        reference = plain.decode_head([f.contiguous() for f in feats])
    assert torch.allclose(ours, reference)
