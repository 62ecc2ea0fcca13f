# Copyright (c) medvlp contributors. All rights reserved.
"""``init_cfg=dict(type='Pretrained')`` refuses weights that do not fit, in every scope."""
import pytest
import torch
from mmengine.registry import WEIGHT_INITIALIZERS, DefaultScope
from mmpretrain.models import VisionTransformer

import medvlp  # noqa: F401  (registers the checked initializer)
from medvlp.utils.pretrained import CheckedPretrainedInit, PretrainedMismatchError

ARCH = dict(embed_dims=48, num_layers=4, num_heads=3, feedforward_channels=96)


def _vit(init_checkpoint=None, arch=ARCH, **kwargs):
    init_cfg = None
    if init_checkpoint is not None:
        init_cfg = dict(type='Pretrained', checkpoint=str(init_checkpoint), prefix='backbone.')
    return VisionTransformer(arch=arch, img_size=32, patch_size=16, init_cfg=init_cfg,
                             **kwargs)


@pytest.fixture
def logged(monkeypatch):
    """The messages the initializer logs."""
    from medvlp.utils import pretrained
    messages = []
    monkeypatch.setattr(pretrained, 'print_log', lambda msg, **kw: messages.append(msg))
    return messages


def _save(path, state, prefix='backbone.'):
    torch.save(dict(state_dict={f'{prefix}{k}': v for k, v in state.items()}), path)
    return path


@pytest.mark.parametrize('scope', ['medvlp', 'mmpretrain', 'mmseg'])
def test_pretrained_means_the_checked_initializer_in_every_scope(scope):
    import mmseg.models  # noqa: F401
    with DefaultScope.overwrite_default_scope(scope):
        init = WEIGHT_INITIALIZERS.build(dict(type='Pretrained', checkpoint='x.pth'))
    assert isinstance(init, CheckedPretrainedInit)


def test_matching_checkpoint_loads_exactly_and_logs_counts(tmp_path, logged):
    torch.manual_seed(0)
    src = _vit()
    path = _save(tmp_path / 'ok.pth', src.state_dict())
    dst = _vit(path)
    dst.init_weights()
    for key, value in src.state_dict().items():
        assert torch.equal(dst.state_dict()[key], value), key
    n = len(src.state_dict())
    assert f'loaded {n}/{n} tensors of VisionTransformer' in '\n'.join(logged)


def test_new_head_norm_is_allowed_and_named(tmp_path, logged):
    """MRM's fine-tune ViT (avg_featmap, no final norm) adds ln2 and drops ln1."""
    src = _vit()
    path = _save(tmp_path / 'ok.pth', src.state_dict())
    dst = _vit(path, out_type='avg_featmap', final_norm=False)
    dst.init_weights()
    assert 'missing (left as initialised): ln2 (2)' in '\n'.join(logged)
    assert 'unexpected (ignored): ln1 (2)' in '\n'.join(logged)
    assert torch.equal(dst.layers[3].ffn.layers[1].weight, src.layers[3].ffn.layers[1].weight)


def test_wrong_prefix_lists_the_prefixes_found(tmp_path):
    path = _save(tmp_path / 'enc.pth', _vit().state_dict(), prefix='image_encoder.')
    with pytest.raises(PretrainedMismatchError, match='no weights under prefix "backbone."'
                       '.*image_encoder'):
        _vit(path).init_weights()


def test_other_width_is_a_shape_error(tmp_path):
    wide = dict(ARCH, embed_dims=96, feedforward_channels=192)
    path = _save(tmp_path / 'wide.pth', _vit(arch=wide).state_dict())
    with pytest.raises(PretrainedMismatchError, match='another shape'):
        _vit(path).init_weights()


def test_unconverted_timm_layout_is_refused(tmp_path):
    state = {k.replace('layers.', 'blocks.').replace('ln1', 'norm1'): v
             for k, v in _vit().state_dict().items()}
    path = _save(tmp_path / 'timm.pth', state)
    with pytest.raises(PretrainedMismatchError, match='tensors of VisionTransformer are in'):
        _vit(path).init_weights()


def test_shallower_checkpoint_is_refused(tmp_path):
    path = _save(tmp_path / 'shallow.pth', _vit(arch=dict(ARCH, num_layers=2)).state_dict())
    with pytest.raises(PretrainedMismatchError, match='groups the checkpoint does have: '
                       'layers'):
        _vit(path).init_weights()


def test_mismatch_warn_loads_what_fits(tmp_path, logged):
    src = _vit(arch=dict(ARCH, num_layers=2))
    path = _save(tmp_path / 'shallow.pth', src.state_dict())
    dst = _vit()
    dst.init_cfg = dict(type='Pretrained', checkpoint=str(path), prefix='backbone.',
                        mismatch='warn')
    dst.init_weights()
    assert torch.equal(dst.layers[1].attn.qkv.weight, src.layers[1].attn.qkv.weight)
    assert any('groups the checkpoint does have' in m for m in logged)


def test_missing_checkpoint_file_is_a_user_error_naming_the_option(tmp_path):
    with pytest.raises(PretrainedMismatchError, match='does not exist.*init_cfg.checkpoint'):
        _vit(tmp_path / 'placeholder.pth').init_weights()
