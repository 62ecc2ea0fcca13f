# Copyright (c) medvlp contributors. All rights reserved.
from .alignment_necks import ImageRegionNeck, TextWordNeck

__all__ = ['ImageRegionNeck', 'TextWordNeck']
