# Copyright (c) medvlp contributors. All rights reserved.
from .image_reconstruction_head import ImageReconstructionHead
from .local_scores import DAMSMLocalScore
from .mlm_head import MaskedLanguageModelingHead
from .region_word_alignment_head import AlignmentScores, RegionWordAlignmentHead

__all__ = [
    'AlignmentScores', 'DAMSMLocalScore', 'ImageReconstructionHead', 'MaskedLanguageModelingHead',
    'RegionWordAlignmentHead'
]
