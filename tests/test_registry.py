# Copyright (c) medvlp contributors. All rights reserved.
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.registry import MODELS as MMENGINE_MODELS
from torch import nn

import medvlp.registry as registry
from medvlp.utils import register_all_modules


@pytest.mark.parametrize('name', registry.__all__)
def test_registries_are_children_of_mmengine_roots(name):
    reg = getattr(registry, name)
    assert reg.scope == 'medvlp'
    if name == 'TOKENIZERS':  # medvlp's own: mmengine has no tokenizer registry
        assert reg.parent is None
    else:
        assert reg.parent is not None and reg.parent.scope == 'mmengine'
        assert reg.parent._children['medvlp'] is reg


def test_register_all_modules_sets_default_scope():
    register_all_modules(init_default_scope=True)
    assert DefaultScope.get_current_instance().scope_name == 'medvlp'


def test_medvlp_scope_builds_mmpretrain_modules_by_prefix():
    with DefaultScope.overwrite_default_scope('medvlp'):
        backbone = registry.MODELS.build(
            dict(type='mmpretrain.VisionTransformer',
                 arch=dict(embed_dims=32, num_layers=1, num_heads=2, feedforward_channels=64),
                 img_size=32, patch_size=16))
    assert type(backbone).__module__.startswith('mmpretrain.')


def test_scope_key_builds_nested_mmpretrain_modules(repo_root):
    """``_scope_='mmpretrain'`` lets nested types (backbone, neck, loss) resolve there."""
    cfg = Config.fromfile(repo_root / 'configs/_base_/models/mae_vit-tiny-p16.py')
    with DefaultScope.overwrite_default_scope('medvlp'):
        model = registry.MODELS.build(cfg.model)
    assert type(model).__name__ == 'MAE'
    assert type(model.backbone).__name__ == 'MAEViT'


def test_unknown_type_names_the_registry():
    with DefaultScope.overwrite_default_scope('medvlp'):
        with pytest.raises(KeyError, match='NoSuchModule is not in the medvlp::model'):
            registry.MODELS.build(dict(type='NoSuchModule'))


def test_other_scopes_reach_medvlp_modules_by_prefix():

    @registry.MODELS.register_module(force=True)
    class _ScopeProbe(nn.Module):

        def forward(self, x):
            return x * 2

    try:
        with DefaultScope.overwrite_default_scope('mmseg'):
            from mmseg.registry import MODELS as MMSEG_MODELS
            module = MMSEG_MODELS.build(dict(type='medvlp._ScopeProbe'))
        assert isinstance(module, _ScopeProbe)
        assert torch.equal(module(torch.ones(2)), torch.full((2, ), 2.))
        # and the root registry finds it through the same prefix
        assert MMENGINE_MODELS.get('medvlp._ScopeProbe') is _ScopeProbe
    finally:
        registry.MODELS._module_dict.pop('_ScopeProbe')
