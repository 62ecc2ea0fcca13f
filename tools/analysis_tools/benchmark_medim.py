# Copyright (c) medvlp contributors. All rights reserved.
"""Time MedIM training steps: mask generator share, ``features`` vs ``inputs`` vs MAE.

    python tools/analysis_tools/benchmark_medim.py [--config CONFIG] [--batch-size 8]
        [--iters 3] [--device cpu|cuda]

Builds the MedIM model of the config (default: configs/medim_vit-b_mimic.py) twice, with
the mask on ``features`` and on ``inputs``, and an mmpretrain MAE with the same ViT, then
times full training steps (forward, backward, AdamW update) on random images and random
tokenized reports, and the share of each step spent in the report-guided mask generators.
"""
import argparse
import copy
import time

import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from medvlp.registry import MODELS
from medvlp.utils import register_all_modules
from medvlp.utils.synthetic import mae_config_like, synthetic_image_report_batch
from medvlp.utils.sysinfo import machine_summary


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--config', default='configs/medim_vit-b_mimic.py')
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--iters', type=int, default=3, help='timed steps per model')
    parser.add_argument('--words', type=int, default=64, help='words per report')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    return parser.parse_args(argv)


def time_steps(model, batch, iters: int, device: str, mask_timer=None) -> dict:
    model.to(device).train()
    optim = torch.optim.AdamW(model.parameters(), lr=1e-4)
    data = model.data_preprocessor(batch, True)
    times, mask_times = [], []
    for step in range(iters + 1):  # the first step warms up
        if mask_timer is not None:
            mask_timer.clear()
        if device == 'cuda':
            torch.cuda.synchronize()
        start = time.perf_counter()
        loss = sum(model(**data, mode='loss').values())
        optim.zero_grad()
        loss.backward()
        optim.step()
        if device == 'cuda':
            torch.cuda.synchronize()
        if step:
            times.append(time.perf_counter() - start)
            if mask_timer is not None:
                mask_times.append(sum(mask_timer))
    step = sum(times) / len(times)
    out = dict(step_ms=1000 * step)
    if mask_timer is not None:
        out['mask_ms'] = 1000 * sum(mask_times) / len(mask_times)
        out['mask_share'] = 100 * out['mask_ms'] / out['step_ms']
    return out


def timed_generators(model, device: str) -> list:
    """Wrap the model's mask generators so each call's duration is recorded."""
    spent = []
    for generator in model.mask_generators.values():
        original = generator.forward

        def timed(*args, _original=original, **kwargs):
            if device == 'cuda':
                torch.cuda.synchronize()
            start = time.perf_counter()
            result = _original(*args, **kwargs)
            if device == 'cuda':
                torch.cuda.synchronize()
            spent.append(time.perf_counter() - start)
            return result

        generator.forward = timed
    return spent


def main(argv=None):
    args = parse_args(argv)
    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(args.config)
    model_cfg = cfg.model
    backbone = model_cfg.backbone
    img_size = backbone.img_size
    patch = backbone.get('patch_size', 16)
    max_length = args.words + 2
    results = {}
    with DefaultScope.overwrite_default_scope('medvlp'):
        features = MODELS.build(copy.deepcopy(model_cfg))
        width = features.backbone.embed_dims
        batch = synthetic_image_report_batch(args.batch_size, img_size, max_length,
                                             args.words, features.vocab_size)
        timer = timed_generators(features, args.device)
        results['MedIM features'] = time_steps(features, batch, args.iters, args.device, timer)
        del features
        inputs_cfg = copy.deepcopy(model_cfg)
        inputs_cfg.mask_on = 'inputs'
        inputs_cfg.decoder = dict(
            type='mmpretrain.MAEPretrainDecoder', num_patches=(img_size // patch)**2,
            patch_size=patch, in_chans=3, embed_dim=width, decoder_embed_dim=512,
            decoder_depth=8, decoder_num_heads=16)
        inputs = MODELS.build(inputs_cfg)
        timer = timed_generators(inputs, args.device)
        results['MedIM inputs'] = time_steps(inputs, batch, args.iters, args.device, timer)
        del inputs
        mae = MODELS.build(mae_config_like(backbone, width, mask_ratio=0.5))
        results['mmpretrain MAE (mask 0.5)'] = time_steps(mae, batch, args.iters,
                                                          args.device)

    print(f'machine: {machine_summary()}')  # the figures below depend on it
    print(f'{args.config}: batch {args.batch_size}, {img_size} px, {args.words} words, '
          f'device {args.device}, mean of {args.iters} steps')
    print(f'{"model":28s} {"step ms":>10s} {"mask gen ms":>12s} {"mask share":>11s}')
    for name, r in results.items():
        mask_ms = f'{r["mask_ms"]:.1f}' if 'mask_ms' in r else '-'
        share = f'{r["mask_share"]:.2f}%' if 'mask_share' in r else '-'
        print(f'{name:28s} {r["step_ms"]:10.1f} {mask_ms:>12s} {share:>11s}')
    return results


if __name__ == '__main__':
    main()
