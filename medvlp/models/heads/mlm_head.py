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
        max_predictions (int, optional): With static selection, project only this many
            positions per sequence onto the vocabulary (the masked ones first, BERT's
            ``max_predictions_per_seq``); masked positions beyond it are not scored and
            are counted in :attr:`unscored_count`. None (default) projects every position
            and weights the masked ones, which gives the same loss as the dynamic path.
        select (str): How ``loss_on='masked'`` finds the masked positions: ``'dynamic'``
            (boolean indexing: exact and cheapest, but the output size depends on the data,
            so the host waits for the GPU once per step), ``'static'`` (the fixed-size
            gather above: no host synchronisation), or ``'auto'`` (default: dynamic on the
            CPU, where a sync costs nothing, static on accelerators).
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 hidden_size: int,
                 vocab_size: int,
                 loss_on: str = 'masked',
                 max_predictions: Optional[int] = None,
                 select: str = 'auto',
                 init_cfg: Optional[dict] = dict(type='TruncNormal', layer='Linear',
                                                 std=0.02)) -> None:
        super().__init__(init_cfg=init_cfg)
        if loss_on not in ('masked', 'all'):
            raise ValueError(f"loss_on must be 'masked' or 'all', got {loss_on!r}")
        if max_predictions is not None and max_predictions < 1:
            raise ValueError(f'max_predictions must be >= 1 or None, got {max_predictions}')
        if select not in ('auto', 'static', 'dynamic'):
            raise ValueError(f"select must be 'auto', 'static' or 'dynamic', got {select!r}")
        self.loss_on = loss_on
        self.max_predictions = max_predictions
        self.select = select
        self.transform = nn.Sequential(
            nn.Linear(hidden_size, hidden_size), nn.GELU(), nn.LayerNorm(hidden_size))
        self.decoder = nn.Linear(hidden_size, vocab_size)
        # masked positions left out by max_predictions, accumulated on the device
        self.register_buffer('unscored_count', torch.zeros((), dtype=torch.long),
                             persistent=False)

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
            torch.Tensor: Mean loss over the scored positions (0 when none is masked).
        """
        if self.loss_on == 'all':
            logits = self(token_feats)
            return F.cross_entropy(logits.flatten(0, 1), target_ids.flatten())
        static = self.select == 'static' or (self.select == 'auto' and
                                             token_feats.device.type != 'cpu')
        if not static:
            logits = self(token_feats[masked])                      # [num_masked, vocab]
            if logits.numel() == 0:
                return logits.sum() * 0.
            return F.cross_entropy(logits, target_ids[masked])
        weights = masked.to(token_feats.dtype)
        if self.max_predictions is not None and self.max_predictions < masked.size(1):
            # the masked positions first (in order), then the rest: a fixed-size gather
            order = torch.argsort((~masked).to(torch.int8), dim=1, stable=True)
            order = order[:, :self.max_predictions]                     # [B, K]
            token_feats = token_feats.gather(
                1, order[..., None].expand(-1, -1, token_feats.size(-1)))
            target_ids = target_ids.gather(1, order)
            kept = weights.gather(1, order)
            self.unscored_count += (weights.sum() - kept.sum()).long()
            weights = kept
        per_token = F.cross_entropy(
            self(token_feats).flatten(0, 1), target_ids.flatten(), reduction='none')
        return (per_token * weights.flatten()).sum() / weights.sum().clamp(min=1.)
