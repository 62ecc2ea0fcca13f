# Copyright (c) medvlp contributors. All rights reserved.
"""A SETR-style progressive-upsampling decoder from patch tokens back to pixels."""
import math
from typing import Optional, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModule
from torch import nn

from medvlp.registry import MODELS


@MODELS.register_module()
class SETRUpDecoder(BaseModule):
    """Restores an image from ViT patch tokens with conv + 2x upsampling stages.

    ``[B, L, C]`` tokens are laid out on their ``h x w`` grid, projected to ``channels``
    (``input_proj``), then ``log2(patch_size)`` times convolved (3x3, BN, ReLU) and
    upsampled by 2, and finally mapped to ``out_channels`` pixels by an
    ``out_kernel_size`` convolution: ``[B, out_channels, h * p, w * p]``. This is the
    convolutional decoder MedIM uses to restore masked X-rays. MedIM's official decoder is
    ``channels=(512, 256, 128, 64), input_proj=False, upsample_mode='nearest',
    out_kernel_size=3, num_outputs=2`` (one output convolution per mask, shared stages).

    Args:
        in_channels (int): Token width.
        patch_size (int): Patch size of the encoder; a power of two. Defaults to 16.
        channels (int | Sequence[int]): Width of the conv stages: one for all, or one per
            stage (``log2(patch_size)`` of them). Defaults to 256.
        out_channels (int): Output channels. Defaults to 3.
        input_proj (bool): Project the tokens linearly to the first stage's width; False
            convolves the tokens directly. Defaults to True.
        upsample_mode (str): ``'bilinear'`` or ``'nearest'``. Defaults to ``'bilinear'``.
        out_kernel_size (int): Kernel of the output convolution (1 or 3). Defaults to 1.
        num_outputs (int): Number of output convolutions on the shared stages; ``forward``
            picks one with ``output``. Defaults to 1.
        init_cfg (dict, optional): Initialisation config.
    """

    UPSAMPLE_MODES = ('bilinear', 'nearest')

    def __init__(self,
                 in_channels: int,
                 patch_size: int = 16,
                 channels: Union[int, Sequence[int]] = 256,
                 out_channels: int = 3,
                 input_proj: bool = True,
                 upsample_mode: str = 'bilinear',
                 out_kernel_size: int = 1,
                 num_outputs: int = 1,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        stages = math.log2(patch_size)
        if stages != int(stages) or patch_size < 2:
            raise ValueError(f'patch_size must be a power of two, got {patch_size}')
        stages = int(stages)
        widths = [channels] * stages if isinstance(channels, int) else list(channels)
        if len(widths) != stages:
            raise ValueError(f'channels must give one width per stage ({stages} for patch '
                             f'size {patch_size}), got {len(widths)}')
        if upsample_mode not in self.UPSAMPLE_MODES:
            raise ValueError(f'upsample_mode must be one of {self.UPSAMPLE_MODES}, got '
                             f'{upsample_mode!r}')
        if out_kernel_size not in (1, 3):
            raise ValueError(f'out_kernel_size must be 1 or 3, got {out_kernel_size}')
        if num_outputs < 1:
            raise ValueError(f'num_outputs must be >= 1, got {num_outputs}')
        self.num_outputs = num_outputs
        self.patch_size = patch_size
        self.input_proj = nn.Linear(in_channels, widths[0]) if input_proj else nn.Identity()
        ins = [widths[0] if input_proj else in_channels] + widths[:-1]
        align = dict(align_corners=False) if upsample_mode == 'bilinear' else dict()
        self.up_stages = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(cin, cout, 3, padding=1, bias=False),
                nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                nn.Upsample(scale_factor=2, mode=upsample_mode, **align))
            for cin, cout in zip(ins, widths))
        def output_conv():
            return nn.Conv2d(widths[-1], out_channels, out_kernel_size,
                             padding=out_kernel_size // 2)

        self.output = output_conv()
        # further outputs (output=1, 2, ...) keep the first one's checkpoint keys unchanged
        self.extra_outputs = nn.ModuleList(output_conv() for _ in range(num_outputs - 1))

    def forward(self, tokens: torch.Tensor, grid: Tuple[int, int],
                output: int = 0) -> torch.Tensor:
        """
        Args:
            tokens (torch.Tensor): ``[B, L, C]`` patch tokens (no class token).
            grid (tuple): ``(h, w)`` with ``h * w == L``.
            output (int): Which output convolution to use. Defaults to 0.

        Returns:
            torch.Tensor: ``[B, out_channels, h * patch_size, w * patch_size]``.
        """
        b, length, _ = tokens.shape
        if grid[0] * grid[1] != length:
            raise ValueError(f'{length} tokens do not fill a {grid[0]}x{grid[1]} grid')
        x = self.input_proj(tokens).transpose(1, 2).reshape(b, -1, *grid)
        if not 0 <= output < self.num_outputs:
            raise ValueError(f'output {output} out of range: the decoder has '
                             f'{self.num_outputs} output(s)')
        for stage in self.up_stages:
            x = stage(x)
        return (self.output if output == 0 else self.extra_outputs[output - 1])(x)
