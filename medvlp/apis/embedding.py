# Copyright (c) medvlp contributors. All rights reserved.
"""Image and report embeddings in the shared space of an image-report model.

Both inferencers follow ``mmpretrain.apis`` (``BaseInferencer``): build them from a config
and a checkpoint, call them on a list of inputs with a ``batch_size``; a progress bar shows
how far they are. Images go through the config's test pipeline (loading, resizing,
cropping), reports through the same :class:`~medvlp.text.ReportProcessor` and
``TokenizeReport`` transform as in training.
"""
from typing import Callable, Dict, List, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.dataset import Compose, default_collate
from mmengine.registry import DefaultScope
from mmpretrain.apis.base import BaseInferencer

from medvlp.utils.cli import UserError
from .model import dataset_cfg, init_model, require_alignment_model

#: Transforms of a test pipeline that handle the report (left out for images alone).
TEXT_TRANSFORMS = ('TokenizeReport', )
IMAGE_LOADERS = ('LoadCXRImage', 'LoadImageFromFile', 'mmpretrain.LoadImageFromFile')

ImageInput = Union[str, np.ndarray]
ReportInput = Union[str, dict]


def _type_name(transform: dict) -> str:
    return str(transform.get('type', '')).split('.')[-1]


def _build(transforms: Sequence[dict]) -> Compose:
    from medvlp.registry import TRANSFORMS
    with DefaultScope.overwrite_default_scope('medvlp'):
        return Compose([TRANSFORMS.build(t) for t in transforms])


class _AlignmentInferencer(BaseInferencer):
    """Shared set-up: model from config + checkpoint, pipeline from its dataset config."""

    forward_kwargs = {'normalize'}

    def __init__(self,
                 model: Union[str, Config, torch.nn.Module],
                 pretrained: Optional[str] = None,
                 device: Union[str, torch.device, None] = None,
                 cfg_options: Optional[dict] = None) -> None:
        if isinstance(model, torch.nn.Module):
            if pretrained is not None:
                from .model import load_weights
                load_weights(model, pretrained)
            if device is not None:
                model.to(device)
        else:
            model = init_model(model, pretrained, device or 'cpu', cfg_options)
        require_alignment_model(model, type(self).__name__)
        self.model = model.eval()
        self.config = model._config
        self.pipeline = self._init_pipeline(self.config)
        self.visualizer = None

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def preprocess(self, inputs: list, batch_size: int = 1, **kwargs):
        chunks = self._get_chunk_data(
            (self._prepare(i, item) for i, item in enumerate(inputs)), batch_size)
        yield from map(default_collate, chunks)

    def _inputs_to_list(self, inputs) -> list:
        return list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]

    def visualize(self, *args, **kwargs):
        return None

    def postprocess(self, preds: List[dict], visualization, return_datasamples=False,
                    **kwargs) -> List[dict]:
        return preds

    def embed(self, inputs: Sequence, batch_size: int = 16,
              normalize: bool = True) -> Dict[str, torch.Tensor]:
        """Embed a list of inputs and stack the results: one ``[N, ...]`` tensor per key."""
        preds = self(list(inputs), batch_size=batch_size, normalize=normalize)
        if not preds:
            raise UserError(f'{type(self).__name__}: nothing to embed')
        return {key: torch.stack([p[key] for p in preds]) for key in preds[0]
                if isinstance(preds[0][key], torch.Tensor)}


class ImageEmbedder(_AlignmentInferencer):
    """Global and patch-level image embeddings in the model's shared image-report space.

    Args:
        model (str | Config | nn.Module): Config file/object of a JoImTeRNet or MedIM
            model, or the model itself.
        pretrained (str, optional): Checkpoint to load.
        device (str, optional): Defaults to ``'cpu'``.
        cfg_options (dict, optional): Config overrides.

    Calling it on image files (any format ``LoadCXRImage`` reads: PNG, JPEG, DICOM) or
    ``[H, W]`` / ``[H, W, 3]`` uint8 arrays returns one dict per image:

    - ``global_feat``: ``[D]`` image embedding (``D`` = the necks' ``out_channels``);
    - ``patch_feats``: ``[R, D]`` one embedding per patch (``R = (img_size / patch)**2``),
      row-major;

    both L2-normalised unless ``normalize=False``.

    Example:
        >>> embedder = ImageEmbedder('configs/medim/medim_vit-tiny-p16_1xb16-30e_demo.py',
        ...                          'work_dirs/demo/epoch_30.pth')
        >>> feats = embedder.embed(['demo/cxr/images/000001-1.png'], batch_size=8)
        >>> feats['global_feat'].shape, feats['patch_feats'].shape
        (torch.Size([1, 64]), torch.Size([1, 36, 64]))
    """

    def _init_pipeline(self, cfg: Config) -> Callable:
        pipeline = [t for t in dataset_cfg(cfg).get('pipeline', [])
                    if _type_name(t) not in TEXT_TRANSFORMS]
        self.array_pipeline = _build([t for t in pipeline if t.get('type') not in IMAGE_LOADERS])
        return _build(pipeline)

    def _prepare(self, index: int, item: ImageInput) -> dict:
        from medvlp.datasets.transforms.loading import CorruptImageError
        if isinstance(item, np.ndarray):
            img = item if item.ndim == 3 else np.repeat(item[..., None], 3, axis=2)
            return self.array_pipeline(dict(img=img.astype(np.uint8), img_shape=img.shape[:2],
                                            ori_shape=img.shape[:2]))
        try:
            return self.pipeline(dict(img_path=str(item)))
        except (CorruptImageError, FileNotFoundError) as e:
            raise UserError(f'image {index} is not a readable image: {e}') from e

    @torch.no_grad()
    def forward(self, data: dict, normalize: bool = True) -> List[dict]:
        data = self.model.data_preprocessor(data, False)
        img = self.model.encode_image(data['inputs'])
        glob, patches = img['global_feat'], img['regions']
        if normalize:
            glob, patches = F.normalize(glob, dim=-1), F.normalize(patches, dim=-1)
        return [dict(global_feat=glob[i].cpu(), patch_feats=patches[i].cpu(),
                     img_path=sample.get('img_path'))
                for i, sample in enumerate(data['data_samples'])]


class ReportEmbedder(_AlignmentInferencer):
    """Global and word-level report embeddings in the model's shared space.

    A report string is cleaned, split into sentences and words and MeSH-annotated by
    :class:`~medvlp.text.ReportProcessor` (with the dataset config's
    ``report_processor`` arguments), then tokenized by the config's ``TokenizeReport``
    transform: the text takes the same path as the training reports. A dict that already
    holds the processed fields (``words``, ``sentence_ids``, ``mesh``: an annotation-file
    record) skips the processor.

    Calling it returns one dict per report:

    - ``global_feat``: ``[D]`` report embedding;
    - ``word_feats``: ``[W, D]`` one embedding per word the tokenizer kept (``W`` at most
      the encoder's ``max_words``);
    - ``words``: the ``W`` words;

    both embeddings L2-normalised unless ``normalize=False``.

    Args:
        text_source (str, optional): ``'report'`` (sectioned radiology reports) or
            ``'note'`` (free clinical notes, used whole). Defaults to the dataset
            config's ``text_source``, else ``'report'``.
        **kwargs: See :class:`ImageEmbedder`.
    """

    def __init__(self, *args, text_source: Optional[str] = None, **kwargs) -> None:
        self.text_source = text_source
        super().__init__(*args, **kwargs)

    def _init_pipeline(self, cfg: Config) -> Callable:
        from medvlp.text import ReportProcessor
        dataset = dataset_cfg(cfg)
        pipeline = dataset.get('pipeline', [])
        tokenize = [t for t in pipeline if _type_name(t) in TEXT_TRANSFORMS]
        if not tokenize:
            raise UserError('the config\'s data pipeline has no TokenizeReport transform to '
                            'tokenize reports with')
        self.text_source = self.text_source or dataset.get('text_source', 'report')
        self.processor = ReportProcessor(**dict(dataset.get('report_processor') or {}))
        return _build(tokenize + [dict(type='PackImageReportInputs')])

    def process(self, index: int, item: ReportInput) -> dict:
        """The text record of one report (the processor's fields)."""
        from medvlp.text import EmptyReportError
        if isinstance(item, dict) and 'words' in item:
            record = dict(item)
        elif isinstance(item, str) or (isinstance(item, dict) and 'report' in item):
            text = item if isinstance(item, str) else item['report']
            try:
                record = self.processor.process_report(text, source=self.text_source)
            except EmptyReportError as e:
                raise UserError(f'report {index} is empty ({e}): {text[:40]!r}') from e
        else:
            raise UserError(f'report {index} must be a string or a record with "words", '
                            f'got {type(item).__name__}')
        if not record.get('words'):
            raise UserError(f'report {index} is empty: it has no words')
        return record

    def _prepare(self, index: int, item: ReportInput) -> dict:
        record = self.process(index, item)
        packed = self.pipeline(dict(record))
        packed['data_samples'].set_field(list(record['words']), 'words', field_type='metainfo')
        return packed

    @torch.no_grad()
    def forward(self, data: dict, normalize: bool = True) -> List[dict]:
        samples = data['data_samples']
        txt = self.model.encode_text(self.model._text_inputs(samples, self.device))
        glob, words = txt['global_feat'], txt['words']
        if normalize:
            glob, words = F.normalize(glob, dim=-1), F.normalize(words, dim=-1)
        out = []
        for i, sample in enumerate(samples):
            kept = int(txt['word_mask'][i].sum())
            out.append(dict(global_feat=glob[i].cpu(), word_feats=words[i, :kept].cpu(),
                            words=sample.words[:kept]))
        return out

    def embed(self, inputs: Sequence, batch_size: int = 16,
              normalize: bool = True) -> Dict[str, torch.Tensor]:
        """Stacked ``global_feat`` ``[N, D]`` of a list of reports."""
        preds = self(list(inputs), batch_size=batch_size, normalize=normalize)
        if not preds:
            raise UserError('ReportEmbedder: nothing to embed')
        return dict(global_feat=torch.stack([p['global_feat'] for p in preds]))

