# Copyright (c) medvlp contributors. All rights reserved.
"""Losses on a batch similarity matrix whose diagonal holds the matched pairs."""
import torch
import torch.nn.functional as F
from torch import nn

from medvlp.registry import MODELS


def bidirectional_cross_entropy(logits: torch.Tensor) -> torch.Tensor:
    """Cross-entropy matching in both directions.

    Args:
        logits (torch.Tensor): ``[B, B]`` scores, ``logits[i, j]`` for image ``i`` and text
            ``j``; pair ``(i, i)`` is the match.

    Returns:
        torch.Tensor: ``(CE(image -> text) + CE(text -> image)) / 2``.
    """
    target = torch.arange(logits.size(0), device=logits.device)
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target)) / 2


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

    def forward(self, scores: torch.Tensor) -> torch.Tensor:
        """
        Args:
            scores (torch.Tensor): ``[B, B]`` similarities (cosine scale), image rows and
                text columns, matches on the diagonal.

        Returns:
            torch.Tensor: The mean loss over anchors of both directions.
        """
        batch = scores.size(0)
        if batch < 2:
            return scores.sum() * 0.
        positive = scores.diagonal()
        eye = torch.eye(batch, dtype=torch.bool, device=scores.device)
        losses = []
        for view in (scores, scores.t()):  # image anchors, then text anchors
            hinge = (self.margin - positive[:, None] + view).clamp(min=0).masked_fill(eye, 0)
            if self.negative == 'all':
                losses.append(hinge.sum(1) / (batch - 1))
            elif self.negative == 'hardest':
                losses.append(hinge.max(1).values)
            else:
                # a uniform draw among the B-1 negatives of each anchor
                offset = torch.randint(1, batch, (batch, ), device=scores.device)
                index = (torch.arange(batch, device=scores.device) + offset) % batch
                losses.append(hinge.gather(1, index[:, None]).squeeze(1))
        return torch.cat(losses).mean()
