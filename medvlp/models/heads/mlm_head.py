# Copyright (c) medvlp contributors. All rights reserved.
"""Masked-language-modelling head over report tokens."""
from typing import Optional

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import nn

from medvlp.registry import MODELS


@MODELS.register_module()
class MaskedLanguageModelingHead(BaseModule):
    """Predicts the original ids of masked report tokens (BERT's transform + decoder).

    Args:
        hidden_size (int): Width of the token features.
        vocab_size (int): Vocabulary size.
        loss_on (str): ``'masked'`` scores only the masked positions (default);
            ``'all'`` scores every position including unmasked and padding tokens, as
            MRM's official code did (kept for comparison).
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 hidden_size: int,
                 vocab_size: int,
                 loss_on: str = 'masked',
                 init_cfg: Optional[dict] = dict(type='TruncNormal', layer='Linear',
                                                 std=0.02)) -> None:
        super().__init__(init_cfg=init_cfg)
        if loss_on not in ('masked', 'all'):
            raise ValueError(f"loss_on must be 'masked' or 'all', got {loss_on!r}")
        self.loss_on = loss_on
        self.transform = nn.Sequential(
            nn.Linear(hidden_size, hidden_size), nn.GELU(), nn.LayerNorm(hidden_size))
        self.decoder = nn.Linear(hidden_size, vocab_size)

    def forward(self, token_feats: torch.Tensor) -> torch.Tensor:
        """``[B, T, D]`` -> ``[B, T, vocab]`` logits."""
        return self.decoder(self.transform(token_feats))

    def loss(self, token_feats: torch.Tensor, target_ids: torch.Tensor,
             masked: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of the predictions.

        Args:
            token_feats (torch.Tensor): ``[B, T, D]`` features of the corrupted sequence.
            target_ids (torch.Tensor): ``[B, T]`` original ids.
            masked (torch.Tensor): ``[B, T]`` bool, the positions that were masked.

        Returns:
            torch.Tensor: Mean loss over the scored positions.
        """
        if self.loss_on == 'all':
            logits = self(token_feats)
            return F.cross_entropy(logits.flatten(0, 1), target_ids.flatten())
        # only the scored positions go through the vocabulary projection
        logits = self(token_feats[masked])                      # [num_masked, vocab]
        if logits.numel() == 0:
            return logits.sum() * 0.
        return F.cross_entropy(logits, target_ids[masked])
