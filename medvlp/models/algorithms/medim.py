# Copyright (c) medvlp contributors. All rights reserved.
"""MedIM: masked image modelling where the report decides what is masked."""
from typing import Dict, List, Optional

import torch
from torch import nn

from medvlp.registry import MODELS
from ..utils import encode_visible_patches
from .joimternet import JoImTeRNet

WORD_FLAGS = ('word_keyword', 'word_sentence_ids')


@MODELS.register_module()
class MedIM(JoImTeRNet):
    """MedIM (MICCAI 2023): radiology report-guided masking.

    ``loss()`` reads as the recipe: encode the whole image and the report; align them
    (global image-report contrast and local word-patch alignment, as in
    :class:`JoImTeRNet`); turn the word-to-patch attention into a KWM mask (MeSH words)
    and an SDM mask (one sentence) with :class:`ReportGuidedMaskGenerator`; restore the
    image from each masked representation; sum the weighted losses.

    Where the mask applies (``mask_on``):

    * ``'features'`` (official): the encoder sees the whole image once; the features of
      masked patches are replaced by a learnt mask token and a convolutional decoder
      (``SETRUpDecoder``) restores the full image. Cost: one encoder pass + two light
      decoder passes per step.
    * ``'inputs'`` (MAE-style): the masked patches are removed before the encoder, which
      then runs on the visible ones only (one extra encoder pass per mask, at
      ``1 - mask ratio`` of the tokens), and an MAE transformer decoder
      (``mmpretrain.MAEPretrainDecoder``) restores them. The attention still comes from
      the full-image alignment pass.

    Both compute the pixel loss on the masked patches only (``recon_head``, mmpretrain's
    ``MAEPretrainHead``, normalised-pixel targets by default).

    Args:
        decoder (dict): ``SETRUpDecoder`` (``mask_on='features'``) or
            ``mmpretrain.MAEPretrainDecoder`` (``mask_on='inputs'``).
        recon_head (dict): Reconstruction loss on patches, e.g.
            ``mmpretrain.MAEPretrainHead(norm_pix=True, patch_size=16)``.
        kwm_generator (dict): Mask generator of the KWM branch.
        sdm_generator (dict): Mask generator of the SDM branch.
        mask_on (str): ``'features'`` or ``'inputs'``. Defaults to ``'features'``.
        loss_weights (dict): Weights of the ``kwm`` and ``sdm`` reconstructions. Defaults
            to MedIM's 5 and 5 (the alignment terms keep ``task_weights['matching']``,
            1 by default).
        **kwargs: The :class:`JoImTeRNet` arguments: ``backbone`` (an mmpretrain ViT with
            ``out_type='raw'`` and a class token), ``text_encoder``, ``img_neck``,
            ``text_neck``, ``head``, ``tokenizer``, ``task_weights``, optional MLM
            (``mlm_head``, MedIM has none), ``data_preprocessor``, ``init_cfg``.
    """

    MASK_ON = ('features', 'inputs')

    def __init__(self,
                 decoder: dict,
                 recon_head: dict,
                 kwm_generator: dict = dict(type='ReportGuidedMaskGenerator', mode='kwm'),
                 sdm_generator: dict = dict(type='ReportGuidedMaskGenerator', mode='sdm'),
                 mask_on: str = 'features',
                 loss_weights: Optional[Dict[str, float]] = None,
                 **kwargs) -> None:
        if mask_on not in self.MASK_ON:
            raise ValueError(f'mask_on must be one of {self.MASK_ON}, got {mask_on!r}')
        weights = dict(kwm=5.0, sdm=5.0)
        unknown = set(loss_weights or {}) - set(weights)
        if unknown:
            raise ValueError(f'unknown loss_weights keys {sorted(unknown)}; valid: '
                             f'{sorted(weights)}')
        weights.update(loss_weights or {})
        super().__init__(**kwargs)
        self.mask_on = mask_on
        self.loss_weights = weights
        self.decoder = MODELS.build(decoder)
        self.recon_head = MODELS.build(recon_head)
        self.mask_generators = nn.ModuleDict(
            dict(kwm=MODELS.build(kwm_generator), sdm=MODELS.build(sdm_generator)))
        if mask_on == 'features':
            self.mask_token = nn.Parameter(torch.zeros(1, 1, self.backbone.embed_dims))
            nn.init.trunc_normal_(self.mask_token, std=0.02)

    def report_masks(self, attention: torch.Tensor,
                     flags: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """KWM and SDM patch masks ``[B, L]`` (True = masked) from word-patch attention.

        Args:
            attention (torch.Tensor): ``[B, W, L]`` from the alignment head (W word slots).
            flags (dict): ``word_keyword`` and ``word_sentence_ids`` ``[B, W']`` from
                ``TokenizeReport``; cut or padded to W.
        """
        num_words = attention.size(1)

        def fit(t: torch.Tensor, pad: int) -> torch.Tensor:
            if t.size(1) >= num_words:
                return t[:, :num_words]
            return nn.functional.pad(t, (0, num_words - t.size(1)), value=pad)

        keyword = fit(flags['word_keyword'], 0).bool()
        sentence_ids = fit(flags['word_sentence_ids'], -1)
        return {name: generator(attention, keyword, sentence_ids)
                for name, generator in self.mask_generators.items()}

    def reconstruct(self, inputs: torch.Tensor, tokens: torch.Tensor,
                    mask: torch.Tensor) -> torch.Tensor:
        """Predict the pixels of every patch, ``[B, L, patch_size**2 * 3]``.

        Args:
            inputs (torch.Tensor): ``[B, 3, H, W]`` images (used by ``mask_on='inputs'``).
            tokens (torch.Tensor): ``[B, 1 + L, C]`` encoder output on the whole image
                (used by ``mask_on='features'``).
            mask (torch.Tensor): ``[B, L]`` bool, True = masked.
        """
        if self.mask_on == 'features':
            patches = tokens[:, 1:]
            patches = torch.where(mask[..., None], self.mask_token.to(patches.dtype),
                                  patches)
            patch = self.recon_head.patch_size
            grid = (inputs.size(-2) // patch, inputs.size(-1) // patch)
            return self.recon_head.patchify(self.decoder(patches, grid))
        visible, ids_restore = encode_visible_patches(self.backbone, inputs, mask)
        return self.decoder(visible, ids_restore)

    def loss(self, inputs: torch.Tensor, data_samples: List) -> Dict[str, torch.Tensor]:
        text = self._text_inputs(data_samples, inputs.device)
        flags = self._text_inputs(data_samples, inputs.device, WORD_FLAGS)
        tokens = self.backbone(inputs)[-1]                          # [B, 1 + L, C]
        img = self.img_neck(tokens)
        txt = self.encode_text(text)
        losses = self.alignment_losses(img, txt)
        attention = self.head.attention(img['regions'], txt['words'],
                                        txt['word_mask']).detach()
        for name, mask in self.report_masks(attention, flags).items():
            pred = self.reconstruct(inputs, tokens, mask)
            losses[f'loss_{name}'] = self.loss_weights[name] * self.recon_head.loss(
                pred, inputs, mask.to(pred.dtype))
        if self.mlm_head is not None:
            losses['loss_mlm'] = self.task_weights['mlm'] * self.mlm_loss(text)
        return losses
