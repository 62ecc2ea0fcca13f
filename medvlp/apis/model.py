# Copyright (c) medvlp contributors. All rights reserved.
"""Build a medvlp model from a config and load a checkpoint into it, for inference."""
import os.path as osp
import re
from typing import Optional, Sequence, Union

import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner.checkpoint import _load_checkpoint_to_model

from medvlp.utils.cli import UserError

ConfigType = Union[str, Config]


def checkpoint_model_type(checkpoint: dict) -> Optional[str]:
    """The ``model.type`` of the config a checkpoint was trained with, if it says so.

    mmengine's runner stores the whole config as text in ``meta['cfg']``; the algorithm
    is the ``type`` of the top-level ``model`` dict. Returns None when the checkpoint has
    no such metadata (a converted or hand-made checkpoint).
    """
    text = (checkpoint.get('meta') or {}).get('cfg') if isinstance(checkpoint, dict) else None
    if not isinstance(text, str):
        return None
    lines = text.splitlines()
    if 'model = dict(' not in lines:
        return None
    body = []
    for line in lines[lines.index('model = dict(') + 1:]:
        if line and not line.startswith(' '):
            break
        body.append(line)
    # the model's own type sits at the first indentation level of its dict
    top = re.search(r"^    type='([\w.]+)'", '\n'.join(body), flags=re.M)
    return top.group(1) if top else None


def load_inference_config(config: ConfigType, cfg_options: Optional[dict] = None) -> Config:
    """Read a config (path or :class:`Config`) and apply ``cfg_options``.

    Raises:
        UserError: If the file does not exist.
    """
    if isinstance(config, Config):
        cfg = config.copy()
    else:
        if not osp.isfile(str(config)):
            raise UserError(f'config file "{config}" does not exist')
        cfg = Config.fromfile(str(config))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if 'model' not in cfg:
        raise UserError(f'config {getattr(cfg, "filename", config)} has no model')
    return cfg


def init_model(config: ConfigType,
               checkpoint: Optional[str] = None,
               device: Union[str, torch.device] = 'cpu',
               cfg_options: Optional[dict] = None) -> torch.nn.Module:
    """Build the model of ``config``, load ``checkpoint`` into it, put it in eval mode.

    Like ``mmpretrain.apis.get_model``: the config is kept on the model as ``_config``
    (the inferencers read the test pipeline from it).

    Args:
        config (str | Config): Config file or object.
        checkpoint (str, optional): Checkpoint file. None keeps the initial weights.
        device (str | torch.device): Where to put the model. Defaults to ``'cpu'``.
        cfg_options (dict, optional): ``key=value`` overrides, as ``--cfg-options``.

    Returns:
        torch.nn.Module: The model, in eval mode, on ``device``.

    Raises:
        UserError: For a missing config or checkpoint, a checkpoint trained as another
            algorithm, or one whose weights do not fit the model.
    """
    from medvlp.registry import MODELS
    from medvlp.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    cfg = load_inference_config(config, cfg_options)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'medvlp')):
        model = MODELS.build(cfg.model)
    if checkpoint is not None:
        load_weights(model, checkpoint)
    model._config = cfg
    return model.to(device).eval()


def load_weights(model: torch.nn.Module, checkpoint: str) -> None:
    """Load a checkpoint file into ``model``, refusing one that belongs to another model.

    Raises:
        UserError: If the file is missing, was trained as another algorithm (per its
            metadata), or lacks any weight the model needs (by name and shape; an
            alignment model needs those of its encoders, necks and head).
    """
    from medvlp.utils import load_checkpoint_file
    if not osp.isfile(str(checkpoint)):
        raise UserError(f'checkpoint "{checkpoint}" does not exist')
    model = getattr(model, 'wrapped_model', model)  # ZeroShotClassifier: its inner model
    ckpt = load_checkpoint_file(str(checkpoint), map_location='cpu')
    trained_as = checkpoint_model_type(ckpt)
    built = type(model).__name__
    if trained_as is not None and trained_as.split('.')[-1] != built:
        raise UserError(f'checkpoint {checkpoint} holds a {trained_as} model but the config '
                        f'builds {built}; pass the config it was trained with')
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else ckpt
    state = {re.sub(r'^module\.', '', k): v for k, v in state.items()}
    from medvlp.models.classifiers import unfit_weights
    bad = unfit_weights(model, state)
    if bad:
        raise UserError(f'checkpoint {checkpoint} does not fit {built}: {len(bad)} weights '
                        f'are missing or of another shape (e.g. {", ".join(bad[:3])})')
    _load_checkpoint_to_model(model, dict(state_dict=state), strict=False)


def require_alignment_model(model: torch.nn.Module, what: str) -> None:
    """Raise a UserError unless ``model`` embeds images and reports into one space.

    Retrieval, zero-shot classification and the attention maps need the image and text
    encoders with the alignment necks and head of :class:`JoImTeRNet` / :class:`MedIM`.
    """
    missing = [name for name in ('encode_image', 'encode_text', 'head', 'img_neck',
                                 'text_neck') if not hasattr(model, name)]
    if missing or not hasattr(model.head, 'attention'):
        raise UserError(f'{what} needs an image-report alignment model (JoImTeRNet, MedIM); '
                        f'{type(model).__name__} has no alignment head or shared embedding '
                        'space')


def dataset_cfg(cfg: Config, splits: Sequence[str] = ('test', 'val', 'train')) -> dict:
    """The first dataset config among the config's ``<split>_dataloader`` entries,
    unwrapped from dataset wrappers (``RepeatDataset`` ...)."""
    for split in splits:
        loader = cfg.get(f'{split}_dataloader')
        if loader and loader.get('dataset'):
            dataset = loader['dataset']
            while 'pipeline' not in dataset and 'dataset' in dataset:
                dataset = dataset['dataset']
            return dataset
    raise UserError('the config has no test, val or train dataloader to take the data '
                    'pipeline from')
