# Copyright (c) medvlp contributors. All rights reserved.
"""ReportGuidedMaskGenerator (MedIM's KWM / SDM) and its mask rules."""
import math
import re
import runpy
import sys

import pytest
import torch
from mmengine.registry import DefaultScope

from medvlp.models.mask_generators import (MedianSplitMaskRule, RandomMaskRule,
                                           ReportGuidedMaskGenerator, SampledMaskRule,
                                           TopKMaskRule)
from medvlp.models.mask_generators import report_guided
from medvlp.registry import MODELS

GUIDE = 'docs/en/user_guides/mask_generator.md'
RULES = [
    MedianSplitMaskRule(), MedianSplitMaskRule(high_ratio=0.75, low_ratio=0.25),
    TopKMaskRule(), TopKMaskRule(mask_ratio=0.75), SampledMaskRule(),
    SampledMaskRule(mask_ratio=0.3, temperature=0.5), RandomMaskRule(), RandomMaskRule(0.6)
]


def _seeded(seed=0):
    return torch.Generator().manual_seed(seed)


# ----------------------------------------------------------------------------------------
# Pure-Python, one-sample-at-a-time reference of the package's vectorised code
# ----------------------------------------------------------------------------------------
def ref_half_up(x):
    return int(math.floor(x + 0.5 + 1e-9))


def ref_rank(values, tie_noise):
    """Patches by decreasing value; ties ordered by increasing tie noise."""
    shuffled = sorted(range(len(values)), key=lambda p: tie_noise[p])
    return sorted(shuffled, key=lambda p: -values[p])  # sorted() is stable


def ref_rule(rule, values, noise):
    """Mask (list of bools) of one sample; ``noise`` is that sample's [C, P] noise."""
    num = len(values)
    if isinstance(rule, MedianSplitMaskRule):
        ranked = ref_rank(values, noise[0])
        n_up = (num + 1) // 2
        upper, lower = ranked[:n_up], ranked[n_up:]
        chosen = sorted(upper, key=lambda p: noise[1][p])[:ref_half_up(rule.high_ratio * n_up)]
        chosen += sorted(lower, key=lambda p: noise[1][p])[:ref_half_up(
            rule.low_ratio * len(lower))]
    elif isinstance(rule, TopKMaskRule):
        chosen = ref_rank(values, noise[0])[:ref_half_up(rule.mask_ratio * num)]
    elif isinstance(rule, SampledMaskRule):
        gumbel = [-math.log(-math.log(u)) for u in noise[0]]
        positive = [p for p in range(num) if values[p] > 0]
        zero = [p for p in range(num) if values[p] <= 0]
        positive.sort(key=lambda p: -(math.log(values[p]) / rule.temperature + gumbel[p]))
        zero.sort(key=lambda p: -gumbel[p])
        chosen = (positive + zero)[:ref_half_up(rule.mask_ratio * num)]
    else:
        chosen = sorted(range(num), key=lambda p: noise[0][p])[:ref_half_up(
            rule.mask_ratio * num)]
    return [p in set(chosen) for p in range(num)]


def ref_words(mode, keyword, sentence_ids, negated, sentence, use_negated, min_words):
    """Indices of the words whose rows make one sample's map, or None (fallback)."""
    valid = [w for w, s in enumerate(sentence_ids) if s >= 0]
    if mode == 'kwm':
        words = [w for w in valid if keyword[w] and (use_negated or not negated[w])]
    else:
        sizes = {}
        for w in valid:
            sizes[sentence_ids[w]] = sizes.get(sentence_ids[w], 0) + 1
        eligible = [s for s, n in sizes.items() if n >= min_words]
        if not eligible:
            assert sentence == -1
            return None
        assert sentence in eligible, 'the chosen sentence must be eligible'
        words = [w for w in valid if sentence_ids[w] == sentence]
    return words or None


def ref_map(attention, words):
    num = len(attention[0])
    return [sum(attention[w][p] for w in words) for p in range(num)]


# ----------------------------------------------------------------------------------------
# Inputs
# ----------------------------------------------------------------------------------------
def random_batch(batch=8, words=24, patches=49, seed=0):
    """Random reports with padding, 2-8 word sentences, keywords and negations."""
    g = _seeded(seed)
    sentence_ids = torch.full((batch, words), -1, dtype=torch.long)
    for b in range(batch):
        length = int(torch.randint(words // 2, words + 1, (1, ), generator=g))
        pos, sent = 0, 0
        while pos < length:
            size = int(torch.randint(2, 9, (1, ), generator=g))
            sentence_ids[b, pos:min(pos + size, length)] = sent
            pos, sent = pos + size, sent + 1
    keyword = (torch.rand(batch, words, generator=g) < 0.2) & (sentence_ids >= 0)
    negated = torch.rand(batch, words, generator=g) < 0.3
    attention = torch.softmax(3 * torch.randn(batch, words, patches, generator=g), -1)
    return attention, keyword, sentence_ids, negated


# ----------------------------------------------------------------------------------------
# Rules
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize('num_patches', [1, 2, 7, 49, 196, 197])
@pytest.mark.parametrize('rule', RULES, ids=lambda r: repr(r))
def test_rule_masks_exact_count_per_sample(rule, num_patches):
    g = _seeded(1)
    maps = torch.stack([
        torch.rand(num_patches, generator=g),                    # distinct values
        torch.zeros(num_patches),                                # all ties, all zero
        torch.full((num_patches, ), 0.3),                        # all ties
        torch.randint(0, 3, (num_patches, ), generator=g).float(),  # few levels
        -torch.rand(num_patches, generator=g),                   # negative
    ])
    mask = rule(maps, generator=g)
    assert mask.dtype == torch.bool and mask.shape == maps.shape
    expected = rule.num_masked(num_patches)
    assert mask.sum(1).tolist() == [expected] * len(maps)


def test_rule_counts_by_hand():
    median = MedianSplitMaskRule()
    assert median.split_sizes(196) == (98, 98) and median.num_masked(196) == 98
    assert median.split_sizes(197) == (99, 98)          # odd P: median patch is upper
    assert median.half_counts(197) == (89, 10)          # round(89.1), round(9.8)
    assert median.half_counts(7) == (4, 0)              # round(3.6), round(0.3)
    assert MedianSplitMaskRule(0.5, 0.5).half_counts(5) == (2, 1)  # halves round up
    assert TopKMaskRule(0.5).num_masked(197) == 99 and RandomMaskRule(0.75).num_masked(
        49) == 37


@pytest.mark.parametrize('rule', RULES, ids=lambda r: repr(r))
@pytest.mark.parametrize('num_patches', [7, 196])
def test_rule_equals_per_sample_reference(rule, num_patches):
    g = _seeded(2)
    maps = torch.rand(6, num_patches, generator=g)
    maps[1] = torch.randint(0, 3, (num_patches, ), generator=g).float()  # many ties
    maps[2] = 0.                                                         # all zero
    maps[3, ::2] = 0.                                                    # half zero
    noise = rule.sample_noise(maps, generator=_seeded(3))
    assert noise.shape == (rule.num_noise, 6, num_patches)
    batch_mask = rule.mask_from_noise(maps, noise)
    for b in range(len(maps)):
        expected = ref_rule(rule, maps[b].tolist(), noise[:, b].tolist())
        assert batch_mask[b].tolist() == expected, f'sample {b}'
    # forward draws the same noise from the generator
    assert torch.equal(rule(maps, generator=_seeded(3)), batch_mask)


def test_median_rule_masks_90_percent_of_top_half_10_of_bottom():
    num, draws = 196, 2000
    g = _seeded(4)
    values = torch.randperm(num, generator=g).float()
    top = values >= num // 2                                    # the 98 highest patches
    mask = MedianSplitMaskRule()(values.expand(draws, -1), generator=g).float()
    assert mask[:, top].mean().item() == pytest.approx(0.9, abs=0.02)
    assert mask[:, ~top].mean().item() == pytest.approx(0.1, abs=0.02)
    # uniform within each half: every single patch's rate is near its half's
    per_patch = mask.mean(0)
    assert (per_patch[top] - 88 / 98).abs().max() < 0.04
    assert (per_patch[~top] - 10 / 98).abs().max() < 0.04


def test_median_rule_breaks_ties_randomly():
    # 30 high patches, 166 tied at zero: the upper half is the 30 + 68 random zero ones
    num, draws = 196, 2000
    values = torch.zeros(num)
    values[:30] = 1.
    mask = MedianSplitMaskRule()(values.expand(draws, -1), generator=_seeded(5)).float()
    assert mask[:, :30].mean().item() == pytest.approx(0.9, abs=0.02)
    expected_rest = (68 * 88 / 98 + 10) / 166
    assert mask[:, 30:].mean().item() == pytest.approx(expected_rest, abs=0.02)
    assert (mask[:, 30:].mean(0) - expected_rest).abs().max() < 0.06


def test_topk_and_sampled_rules_follow_the_map():
    values = torch.arange(10.).expand(3, -1)
    assert TopKMaskRule(0.3)(values).nonzero()[:, 1].view(3, 3).sort(1)[0].tolist() == \
        [[7, 8, 9]] * 3
    # k = 1: P(patch p) = w_p / sum(w), with weights w = map ** (1 / T)
    weights = torch.tensor([0., 1., 2., 3., 4.])
    draws = 4000
    for temperature in (1., 0.5):
        rule = SampledMaskRule(mask_ratio=0.2, temperature=temperature)
        freq = rule(weights.expand(draws, -1), generator=_seeded(6)).float().mean(0)
        expected = weights**(1 / temperature)
        torch.testing.assert_close(freq, expected / expected.sum(), atol=0.025, rtol=0)
    # an all-zero map is sampled uniformly
    freq = SampledMaskRule(0.5)(torch.zeros(draws, 10), generator=_seeded(7)).float().mean(0)
    assert (freq - 0.5).abs().max() < 0.04


def test_random_rule_ignores_the_map():
    values = torch.arange(20.).expand(3000, -1)
    freq = RandomMaskRule(0.25)(values, generator=_seeded(8)).float().mean(0)
    assert (freq - 0.25).abs().max() < 0.04


def test_rule_argument_errors():
    with pytest.raises(ValueError, match='high_ratio'):
        MedianSplitMaskRule(high_ratio=1.5)
    with pytest.raises(ValueError, match='temperature'):
        SampledMaskRule(temperature=0)
    with pytest.raises(ValueError, match=r'\[B, P\].*\(2, 3, 4\)'):
        TopKMaskRule()(torch.rand(2, 3, 4))


# ----------------------------------------------------------------------------------------
# Generator
# ----------------------------------------------------------------------------------------
def test_built_from_registry_in_any_scope():
    gen = MODELS.build(dict(type='ReportGuidedMaskGenerator', mode='sdm',
                            mask_rule=dict(type='SampledMaskRule', temperature=2.)))
    assert isinstance(gen.mask_rule, SampledMaskRule) and gen.mask_rule.temperature == 2.
    assert isinstance(ReportGuidedMaskGenerator().mask_rule, MedianSplitMaskRule)
    # inside an mmpretrain-scoped model the default rule still resolves in medvlp
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        gen = MODELS.build(dict(type='medvlp.ReportGuidedMaskGenerator'))
    assert isinstance(gen.mask_rule, MedianSplitMaskRule)


def _kwm_batch(batch, num=196, words=6, seed=0):
    """Keyword words 0-1 attend to a random set of 98 patches, other words elsewhere."""
    g = _seeded(seed)
    target = torch.zeros(batch, num, dtype=torch.bool)
    perm = torch.rand(batch, num, generator=g).argsort(1)
    target.scatter_(1, perm[:, :98], True)
    attention = torch.full((batch, words, num), 1e-4)
    attention[:, :2] += target[:, None] * torch.rand(batch, 2, num, generator=g)
    attention[:, 2:] += (~target)[:, None].float()   # non-keywords look elsewhere
    keyword = torch.zeros(batch, words, dtype=torch.bool)
    keyword[:, :2] = True
    sentence_ids = torch.tensor([0, 0, 0, 1, 1, -1]).expand(batch, -1)
    return attention, keyword, sentence_ids, target


def test_kwm_masks_track_keyword_attention():
    attention, keyword, sentence_ids, target = _kwm_batch(2000)
    mask = ReportGuidedMaskGenerator('kwm')(attention, keyword, sentence_ids,
                                            generator=_seeded(9)).float()
    assert mask[target].mean().item() == pytest.approx(0.9, abs=0.02)
    assert mask[~target].mean().item() == pytest.approx(0.1, abs=0.02)
    assert (mask.sum(1) == 98).all()


def test_kwm_leaves_out_negated_keywords_when_asked():
    num = 20
    attention = torch.zeros(1, 4, num)
    attention[0, 0, :5] = 1.    # negated keyword ("no effusion")
    attention[0, 1, 5:10] = 1.  # keyword
    attention[0, 2, 10:15] = 1.  # plain word
    attention[0, 3, 15:] = 1.   # padding
    keyword = torch.tensor([[True, True, False, True]])
    negated = torch.tensor([[1, 0, 0, 0]])
    sentence_ids = torch.tensor([[0, 0, 0, -1]])
    with_neg = ReportGuidedMaskGenerator(use_negated=True).patch_map(
        attention, keyword, sentence_ids, negated).patch_map[0]
    without = ReportGuidedMaskGenerator(use_negated=False).patch_map(
        attention, keyword, sentence_ids, negated).patch_map[0]
    assert with_neg.nonzero().flatten().tolist() == list(range(10))
    assert without.nonzero().flatten().tolist() == list(range(5, 10))


def test_use_negated_false_without_flags_warns_once(monkeypatch):
    logs = []
    monkeypatch.setattr(report_guided, 'print_log', lambda msg, **kw: logs.append(msg))
    attention, keyword, sentence_ids, negated = random_batch()
    gen = ReportGuidedMaskGenerator(use_negated=False)
    kept = gen.patch_map(attention, keyword, sentence_ids).patch_map
    gen.patch_map(attention, keyword, sentence_ids)
    assert len(logs) == 1 and 'word_negated' in logs[0]
    torch.testing.assert_close(
        kept, ReportGuidedMaskGenerator().patch_map(attention, keyword, sentence_ids).patch_map)


def _sdm_batch(batch, num=196):
    """Sentences 0, 1, 3 (4, 4, 3 words) and short sentence 2 (2 words) attend to disjoint
    sets of 39 patches; the padding word attends to a fifth set."""
    sets = torch.arange(195).view(5, 39)
    sentence_ids = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 3, 3, -1])
    attention = torch.zeros(len(sentence_ids), num)
    for w, s in enumerate(sentence_ids.tolist()):
        attention[w, sets[s]] = 1. + 0.1 * w
    return (attention.expand(batch, -1, -1), torch.zeros(batch, len(sentence_ids)),
            sentence_ids.expand(batch, -1), sets)


def test_sdm_masks_track_one_eligible_sentence():
    draws = 3000
    attention, keyword, sentence_ids, sets = _sdm_batch(draws)
    gen = ReportGuidedMaskGenerator('sdm', min_sentence_words=3)
    mask, info = gen(attention, keyword, sentence_ids, generator=_seeded(10),
                     return_map=True)
    chosen = info.sentence
    counts = torch.bincount(chosen, minlength=4).tolist()
    assert counts[2] == 0, 'the 2-word sentence is not eligible'
    for s in (0, 1, 3):
        assert counts[s] / draws == pytest.approx(1 / 3, abs=0.04)
    assert not info.fallback.any() and gen.fallback_count == 0
    # the map is the chosen sentence's set and nothing else
    in_chosen = torch.zeros_like(mask)
    in_chosen.scatter_(1, sets[chosen], True)
    assert ((info.patch_map > 0) == in_chosen).all()
    # the masked fraction is high on the chosen set, low-ish on the other sets
    frac = mask.float()
    assert frac[in_chosen].mean().item() == pytest.approx(0.9, abs=0.02)
    others = torch.zeros_like(mask)
    others[:, sets.flatten()] = True
    others &= ~in_chosen
    # outside the chosen set all patches tie at 0: 59 of those 157 fill the upper half
    expected = (59 * 88 / 98 + 98 * 10 / 98) / 157
    assert frac[others].mean().item() == pytest.approx(expected, abs=0.02)
    assert frac[others].mean() < frac[in_chosen].mean() - 0.4


@pytest.mark.parametrize('mode', ['kwm', 'sdm'])
def test_seeded_generator_reproduces_the_mask(mode):
    attention, keyword, sentence_ids, negated = random_batch(batch=16, seed=11)
    keyword[3] = False  # one sample takes the random fallback
    gen = ReportGuidedMaskGenerator(mode)
    first = gen(attention, keyword, sentence_ids, negated, generator=_seeded(12))
    again = gen(attention, keyword, sentence_ids, negated, generator=_seeded(12))
    other = gen(attention, keyword, sentence_ids, negated, generator=_seeded(13))
    assert torch.equal(first, again)
    assert not torch.equal(first, other)


@pytest.mark.parametrize('use_negated', [True, False])
@pytest.mark.parametrize('mode', ['kwm', 'sdm'])
def test_vectorised_generator_equals_per_sample_reference(mode, use_negated):
    attention, keyword, sentence_ids, negated = random_batch(batch=12, seed=14)
    keyword[2] = False                     # kwm fallback
    sentence_ids[5, 2:] = -1               # a 2-word report: sdm fallback
    rule = MedianSplitMaskRule()
    gen = ReportGuidedMaskGenerator(mode, mask_rule=rule, use_negated=use_negated,
                                    min_sentence_words=3)
    mask, info = gen(attention, keyword, sentence_ids, negated, generator=_seeded(15),
                     return_map=True)

    # replay the documented draws: sentence scores (sdm), fallback map, rule noise
    replay = _seeded(15)
    batch, num = attention.shape[0], attention.shape[2]
    if mode == 'sdm':
        torch.rand(batch, sentence_ids.size(1), generator=replay)  # one per word slot
    fallback_map = torch.rand(batch, num, generator=replay)
    noise = rule.sample_noise(info.patch_map, generator=replay)

    for b in range(batch):
        words = ref_words(mode, keyword[b].tolist(), sentence_ids[b].tolist(),
                          negated[b].tolist(), int(info.sentence[b]), use_negated, 3)
        assert bool(info.fallback[b]) == (words is None), f'sample {b}'
        values = fallback_map[b].tolist() if words is None else ref_map(
            attention[b].tolist(), words)
        torch.testing.assert_close(info.patch_map[b], torch.tensor(values))
        assert mask[b].tolist() == ref_rule(rule, values, noise[:, b].tolist()), f'sample {b}'
        # and the deterministic summary: 88 of the upper half, 10 of the lower one
        order = sorted(range(num), key=lambda p: -values[p])
        upper = order[:(num + 1) // 2]
        assert int(mask[b, upper].sum()) == rule.half_counts(num)[0]
        assert int(mask[b].sum()) == rule.num_masked(num)
    assert info.fallback.tolist().count(True) >= 1


def test_fallbacks_are_counted_and_logged(monkeypatch):
    logs = []
    monkeypatch.setattr(report_guided, 'print_log', lambda msg, **kw: logs.append(msg))
    attention, keyword, sentence_ids, _ = random_batch(batch=8, seed=16)
    keyword[[1, 4, 6]] = False
    gen = ReportGuidedMaskGenerator('kwm', log_interval=3)
    full = keyword.clone()
    full[:, 0] = True  # word 0 is always a real word
    # calls 1, 2 fall back (3 samples each), 3 to 5 do not, 6 and 7 do
    for call in range(7):
        kw = keyword if call in (0, 1, 5, 6) else full
        mask = gen(attention, kw, sentence_ids)
        assert (mask.sum(1) == 25).all()
        assert gen.last_fallback_count == (3 if call in (0, 1, 5, 6) else 0)
    assert gen.fallback_count == 12 and gen.num_calls == 7
    # reported at call 1 (first), call 4 (the one pending from call 2), call 7 (6 and 7)
    assert len(logs) == 3
    assert re.search(r'3 sample\(s\) with no keyword.* 3 of 8 samples in 1 calls', logs[0])
    assert re.search(r'3 sample\(s\).* 6 of 32 samples in 4 calls', logs[1])
    assert re.search(r'6 sample\(s\).* 12 of 56 samples in 7 calls', logs[2])
    assert "'random'" in logs[0]


def test_fallback_maps():
    attention, keyword, sentence_ids, _ = random_batch(batch=4, seed=17)
    keyword[1] = False
    random_map = ReportGuidedMaskGenerator(fallback='random').patch_map(
        attention, keyword, sentence_ids, generator=_seeded(0))
    assert random_map.fallback.tolist() == [False, True, False, False]
    torch.testing.assert_close(random_map.patch_map[1], torch.rand(4, 49, generator=_seeded(0))[1])
    all_words = ReportGuidedMaskGenerator(fallback='all_words').patch_map(
        attention, keyword, sentence_ids).patch_map
    valid = (sentence_ids[1] >= 0).float()
    torch.testing.assert_close(all_words[1], valid @ attention[1])
    torch.testing.assert_close(all_words[0], random_map.patch_map[0])


@pytest.mark.parametrize('mode', ['kwm', 'sdm'])
def test_error_fallback_names_the_samples(mode):
    attention, keyword, sentence_ids, _ = random_batch(batch=6, seed=18)
    keyword[[1, 3]] = False
    sentence_ids[[1, 3], 2:] = -1
    gen = ReportGuidedMaskGenerator(mode, fallback='error')
    with pytest.raises(ValueError, match=r'sample\(s\) \[1, 3\]'):
        gen(attention, keyword, sentence_ids)


def test_argument_and_shape_errors():
    with pytest.raises(ValueError, match="unknown mode 'xyz'"):
        ReportGuidedMaskGenerator(mode='xyz')
    with pytest.raises(ValueError, match="unknown fallback 'skip'"):
        ReportGuidedMaskGenerator(fallback='skip')
    with pytest.raises(ValueError, match='min_sentence_words'):
        ReportGuidedMaskGenerator(min_sentence_words=0)
    gen = ReportGuidedMaskGenerator()
    attention, keyword, sentence_ids, negated = random_batch(batch=4, words=10)
    with pytest.raises(ValueError, match=r'\[B, W, P\].*\(10, 49\)'):
        gen(attention[0], keyword, sentence_ids)
    with pytest.raises(ValueError, match=r'word_keyword has shape \(4, 9\).*\(4, 10, 49\)'):
        gen(attention, keyword[:, :9], sentence_ids)
    with pytest.raises(ValueError, match=r'word_sentence_ids has shape \(3, 10\)'):
        gen(attention, keyword, sentence_ids[:3])
    with pytest.raises(ValueError, match=r'word_negated has shape \(4, 11\)'):
        gen(attention, keyword, sentence_ids, torch.zeros(4, 11))
    with pytest.raises(ValueError, match='integer'):
        gen(attention, keyword, sentence_ids.float())


def test_rule_with_unequal_counts_is_rejected():

    class Threshold(torch.nn.Module):

        def forward(self, patch_map, generator=None):
            return patch_map > 0.02

    attention, keyword, sentence_ids, _ = random_batch(batch=4)
    with pytest.raises(ValueError, match='different numbers of patches'):
        ReportGuidedMaskGenerator(mask_rule=Threshold())(attention, keyword, sentence_ids)


# ----------------------------------------------------------------------------------------
# The user guide's worked example, run as written
# ----------------------------------------------------------------------------------------
def test_guide_custom_rule_example(repo_root, tmp_path, monkeypatch, clean_user_package):
    text = (repo_root / GUIDE).read_text()
    blocks = re.findall(r'```python\n# file: (\S+)\n(.*?)```', text, flags=re.S)
    assert [path for path, _ in blocks] == ['my_project/smoothed_topk_rule.py',
                                            'my_project/try_rule.py']
    for rel_path, body in blocks:
        path = tmp_path / rel_path
        path.parent.mkdir(parents=True, exist_ok=True)
        (path.parent / '__init__.py').touch()
        path.write_text(body)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        result = runpy.run_path(str(tmp_path / blocks[1][0]), run_name='__main__')
        rule_cls = MODELS.get('SmoothedTopKMaskRule')
        assert rule_cls is not None and rule_cls.__module__ == 'my_project.smoothed_topk_rule'
        mask = result['mask']
        assert mask.shape == (4, 196) and (mask.sum(1) == 98).all()
        assert type(result['mask_generator'].mask_rule) is rule_cls
    finally:
        MODELS._module_dict.pop('SmoothedTopKMaskRule', None)
        for name in [m for m in sys.modules if m.startswith('my_project')]:
            del sys.modules[name]
