# Copyright (c) medvlp contributors. All rights reserved.
"""Image -> text fusion modules of MRM: image tokens in, one vector per report out.

A fusion module turns the MAE encoder's output for the visible patches into a vector the
text encoder adds to every word embedding of the report
(:class:`BertTextEncoder` ``extra_embeds``), so the masked words are predicted with the
image as context. All fusion modules share one interface and are swappable in a config:

``forward(img_tokens [B, 1 + N_visible, C]) -> [B, 1, D]``
"""
from typing import List, Optional, Union

import torch
from mmengine.model import BaseModule
from torch import nn

from medvlp.registry import MODELS

XAVIER_LINEAR = dict(type='Xavier', layer='Linear', distribution='uniform')


@MODELS.register_module()
class MeanVisibleTokenFusion(BaseModule):
    """MRM's official fusion: the mean of the visible image tokens, projected.

    The class token is left out; the projection is linear, so averaging before or after it
    (as the official code does) gives the same vector.

    Args:
        in_channels (int): Width ``C`` of the image tokens.
        out_channels (int): Width ``D`` of the text encoder's embeddings.
        with_cls_token (bool): Whether the first image token is the class token, which is
            left out of the mean. Defaults to True (MAE ViT outputs).
        init_cfg (dict | list, optional): Initialisation config. Defaults to Xavier for the
            projection, as in the official code.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 with_cls_token: bool = True,
                 init_cfg: Optional[Union[dict, List[dict]]] = XAVIER_LINEAR) -> None:
        super().__init__(init_cfg=init_cfg)
        self.with_cls_token = with_cls_token
        self.proj = nn.Linear(in_channels, out_channels)

    def forward(self, img_tokens: torch.Tensor) -> torch.Tensor:
        """``[B, 1 + N, C]`` image tokens -> ``[B, 1, D]`` report embedding offset."""
        patches = img_tokens[:, 1:] if self.with_cls_token else img_tokens
        return self.proj(patches.mean(dim=1, keepdim=True))


@MODELS.register_module()
class AttentionPoolFusion(BaseModule):
    """A learnt query attends over the visible image tokens; the result is projected.

    An alternative to :class:`MeanVisibleTokenFusion` (not in the paper) that lets the
    model weight the visible patches instead of averaging them.

    Args:
        in_channels (int): Width ``C`` of the image tokens.
        out_channels (int): Width ``D`` of the text encoder's embeddings.
        num_heads (int): Attention heads; must divide ``in_channels``. Defaults to 1.
        with_cls_token (bool): Whether the first image token is the class token, which is
            left out. Defaults to True.
        init_cfg (dict | list, optional): Initialisation config. Defaults to Xavier for the
            linear layers.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 num_heads: int = 1,
                 with_cls_token: bool = True,
                 init_cfg: Optional[Union[dict, List[dict]]] = XAVIER_LINEAR) -> None:
        super().__init__(init_cfg=init_cfg)
        self.with_cls_token = with_cls_token
        self.query = nn.Parameter(torch.zeros(1, 1, in_channels))
        self.norm = nn.LayerNorm(in_channels)
        self.attn = nn.MultiheadAttention(in_channels, num_heads, batch_first=True)
        self.proj = nn.Linear(in_channels, out_channels)

    def init_weights(self) -> None:
        """Initialise the layers, then the query like MAE's tokens (normal, std 0.02)."""
        super().init_weights()
        nn.init.normal_(self.query, std=.02)

    def forward(self, img_tokens: torch.Tensor) -> torch.Tensor:
        """``[B, 1 + N, C]`` image tokens -> ``[B, 1, D]`` report embedding offset."""
        patches = self.norm(img_tokens[:, 1:] if self.with_cls_token else img_tokens)
        query = self.query.expand(patches.size(0), -1, -1)
        pooled, _ = self.attn(query, patches, patches, need_weights=False)  # [B, 1, C]
        return self.proj(pooled)
