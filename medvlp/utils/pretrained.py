# Copyright (c) medvlp contributors. All rights reserved.
"""``init_cfg=dict(type='Pretrained', ...)`` that refuses weights that do not fit.

mmengine's ``PretrainedInit`` loads with ``strict=False`` and only logs what did not match,
so a checkpoint of the wrong size, of another key layout (timm keys never converted) or
loaded with the wrong ``prefix`` trains a randomly initialised network without a word
beyond a warning in the log. medvlp registers :class:`CheckedPretrainedInit` under the same
name ``Pretrained`` in mmengine's root registry (importing medvlp does this), so every
scope (medvlp, mmpretrain, mmseg) gets it and mmpretrain's ViT still recognises
``type='Pretrained'``. It loads exactly like mmengine's and then:

* raises :class:`PretrainedMismatchError` when the checkpoint has nothing under
  ``prefix`` (the message lists the prefixes it has), when a tensor's shape differs from
  the module's (after the module's own load hooks, e.g. ViT position-embedding resizing),
  when fewer than ``min_loaded`` of the module's tensors are loaded, or when a group of
  tensors that the checkpoint does have (e.g. ``layers``) is only partly present;
* logs, always, how many tensors were loaded, and which were missing or unexpected.

Tensors missing as a whole group (say a new ``ln2`` norm that the checkpoint never had) are
allowed: downstream heads and necks are expected to be new. ``mismatch='warn'`` turns the
errors into warnings.
"""
import os.path as osp
from collections import defaultdict
from typing import Dict, Iterable, List, Optional

import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model.weight_init import PretrainedInit, update_init_info

from .cli import UserError


class PretrainedMismatchError(UserError):
    """Pre-trained weights that do not fit the module they are loaded into."""


def _group(key: str) -> str:
    """``layers.3.ffn.w`` → ``layers``; the unit a checkpoint has or does not have."""
    return key.split('.', 1)[0]


def _summarise(keys: Iterable[str], limit: int = 8) -> str:
    keys = sorted(keys)
    groups: Dict[str, int] = defaultdict(int)
    for key in keys:
        groups[_group(key)] += 1
    text = ', '.join(f'{g} ({n})' for g, n in sorted(groups.items()))
    if len(groups) > limit:
        text = ', '.join(f'{g} ({n})' for g, n in sorted(groups.items())[:limit]) + ', ...'
    return text


class CheckedPretrainedInit(PretrainedInit):
    """Load pre-trained weights and check that they fit.

    Args:
        checkpoint (str): Path or URL of the checkpoint (any scheme medvlp's safe loader
            handles).
        prefix (str, optional): Load only the weights under this prefix, e.g.
            ``'backbone.'``. Defaults to None.
        map_location (str): Same as :func:`torch.load`. Defaults to ``'cpu'``.
        min_loaded (float): Smallest share of the module's tensors that must be loaded.
            Defaults to 0.5.
        mismatch (str): ``'error'`` (default) or ``'warn'``.
    """

    def __init__(self,
                 checkpoint: str,
                 prefix: Optional[str] = None,
                 map_location: str = 'cpu',
                 min_loaded: float = 0.5,
                 mismatch: str = 'error') -> None:
        super().__init__(checkpoint, prefix=prefix, map_location=map_location)
        if mismatch not in ('error', 'warn'):
            raise UserError(f'Pretrained: mismatch={mismatch!r}; use "error" or "warn"')
        self.min_loaded = min_loaded
        self.mismatch = mismatch

    def __call__(self, module: nn.Module) -> None:
        from mmengine.runner.checkpoint import _load_checkpoint
        if '://' not in str(self.checkpoint) and not osp.isfile(
                osp.expanduser(str(self.checkpoint))):
            raise PretrainedMismatchError(
                f'Pretrained: checkpoint "{self.checkpoint}" does not exist; give the '
                'pre-training checkpoint, e.g. --cfg-options '
                'model.backbone.init_cfg.checkpoint=PATH')
        where = f'{self.prefix} in model' if self.prefix else 'model'
        print_log(f'load {where} from: {self.checkpoint}', logger='current')
        checkpoint = _load_checkpoint(self.checkpoint, map_location=self.map_location)
        state = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint,
                                                                        dict) else None
        if not isinstance(state, dict):
            raise PretrainedMismatchError(
                f'Pretrained: "{self.checkpoint}" holds no state dict')
        state = self._select_prefix(dict(state))
        self._load_checked(module, state)
        if hasattr(module, '_params_init_info'):
            update_init_info(module, init_info=self._get_init_info())

    def _select_prefix(self, state: Dict) -> Dict:
        if not self.prefix:
            return {k[len('module.'):] if k.startswith('module.') else k: v
                    for k, v in state.items()}
        prefix = self.prefix if self.prefix.endswith('.') else self.prefix + '.'
        selected = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        if not selected:
            raise PretrainedMismatchError(
                f'Pretrained: "{self.checkpoint}" has no weights under prefix "{prefix}"; '
                f'its keys start with: {_summarise(state)}')
        return selected

    def _load_checked(self, module: nn.Module, state: Dict) -> None:
        expected = module.state_dict()
        try:
            result = module.load_state_dict(state, strict=False)
        except RuntimeError as e:  # size mismatches raise even with strict=False
            shapes = [line.strip() for line in str(e).splitlines() if 'size mismatch' in line]
            self._fail(f'{len(shapes)} tensors of "{self.checkpoint}" have another shape '
                       f'than in {type(module).__name__}, e.g. {shapes[0] if shapes else e}; '
                       'set the model size to the checkpoint\'s', hard=True)
            return
        missing, unexpected = set(result.missing_keys), set(result.unexpected_keys)
        loaded = [k for k in expected if k not in missing]
        print_log(
            f'Pretrained: loaded {len(loaded)}/{len(expected)} tensors of '
            f'{type(module).__name__} from {self.checkpoint}' +
            (f'; missing (left as initialised): {_summarise(missing)}' if missing else '') +
            (f'; unexpected (ignored): {_summarise(unexpected)}' if unexpected else ''),
            logger='current')
        problems: List[str] = []
        if expected and len(loaded) < self.min_loaded * len(expected):
            problems.append(f'only {len(loaded)} of {len(expected)} tensors of '
                            f'{type(module).__name__} are in the checkpoint (missing: '
                            f'{_summarise(missing)}; it has: {_summarise(state)})')
        have_groups = {_group(k) for k in state}
        partial = sorted({k for k in missing if _group(k) in have_groups})
        if partial:
            problems.append(f'{len(partial)} tensors are missing from groups the checkpoint '
                            f'does have: {_summarise(partial)} (e.g. {partial[0]}); is the '
                            'depth or layout the same?')
        if problems:
            self._fail(f'"{self.checkpoint}" does not fit: ' + '; '.join(problems))

    def _fail(self, message: str, hard: bool = False) -> None:
        if self.mismatch == 'error' or hard:
            raise PretrainedMismatchError(f'Pretrained: {message}')
        print_log(f'Pretrained: {message}', logger='current', level=30)

    def _get_init_info(self) -> str:
        return f'Pretrained: load from {self.checkpoint}'


def register_checked_pretrained() -> None:
    """Make ``type='Pretrained'`` mean :class:`CheckedPretrainedInit` in every scope."""
    from mmengine.registry import WEIGHT_INITIALIZERS
    WEIGHT_INITIALIZERS.register_module(
        name='Pretrained', module=CheckedPretrainedInit, force=True)
