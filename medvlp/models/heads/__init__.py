# Copyright (c) medvlp contributors. All rights reserved.
from .region_word_alignment_head import AlignmentScores, RegionWordAlignmentHead

__all__ = ['AlignmentScores', 'RegionWordAlignmentHead']
