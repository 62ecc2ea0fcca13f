# Copyright (c) medvlp contributors. All rights reserved.
"""Print the parameter count of a config's model, in total and per top-level submodule.

The model is built from the config alone (no data, no checkpoint), on PyTorch's ``meta``
device by default, so even large models cost neither memory nor initialisation time.
``--device cpu`` builds real tensors instead.

Example::

    python tools/analysis_tools/count_parameters.py configs/mrm/mrm_vit-b_mimic.py
    python tools/analysis_tools/count_parameters.py CONFIG --cfg-options model.fusion=None
"""
import argparse
import os.path as osp
import sys
from typing import List, Tuple

import torch
from torch import nn

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

from medvlp.utils import (UserError, load_config,  # noqa: E402
                          register_all_modules, report_user_errors)


def parse_args(argv=None):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(
        description="Print the parameter count of a config's model")
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        '--device',
        choices=['meta', 'cpu'],
        default='meta',
        help='where to build the model: "meta" allocates nothing (default), "cpu" builds '
        'real tensors')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings in the config, as key=value pairs')
    return parser.parse_args(argv)


def build_model(cfg, device: str) -> nn.Module:
    """Build ``cfg.model`` in the config's default scope, on ``device``."""
    from mmengine.registry import MODELS, DefaultScope
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'medvlp')), \
            torch.device(device):
        return MODELS.build(cfg.model)


def count(module: nn.Module) -> Tuple[int, int]:
    """``(all, trainable)`` parameter counts of ``module``."""
    params = list(module.parameters())
    return (sum(p.numel() for p in params),
            sum(p.numel() for p in params if p.requires_grad))


def parameter_table(model: nn.Module) -> List[Tuple[str, int, int]]:
    """One ``(name, all, trainable)`` row per top-level submodule, then the total."""
    rows = [(name, *count(child)) for name, child in model.named_children()]
    direct = [p for p in model.parameters(recurse=False)]
    if direct:
        rows.append(('(own parameters)', sum(p.numel() for p in direct),
                     sum(p.numel() for p in direct if p.requires_grad)))
    rows.append(('total', *count(model)))
    return rows


def format_table(model_type: str, rows: List[Tuple[str, int, int]]) -> str:
    width = max(len(name) for name, _, _ in rows + [('submodule', 0, 0)])
    lines = [f'{model_type} parameters',
             f'{"submodule":<{width}}  {"parameters":>13}  {"trainable":>13}  {"millions":>8}']
    for name, total, trainable in rows:
        if name == 'total':
            lines.append('-' * len(lines[1]))
        lines.append(f'{name:<{width}}  {total:>13,}  {trainable:>13,}  {total / 1e6:>8.2f}')
    return '\n'.join(lines)


def main(argv=None) -> List[Tuple[str, int, int]]:
    args = parse_args(argv)
    with report_user_errors('count_parameters.py'):
        register_all_modules(init_default_scope=False)
        cfg = load_config(args.config, args.cfg_options)
        if not cfg.get('model'):
            raise UserError(f'config "{args.config}" defines no model')
        model = build_model(cfg, args.device)
    rows = parameter_table(model)
    print(f'config: {args.config}')
    print(format_table(type(model).__name__, rows))
    return rows


if __name__ == '__main__':
    main()
