# Copyright (c) medvlp contributors. All rights reserved.
"""MedIM's official masking behaviours, pinned with hand-computed expectations.

The official code (YtongXie/MedIM) splits the patches at the value found at position
``int(P * 0.5)`` of the map sorted in decreasing order (patches strictly above it form the
high half), and masks ``int(n_high * 0.9)`` and ``int(n_low * (1 - 0.9))`` patches.
"""
import pytest
import torch

from medvlp.models.mask_generators import MedianSplitMaskRule, ReportGuidedMaskGenerator

OFFICIAL_RULE = dict(high_ratio=0.9, low_ratio=1 - 0.9, rounding='floor', split='threshold')


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_truncated_count_is_97_of_196():
    # int(98 * 0.9) = 88 and int(98 * (1 - 0.9)) = int(9.999...) = 9; 0.1 gives int(9.8) = 9
    assert MedianSplitMaskRule(0.9, 1 - 0.9, rounding='floor').half_counts(196) == (88, 9)
    assert MedianSplitMaskRule(0.9, 0.1, rounding='floor').num_masked(196) == 97
    assert MedianSplitMaskRule(**OFFICIAL_RULE).num_masked(196) == 97
    # the default rounds half up: 88 + 10 = 98
    assert MedianSplitMaskRule().num_masked(196) == 98


def test_threshold_split_masks_97_of_a_map_without_ties():
    patch_map = torch.rand(3, 196, generator=_gen())
    mask = MedianSplitMaskRule(**OFFICIAL_RULE)(patch_map, generator=_gen(1))
    assert mask.sum(1).tolist() == [97, 97, 97]
    top = patch_map.argsort(dim=1, descending=True)[:, :98]
    in_top = torch.zeros_like(mask).scatter_(1, top, True)
    assert (mask & in_top).sum(1).tolist() == [88] * 3
    assert (mask & ~in_top).sum(1).tolist() == [9] * 3


def test_empty_map_masks_10_percent_random_patches():
    """An all-zero map (no MeSH word): every value ties with the threshold, the high half is
    empty and int(196 * (1 - 0.9)) = 19 random patches are masked."""
    rule = MedianSplitMaskRule(**OFFICIAL_RULE)
    masks = [rule(torch.zeros(1, 196), generator=_gen(seed)) for seed in range(3)]
    assert [int(m.sum()) for m in masks] == [19, 19, 19]
    assert not torch.equal(masks[0], masks[1])  # random patches


def test_threshold_split_by_hand_with_ties():
    # sorted: 5 4 3 3 0 0; position int(6 * 0.5) = 3 holds 3 -> high half {5, 4}; the tied 3s
    # go to the low half of 4 patches; int(2 * 0.5) = 1 high and int(4 * 0.5) = 2 low masked
    patch_map = torch.tensor([[0., 3., 5., 0., 3., 4.]])
    rule = MedianSplitMaskRule(0.5, 0.5, rounding='floor', split='threshold')
    assert rule.upper_half(patch_map, None).tolist() == [[False, False, True, False, False,
                                                          True]]
    mask = rule(patch_map, generator=_gen())
    assert int(mask[0, [2, 5]].sum()) == 1 and int(mask[0, [0, 1, 3, 4]].sum()) == 2
    assert not rule.fixed_count and MedianSplitMaskRule().fixed_count


def test_generator_keeps_zero_map_and_accepts_per_sample_counts():
    """KWM with fallback='zero_map': a report without a keyword masks 19, one with keywords
    97, in the same batch."""
    attention = torch.softmax(torch.randn(2, 5, 196, generator=_gen()), dim=-1)
    keyword = torch.tensor([[0, 1, 1, 0, 0], [0, 0, 0, 0, 0]])
    sentence_ids = torch.zeros(2, 5, dtype=torch.long)
    gen = ReportGuidedMaskGenerator(mode='kwm', fallback='zero_map',
                                    mask_rule=dict(type='MedianSplitMaskRule', **OFFICIAL_RULE))
    mask, info = gen(attention, keyword, sentence_ids, generator=_gen(1), return_map=True)
    assert mask.sum(1).tolist() == [97, 19]
    assert info.fallback.tolist() == [False, True] and gen.last_fallback_count == 1
    assert torch.equal(info.patch_map[1], torch.zeros(196))
    # the default random fallback masks 98 of the keyword-less report
    assert ReportGuidedMaskGenerator()(attention, keyword, sentence_ids,
                                       generator=_gen(1)).sum(1).tolist() == [98, 98]


def test_any_sentence_fallback_picks_a_short_sentence():
    # sentence 0 has 2 words, sentence 1 has 1: none reaches min_sentence_words=4
    sentence_ids = torch.tensor([[0, 0, 1, -1]])
    attention = torch.softmax(torch.randn(1, 4, 16, generator=_gen()), dim=-1)
    strict = ReportGuidedMaskGenerator(mode='sdm', min_sentence_words=4, fallback='zero_map')
    assert strict.patch_map(attention, torch.zeros(1, 4), sentence_ids).sentence.tolist() == [-1]
    loose = ReportGuidedMaskGenerator(mode='sdm', min_sentence_words=4, fallback='any_sentence')
    chosen = {int(loose.patch_map(attention, torch.zeros(1, 4), sentence_ids,
                                  generator=_gen(s)).sentence) for s in range(20)}
    assert chosen == {0, 1}
    with pytest.raises(ValueError, match="only applies to mode='sdm'"):
        ReportGuidedMaskGenerator(mode='kwm', fallback='any_sentence')
