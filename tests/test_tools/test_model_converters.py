# Copyright (c) medvlp contributors. All rights reserved.
"""tools/model_converters/timm_vit_to_mmpretrain.py against timm's own ViT: official key
layouts (MRM / MAE / DeiT) built with timm, converted, loaded into mmpretrain's
VisionTransformer, and compared feature for feature."""
import argparse
import importlib.util
import pickle
import sys
from pathlib import Path

import pytest
import torch

timm = pytest.importorskip('timm')
from mmpretrain.models import MAEViT, VisionTransformer  # noqa: E402
from timm.models.vision_transformer import VisionTransformer as TimmViT  # noqa: E402

from medvlp.utils import load_checkpoint_file  # noqa: E402
from tool_calls import call_tool

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOL = REPO_ROOT / 'tools' / 'model_converters' / 'timm_vit_to_mmpretrain.py'
ARCH = dict(embed_dims=48, num_layers=3, num_heads=3, feedforward_channels=96)
IMG = 48


def load_tool():
    name = 'timm_vit_to_mmpretrain'
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, TOOL)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def timm_vit(**kwargs):
    torch.manual_seed(0)
    model = TimmViT(img_size=IMG, patch_size=16, embed_dim=48, depth=3, num_heads=3,
                    mlp_ratio=2.0, qkv_bias=True, num_classes=5, **kwargs).eval()
    with torch.no_grad():  # non-trivial norms and biases, so a mix-up would show
        for name, p in model.named_parameters():
            if 'norm' in name or name.endswith('bias'):
                p.add_(torch.randn_like(p) * 0.1)
    return model


def mm_vit(state, cls=VisionTransformer, **kwargs):
    model = cls(arch=ARCH, img_size=IMG, patch_size=16, **kwargs)
    model.eval()
    backbone = {k[len('backbone.'):]: v for k, v in state.items()}
    result = model.load_state_dict(backbone, strict=False)
    return model, result


def inputs():
    return torch.randn(2, 3, IMG, IMG, generator=torch.Generator().manual_seed(1))


def test_mrm_layout_matches_timm_features(tmp_path):
    """MRM.pth: the MAE encoder (timm keys) with decoder, BERT and fusion keys beside it."""
    ref = timm_vit(global_pool='avg', fc_norm=True)  # MRM's fine-tuning model
    state = ref.state_dict()
    # a pre-training checkpoint also holds the final norm and the other branches
    state['norm.weight'], state['norm.bias'] = torch.ones(48), torch.zeros(48)
    state.update({'decoder_embed.weight': torch.zeros(8, 48), 'mask_token': torch.zeros(1, 1, 8),
                  'bert_encoder.layer.0.weight': torch.zeros(2), 'fusion.weight': torch.zeros(2)})
    torch.save(dict(model=state), tmp_path / 'MRM.pth')
    tool = load_tool()
    # in-process: the CLI (main) also allows argparse.Namespace, which the MAE test checks
    converted, dropped = tool.convert_timm_vit(
        tool.unwrap(load_checkpoint_file(str(tmp_path / 'MRM.pth'))), 'mrm')
    assert dropped == {'decoder_embed': 1, 'mask_token': 1, 'bert_encoder': 1, 'fusion': 1,
                       'head': 2, 'norm': 2}
    assert len(converted) == 42
    assert all(k.startswith('backbone.') for k in converted)
    assert 'backbone.ln1.weight' not in converted  # final norm dropped for fine-tuning
    model, result = mm_vit(converted, out_type='avg_featmap', final_norm=False)
    assert not result.missing_keys and not result.unexpected_keys
    x = inputs()
    with torch.no_grad():
        expected = ref.forward_head(ref.forward_features(x), pre_logits=True)
        got = model(x)[0]
    assert (got - expected).abs().max() <= 1e-5


def test_mae_checkpoint_with_namespace_loads_through_the_allow_list(tmp_path):
    ref = timm_vit()  # MAE pre-training encoder: cls token + final norm
    state = {k: v for k, v in ref.state_dict().items() if not k.startswith('head.')}
    state['decoder_pred.weight'] = torch.zeros(4, 4)
    torch.save(dict(model=state, args=argparse.Namespace(lr=1.5e-4, model='mae')),
               tmp_path / 'mae.pth')
    # the safe loader refuses the Namespace unless it is allowed explicitly
    with pytest.raises(pickle.UnpicklingError, match='Namespace'):
        load_checkpoint_file(str(tmp_path / 'mae.pth'))
    proc = call_tool('model_converters/timm_vit_to_mmpretrain.py', tmp_path / 'mae.pth',
                     tmp_path / 'mae_medvlp.pth', '--source', 'mae', '--final-norm', 'keep')
    assert 'converted 42 tensors (3 blocks)' in proc.stdout
    assert 'dropped: decoder_pred (1)' in proc.stdout
    converted = load_checkpoint_file(str(tmp_path / 'mae_medvlp.pth'))['state_dict']
    model, result = mm_vit(converted, out_type='raw', final_norm=True)
    assert not result.missing_keys and not result.unexpected_keys
    x = inputs()
    with torch.no_grad():
        assert (model(x)[0] - ref.forward_features(x)).abs().max() <= 1e-5
    # the pre-training encoder (MAEViT) of MRM/MAE configs takes the same weights
    mae_vit, result = mm_vit(converted, cls=MAEViT, mask_ratio=0.75)
    assert not result.missing_keys and not result.unexpected_keys


def test_deit_layout_matches_timm_features():
    tool = load_tool()
    ref = timm_vit(global_pool='token')
    converted, dropped = tool.convert_timm_vit(ref.state_dict(), 'deit')
    assert dropped == {'head': 2}
    model, result = mm_vit(converted, out_type='cls_token', final_norm=True)
    assert not result.missing_keys and not result.unexpected_keys
    x = inputs()
    with torch.no_grad():
        expected = ref.forward_head(ref.forward_features(x), pre_logits=True)
        assert (model(x)[0] - expected).abs().max() <= 1e-5


def test_unknown_keys_and_wrong_layouts_are_errors():
    tool = load_tool()
    state = timm_vit().state_dict()
    state['blocks.0.ls1.gamma'] = torch.ones(48)  # layer scale: no mapping
    with pytest.raises(tool.UserError, match=r"1 keys .*'blocks.0.ls1.gamma'"):
        tool.convert_timm_vit(state, 'deit')
    with pytest.raises(tool.UserError, match='no ViT blocks'):
        tool.convert_timm_vit({'cls_token': torch.ones(1, 1, 2), 'head.weight': torch.ones(2)},
                              'timm')


@pytest.fixture
def demo_sized_converted(tmp_path):
    """A timm ViT at the demo pre-training size, converted (final norm kept)."""
    from demo_pretrain import DEMO_BACKBONE_ARCH, DEMO_IMG_SIZE
    torch.manual_seed(0)
    ref = TimmViT(img_size=DEMO_IMG_SIZE, patch_size=16, embed_dim=96,
                  depth=DEMO_BACKBONE_ARCH['num_layers'], num_heads=3, mlp_ratio=2.0)
    converted, _ = load_tool().convert_timm_vit(ref.state_dict(), 'deit', final_norm='keep')
    path = tmp_path / 'converted.pth'
    torch.save(dict(state_dict=converted), path)
    return path, converted


def build_pretraining_model(config):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from medvlp.registry import MODELS
    init_default_scope('medvlp')
    return Config.fromfile(str(REPO_ROOT / config)), MODELS.build


def assert_backbone_is(model, converted):
    mine = model.backbone.state_dict()
    for key, value in converted.items():
        assert torch.equal(mine[key[len('backbone.'):]], value), key


def test_medim_starts_from_converted_deit_through_init_cfg(demo_sized_converted):
    """MedIM's encoder (an mmpretrain VisionTransformer) takes converted DeiT weights via
    model.backbone.init_cfg=dict(type='Pretrained', checkpoint=..., prefix='backbone.')."""
    path, converted = demo_sized_converted
    cfg, build = build_pretraining_model('configs/medim/medim_vit-tiny-p16_1xb16-30e_demo.py')
    cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=str(path),
                                       prefix='backbone.')
    model = build(cfg.model)
    model.init_weights()
    assert_backbone_is(model, converted)


def test_mrm_starts_from_converted_mae_through_load_from(demo_sized_converted):
    """MRM's encoder is mmpretrain's MAEViT, whose init_weights re-draws cls_token,
    patch_embed and pos_embed after any init_cfg: converted weights enter through
    load_from (mmengine loads it after init_weights, strict=False), which is what
    tools/train.py does with --cfg-options load_from=PATH."""
    from mmengine.runner.checkpoint import load_checkpoint
    path, converted = demo_sized_converted
    cfg, build = build_pretraining_model('configs/mrm/mrm_vit-tiny-p16_1xb16-30e_demo.py')
    model = build(cfg.model)
    model.init_weights()
    assert not torch.equal(model.backbone.cls_token, converted['backbone.cls_token'])
    # exactly Runner.load_checkpoint's call for load_from
    load_checkpoint(model, str(path), map_location='cpu', strict=False,
                    revise_keys=[(r'^module\.', '')])
    assert_backbone_is(model, converted)
