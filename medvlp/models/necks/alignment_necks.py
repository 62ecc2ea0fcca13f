# Copyright (c) medvlp contributors. All rights reserved.
"""Necks that bring image regions and report words into one embedding space."""
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModule
from torch import nn

from medvlp.registry import MODELS


@MODELS.register_module()
class ImageRegionNeck(BaseModule):
    """Region and global image features from any backbone, projected to ``out_channels``.

    Accepts the last output of the backbone in either form:

    * ``[B, N, C]`` tokens of a ViT (mmpretrain ``out_type='raw'``); with
      ``with_cls_token=True`` token 0 is the class token and the rest are the regions
      (patches);
    * ``[B, C, H, W]`` feature map of a CNN (or a ViT with ``out_type='featmap'``); every
      cell is a region.

    Args:
        in_channels (int): Channels of the backbone features.
        out_channels (int): Dimension of the shared space.
        global_pool (str): ``'cls'`` (the class token; tokens only) or ``'avg'`` (mean of
            the regions). Defaults to ``'cls'``.
        with_cls_token (bool): Whether ``[B, N, C]`` inputs start with a class token.
            Defaults to True.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 global_pool: str = 'cls',
                 with_cls_token: bool = True,
                 init_cfg: Optional[dict] = dict(type='TruncNormal', layer='Linear',
                                                 std=0.02)) -> None:
        super().__init__(init_cfg=init_cfg)
        if global_pool not in ('cls', 'avg'):
            raise ValueError(f"global_pool must be 'cls' or 'avg', got {global_pool!r}")
        if global_pool == 'cls' and not with_cls_token:
            raise ValueError("global_pool='cls' needs with_cls_token=True")
        self.global_pool = global_pool
        self.with_cls_token = with_cls_token
        self.region_proj = nn.Linear(in_channels, out_channels)
        self.global_proj = nn.Linear(in_channels, out_channels)

    def split(self, feats: Union[torch.Tensor, Sequence[torch.Tensor]]
              ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Backbone output -> (regions ``[B, R, C]``, global ``[B, C]``), unprojected."""
        if isinstance(feats, (list, tuple)):
            feats = feats[-1]
        if feats.dim() == 4:
            regions = feats.flatten(2).transpose(1, 2)
            if self.global_pool == 'cls':
                raise ValueError("a feature map has no class token: use global_pool='avg'")
            return regions, regions.mean(1)
        if feats.dim() != 3:
            raise ValueError(f'expected [B, N, C] tokens or a [B, C, H, W] feature map, '
                             f'got a tensor of shape {tuple(feats.shape)}')
        regions = feats[:, 1:] if self.with_cls_token else feats
        glob = feats[:, 0] if self.global_pool == 'cls' else regions.mean(1)
        return regions, glob

    def forward(self, feats: Union[torch.Tensor, Sequence[torch.Tensor]]
                ) -> Dict[str, torch.Tensor]:
        """Returns ``regions`` ``[B, R, D]`` and ``global_feat`` ``[B, D]``."""
        regions, glob = self.split(feats)
        return dict(regions=self.region_proj(regions), global_feat=self.global_proj(glob))


@MODELS.register_module()
class TextWordNeck(BaseModule):
    """Projects word features and the report feature into the shared space.

    Args:
        in_channels (int): Width of the text encoder.
        out_channels (int): Dimension of the shared space.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 init_cfg: Optional[dict] = dict(type='TruncNormal', layer='Linear',
                                                 std=0.02)) -> None:
        super().__init__(init_cfg=init_cfg)
        self.word_proj = nn.Linear(in_channels, out_channels)
        self.report_proj = nn.Linear(in_channels, out_channels)

    def forward(self, text: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """Maps the text encoder's ``word_feats`` and ``report_feat`` to ``words`` and
        ``global_feat``; ``word_mask`` passes through."""
        return dict(words=self.word_proj(text['word_feats']),
                    global_feat=self.report_proj(text['report_feat']),
                    word_mask=text['word_mask'])
