# Copyright (c) medvlp contributors. All rights reserved.
from .mlm_head import MaskedLanguageModelingHead
from .region_word_alignment_head import AlignmentScores, RegionWordAlignmentHead

__all__ = ['AlignmentScores', 'MaskedLanguageModelingHead', 'RegionWordAlignmentHead']
