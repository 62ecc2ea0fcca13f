# Copyright (c) medvlp contributors. All rights reserved.
"""Mask ratios that mask nothing or everything are refused when the rule is built."""
import pytest

from medvlp.registry import MODELS


@pytest.mark.parametrize('rule', ['TopKMaskRule', 'SampledMaskRule', 'RandomMaskRule'])
@pytest.mark.parametrize('ratio', [0.0, 1.0, -0.1, 1.5])
def test_ratio_rules_need_a_ratio_strictly_between_0_and_1(rule, ratio):
    with pytest.raises(ValueError, match=r'mask_ratio must be in \(0, 1\)'):
        MODELS.build(dict(type=rule, mask_ratio=ratio))
    assert MODELS.build(dict(type=rule, mask_ratio=0.01)).mask_ratio == 0.01


@pytest.mark.parametrize('high, low', [(0., 0.), (1., 1.)])
def test_median_split_must_mask_some_but_not_all(high, low):
    with pytest.raises(ValueError, match='at least one of them must be strictly between'):
        MODELS.build(dict(type='MedianSplitMaskRule', high_ratio=high, low_ratio=low))
    # one half may be left whole or untouched
    MODELS.build(dict(type='MedianSplitMaskRule', high_ratio=1., low_ratio=0.))
