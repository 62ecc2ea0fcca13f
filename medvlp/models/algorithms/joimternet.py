# Copyright (c) medvlp contributors. All rights reserved.
"""JoImTeRNet-style image-report pre-training: global + region-word alignment (+ MLM)."""
from typing import Dict, List, Optional, Sequence

import torch
from mmengine.model import BaseModel

from medvlp.datasets.transforms.formatting import stack_data_sample_fields
from medvlp.registry import MODELS, TOKENIZERS
from ..utils import corrupt_tokens, select_masked_tokens

TEXT_INPUTS = ('input_ids', 'attention_mask', 'word_ids')


@MODELS.register_module()
class JoImTeRNet(BaseModel):
    """Joint image-text representation learning with region-word alignment.

    ``loss()`` is the recipe: encode the image into regions and a global feature, encode
    the report into words and a global feature, align them with the head (cross-entropy
    and ranking losses at global and local level), and optionally predict masked report
    tokens (MLM) from the text encoder.

    JoImTeRNet alternated matching (~30% of steps) and MLM (~70%). Here both losses are
    computed every step and weighted by ``task_weights``; with weights 0.3 / 0.7 this has
    the same expected gradient and leaves no parameter idle in a step (which DDP needs).

    Args:
        backbone (dict): Image encoder, e.g. ``mmpretrain.VisionTransformer`` with
            ``out_type='raw'``. Its weights are saved under ``backbone.``.
        text_encoder (dict): Text encoder, e.g. :class:`BertTextEncoder`. ``vocab_size``
            and ``pad_token_id`` default to the tokenizer's.
        img_neck (dict): Image projection, e.g. :class:`ImageRegionNeck`.
        text_neck (dict): Text projection, e.g. :class:`TextWordNeck`.
        head (dict): :class:`RegionWordAlignmentHead` config.
        tokenizer (dict): The tokenizer the data pipeline uses (ids of [MASK], vocab size).
        mlm_head (dict, optional): :class:`MaskedLanguageModelingHead` config; None
            disables MLM. Its ``hidden_size``/``vocab_size`` default to the encoder's.
        mlm_mask_prob (float): Share of words (or tokens) masked for MLM. Defaults to 0.15.
        mlm_whole_word (bool): Mask whole words. Defaults to True.
        task_weights (dict): Weights of ``matching`` and ``mlm``. Defaults to 1 and 1.
        data_preprocessor (dict, optional): Image normalisation; defaults to mmpretrain's
            ``SelfSupDataPreprocessor`` with ImageNet statistics.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 backbone: dict,
                 text_encoder: dict,
                 img_neck: dict,
                 text_neck: dict,
                 head: dict,
                 tokenizer: dict = dict(type='WordPieceTokenizer'),
                 mlm_head: Optional[dict] = None,
                 mlm_mask_prob: float = 0.15,
                 mlm_whole_word: bool = True,
                 task_weights: Optional[Dict[str, float]] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(
                type='mmpretrain.SelfSupDataPreprocessor',
                mean=[123.675, 116.28, 103.53],
                std=[58.395, 57.12, 57.375],
                to_rgb=True)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        tok = TOKENIZERS.build(tokenizer)
        self.mask_token_id = tok.mask_token_id
        self.vocab_size = tok.vocab_size
        self.backbone = MODELS.build(backbone)
        text_encoder = dict(text_encoder)
        if text_encoder.get('pretrained') is None:
            text_encoder.setdefault('vocab_size', tok.vocab_size)
            text_encoder.setdefault('pad_token_id', tok.pad_token_id)
        self.text_encoder = MODELS.build(text_encoder)
        self.img_neck = MODELS.build(img_neck)
        self.text_neck = MODELS.build(text_neck)
        self.head = MODELS.build(head)
        self.mlm_head = None
        if mlm_head is not None:
            mlm_head = dict(mlm_head)
            mlm_head.setdefault('hidden_size', self.text_encoder.hidden_size)
            mlm_head.setdefault('vocab_size', self.vocab_size)
            self.mlm_head = MODELS.build(mlm_head)
        self.mlm_mask_prob = mlm_mask_prob
        self.mlm_whole_word = mlm_whole_word
        weights = dict(matching=1.0, mlm=1.0)
        unknown = set(task_weights or {}) - set(weights)
        if unknown:
            raise ValueError(f'unknown task_weights keys {sorted(unknown)}; valid: matching, '
                             'mlm')
        weights.update(task_weights or {})
        self.task_weights = weights

    def extract_feat(self, inputs: torch.Tensor):
        """Backbone features of the images (what downstream tasks fine-tune)."""
        return self.backbone(inputs)

    def encode_image(self, inputs: torch.Tensor) -> Dict[str, torch.Tensor]:
        """``regions`` ``[B, R, D]`` and ``global_feat`` ``[B, D]`` in the shared space."""
        return self.img_neck(self.backbone(inputs))

    def encode_text(self, text: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """``words`` ``[B, W, D]``, ``word_mask`` ``[B, W]`` and ``global_feat`` ``[B, D]``."""
        return self.text_neck(self.text_encoder(**text))

    def _text_inputs(self, data_samples, device,
                     keys: Sequence[str] = TEXT_INPUTS) -> Dict[str, torch.Tensor]:
        """Stack the per-sample text tensors ``keys`` into ``[B, L]`` tensors."""
        text = stack_data_sample_fields(data_samples, keys, device=device)
        missing = [k for k in keys if k not in text]
        if missing:
            raise KeyError(f'the data samples lack {missing}; put TokenizeReport and '
                           'PackImageReportInputs in the pipeline')
        return text

    def loss(self, inputs: torch.Tensor, data_samples: List) -> Dict[str, torch.Tensor]:
        text = self._text_inputs(data_samples, inputs.device)
        losses = self.alignment_losses(self.encode_image(inputs), self.encode_text(text))
        if self.mlm_head is not None:
            losses['loss_mlm'] = self.task_weights['mlm'] * self.mlm_loss(text)
        return losses

    def alignment_losses(self, img: Dict[str, torch.Tensor],
                         txt: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """The head's alignment losses, weighted by ``task_weights['matching']``."""
        losses = self.head.loss(img['global_feat'], img['regions'], txt['global_feat'],
                                txt['words'], txt['word_mask'])
        return {k: self.task_weights['matching'] * v for k, v in losses.items()}

    def mlm_loss(self, text: Dict[str, torch.Tensor]) -> torch.Tensor:
        """Mask report tokens, encode the corrupted report, predict the originals."""
        masked = select_masked_tokens(text['word_ids'], self.mlm_mask_prob,
                                      whole_word=self.mlm_whole_word)
        corrupted = corrupt_tokens(text['input_ids'], masked, self.mask_token_id,
                                   self.vocab_size)
        feats = self.text_encoder(corrupted, text['attention_mask'])['token_feats']
        return self.mlm_head.loss(feats, text['input_ids'], masked)

    def predict(self, inputs: torch.Tensor, data_samples: List) -> List:
        """Attach ``img_feat``, ``txt_feat`` and ``match_key`` (the study id) to each
        sample, for :class:`ImageReportRetrievalMetric`."""
        text = self._text_inputs(data_samples, inputs.device)
        img = self.encode_image(inputs)['global_feat']
        txt = self.encode_text(text)['global_feat']
        for i, sample in enumerate(data_samples):
            sample.set_field(img[i], 'img_feat', field_type='metainfo')
            sample.set_field(txt[i], 'txt_feat', field_type='metainfo')
            sample.set_field(sample.get('study_id', i), 'match_key', field_type='metainfo')
        return data_samples

    def forward(self, inputs: torch.Tensor, data_samples: Optional[List] = None,
                mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.extract_feat(inputs)
        raise RuntimeError(f'invalid mode "{mode}"; use "loss", "predict" or "tensor"')
