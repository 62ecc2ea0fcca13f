# Copyright (c) medvlp contributors. All rights reserved.
import math

import pytest
import torch

from medvlp.models.losses import BidirectionalRankingLoss, bidirectional_cross_entropy


def test_ranking_loss_by_hand():
    scores = torch.tensor([[0.9, 0.1], [0.5, 0.3]])
    # image anchors: 0 and max(0, 0.2 - 0.3 + 0.5) = 0.4; text anchors: 0 and 0
    loss = BidirectionalRankingLoss(margin=0.2, negative='hardest')(scores)
    assert loss.item() == pytest.approx(0.1)


def test_hardest_all_and_random_negatives():
    scores = torch.tensor([[0.8, 0.7, 0.1], [0.2, 0.9, 0.3], [0.6, 0.0, 0.5]])
    hardest = BidirectionalRankingLoss(0.2, 'hardest')(scores).item()
    every = BidirectionalRankingLoss(0.2, 'all')(scores).item()
    # image anchor 0: hinges 0.1 (j=1), 0 (j=2); anchor 2: 0.3 (j=0), 0 (j=1)
    # text anchor 0: hinges 0 (i=1), 0 (i=2); text anchor 2: 0 (i=0), 0 (i=1)
    assert hardest == pytest.approx((0.1 + 0 + 0.3 + 0 + 0 + 0) / 6)
    assert every == pytest.approx((0.05 + 0 + 0.15 + 0 + 0 + 0) / 6)
    torch.manual_seed(0)
    rand = BidirectionalRankingLoss(0.2, 'random')(scores).item()
    assert 0 <= rand <= hardest


def test_ranking_loss_rejects_unknown_negative():
    with pytest.raises(ValueError, match="negative must be one of"):
        BidirectionalRankingLoss(negative='semi-hard')


def test_cross_entropy_both_directions():
    logits = torch.tensor([[2.0, 0.0], [1.0, 1.0]])
    row = -math.log(math.exp(2) / (math.exp(2) + 1)) - math.log(0.5)
    col = -math.log(math.exp(2) / (math.exp(2) + math.exp(1))) - math.log(math.e / (1 + math.e))
    assert bidirectional_cross_entropy(logits).item() == pytest.approx((row + col) / 4)
