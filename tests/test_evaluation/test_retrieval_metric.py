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
