# Copyright (c) medvlp contributors. All rights reserved.
"""Every algorithm trains under bf16 autocast and under ``torch.compile`` (CPU).

bf16: one step under ``torch.autocast('cpu', torch.bfloat16)`` gives finite losses close
to fp32 and finite gradients. compile: ``torch.compile`` of ``loss`` gives the eager loss
on the same seed. The compile test uses the ``aot_eager`` backend (dynamo graph capture and
AOTAutograd, no C++ code generation, so it runs in seconds); set
``MEDVLP_TEST_COMPILE_BACKEND=inductor`` to check inductor too (minutes on 2 cores).
"""
import os

import pytest
import torch
from algorithm_helpers import build_model, demo_config_and_batch
from mmengine.registry import DefaultScope

CONFIGS = {
    'mrm': ('configs/mrm/mrm_vit-tiny-p16_1xb16-30e_demo.py', {}),
    'joimternet': ('configs/joimternet/joimternet_vit-tiny-p16_1xb16-30e_demo.py', {}),
    'medim-features': ('configs/medim/medim_vit-tiny-p16_1xb16-30e_demo.py', {}),
}


def _losses(model, data, seed=0):
    torch.manual_seed(seed)
    losses = model(**data, mode='loss')
    return {k: v for k, v in losses.items() if k.startswith('loss')}


@pytest.fixture(params=sorted(CONFIGS))
def model_and_data(request, repo_root, tmp_path):
    config, overrides = CONFIGS[request.param]
    cfg, batch = demo_config_and_batch(repo_root / config, tmp_path, batch_size=2)
    model = build_model(cfg, **overrides)
    model.train()
    with DefaultScope.overwrite_default_scope('medvlp'):
        yield request.param, model, model.data_preprocessor(batch, True)


def test_bf16_autocast_step_is_finite_and_close_to_fp32(model_and_data):
    name, model, data = model_and_data
    fp32 = _losses(model, data)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        bf16 = _losses(model, data)
    sum(bf16.values()).backward()
    for key, value in bf16.items():
        assert torch.isfinite(value), f'{name} {key}'
        assert abs(float(value) - float(fp32[key])) <= 0.03 * abs(float(fp32[key])) + 0.01, \
            f'{name} {key}: bf16 {float(value):.4f} vs fp32 {float(fp32[key]):.4f}'
    grads = [(n, p.grad) for n, p in model.named_parameters() if p.grad is not None]
    assert grads, name
    bad = [n for n, g in grads if not torch.isfinite(g).all()]
    assert not bad, f'{name}: non-finite gradients in {bad[:5]}'


@pytest.mark.slow
def test_compiled_loss_equals_eager(model_and_data):
    import torch._inductor.config as inductor_config
    name, model, data = model_and_data
    backend = os.environ.get('MEDVLP_TEST_COMPILE_BACKEND', 'aot_eager')
    eager = _losses(model, data)
    torch._dynamo.reset()
    model.loss = torch.compile(model.loss, backend=backend)
    old = inductor_config.fallback_random
    inductor_config.fallback_random = True  # the same random masks as eager
    try:
        compiled = _losses(model, data)
    finally:
        inductor_config.fallback_random = old
        torch._dynamo.reset()
    assert compiled.keys() == eager.keys()
    for key in eager:
        assert torch.allclose(compiled[key], eager[key], rtol=1e-4, atol=1e-5), \
            f'{name} {key}: compiled {float(compiled[key])} vs eager {float(eager[key])}'
