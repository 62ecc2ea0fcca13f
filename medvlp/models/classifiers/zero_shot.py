# Copyright (c) medvlp contributors. All rights reserved.
"""Zero-shot classification of chest X-rays from text prompts (CheXzero / BenchX style)."""
import json
import os.path as osp
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmengine.dataset import Compose, default_collate
from mmengine.model import BaseModel
from mmengine.registry import DefaultScope

from medvlp.registry import MODELS, TRANSFORMS
from medvlp.utils.cli import UserError

#: Prompt sets shipped with medvlp (``prompts='<name>'``), in ``classifiers/prompts/``.
PROMPT_DIR = osp.join(osp.dirname(__file__), 'prompts')
SHIPPED_PROMPTS = ('chexpert5', 'nih14', 'covid')


#: The parts of an image-report model that embedding, retrieval and zero-shot use; a
#: checkpoint must hold all their weights (MLM heads and decoders may be absent).
INFERENCE_MODULES = ('backbone.', 'text_encoder.', 'img_neck.', 'text_neck.', 'head.')


def unfit_weights(model: torch.nn.Module, state: dict, prefix: str = '') -> List[str]:
    """Weights of ``model`` that ``state`` (keys under ``prefix``) lacks or holds in another
    shape. For an alignment model only its :data:`INFERENCE_MODULES` count."""
    own = model.state_dict()
    if all(hasattr(model, name.rstrip('.')) for name in INFERENCE_MODULES):
        own = {k: v for k, v in own.items() if k.startswith(INFERENCE_MODULES)}
    return [k for k, v in own.items()
            if prefix + k not in state or tuple(state[prefix + k].shape) != tuple(v.shape)]


def load_prompts(prompts: Union[str, dict],
                 classes: Optional[Sequence[str]] = None) -> Dict[str, Dict[str, List[str]]]:
    """Read a prompt set: ``{class: {'positive': [...], 'negative': [...]}}``.

    Args:
        prompts (str | dict): A shipped set (``'chexpert5'``, ``'nih14'``, ``'covid'``),
            a JSON file ``{"classes": {class: {"positive": [...], "negative": [...]}}}``
            or the ``classes`` dict itself.
        classes (Sequence[str], optional): The classes to score, in output order. Every
            class of the prompt set must be one of them and each needs prompts. Defaults
            to the prompt set's classes in file order.

    Raises:
        UserError: For a missing file, a malformed set, a class of the set that is not
            among ``classes`` or a class without prompts.
    """
    where = 'the prompts'
    if isinstance(prompts, str):
        path = osp.join(PROMPT_DIR, f'{prompts}.json') if prompts in SHIPPED_PROMPTS \
            else osp.expanduser(prompts)
        where = f'prompt file {prompts}'
        if not osp.isfile(path):
            raise UserError(f'{where} does not exist (shipped sets: '
                            f'{", ".join(SHIPPED_PROMPTS)})')
        try:
            with open(path, encoding='utf-8') as f:
                prompts = json.load(f)
        except json.JSONDecodeError as e:
            raise UserError(f'{where} is not valid JSON: {e}') from e
    table = prompts.get('classes', prompts) if isinstance(prompts, dict) else None
    if not isinstance(table, dict) or not table:
        raise UserError(f'{where} must map class names to {{"positive": [...], '
                        '"negative": [...]}}')
    for name, entry in table.items():
        ok = isinstance(entry, dict) and all(
            isinstance(entry.get(k), list) and entry[k] and
            all(isinstance(p, str) and p.strip() for p in entry[k])
            for k in ('positive', 'negative'))
        if not ok:
            raise UserError(f'{where}: class "{name}" needs non-empty "positive" and '
                            '"negative" lists of prompt strings')
    if classes is None:
        return {name: dict(table[name]) for name in table}
    classes = [str(c) for c in classes]
    unknown = [name for name in table if name not in classes]
    if unknown:
        raise UserError(f'{where}: unknown class(es) {unknown}; the classes are {classes}')
    missing = [c for c in classes if c not in table]
    if missing:
        raise UserError(f'{where}: no prompts for class(es) {missing}')
    return {c: dict(table[c]) for c in classes}


@MODELS.register_module()
class ZeroShotClassifier(BaseModel):
    """Classify X-rays with an image-report model and per-class text prompts.

    For every class, the positive prompts ("pleural effusion", ...) and the negative ones
    ("no pleural effusion", ...) are embedded by the model's text branch (the same
    ``ReportProcessor`` and ``TokenizeReport`` path as its training reports); the
    normalised mean of each set is the class's positive / negative text embedding.
    The score of class ``c`` for an image with global embedding ``v`` is

    ``p_c = softmax(scale * [cos(v, pos_c), cos(v, neg_c)])[0]``

    with ``scale`` the alignment head's ``gamma3`` (the logit scale of its image-report
    cross-entropy). ``predict`` writes the scores as ``pred_score`` ``(C,)`` on every
    data sample, so any mmpretrain-style metric that reads ``pred_score`` and
    ``gt_label`` evaluates it; ``tools/test.py`` with ``MultiLabelAUROC`` gives zero-shot
    AUROC on a labelled dataset.

    The wrapped model's weights keep their own names in checkpoints: a JoImTeRNet or
    MedIM pre-training checkpoint loads directly (``tools/test.py CONFIG CKPT`` or
    ``load_from``); its keys are put under ``model.`` while loading.

    Args:
        model (dict | nn.Module): The image-report model (``JoImTeRNet``, ``MedIM``) or
            its config.
        prompts (str | dict): Shipped set name, JSON file or dict (see
            :func:`load_prompts`). Defaults to ``'chexpert5'``.
        classes (Sequence[str], optional): Output classes, in the dataset's order.
            Defaults to the prompt set's classes.
        text_pipeline (list, optional): Transforms that turn a processed text record into
            model inputs; use the dataset's ``TokenizeReport``. Defaults to
            ``[dict(type='TokenizeReport')]``; ``PackImageReportInputs`` is appended.
        text_source (str): How the prompts are processed by ``ReportProcessor``:
            ``'report'`` or ``'note'``. Defaults to ``'note'`` (a prompt is one phrase).
        scale (float, optional): Logit scale; defaults to the head's ``gamma3`` (else 10).
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 model: Union[dict, torch.nn.Module],
                 prompts: Union[str, dict] = 'chexpert5',
                 classes: Optional[Sequence[str]] = None,
                 text_pipeline: Optional[List[dict]] = None,
                 text_source: str = 'note',
                 scale: Optional[float] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.model = model if isinstance(model, torch.nn.Module) else MODELS.build(model)
        for name in ('encode_image', 'encode_text', 'head', 'data_preprocessor'):
            if not hasattr(self.model, name):
                raise UserError(f'ZeroShotClassifier needs an image-report alignment model '
                                f'(JoImTeRNet, MedIM); {type(self.model).__name__} has no '
                                f'{name}')
        self.data_preprocessor = self.model.data_preprocessor
        self.prompts = load_prompts(prompts, classes)
        self.classes = list(self.prompts)
        self.text_source = text_source
        self.scale = float(scale if scale is not None else getattr(self.model.head, 'gamma3',
                                                                   10.0))
        pipeline = list(text_pipeline or [dict(type='TokenizeReport')])
        with DefaultScope.overwrite_default_scope('medvlp'):
            self.text_pipeline = Compose(
                [TRANSFORMS.build(t) for t in pipeline + [dict(type='PackImageReportInputs')]])
        self._class_embeddings: Optional[torch.Tensor] = None
        self._register_load_state_dict_pre_hook(self._load_wrapped_checkpoint)

    @property
    def wrapped_model(self) -> torch.nn.Module:
        """The image-report model whose pre-training checkpoint this classifier loads."""
        return self.model

    def _load_wrapped_checkpoint(self, state_dict, prefix, local_metadata, strict,
                                 missing_keys, unexpected_keys, error_msgs) -> None:
        """Move a pre-training checkpoint's keys under ``model.``; refuse one that lacks
        weights of the wrapped model."""
        inner = prefix + 'model.'
        for key in [k for k in state_dict if k.startswith(prefix)
                    and not k.startswith(inner)]:
            state_dict[inner + key[len(prefix):]] = state_dict.pop(key)
        bad = unfit_weights(self.model, state_dict, inner)
        if bad:
            raise UserError(f'the checkpoint does not fit ZeroShotClassifier\'s '
                            f'{type(self.model).__name__}: {len(bad)} weights are missing or '
                            f'of another shape (e.g. {", ".join(bad[:3])})')
        self._class_embeddings = None

    def train(self, mode: bool = True):
        self._class_embeddings = None
        return super().train(mode)

    @torch.no_grad()
    def class_embeddings(self) -> torch.Tensor:
        """``[C, 2, D]`` normalised positive (0) and negative (1) text embedding per class."""
        if self._class_embeddings is not None:
            return self._class_embeddings
        from medvlp.text import EmptyReportError, ReportProcessor
        processor = ReportProcessor()
        texts = [(c, p) for c in self.classes for kind in ('positive', 'negative')
                 for p in self.prompts[c][kind]]
        packed = []
        for cls, prompt in texts:
            try:
                record = processor.process_report(prompt, source=self.text_source)
            except EmptyReportError as e:
                raise UserError(f'prompt {prompt!r} of class "{cls}" has no words') from e
            packed.append(self.text_pipeline(record))
        samples = default_collate(packed)['data_samples']
        device = next(self.model.parameters()).device
        feats = self.model.encode_text(self.model._text_inputs(samples, device))['global_feat']
        feats = F.normalize(feats, dim=-1)
        out, i = [], 0
        for cls in self.classes:
            pair = []
            for kind in ('positive', 'negative'):
                n = len(self.prompts[cls][kind])
                pair.append(F.normalize(feats[i:i + n].mean(0), dim=-1))
                i += n
            out.append(torch.stack(pair))
        self._class_embeddings = torch.stack(out)
        return self._class_embeddings

    def predict_scores(self, inputs: torch.Tensor) -> torch.Tensor:
        """``[B, C]`` zero-shot probabilities of the classes for preprocessed images."""
        img = F.normalize(self.model.encode_image(inputs)['global_feat'], dim=-1)
        sims = torch.einsum('bd,ckd->bck', img, self.class_embeddings().to(img.dtype))
        return torch.softmax(self.scale * sims, dim=-1)[..., 0]

    def predict(self, inputs: torch.Tensor, data_samples: Optional[List] = None) -> List:
        from mmpretrain.structures import DataSample
        scores = self.predict_scores(inputs)
        if data_samples is None:
            data_samples = [DataSample() for _ in range(scores.size(0))]
        for sample, score in zip(data_samples, scores):
            sample.set_pred_score(score)
        return data_samples

    def forward(self, inputs: torch.Tensor, data_samples: Optional[List] = None,
                mode: str = 'predict'):
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.predict_scores(inputs)
        raise RuntimeError(f'ZeroShotClassifier has no "{mode}" mode: it is not trained '
                           '(use "predict" or "tensor")')
