# Copyright (c) medvlp contributors. All rights reserved.
"""Losses on image-text similarity matrices whose matched pairs are known.

In one process the matrix is square and the diagonal holds the matches. With negatives
gathered from every process (see :class:`~medvlp.models.heads.RegionWordAlignmentHead`),
each process scores its own ``B`` images and texts (the anchors, as rows) against all
``N * B`` candidates, and ``targets`` gives each anchor's matched column.
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from medvlp.registry import MODELS


def _directions(scores: torch.Tensor, scores_t2i: Optional[torch.Tensor],
                targets: Optional[torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor,
                                                          torch.Tensor]:
    """``(image rows, text rows, targets)``, defaulting to a square matrix's diagonal."""
    if scores_t2i is None:
        if scores.size(0) != scores.size(1):
            raise ValueError('a non-square score matrix needs scores_t2i and targets, got '
                             f'shape {tuple(scores.shape)}')
        scores_t2i = scores.t()
    if targets is None:
        targets = torch.arange(scores.size(0), device=scores.device)
    if scores_t2i.shape != scores.shape or targets.shape != scores.shape[:1]:
        raise ValueError(f'scores {tuple(scores.shape)}, scores_t2i '
                         f'{tuple(scores_t2i.shape)} and targets {tuple(targets.shape)} '
                         'do not fit together')
    return scores, scores_t2i, targets


def bidirectional_cross_entropy(logits: torch.Tensor,
                                logits_t2i: Optional[torch.Tensor] = None,
                                targets: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Cross-entropy matching in both directions.

    Args:
        logits (torch.Tensor): ``[B, B]`` scores, ``logits[i, j]`` for image ``i`` and text
            ``j``, pair ``(i, i)`` the match; or ``[B, M]`` scores of ``B`` anchor images
            against ``M`` candidate texts.
        logits_t2i (torch.Tensor, optional): ``[B, M]`` scores of the ``B`` anchor texts
            against ``M`` candidate images. Defaults to ``logits.t()``.
        targets (torch.Tensor, optional): ``[B]`` column of each anchor's match. Defaults
            to the diagonal.

    Returns:
        torch.Tensor: ``(CE(image -> text) + CE(text -> image)) / 2``.
    """
    logits, logits_t2i, targets = _directions(logits, logits_t2i, targets)
    return (F.cross_entropy(logits, targets) + F.cross_entropy(logits_t2i, targets)) / 2


@MODELS.register_module()
class BidirectionalRankingLoss(nn.Module):
    """Hinge ranking (triplet) loss with in-batch negatives, in both directions.

    For the matched pair ``(i, i)`` with score ``s_ii`` and a negative ``j``, the image
    anchor loses ``max(0, margin - s_ii + s_ij)`` and the text anchor
    ``max(0, margin - s_ii + s_ji)``.

    Args:
        margin (float): The margin. Defaults to 0.2.
        negative (str): ``'hardest'`` takes the highest-scoring negative per anchor (VSE++),
            ``'random'`` one negative drawn uniformly per anchor, ``'all'`` averages over
            every negative. Defaults to ``'hardest'``.
    """

    NEGATIVES = ('hardest', 'random', 'all')

    def __init__(self, margin: float = 0.2, negative: str = 'hardest') -> None:
        super().__init__()
        if negative not in self.NEGATIVES:
            raise ValueError(f'negative must be one of {self.NEGATIVES}, got {negative!r}')
        self.margin = margin
        self.negative = negative

    def forward(self,
                scores: torch.Tensor,
                scores_t2i: Optional[torch.Tensor] = None,
                targets: Optional[torch.Tensor] = None) -> torch.Tensor:
        """
        Args:
            scores (torch.Tensor): ``[B, B]`` similarities (cosine scale), image rows and
                text columns, matches on the diagonal; or ``[B, M]`` scores of ``B``
                anchor images against ``M`` candidate texts.
            scores_t2i (torch.Tensor, optional): ``[B, M]`` scores of the anchor texts
                against the candidate images. Defaults to ``scores.t()``.
            targets (torch.Tensor, optional): ``[B]`` column of each anchor's match.
                Defaults to the diagonal.

        Returns:
            torch.Tensor: The mean loss over anchors of both directions.
        """
        scores, scores_t2i, targets = _directions(scores, scores_t2i, targets)
        batch, candidates = scores.shape
        if candidates < 2:
            return scores.sum() * 0.
        rows = torch.arange(batch, device=scores.device)
        is_positive = torch.zeros_like(scores, dtype=torch.bool)
        is_positive[rows, targets] = True
        losses = []
        for view in (scores, scores_t2i):  # image anchors, then text anchors
            positive = view[rows, targets]
            hinge = (self.margin - positive[:, None] + view).clamp(min=0)
            hinge = hinge.masked_fill(is_positive, 0)
            if self.negative == 'all':
                losses.append(hinge.sum(1) / (candidates - 1))
            elif self.negative == 'hardest':
                losses.append(hinge.max(1).values)
            else:
                # a uniform draw among the M-1 negatives of each anchor
                offset = torch.randint(1, candidates, (batch, ), device=scores.device)
                index = (targets + offset) % candidates
                losses.append(hinge.gather(1, index[:, None]).squeeze(1))
        return torch.cat(losses).mean()
