# Copyright (c) medvlp contributors. All rights reserved.
"""Evaluate a checkpoint: ``python tools/test.py CONFIG CHECKPOINT [options]``."""
import argparse
import os.path as osp

from mmengine.runner import Runner

from medvlp.utils import (UserError, add_common_args, apply_runner_args, check_checkpoint,
                          load_config, register_all_modules, report_user_errors,
                          set_local_rank, setup_cpu_distributed)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Evaluate a medvlp model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save logs and results')
    parser.add_argument(
        '--out', help='dump the metrics (.json) or the raw predictions (.pkl) to a file')
    parser.add_argument(
        '--out-item',
        choices=['metrics', 'pred'],
        help='what --out holds; by default metrics for .json and pred for .pkl')
    parser.add_argument(
        '--show-dir',
        help='segmentation configs: write overlay PNGs (prediction contour red, ground truth '
        'green, captioned with the image\'s Dice) of the first --show-num test images here')
    parser.add_argument(
        '--show-num', type=int, default=10,
        help='how many overlay PNGs --show-dir writes (default: 10)')
    add_common_args(parser)
    args = parser.parse_args(argv)
    if args.out_item and not args.out:
        parser.error('--out-item needs --out')
    if args.show_num < 1:
        parser.error('--show-num must be at least 1')
    if args.out and args.out_item is None:
        args.out_item = 'metrics' if args.out.endswith('.json') else 'pred'
    set_local_rank(args.local_rank)
    return args


def merge_args(cfg, args):
    apply_runner_args(cfg, args)
    cfg.load_from = check_checkpoint(args.checkpoint, 'tools/test.py')
    for key in ('test_dataloader', 'test_cfg', 'test_evaluator'):
        if not cfg.get(key):
            raise UserError(f'the config has no {key}; tools/test.py needs test_dataloader, '
                            'test_cfg and test_evaluator (pre-training configs usually have '
                            'none: evaluate a downstream config instead)')
    if args.out_item == 'pred':
        if not args.out.endswith(('.pkl', '.pickle')):
            raise UserError('--out for predictions must end with .pkl')
        evaluator = cfg.test_evaluator
        metrics = [evaluator] if isinstance(evaluator, dict) else list(evaluator)
        cfg.test_evaluator = metrics + [dict(type='DumpResults', out_file_path=args.out)]
    if args.show_dir:
        if cfg.get('default_scope') != 'mmseg' and \
                'EncoderDecoder' not in str(cfg.model.get('type', '')):
            raise UserError('--show-dir draws segmentation overlays; this config\'s model is '
                            f'{cfg.model.get("type")}, not a segmentor')
        cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + [
            dict(type='medvlp.SegOverlayHook', out_dir=args.show_dir,
                 max_images=args.show_num)
        ]
    return cfg


def main(argv=None):
    args = parse_args(argv)
    with report_user_errors('test.py'):
        register_all_modules(init_default_scope=False)
        cfg = load_config(args.config, args.cfg_options)
        cfg = merge_args(cfg, args)
        setup_cpu_distributed(cfg, args.launcher)
        runner = Runner.from_cfg(cfg)
        metrics = runner.test()
    if args.out_item == 'metrics':
        import mmengine
        mmengine.dump(metrics, args.out)
        print(f'test.py: metrics written to {osp.abspath(args.out)}')
    return metrics


if __name__ == '__main__':
    main()
