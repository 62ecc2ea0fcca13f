# Copyright (c) medvlp contributors. All rights reserved.
"""Zero-shot classification of image files from text prompts."""
from typing import List, Optional, Sequence, Union

import torch
from mmengine.config import Config

from .embedding import TEXT_TRANSFORMS, ImageEmbedder, _type_name
from .model import dataset_cfg, init_model, require_alignment_model


class ZeroShotInferencer(ImageEmbedder):
    """Score images against per-class positive/negative prompts (no training).

    Wraps the image-report model in a :class:`~medvlp.models.ZeroShotClassifier` (the
    model ``tools/test.py`` evaluates with the configs in ``configs/zero_shot/``) and
    feeds it images through the config's test pipeline.

    Args:
        model (str | Config | nn.Module): Config of a JoImTeRNet or MedIM model, or the
            model.
        pretrained (str, optional): Checkpoint.
        prompts (str | dict): ``'chexpert5'``, ``'nih14'``, ``'covid'``, a JSON file or a
            dict (see :func:`~medvlp.models.classifiers.load_prompts`). Defaults to
            ``'chexpert5'``.
        classes (Sequence[str], optional): Classes to score; default: the prompt set's.
        device (str, optional): Defaults to ``'cpu'``.
        cfg_options (dict, optional): Config overrides.

    Calling it on image files returns one dict per image: ``scores`` (class ->
    probability that the finding is present) and ``positive`` (classes scored above
    0.5).
    """

    forward_kwargs = {'normalize', 'thr'}

    def __init__(self,
                 model: Union[str, Config, torch.nn.Module],
                 pretrained: Optional[str] = None,
                 prompts: Union[str, dict] = 'chexpert5',
                 classes: Optional[Sequence[str]] = None,
                 device: Union[str, torch.device, None] = None,
                 cfg_options: Optional[dict] = None) -> None:
        from medvlp.models.classifiers import ZeroShotClassifier
        if not isinstance(model, torch.nn.Module):
            model = init_model(model, pretrained, device or 'cpu', cfg_options)
        require_alignment_model(model, 'zero-shot classification')
        tokenize = [t for t in dataset_cfg(model._config).get('pipeline', [])
                    if _type_name(t) in TEXT_TRANSFORMS]
        self.classifier = ZeroShotClassifier(model, prompts=prompts, classes=classes,
                                             text_pipeline=tokenize or None).eval()
        super().__init__(model)

    @property
    def classes(self) -> List[str]:
        return self.classifier.classes

    @torch.no_grad()
    def forward(self, data: dict, normalize: bool = True, thr: float = 0.5) -> List[dict]:
        data = self.model.data_preprocessor(data, False)
        scores = self.classifier.predict_scores(data['inputs']).cpu()
        return [dict(img_path=sample.get('img_path'),
                     scores={c: float(p) for c, p in zip(self.classes, row)},
                     positive=[c for c, p in zip(self.classes, row) if p > thr])
                for sample, row in zip(data['data_samples'], scores)]
