# Copyright (c) medvlp contributors. All rights reserved.
"""JoImTeRNet's official DAMSM pieces: the double-softmax local score worked by hand, summed
directions, margin 0.5 with one random negative, all reachable from the official preset."""
import math

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config

from medvlp.models import RegionWordAlignmentHead
from medvlp.models.heads import DAMSMLocalScore
from medvlp.registry import MODELS

OFFICIAL = 'configs/joimternet/joimternet_vit-tiny-p16_1xb16-30e_demo_official.py'


def _softmax(values, scale=1.0):
    exps = [math.exp(scale * v) for v in values]
    return [e / sum(exps) for e in exps]


def test_double_softmax_local_score_by_hand():
    """Regions r1 = (1, 0), r2 = (0, 2); words w1 = (1, 0), w2 = (0, 1), and a masked word.

    Over the words, r1's raw dots (1, 0) give (0.7311, 0.2689) and r2's (0, 2) give
    (0.1192, 0.8808); over the regions with gamma1 = 4, w1 gets (0.9204, 0.0796) and w2
    (0.0796, 0.9204); the contexts (0.9204, 0.1592) and (0.0796, 1.8408) have cosines 0.98537
    and 0.99907 with their words; S = log(e^(5 * 0.98537) + e^(5 * 0.99907)) = 5.6548.
    """
    regions = torch.tensor([[[1., 0.], [0., 2.]]])
    words = torch.tensor([[[1., 0.], [0., 1.], [5., 5.]]])
    mask = torch.tensor([[True, True, False]])
    score = DAMSMLocalScore(gamma1=4., gamma2=5.)(regions, words, mask)
    over_words = [_softmax([1., 0.]), _softmax([0., 2.])]            # per region
    expected_terms = []
    for k, word in enumerate([(1., 0.), (0., 1.)]):
        attn = _softmax([over_words[0][k], over_words[1][k]], 4.)  # over regions
        context = (attn[0] * 1., attn[1] * 2.)
        cos = (context[0] * word[0] + context[1] * word[1]) / math.hypot(*context)
        expected_terms.append(math.exp(5. * cos))
    assert score.shape == (1, 1)
    assert score.item() == pytest.approx(math.log(sum(expected_terms)), abs=1e-5)
    assert score.item() == pytest.approx(5.6548, abs=1e-3)
    # the head's default score (cosine attention, divided by gamma2) is ~5x smaller
    default = RegionWordAlignmentHead().local_scores(regions, words, mask)
    assert 4 * default.item() < score.item() < 6 * default.item()


def test_single_word_gets_uniform_attention():
    """With one valid word the softmax over words is 1 everywhere, so the attention over
    the regions is uniform: the context is the mean region."""
    regions = torch.tensor([[[1., 0.], [0., 2.]]])
    words = torch.tensor([[[1., 0.]]])
    score = DAMSMLocalScore()(regions, words, torch.tensor([[True]]))
    assert score.item() == pytest.approx(5 * 0.5 / math.sqrt(1.25), abs=1e-5)  # sqrt(5)


def test_head_uses_the_configured_local_score_and_sums_directions():
    torch.manual_seed(0)
    img, regions, txt, words = (torch.randn(3, 8), torch.randn(3, 5, 8), torch.randn(3, 8),
                                torch.randn(3, 4, 8))
    mask = torch.ones(3, 4, dtype=torch.bool)
    mask[1, 2:] = False
    weights = dict(global_ce=1., local_ce=1., global_triplet=0., local_triplet=0.)
    head = RegionWordAlignmentHead(local_score=dict(type='DAMSMLocalScore'),
                                   sum_directions=True, loss_weights=weights)
    scores = DAMSMLocalScore()(regions, words, mask)
    torch.testing.assert_close(head.local_scores(regions, words, mask), scores)
    target = torch.arange(3)
    local = 10 * scores
    expected = F.cross_entropy(local, target) + F.cross_entropy(local.t(), target)
    torch.testing.assert_close(head.loss(img, regions, txt, words, mask)['loss_local_ce'],
                               expected)
    averaged = RegionWordAlignmentHead(local_score=dict(type='DAMSMLocalScore'),
                                       loss_weights=weights)
    torch.testing.assert_close(averaged.loss(img, regions, txt, words, mask)['loss_local_ce'],
                               expected / 2)


def test_random_negative_triplet_with_margin_half():
    scores = torch.tensor([[0.9, 0.2, 0.6], [0.1, 0.8, 0.7], [0.3, 0.5, 0.4]])
    loss = MODELS.build(dict(type='BidirectionalRankingLoss', margin=0.5, negative='random'))
    torch.manual_seed(0)
    value = loss(scores)
    torch.manual_seed(0)
    offsets = [torch.randint(1, 3, (3, )) for _ in range(2)]
    hinges = []
    for view, offset in zip((scores, scores.t()), offsets):
        for i in range(3):
            j = (i + int(offset[i])) % 3
            hinges.append(max(0., 0.5 - float(view[i, i]) + float(view[i, j])))
    assert value.item() == pytest.approx(sum(hinges) / 6, abs=1e-6)


def test_official_preset_reaches_every_option(repo_root):
    cfg = Config.fromfile(str(repo_root / OFFICIAL))
    head = MODELS.build(dict(cfg.model.head, _scope_='medvlp'))
    assert isinstance(head.local_scorer, DAMSMLocalScore) and head.sum_directions
    assert (head.triplet_loss.margin, head.triplet_loss.negative) == (0.5, 'random')
    default = Config.fromfile(str(repo_root / OFFICIAL.replace('_official', '')))
    default_head = MODELS.build(dict(default.model.head, _scope_='medvlp'))
    assert default_head.local_scorer is None and not default_head.sum_directions
    assert (default_head.triplet_loss.margin, default_head.triplet_loss.negative) == (
        0.2, 'hardest')


def test_official_preset_trains_on_a_demo_batch(repo_root, tmp_path):
    from algorithm_helpers import build_model, demo_config_and_batch
    cfg, batch = demo_config_and_batch(repo_root / OFFICIAL, tmp_path, 4)
    torch.manual_seed(0)
    model = build_model(cfg)
    losses = model(**model.data_preprocessor(batch, True), mode='loss')
    assert {'loss_local_ce', 'loss_local_triplet', 'loss_mlm'} <= set(losses)
    assert all(torch.isfinite(v) for v in losses.values())
    sum(losses.values()).backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0
               for p in model.backbone.parameters())
