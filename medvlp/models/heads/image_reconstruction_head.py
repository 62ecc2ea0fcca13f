# Copyright (c) medvlp contributors. All rights reserved.
"""Whole-image pixel reconstruction loss (MedIM's official objective)."""
from typing import Optional

import torch
import torch.nn.functional as F
from mmpretrain.models.heads import MAEPretrainHead

from medvlp.registry import MODELS


@MODELS.register_module()
class ImageReconstructionHead(MAEPretrainHead):
    """``MSE(activation(prediction), image)`` over every pixel of the image.

    MedIM's official code restores the whole image from the masked features and scores
    ``tanh`` of the decoder output against the normalised input image (``[-1, 1]`` with
    its mean/std of 0.5) on all pixels, masked or not. This head keeps the interface of
    mmpretrain's ``MAEPretrainHead`` (``patchify``, ``loss(pred, target, mask)``), so it
    swaps in through ``recon_head``; the mask is ignored.

    Args:
        activation (str, optional): ``'tanh'`` or None (identity) on the prediction.
            Defaults to ``'tanh'``.
        patch_size (int): Patch size of ``patchify``. Defaults to 16.
        in_channels (int): Image channels. Defaults to 3.
    """

    ACTIVATIONS = ('tanh', None)

    def __init__(self, activation: Optional[str] = 'tanh', patch_size: int = 16,
                 in_channels: int = 3) -> None:
        if activation not in self.ACTIVATIONS:
            raise ValueError(f'activation must be one of {self.ACTIVATIONS}, got '
                             f'{activation!r}')
        super().__init__(loss=dict(type='mmpretrain.PixelReconstructionLoss', criterion='L2'),
                         norm_pix=False, patch_size=patch_size, in_channels=in_channels)
        self.activation = activation

    def loss(self, pred: torch.Tensor, target: torch.Tensor,
             mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Mean squared error over all pixels.

        Args:
            pred (torch.Tensor): ``[B, L, patch_size**2 * C]`` patchified prediction.
            target (torch.Tensor): ``[B, C, H, W]`` images.
            mask (torch.Tensor, optional): Ignored (every pixel counts).
        """
        if self.activation == 'tanh':
            pred = torch.tanh(pred)
        return F.mse_loss(pred, self.patchify(target))
