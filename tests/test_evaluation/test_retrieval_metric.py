# Copyright (c) medvlp contributors. All rights reserved.
import pytest
import torch
import torch.nn.functional as F

from medvlp.evaluation import ImageReportRetrievalMetric
from medvlp.registry import METRICS


def _brute_force(img, txt, keys, k):
    """Loop-by-loop reference: recall@k and mean rank in both directions."""
    img, txt = F.normalize(img, dim=-1), F.normalize(txt, dim=-1)
    out = {}
    for name, queries, cands in (('i2t', img, txt), ('t2i', txt, img)):
        hits, ranks = 0, []
        for q in range(len(queries)):
            scores = [float(queries[q] @ cands[c]) for c in range(len(cands))]
            order = sorted(range(len(cands)), key=lambda c: -scores[c])
            first = next(pos for pos, c in enumerate(order) if keys[c] == keys[q]) + 1
            ranks.append(first)
            hits += first <= k
        out[f'{name}_R@{k}'] = 100 * hits / len(queries)
        out[f'{name}_mean_rank'] = sum(ranks) / len(ranks)
    return out


def _run(metric, img, txt, keys=None):
    samples = [dict(img_feat=img[i], txt_feat=txt[i],
                    match_key=None if keys is None else keys[i]) for i in range(len(img))]
    metric.process({}, samples)
    return metric.evaluate(len(samples))


@pytest.mark.parametrize('with_keys', [False, True])
def test_matches_brute_force_on_random_data(with_keys):
    torch.manual_seed(0)
    n, dim = 60, 8
    img = torch.randn(n, dim)
    txt = img + 1.5 * torch.randn(n, dim)   # related but noisy
    keys = [i // 2 for i in range(n)] if with_keys else list(range(n))  # two views a study
    metric = METRICS.build(dict(type='ImageReportRetrievalMetric', topk=(1, 5, 10)))
    result = _run(metric, img, txt, keys if with_keys else None)
    for k in (1, 5, 10):
        ref = _brute_force(img, txt, keys, k)
        for name in ('i2t', 't2i'):
            assert result[f'retrieval/{name}_R@{k}'] == pytest.approx(ref[f'{name}_R@{k}'])
            assert result[f'retrieval/{name}_mean_rank'] == pytest.approx(
                ref[f'{name}_mean_rank'])


def test_perfect_and_subsets():
    emb = torch.eye(20)
    result = _run(ImageReportRetrievalMetric(subset_size=10, num_subsets=3), emb, emb)
    assert result['retrieval/i2t_R@1'] == 100.0
    assert result['retrieval/t2i_mean_rank'] == 1.0


def test_bad_arguments_and_predictions():
    with pytest.raises(ValueError, match='needs a subset_size'):
        ImageReportRetrievalMetric(num_subsets=5)
    metric = ImageReportRetrievalMetric()
    with pytest.raises(KeyError, match='img_feat and txt_feat'):
        metric.process({}, [dict(img_feat=torch.ones(2))])


def test_ties_are_not_hits():
    from medvlp.evaluation.metrics.retrieval import retrieval_ranks
    sim = torch.tensor([[0.5, 0.5, 0.1], [0.2, 0.9, 0.9], [0.0, 0.0, 0.0]])
    relevant = torch.eye(3, dtype=torch.bool)
    # rank = number of candidates scoring >= the true one
    assert retrieval_ranks(sim, relevant).tolist() == [2, 2, 3]
    # two relevant views with equal scores: only irrelevant ties count against the query
    two_views = torch.tensor([[True, True, False]])
    assert retrieval_ranks(torch.tensor([[0.3, 0.3, 0.3]]), two_views).tolist() == [2]


@pytest.mark.parametrize('fill', [0., 1.])
def test_constant_embeddings_score_at_most_chance(fill):
    n = 40
    emb = torch.full((n, 8), fill)
    result = _run(ImageReportRetrievalMetric(topk=(1, 5, 10)), emb, emb)
    for name in ('i2t', 't2i'):
        assert result[f'retrieval/{name}_R@1'] == 0.0
        assert result[f'retrieval/{name}_R@10'] == 0.0
        assert result[f'retrieval/{name}_mean_rank'] == n
    # breaking ties at random gives the recall of chance, K / N
    metric = ImageReportRetrievalMetric(topk=(1, 10), ties='random', subset_size=n,
                                        num_subsets=50)
    result = _run(metric, emb, emb)
    assert result['retrieval/i2t_R@10'] == pytest.approx(100 * 10 / n, abs=4)
    assert result['retrieval/t2i_R@1'] == pytest.approx(100 * 1 / n, abs=2)
    assert result['retrieval/i2t_mean_rank'] == pytest.approx((n + 1) / 2, rel=0.1)


def test_non_finite_embeddings_raise_naming_the_count():
    torch.manual_seed(0)
    img, txt = torch.randn(10, 4), torch.randn(10, 4)
    img[3, 1] = float('nan')
    txt[5, 0] = float('inf')
    txt[3, 2] = float('nan')
    with pytest.raises(ValueError, match=r'2 of 10 samples have non-finite'):
        _run(ImageReportRetrievalMetric(), img, txt)
    with pytest.raises(ValueError, match='ties must be one of'):
        ImageReportRetrievalMetric(ties='optimistic')
