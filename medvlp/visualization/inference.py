# Copyright (c) medvlp contributors. All rights reserved.
"""Run an alignment model on single dataset samples for the visualisation tools."""
import math
from typing import Dict, Optional, Sequence, Tuple

import torch
from mmengine.config import Config
from mmengine.dataset import default_collate
from mmengine.registry import DefaultScope
from mmengine.runner import load_checkpoint

from medvlp.registry import DATASETS, MODELS


def load_for_visualisation(config: str, checkpoint: str, cfg_options: Optional[dict],
                           indices: Sequence[int]) -> Tuple[torch.nn.Module, object]:
    """What the visualisation tools start with: the model and the test set to draw from.

    Raises:
        UserError: For a missing config or checkpoint, a config without test set or
            alignment head, or ``indices`` outside the test set.
    """
    from medvlp.utils import UserError, check_checkpoint, load_config, register_all_modules
    register_all_modules(init_default_scope=False)
    cfg = load_config(config, cfg_options)
    check_checkpoint(checkpoint, 'visualisation')
    try:
        model, dataset = build_model_and_test_set(cfg, checkpoint)
    except ValueError as e:
        raise UserError(str(e)) from e
    bad = [i for i in indices if not 0 <= i < len(dataset)]
    if bad:
        raise UserError(f'--indices {bad} outside the test set of {len(dataset)} samples')
    return model, dataset


def build_model_and_test_set(cfg: Config, checkpoint: str) -> Tuple[torch.nn.Module, object]:
    """The config's model with the checkpoint loaded (eval mode) and its test dataset.

    Raises:
        ValueError: If the config has no test dataloader or the model no alignment head.
    """
    if not cfg.get('test_dataloader'):
        raise ValueError('the config has no test_dataloader to draw samples from')
    with DefaultScope.overwrite_default_scope('medvlp'):
        dataset = DATASETS.build(cfg.test_dataloader.dataset)
        model = MODELS.build(cfg.model)
    if not hasattr(model, 'head') or not hasattr(model.head, 'attention'):
        raise ValueError(f'{type(model).__name__} has no region-word alignment head')
    load_checkpoint(model, checkpoint, map_location='cpu')
    return model.eval(), dataset


@torch.no_grad()
def sample_attention(model, dataset, index: int) -> Dict:
    """Word-to-region attention of one sample over its own image.

    Returns:
        dict: ``record`` (the dataset record), ``image`` (``[H, W]`` uint8, the X-ray as
        the model saw it), ``attention`` (``[W, R]``), ``grid`` (``(rows, cols)`` of the
        regions), ``flags`` (``word_keyword`` and ``word_sentence_ids``, ``[W']`` each) and
        ``data`` (the preprocessed batch of one).
    """
    record = dataset.get_data_info(index)
    batch = default_collate([dataset[index]])
    data = model.data_preprocessor(batch, False)
    img = model.encode_image(data['inputs'])
    text = model._text_inputs(data['data_samples'], data['inputs'].device)
    txt = model.encode_text(text)
    attention = model.head.attention(img['regions'], txt['words'], txt['word_mask'])[0]
    regions = attention.size(-1)
    side = math.isqrt(regions)
    if side * side != regions:
        raise ValueError(f'{regions} regions do not form a square grid')
    flags = model._text_inputs(data['data_samples'], data['inputs'].device,
                               ('word_keyword', 'word_sentence_ids'))
    return dict(record=record, image=batch['inputs'][0][0].numpy(), attention=attention,
                grid=(side, side), flags={k: v[0] for k, v in flags.items()}, data=data)
