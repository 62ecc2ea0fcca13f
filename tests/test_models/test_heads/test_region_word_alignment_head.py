# Copyright (c) medvlp contributors. All rights reserved.
import math

import pytest
import torch
import torch.nn.functional as F

from medvlp.models import RegionWordAlignmentHead
from medvlp.registry import MODELS


def _aligned_batch(batch=4, regions=6, words=5, dim=16, seed=0):
    """Each report's words are noisy copies of some of its own image's regions."""
    g = torch.Generator().manual_seed(seed)
    region_feats = torch.randn(batch, regions, dim, generator=g)
    pick = torch.randint(0, regions, (batch, words), generator=g)
    word_feats = torch.gather(region_feats, 1, pick[..., None].expand(-1, -1, dim))
    word_feats = word_feats + 0.1 * torch.randn(word_feats.shape, generator=g)
    img_global = region_feats.mean(1)
    txt_global = word_feats.mean(1)
    mask = torch.ones(batch, words, dtype=torch.bool)
    mask[0, -2:] = False  # the first report is shorter
    return img_global, region_feats, txt_global, word_feats, mask


def test_built_from_registry_with_defaults():
    head = MODELS.build(dict(type='RegionWordAlignmentHead'))
    assert (head.gamma1, head.gamma2, head.gamma3) == (4.0, 5.0, 10.0)
    assert head.loss_weights == dict(global_ce=1.0, local_ce=1.0, global_triplet=2.0,
                                     local_triplet=2.0)


def test_local_score_by_hand():
    head = RegionWordAlignmentHead(gamma1=4., gamma2=5.)
    regions = torch.tensor([[[1., 0.], [0., 1.]]])   # one image, two regions
    words = torch.tensor([[[1., 0.], [1., 1.]]])     # one report, two words
    mask = torch.tensor([[True, True]])
    attn = torch.softmax(4 * torch.tensor([[1., 0.], [1 / math.sqrt(2)] * 2]), -1)
    context = attn @ regions[0]
    word_scores = F.cosine_similarity(context, words[0], dim=-1)
    expected = torch.logsumexp(5 * word_scores, 0) / 5
    assert head.local_scores(regions, words, mask)[0, 0].item() == pytest.approx(
        expected.item(), rel=1e-5)
    torch.testing.assert_close(head.attention(regions, words, mask)[0], attn)


def test_aligned_batch_has_lower_loss_than_shuffled():
    head = RegionWordAlignmentHead()
    img_g, regions, txt_g, words, mask = _aligned_batch()
    aligned = sum(head.loss(img_g, regions, txt_g, words, mask).values())
    perm = torch.tensor([1, 2, 3, 0])
    shuffled = sum(head.loss(img_g, regions, txt_g[perm], words[perm], mask[perm]).values())
    assert aligned < shuffled
    scores = head(img_g, regions, txt_g, words, mask)
    assert (scores.local_scores.argmax(1) == torch.arange(4)).all()


def test_padding_neither_gives_nor_receives_attention():
    head = RegionWordAlignmentHead()
    img_g, regions, txt_g, words, mask = _aligned_batch()
    before = head(img_g, regions, txt_g, words, mask)
    garbage = words.clone()
    garbage[0, -2:] = 100 * torch.randn(2, words.size(-1))  # change the padded words only
    after = head(img_g, regions, txt_g, garbage, mask)
    torch.testing.assert_close(before.local_scores, after.local_scores)
    assert after.attention[0, -2:].abs().sum() == 0          # padded rows are empty
    torch.testing.assert_close(after.attention[mask].sum(-1), torch.ones(int(mask.sum())))
    # a report with no valid word at all scores 0 locally and keeps gradients finite
    empty = mask.clone()
    empty[1] = False
    assert (head.local_scores(regions, words, empty)[:, 1] == 0).all()
    words.requires_grad_(True)
    loss = sum(head.loss(img_g, regions, txt_g, words, empty).values())
    loss.backward()
    assert torch.isfinite(words.grad).all()
    assert words.grad[1].abs().sum() == 0  # its words take no part


def test_gradients_reach_regions_and_words():
    head = RegionWordAlignmentHead()
    img_g, regions, txt_g, words, mask = _aligned_batch()
    for t in (img_g, regions, txt_g, words):
        t.requires_grad_(True)
    sum(head.loss(img_g, regions, txt_g, words, mask).values()).backward()
    for t in (img_g, regions, txt_g, words):
        assert t.grad is not None and t.grad.abs().sum() > 0
    assert words.grad[0, -2:].abs().sum() == 0  # padded words get no gradient


def test_zero_weight_drops_term_and_bad_keys_fail():
    head = RegionWordAlignmentHead(loss_weights=dict(local_triplet=0))
    losses = head.loss(*_aligned_batch())
    assert set(losses) == {'loss_global_ce', 'loss_local_ce', 'loss_global_triplet'}
    with pytest.raises(ValueError, match='unknown loss_weights keys'):
        RegionWordAlignmentHead(loss_weights=dict(local_tripplet=1))


def test_shape_errors_are_clear():
    head = RegionWordAlignmentHead()
    with pytest.raises(ValueError, match='same dimension'):
        head.attention(torch.rand(2, 3, 8), torch.rand(2, 4, 6), torch.ones(2, 4).bool())
