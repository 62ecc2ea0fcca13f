# Copyright (c) medvlp contributors. All rights reserved.
"""How much the report guides a MedIM model's masks, on the config's training pairs.

    python tools/analysis_tools/mask_guidance.py CONFIG [--checkpoint CKPT]
        [--lung-masks DIR] [--out stats.json]

Prints, per mask branch (KWM, SDM): the share of samples whose mask falls back to random
(no keyword / sentence in the word window), the normalised entropy of the patch map the
mask is split from (1 = flat: no guidance), and, with ``--lung-masks``, the share of
masked patches inside the lungs against random masks of the same size. Without
``--checkpoint`` the model is freshly initialised (the start of pre-training). See
``medvlp/benchmark/mask_guidance.py``.
"""
import argparse
import json
import os.path as osp
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='a MedIM config')
    parser.add_argument('--checkpoint', help='weights (default: fresh initialisation)')
    parser.add_argument('--lung-masks', help='folder of 0/255 lung masks named like the '
                        'images')
    parser.add_argument('--max-samples', type=int,
                        help='measure the first N samples only (default: all)')
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', help='also write the figures to this .json file')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    import torch
    from mmengine.registry import DefaultScope

    from medvlp.apis.model import load_weights
    from medvlp.benchmark.mask_guidance import mask_guidance_stats
    from medvlp.registry import DATASETS, MODELS
    from medvlp.utils import (UserError, check_checkpoint, load_config,
                              register_all_modules, report_user_errors)
    with report_user_errors('mask_guidance.py'):
        register_all_modules(init_default_scope=False)
        cfg = load_config(args.config, None)
        if cfg.model.get('type') != 'MedIM':
            raise UserError(f'{args.config} is not a MedIM config (model type '
                            f'{cfg.model.get("type")!r})')
        if args.lung_masks and not osp.isdir(args.lung_masks):
            raise UserError(f'--lung-masks {args.lung_masks} is not a folder')
        test_pipeline = (cfg.get('test_dataloader') or {}).get('dataset', {}).get('pipeline')
        dataset_cfg = dict(cfg.train_dataloader.dataset)
        if args.max_samples:
            dataset_cfg['indices'] = args.max_samples
        if test_pipeline:  # deterministic crops
            dataset_cfg['pipeline'] = test_pipeline
        torch.manual_seed(args.seed)
        with DefaultScope.overwrite_default_scope('medvlp'):
            dataset = DATASETS.build(dataset_cfg)
            model = MODELS.build(cfg.model)
        if args.checkpoint:
            check_checkpoint(args.checkpoint, '--checkpoint')
            load_weights(model, args.checkpoint)
        else:
            from medvlp.benchmark.cells import quiet_info
            with quiet_info():  # mmengine logs every initialised tensor
                model.init_weights()
        stats = mask_guidance_stats(model.eval(), dataset, args.lung_masks,
                                    args.batch_size, args.seed)
    print(f'mask_guidance: {osp.basename(args.config)}, '
          f'{args.checkpoint or "fresh initialisation"}, {int(stats["samples"])} samples'
          + (f', {int(stats["samples_with_lung_mask"])} with lung masks'
             if args.lung_masks else ''))
    rows = [('fallback to random (no keyword / sentence)', 'fallback'),
            ('patch-map entropy (1 = flat)', 'map_entropy'),
            ('masked patches inside the lungs', 'in_lung')]
    print(f'{"":46s} {"kwm":>7s} {"sdm":>7s} {"random":>7s}')
    for label, key in rows:
        cells = [stats.get(f'{b}_{key}') for b in ('kwm', 'sdm', 'random')]
        print(f'{label:46s} ' + ' '.join('      -' if c is None else f'{c:7.3f}'
                                          for c in cells))
    if 'lung_patches' in stats:
        print(f'{"lung share of all patches":46s} {stats["lung_patches"]:7.3f}')
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(stats, f, indent=1, sort_keys=True)
    return stats


if __name__ == '__main__':
    main()
