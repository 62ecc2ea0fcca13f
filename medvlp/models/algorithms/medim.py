# Copyright (c) medvlp contributors. All rights reserved.
"""MedIM: masked image modelling where the report decides what is masked."""
from typing import Dict, List, Optional

import torch
import torch.nn.functional as F
from torch import nn

from medvlp.datasets.transforms.formatting import stack_data_sample_fields
from medvlp.registry import MODELS
from ..utils import encode_visible_patches
from .joimternet import JoImTeRNet

WORD_FLAGS = ('word_keyword', 'word_sentence_ids')
#: Per-word flags passed to the mask generators when the pipeline packs them.
OPTIONAL_WORD_FLAGS = ('word_negated', 'word_uncertain')


@MODELS.register_module()
class MedIM(JoImTeRNet):
    """MedIM (MICCAI 2023): radiology report-guided masking.

    ``loss()`` reads as the recipe: encode the whole image and the report; align them
    (global image-report contrast and local word-patch alignment, as in
    :class:`JoImTeRNet`); turn the word-to-patch attention into a KWM mask (MeSH words)
    and an SDM mask (one sentence) with :class:`ReportGuidedMaskGenerator`; restore the
    image from each masked representation; sum the weighted losses.

    Where the mask applies (``mask_on``):

    * ``'features'`` (as the official code): the encoder sees the whole image once; the
      features of masked patches are replaced (``mask_fill``: a learnt mask token by
      default, zeros in the official code) and a convolutional decoder
      (``SETRUpDecoder``) restores the full image. Cost: one encoder pass + two light
      decoder passes per step.
    * ``'inputs'`` (MAE-style): the masked patches are removed before the encoder, which
      then runs on the visible ones only (one extra encoder pass per mask, at
      ``1 - mask ratio`` of the tokens), and an MAE transformer decoder
      (``mmpretrain.MAEPretrainDecoder``) restores them. The attention still comes from
      the full-image alignment pass.

    The pixel loss is the ``recon_head``'s: by default mmpretrain's ``MAEPretrainHead``
    (normalised-pixel targets, masked patches only); the official preset uses
    :class:`ImageReconstructionHead` (``MSE(tanh(prediction), image)`` over the whole
    image).

    The masks come from the alignment head's word-to-patch attention
    (``softmax(gamma1 * cos)``) unless ``mask_temperature`` is set: then from
    ``softmax(cos(word, patch) / mask_temperature)`` (the official code: 0.1, MGCA's
    token-alignment attention), while the head's own local score keeps ``gamma1``.

    Args:
        decoder (dict): ``SETRUpDecoder`` (``mask_on='features'``) or
            ``mmpretrain.MAEPretrainDecoder`` (``mask_on='inputs'``).
        recon_head (dict): Reconstruction loss on patches, e.g.
            ``mmpretrain.MAEPretrainHead(norm_pix=True, patch_size=16)``.
        kwm_generator (dict): Mask generator of the KWM branch.
        sdm_generator (dict): Mask generator of the SDM branch.
        mask_on (str): ``'features'`` or ``'inputs'``. Defaults to ``'features'``.
        mask_fill (str): What replaces a masked patch feature with
            ``mask_on='features'``: ``'token'`` (a learnt mask token) or ``'zero'`` (the
            official code). Defaults to ``'token'``.
        mask_temperature (float, optional): Temperature of the mask attention (see
            above); None uses the head's attention. Defaults to None.
        loss_weights (dict): Weights of the ``kwm`` and ``sdm`` reconstructions. Defaults
            to MedIM's 5 and 5 (the alignment terms keep ``task_weights['matching']``,
            1 by default).
        **kwargs: The :class:`JoImTeRNet` arguments: ``backbone`` (an mmpretrain ViT with
            ``out_type='raw'`` and a class token), ``text_encoder``, ``img_neck``,
            ``text_neck``, ``head``, ``tokenizer``, ``task_weights``, optional MLM
            (``mlm_head``, MedIM has none), ``data_preprocessor``, ``init_cfg``.
    """

    MASK_ON = ('features', 'inputs')
    MASK_FILLS = ('token', 'zero')

    def __init__(self,
                 decoder: dict,
                 recon_head: dict,
                 kwm_generator: dict = dict(type='ReportGuidedMaskGenerator', mode='kwm'),
                 sdm_generator: dict = dict(type='ReportGuidedMaskGenerator', mode='sdm'),
                 mask_on: str = 'features',
                 mask_fill: str = 'token',
                 mask_temperature: Optional[float] = None,
                 loss_weights: Optional[Dict[str, float]] = None,
                 **kwargs) -> None:
        if mask_on not in self.MASK_ON:
            raise ValueError(f'mask_on must be one of {self.MASK_ON}, got {mask_on!r}')
        if mask_fill not in self.MASK_FILLS:
            raise ValueError(f'mask_fill must be one of {self.MASK_FILLS}, got {mask_fill!r}')
        if mask_temperature is not None and not mask_temperature > 0:
            raise ValueError(f'mask_temperature must be > 0, got {mask_temperature}')
        weights = dict(kwm=5.0, sdm=5.0)
        unknown = set(loss_weights or {}) - set(weights)
        if unknown:
            raise ValueError(f'unknown loss_weights keys {sorted(unknown)}; valid: '
                             f'{sorted(weights)}')
        weights.update(loss_weights or {})
        super().__init__(**kwargs)
        self.mask_on = mask_on
        self.mask_fill = mask_fill
        self.mask_temperature = mask_temperature
        self.loss_weights = weights
        self.decoder = MODELS.build(decoder)
        self.recon_head = MODELS.build(recon_head)
        self.mask_generators = nn.ModuleDict(
            dict(kwm=MODELS.build(kwm_generator), sdm=MODELS.build(sdm_generator)))
        for name, gen in self.mask_generators.items():
            if mask_on == 'inputs' and not getattr(gen.mask_rule, 'fixed_count', True):
                raise ValueError(f"{name}_generator's mask rule masks a different number of "
                                 "patches per sample, which mask_on='inputs' cannot encode; "
                                 "use mask_on='features' or a fixed-count rule")
        if mask_on == 'features' and mask_fill == 'token':
            self.mask_token = nn.Parameter(torch.zeros(1, 1, self.backbone.embed_dims))
            nn.init.trunc_normal_(self.mask_token, std=0.02)

    def report_masks(self, attention: torch.Tensor,
                     flags: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """KWM and SDM patch masks ``[B, L]`` (True = masked) from word-patch attention.

        Args:
            attention (torch.Tensor): ``[B, W, L]`` from the alignment head (W word slots).
            flags (dict): ``word_keyword`` and ``word_sentence_ids`` ``[B, W']`` from
                ``TokenizeReport``, and ``word_negated`` / ``word_uncertain`` when
                present (for the generators' ``use_negated`` / ``use_uncertain``).
        """
        inputs = self.generator_inputs(attention, flags)
        return {name: generator(attention, **inputs)
                for name, generator in self.mask_generators.items()}

    @staticmethod
    def generator_inputs(attention: torch.Tensor,
                         flags: Dict[str, torch.Tensor]) -> Dict[str, Optional[torch.Tensor]]:
        """The per-word arguments of the mask generators, cut or padded to the W word slots
        of ``attention`` ``[B, W, L]``: ``word_keyword``, ``word_sentence_ids`` (-1 pads)
        and ``word_negated`` / ``word_uncertain`` (None when ``flags`` lacks them)."""
        num_words = attention.size(1)

        def fit(t: torch.Tensor, pad: int) -> torch.Tensor:
            if t.size(1) >= num_words:
                return t[:, :num_words]
            return nn.functional.pad(t, (0, num_words - t.size(1)), value=pad)

        inputs = dict(word_keyword=fit(flags['word_keyword'], 0).bool(),
                      word_sentence_ids=fit(flags['word_sentence_ids'], -1))
        inputs.update({key: fit(flags[key], 0).bool() if key in flags else None
                       for key in OPTIONAL_WORD_FLAGS})
        return inputs

    def mask_attention(self, img: Dict[str, torch.Tensor],
                       txt: Dict[str, torch.Tensor]) -> torch.Tensor:
        """``[B, W, L]`` word-to-patch attention the masks are built from (detached)."""
        if self.mask_temperature is None:
            attention = self.head.attention(img['regions'], txt['words'], txt['word_mask'])
        else:
            sim = torch.einsum('bwd,brd->bwr', F.normalize(txt['words'], dim=-1),
                               F.normalize(img['regions'], dim=-1))
            attention = torch.softmax(sim / self.mask_temperature, dim=-1)
            attention = attention * txt['word_mask'][..., None].to(attention.dtype)
        return attention.detach()

    def reconstruct(self, inputs: torch.Tensor, tokens: torch.Tensor,
                    mask: torch.Tensor, branch: int = 0) -> torch.Tensor:
        """Predict the pixels of every patch, ``[B, L, patch_size**2 * 3]``.

        Args:
            inputs (torch.Tensor): ``[B, 3, H, W]`` images (used by ``mask_on='inputs'``).
            tokens (torch.Tensor): ``[B, 1 + L, C]`` encoder output on the whole image
                (used by ``mask_on='features'``).
            mask (torch.Tensor): ``[B, L]`` bool, True = masked.
            branch (int): 0 for KWM, 1 for SDM; picks the decoder's output convolution
                when it has one per mask (``SETRUpDecoder(num_outputs=2)``, official).
        """
        if self.mask_on == 'features':
            patches = tokens[:, 1:]
            fill = self.mask_token.to(patches.dtype) if self.mask_fill == 'token' else \
                patches.new_zeros(())
            patches = torch.where(mask[..., None], fill, patches)
            patch = self.recon_head.patch_size
            grid = (inputs.size(-2) // patch, inputs.size(-1) // patch)
            output = dict(output=branch) if getattr(self.decoder, 'num_outputs', 1) > 1 else {}
            return self.recon_head.patchify(self.decoder(patches, grid, **output))
        visible, ids_restore = encode_visible_patches(
            self.backbone, inputs, mask, num_masked=self.static_masked_count(mask.size(1)))
        return self.decoder(visible, ids_restore)

    def static_masked_count(self, num_patches: int) -> Optional[int]:
        """Patches every mask hides, when all mask rules fix it (no host sync to count)."""
        counts = set()
        for generator in self.mask_generators.values():
            rule = generator.mask_rule
            if not getattr(rule, 'fixed_count', True) or not hasattr(rule, 'num_masked'):
                return None
            counts.add(rule.num_masked(num_patches))
        return counts.pop() if len(counts) == 1 else None

    def loss(self, inputs: torch.Tensor, data_samples: List) -> Dict[str, torch.Tensor]:
        text = self._text_inputs(data_samples, inputs.device)
        flags = self._text_inputs(data_samples, inputs.device, WORD_FLAGS)
        flags.update(stack_data_sample_fields(data_samples, OPTIONAL_WORD_FLAGS,
                                              device=inputs.device))
        tokens = self.backbone(inputs)[-1]                          # [B, 1 + L, C]
        img = self.img_neck(tokens)
        txt = self.encode_text(text)
        losses = self.alignment_losses(img, txt)
        attention = self.mask_attention(img, txt)
        for branch, (name, mask) in enumerate(self.report_masks(attention, flags).items()):
            pred = self.reconstruct(inputs, tokens, mask, branch)
            losses[f'loss_{name}'] = self.loss_weights[name] * self.recon_head.loss(
                pred, inputs, mask.to(pred.dtype))
        if self.mlm_head is not None:
            losses['loss_mlm'] = self.task_weights['mlm'] * self.mlm_loss(text)
        return losses
