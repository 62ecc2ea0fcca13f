# Copyright (c) medvlp contributors. All rights reserved.
"""A SETR-style progressive-upsampling decoder from patch tokens back to pixels."""
import math
from typing import Optional, Tuple

import torch
from mmengine.model import BaseModule
from torch import nn

from medvlp.registry import MODELS


@MODELS.register_module()
class SETRUpDecoder(BaseModule):
    """Restores an image from ViT patch tokens with conv + 2x upsampling stages.

    ``[B, L, C]`` tokens are laid out on their ``h x w`` grid, projected to ``channels``,
    then ``log2(patch_size)`` times convolved (3x3, BN, ReLU) and upsampled by 2, and
    finally mapped to ``out_channels`` pixels: ``[B, out_channels, h * p, w * p]``. This is
    the convolutional decoder MedIM uses to restore masked X-rays.

    Args:
        in_channels (int): Token width.
        patch_size (int): Patch size of the encoder; a power of two. Defaults to 16.
        channels (int): Width of the conv stages. Defaults to 256.
        out_channels (int): Output channels. Defaults to 3.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 in_channels: int,
                 patch_size: int = 16,
                 channels: int = 256,
                 out_channels: int = 3,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        stages = math.log2(patch_size)
        if stages != int(stages) or patch_size < 2:
            raise ValueError(f'patch_size must be a power of two, got {patch_size}')
        self.patch_size = patch_size
        self.input_proj = nn.Linear(in_channels, channels)
        self.up_stages = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(channels, channels, 3, padding=1, bias=False),
                nn.BatchNorm2d(channels), nn.ReLU(inplace=True),
                nn.Upsample(scale_factor=2, mode='bilinear', align_corners=False))
            for _ in range(int(stages)))
        self.output = nn.Conv2d(channels, out_channels, 1)

    def forward(self, tokens: torch.Tensor, grid: Tuple[int, int]) -> torch.Tensor:
        """
        Args:
            tokens (torch.Tensor): ``[B, L, C]`` patch tokens (no class token).
            grid (tuple): ``(h, w)`` with ``h * w == L``.

        Returns:
            torch.Tensor: ``[B, out_channels, h * patch_size, w * patch_size]``.
        """
        b, length, _ = tokens.shape
        if grid[0] * grid[1] != length:
            raise ValueError(f'{length} tokens do not fill a {grid[0]}x{grid[1]} grid')
        x = self.input_proj(tokens).transpose(1, 2).reshape(b, -1, *grid)
        for stage in self.up_stages:
            x = stage(x)
        return self.output(x)
