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
