# Copyright (c) medvlp contributors. All rights reserved.
from .alignment_necks import ImageRegionNeck, TextWordNeck
from .mrm_fusion import AttentionPoolFusion, MeanVisibleTokenFusion
from .setr_up_decoder import SETRUpDecoder

__all__ = [
    'ImageRegionNeck', 'TextWordNeck', 'AttentionPoolFusion', 'MeanVisibleTokenFusion',
    'SETRUpDecoder'
]
