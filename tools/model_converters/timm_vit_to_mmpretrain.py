# Copyright (c) medvlp contributors. All rights reserved.
"""Convert timm-layout ViT weights (official MRM, MAE ImageNet, DeiT / timm) to medvlp.

The result is a checkpoint whose image encoder is an ``mmpretrain.VisionTransformer`` (or
``MAEViT``) under ``backbone.``, the layout every medvlp recipe loads with
``init_cfg=dict(type='Pretrained', checkpoint=..., prefix='backbone.')``. Key mapping::

    patch_embed.proj.*        -> backbone.patch_embed.projection.*
    cls_token, pos_embed      -> backbone.cls_token, backbone.pos_embed
    blocks.<i>.norm1 / norm2  -> backbone.layers.<i>.ln1 / ln2
    blocks.<i>.attn.qkv/proj  -> backbone.layers.<i>.attn.qkv/proj (unchanged)
    blocks.<i>.mlp.fc1 / fc2  -> backbone.layers.<i>.ffn.layers.0.0 / ffn.layers.1
    norm                      -> backbone.ln1 (final norm; dropped with --final-norm drop)
    fc_norm                   -> backbone.ln2 (the norm after average pooling, if present)

Dropped (and counted): MAE's decoder (``decoder_*``, ``mask_token``), MRM's report branch
(``bert*``, fusion), classification heads (``head``, ``head_dist``) and DeiT's
``dist_token``. Any other key is an error, so nothing is lost silently.

Sources (``--source``): ``mrm`` (``MRM.pth``: {'model': ...}), ``mae``
(``mae_pretrain_vit_base.pth``, which may pickle an ``argparse.Namespace``; it is allowed
explicitly in medvlp's safe loader, nothing else is), ``deit`` / ``timm`` (a plain state dict
or {'model': ...}). The only difference is what is dropped and the default of
``--final-norm``: ``drop`` for MRM and MAE (their fine-tuning pools patch tokens into a new
norm), ``keep`` for DeiT/timm.

Example::

    python tools/model_converters/timm_vit_to_mmpretrain.py MRM.pth \\
        checkpoints/mrm_vit-b-p16_medvlp.pth --source mrm
"""
import argparse
import os
import os.path as osp
import re
import sys
from collections import Counter, OrderedDict
from typing import Dict, Tuple

import torch

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

from medvlp.utils import allow_checkpoint_globals, load_checkpoint_file  # noqa: E402
from medvlp.utils.cli import UserError, report_user_errors  # noqa: E402

#: Key prefixes that are not part of the image encoder, per source.
DROPPED = {
    'mrm': ('decoder_', 'mask_token', 'bert', 'fusion', 'img_mlp', 'mlm', 'head.'),
    'mae': ('decoder_', 'mask_token', 'head.'),
    'deit': ('head.', 'head_dist.', 'dist_token'),
    'timm': ('head.', 'head_dist.', 'dist_token'),
}
FINAL_NORM_DEFAULT = {'mrm': 'drop', 'mae': 'drop', 'deit': 'keep', 'timm': 'keep'}
BLOCK_RENAMES = (
    ('norm1.', 'ln1.'),
    ('norm2.', 'ln2.'),
    ('attn.qkv.', 'attn.qkv.'),
    ('attn.proj.', 'attn.proj.'),
    ('mlp.fc1.', 'ffn.layers.0.0.'),
    ('mlp.fc2.', 'ffn.layers.1.'),
)
BLOCK = re.compile(r'^blocks\.(\d+)\.(.*)$')


def unwrap(checkpoint) -> Dict[str, torch.Tensor]:
    """The state dict inside an official checkpoint ({'model': ...}, {'state_dict': ...}
    or the dict itself)."""
    if not isinstance(checkpoint, dict):
        raise UserError(f'expected a dict checkpoint, got {type(checkpoint).__name__}')
    for key in ('model', 'state_dict', 'module'):
        if isinstance(checkpoint.get(key), dict):
            return checkpoint[key]
    return checkpoint


def convert_timm_vit(state: Dict[str, torch.Tensor],
                     source: str = 'timm',
                     final_norm: str = None) -> Tuple['OrderedDict', Counter]:
    """Rename a timm-layout ViT state dict to mmpretrain's, under ``backbone.``.

    Returns:
        tuple: The new state dict and a Counter of dropped key groups.

    Raises:
        UserError: For a key that is neither mapped nor known to be droppable, or if no
            encoder key was found.
    """
    final_norm = final_norm or FINAL_NORM_DEFAULT[source]
    if state and all(k.startswith('module.') for k in state):
        state = {k[len('module.'):]: v for k, v in state.items()}
    out, dropped, unknown = OrderedDict(), Counter(), []
    for key, value in state.items():
        if key.startswith(DROPPED[source]):
            dropped[key.split('.')[0]] += 1
            continue
        new = None
        if key in ('cls_token', 'pos_embed'):
            new = key
        elif key.startswith('patch_embed.proj.'):
            new = 'patch_embed.projection.' + key[len('patch_embed.proj.'):]
        elif key.startswith('norm.'):
            if final_norm == 'drop':
                dropped['norm'] += 1
                continue
            new = 'ln1.' + key[len('norm.'):]
        elif key.startswith('fc_norm.'):
            new = 'ln2.' + key[len('fc_norm.'):]
        else:
            match = BLOCK.match(key)
            if match:
                index, rest = match.groups()
                for old, renamed in BLOCK_RENAMES:
                    if rest.startswith(old):
                        new = f'layers.{index}.{renamed}{rest[len(old):]}'
                        break
        if new is None:
            unknown.append(key)
        else:
            out['backbone.' + new] = value
    if unknown:
        raise UserError(f'{len(unknown)} keys of a {source} checkpoint have no mmpretrain '
                        f'ViT equivalent: {unknown[:8]}{" ..." if len(unknown) > 8 else ""}; '
                        'is --source right?')
    if not any(k.startswith('backbone.layers.') for k in out):
        raise UserError(f'no ViT blocks (blocks.<i>.*) found; keys start with '
                        f'{sorted({k.split(".")[0] for k in state})[:10]}')
    return out, dropped


def load_official(path: str):
    """Load an official checkpoint through medvlp's safe loader; ``argparse.Namespace``
    (pickled by MAE / MRM training scripts) is the one extra object allowed."""
    allow_checkpoint_globals(argparse.Namespace)
    return load_checkpoint_file(path, map_location='cpu')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('src', help='official checkpoint (MRM.pth, mae_pretrain_vit_base.pth, '
                        'a DeiT / timm .pth)')
    parser.add_argument('dst', help='medvlp checkpoint to write')
    parser.add_argument('--source', choices=sorted(DROPPED), required=True)
    parser.add_argument('--final-norm', choices=['keep', 'drop'],
                        help='keep the final norm as backbone.ln1 (recipes with '
                        'final_norm=True, e.g. the linear probe) or drop it (MRM / MAE '
                        'fine-tuning); default: drop for mrm/mae, keep for deit/timm')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    with report_user_errors('timm_vit_to_mmpretrain.py'):
        if not osp.isfile(args.src):
            raise UserError(f'checkpoint "{args.src}" does not exist')
        state, dropped = convert_timm_vit(unwrap(load_official(args.src)), args.source,
                                          args.final_norm)
        os.makedirs(osp.dirname(osp.abspath(args.dst)), exist_ok=True)
        torch.save(dict(state_dict=state, meta=dict(converted_from=osp.basename(args.src),
                                                    source=args.source)), args.dst)
    layers = len({k.split('.')[2] for k in state if k.startswith('backbone.layers.')})
    print(f'converted {len(state)} tensors ({layers} blocks) to {args.dst}')
    print('dropped: ' + (', '.join(f'{g} ({n})' for g, n in sorted(dropped.items()))
                         or 'nothing'))


if __name__ == '__main__':
    main()
