# Copyright (c) medvlp contributors. All rights reserved.
"""Train a model from a config: ``python tools/train.py CONFIG [options]``."""
import argparse
import os.path as osp
import sys

import mmengine
from mmengine.dist import get_rank
from mmengine.runner import Runner

from medvlp.utils import (UserError, add_common_args, apply_runner_args, check_checkpoint,
                          load_config, register_all_modules, report_user_errors,
                          set_local_rank, setup_cpu_distributed)
from medvlp.utils.checkpoint import find_intact_checkpoint
from medvlp.utils.config_checks import check_config, check_train_batches
from medvlp.visualization.tracking import add_trackers


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a medvlp model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from a checkpoint path; without a path, resume from the latest '
        'checkpoint in the work dir')
    parser.add_argument(
        '--amp', action='store_true', help='enable automatic mixed precision (GPU): bf16 '
        'autocast where the GPU supports it, else fp16 with dynamic loss scaling')
    parser.add_argument(
        '--amp-dtype',
        choices=['auto', 'bfloat16', 'float16'],
        default='auto',
        help='autocast dtype of --amp (default auto: bfloat16 if supported)')
    parser.add_argument(
        '--no-validate', action='store_true', help='skip validation during training')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate linearly with the total batch size, using '
        'auto_scale_lr.base_batch_size from the config')
    parser.add_argument(
        '--no-pin-memory', action='store_true', help='disable pin_memory in dataloaders')
    parser.add_argument(
        '--no-persistent-workers',
        action='store_true',
        help='disable persistent_workers in dataloaders')
    parser.add_argument(
        '--tensorboard', action='store_true',
        help='also log scalars as TensorBoard events in <work_dir>/<time>/vis_data')
    parser.add_argument(
        '--mlflow', action='store_true', help='also log to MLflow (needs mlflow installed)')
    parser.add_argument(
        '--test-out', help="after training, run the config's test loop on the final "
        'weights and write its metrics to this .json file (one process instead of '
        'train.py + test.py, for recipes that test their last weights)')
    add_common_args(parser)
    args = parser.parse_args(argv)
    if args.test_out and not args.test_out.endswith('.json'):
        parser.error('--test-out must end with .json')
    set_local_rank(args.local_rank)
    return args


def merge_args(cfg, args):
    """Fold the command-line options into the config."""
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None

    apply_runner_args(cfg, args)
    add_trackers(cfg, [name for name in ('tensorboard', 'mlflow') if getattr(args, name)])

    if args.amp:
        import torch
        if not torch.cuda.is_available():
            raise UserError('--amp needs a CUDA GPU; this machine has none')
        optim_wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if optim_wrapper not in ('OptimWrapper', 'AmpOptimWrapper'):
            raise UserError(f'--amp cannot be combined with optim_wrapper type '
                            f'"{optim_wrapper}"')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        dtype = amp_dtype(args.amp_dtype)
        cfg.optim_wrapper.dtype = dtype
        if dtype == 'float16':
            cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
        else:  # bf16 has fp32's range: no loss scaling (and no per-step inf check sync)
            cfg.optim_wrapper.loss_scale = dict(enabled=False)

    if args.resume == 'auto':
        # the newest checkpoint of the work dir that loads intact (a truncated or modified
        # latest one is skipped with a warning); None lets mmengine start from scratch
        cfg.resume = True
        cfg.load_from = find_intact_checkpoint(cfg.work_dir) if osp.isdir(cfg.work_dir) \
            else None
        if cfg.load_from is None:
            print(f'train.py: warning: --resume found no checkpoint to resume in '
                  f'{osp.abspath(cfg.work_dir)}; training starts from scratch',
                  file=sys.stderr)
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = check_checkpoint(args.resume, '--resume')

    if args.auto_scale_lr:
        base = (cfg.get('auto_scale_lr') or {}).get('base_batch_size')
        if base is None:
            raise UserError('--auto-scale-lr needs auto_scale_lr.base_batch_size in the '
                            'config (the total batch size its learning rate is meant for)')
        cfg.auto_scale_lr.enable = True

    for loader_name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(loader_name)
        if not loader:
            continue
        if args.no_pin_memory:
            loader['pin_memory'] = False
        if args.no_persistent_workers:
            loader['persistent_workers'] = False
    return cfg


def amp_dtype(requested: str) -> str:
    """The autocast dtype for ``--amp``: bfloat16 where the GPU supports it (Ampere and
    newer), else float16; an explicit request is kept unless the GPU cannot do it."""
    import torch
    supported = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    if requested == 'auto':
        return 'bfloat16' if supported else 'float16'
    if requested == 'bfloat16' and not supported:
        raise UserError('--amp-dtype bfloat16: this GPU does not support bf16; use float16')
    return requested


def main(argv=None):
    args = parse_args(argv)
    with report_user_errors('train.py'):
        register_all_modules(init_default_scope=False)
        cfg = load_config(args.config, args.cfg_options)
        cfg = merge_args(cfg, args)
        check_config(cfg)
        if args.test_out and not all(cfg.get(k) for k in ('test_dataloader', 'test_cfg',
                                                          'test_evaluator')):
            raise UserError(f'--test-out: {args.config} has no test_dataloader, test_cfg '
                            'and test_evaluator to test with')
        setup_cpu_distributed(cfg, args.launcher)
        runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else \
            _build_custom_runner(cfg)
        check_train_batches(runner)
        runner.train()
        metrics = runner.test() if args.test_out else None
    if get_rank() == 0:  # once per job, not once per process
        print(f'train.py: finished; checkpoints and logs in {osp.abspath(cfg.work_dir)}')
        if metrics is not None:
            mmengine.dump(metrics, args.test_out)
            print(f'train.py: test metrics of the final weights written to '
                  f'{osp.abspath(args.test_out)}')


def _build_custom_runner(cfg):
    from medvlp.registry import RUNNERS
    return RUNNERS.build(cfg)


if __name__ == '__main__':
    main()
