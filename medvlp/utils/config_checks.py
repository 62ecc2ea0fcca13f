# Copyright (c) medvlp contributors. All rights reserved.
"""Checks of a training config that would otherwise fail late (after an epoch) or deep
(inside transformers, a decoder or mmengine) without naming the setting at fault."""
import difflib
import inspect
import json
import os.path as osp
from typing import Iterator, Optional, Tuple

from mmengine.config import Config

from .cli import UserError

#: What mmpretrain's VisionTransformer assumes when a config leaves ``patch_size`` out.
DEFAULT_PATCH_SIZE = 16
#: BertTextEncoder's default ``max_position_embeddings``.
DEFAULT_MAX_POSITIONS = 512
#: Pipeline transforms and the argument that sets their output image size.
IMAGE_SIZE_ARGS = {
    'RandomResizedCrop': 'scale', 'CXRRandomResizedCrop': 'scale', 'CenterCrop': 'crop_size',
    'RandomCrop': 'crop_size',
    'Resize': 'scale'
}
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def check_config(cfg: Config) -> None:
    """Run every static check on ``cfg``; raise a one-line :class:`UserError` on the first
    problem, naming the setting."""
    check_hooks(cfg)
    check_text_length(cfg)
    check_image_size(cfg)


def _closest(name: str, choices) -> str:
    match = difflib.get_close_matches(name, list(choices), n=1)
    return f' (did you mean "{match[0]}"?)' if match else ''


def _hook_configs(cfg: Config) -> Iterator[Tuple[str, dict]]:
    for name, hook in (cfg.get('default_hooks') or {}).items():
        if isinstance(hook, dict):
            yield f'default_hooks.{name}', hook
    for i, hook in enumerate(cfg.get('custom_hooks') or []):
        if isinstance(hook, dict):
            yield f'custom_hooks[{i}]', hook


def check_hooks(cfg: Config) -> None:
    """Every key of every hook config is an argument of the hook.

    mmengine's ``CheckpointHook`` takes ``**kwargs`` and hands them to
    ``Runner.save_checkpoint``, which takes none of them: a misspelt key there only fails
    when the first checkpoint is saved. It is checked like the hooks without ``**kwargs``.
    """
    from mmengine.hooks import CheckpointHook

    from medvlp.registry import HOOKS
    for where, hook in _hook_configs(cfg):
        hook_type = hook.get('type')
        hook_cls = HOOKS.get(hook_type) if isinstance(hook_type, str) else hook_type
        if not inspect.isclass(hook_cls):
            continue  # an unknown type is reported when the runner builds it
        params = inspect.signature(hook_cls.__init__).parameters
        takes_kwargs = any(p.kind is p.VAR_KEYWORD for p in params.values())
        if takes_kwargs and not issubclass(hook_cls, CheckpointHook):
            continue
        accepted = {n for n, p in params.items() if p.kind is not p.VAR_KEYWORD} - {'self'}
        for key in hook:
            if key not in accepted | {'type', 'priority'}:
                raise UserError(f'{where}: {hook_cls.__name__} takes no argument "{key}"'
                                f'{_closest(key, accepted)}')


def _pipelines(cfg: Config) -> Iterator[Tuple[str, list]]:
    for loader in LOADERS:
        dataset = (cfg.get(loader) or {}).get('dataset') or {}
        while isinstance(dataset.get('dataset'), dict):  # dataset wrappers
            dataset = dataset['dataset']
        if isinstance(dataset.get('pipeline'), list):
            yield f'{loader}.dataset.pipeline', dataset['pipeline']


def _short_type(transform: dict) -> str:
    return str(transform.get('type', '')).split('.')[-1]


def _max_positions(text_encoder: dict) -> Optional[int]:
    pretrained = text_encoder.get('pretrained')
    if pretrained is not None:
        path = osp.join(pretrained, 'config.json')
        if not osp.isfile(path):
            return None  # the encoder itself reports the missing folder
        with open(path) as f:
            return json.load(f).get('max_position_embeddings')
    return text_encoder.get('max_position_embeddings', DEFAULT_MAX_POSITIONS)


def check_text_length(cfg: Config) -> None:
    """No ``TokenizeReport`` pads or truncates reports beyond the text encoder's position
    embeddings."""
    text_encoder = (cfg.get('model') or {}).get('text_encoder')
    if not isinstance(text_encoder, dict):
        return
    limit = _max_positions(text_encoder)
    if limit is None:
        return
    for where, pipeline in _pipelines(cfg):
        for transform in pipeline:
            length = transform.get('max_length') if _short_type(transform) == \
                'TokenizeReport' else None
            if length is not None and length > limit:
                raise UserError(
                    f'{where}: TokenizeReport max_length={length} exceeds the text '
                    f"encoder's {limit} position embeddings "
                    '(model.text_encoder.max_position_embeddings); lower max_length or '
                    'raise max_position_embeddings')


def _sizes(value) -> Tuple[int, ...]:
    if isinstance(value, int):
        return (value, )
    if isinstance(value, (tuple, list)) and all(isinstance(v, int) for v in value):
        return tuple(value)
    return ()


def check_image_size(cfg: Config) -> None:
    """The ViT's ``img_size`` and the pipelines' crop sizes are multiples of its
    ``patch_size``."""
    backbone = (cfg.get('model') or {}).get('backbone')
    if not isinstance(backbone, dict) or 'img_size' not in backbone:
        return
    patch = backbone.get('patch_size', DEFAULT_PATCH_SIZE)
    if not isinstance(patch, int):
        return
    for size in _sizes(backbone['img_size']):
        if size % patch:
            raise UserError(f'model.backbone.img_size={backbone["img_size"]} is not a '
                            f'multiple of model.backbone.patch_size={patch}')
    for where, pipeline in _pipelines(cfg):
        for transform in pipeline:
            arg = IMAGE_SIZE_ARGS.get(_short_type(transform))
            for size in _sizes(transform.get(arg)) if arg else ():
                if size % patch:
                    raise UserError(
                        f'{where}: {_short_type(transform)} {arg}={transform[arg]} is not a '
                        f'multiple of model.backbone.patch_size={patch}')


def check_train_batches(runner) -> None:
    """The training set fills at least one batch (``drop_last`` would leave none).

    Builds the train loop (and so the train dataloader) early, which the runner would do
    at the start of ``train()`` anyway.
    """
    loader = runner.train_loop.dataloader
    if len(loader) > 0:
        return
    per_process = len(loader.sampler) if hasattr(loader.sampler, '__len__') else \
        len(loader.dataset)
    raise UserError(
        f'train_dataloader.batch_size={loader.batch_size} exceeds the {per_process} training '
        f'samples per process ({len(loader.dataset)} in all, {runner.world_size} '
        'process(es)) and drop_last=True leaves no batch; lower the batch size or set '
        'train_dataloader.drop_last=False')
