# Copyright (c) medvlp contributors. All rights reserved.
from .mask_rules import (BaseMaskRule, MedianSplitMaskRule, RandomMaskRule, RatioMaskRule,
                         SampledMaskRule, TopKMaskRule)
from .report_guided import ReportGuidedMaskGenerator, ReportPatchMap

__all__ = [
    'BaseMaskRule', 'MedianSplitMaskRule', 'RandomMaskRule', 'RatioMaskRule',
    'ReportGuidedMaskGenerator',
    'ReportPatchMap', 'SampledMaskRule', 'TopKMaskRule'
]
