# Copyright (c) medvlp contributors. All rights reserved.
from .mask_rules import (BaseMaskRule, MedianSplitMaskRule, RandomMaskRule,
                         SampledMaskRule, TopKMaskRule)
from .report_guided import ReportGuidedMaskGenerator, ReportPatchMap

__all__ = [
    'BaseMaskRule', 'MedianSplitMaskRule', 'RandomMaskRule', 'ReportGuidedMaskGenerator',
    'ReportPatchMap', 'SampledMaskRule', 'TopKMaskRule'
]
