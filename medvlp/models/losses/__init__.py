# Copyright (c) medvlp contributors. All rights reserved.
from .matching_losses import BidirectionalRankingLoss, bidirectional_cross_entropy

__all__ = ['BidirectionalRankingLoss', 'bidirectional_cross_entropy']
