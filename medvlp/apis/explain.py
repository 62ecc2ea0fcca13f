# Copyright (c) medvlp contributors. All rights reserved.
"""Where report words attend on an X-ray, and the masks MedIM draws from that attention.

:func:`sample_attention` works on a sample of a dataset (what the visualisation tools in
``tools/visualization/`` draw), :class:`ImageReportExplainer` on any image file and report
text; both return the same ``sample`` dict, which :mod:`medvlp.visualization.figures`
turns into PNGs.
"""
import math
import os
import os.path as osp
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
from mmengine.config import Config
from mmengine.dataset import default_collate
from mmengine.registry import DefaultScope

from medvlp.utils.cli import UserError
from .embedding import ReportEmbedder, _build
from .model import (dataset_cfg, init_model, load_inference_config, load_weights,
                    require_alignment_model)


def load_for_visualisation(config: str, checkpoint: str, cfg_options: Optional[dict],
                           indices: Sequence[int]) -> Tuple[torch.nn.Module, object]:
    """What the visualisation tools start with: the model and the test set to draw from.

    Raises:
        UserError: For a missing config or checkpoint, a config without test set or
            alignment head, or ``indices`` outside the test set.
    """
    from medvlp.utils import check_checkpoint, register_all_modules
    register_all_modules(init_default_scope=False)
    cfg = load_inference_config(config, cfg_options)
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
        ValueError: If the config has no test dataloader.
        UserError: If the model has no alignment head or the checkpoint does not fit it.
    """
    from medvlp.registry import DATASETS, MODELS
    if not cfg.get('test_dataloader'):
        raise ValueError('the config has no test_dataloader to draw samples from')
    with DefaultScope.overwrite_default_scope('medvlp'):
        dataset = DATASETS.build(cfg.test_dataloader.dataset)
        model = MODELS.build(cfg.model)
    require_alignment_model(model, 'the attention maps')
    load_weights(model, checkpoint)
    model._config = cfg
    return model.eval(), dataset


@torch.no_grad()
def batch_attention(model, batch: dict, record: dict) -> Dict:
    """Word-to-region attention of a collated batch of one image-report pair.

    Returns:
        dict: ``record``, ``image`` (``[H, W]`` uint8, the X-ray as the model saw it),
        ``attention`` (``[W, R]``), ``grid`` (``(rows, cols)`` of the regions), ``flags``
        (``word_keyword`` and ``word_sentence_ids``, ``[W']`` each) and ``data`` (the
        preprocessed batch).
    """
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


def sample_attention(model, dataset, index: int) -> Dict:
    """:func:`batch_attention` of sample ``index`` of ``dataset``."""
    return batch_attention(model, default_collate([dataset[index]]),
                           dataset.get_data_info(index))


class ImageReportExplainer:
    """Attention maps and report-guided masks for an image file and its report text.

    Args:
        model (str | Config | nn.Module): Config of a JoImTeRNet or MedIM model, or the
            model.
        pretrained (str, optional): Checkpoint.
        device (str, optional): Defaults to ``'cpu'``.
        cfg_options (dict, optional): Config overrides.
        text_source (str, optional): ``'report'`` or ``'note'``; see
            :class:`~medvlp.apis.ReportEmbedder`.
    """

    def __init__(self,
                 model: Union[str, Config, torch.nn.Module],
                 pretrained: Optional[str] = None,
                 device: Union[str, torch.device, None] = None,
                 cfg_options: Optional[dict] = None,
                 text_source: Optional[str] = None) -> None:
        if not isinstance(model, torch.nn.Module):
            model = init_model(model, pretrained, device or 'cpu', cfg_options)
        require_alignment_model(model, 'the attention maps')
        self.model = model
        self.reports = ReportEmbedder(model, text_source=text_source)
        pipeline = dataset_cfg(model._config).get('pipeline', [])
        self.pipeline = _build(pipeline)

    def sample(self, image: str, report: Union[str, dict]) -> Dict:
        """The ``sample`` dict (see :func:`batch_attention`) of one image and report."""
        from medvlp.datasets.transforms.loading import CorruptImageError
        record = self.reports.process(0, report)
        record['img_path'] = str(image)
        try:
            packed = self.pipeline(dict(record))
        except (CorruptImageError, FileNotFoundError) as e:
            raise UserError(f'{image} is not a readable image: {e}') from e
        return batch_attention(self.model, default_collate([packed]), record)

    def explain(self, image: str, report: Union[str, dict], out_dir: str,
                words: Optional[Sequence[str]] = None, max_words: int = 4,
                seed: int = 0) -> Dict[str, str]:
        """Write ``<name>_attention.png`` (word-to-patch heat maps) and
        ``<name>_masks.png`` (KWM/SDM maps and masks) to ``out_dir``.

        Returns:
            dict: ``attention`` and ``masks`` PNG paths.
        """
        from medvlp.visualization.figures import draw_report_masks, draw_word_attention
        sample = self.sample(image, report)
        os.makedirs(out_dir, exist_ok=True)
        name = osp.splitext(osp.basename(str(image)))[0]
        return dict(
            attention=draw_word_attention(sample, osp.join(out_dir, f'{name}_attention.png'),
                                          words, max_words),
            masks=draw_report_masks(self.model, sample, osp.join(out_dir, f'{name}_masks.png'),
                                    seed))
