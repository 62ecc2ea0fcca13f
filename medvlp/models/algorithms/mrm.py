# Copyright (c) medvlp contributors. All rights reserved.
"""MRM: masked record modelling, MAE on the radiograph + image-conditioned MLM on the report.

Zhou et al., "Advancing Radiograph Representation Learning with Masked Record Modeling",
ICLR 2023.
"""
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from mmpretrain.models.selfsup import BaseSelfSupervisor
from mmpretrain.structures import DataSample

from medvlp.datasets.transforms.formatting import stack_data_sample_fields
from medvlp.registry import MODELS, TOKENIZERS
from ..utils import corrupt_tokens, select_masked_tokens

#: The report fields MRM reads from the data samples (written by ``TokenizeReport``).
REPORT_FIELDS = ('input_ids', 'attention_mask', 'word_ids')
#: MRM's official image normalisation (grey-level statistics of MIMIC-CXR, 0-255 scale).
OFFICIAL_MEAN = [0.4978 * 255] * 3
OFFICIAL_STD = [0.2449 * 255] * 3


@MODELS.register_module()
class MRM(BaseSelfSupervisor):
    """Masked record modelling: restore a masked radiograph and its masked report.

    ``loss()`` is the recipe: the MAE encoder (``backbone``) sees a random 25% of the image
    patches; the decoder (``neck``) and the pixel head restore the normalised pixels of the
    masked ones. Whole words of the report are masked, the mean of the visible image tokens
    (``fusion``) is added to every word embedding, and the text encoder with the MLM head
    predicts the masked words. The two losses are weighted and returned.

    **High-resolution target** (the official setting): with ``target_resolution=448`` the
    pipeline delivers 448 px images, the encoder sees them resized to its ``img_size``
    (224 px, 14x14 tokens of 16 px) and every token restores a 32x32 patch of the 448 px
    image. MRM fills in the head's ``patch_size`` (32) and the decoder's
    ``predict_feature_dim`` (32 * 32 * 3) unless the config sets them. With
    ``target_resolution=None`` the target is the input itself, as in MAE.

    **MLM loss.** By default only the masked positions are scored. The official code
    scored every position, unmasked and padding tokens included; ``official_mlm_loss=True``
    reproduces that (``MaskedLanguageModelingHead(loss_on='all')``).

    The image encoder is saved under ``backbone.``; its weights load into an
    ``mmpretrain.VisionTransformer`` with ``init_cfg=dict(type='Pretrained',
    checkpoint=..., prefix='backbone.')``.

    Args:
        backbone (dict): MAE encoder with random masking, e.g. ``mmpretrain.MAEViT``
            (``mask_ratio`` 0.75). Returns ``(tokens, mask, ids_restore)``.
        neck (dict): Pixel decoder, e.g. ``mmpretrain.MAEPretrainDecoder``.
        head (dict): Pixel reconstruction head, e.g. ``mmpretrain.MAEPretrainHead`` with
            ``norm_pix=True``.
        text_encoder (dict): Report encoder, e.g. :class:`BertTextEncoder` (it must accept
            ``extra_embeds``). ``vocab_size`` and ``pad_token_id`` default to the
            tokenizer's.
        fusion (dict, optional): Image -> text fusion, e.g. :class:`MeanVisibleTokenFusion`;
            ``in_channels``/``out_channels`` default to the encoders' widths. None trains
            the report branch without the image (an ablation). Defaults to
            ``dict(type='MeanVisibleTokenFusion')``.
        mlm_head (dict): :class:`MaskedLanguageModelingHead` config; ``hidden_size`` and
            ``vocab_size`` default to the text encoder's and tokenizer's.
        tokenizer (dict): The tokenizer of the data pipeline (for the ``[MASK]`` id and
            vocabulary size). Defaults to the shipped MIMIC WordPiece vocabulary.
        mlm_mask_prob (float): Share of words masked. Defaults to 0.5 (official).
        mlm_whole_word (bool): Mask all pieces of a word together. Defaults to True.
        mlm_replace_probs (tuple): Probabilities that a masked token becomes ``[MASK]``
            or a random token (the rest stay unchanged). Defaults to (1.0, 0.0): the
            official code always wrote ``[MASK]``; BERT uses (0.8, 0.1).
        official_mlm_loss (bool): Score all positions in the MLM loss as the official code
            did. Defaults to False (masked positions only).
        target_resolution (int, optional): Side of the images the pipeline delivers and
            the decoder restores; the encoder sees them resized to its ``img_size``.
            Defaults to None (target = encoder input).
        loss_weights (dict, optional): Weights of the ``image`` and ``text`` losses.
            Defaults to 1 and 1.
        data_preprocessor (dict, optional): Image normalisation; the type defaults to
            mmpretrain's ``SelfSupDataPreprocessor``, the whole config to one with the
            official grey-level statistics.
        init_cfg (dict | list, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 head: dict,
                 text_encoder: dict,
                 fusion: Optional[dict] = dict(type='MeanVisibleTokenFusion'),
                 mlm_head: dict = dict(type='MaskedLanguageModelingHead'),
                 tokenizer: dict = dict(type='WordPieceTokenizer'),
                 mlm_mask_prob: float = 0.5,
                 mlm_whole_word: bool = True,
                 mlm_replace_probs: Tuple[float, float] = (1.0, 0.0),
                 official_mlm_loss: bool = False,
                 target_resolution: Optional[int] = None,
                 loss_weights: Optional[Dict[str, float]] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        data_preprocessor = dict(
            data_preprocessor or dict(mean=OFFICIAL_MEAN, std=OFFICIAL_STD, to_rgb=True))
        data_preprocessor.setdefault('type', 'mmpretrain.SelfSupDataPreprocessor')
        backbone = MODELS.build(backbone)
        target_patch = self._target_patch_size(backbone, target_resolution)
        head = dict(head)
        head.setdefault('patch_size', target_patch)
        neck = dict(neck)
        neck.setdefault('predict_feature_dim', target_patch**2 * head.get('in_channels', 3))
        super().__init__(
            backbone=backbone,
            neck=MODELS.build(neck),
            head=MODELS.build(head),
            data_preprocessor=MODELS.build(data_preprocessor),
            init_cfg=init_cfg)
        self._check_pixel_target(target_patch)
        self.target_resolution = target_resolution
        self.encoder_size = tuple(self.backbone.img_size)

        tok = TOKENIZERS.build(tokenizer)
        self.mask_token_id = tok.mask_token_id
        self.vocab_size = tok.vocab_size
        text_encoder = dict(text_encoder)
        if text_encoder.get('pretrained') is None:
            text_encoder.setdefault('vocab_size', tok.vocab_size)
            text_encoder.setdefault('pad_token_id', tok.pad_token_id)
        self.text_encoder = MODELS.build(text_encoder)
        self.fusion = None
        if fusion is not None:
            fusion = dict(fusion)
            fusion.setdefault('in_channels', self.backbone.embed_dims)
            fusion.setdefault('out_channels', self.text_encoder.hidden_size)
            self.fusion = MODELS.build(fusion)
        mlm_head = self._mlm_head_cfg(mlm_head, official_mlm_loss)
        mlm_head.setdefault('hidden_size', self.text_encoder.hidden_size)
        mlm_head.setdefault('vocab_size', self.vocab_size)
        self.mlm_head = MODELS.build(mlm_head)

        self.mlm_mask_prob = mlm_mask_prob
        self.mlm_whole_word = mlm_whole_word
        self.mlm_replace_probs = tuple(mlm_replace_probs)
        weights = dict(image=1.0, text=1.0)
        unknown = set(loss_weights or {}) - set(weights)
        if unknown:
            raise ValueError(f'unknown loss_weights keys {sorted(unknown)}; valid: image, text')
        weights.update(loss_weights or {})
        self.loss_weights = weights

    @staticmethod
    def _target_patch_size(backbone, target_resolution: Optional[int]) -> int:
        """Side of the pixel patch each token restores."""
        grid_h, grid_w = backbone.patch_resolution
        img_h, img_w = backbone.img_size
        if grid_h != grid_w or img_h != img_w:
            raise ValueError(f'MRM needs a square encoder input and token grid, got '
                             f'img_size {backbone.img_size}, grid {backbone.patch_resolution}')
        target = img_h if target_resolution is None else target_resolution
        if target % grid_h:
            raise ValueError(f'target_resolution {target} is not a multiple of the '
                             f'{grid_h}x{grid_h} token grid')
        return target // grid_h

    def _check_pixel_target(self, target_patch: int) -> None:
        """The head's patches and the decoder's outputs must fit the target."""
        head_patch = getattr(self.head, 'patch_size', target_patch)
        if head_patch != target_patch:
            raise ValueError(f'the head restores {head_patch} px patches but each token '
                             f'covers {target_patch} px of the target; leave head.patch_size '
                             'unset or match target_resolution')
        pred = getattr(self.neck, 'decoder_pred', None)
        expected = target_patch**2 * getattr(self.head, 'in_channels', 3)
        if pred is not None and pred.out_features != expected:
            raise ValueError(f'the decoder predicts {pred.out_features} values per token but '
                             f'a {target_patch} px patch has {expected}; leave '
                             'neck.predict_feature_dim unset or match target_resolution')

    @staticmethod
    def _mlm_head_cfg(mlm_head: dict, official_mlm_loss: bool) -> dict:
        mlm_head = dict(mlm_head)
        loss_on = 'all' if official_mlm_loss else 'masked'
        if mlm_head.setdefault('loss_on', loss_on) != loss_on:
            raise ValueError(f"official_mlm_loss={official_mlm_loss} contradicts mlm_head "
                             f"loss_on={mlm_head['loss_on']!r}; set only one of them")
        return mlm_head

    def extract_feat(self, inputs: torch.Tensor) -> Tuple[torch.Tensor]:
        """Unmasked encoder features of the images (what downstream tasks fine-tune)."""
        return self.backbone(self.encoder_input(inputs), mask=None)

    def encoder_input(self, inputs: torch.Tensor) -> torch.Tensor:
        """The images the encoder sees: resized from ``target_resolution`` to its size."""
        if self.target_resolution is None or tuple(inputs.shape[-2:]) == self.encoder_size:
            return inputs
        return F.interpolate(inputs, size=self.encoder_size, mode='bicubic',
                             align_corners=False, antialias=True)

    def encode_report(self, img_tokens: Optional[torch.Tensor], input_ids: torch.Tensor,
                      attention_mask: torch.Tensor) -> torch.Tensor:
        """Encode (masked) report tokens with the image fused into their embeddings.

        Args:
            img_tokens (torch.Tensor, optional): ``[B, 1 + N_visible, C]`` encoder output;
                ignored without a fusion module.
            input_ids (torch.Tensor): ``[B, T]`` token ids.
            attention_mask (torch.Tensor): ``[B, T]`` 1 for real tokens.

        Returns:
            torch.Tensor: ``[B, T, D]`` token features for the MLM head.
        """
        extra = self.fusion(img_tokens) if self.fusion is not None else None
        return self.text_encoder(input_ids, attention_mask,
                                 extra_embeds=extra)['token_feats']

    def mask_report(self, word_ids: torch.Tensor,
                    input_ids: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Whole-word masking: ``(masked [B, T] bool, corrupted ids [B, T])``."""
        masked = select_masked_tokens(word_ids, self.mlm_mask_prob,
                                      whole_word=self.mlm_whole_word)
        corrupted = corrupt_tokens(input_ids, masked, self.mask_token_id, self.vocab_size,
                                   replace_probs=self.mlm_replace_probs)
        return masked, corrupted

    def loss(self, inputs: torch.Tensor,
             data_samples: List[DataSample]) -> Dict[str, torch.Tensor]:
        """Image and report reconstruction losses of a batch.

        Args:
            inputs (torch.Tensor): ``[B, 3, S, S]`` normalised images, ``S`` the
                ``target_resolution`` (or the encoder's ``img_size``).
            data_samples (List[DataSample]): Samples with the ``TokenizeReport`` fields.

        Returns:
            dict: ``loss_image`` and ``loss_text``, weighted by ``loss_weights``.
        """
        self._check_input_size(inputs)
        text = self._report_inputs(data_samples, inputs.device)
        latent, mask, ids_restore = self.backbone(self.encoder_input(inputs))
        pred = self.neck(latent, ids_restore)                    # [B, N, p * p * 3]
        loss_image = self.head.loss(pred, inputs, mask)
        masked, corrupted = self.mask_report(text['word_ids'], text['input_ids'])
        feats = self.encode_report(latent, corrupted, text['attention_mask'])
        loss_text = self.mlm_head.loss(feats, text['input_ids'], masked)
        return dict(loss_image=self.loss_weights['image'] * loss_image,
                    loss_text=self.loss_weights['text'] * loss_text)

    def _check_input_size(self, inputs: torch.Tensor) -> None:
        side = self.target_resolution or self.encoder_size[0]
        if tuple(inputs.shape[-2:]) != (side, side):
            what = 'target_resolution' if self.target_resolution else "the encoder's img_size"
            raise ValueError(f'MRM expects {side}x{side} images ({what}) but got '
                             f'{tuple(inputs.shape[-2:])}; resize or crop to {side} in the '
                             'pipeline')

    @staticmethod
    def _report_inputs(data_samples: List[DataSample], device) -> Dict[str, torch.Tensor]:
        text = stack_data_sample_fields(data_samples, REPORT_FIELDS, device=device)
        missing = [k for k in REPORT_FIELDS if k not in text]
        if missing:
            raise KeyError(f'the data samples lack {missing}; put TokenizeReport and '
                           'PackImageReportInputs in the pipeline')
        return text
